"""The kick-off and its concerns."""

from django.urls import path

from api.views import kickoff as views

urlpatterns = [
    path("milestones/<int:pk>/kickoff/", views.MilestoneKickoff.as_view(), name="review-kickoff"),
    path(
        "milestones/<int:pk>/kickoff/held/",
        views.KickoffHeld.as_view(),
        name="review-kickoff-held",
    ),
    path(
        "milestones/<int:pk>/concerns/",
        views.MilestoneConcerns.as_view(),
        name="review-concerns",
    ),
    path("concerns/<int:pk>/", views.ConcernDetail.as_view(), name="review-concern-detail"),
]
