"""The kick-off of a milestone and the concerns raised at it.

Objects are fetched through `squads.access`, so what the caller may not see is a 404
(a guest of a review too); every change goes through `planning.services`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.schema import answers
from api.serializers.reviews import (
    ConcernAnswerSerializer,
    ConcernInputSerializer,
    ConcernSerializer,
    KickoffInputSerializer,
    KickoffSerializer,
)
from api.views.base import ApiRequest, ApiView, valid
from planning import services
from planning.models import KickoffMeeting, Milestone
from squads import access
from squads.access import Action


def _kickoff(milestone: Milestone) -> KickoffMeeting:
    """The milestone's kick-off; an unsaved blank one until it is scheduled."""
    kickoff = KickoffMeeting.objects.filter(milestone=milestone).first()
    return kickoff or KickoffMeeting(milestone=milestone)


class MilestoneKickoff(ApiView):
    @extend_schema(responses=answers({200: KickoffSerializer}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        return Response(KickoffSerializer(_kickoff(milestone)).data)

    @extend_schema(
        summary="Schedule or change the kick-off (the milestone's tech lead)",
        request=KickoffInputSerializer,
        responses=answers({200: KickoffSerializer}, 400, 401, 403, 404),
    )
    def put(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, milestone)
        data = valid(KickoffInputSerializer, request.data)
        kickoff = services.schedule_kickoff(request.user, milestone, **data)
        return Response(KickoffSerializer(kickoff).data)


class KickoffHeld(ApiView):
    @extend_schema(
        summary="Mark the kick-off as held (the milestone's tech lead)",
        request=None,
        responses=answers({200: KickoffSerializer}, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        return Response(KickoffSerializer(services.hold_kickoff(request.user, milestone)).data)


# Concerns -----------------------------------------------------------------------


class MilestoneConcerns(ApiView):
    @extend_schema(responses=answers({200: ConcernSerializer(many=True)}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        concerns = milestone.concerns.select_related("raised_by", "answered_by")
        return self.page(concerns.order_by("created_at", "id"), ConcernSerializer)

    @extend_schema(
        summary="Raise a concern or a question (squad members)",
        request=ConcernInputSerializer,
        responses=answers({201: ConcernSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        access.require(request.user, Action.TAKE_PART, milestone)
        data = valid(ConcernInputSerializer, request.data)
        concern = services.raise_concern(request.user, milestone, **data)
        return Response(ConcernSerializer(concern).data, status=status.HTTP_201_CREATED)


class ConcernDetail(ApiView):
    @extend_schema(
        summary="Answer a concern (the milestone's tech lead)",
        request=ConcernAnswerSerializer,
        responses=answers({200: ConcernSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        concern = access.get_concern_by_id_for(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, concern.milestone)
        answer = valid(ConcernAnswerSerializer, request.data)["answer"]
        concern = services.answer_concern(request.user, concern, answer)
        return Response(ConcernSerializer(concern).data)
