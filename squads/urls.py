from django.urls import path

from squads import views

app_name = "squads"

urlpatterns = [
    path("", views.squad_list, name="list"),
    path("new/", views.squad_create, name="create"),
    path("<slug:slug>/", views.squad_detail, name="detail"),
    path("<slug:slug>/settings/", views.squad_settings, name="settings"),
    path("<slug:slug>/members/add/", views.member_add, name="member-add"),
    path("<slug:slug>/members/<id:user_id>/role/", views.member_role, name="member-role"),
    path("<slug:slug>/members/<id:user_id>/remove/", views.member_remove, name="member-remove"),
]
