from django.urls import include, path

from planning import views

app_name = "planning"

artifact_patterns = [
    path("", views.artifact_edit, name="artifact-edit"),
    path("preview/", views.artifact_preview, name="artifact-preview"),
    path("status/", views.artifact_status, name="artifact-status"),
    path("need/", views.artifact_need, name="artifact-need"),
    path("history/", views.artifact_history, name="artifact-history"),
    path("diff/", views.artifact_diff, name="artifact-diff"),
]

unknown_patterns = [
    path("", views.unknown_detail, name="unknown-detail"),
    path("edit/", views.unknown_edit, name="unknown-edit"),
    path("resolve/", views.unknown_resolve, name="unknown-resolve"),
    path("comment/", views.unknown_comment, name="unknown-comment"),
    path("deferral/", views.deferral_request, name="deferral-request"),
]

milestone_patterns = [
    path("", views.milestone_detail, name="milestone-detail"),
    path("edit/", views.milestone_edit, name="milestone-edit"),
    path("move/", views.milestone_transition, name="milestone-transition"),
    path("timeline/", views.milestone_timeline, name="milestone-timeline"),
    path("artifacts/<slug:kind>/", include(artifact_patterns)),
    path("unknowns/", views.unknown_list, name="unknown-list"),
    path("unknowns/<str:key>/", include(unknown_patterns)),
]

project_patterns = [
    path("", views.project_detail, name="project-detail"),
    path("edit/", views.project_edit, name="project-edit"),
    path("milestones/new/", views.milestone_create, name="milestone-create"),
    path("milestones/<int:number>/", include(milestone_patterns)),
]

urlpatterns = [
    path("projects/", views.project_list, name="project-list"),
    path("approvals/", views.approvals, name="approvals"),
    path("deferrals/<int:pk>/decide/", views.deferral_decide, name="deferral-decide"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all/", views.notifications_read_all, name="inbox-read-all"),
    path("inbox/<int:pk>/", views.notification_open, name="notification-open"),
    path("inbox/<int:pk>/read/", views.notification_read, name="notification-read"),
    path("squads/<slug:squad_slug>/projects/new/", views.project_create, name="project-create"),
    path("squads/<slug:squad_slug>/projects/<slug:project_slug>/", include(project_patterns)),
]
