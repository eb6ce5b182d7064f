"""Squads, their members, people to invite, projects and my notifications.

Objects are fetched through squads.access, so what the caller may not see
answers 404; every change goes through squads.services or planning.services,
which check the caller's role and the domain's rules.
"""

from __future__ import annotations

import django_filters
from django.db.models import OuterRef, Q, QuerySet, Subquery
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.models import User
from api.schema import answers
from api.serializers.squads import (
    MemberAddSerializer,
    MemberRoleSerializer,
    MembershipSerializer,
    NotificationSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    SquadCreateSerializer,
    SquadSerializer,
    SquadSettingsSerializer,
    UserBriefSerializer,
)
from api.views.base import ApiRequest, ApiView, named_in_body, valid
from notifications.models import Notification
from notifications.services import mark_read
from planning import services as planning_services
from planning.models import Project
from squads import access
from squads import services as squad_services
from squads.access import Action
from squads.models import Membership, Squad


def _squad(user: User, slug: str) -> Squad:
    squad = access.get_squad_for(user, slug)
    # What SquadList annotates as my_role, and SquadSerializer reads; a query's
    # annotation, so not declared on the model (django-stubs would call that a clash).
    squad.my_role = access.role_in(user, squad)  # type: ignore[attr-defined]
    return squad


# Squads -------------------------------------------------------------------------


class SquadList(ApiView):
    @extend_schema(
        summary="Squads I belong to", responses=answers({200: SquadSerializer(many=True)}, 401, 404)
    )
    def get(self, request: ApiRequest) -> Response:
        user = request.user
        mine = Membership.objects.filter(squad=OuterRef("pk"), user=user).values("role")[:1]
        squads = access.squads_for(user).annotate(my_role=Subquery(mine)).order_by("name")
        return self.page(squads, SquadSerializer)

    @extend_schema(
        summary="Create a squad; its creator becomes its tech lead",
        request=SquadCreateSerializer,
        responses=answers({201: SquadSerializer}, 400, 401),
    )
    def post(self, request: ApiRequest) -> Response:
        data = valid(SquadCreateSerializer, request.data)
        squad = squad_services.create_squad(request.user, **data)
        squad = _squad(request.user, squad.slug)
        return Response(SquadSerializer(squad).data, status=status.HTTP_201_CREATED)


class SquadDetail(ApiView):
    @extend_schema(
        summary="A squad and its settings", responses=answers({200: SquadSerializer}, 401, 404)
    )
    def get(self, request: ApiRequest, slug: str) -> Response:
        return Response(SquadSerializer(_squad(request.user, slug)).data)

    @extend_schema(
        summary="Change a squad's settings (its tech leads only)",
        request=SquadSettingsSerializer,
        responses=answers({200: SquadSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, slug: str) -> Response:
        squad = _squad(request.user, slug)
        access.require(request.user, Action.EDIT_SQUAD_SETTINGS, squad)
        changes = valid(SquadSettingsSerializer, request.data, partial=True)
        squad_services.update_squad_settings(request.user, squad, **changes)
        return Response(SquadSerializer(squad).data)


# Members ------------------------------------------------------------------------


class SquadMembers(ApiView):
    @extend_schema(
        summary="A squad's members",
        responses=answers({200: MembershipSerializer(many=True)}, 401, 404),
    )
    def get(self, request: ApiRequest, slug: str) -> Response:
        squad = access.get_squad_for(request.user, slug)
        members = squad.memberships.select_related("user").order_by("user__username", "pk")
        return self.page(members, MembershipSerializer)

    @extend_schema(
        summary="Add a member (the squad's tech leads only)",
        request=MemberAddSerializer,
        responses=answers({201: MembershipSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, slug: str) -> Response:
        squad = access.get_squad_for(request.user, slug)
        access.require(request.user, Action.MANAGE_MEMBERS, squad)
        data = valid(MemberAddSerializer, request.data)
        membership = squad_services.add_member(request.user, squad, data["user"], data["role"])
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class SquadMember(ApiView):
    def _squad_and_member(self, request: ApiRequest, slug: str, user_id: int) -> tuple[Squad, User]:
        squad = access.get_squad_for(request.user, slug)
        access.require(request.user, Action.MANAGE_MEMBERS, squad)
        return squad, access.get_member_by_id_for(request.user, squad, user_id)

    @extend_schema(
        summary="Change a member's role (the squad's tech leads only)",
        request=MemberRoleSerializer,
        responses=answers({200: MembershipSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, slug: str, user_id: int) -> Response:
        squad, member = self._squad_and_member(request, slug, user_id)
        role = valid(MemberRoleSerializer, request.data)["role"]
        membership = squad_services.change_role(request.user, squad, member, role)
        membership.user = member
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        summary="Remove a member (the squad's tech leads only)",
        request=None,
        responses=answers({204: None}, 400, 401, 403, 404),
    )
    def delete(self, request: ApiRequest, slug: str, user_id: int) -> Response:
        squad, member = self._squad_and_member(request, slug, user_id)
        squad_services.remove_member(request.user, squad, member)
        return Response(status=status.HTTP_204_NO_CONTENT)


# People -------------------------------------------------------------------------


class UserFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="by_name", help_text="Part of a username or full name."
    )

    class Meta:
        model = User
        fields = ["search"]

    def by_name(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(full_name__icontains=value))


class UserList(ApiView):
    filterset_class = UserFilter

    @extend_schema(
        summary="People to invite",
        responses=answers({200: UserBriefSerializer(many=True)}, 400, 401, 404),
    )
    def get(self, request: ApiRequest) -> Response:
        people = access.people_for(request.user).order_by("username", "pk")
        return self.page(people, UserBriefSerializer)


# Projects -----------------------------------------------------------------------


class ProjectFilter(django_filters.FilterSet):
    squad = django_filters.CharFilter(field_name="squad__slug", help_text="A squad's slug.")

    class Meta:
        model = Project
        fields = ["squad"]


class ProjectList(ApiView):
    filterset_class = ProjectFilter

    @extend_schema(
        summary="Projects I may see",
        responses=answers({200: ProjectSerializer(many=True)}, 400, 401, 404),
    )
    def get(self, request: ApiRequest) -> Response:
        projects = access.projects_for(request.user).select_related("squad")
        return self.page(projects.order_by("squad__name", "name", "pk"), ProjectSerializer)

    @extend_schema(
        summary="Create a project (the squad's tech leads only)",
        request=ProjectCreateSerializer,
        responses=answers({201: ProjectSerializer}, 400, 401, 403),
    )
    def post(self, request: ApiRequest) -> Response:
        fields = dict(valid(ProjectCreateSerializer, request.data))
        squad = named_in_body("squad", access.get_squad_for, request.user, fields.pop("squad"))
        project = planning_services.create_project(request.user, squad, **fields)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetail(ApiView):
    @extend_schema(summary="A project", responses=answers({200: ProjectSerializer}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        return Response(ProjectSerializer(access.get_project_by_id_for(request.user, pk)).data)

    @extend_schema(
        summary="Change a project (its tech lead or the squad's tech leads)",
        request=ProjectUpdateSerializer,
        responses=answers({200: ProjectSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        project = access.get_project_by_id_for(request.user, pk)
        access.require(request.user, Action.EDIT_PROJECT, project)
        changes = valid(ProjectUpdateSerializer, request.data, partial=True)
        project = planning_services.update_project(request.user, project, **changes)
        return Response(ProjectSerializer(project).data)


# Notifications ------------------------------------------------------------------


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        method="by_unread", help_text="true: only the unread ones; false: only the read ones."
    )

    class Meta:
        model = Notification
        fields = ["unread"]

    def by_unread(
        self, queryset: QuerySet[Notification], name: str, value: bool
    ) -> QuerySet[Notification]:
        return queryset.filter(read_at__isnull=value)


class NotificationList(ApiView):
    filterset_class = NotificationFilter

    @extend_schema(
        summary="My notifications",
        responses=answers({200: NotificationSerializer(many=True)}, 400, 401, 404),
    )
    def get(self, request: ApiRequest) -> Response:
        mine = access.notifications_for(request.user).order_by("-created_at", "-id")
        return self.page(mine, NotificationSerializer)


class NotificationRead(ApiView):
    @extend_schema(
        summary="Mark one of my notifications read",
        request=None,
        responses=answers({200: NotificationSerializer}, 401, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        notification = access.get_notification_by_id_for(request.user, pk)
        mark_read(request.user, notification.pk)
        notification.refresh_from_db(fields=["read_at"])
        return Response(NotificationSerializer(notification).data)
