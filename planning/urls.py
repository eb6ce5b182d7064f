from django.urls import path

from planning import views

app_name = "planning"

urlpatterns = [
    path("projects/", views.project_list, name="project-list"),
    path("squads/<slug:squad_slug>/projects/new/", views.project_create, name="project-create"),
    path(
        "squads/<slug:squad_slug>/projects/<slug:project_slug>/",
        views.project_detail,
        name="project-detail",
    ),
    path(
        "squads/<slug:squad_slug>/projects/<slug:project_slug>/edit/",
        views.project_edit,
        name="project-edit",
    ),
]
