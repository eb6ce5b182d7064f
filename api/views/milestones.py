"""Milestones and their workflow, artifacts, timeline and packet.

Objects are fetched through squads.access, so what the caller may not see
answers 404; guests of a review reach the milestone and its artifacts only.
Every change goes through planning.services, which checks the caller's role
and the workflow's rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import django_filters
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from api.schema import answers
from api.serializers.milestones import (
    ActivitySerializer,
    ArtifactRevisionSerializer,
    ArtifactSerializer,
    ArtifactUpdateSerializer,
    DecisionSerializer,
    MilestoneCreateSerializer,
    MilestoneDetailSerializer,
    MilestoneSerializer,
    MilestoneUpdateSerializer,
    ReadinessSerializer,
    TransitionSerializer,
)
from api.views.base import ApiRequest, ApiView, named_in_body, valid
from config.inputs import IdField
from planning import services
from planning.exceptions import EditConflict
from planning.models import Artifact, Milestone
from planning.packet import design_packet
from planning.services.decisions import decision_log
from planning.workflow import ARTIFACT_KINDS, ArtifactStatus, Phase
from squads import access
from squads.access import Action

if TYPE_CHECKING:
    from accounts.models import User

KIND = OpenApiParameter(
    "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=ARTIFACT_KINDS, description="Artifact."
)


class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number in the ids' range, or a 400 on the parameter."""

    field_class = IdField


def _milestone_body(milestone: Milestone) -> dict[str, Any]:
    milestone.readiness = _readiness(milestone)
    return MilestoneDetailSerializer(milestone).data


def _readiness(milestone: Milestone) -> dict[str, Any]:
    ready = services.readiness(milestone)
    return {**ready, "unmet": [{"code": u.code, "message": u.message} for u in ready["unmet"]]}


def _artifact(user: User, pk: int, kind: str, *, with_guest: bool = False) -> Artifact:
    milestone = access.get_milestone_by_id_for(user, pk, with_guest=with_guest)
    return access.get_artifact_for(user, milestone, kind)


# Milestones ---------------------------------------------------------------------------


class MilestoneFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id", help_text="A project's id.")
    phase = django_filters.ChoiceFilter(choices=Phase.choices)

    class Meta:
        model = Milestone
        fields = ["project", "phase"]


class MilestoneList(ApiView):
    filterset_class = MilestoneFilter

    @extend_schema(
        summary="Milestones of the projects I may see",
        responses=answers({200: MilestoneSerializer(many=True)}, 400, 401),
    )
    def get(self, request: ApiRequest) -> Response:
        milestones = access.milestones_for(request.user).order_by("project_id", "number", "pk")
        return self.page(milestones, MilestoneSerializer)

    @extend_schema(
        summary="Create a milestone (the project's tech lead or the squad's tech leads)",
        request=MilestoneCreateSerializer,
        responses=answers({201: MilestoneDetailSerializer}, 400, 401, 403),
    )
    def post(self, request: ApiRequest) -> Response:
        fields = dict(valid(MilestoneCreateSerializer, request.data))
        project = named_in_body(
            "project", access.get_project_by_id_for, request.user, fields.pop("project")
        )
        milestone = services.create_milestone(request.user, project, **fields)
        milestone = access.get_milestone_by_id_for(request.user, milestone.pk)
        return Response(_milestone_body(milestone), status=status.HTTP_201_CREATED)


class MilestoneDetail(ApiView):
    @extend_schema(
        summary="A milestone, its phase and its readiness (guests of a review too)",
        responses=answers({200: MilestoneDetailSerializer}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk, with_guest=True)
        return Response(_milestone_body(milestone))

    @extend_schema(
        summary="Change a milestone (its tech lead or the squad's tech leads)",
        request=MilestoneUpdateSerializer,
        responses=answers({200: MilestoneDetailSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        access.require(request.user, Action.EDIT_MILESTONE, milestone)
        changes = valid(MilestoneUpdateSerializer, request.data, partial=True)
        milestone = services.update_milestone(request.user, milestone, **changes)
        return Response(_milestone_body(milestone))


class MilestoneReadiness(ApiView):
    @extend_schema(
        summary="The next phase and what is missing before the milestone may move to it",
        responses=answers({200: ReadinessSerializer}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> Response:
        return Response(_readiness(access.get_milestone_by_id_for(request.user, pk)))


class MilestoneTransition(ApiView):
    @extend_schema(
        summary="Move on to the next phase, or back to an earlier one with a note",
        request=TransitionSerializer,
        responses=answers({200: MilestoneDetailSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        access.require(request.user, Action.MOVE_PHASE, milestone)
        move = valid(TransitionSerializer, request.data)
        moved = services.transition(request.user, milestone, move["to"], move["note"])
        return Response(_milestone_body(access.get_milestone_by_id_for(request.user, moved.pk)))


# Artifacts -----------------------------------------------------------------------------


class ArtifactList(ApiView):
    @extend_schema(
        summary="The seven artifacts of a milestone (guests of a review too)",
        responses=answers({200: ArtifactSerializer(many=True)}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk, with_guest=True)
        return self.page(milestone.artifacts.order_by("id"), ArtifactSerializer)


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


class ArtifactDetail(ApiView):
    @extend_schema(
        summary="One artifact; the ETag header names its revision",
        parameters=[KIND],
        responses=answers({200: ArtifactSerializer}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int, kind: str) -> Response:
        return _with_etag(_artifact(request.user, pk, kind, with_guest=True))

    @extend_schema(
        summary="Change an artifact's body (with If-Match), status or need",
        parameters=[KIND, IF_MATCH],
        request=ArtifactUpdateSerializer,
        responses=answers({200: ArtifactSerializer}, 400, 401, 403, 404, 412),
    )
    def patch(self, request: ApiRequest, pk: int, kind: str) -> Response:
        artifact = _artifact(request.user, pk, kind)
        data = valid(ArtifactUpdateSerializer, request.data)
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
                if "body" in data and base_revision is not None:  # None was refused above
                    artifact = services.save_artifact_body(
                        user, artifact, body=data["body"], base_revision=base_revision
                    )
                if data.get("status") == ArtifactStatus.READY:
                    artifact = services.mark_artifact(user, artifact, ArtifactStatus.READY)
        except EditConflict as conflict:
            return _stale(conflict.current, conflict.base_revision)
        return _with_etag(_artifact(user, pk, kind))


class ArtifactRevisionList(ApiView):
    @extend_schema(
        summary="An artifact's revisions, newest first",
        parameters=[KIND],
        responses=answers({200: ArtifactRevisionSerializer(many=True)}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int, kind: str) -> Response:
        artifact = _artifact(request.user, pk, kind)
        return self.page(artifact.revisions.order_by("-number"), ArtifactRevisionSerializer)


# Timeline and packet ---------------------------------------------------------------------


class MilestoneActivity(ApiView):
    @extend_schema(
        summary="The milestone's timeline, newest first",
        responses=answers({200: ActivitySerializer(many=True)}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        return self.page(milestone.activities.order_by("-created_at", "-id"), ActivitySerializer)


class MilestoneDecisions(ApiView):
    @extend_schema(
        summary="The milestone's decision log, oldest first",
        responses=answers({200: DecisionSerializer(many=True)}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        return self.page(decision_log(milestone), DecisionSerializer)


class MarkdownRenderer(BaseRenderer):
    """Lets a client ask for `text/markdown`; errors still go out as JSON text."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return JSONRenderer().render(data)


class MilestonePacket(ApiView):
    renderer_classes = [JSONRenderer, MarkdownRenderer]

    @extend_schema(
        summary="The design packet: the milestone's whole plan as Markdown",
        responses=answers(
            {(200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="Markdown.")},
            401,
            404,
        ),
    )
    def get(self, request: ApiRequest, pk: int) -> HttpResponse:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        response = HttpResponse(
            design_packet(milestone), content_type="text/markdown; charset=utf-8"
        )
        name = f"{milestone.project.slug}-m{milestone.number}-design-packet.md"
        response["Content-Disposition"] = f'inline; filename="{name}"'
        return response
