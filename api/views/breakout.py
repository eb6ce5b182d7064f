"""The task breakout: stories and their sub-tasks, and the breakout session.

Objects are fetched through `squads.access`, so what the caller may not see is a 404
(a guest of a review too); every change goes through `planning.services`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.schema import answers
from api.serializers.reviews import (
    BreakoutInputSerializer,
    BreakoutSerializer,
    StoryChangeSerializer,
    StoryClaimSerializer,
    StoryInputSerializer,
    StorySerializer,
    SubtaskChangeSerializer,
    SubtaskInputSerializer,
    SubtaskSerializer,
)
from api.views.base import ApiRequest, ApiView, valid
from planning import services
from planning.models import BreakoutSession, Milestone, Story, Subtask
from squads import access
from squads.access import Action


def _with_subtasks(stories: QuerySet[Story]) -> QuerySet[Story]:
    return stories.select_related("assignee").prefetch_related(
        Prefetch("subtasks", queryset=Subtask.objects.select_related("assignee"))
    )


def _story_answer(story: Story, code: int = status.HTTP_200_OK) -> Response:
    fresh = _with_subtasks(Story.objects.all()).get(pk=story.pk)
    return Response(StorySerializer(fresh).data, status=code)


# Stories and sub-tasks ----------------------------------------------------------


class MilestoneStories(ApiView):
    @extend_schema(responses=answers({200: StorySerializer(many=True)}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        stories = _with_subtasks(milestone.stories.all()).order_by("number")
        return self.page(stories, StorySerializer)

    @extend_schema(
        summary="Add a story (squad members)",
        request=StoryInputSerializer,
        responses=answers({201: StorySerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        access.require(request.user, Action.TAKE_PART, milestone)
        data = valid(StoryInputSerializer, request.data)
        story = services.add_story(request.user, milestone, **data)
        return _story_answer(story, status.HTTP_201_CREATED)


class StoryDetail(ApiView):
    @extend_schema(responses=answers({200: StorySerializer}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        return _story_answer(access.get_story_by_id_for(request.user, pk))

    @extend_schema(
        summary="Change a story (squad members)",
        request=StoryChangeSerializer,
        responses=answers({200: StorySerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        story = access.get_story_by_id_for(request.user, pk)
        access.require(request.user, Action.TAKE_PART, story.milestone)
        changes = valid(StoryChangeSerializer, request.data)
        return _story_answer(services.update_story(request.user, story, **changes))


class StoryClaim(ApiView):
    @extend_schema(
        summary="Claim the story: the caller becomes its assignee",
        description="A story a teammate holds is taken over only when `take_over_from` "
        "names that teammate; otherwise the claim is refused with a 400.",
        request=StoryClaimSerializer,
        responses=answers({200: StorySerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        story = access.get_story_by_id_for(request.user, pk)
        holder = valid(StoryClaimSerializer, request.data)["take_over_from"]
        return _story_answer(
            services.claim_story(
                request.user, story, take_over_from=holder.pk if holder is not None else None
            )
        )


class StorySubtasks(ApiView):
    @extend_schema(responses=answers({200: SubtaskSerializer(many=True)}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        story = access.get_story_by_id_for(request.user, pk)
        subtasks = story.subtasks.select_related("assignee").order_by("created_at", "id")
        return self.page(subtasks, SubtaskSerializer)

    @extend_schema(
        summary="Break the story down (squad members)",
        request=SubtaskInputSerializer,
        responses=answers({201: SubtaskSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        story = access.get_story_by_id_for(request.user, pk)
        access.require(request.user, Action.TAKE_PART, story.milestone)
        data = valid(SubtaskInputSerializer, request.data)
        subtask = services.add_subtask(request.user, story, **data)
        return Response(SubtaskSerializer(subtask).data, status=status.HTTP_201_CREATED)


class SubtaskDetail(ApiView):
    @extend_schema(
        summary="Rename, reassign or tick off a sub-task (squad members)",
        request=SubtaskChangeSerializer,
        responses=answers({200: SubtaskSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        subtask = access.get_subtask_by_id_for(request.user, pk)
        access.require(request.user, Action.TAKE_PART, subtask.story.milestone)
        changes = valid(SubtaskChangeSerializer, request.data)
        subtask = services.update_subtask(request.user, subtask, **changes)
        return Response(SubtaskSerializer(subtask).data)


# Breakout session ---------------------------------------------------------------


def _breakout(milestone: Milestone) -> BreakoutSession:
    """The milestone's breakout session; an unsaved blank one until it is scheduled."""
    session = (
        BreakoutSession.objects.filter(milestone=milestone).prefetch_related("attendees").first()
    )
    if session is None:
        session = BreakoutSession(milestone=milestone)
    session.milestone = milestone
    return session


class BreakoutAnswer(BreakoutSerializer):
    def to_representation(self, instance: BreakoutSession) -> dict[str, Any]:
        data = super().to_representation(instance) if instance.pk else self._blank(instance)
        return data

    def _blank(self, instance: BreakoutSession) -> dict[str, Any]:
        # An unsaved session has no attendees table to read.
        return {
            "milestone": instance.milestone_id,
            "breakout_mode": instance.milestone.project.squad.breakout_mode,
            "scheduled_for": None,
            "duration_minutes": instance.duration_minutes,
            "location": "",
            "attendees": [],
            "held_at": None,
        }


class MilestoneBreakout(ApiView):
    @extend_schema(responses=answers({200: BreakoutSerializer}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        return Response(BreakoutAnswer(_breakout(milestone)).data)

    @extend_schema(
        summary="Schedule the breakout session (meeting mode; the milestone's tech lead)",
        request=BreakoutInputSerializer,
        responses=answers({200: BreakoutSerializer}, 400, 401, 403, 404),
    )
    def put(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, milestone)
        data = valid(BreakoutInputSerializer, request.data)
        services.schedule_breakout(request.user, milestone, **data)
        return Response(BreakoutAnswer(_breakout(milestone)).data)


class BreakoutHeld(ApiView):
    @extend_schema(
        summary="Mark the breakout session as held (the milestone's tech lead)",
        request=None,
        responses=answers({200: BreakoutSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        services.hold_breakout(request.user, milestone)
        return Response(BreakoutAnswer(_breakout(milestone)).data)
