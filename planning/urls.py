from django.urls import URLPattern, URLResolver, include, path

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
    path("vendor-contact/", views.unknown_vendor_contact, name="unknown-vendor-contact"),
    path("comment/", views.unknown_comment, name="unknown-comment"),
    path("deferral/", views.deferral_request, name="deferral-request"),
]

review_patterns = [
    path("", views.review_detail, name="review-detail"),
    path("updates/", views.review_updates, name="review-updates"),
    path("invite.ics", views.review_calendar, name="review-ics"),
    path("edit/", views.review_edit, name="review-edit"),
    path("open/", views.review_open, name="review-open"),
    path("close/", views.review_close, name="review-close"),
    path("invitees/", views.review_invite, name="review-invite"),
    path("comments/", views.comment_add, name="comment-add"),
    path("comments/<id:pk>/edit/", views.comment_edit, name="comment-edit"),
    path("comments/<id:pk>/resolve/", views.comment_resolve, name="comment-resolve"),
    path("comments/<id:pk>/block/", views.comment_block, name="comment-block"),
    path("comments/<id:pk>/overrule/", views.comment_overrule, name="comment-overrule"),
    path("verdict/", views.verdict_set, name="verdict-set"),
    path("verdicts/<id:pk>/dismiss/", views.verdict_dismiss, name="verdict-dismiss"),
]

milestone_patterns: list[URLPattern | URLResolver] = [
    path("", views.milestone_detail, name="milestone-detail"),
    path("edit/", views.milestone_edit, name="milestone-edit"),
    path("move/", views.milestone_transition, name="milestone-transition"),
    path("timeline/", views.milestone_timeline, name="milestone-timeline"),
    path("artifacts/<slug:kind>/", include(artifact_patterns)),
    path("unknowns/", views.unknown_list, name="unknown-list"),
    path("unknowns/<str:key>/", include(unknown_patterns)),
    path("reviews/new/", views.review_schedule, name="review-schedule"),
    path("reviews/<id:round>/", include(review_patterns)),
    path("kickoff/", views.kickoff, name="kickoff"),
    path("kickoff/held/", views.kickoff_held, name="kickoff-held"),
    path("kickoff/invite.ics", views.kickoff_calendar, name="kickoff-ics"),
    path("kickoff/concerns/", views.concern_add, name="concern-add"),
    path("kickoff/concerns/<id:pk>/answer/", views.concern_answer, name="concern-answer"),
    path("breakout/", views.breakout, name="breakout"),
    path("breakout/stories/", views.story_add, name="story-add"),
    path("breakout/stories/<id:story_number>/claim/", views.story_claim, name="story-claim"),
    path("breakout/stories/<id:story_number>/subtasks/", views.subtask_add, name="subtask-add"),
    path("breakout/subtasks/<id:pk>/done/", views.subtask_done, name="subtask-done"),
    path("breakout/session/", views.breakout_session, name="breakout-session"),
    path("breakout/held/", views.breakout_held, name="breakout-held"),
    path("breakout/invite.ics", views.breakout_calendar, name="breakout-ics"),
    path("packet.md", views.packet, name="packet"),
]

project_patterns: list[URLPattern | URLResolver] = [
    path("", views.project_detail, name="project-detail"),
    path("edit/", views.project_edit, name="project-edit"),
    path("milestones/new/", views.milestone_create, name="milestone-create"),
    path("milestones/<id:number>/", include(milestone_patterns)),
]

urlpatterns = [
    path("projects/", views.project_list, name="project-list"),
    path("approvals/", views.approvals, name="approvals"),
    path("deferrals/<id:pk>/decide/", views.deferral_decide, name="deferral-decide"),
    path("diagrams/frame/", views.diagram_frame, name="diagram-frame"),
    path("insights/", views.principal_insights, name="insights"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all/", views.notifications_read_all, name="inbox-read-all"),
    path("inbox/<id:pk>/", views.notification_open, name="notification-open"),
    path("inbox/<id:pk>/read/", views.notification_read, name="notification-read"),
    path("squads/<slug:squad_slug>/projects/new/", views.project_create, name="project-create"),
    path("squads/<slug:squad_slug>/webhooks/", views.webhook_log, name="webhook-log"),
    path("squads/<slug:squad_slug>/insights/", views.squad_insights, name="squad-insights"),
    path("squads/<slug:squad_slug>/projects/<slug:project_slug>/", include(project_patterns)),
]
