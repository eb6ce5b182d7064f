"""Design reviews, comments and verdicts; the kick-off and its concerns; the task breakout."""

from django.urls import path

from api.views import reviews as views

urlpatterns = [
    path("milestones/<int:pk>/reviews/", views.MilestoneReviews.as_view(), name="review-list"),
    path("reviews/<int:pk>/", views.ReviewDetail.as_view(), name="review-detail"),
    path("reviews/<int:pk>/open/", views.ReviewOpen.as_view(), name="review-open"),
    path("reviews/<int:pk>/close/", views.ReviewClose.as_view(), name="review-close"),
    path("reviews/<int:pk>/invitees/", views.ReviewInvitees.as_view(), name="review-invitees"),
    path("reviews/<int:pk>/comments/", views.ReviewComments.as_view(), name="review-comments"),
    path("comments/<int:pk>/", views.CommentDetail.as_view(), name="review-comment-detail"),
    path("reviews/<int:pk>/verdict/", views.ReviewVerdict.as_view(), name="review-verdict"),
    path("reviews/<int:pk>/invite.ics", views.ReviewInvite.as_view(), name="review-invite"),
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
