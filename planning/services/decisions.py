"""A milestone's decision log (DESIGN §8), read from its Activity rows, oldest first.

The decisions are the rows of these kinds; each row's data carries what the
log shows besides its summary: the note or reason in full, and for a review's
close the counted verdicts it closed with. The milestone page, the API and the
design packet all read `decision_log` and `as_decision`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from planning.models import Activity, Milestone

# Activity verb → what kind of decision it is, as the log names it.
DECISION_KINDS: dict[str, str] = {
    "artifact_need_decided": "On-need artifact",
    "deferral_approved": "Deferral approved",
    "deferral_rejected": "Deferral rejected",
    "review_closed": "Review outcome",
    "comment_blocking": "Blocking comment",
    "blocking_resolved": "Blocking comment resolved",
    "blocking_reopened": "Blocking comment reopened",
    "comment_overruled": "Blocking comment overruled",
    "condition_added": "Condition of an approval",
    "verdict_dismissed": "Verdict dismissed",
    "phase_moved_back": "Moved back",
}

VERDICT_LABELS = {
    "approve": "approved",
    "approve_with_conditions": "approved with conditions",
    "changes_requested": "asked for changes",
    "comment": "commented",
}


@dataclass(frozen=True)
class Decision:
    id: int
    kind: str
    label: str
    at: datetime
    summary: str
    # The note or reason in full when the summary (cut to fit its column) does not hold it.
    note: str = ""
    verdicts: list[dict[str, Any]] = field(default_factory=list)


def decision_log(milestone: Milestone) -> QuerySet[Activity]:
    """The milestone's decisions, oldest first (their summaries name who decided)."""
    return milestone.activities.filter(verb__in=DECISION_KINDS).order_by("created_at", "id")


def as_decision(row: Activity) -> Decision:
    data = row.data or {}
    note = str(data.get("note") or data.get("reason") or "")
    verdicts = [
        {**v, "label": VERDICT_LABELS.get(v.get("verdict", ""), v.get("verdict", ""))}
        for v in data.get("verdicts", [])
        if isinstance(v, dict)
    ]
    return Decision(
        id=row.pk,
        kind=row.verb,
        label=DECISION_KINDS.get(row.verb, row.verb),
        at=row.created_at,
        summary=row.summary,
        note="" if note in row.summary else note,
        verdicts=verdicts,
    )


def decisions(milestone: Milestone) -> list[Decision]:
    return [as_decision(row) for row in decision_log(milestone)]
