"""Milestones and their workflow, artifacts, timeline and packet."""

from django.urls import path

from api.views import milestones as views

urlpatterns = [
    path("milestones/", views.MilestoneList.as_view(), name="milestone-list"),
    path("milestones/<int:pk>/", views.MilestoneDetail.as_view(), name="milestone-detail"),
    path(
        "milestones/<int:pk>/readiness/",
        views.MilestoneReadiness.as_view(),
        name="milestone-readiness",
    ),
    path(
        "milestones/<int:pk>/transition/",
        views.MilestoneTransition.as_view(),
        name="milestone-transition",
    ),
    path(
        "milestones/<int:pk>/artifacts/",
        views.ArtifactList.as_view(),
        name="milestone-artifact-list",
    ),
    path(
        "milestones/<int:pk>/artifacts/<str:kind>/",
        views.ArtifactDetail.as_view(),
        name="milestone-artifact-detail",
    ),
    path(
        "milestones/<int:pk>/artifacts/<str:kind>/revisions/",
        views.ArtifactRevisionList.as_view(),
        name="milestone-artifact-revisions",
    ),
    path(
        "milestones/<int:pk>/activity/",
        views.MilestoneActivity.as_view(),
        name="milestone-activity",
    ),
    path(
        "milestones/<int:pk>/decisions/",
        views.MilestoneDecisions.as_view(),
        name="milestone-decisions",
    ),
    path("milestones/<int:pk>/packet.md", views.MilestonePacket.as_view(), name="milestone-packet"),
]
