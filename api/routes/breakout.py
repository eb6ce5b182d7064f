"""The task breakout: stories, their sub-tasks and the breakout session."""

from django.urls import path

from api.views import breakout as views

urlpatterns = [
    path("milestones/<int:pk>/stories/", views.MilestoneStories.as_view(), name="review-stories"),
    path("stories/<int:pk>/", views.StoryDetail.as_view(), name="review-story-detail"),
    path("stories/<int:pk>/claim/", views.StoryClaim.as_view(), name="review-story-claim"),
    path(
        "stories/<int:pk>/subtasks/",
        views.StorySubtasks.as_view(),
        name="review-story-subtasks",
    ),
    path("subtasks/<int:pk>/", views.SubtaskDetail.as_view(), name="review-subtask-detail"),
    path(
        "milestones/<int:pk>/breakout/",
        views.MilestoneBreakout.as_view(),
        name="review-breakout",
    ),
    path(
        "milestones/<int:pk>/breakout/held/",
        views.BreakoutHeld.as_view(),
        name="review-breakout-held",
    ),
]
