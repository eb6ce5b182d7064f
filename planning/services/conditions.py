"""Approval with conditions (DESIGN §8): each condition becomes an unknown of the milestone.

The unknown is `high`, owned by the milestone's tech lead and linked to the
verdict, so the workflow's guards (every unknown settled before `done`) hold
the milestone until each condition is met, deferred with approval, or resolved.

A verdict replaced later keeps the conditions it made: they are unknowns with
their own history (owner, comments, resolution), and the squad settles them as
any other. Giving the same condition again does not make a second unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Max

from config.inputs import text_problem
from notifications.models import Notification
from notifications.services import notify
from planning.models import DesignReview, Unknown, Verdict
from planning.services.activity import record_review_change

if TYPE_CHECKING:
    from accounts.models import User

MAX_CONDITIONS = 10
TITLE_LENGTH: int = Unknown._meta.get_field("title").max_length or 200


def clean_conditions(verdict: str, conditions: list[str] | None) -> list[str]:
    """The conditions as they will be titled: required with, and only with, an approval with conditions."""
    titles = [" ".join(str(c).split()) for c in conditions or []]
    if verdict != Verdict.Choice.APPROVE_WITH_CONDITIONS:
        if any(titles):
            raise ValidationError(
                {"conditions": "Conditions go with the verdict “Approve with conditions”."}
            )
        return []
    titles = [t for t in titles if t]
    if not titles:
        raise ValidationError({"conditions": "Name at least one condition, one per line."})
    if len(titles) > MAX_CONDITIONS:
        raise ValidationError(
            {"conditions": f"At most {MAX_CONDITIONS} conditions; {len(titles)} were given."}
        )
    for title in titles:
        problem = text_problem(title)
        if problem:
            raise ValidationError({"conditions": problem})
        if len(title) > TITLE_LENGTH:
            raise ValidationError(
                {
                    "conditions": f"Keep each condition within {TITLE_LENGTH} characters "
                    f"(one has {len(title)})."
                }
            )
    # The same condition twice is one condition.
    return list(dict.fromkeys(titles))


def add_conditions(
    actor: User, review: DesignReview, verdict: Verdict, titles: list[str]
) -> list[Unknown]:
    """Make each new condition an unknown of the milestone; the caller holds the milestone's lock.

    A condition this verdict already made (the same title) is not made twice.
    """
    milestone = review.milestone
    known = set(verdict.conditions.values_list("title", flat=True))
    titles = [t for t in titles if t not in known]
    if not titles:
        return []
    last = milestone.unknowns.aggregate(last=Max("number"))["last"] or 0
    detail = f"A condition of {actor.display_name}'s approval in design review {review.round}" + (
        f": {verdict.note}" if verdict.note else "."
    )
    made = []
    for offset, title in enumerate(titles, start=1):
        unknown = Unknown.objects.create(
            milestone=milestone,
            number=last + offset,
            title=title,
            detail=detail,
            priority=Unknown.Priority.HIGH,
            owner=milestone.tech_lead,
            from_verdict=verdict,
            created_by=actor,
        )
        record_review_change(
            review,
            actor,
            "condition_added",
            f"{actor.display_name} approved design review {review.round} on condition: "
            f"{unknown.key} “{title}”.",
            "review.condition_added",
            unknown=unknown.pk,
            key=unknown.key,
            title=title,
            reviewer=actor.display_name,
            verdict=verdict.pk,
        )
        made.append(unknown)
    if milestone.tech_lead_id != actor.pk:
        notify(
            milestone.tech_lead,
            Notification.Kind.UNKNOWN_ASSIGNED,
            f"{actor.display_name} approved design review {review.round} with conditions, "
            "now unknowns you own: " + "; ".join(f"{u.key} “{u.title}”" for u in made) + ".",
            made[0].get_absolute_url() if len(made) == 1 else milestone.get_absolute_url(),
        )
    return made
