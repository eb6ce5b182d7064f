"""Unknowns of a milestone and their deferrals."""

from django.urls import path

from api.views import unknowns as views

urlpatterns = [
    path(
        "milestones/<int:pk>/unknowns/",
        views.UnknownList.as_view(),
        name="milestone-unknown-list",
    ),
    path("unknowns/<int:pk>/", views.UnknownDetail.as_view(), name="milestone-unknown-detail"),
    path(
        "unknowns/<int:pk>/resolve/",
        views.UnknownResolve.as_view(),
        name="milestone-unknown-resolve",
    ),
    path(
        "unknowns/<int:pk>/deferral/",
        views.UnknownDeferral.as_view(),
        name="milestone-unknown-deferral",
    ),
    path("deferrals/", views.DeferralList.as_view(), name="milestone-deferral-list"),
    path(
        "deferrals/<int:pk>/decide/",
        views.DeferralDecide.as_view(),
        name="milestone-deferral-decide",
    ),
]
