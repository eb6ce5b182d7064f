"""A squad's insights."""

from django.urls import path

from api.views import insights as views

urlpatterns = [
    path("squads/<slug:slug>/insights/", views.SquadInsights.as_view(), name="squad-insights"),
]
