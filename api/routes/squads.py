from django.urls import path

from api.views import squads as views

urlpatterns = [
    path("squads/", views.SquadList.as_view(), name="squad-list"),
    path("squads/<slug:slug>/", views.SquadDetail.as_view(), name="squad-detail"),
    path("squads/<slug:slug>/members/", views.SquadMembers.as_view(), name="squad-members"),
    path(
        "squads/<slug:slug>/members/<int:user_id>/",
        views.SquadMember.as_view(),
        name="squad-member",
    ),
    path("users/", views.UserList.as_view(), name="user-list"),
    path("projects/", views.ProjectList.as_view(), name="project-list"),
    path("projects/<int:pk>/", views.ProjectDetail.as_view(), name="project-detail"),
    path("notifications/", views.NotificationList.as_view(), name="notification-list"),
    path(
        "notifications/<int:pk>/read/",
        views.NotificationRead.as_view(),
        name="notification-read",
    ),
]
