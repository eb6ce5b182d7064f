"""Squads, their members, people to invite, projects and my notifications.

Objects are fetched through squads.access, so what the caller may not see
answers 404; every change goes through squads.services or planning.services,
which check the caller's role and the domain's rules.
"""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

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
    SquadsErrorSerializer,
    SquadSettingsSerializer,
    SquadsInvalidSerializer,
    UserBriefSerializer,
)
from notifications.models import Notification
from notifications.services import mark_read
from planning import services as planning_services
from planning.models import Project
from squads import access
from squads import services as squad_services
from squads.access import Action
from squads.models import Membership, Squad

User = get_user_model()

_ERROR_TEXT = {
    400: 'Invalid input: `{"field": ["message"]}` or `{"detail": "…"}`.',
    401: "No or bad credentials.",
    403: "The caller lacks the role for this action.",
    404: "No such object, or one the caller cannot see.",
}


def errors(*codes: int) -> dict:
    """The error answers an operation can give, in the spec's shapes."""
    return {
        code: OpenApiResponse(
            SquadsInvalidSerializer if code == 400 else SquadsErrorSerializer,
            description=_ERROR_TEXT[code],
        )
        for code in codes
    }


def _squads_with_my_role(user):
    mine = Membership.objects.filter(squad=OuterRef("pk"), user=user).values("role")[:1]
    return access.squads_for(user).annotate(my_role=Subquery(mine)).order_by("name")


def _squad(user, slug: str) -> Squad:
    squad = access.get_squad_for(user, slug)
    squad.my_role = access.role_in(user, squad)
    return squad


# Squads -------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="Squads I belong to", responses={200: SquadSerializer, **errors(401, 404)}
    ),
    post=extend_schema(
        summary="Create a squad; its creator becomes its tech lead",
        request=SquadCreateSerializer,
        responses={201: SquadSerializer, **errors(400, 401)},
    ),
)
class SquadList(generics.ListCreateAPIView):
    serializer_class = SquadSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Squad.objects.none()
        return _squads_with_my_role(self.request.user)

    def create(self, request, *args, **kwargs):
        data = SquadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        squad = squad_services.create_squad(request.user, **data.validated_data)
        squad = _squad(request.user, squad.slug)
        return Response(SquadSerializer(squad).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="A squad and its settings", responses={200: SquadSerializer, **errors(401, 404)}
    ),
    patch=extend_schema(
        summary="Change a squad's settings (its tech leads only)",
        request=SquadSettingsSerializer,
        responses={200: SquadSerializer, **errors(400, 401, 403, 404)},
    ),
)
class SquadDetail(generics.GenericAPIView):
    serializer_class = SquadSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request, slug: str):
        return Response(SquadSerializer(_squad(request.user, slug)).data)

    def patch(self, request, slug: str):
        squad = _squad(request.user, slug)
        access.require(request.user, Action.EDIT_SQUAD_SETTINGS, squad)
        changes = SquadSettingsSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        squad_services.update_squad_settings(request.user, squad, **changes.validated_data)
        return Response(SquadSerializer(squad).data)


# Members ------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="A squad's members", responses={200: MembershipSerializer, **errors(401, 404)}
    ),
    post=extend_schema(
        summary="Add a member (the squad's tech leads only)",
        request=MemberAddSerializer,
        responses={201: MembershipSerializer, **errors(400, 401, 403, 404)},
    ),
)
class SquadMembers(generics.ListCreateAPIView):
    serializer_class = MembershipSerializer

    def get_squad(self) -> Squad:
        return access.get_squad_for(self.request.user, self.kwargs["slug"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return self.get_squad().memberships.select_related("user").order_by("user__username", "pk")

    def create(self, request, *args, **kwargs):
        squad = self.get_squad()
        access.require(request.user, Action.MANAGE_MEMBERS, squad)
        data = MemberAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = squad_services.add_member(
            request.user, squad, data.validated_data["user"], data.validated_data["role"]
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    patch=extend_schema(
        summary="Change a member's role (the squad's tech leads only)",
        request=MemberRoleSerializer,
        responses={200: MembershipSerializer, **errors(400, 401, 403, 404)},
    ),
    delete=extend_schema(
        summary="Remove a member (the squad's tech leads only)",
        request=None,
        responses={204: None, **errors(400, 401, 403, 404)},
    ),
)
class SquadMember(generics.GenericAPIView):
    serializer_class = MembershipSerializer
    http_method_names = ["patch", "delete", "options"]

    def _squad_and_member(self, request, slug: str, user_id: int):
        squad = access.get_squad_for(request.user, slug)
        access.require(request.user, Action.MANAGE_MEMBERS, squad)
        member = User.objects.filter(pk=user_id, memberships__squad=squad).first()
        if member is None:
            raise Http404("No such member.")
        return squad, member

    def patch(self, request, slug: str, user_id: int):
        squad, member = self._squad_and_member(request, slug, user_id)
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = squad_services.change_role(
            request.user, squad, member, data.validated_data["role"]
        )
        membership.user = member
        return Response(MembershipSerializer(membership).data)

    def delete(self, request, slug: str, user_id: int):
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

    def by_name(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(full_name__icontains=value))


@extend_schema_view(
    get=extend_schema(
        summary="People to invite", responses={200: UserBriefSerializer, **errors(400, 401, 404)}
    )
)
class UserList(generics.ListAPIView):
    serializer_class = UserBriefSerializer
    filterset_class = UserFilter
    queryset = User.objects.filter(is_active=True).order_by("username", "pk")


# Projects -----------------------------------------------------------------------


class ProjectFilter(django_filters.FilterSet):
    squad = django_filters.CharFilter(field_name="squad__slug", help_text="A squad's slug.")

    class Meta:
        model = Project
        fields = ["squad"]


def _project_for(user, pk: int) -> Project:
    project = access.projects_for(user).select_related("squad").filter(pk=pk).first()
    if project is None:
        raise Http404("No such project.")
    return project


@extend_schema_view(
    get=extend_schema(
        summary="Projects I may see", responses={200: ProjectSerializer, **errors(400, 401, 404)}
    ),
    post=extend_schema(
        summary="Create a project (the squad's tech leads only)",
        request=ProjectCreateSerializer,
        responses={201: ProjectSerializer, **errors(400, 401, 403)},
    ),
)
class ProjectList(generics.ListCreateAPIView):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return (
            access.projects_for(self.request.user)
            .select_related("squad")
            .order_by("squad__name", "name", "pk")
        )

    def create(self, request, *args, **kwargs):
        data = ProjectCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        squad = access.squads_for(request.user).filter(slug=fields.pop("squad")).first()
        if squad is None:
            # The same answer for a squad that does not exist and one the caller is not in.
            raise ValidationError({"squad": ["No such squad."]})
        project = planning_services.create_project(request.user, squad, **fields)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="A project", responses={200: ProjectSerializer, **errors(401, 404)}),
    patch=extend_schema(
        summary="Change a project (its tech lead or the squad's tech leads)",
        request=ProjectUpdateSerializer,
        responses={200: ProjectSerializer, **errors(400, 401, 403, 404)},
    ),
)
class ProjectDetail(generics.GenericAPIView):
    serializer_class = ProjectSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request, pk: int):
        return Response(ProjectSerializer(_project_for(request.user, pk)).data)

    def patch(self, request, pk: int):
        project = _project_for(request.user, pk)
        access.require(request.user, Action.EDIT_PROJECT, project)
        changes = ProjectUpdateSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        project = planning_services.update_project(request.user, project, **changes.validated_data)
        return Response(ProjectSerializer(project).data)


# Notifications ------------------------------------------------------------------


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        method="by_unread", help_text="true: only the unread ones; false: only the read ones."
    )

    class Meta:
        model = Notification
        fields = ["unread"]

    def by_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value)


@extend_schema_view(
    get=extend_schema(
        summary="My notifications", responses={200: NotificationSerializer, **errors(400, 401, 404)}
    )
)
class NotificationList(generics.ListAPIView):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(recipient=self.request.user).order_by(
            "-created_at", "-id"
        )


@extend_schema_view(
    post=extend_schema(
        summary="Mark one of my notifications read",
        request=None,
        responses={200: NotificationSerializer, **errors(401, 404)},
    )
)
class NotificationRead(generics.GenericAPIView):
    serializer_class = NotificationSerializer

    def post(self, request, pk: int):
        # Someone else's notification answers 404, exactly as one that does not exist.
        notification = Notification.objects.filter(pk=pk, recipient=request.user).first()
        if notification is None:
            raise Http404("No such notification.")
        mark_read(request.user, notification.pk)
        notification.refresh_from_db(fields=["read_at"])
        return Response(NotificationSerializer(notification).data)
