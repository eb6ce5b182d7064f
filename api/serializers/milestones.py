"""Shapes of milestones, their artifacts, activity, unknowns and deferrals in the API.

They translate only: types, choices and references in, representations out.
Every rule (who may, which move, what a status allows) is in planning.services,
planning.workflow and squads.access.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from api.serializers.base import Input, RowIdField
from planning.models import (
    Activity,
    Artifact,
    ArtifactRevision,
    DeferralRequest,
    Milestone,
    Unknown,
)
from planning.services.artifacts import artifact_template
from planning.services.decisions import DECISION_KINDS, as_decision
from planning.workflow import ArtifactStatus, Phase, VerdictChoice

User = get_user_model()


class UnmetSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, e.g. `artifact_not_ready:design_spec`.")
    message = serializers.CharField()


# Milestones -----------------------------------------------------------------------


class ReadinessSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=Phase.choices)
    next_phase = serializers.CharField(
        allow_null=True, help_text="The phase after `phase`; null once done."
    )
    can_advance = serializers.BooleanField()
    unmet = UnmetSerializer(many=True)


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = [
            "id",
            "project",
            "number",
            "title",
            "goal",
            "due_on",
            "tech_lead",
            "phase",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MilestoneDetailSerializer(MilestoneSerializer):
    """One milestone with its readiness (set by the view from planning.services.readiness)."""

    readiness = ReadinessSerializer(read_only=True)

    class Meta(MilestoneSerializer.Meta):
        fields = [*MilestoneSerializer.Meta.fields, "readiness"]
        read_only_fields = fields


class MilestoneCreateSerializer(Input):
    project = serializers.IntegerField(min_value=1, help_text="The project's id.")
    title = serializers.CharField(max_length=200)
    goal = serializers.CharField(required=False, allow_blank=True, default="")
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    tech_lead = RowIdField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="A squad member's id; the project's tech lead when left out.",
    )


class MilestoneUpdateSerializer(Input):
    title = serializers.CharField(max_length=200, required=False)
    goal = serializers.CharField(required=False, allow_blank=True)
    due_on = serializers.DateField(required=False, allow_null=True)
    tech_lead = RowIdField(queryset=User.objects.all(), required=False)


class TransitionSerializer(Input):
    to = serializers.CharField(max_length=40, help_text="The next phase, or an earlier one.")
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Why; required when moving back.",
    )


# Artifacts -------------------------------------------------------------------------


class ArtifactSerializer(serializers.ModelSerializer):
    # A plain string here: the kinds are named once, by the path parameter `kind`.
    kind = serializers.CharField(read_only=True, help_text="One of the seven artifact kinds.")
    title = serializers.CharField(source="get_kind_display", read_only=True)
    on_need = serializers.BooleanField(
        source="is_on_need", read_only=True, help_text="Needed only when decided so."
    )
    template = serializers.SerializerMethodField(
        help_text="The text the editor starts from while the body is empty."
    )

    class Meta:
        model = Artifact
        fields = [
            "kind",
            "title",
            "status",
            "body",
            "template",
            "revision",
            "on_need",
            "needed",
            "not_needed_reason",
            "updated_by",
            "updated_at",
        ]
        read_only_fields = fields

    def get_template(self, artifact: Artifact) -> str:
        return artifact_template(artifact.kind)


class ArtifactUpdateSerializer(Input):
    body = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text='Markdown. Needs the header `If-Match: "<revision>"`.',
    )
    status = serializers.ChoiceField(
        choices=[ArtifactStatus.READY, ArtifactStatus.DRAFT], required=False
    )
    needed = serializers.BooleanField(required=False)
    not_needed_reason = serializers.CharField(required=False, allow_blank=True)

    def validate(self, data):
        if "not_needed_reason" in data and "needed" not in data:
            raise serializers.ValidationError(
                {"needed": ["Give `needed` together with `not_needed_reason`."]}
            )
        return data


class ArtifactRevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArtifactRevision
        fields = ["number", "author", "created_at", "body"]
        read_only_fields = fields


# Timeline ----------------------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = ["id", "verb", "summary", "actor", "data", "created_at"]
        read_only_fields = fields


class DecisionVerdictSerializer(serializers.Serializer):
    reviewer = serializers.CharField(help_text="Their name when the review closed.")
    verdict = serializers.ChoiceField(choices=VerdictChoice.choices)
    # DRF's metaclass takes declared fields off the class; drf-stubs see Field.label here.
    label = serializers.CharField()  # type: ignore[assignment]
    note = serializers.CharField(allow_blank=True)
    stale = serializers.BooleanField(help_text="Given on an earlier revision than the close's.")
    dismissed = serializers.BooleanField()


class DecisionSerializer(serializers.Serializer):
    """One entry of the decision log (DESIGN §8): an Activity row of a deciding kind."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(
        choices=list(DECISION_KINDS.items()), read_only=True, help_text="The Activity verb."
    )
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    created_at = serializers.DateTimeField(read_only=True)
    actor = serializers.IntegerField(read_only=True, allow_null=True)
    summary = serializers.CharField(read_only=True)
    note = serializers.CharField(
        read_only=True,
        allow_blank=True,
        help_text="The note or reason in full, when the summary does not hold it.",
    )
    verdicts = DecisionVerdictSerializer(
        many=True,
        read_only=True,
        help_text="A review outcome: the counted verdicts it closed with.",
    )
    # DRF's metaclass takes declared fields off the class; drf-stubs see Serializer.data here.
    data = serializers.DictField(read_only=True)  # type: ignore[assignment]

    def to_representation(self, row: Activity) -> dict:
        decision = as_decision(row)
        return {
            "id": decision.id,
            "kind": decision.kind,
            "label": decision.label,
            "created_at": serializers.DateTimeField().to_representation(decision.at),
            "actor": row.actor_id,
            "summary": decision.summary,
            "note": decision.note,
            "verdicts": [
                {
                    "reviewer": v.get("reviewer", ""),
                    "verdict": v.get("verdict", ""),
                    "label": v["label"],
                    "note": v.get("note", ""),
                    "stale": bool(v.get("stale")),
                    "dismissed": bool(v.get("dismissed")),
                }
                for v in decision.verdicts
            ],
            "data": row.data,
        }


# Unknowns ------------------------------------------------------------------------------


class UnknownSerializer(serializers.ModelSerializer):
    # A string, not a URI: an unknown without a ticket has "".
    ticket_url = serializers.CharField(read_only=True, help_text="A link, or empty.")
    key = serializers.CharField(read_only=True, help_text="`U-n`, numbered per milestone.")
    deferral_pending = serializers.BooleanField(
        read_only=True, help_text="A deferral request waits for the principal engineer."
    )

    class Meta:
        model = Unknown
        fields = [
            "id",
            "key",
            "milestone",
            "title",
            "detail",
            "priority",
            "owner",
            "status",
            "vendor",
            "vendor_contacted_on",
            "due_on",
            "ticket_url",
            "resolution",
            "deferral_pending",
            "from_verdict",
            "created_by",
            "created_at",
            "last_activity_at",
        ]
        read_only_fields = fields

    def to_representation(self, unknown: Unknown | dict) -> dict:
        """The same fields as the generic path gives, built at once rather than field by
        field: a list page holds up to 200 unknowns (tests keep the two equal).

        Takes an Unknown (annotated with `deferral_pending`) or, from the list, a
        row of `.values()`, which spares building 200 model instances.
        """
        row = unknown if isinstance(unknown, dict) else vars(unknown)
        return {
            "id": row["id"],
            "key": f"U-{row['number']}",
            "milestone": row["milestone_id"],
            "title": row["title"],
            "detail": row["detail"],
            "priority": row["priority"],
            "owner": row["owner_id"],
            "status": row["status"],
            "vendor": row["vendor"],
            "vendor_contacted_on": _iso_date(row["vendor_contacted_on"]),
            "due_on": _iso_date(row["due_on"]),
            "ticket_url": row["ticket_url"],
            "resolution": row["resolution"],
            "deferral_pending": bool(row["deferral_pending"]),
            "from_verdict": row["from_verdict_id"],
            "created_by": row["created_by_id"],
            "created_at": self._datetime(row["created_at"]),
            "last_activity_at": self._datetime(row["last_activity_at"]),
        }

    def _datetime(self, value) -> str:
        """As DRF's DateTimeField writes it: in the current time zone, UTC as "Z"."""
        if "_zone" not in self.__dict__:  # once per serializer: looking it up is slow
            self._zone = timezone.get_current_timezone()
        text = value.astimezone(self._zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


def _iso_date(value) -> str | None:
    return value.isoformat() if value is not None else None


def _owner_field(**options) -> RowIdField:
    return RowIdField(
        queryset=User.objects.all(),
        allow_null=True,
        help_text="A squad member's id, or null for no owner.",
        **options,
    )


class UnknownCreateSerializer(Input):
    title = serializers.CharField(max_length=200)
    detail = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Unknown.Priority.choices)
    owner = _owner_field(required=False, default=None)
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    vendor = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    ticket_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


@extend_schema_serializer(component_name="Unknown")  # one name for the status enum: Unknown's
class UnknownUpdateSerializer(Input):
    title = serializers.CharField(max_length=200, required=False)
    detail = serializers.CharField(required=False, allow_blank=True)
    priority = serializers.ChoiceField(choices=Unknown.Priority.choices, required=False)
    owner = _owner_field(required=False)
    status = serializers.ChoiceField(
        choices=Unknown.Status.choices,
        required=False,
        help_text="Resolved and deferred are set by the resolve and deferral actions.",
    )
    vendor = serializers.CharField(max_length=120, required=False, allow_blank=True)
    vendor_contacted_on = serializers.DateField(required=False, allow_null=True)
    due_on = serializers.DateField(required=False, allow_null=True)
    ticket_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class ResolveSerializer(Input):
    resolution = serializers.CharField(help_text="How it was resolved.")


# Deferrals ------------------------------------------------------------------------------


class DeferralSerializer(serializers.ModelSerializer):
    unknown_key = serializers.CharField(source="unknown.key", read_only=True)
    milestone = serializers.IntegerField(source="unknown.milestone_id", read_only=True)

    class Meta:
        model = DeferralRequest
        fields = [
            "id",
            "unknown",
            "unknown_key",
            "milestone",
            "status",
            "reason",
            "defer_until",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class DeferralCreateSerializer(Input):
    reason = serializers.CharField(help_text="Why it can wait.")
    defer_until = serializers.CharField(
        max_length=120, help_text="A date or a later milestone, e.g. `M4` or `2027-03-01`."
    )


class DeferralDecisionSerializer(Input):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required to reject."
    )
