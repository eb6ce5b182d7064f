"""Design reviews, the kick-off and the task breakout, over the same services as the pages.

Objects are fetched through `squads.access`, so what the caller may not see is a 404;
every change goes through `planning.services`, which checks the role and the state.
A guest reaches the review they were invited to and nothing else of the milestone.
"""

from __future__ import annotations

import json

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.reviews import (
    LARGEST_ID,
    BreakoutInputSerializer,
    BreakoutSerializer,
    CommentChangeSerializer,
    CommentInputSerializer,
    CommentSerializer,
    CommentsSinceSerializer,
    ConcernAnswerSerializer,
    ConcernInputSerializer,
    ConcernSerializer,
    DesignReviewSerializer,
    InviteeSerializer,
    KickoffInputSerializer,
    KickoffSerializer,
    ReviewChangeSerializer,
    ReviewCloseSerializer,
    ReviewScheduleSerializer,
    StoryChangeSerializer,
    StoryInputSerializer,
    StorySerializer,
    SubtaskChangeSerializer,
    SubtaskInputSerializer,
    SubtaskSerializer,
    VerdictInputSerializer,
    VerdictSerializer,
)
from planning import services
from planning.calendar import review_ics
from planning.models import (
    BreakoutSession,
    Comment,
    Concern,
    DesignReview,
    KickoffMeeting,
    Milestone,
    Story,
    Subtask,
    Verdict,
)
from squads import access
from squads.access import Action

# Error bodies, as the exception handler writes them -----------------------------

_DETAIL = inline_serializer("ReviewsDetail", {"detail": serializers.CharField()})
_REFUSAL = inline_serializer(
    "ReviewsGuardRefusal",
    {
        "detail": serializers.CharField(),
        "unmet": inline_serializer(
            "ReviewsUnmet",
            {"code": serializers.CharField(), "message": serializers.CharField()},
            many=True,
        ),
    },
)
_ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description='{"field": [..]} or {"detail": ..}'),
    401: OpenApiResponse(_DETAIL, description="No or bad credentials."),
    403: OpenApiResponse(_DETAIL, description="The caller lacks the role for this action."),
    404: OpenApiResponse(_DETAIL, description="No such object, or not visible to the caller."),
    409: OpenApiResponse(_REFUSAL, description="A workflow guard refuses; `unmet` says why."),
}


def answers(ok: dict, *errors: int) -> dict:
    """The operation's responses: its success bodies, 401 and 404, and the errors it names."""
    return {**ok, **{code: _ERRORS[code] for code in sorted({401, 404, *errors})}}


# Fetching through the access module --------------------------------------------


def _id(pk: int) -> int:
    if pk > LARGEST_ID:
        raise Http404
    return pk


def _milestone(user, pk: int, *, with_guest: bool = False) -> Milestone:
    milestone = (
        access.milestones_for(user, with_guest=with_guest)
        .select_related("project__squad", "project__principal_engineer", "tech_lead")
        .filter(pk=_id(pk))
        .first()
    )
    if milestone is None:
        raise Http404
    return milestone


def _review(user, pk: int) -> DesignReview:
    """A review of a milestone the user sees, or one they are invited to."""
    review = (
        DesignReview.objects.select_related(
            "milestone__project__squad",
            "milestone__project__principal_engineer",
            "milestone__tech_lead",
        )
        .filter(pk=_id(pk), milestone__in=access.milestones_for(user, with_guest=True))
        .first()
    )
    if review is None or not access.can(user, Action.REVIEW, review):
        # Among them: a guest asking for another round of the same milestone.
        raise Http404
    return review


def _review_answer(review: DesignReview, code: int = status.HTTP_200_OK) -> Response:
    fresh = _reviews().get(pk=review.pk)
    return Response(DesignReviewSerializer(fresh).data, status=code)


def _reviews():
    return DesignReview.objects.prefetch_related(
        "invitees", Prefetch("verdicts", queryset=Verdict.objects.select_related("reviewer"))
    )


def _valid(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _List(generics.GenericAPIView):
    """A paginated list: `page(queryset, serializer_class)` answers one page."""

    filter_backends: list = []

    def page(self, queryset, serializer_class) -> Response:
        rows = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(rows, many=True).data)


# Design reviews -----------------------------------------------------------------


class MilestoneReviews(_List):
    @extend_schema(
        summary="The milestone's review rounds (a guest sees those they are invited to)",
        responses=answers({200: DesignReviewSerializer(many=True)}),
    )
    def get(self, request, pk: int):
        milestone = _milestone(request.user, pk, with_guest=True)
        reviews = _reviews().filter(milestone=milestone).order_by("-round")
        if access.is_guest(request.user, milestone):
            reviews = reviews.filter(invitees=request.user)
        return self.page(reviews, DesignReviewSerializer)

    @extend_schema(
        summary="Schedule the next review round (the milestone's tech lead)",
        request=ReviewScheduleSerializer,
        responses=answers({201: DesignReviewSerializer}, 400, 403),
    )
    def post(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, milestone)
        data = _valid(ReviewScheduleSerializer, request.data)
        review = services.schedule_review(request.user, milestone, **data)
        return _review_answer(review, status.HTTP_201_CREATED)


class ReviewDetail(APIView):
    @extend_schema(responses=answers({200: DesignReviewSerializer}))
    def get(self, request, pk: int):
        return _review_answer(_review(request.user, pk))

    @extend_schema(
        summary="Move or relocate the review (the milestone's tech lead)",
        request=ReviewChangeSerializer,
        responses=answers({200: DesignReviewSerializer}, 400, 403),
    )
    def patch(self, request, pk: int):
        review = _review(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, review.milestone)
        changes = _valid(ReviewChangeSerializer, request.data)
        review = services.update_review(request.user, review, **changes)
        return _review_answer(review)


class ReviewOpen(APIView):
    @extend_schema(
        summary="Open the review: the artifacts' current revisions are what is reviewed",
        request=None,
        responses=answers({200: DesignReviewSerializer}, 400, 403),
    )
    def post(self, request, pk: int):
        review = services.open_review(request.user, _review(request.user, pk))
        return _review_answer(review)


class ReviewClose(APIView):
    @extend_schema(
        summary="Close the review with its outcome (the milestone's tech lead)",
        request=ReviewCloseSerializer,
        responses=answers({200: DesignReviewSerializer}, 400, 403, 409),
    )
    def post(self, request, pk: int):
        review = _review(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, review.milestone)
        outcome = _valid(ReviewCloseSerializer, request.data)["outcome"]
        review = services.close_review(request.user, review, outcome)
        return _review_answer(review)


class ReviewInvitees(APIView):
    @extend_schema(
        summary="Invite a guest from outside the squad (the milestone's tech lead)",
        request=InviteeSerializer,
        responses=answers({201: DesignReviewSerializer}, 400, 403),
    )
    def post(self, request, pk: int):
        review = _review(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, review.milestone)
        guest = _valid(InviteeSerializer, request.data)["user"]
        review = services.invite_guest(request.user, review, guest)
        return _review_answer(review, status.HTTP_201_CREATED)


class ReviewComments(_List):
    @extend_schema(
        summary="The review's comments, oldest first",
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Only comments created or changed after this time.",
            )
        ],
        responses=answers({200: CommentSerializer(many=True)}, 400),
    )
    def get(self, request, pk: int):
        review = _review(request.user, pk)
        since = _valid(CommentsSinceSerializer, request.query_params).get("since")
        comments = review.comments.select_related("author").order_by("created_at", "id")
        if since is not None:
            comments = comments.filter(updated_at__gt=since)
        return self.page(comments, CommentSerializer)

    @extend_schema(
        summary="Comment, on the whole design or on one artifact, or reply to a comment",
        request=CommentInputSerializer,
        responses=answers({201: CommentSerializer}, 400, 403),
    )
    def post(self, request, pk: int):
        review = _review(request.user, pk)
        data = _valid(CommentInputSerializer, request.data)
        parent = None
        if data.get("parent") is not None:
            parent = review.comments.filter(pk=data["parent"]).first()
            if parent is None:
                raise serializers.ValidationError({"parent": ["No such comment in this review."]})
        comment = services.add_comment(
            request.user,
            review,
            body=data["body"],
            artifact_kind=data["artifact_kind"],
            parent=parent,
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentDetail(APIView):
    @extend_schema(
        summary="Edit a comment (its author) or resolve it (its author or the tech lead)",
        request=CommentChangeSerializer,
        responses=answers({200: CommentSerializer}, 400, 403),
    )
    def patch(self, request, pk: int):
        comment = (
            Comment.objects.select_related("author")
            .filter(
                pk=_id(pk),
                review__milestone__in=access.milestones_for(request.user, with_guest=True),
            )
            .first()
        )
        if comment is None:
            raise Http404
        comment.review = _review(request.user, comment.review_id)
        changes = _valid(CommentChangeSerializer, request.data)
        if "body" in changes:
            comment = services.edit_comment(request.user, comment, changes["body"])
        if "resolved" in changes:
            comment = services.set_comment_resolved(request.user, comment, changes["resolved"])
        return Response(CommentSerializer(comment).data)


class ReviewVerdict(APIView):
    @extend_schema(
        summary="Give or replace my verdict while the review is open",
        request=VerdictInputSerializer,
        responses=answers({200: VerdictSerializer}, 400),
    )
    def put(self, request, pk: int):
        review = _review(request.user, pk)
        data = _valid(VerdictInputSerializer, request.data)
        verdict = services.set_verdict(request.user, review, data["verdict"], data["note"])
        verdict.reviewer = request.user
        return Response(VerdictSerializer(verdict).data)


class CalendarRenderer(BaseRenderer):
    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only errors come through here: the invitation itself is answered as it is.
        return json.dumps(data).encode() if not isinstance(data, bytes) else data


class ReviewInvite(APIView):
    renderer_classes = [JSONRenderer, CalendarRenderer]

    @extend_schema(
        summary="The review's calendar invitation",
        responses=answers({(200, "text/calendar"): OpenApiTypes.STR}),
    )
    def get(self, request, pk: int):
        review = _review(request.user, pk)
        answer = HttpResponse(review_ics(review), content_type="text/calendar; charset=utf-8")
        answer["Content-Disposition"] = f'attachment; filename="design-review-{review.round}.ics"'
        return answer


# Kick-off -----------------------------------------------------------------------


def _kickoff(milestone: Milestone) -> KickoffMeeting:
    """The milestone's kick-off; an unsaved blank one until it is scheduled."""
    kickoff = KickoffMeeting.objects.filter(milestone=milestone).first()
    return kickoff or KickoffMeeting(milestone=milestone)


class MilestoneKickoff(APIView):
    @extend_schema(responses=answers({200: KickoffSerializer}))
    def get(self, request, pk: int):
        return Response(KickoffSerializer(_kickoff(_milestone(request.user, pk))).data)

    @extend_schema(
        summary="Schedule or change the kick-off (the milestone's tech lead)",
        request=KickoffInputSerializer,
        responses=answers({200: KickoffSerializer}, 400, 403),
    )
    def put(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, milestone)
        data = _valid(KickoffInputSerializer, request.data)
        kickoff = services.schedule_kickoff(request.user, milestone, **data)
        return Response(KickoffSerializer(kickoff).data)


class KickoffHeld(APIView):
    @extend_schema(
        summary="Mark the kick-off as held (the milestone's tech lead)",
        request=None,
        responses=answers({200: KickoffSerializer}, 403),
    )
    def post(self, request, pk: int):
        kickoff = services.hold_kickoff(request.user, _milestone(request.user, pk))
        return Response(KickoffSerializer(kickoff).data)


class MilestoneConcerns(_List):
    @extend_schema(responses=answers({200: ConcernSerializer(many=True)}))
    def get(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        concerns = milestone.concerns.select_related("raised_by", "answered_by").order_by(
            "created_at", "id"
        )
        return self.page(concerns, ConcernSerializer)

    @extend_schema(
        summary="Raise a concern or a question (squad members)",
        request=ConcernInputSerializer,
        responses=answers({201: ConcernSerializer}, 400, 403),
    )
    def post(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        access.require(request.user, Action.TAKE_PART, milestone)
        data = _valid(ConcernInputSerializer, request.data)
        concern = services.raise_concern(request.user, milestone, **data)
        return Response(ConcernSerializer(concern).data, status=status.HTTP_201_CREATED)


class ConcernDetail(APIView):
    @extend_schema(
        summary="Answer a concern (the milestone's tech lead)",
        request=ConcernAnswerSerializer,
        responses=answers({200: ConcernSerializer}, 400, 403),
    )
    def patch(self, request, pk: int):
        concern = (
            Concern.objects.select_related("raised_by")
            .filter(pk=_id(pk), milestone__in=access.milestones_for(request.user))
            .first()
        )
        if concern is None:
            raise Http404
        concern.milestone = _milestone(request.user, concern.milestone_id)
        access.require(request.user, Action.RUN_MEETINGS, concern.milestone)
        answer = _valid(ConcernAnswerSerializer, request.data)["answer"]
        concern = services.answer_concern(request.user, concern, answer)
        return Response(ConcernSerializer(concern).data)


# Task breakout ------------------------------------------------------------------


def _stories():
    return Story.objects.select_related("assignee").prefetch_related(
        Prefetch("subtasks", queryset=Subtask.objects.select_related("assignee"))
    )


def _story(user, pk: int) -> Story:
    story = (
        Story.objects.select_related("assignee")
        .filter(pk=_id(pk), milestone__in=access.milestones_for(user))
        .first()
    )
    if story is None:
        raise Http404
    story.milestone = _milestone(user, story.milestone_id)
    return story


def _story_answer(story: Story, code: int = status.HTTP_200_OK) -> Response:
    return Response(StorySerializer(_stories().get(pk=story.pk)).data, status=code)


class MilestoneStories(_List):
    @extend_schema(responses=answers({200: StorySerializer(many=True)}))
    def get(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        return self.page(_stories().filter(milestone=milestone).order_by("number"), StorySerializer)

    @extend_schema(
        summary="Add a story (squad members)",
        request=StoryInputSerializer,
        responses=answers({201: StorySerializer}, 400, 403),
    )
    def post(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        access.require(request.user, Action.TAKE_PART, milestone)
        data = _valid(StoryInputSerializer, request.data)
        story = services.add_story(request.user, milestone, **data)
        return _story_answer(story, status.HTTP_201_CREATED)


class StoryDetail(APIView):
    @extend_schema(responses=answers({200: StorySerializer}))
    def get(self, request, pk: int):
        return _story_answer(_story(request.user, pk))

    @extend_schema(
        summary="Change a story (squad members)",
        request=StoryChangeSerializer,
        responses=answers({200: StorySerializer}, 400, 403),
    )
    def patch(self, request, pk: int):
        story = _story(request.user, pk)
        access.require(request.user, Action.TAKE_PART, story.milestone)
        changes = _valid(StoryChangeSerializer, request.data)
        story = services.update_story(request.user, story, **changes)
        return _story_answer(story)


class StoryClaim(APIView):
    @extend_schema(
        summary="Claim the story: the caller becomes its assignee",
        request=None,
        responses=answers({200: StorySerializer}, 403),
    )
    def post(self, request, pk: int):
        story = services.claim_story(request.user, _story(request.user, pk))
        return _story_answer(story)


class StorySubtasks(_List):
    @extend_schema(responses=answers({200: SubtaskSerializer(many=True)}))
    def get(self, request, pk: int):
        story = _story(request.user, pk)
        subtasks = story.subtasks.select_related("assignee").order_by("created_at", "id")
        return self.page(subtasks, SubtaskSerializer)

    @extend_schema(
        summary="Break the story down (squad members)",
        request=SubtaskInputSerializer,
        responses=answers({201: SubtaskSerializer}, 400, 403),
    )
    def post(self, request, pk: int):
        story = _story(request.user, pk)
        access.require(request.user, Action.TAKE_PART, story.milestone)
        data = _valid(SubtaskInputSerializer, request.data)
        subtask = services.add_subtask(request.user, story, **data)
        return Response(SubtaskSerializer(subtask).data, status=status.HTTP_201_CREATED)


class SubtaskDetail(APIView):
    @extend_schema(
        summary="Rename, reassign or tick off a sub-task (squad members)",
        request=SubtaskChangeSerializer,
        responses=answers({200: SubtaskSerializer}, 400, 403),
    )
    def patch(self, request, pk: int):
        subtask = (
            Subtask.objects.select_related("story", "assignee")
            .filter(pk=_id(pk), story__milestone__in=access.milestones_for(request.user))
            .first()
        )
        if subtask is None:
            raise Http404
        subtask.story.milestone = _milestone(request.user, subtask.story.milestone_id)
        access.require(request.user, Action.TAKE_PART, subtask.story.milestone)
        changes = _valid(SubtaskChangeSerializer, request.data)
        subtask = services.update_subtask(request.user, subtask, **changes)
        return Response(SubtaskSerializer(subtask).data)


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
    def to_representation(self, instance):
        data = super().to_representation(instance) if instance.pk else self._blank(instance)
        return data

    def _blank(self, instance):
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


class MilestoneBreakout(APIView):
    @extend_schema(responses=answers({200: BreakoutSerializer}))
    def get(self, request, pk: int):
        return Response(BreakoutAnswer(_breakout(_milestone(request.user, pk))).data)

    @extend_schema(
        summary="Schedule the breakout session (meeting mode; the milestone's tech lead)",
        request=BreakoutInputSerializer,
        responses=answers({200: BreakoutSerializer}, 400, 403),
    )
    def put(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, milestone)
        data = _valid(BreakoutInputSerializer, request.data)
        services.schedule_breakout(request.user, milestone, **data)
        return Response(BreakoutAnswer(_breakout(milestone)).data)


class BreakoutHeld(APIView):
    @extend_schema(
        summary="Mark the breakout session as held (the milestone's tech lead)",
        request=None,
        responses=answers({200: BreakoutSerializer}, 400, 403),
    )
    def post(self, request, pk: int):
        milestone = _milestone(request.user, pk)
        services.hold_breakout(request.user, milestone)
        return Response(BreakoutAnswer(_breakout(milestone)).data)
