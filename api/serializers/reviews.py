"""Shapes of design reviews, the kick-off and the task breakout: translation only, no rules.

Input serializers check types, lengths and choices; the services decide what is allowed.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.base import Input
from config.inputs import LARGEST_ID, parse_id
from planning import services, workflow
from planning.models import (
    BreakoutSession,
    Comment,
    Concern,
    DesignReview,
    KickoffMeeting,
    Milestone,
    Story,
    Subtask,
    Unknown,
    Verdict,
)
from planning.services.deadlines import pending_reviewers
from planning.workflow import ArtifactKind

User = get_user_model()

# Beyond these a meeting time cannot be put on a calendar.
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000


class _Bounds(TypedDict):
    min_value: int
    max_value: int


MEETING_MINUTES: _Bounds = {"min_value": 15, "max_value": 480}


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class UserField(serializers.Field):
    """A user named by id or by username; an unknown one is a 400 on the field."""

    default_error_messages = {
        "unknown": "No such user.",
        "invalid": "Give a user id or a username.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        pk = parse_id(data)
        users = User.objects.filter(is_active=True)
        if pk is not None:
            user = users.filter(pk=pk).first()
        elif isinstance(data, str) and data.strip() and len(data) <= 150:
            user = users.filter(username__iexact=data.strip()).first()
        else:
            user = None
        if user is None:
            self.fail("unknown")
        return user

    def to_representation(self, value):
        return value.pk


class MeetingTimeField(serializers.DateTimeField):
    """An ISO 8601 time that a calendar can hold."""

    def to_internal_value(self, value):
        when = super().to_internal_value(value)
        if not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
            raise serializers.ValidationError(
                f"Choose a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
            )
        return when


class InlineChoiceField(serializers.ChoiceField):
    """A choice whose schema lists its values in place: an input twin of a model's enum
    would otherwise collide with it in the schema's component names."""


class InlineChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = InlineChoiceField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": list(self.target.choices)}


class ParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    full_name = serializers.CharField(read_only=True)


# Design reviews ---------------------------------------------------------------


def _current_revisions(context: dict[str, Any], milestone: Milestone) -> dict[str, int]:
    """The artifacts' latest revisions, read once per answer (the view may pass them in)."""
    if "current" not in context:
        context["current"] = services.current_revisions(milestone)
    return context["current"]


class ConditionSerializer(serializers.ModelSerializer):
    """An unknown made from a condition of an approval."""

    key = serializers.CharField(read_only=True, help_text="U-n")
    status = InlineChoiceField(choices=Unknown.Status.choices, read_only=True)

    class Meta:
        model = Unknown
        fields = ["id", "key", "title", "status"]
        read_only_fields = fields


class VerdictSerializer(serializers.ModelSerializer):
    reviewer = ParticipantSerializer(read_only=True)
    revisions = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Artifact kind → the revision the verdict was given on.",
    )
    stale = serializers.SerializerMethodField(
        help_text="An artifact has a newer revision than the verdict was given on: a stale "
        "approval does not count; a stale request for changes counts until replaced or dismissed."
    )
    dismissed_by = ParticipantSerializer(read_only=True, allow_null=True)
    conditions = ConditionSerializer(
        many=True,
        read_only=True,
        help_text="The unknowns this verdict's conditions became; kept when the verdict is replaced.",
    )

    class Meta:
        model = Verdict
        fields = [
            "id",
            "reviewer",
            "verdict",
            "note",
            "conditions",
            "counted",
            "revisions",
            "stale",
            "dismissed_by",
            "dismiss_note",
            "dismissed_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_stale(self, verdict: Verdict) -> bool:
        current = _current_revisions(self.context, verdict.review.milestone)
        return workflow.is_stale(verdict.revisions, current)


class DesignReviewSerializer(serializers.ModelSerializer):
    outcome = serializers.ChoiceField(
        choices=DesignReview.Outcome.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty until the review closes.",
    )
    invitees = ParticipantSerializer(many=True, read_only=True)
    verdicts = VerdictSerializer(many=True, read_only=True)
    reviewed_revisions = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Artifact kind → the revision under review, taken when the review opened.",
    )

    class Meta:
        model = DesignReview
        fields = [
            "id",
            "milestone",
            "round",
            "scheduled_for",
            "duration_minutes",
            "location",
            "status",
            "outcome",
            "reviewed_revisions",
            "verdicts_due",
            "invitees",
            "verdicts",
            "opened_at",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields


class DesignReviewDetailSerializer(DesignReviewSerializer):
    """One review, with who is still expected to give a current verdict (DESIGN §8)."""

    pending_reviewers = serializers.SerializerMethodField(
        help_text="Expected reviewers (the squad's engineers and the principal engineer) "
        "without a verdict on the current revisions; empty unless the review is open."
    )

    class Meta(DesignReviewSerializer.Meta):
        fields = [*DesignReviewSerializer.Meta.fields, "pending_reviewers"]
        read_only_fields = fields

    @extend_schema_field(ParticipantSerializer(many=True))
    def get_pending_reviewers(self, review: DesignReview) -> Any:
        people = pending_reviewers(review, verdicts=review.verdicts.all())
        return ParticipantSerializer(people, many=True).data


VERDICTS_DUE_HELP = "When verdicts are due; left out or null: one day after the review ends."


class ReviewScheduleSerializer(Input):
    scheduled_for = MeetingTimeField()
    duration_minutes = serializers.IntegerField(default=60, **MEETING_MINUTES)
    location = serializers.CharField(max_length=300, allow_blank=True, default="")
    verdicts_due = MeetingTimeField(required=False, allow_null=True, help_text=VERDICTS_DUE_HELP)


class ReviewChangeSerializer(Input):
    scheduled_for = MeetingTimeField(required=False)
    duration_minutes = serializers.IntegerField(required=False, **MEETING_MINUTES)
    location = serializers.CharField(max_length=300, allow_blank=True, required=False)
    verdicts_due = MeetingTimeField(required=False, allow_null=True, help_text=VERDICTS_DUE_HELP)


class ReviewCloseSerializer(Input):
    outcome = serializers.ChoiceField(choices=DesignReview.Outcome.choices)


class InviteeSerializer(Input):
    user = UserField(help_text="The guest's id or username.")


class VerdictInputSerializer(Input):
    verdict = serializers.ChoiceField(choices=Verdict.Choice.choices)
    note = serializers.CharField(allow_blank=True, default="")
    conditions = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        default=list,
        max_length=10,
        help_text="With approve_with_conditions (required then, 1 to 10): each becomes an "
        "unknown of the milestone, high priority, owned by the tech lead.",
    )


class AnchorSerializer(serializers.Serializer):
    block = serializers.IntegerField(
        help_text="The block's position (from 0) among the top-level blocks of `revision`."
    )
    quote = serializers.CharField(help_text="The words quoted from the block.")
    current_block = serializers.IntegerField(
        allow_null=True,
        help_text="Where the block is in the artifact's latest revision; null when outdated.",
    )


class CommentListSerializer(serializers.ListSerializer):
    """Where the comments of a page show now, worked out once for the page."""

    def to_representation(self, data):
        comments = list(data.all() if hasattr(data, "all") else data)
        if comments and "places" not in self.context:
            self.context["places"] = services.comment_places(self.context["milestone"], comments)
        return super().to_representation(comments)


class CommentSerializer(serializers.ModelSerializer):
    author = ParticipantSerializer(read_only=True, allow_null=True)
    anchor = serializers.SerializerMethodField()
    outdated = serializers.SerializerMethodField(
        help_text="It names a block whose text no later revision keeps."
    )
    overruled_by = ParticipantSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Comment
        list_serializer_class = CommentListSerializer
        fields = [
            "id",
            "review",
            "author",
            "artifact_kind",
            "parent",
            "body",
            "resolved",
            "revision",
            "anchor",
            "outdated",
            "blocking",
            "overruled_by",
            "overrule_note",
            "overruled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "revision": {"help_text": "The revision of its artifact it was written on."}
        }

    def _place(self, comment: Comment) -> int | None:
        places = self.context.setdefault("places", {})
        if comment.pk not in places:
            milestone = self.context.get("milestone") or comment.review.milestone
            places.update(services.comment_places(milestone, [comment]))
        return places.get(comment.pk)

    @extend_schema_field(AnchorSerializer(allow_null=True))
    def get_anchor(self, comment: Comment) -> dict[str, Any] | None:
        if comment.anchor_block is None:
            return None
        return {
            "block": comment.anchor_block,
            "quote": comment.anchor_quote,
            "current_block": self._place(comment),
        }

    def get_outdated(self, comment: Comment) -> bool:
        return comment.anchor_block is not None and self._place(comment) is None


class AnchorInputSerializer(Input):
    block = serializers.IntegerField(
        min_value=0,
        max_value=100_000,
        help_text="The block's position (from 0) among the top-level blocks of `revision`.",
    )
    quote = serializers.CharField(
        max_length=200,
        allow_blank=True,
        default="",
        help_text="Words quoted from the block; the block's opening words if left out.",
    )


class CommentInputSerializer(Input):
    body = serializers.CharField()
    artifact_kind = InlineChoiceField(
        choices=[("", "General"), *ArtifactKind.choices], default="", allow_blank=True
    )
    # DRF's metaclass takes declared fields off the class; drf-stubs see Field.parent here.
    parent = serializers.IntegerField(  # type: ignore[assignment]
        required=False, allow_null=True, min_value=1, max_value=LARGEST_ID
    )
    revision = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2**31 - 1,
        help_text="The revision of the artifact the comment is on; its latest if left out.",
    )
    anchor = AnchorInputSerializer(
        required=False, allow_null=True, help_text="The block of that revision it is on."
    )

    blocking = serializers.BooleanField(
        default=False,
        help_text="Holds close-as-approved until its author resolves it; counted reviewers only.",
    )


class DismissSerializer(Input):
    note = serializers.CharField(help_text="Why the stale request for changes no longer holds.")


class CommentChangeSerializer(Input):
    body = serializers.CharField(required=False, help_text="Its author only.")
    resolved = serializers.BooleanField(
        required=False,
        help_text="Its author or the tech lead; a blocking comment its author only.",
    )
    blocking = serializers.BooleanField(
        required=False,
        help_text="true: its author, a counted reviewer, makes it blocking (a blocking comment "
        "is settled by resolving it, not by unmarking it).",
    )

    def validate_blocking(self, value):
        if not value:
            raise serializers.ValidationError(
                "A blocking comment is not unmarked: its author resolves it."
            )
        return value

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Send body, resolved, blocking, or several.")
        return data


class CommentOverruleSerializer(Input):
    note = serializers.CharField(help_text="Why the review may close approved despite it.")


class CommentsSinceSerializer(Input):
    since = serializers.DateTimeField(required=False)


# Kick-off -------------------------------------------------------------------


class KickoffSerializer(serializers.ModelSerializer):
    class Meta:
        model = KickoffMeeting
        fields = ["milestone", "scheduled_for", "duration_minutes", "location", "notes", "held_at"]
        read_only_fields = fields


class KickoffInputSerializer(Input):
    scheduled_for = MeetingTimeField(allow_null=True)
    duration_minutes = serializers.IntegerField(default=45, **MEETING_MINUTES)
    location = serializers.CharField(max_length=300, allow_blank=True, default="")
    notes = serializers.CharField(allow_blank=True, default="")


class ConcernSerializer(serializers.ModelSerializer):
    raised_by = ParticipantSerializer(read_only=True, allow_null=True)
    answered_by = ParticipantSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Concern
        fields = [
            "id",
            "milestone",
            "kind",
            "text",
            "raised_by",
            "status",
            "answer",
            "answered_by",
            "created_at",
            "answered_at",
        ]
        read_only_fields = fields


class ConcernInputSerializer(Input):
    kind = InlineChoiceField(choices=Concern.Kind.choices)
    text = serializers.CharField()


class ConcernAnswerSerializer(Input):
    answer = serializers.CharField()
    status = InlineChoiceField(
        choices=[(Concern.Status.ANSWERED, "Answered")],
        required=False,
        help_text="Answering sets it; a concern is not reopened.",
    )


# Task breakout ----------------------------------------------------------------


class SubtaskSerializer(serializers.ModelSerializer):
    assignee = ParticipantSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Subtask
        fields = ["id", "story", "title", "assignee", "done", "created_at"]
        read_only_fields = fields


class StorySerializer(serializers.ModelSerializer):
    ticket_url = serializers.CharField(read_only=True, help_text="A link, or empty.")
    assignee = ParticipantSerializer(read_only=True, allow_null=True)
    subtasks = SubtaskSerializer(many=True, read_only=True)

    class Meta:
        model = Story
        fields = [
            "id",
            "milestone",
            "key",
            "title",
            "description",
            "assignee",
            "status",
            "ticket_url",
            "subtasks",
            "created_at",
        ]
        read_only_fields = fields


class StoryInputSerializer(Input):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="")
    ticket_url = serializers.URLField(max_length=500, allow_blank=True, default="")


class StoryChangeSerializer(Input):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    ticket_url = serializers.URLField(max_length=500, allow_blank=True, required=False)
    status = InlineChoiceField(choices=Story.Status.choices, required=False)
    assignee = UserField(required=False, allow_null=True)


class StoryClaimSerializer(Input):
    # Whom the caller takes the story from, knowingly; without it a teammate's story stays theirs.
    take_over_from = UserField(required=False, allow_null=True, default=None)


class SubtaskInputSerializer(Input):
    title = serializers.CharField(max_length=200)
    assignee = UserField(required=False, allow_null=True, default=None)


class SubtaskChangeSerializer(Input):
    title = serializers.CharField(max_length=200, required=False)
    assignee = UserField(required=False, allow_null=True)
    done = serializers.BooleanField(required=False)


class BreakoutSerializer(serializers.ModelSerializer):
    attendees = ParticipantSerializer(many=True, read_only=True)
    breakout_mode = serializers.CharField(
        source="milestone.project.squad.breakout_mode", read_only=True
    )

    class Meta:
        model = BreakoutSession
        fields = [
            "milestone",
            "breakout_mode",
            "scheduled_for",
            "duration_minutes",
            "location",
            "attendees",
            "held_at",
        ]
        read_only_fields = fields


class BreakoutInputSerializer(Input):
    scheduled_for = MeetingTimeField()
    duration_minutes = serializers.IntegerField(default=60, **MEETING_MINUTES)
    location = serializers.CharField(max_length=300, allow_blank=True, default="")
    attendees = serializers.ListField(
        child=UserField(),
        required=False,
        max_length=500,
        help_text="User ids; left out: the squad's product and engineers.",
    )
