"""Who is still expected to give a verdict (DESIGN §8), for the page, the API and the reminder.

Expected reviewers are the squad's engineers and the project's principal
engineer (others may give counted verdicts, but are not chased); the
milestone's tech lead runs the review and is not among them. One of them is
still expected until they have a current verdict: one given on the revisions
the artifacts have now. The answer for many reviews takes four queries
however many there are, so the reminder sweep asks it once for all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import F, Q

from planning import workflow
from planning.models import Artifact, DesignReview, Verdict
from squads.models import Membership

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class ReviewParties:
    """What deciding who is expected needs to know of one review."""

    review_id: int
    milestone_id: int
    squad_id: int
    principal_id: int | None
    tech_lead_id: int


def pending_reviewer_ids(reviews: Iterable[ReviewParties]) -> dict[int, list[int]]:
    """Review id → the ids of its expected reviewers still without a current verdict."""
    reviews = list(reviews)
    if not reviews:
        return {}
    engineers: dict[int, list[int]] = defaultdict(list)
    for squad_id, user_id in (
        Membership.objects.filter(
            squad_id__in={r.squad_id for r in reviews},
            role=Membership.Role.ENGINEER,
            user__is_active=True,
        )
        .order_by("user__username")
        .values_list("squad_id", "user_id")
    ):
        engineers[squad_id].append(user_id)
    pinned: dict[int, dict[int, dict[str, int]]] = defaultdict(dict)
    for review_id, reviewer_id, revisions in Verdict.objects.filter(
        review_id__in=[r.review_id for r in reviews]
    ).values_list("review_id", "reviewer_id", "revisions"):
        pinned[review_id][reviewer_id] = revisions
    current: dict[int, dict[str, int]] = defaultdict(dict)
    for milestone_id, kind, revision in Artifact.objects.filter(
        milestone_id__in={r.milestone_id for r in reviews}
    ).values_list("milestone_id", "kind", "revision"):
        current[milestone_id][kind] = revision
    return {
        review.review_id: workflow.still_expected(
            _expected(engineers[review.squad_id], review.principal_id, review.tech_lead_id),
            pinned[review.review_id],
            current[review.milestone_id],
        )
        for review in reviews
    }


def _expected(engineer_ids: list[int], principal_id: int | None, tech_lead_id: int) -> list[int]:
    """The squad's engineers, then the principal engineer; never the tech lead who runs it."""
    expected = [*engineer_ids]
    if principal_id is not None and principal_id not in expected:
        expected.append(principal_id)
    return [pk for pk in expected if pk != tech_lead_id]


def pending_reviewers(
    review: DesignReview,
    *,
    verdicts: Iterable[Verdict] | None = None,
    current: dict[str, int] | None = None,
) -> list[User]:
    """The expected reviewers of this review still without a current verdict.

    Nobody is expected of a review that is not open: verdicts are given while
    it is. A page that has loaded the verdicts and the artifacts' revisions
    passes them in; then one query finds the engineers.
    """
    if review.status != DesignReview.Status.OPEN:
        return []
    milestone = review.milestone
    project = milestone.project
    people = {
        m.user_id: m.user
        for m in Membership.objects.filter(
            squad_id=project.squad_id, role=Membership.Role.ENGINEER, user__is_active=True
        )
        .select_related("user")
        .order_by("user__username")
    }
    principal = project.principal_engineer
    if principal is not None:
        people.setdefault(principal.pk, principal)
    if verdicts is None:
        verdicts = review.verdicts.only("reviewer_id", "revisions")
    if current is None:
        current = dict(milestone.artifacts.values_list("kind", "revision"))
    ids = workflow.still_expected(
        _expected(list(people), project.principal_engineer_id, milestone.tech_lead_id),
        {v.reviewer_id: v.revisions for v in verdicts},
        current,
    )
    return [people[pk] for pk in ids]


def reviews_awaiting_verdict(user: User) -> list[DesignReview]:
    """The open reviews that expect a current verdict from `user`, the earliest due first."""
    if not user.is_authenticated:
        return []
    engineer_of = Membership.objects.filter(user=user, role=Membership.Role.ENGINEER).values(
        "squad_id"
    )
    reviews = list(
        DesignReview.objects.filter(status=DesignReview.Status.OPEN)
        .filter(
            Q(milestone__project__squad_id__in=engineer_of)
            | Q(milestone__project__principal_engineer=user)
        )
        .exclude(milestone__tech_lead=user)
        .select_related("milestone__project__squad")
        .order_by(F("verdicts_due").asc(nulls_last=True), "pk")[:20]
    )
    pending = pending_reviewer_ids(
        ReviewParties(
            r.pk,
            r.milestone_id,
            r.milestone.project.squad_id,
            r.milestone.project.principal_engineer_id,
            r.milestone.tech_lead_id,
        )
        for r in reviews
    )
    return [r for r in reviews if user.pk in pending[r.pk]]
