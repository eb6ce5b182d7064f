"""Milestones and their workflow, artifacts, timeline, packet, unknowns and deferrals.

Objects are fetched through squads.access, so what the caller may not see
answers 404; guests of a review reach the milestone and its artifacts only.
Every change goes through planning.services, which checks the caller's role
and the workflow's rules.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from api.serializers.milestones import (
    ActivitySerializer,
    ArtifactRevisionSerializer,
    ArtifactSerializer,
    ArtifactUpdateSerializer,
    DeferralCreateSerializer,
    DeferralDecisionSerializer,
    DeferralSerializer,
    GuardRefusedSerializer,
    MilestoneCreateSerializer,
    MilestoneDetailSerializer,
    MilestoneErrorSerializer,
    MilestoneInvalidSerializer,
    MilestoneSerializer,
    MilestoneUpdateSerializer,
    ReadinessSerializer,
    ResolveSerializer,
    StaleRevisionSerializer,
    TransitionSerializer,
    UnknownCreateSerializer,
    UnknownSerializer,
    UnknownUpdateSerializer,
)
from planning import fragments, services
from planning.exceptions import EditConflict
from planning.fragments import page_key
from planning.models import (
    Activity,
    Artifact,
    ArtifactRevision,
    DeferralRequest,
    Milestone,
    Unknown,
)
from planning.packet import design_packet
from planning.state import UNKNOWNS_OF_MILESTONE, CachedPage, Rows
from planning.workflow import ARTIFACT_KINDS, ArtifactStatus, Phase
from squads import access
from squads.access import Action

_ERRORS = {
    400: (MilestoneInvalidSerializer, 'Invalid input: `{"field": ["message"]}` or `{"detail"}`.'),
    401: (MilestoneErrorSerializer, "No or bad credentials."),
    403: (MilestoneErrorSerializer, "The caller lacks the role for this action."),
    404: (MilestoneErrorSerializer, "No such object, or one the caller cannot see."),
    409: (GuardRefusedSerializer, "A workflow guard refuses, or a deferral is already pending."),
    412: (StaleRevisionSerializer, "`If-Match` names a revision that is no longer current."),
}


def errors(*codes: int) -> dict:
    """The error answers an operation can give, in the spec's shapes."""
    return {code: OpenApiResponse(_ERRORS[code][0], description=_ERRORS[code][1]) for code in codes}


KIND = OpenApiParameter(
    "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=ARTIFACT_KINDS, description="Artifact."
)


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


def _schema_only(view) -> bool:
    return getattr(view, "swagger_fake_view", False)


# Fetching through squads.access ------------------------------------------------------


def _milestone(user, pk: int, *, with_guest: bool = False) -> Milestone:
    return access.get_milestone_by_id_for(user, pk, with_guest=with_guest)


def _artifact(user, pk: int, kind: str, *, with_guest: bool = False) -> Artifact:
    return access.get_artifact_for(user, _milestone(user, pk, with_guest=with_guest), kind)


def _pending_deferral():
    return Exists(
        DeferralRequest.objects.filter(
            unknown=OuterRef("pk"), status=DeferralRequest.Status.PENDING
        )
    )


def _unknown(user, pk: int) -> Unknown:
    unknown = (
        Unknown.objects.filter(milestone__in=access.milestones_for(user), pk=pk)
        .select_related(
            "owner",
            "milestone__project__squad",
            "milestone__project__principal_engineer",
            "milestone__tech_lead",
        )
        .first()
    )
    if unknown is None:
        raise Http404("No such unknown.")
    return unknown


def _unknown_body(unknown: Unknown) -> dict:
    unknown.deferral_pending = DeferralRequest.objects.filter(
        unknown=unknown, status=DeferralRequest.Status.PENDING
    ).exists()
    return UnknownSerializer(unknown).data


def _milestone_body(milestone: Milestone) -> dict:
    milestone.readiness = _readiness(milestone)
    return MilestoneDetailSerializer(milestone).data


def _readiness(milestone: Milestone) -> dict:
    ready = services.readiness(milestone)
    ready["unmet"] = [{"code": u.code, "message": u.message} for u in ready["unmet"]]
    return ready


# Milestones ---------------------------------------------------------------------------


class MilestoneFilter(django_filters.FilterSet):
    project = IntegerFilter(field_name="project_id", help_text="A project's id.")
    phase = django_filters.ChoiceFilter(choices=Phase.choices)

    class Meta:
        model = Milestone
        fields = ["project", "phase"]


@extend_schema_view(
    get=extend_schema(
        summary="Milestones of the projects I may see",
        responses={200: MilestoneSerializer, **errors(400, 401)},
    ),
    post=extend_schema(
        summary="Create a milestone (the project's tech lead or the squad's tech leads)",
        request=MilestoneCreateSerializer,
        responses={201: MilestoneDetailSerializer, **errors(400, 401, 403)},
    ),
)
class MilestoneList(generics.ListCreateAPIView):
    serializer_class = MilestoneSerializer
    filterset_class = MilestoneFilter

    def get_queryset(self):
        return access.milestones_for(self.request.user).order_by("project_id", "number", "pk")

    def create(self, request, *args, **kwargs):
        data = MilestoneCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        project = (
            access.projects_for(request.user)
            .select_related("squad", "tech_lead")
            .filter(pk=fields.pop("project"))
            .first()
        )
        if project is None:
            # The same answer for a project that does not exist and one the caller cannot see.
            raise ValidationError({"project": ["No such project."]})
        milestone = services.create_milestone(request.user, project, **fields)
        milestone = _milestone(request.user, milestone.pk)
        return Response(_milestone_body(milestone), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="A milestone, its phase and its readiness (guests of a review too)",
        responses={200: MilestoneDetailSerializer, **errors(401, 404)},
    ),
    patch=extend_schema(
        summary="Change a milestone (its tech lead or the squad's tech leads)",
        request=MilestoneUpdateSerializer,
        responses={200: MilestoneDetailSerializer, **errors(400, 401, 403, 404)},
    ),
)
class MilestoneDetail(generics.GenericAPIView):
    serializer_class = MilestoneDetailSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request, pk: int):
        return Response(_milestone_body(_milestone(request.user, pk, with_guest=True)))

    def patch(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        access.require(request.user, Action.EDIT_MILESTONE, milestone)
        changes = MilestoneUpdateSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        milestone = services.update_milestone(request.user, milestone, **changes.validated_data)
        return Response(_milestone_body(milestone))


@extend_schema_view(
    get=extend_schema(
        summary="The next phase and what is missing before the milestone may move to it",
        responses={200: ReadinessSerializer, **errors(401, 404)},
    )
)
class MilestoneReadiness(generics.GenericAPIView):
    serializer_class = ReadinessSerializer

    def get(self, request, pk: int):
        return Response(_readiness(_milestone(request.user, pk)))


@extend_schema_view(
    post=extend_schema(
        summary="Move on to the next phase, or back to an earlier one with a note",
        request=TransitionSerializer,
        responses={200: MilestoneDetailSerializer, **errors(400, 401, 403, 404, 409)},
    )
)
class MilestoneTransition(generics.GenericAPIView):
    serializer_class = TransitionSerializer

    def post(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        access.require(request.user, Action.MOVE_PHASE, milestone)
        move = TransitionSerializer(data=request.data)
        move.is_valid(raise_exception=True)
        moved = services.transition(
            request.user, milestone, move.validated_data["to"], move.validated_data["note"]
        )
        return Response(_milestone_body(_milestone(request.user, moved.pk)))


# Artifacts -----------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="The seven artifacts of a milestone (guests of a review too)",
        responses={200: ArtifactSerializer, **errors(401, 404)},
    )
)
class ArtifactList(generics.ListAPIView):
    serializer_class = ArtifactSerializer

    def get_queryset(self):
        if _schema_only(self):
            return Artifact.objects.none()
        milestone = _milestone(self.request.user, self.kwargs["pk"], with_guest=True)
        return milestone.artifacts.order_by("id")


def _parse_if_match(value: str | None) -> int | None:
    """The revision an `If-Match: "<revision>"` header names; None when there is none."""
    if value is None:
        return None
    tag = value.strip().removeprefix("W/").strip().strip('"')
    if not tag.isascii() or not tag.isdigit() or len(tag) > 18:
        raise ValidationError({"detail": 'If-Match must name a revision, e.g. If-Match: "3".'})
    return int(tag)


def _stale(artifact: Artifact, base_revision: int) -> Response:
    return Response(
        {
            "detail": f"{artifact.get_kind_display()} changed since revision {base_revision}; "
            f"it is now at revision {artifact.revision}.",
            "current_revision": artifact.revision,
        },
        status=status.HTTP_412_PRECONDITION_FAILED,
    )


def _with_etag(artifact: Artifact) -> Response:
    response = Response(ArtifactSerializer(artifact).data)
    response["ETag"] = f'"{artifact.revision}"'
    return response


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The revision the change is based on, e.g. `"3"`; required to change the body.',
)
ETAG = {"ETag": OpenApiResponse(description="")}


@extend_schema_view(
    get=extend_schema(
        summary="One artifact; the ETag header names its revision",
        parameters=[KIND],
        responses={200: ArtifactSerializer, **errors(401, 404)},
    ),
    patch=extend_schema(
        summary="Change an artifact's body (with If-Match), status or need",
        parameters=[KIND, IF_MATCH],
        request=ArtifactUpdateSerializer,
        responses={200: ArtifactSerializer, **errors(400, 401, 403, 404, 412)},
    ),
)
class ArtifactDetail(generics.GenericAPIView):
    serializer_class = ArtifactSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request, pk: int, kind: str):
        return _with_etag(_artifact(request.user, pk, kind, with_guest=True))

    def patch(self, request, pk: int, kind: str):
        artifact = _artifact(request.user, pk, kind)
        changes = ArtifactUpdateSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        data = changes.validated_data
        base_revision = _parse_if_match(request.headers.get("If-Match"))
        if "body" in data and base_revision is None:
            raise ValidationError({"detail": "If-Match is required to change the body."})
        if base_revision is not None and base_revision != artifact.revision:
            # A precondition on the whole request; the body's save re-checks it atomically.
            return _stale(artifact, base_revision)
        user = request.user
        try:
            with transaction.atomic():
                if "needed" in data:
                    artifact = services.decide_artifact_need(
                        user,
                        artifact,
                        needed=data["needed"],
                        reason=data.get("not_needed_reason", ""),
                    )
                if data.get("status") == ArtifactStatus.DRAFT:
                    artifact = services.mark_artifact(user, artifact, ArtifactStatus.DRAFT)
                if "body" in data:
                    artifact = services.save_artifact_body(
                        user, artifact, body=data["body"], base_revision=base_revision
                    )
                if data.get("status") == ArtifactStatus.READY:
                    artifact = services.mark_artifact(user, artifact, ArtifactStatus.READY)
        except EditConflict as conflict:
            return _stale(conflict.current, conflict.base_revision)
        return _with_etag(_artifact(user, pk, kind))


@extend_schema_view(
    get=extend_schema(
        summary="An artifact's revisions, newest first",
        parameters=[KIND],
        responses={200: ArtifactRevisionSerializer, **errors(401, 404)},
    )
)
class ArtifactRevisionList(generics.ListAPIView):
    serializer_class = ArtifactRevisionSerializer

    def get_queryset(self):
        if _schema_only(self):
            return ArtifactRevision.objects.none()
        artifact = _artifact(self.request.user, self.kwargs["pk"], self.kwargs["kind"])
        return artifact.revisions.order_by("-number")


# Timeline and packet ---------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="The milestone's timeline, newest first",
        responses={200: ActivitySerializer, **errors(401, 404)},
    )
)
class MilestoneActivity(generics.ListAPIView):
    serializer_class = ActivitySerializer

    def get_queryset(self):
        if _schema_only(self):
            return Activity.objects.none()
        milestone = _milestone(self.request.user, self.kwargs["pk"])
        return milestone.activities.order_by("-created_at", "-id")


class MarkdownRenderer(BaseRenderer):
    """Lets a client ask for `text/markdown`; errors still go out as JSON text."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


@extend_schema_view(
    get=extend_schema(
        summary="The design packet: the milestone's whole plan as Markdown",
        responses={
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="Markdown."),
            **errors(401, 404),
        },
    )
)
class MilestonePacket(generics.GenericAPIView):
    renderer_classes = [JSONRenderer, MarkdownRenderer]
    serializer_class = None

    def get(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        response = HttpResponse(
            design_packet(milestone), content_type="text/markdown; charset=utf-8"
        )
        name = f"{milestone.project.slug}-m{milestone.number}-design-packet.md"
        response["Content-Disposition"] = f'inline; filename="{name}"'
        return response


# Unknowns -------------------------------------------------------------------------------


class UnknownFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[*Unknown.Status.choices, ("unsettled", "Neither resolved nor deferred")],
        method="by_status",
    )
    priority = django_filters.ChoiceFilter(choices=Unknown.Priority.choices)
    owner = django_filters.CharFilter(
        method="by_owner", help_text="A user id, or `none` for unknowns without an owner."
    )

    class Meta:
        model = Unknown
        fields = ["status", "priority", "owner"]

    def by_status(self, queryset, name, value):
        if value == "unsettled":
            return queryset.unsettled()
        return queryset.filter(status=value)

    def by_owner(self, queryset, name, value):
        value = value.strip()
        if value == "none":
            return queryset.filter(owner__isnull=True)
        if not value.isascii() or not value.isdigit() or len(value) > 18:
            raise ValidationError({"owner": ["Give a user id or `none`."]})
        return queryset.filter(owner_id=int(value))


# Every row the list shows: it is cached under their fingerprint.
UNKNOWN_LIST = CachedPage(
    "api-unknowns",
    Rows("planning.Unknown", "milestone_id = %(m)s"),
    Rows("planning.DeferralRequest", f"unknown_id IN ({UNKNOWNS_OF_MILESTONE})"),
    params=lambda milestone: {"m": milestone.pk},
)


@extend_schema_view(
    get=extend_schema(
        summary="The unknowns of a milestone, by priority",
        responses={200: UnknownSerializer, **errors(400, 401, 404)},
    ),
    post=extend_schema(
        summary="Add an unknown (squad members)",
        request=UnknownCreateSerializer,
        responses={201: UnknownSerializer, **errors(400, 401, 403, 404)},
    ),
)
class UnknownList(generics.ListCreateAPIView):
    serializer_class = UnknownSerializer
    filterset_class = UnknownFilter

    def get_queryset(self):
        if _schema_only(self):
            return Unknown.objects.none()
        if getattr(self, "milestone", None) is None:
            self.milestone = _milestone(self.request.user, self.kwargs["pk"])
        return (
            self.milestone.unknowns.with_priority_rank()
            .annotate(deferral_pending=_pending_deferral())
            .order_by("priority_rank", "number")
        )

    def list(self, request, *args, **kwargs):
        """One page of unknowns, from the cache while the milestone's unknowns and their
        deferral requests are as they were (planning.state) for this very query."""
        self.milestone = _milestone(request.user, kwargs["pk"])
        fingerprint = UNKNOWN_LIST.fingerprint(self.milestone)
        key = page_key(
            UNKNOWN_LIST, fingerprint, viewer=None, extra=(request.build_absolute_uri(),)
        )
        body = fragments.store().get(key) if key else None
        if body is None:
            # Rows as dicts: the serializer reads them as it reads an Unknown.
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values())
            body = self.get_paginated_response(self.get_serializer(page, many=True).data).data
            if key:
                fragments.store().set(key, body, fragments.SECONDS)
        return Response(body)

    def create(self, request, *args, **kwargs):
        milestone = _milestone(request.user, kwargs["pk"])
        access.require(request.user, Action.EDIT_UNKNOWN, milestone)
        data = UnknownCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unknown = services.add_unknown(request.user, milestone, **data.validated_data)
        return Response(_unknown_body(unknown), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="An unknown", responses={200: UnknownSerializer, **errors(401, 404)}),
    patch=extend_schema(
        summary="Change an unknown (squad members); resolve and defer have their own actions",
        request=UnknownUpdateSerializer,
        responses={200: UnknownSerializer, **errors(400, 401, 403, 404)},
    ),
)
class UnknownDetail(generics.GenericAPIView):
    serializer_class = UnknownSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get(self, request, pk: int):
        return Response(_unknown_body(_unknown(request.user, pk)))

    def patch(self, request, pk: int):
        unknown = _unknown(request.user, pk)
        access.require(request.user, Action.EDIT_UNKNOWN, unknown.milestone)
        changes = UnknownUpdateSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        unknown = services.update_unknown(request.user, unknown, **changes.validated_data)
        return Response(_unknown_body(unknown))


@extend_schema_view(
    post=extend_schema(
        summary="Resolve an unknown (squad members)",
        request=ResolveSerializer,
        responses={200: UnknownSerializer, **errors(400, 401, 403, 404)},
    )
)
class UnknownResolve(generics.GenericAPIView):
    serializer_class = ResolveSerializer

    def post(self, request, pk: int):
        unknown = _unknown(request.user, pk)
        access.require(request.user, Action.EDIT_UNKNOWN, unknown.milestone)
        data = ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unknown = services.resolve_unknown(request.user, unknown, data.validated_data["resolution"])
        return Response(_unknown_body(unknown))


@extend_schema_view(
    post=extend_schema(
        summary="Ask the principal engineer to defer an unknown (the milestone's tech lead)",
        request=DeferralCreateSerializer,
        responses={201: DeferralSerializer, **errors(400, 401, 403, 404, 409)},
    )
)
class UnknownDeferral(generics.GenericAPIView):
    serializer_class = DeferralCreateSerializer

    def post(self, request, pk: int):
        unknown = _unknown(request.user, pk)
        access.require(request.user, Action.REQUEST_DEFERRAL, unknown.milestone)
        data = DeferralCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deferral = services.request_deferral(request.user, unknown, **data.validated_data)
        return Response(DeferralSerializer(deferral).data, status=status.HTTP_201_CREATED)


# Deferrals ---------------------------------------------------------------------------------


class DeferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeferralRequest.Status.choices)

    class Meta:
        model = DeferralRequest
        fields = ["status"]


@extend_schema_view(
    get=extend_schema(
        summary="Deferral requests I may see; the principal engineer's queue",
        responses={200: DeferralSerializer, **errors(400, 401)},
    )
)
class DeferralList(generics.ListAPIView):
    serializer_class = DeferralSerializer
    filterset_class = DeferralFilter

    def get_queryset(self):
        return (
            access.deferrals_for(self.request.user)
            .select_related("unknown")
            .order_by("-created_at", "-id")
        )


@extend_schema_view(
    post=extend_schema(
        summary="Approve or reject a deferral (the project's principal engineer, not the requester)",
        request=DeferralDecisionSerializer,
        responses={200: DeferralSerializer, **errors(400, 401, 403, 404, 409)},
    )
)
class DeferralDecide(generics.GenericAPIView):
    serializer_class = DeferralDecisionSerializer

    def post(self, request, pk: int):
        deferral = access.deferrals_for(request.user).filter(pk=pk).first()
        if deferral is None:
            raise Http404("No such deferral.")
        data = DeferralDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = services.decide_deferral(request.user, deferral, **data.validated_data)
        return Response(DeferralSerializer(decided).data)
