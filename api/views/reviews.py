"""Design reviews, their comments and verdicts, and their calendar invitations.

Objects are fetched through `squads.access`, so what the caller may not see is a 404;
every change goes through `planning.services`, which checks the role and the state.
A guest reaches the review round they were invited to and nothing else of the milestone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from api.schema import answers
from api.serializers.reviews import (
    CommentChangeSerializer,
    CommentInputSerializer,
    CommentOverruleSerializer,
    CommentSerializer,
    CommentsSinceSerializer,
    DesignReviewDetailSerializer,
    DesignReviewSerializer,
    DismissSerializer,
    InviteeSerializer,
    ReviewChangeSerializer,
    ReviewCloseSerializer,
    ReviewScheduleSerializer,
    VerdictInputSerializer,
    VerdictSerializer,
)
from api.views.base import ApiRequest, ApiView, valid
from planning import services
from planning.calendar import review_ics
from planning.models import DesignReview, Verdict
from squads import access
from squads.access import Action


def _with_verdicts(reviews: QuerySet[DesignReview]) -> QuerySet[DesignReview]:
    return reviews.prefetch_related(
        "invitees",
        Prefetch(
            "verdicts",
            queryset=Verdict.objects.select_related("reviewer", "dismissed_by").prefetch_related(
                "conditions"
            ),
        ),
    )


def _review_answer(review: DesignReview, code: int = status.HTTP_200_OK) -> Response:
    fresh = (
        _with_verdicts(DesignReview.objects.all())
        .select_related("milestone__project__principal_engineer")
        .get(pk=review.pk)
    )
    context = {"current": services.current_revisions(review.milestone)}
    return Response(DesignReviewDetailSerializer(fresh, context=context).data, status=code)


# Design reviews -----------------------------------------------------------------


class MilestoneReviews(ApiView):
    @extend_schema(
        summary="The milestone's review rounds (a guest sees those they are invited to)",
        responses=answers({200: DesignReviewSerializer(many=True)}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk, with_guest=True)
        reviews = _with_verdicts(access.reviews_for(request.user, milestone))
        context = {"current": services.current_revisions(milestone)}
        return self.page(reviews.order_by("-round"), DesignReviewSerializer, context=context)

    @extend_schema(
        summary="Schedule the next review round (the milestone's tech lead)",
        request=ReviewScheduleSerializer,
        responses=answers({201: DesignReviewDetailSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, milestone)
        data = valid(ReviewScheduleSerializer, request.data)
        review = services.schedule_review(request.user, milestone, **data)
        return _review_answer(review, status.HTTP_201_CREATED)


class ReviewDetail(ApiView):
    @extend_schema(responses=answers({200: DesignReviewDetailSerializer}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        return _review_answer(access.get_review_by_id_for(request.user, pk))

    @extend_schema(
        summary="Move or relocate the review, or change when verdicts are due (the milestone's tech lead)",
        request=ReviewChangeSerializer,
        responses=answers({200: DesignReviewDetailSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        review = access.get_review_by_id_for(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, review.milestone)
        changes = valid(ReviewChangeSerializer, request.data)
        review = services.update_review(request.user, review, **changes)
        return _review_answer(review)


class ReviewOpen(ApiView):
    @extend_schema(
        summary="Open the review: the artifacts' current revisions are what is reviewed",
        request=None,
        responses=answers({200: DesignReviewDetailSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        review = access.get_review_by_id_for(request.user, pk)
        return _review_answer(services.open_review(request.user, review))


class ReviewClose(ApiView):
    @extend_schema(
        summary="Close the review with its outcome (the milestone's tech lead)",
        request=ReviewCloseSerializer,
        responses=answers({200: DesignReviewDetailSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        review = access.get_review_by_id_for(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, review.milestone)
        outcome = valid(ReviewCloseSerializer, request.data)["outcome"]
        return _review_answer(services.close_review(request.user, review, outcome))


class ReviewInvitees(ApiView):
    @extend_schema(
        summary="Invite a guest from outside the squad (the milestone's tech lead)",
        request=InviteeSerializer,
        responses=answers({201: DesignReviewDetailSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        review = access.get_review_by_id_for(request.user, pk)
        access.require(request.user, Action.RUN_MEETINGS, review.milestone)
        guest = valid(InviteeSerializer, request.data)["user"]
        review = services.invite_guest(request.user, review, guest)
        return _review_answer(review, status.HTTP_201_CREATED)


# Comments and verdicts ----------------------------------------------------------

SINCE = OpenApiParameter(
    "since",
    OpenApiTypes.DATETIME,
    description="Only comments created or changed after this time.",
)


class ReviewComments(ApiView):
    @extend_schema(
        summary="The review's comments, oldest first",
        parameters=[SINCE],
        responses=answers({200: CommentSerializer(many=True)}, 400, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> Response:
        review = access.get_review_by_id_for(request.user, pk)
        since = valid(CommentsSinceSerializer, request.query_params).get("since")
        comments = review.comments.select_related("author", "overruled_by").order_by(
            "created_at", "id"
        )
        if since is not None:
            comments = comments.filter(updated_at__gt=since)
        return self.page(comments, CommentSerializer, context={"milestone": review.milestone})

    @extend_schema(
        summary="Comment on the whole design, on an artifact or on one block of a revision of "
        "it, or reply to a comment",
        request=CommentInputSerializer,
        responses=answers({201: CommentSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        review = access.get_review_by_id_for(request.user, pk)
        data = valid(CommentInputSerializer, request.data)
        parent = None
        if data.get("parent") is not None:
            parent = review.comments.filter(pk=data["parent"]).first()
            if parent is None:
                raise serializers.ValidationError({"parent": ["No such comment in this review."]})
        anchor = data.get("anchor") or {}
        comment = services.add_comment(
            request.user,
            review,
            body=data["body"],
            artifact_kind=data["artifact_kind"],
            parent=parent,
            revision=data.get("revision"),
            anchor_block=anchor.get("block"),
            anchor_quote=anchor.get("quote", ""),
            blocking=data["blocking"],
        )
        answer = CommentSerializer(comment, context={"milestone": review.milestone})
        return Response(answer.data, status=status.HTTP_201_CREATED)


class CommentDetail(ApiView):
    @extend_schema(
        summary="Edit a comment (its author), resolve it (its author or the tech lead; "
        "a blocking one its author only), or make it blocking (its author, a counted reviewer)",
        request=CommentChangeSerializer,
        responses=answers({200: CommentSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        comment = access.get_comment_by_id_for(request.user, pk)
        milestone = comment.review.milestone
        changes = valid(CommentChangeSerializer, request.data)
        if "body" in changes:
            comment = services.edit_comment(request.user, comment, changes["body"])
        if changes.get("blocking"):
            comment = services.mark_blocking(request.user, comment)
        if "resolved" in changes:
            comment = services.set_comment_resolved(request.user, comment, changes["resolved"])
        return Response(CommentSerializer(comment, context={"milestone": milestone}).data)


class CommentOverrule(ApiView):
    @extend_schema(
        summary="Overrule a blocking comment with a note (the project's principal engineer)",
        request=CommentOverruleSerializer,
        responses=answers({200: CommentSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        comment = access.get_comment_by_id_for(request.user, pk)
        access.require(request.user, Action.OVERRULE_COMMENT, comment)
        note = valid(CommentOverruleSerializer, request.data)["note"]
        comment = services.overrule_comment(request.user, comment, note)
        return Response(CommentSerializer(comment).data)


class ReviewVerdict(ApiView):
    @extend_schema(
        summary="Give or replace my verdict while the review is open",
        request=VerdictInputSerializer,
        responses=answers({200: VerdictSerializer}, 400, 401, 404),
    )
    def put(self, request: ApiRequest, pk: int) -> Response:
        review = access.get_review_by_id_for(request.user, pk)
        data = valid(VerdictInputSerializer, request.data)
        verdict = services.set_verdict(
            request.user, review, data["verdict"], data["note"], data["conditions"]
        )
        verdict = Verdict.objects.prefetch_related("conditions").get(pk=verdict.pk)
        verdict.reviewer = request.user
        context = {"current": verdict.revisions}  # given now, on the latest revisions
        return Response(VerdictSerializer(verdict, context=context).data)


class VerdictDismiss(ApiView):
    @extend_schema(
        summary="Dismiss a stale request for changes with a note (the milestone's tech lead)",
        request=DismissSerializer,
        responses=answers({200: VerdictSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        verdict = access.get_verdict_by_id_for(request.user, pk)
        access.require(request.user, Action.DISMISS_VERDICT, verdict)
        note = valid(DismissSerializer, request.data)["note"]
        verdict = services.dismiss_verdict(request.user, verdict, note)
        return Response(VerdictSerializer(verdict).data)


# Calendar invitation ------------------------------------------------------------


class CalendarRenderer(BaseRenderer):
    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        # Only errors come through here: the invitation itself is answered as it is.
        return json.dumps(data).encode() if not isinstance(data, bytes) else data


class ReviewInvite(ApiView):
    renderer_classes = [JSONRenderer, CalendarRenderer]

    @extend_schema(
        summary="The review's calendar invitation",
        responses=answers({(200, "text/calendar"): OpenApiTypes.STR}, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> HttpResponse:
        review = access.get_review_by_id_for(request.user, pk)
        answer = HttpResponse(review_ics(review), content_type="text/calendar; charset=utf-8")
        answer["Content-Disposition"] = f'attachment; filename="design-review-{review.round}.ics"'
        return answer
