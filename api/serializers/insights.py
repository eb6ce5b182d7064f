"""Shapes of a squad's insights in the API: the query it takes and the figures it answers.

`insights_data` lays the figures out as the page shows them (the same rounding
of days, the same tables behind them); the serializers describe that shape
for the OpenAPI schema and write it out.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from api.serializers.base import TextRuleMixin
from planning.insights import THRESHOLDS, Insights
from planning.insights.figures import TIMED_PHASES, Figures, days
from planning.insights.history import REMINDER_RULES, MilestoneRow
from planning.insights.period import Window, period_between
from planning.insights.tables import TABLE_NAMES
from planning.workflow import PHASES
from squads.access import LARGEST_ID


class InsightsQuerySerializer(TextRuleMixin, serializers.Serializer):
    since = serializers.DateField(required=False, help_text="First day; default: 90 days ago.")
    until = serializers.DateField(required=False, help_text="Last day; default: today.")
    project = serializers.IntegerField(
        required=False, min_value=1, max_value=LARGEST_ID, help_text="Only this project (its id)."
    )
    table = serializers.ChoiceField(
        choices=TABLE_NAMES, required=False, help_text="With CSV: only this table."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["period"] = period_between(attrs.get("since"), attrs.get("until"))
        return attrs


def _per_phase(
    name: str, phases: list[str], field: type[serializers.Field], **options: Any
) -> type:
    """A serializer with one field per phase, so that the schema names every phase."""
    return type(
        name,
        (serializers.Serializer,),
        {phase: field(**options) for phase in phases},
    )


InsightDaysPerPhaseSerializer = _per_phase(
    "InsightDaysPerPhaseSerializer", TIMED_PHASES, serializers.FloatField, allow_null=True
)
InsightCountPerPhaseSerializer = _per_phase(
    "InsightCountPerPhaseSerializer", PHASES, serializers.IntegerField
)
InsightCountPerRuleSerializer = type(
    "InsightCountPerRuleSerializer",
    (serializers.Serializer,),
    {rule: serializers.IntegerField() for rule in REMINDER_RULES},
)


class InsightMilestoneRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    number = serializers.IntegerField()
    title = serializers.CharField()
    # A Serializer takes its fields out of the class, so `label` does not shadow Field.label.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="Project name and milestone number, e.g. “Card Vault M3”."
    )
    url = serializers.CharField(help_text="The milestone's page.")


class InsightWindowSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    days = serializers.IntegerField()


class InsightPhaseTimesSerializer(serializers.Serializer):
    milestone = InsightMilestoneRefSerializer()
    days = InsightDaysPerPhaseSerializer(
        help_text="Days in each phase within the period (null: none)."
    )
    total_days = serializers.FloatField()


class InsightLeadTimeSerializer(serializers.Serializer):
    milestone = InsightMilestoneRefSerializer()
    done_on = serializers.DateField()
    days = serializers.FloatField()


class InsightLeadTimesSerializer(serializers.Serializer):
    median_days = serializers.FloatField(allow_null=True)
    milestones = InsightLeadTimeSerializer(many=True)


class InsightReviewRoundsSerializer(serializers.Serializer):
    milestone = InsightMilestoneRefSerializer()
    rounds = serializers.IntegerField()
    approved = serializers.IntegerField()
    changes_requested = serializers.IntegerField()


class InsightReviewsSerializer(serializers.Serializer):
    rounds = serializers.IntegerField()
    approved = serializers.IntegerField()
    changes_requested = serializers.IntegerField()
    milestones = InsightReviewRoundsSerializer(many=True)


class InsightMoveBackSerializer(serializers.Serializer):
    # Phases as the milestones' `phase` names them (one enum in the schema is enough).
    from_phase = serializers.CharField()
    to_phase = serializers.CharField()
    count = serializers.IntegerField()
    milestones = InsightMilestoneRefSerializer(many=True)


class InsightUnknownsSerializer(serializers.Serializer):
    raised = serializers.IntegerField()
    late = serializers.IntegerField(help_text="Raised after the design review.")
    by_phase = InsightCountPerPhaseSerializer(
        help_text="Raised, by the milestone's phase at the time."
    )
    resolved = serializers.IntegerField()
    median_days_to_resolve = serializers.FloatField(allow_null=True)
    deferrals_approved = serializers.IntegerField()
    deferrals_rejected = serializers.IntegerField()


class InsightRemindersSerializer(serializers.Serializer):
    by_rule = InsightCountPerRuleSerializer()
    total = serializers.IntegerField()
    escalations = serializers.IntegerField()


class InsightBreakoutSerializer(serializers.Serializer):
    mode = serializers.CharField()
    milestones = serializers.IntegerField(help_text="Milestones that reached done.")
    stories = serializers.IntegerField()
    subtasks = serializers.IntegerField()
    subtasks_per_story = serializers.FloatField(allow_null=True)
    stories_without_subtasks = serializers.IntegerField()


class InsightFiguresSerializer(serializers.Serializer):
    window = InsightWindowSerializer()
    milestones = serializers.IntegerField(help_text="Milestones in progress or done.")
    time_in_phase = InsightPhaseTimesSerializer(many=True)
    median_days_in_phase = InsightDaysPerPhaseSerializer()
    lead_time = InsightLeadTimesSerializer()
    reviews = InsightReviewsSerializer()
    move_backs = InsightMoveBackSerializer(many=True)
    unknowns = InsightUnknownsSerializer()
    reminders = InsightRemindersSerializer()
    breakout = InsightBreakoutSerializer(many=True)


class InsightSignalSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()
    milestones = InsightMilestoneRefSerializer(many=True)


class InsightThresholdSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.FloatField()
    meaning = serializers.CharField()


class InsightsSerializer(serializers.Serializer):
    squad = serializers.CharField()
    project = serializers.IntegerField(allow_null=True)
    current = InsightFiguresSerializer(help_text="The period asked for.")
    previous = InsightFiguresSerializer(help_text="The period of the same length just before it.")
    signals = InsightSignalSerializer(many=True)
    thresholds = InsightThresholdSerializer(many=True)


def _milestone(milestone: MilestoneRow) -> dict[str, Any]:
    return {
        "id": milestone.id,
        "project": milestone.project_id,
        "number": milestone.number,
        "title": milestone.title,
        "label": milestone.label,
        "url": milestone.url,
    }


def _window(window: Window) -> dict[str, Any]:
    return {"since": window.since, "until": window.until, "days": window.days}


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "window": _window(f.window),
        "milestones": len(f.phase_times),
        "time_in_phase": [
            {
                "milestone": _milestone(t.milestone),
                "days": {phase: days(t.seconds.get(phase)) for phase in TIMED_PHASES},
                "total_days": days(t.total),
            }
            for t in f.phase_times
        ],
        "median_days_in_phase": {p: days(s) for p, s in f.median_seconds.items()},
        "lead_time": {
            "median_days": days(f.median_lead_seconds),
            "milestones": [
                {
                    "milestone": _milestone(lead.milestone),
                    "done_on": lead.done_at.date(),
                    "days": days(lead.seconds),
                }
                for lead in f.lead_times
            ],
        },
        "reviews": {
            "rounds": f.review_rounds,
            "approved": f.reviews_approved,
            "changes_requested": f.reviews_changes_requested,
            "milestones": [
                {
                    "milestone": _milestone(r.milestone),
                    "rounds": r.rounds,
                    "approved": r.approved,
                    "changes_requested": r.changes_requested,
                }
                for r in f.reviews
            ],
        },
        "move_backs": [
            {
                "from_phase": b.from_phase,
                "to_phase": b.to_phase,
                "count": b.count,
                "milestones": [_milestone(m) for m in b.milestones],
            }
            for b in f.move_backs
        ],
        "unknowns": {
            "raised": f.unknowns_total,
            "late": f.late_total,
            "by_phase": {p: f.unknowns_raised.get(p, 0) for p in PHASES},
            "resolved": len(f.resolution_seconds),
            "median_days_to_resolve": days(f.median_resolution_seconds),
            "deferrals_approved": f.deferrals["approved"],
            "deferrals_rejected": f.deferrals["rejected"],
        },
        "reminders": {
            "by_rule": dict(f.reminders),
            "total": f.reminders_total,
            "escalations": f.escalations,
        },
        "breakout": [
            {
                "mode": b.mode,
                "milestones": len(b.milestones),
                "stories": b.stories,
                "subtasks": b.subtasks,
                "subtasks_per_story": b.subtasks_per_story,
                "stories_without_subtasks": b.without_subtasks,
            }
            for b in f.breakout
        ],
    }


def insights_data(insights: Insights, squad: str, project: int | None) -> dict[str, Any]:
    return {
        "squad": squad,
        "project": project,
        "current": _figures(insights.current),
        "previous": _figures(insights.previous),
        "signals": [
            {
                "code": signal.code,
                "text": signal.text,
                "milestones": [_milestone(m) for m in signal.milestones],
            }
            for signal in insights.signals
        ],
        "thresholds": [
            {"name": name, "value": threshold.value, "meaning": threshold.meaning}
            for name, threshold in THRESHOLDS.items()
        ],
    }
