"""Design reviews, their comments and verdicts, and their calendar invitations."""

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
    path(
        "comments/<int:pk>/overrule/",
        views.CommentOverrule.as_view(),
        name="review-comment-overrule",
    ),
    path("reviews/<int:pk>/verdict/", views.ReviewVerdict.as_view(), name="review-verdict"),
    path("verdicts/<int:pk>/dismiss/", views.VerdictDismiss.as_view(), name="verdict-dismiss"),
    path("reviews/<int:pk>/invite.ics", views.ReviewInvite.as_view(), name="review-invite"),
]
