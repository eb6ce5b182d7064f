"""Shapes of design reviews, the kick-off and the task breakout: translation only, no rules.

Input serializers check types, lengths and choices; the services decide what is allowed.
"""

from __future__ import annotations

from typing import TypedDict

from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.base import Input
from config.inputs import LARGEST_ID, parse_id
from planning.models import (
    BreakoutSession,
    Comment,
    Concern,
    DesignReview,
    KickoffMeeting,
    Story,
    Subtask,
    Verdict,
)
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


class VerdictSerializer(serializers.ModelSerializer):
    reviewer = ParticipantSerializer(read_only=True)

    class Meta:
        model = Verdict
        fields = ["id", "reviewer", "verdict", "note", "counted", "updated_at"]
        read_only_fields = fields


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
            "invitees",
            "verdicts",
            "opened_at",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields


class ReviewScheduleSerializer(Input):
    scheduled_for = MeetingTimeField()
    duration_minutes = serializers.IntegerField(default=60, **MEETING_MINUTES)
    location = serializers.CharField(max_length=300, allow_blank=True, default="")


class ReviewChangeSerializer(Input):
    scheduled_for = MeetingTimeField(required=False)
    duration_minutes = serializers.IntegerField(required=False, **MEETING_MINUTES)
    location = serializers.CharField(max_length=300, allow_blank=True, required=False)


class ReviewCloseSerializer(Input):
    outcome = serializers.ChoiceField(choices=DesignReview.Outcome.choices)


class InviteeSerializer(Input):
    user = UserField(help_text="The guest's id or username.")


class VerdictInputSerializer(Input):
    verdict = serializers.ChoiceField(choices=Verdict.Choice.choices)
    note = serializers.CharField(allow_blank=True, default="")


class CommentSerializer(serializers.ModelSerializer):
    author = ParticipantSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Comment
        fields = [
            "id",
            "review",
            "author",
            "artifact_kind",
            "parent",
            "body",
            "resolved",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CommentInputSerializer(Input):
    body = serializers.CharField()
    artifact_kind = InlineChoiceField(
        choices=[("", "General"), *ArtifactKind.choices], default="", allow_blank=True
    )
    # DRF's metaclass takes declared fields off the class; drf-stubs see Field.parent here.
    parent = serializers.IntegerField(  # type: ignore[assignment]
        required=False, allow_null=True, min_value=1, max_value=LARGEST_ID
    )


class CommentChangeSerializer(Input):
    body = serializers.CharField(required=False, help_text="Its author only.")
    resolved = serializers.BooleanField(required=False)

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Send body, resolved or both.")
        return data


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
