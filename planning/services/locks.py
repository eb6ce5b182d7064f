"""The one lock order of the planning services.

A rule that reads rows other than the one it changes (a guard reads the
artifacts, unknowns, reviews and stories; the close of a review reads its
verdicts) holds only if whoever changes those rows waits for it. Every change
to a milestone therefore locks the milestone row first, then the row it
changes: two changes of one milestone take turns, and nothing waits for a lock
while holding one taken later in that order. Squad memberships, when a change
needs them, come before the milestone.

The locks are `FOR NO KEY UPDATE`: they exclude each other and every UPDATE of
the row, but not the inserts of rows that refer to it (an Activity, a
Verdict), so those never queue behind a lock their own transaction does not
need.
"""

from __future__ import annotations

from planning.models import DesignReview, Milestone


def lock_milestone(milestone_id: int) -> Milestone:
    """The milestone row, locked until the transaction ends and read afresh.

    Comes with its project, squad, principal engineer and tech lead as they
    stand now, so who may do what is asked of current data.
    """
    return (
        Milestone.objects.select_for_update(no_key=True, of=("self",))
        .select_related("project__squad", "project__principal_engineer", "tech_lead")
        .get(pk=milestone_id)
    )


def lock_review(review: DesignReview) -> DesignReview:
    """The review row, locked after its milestone's and read afresh, with that milestone."""
    milestone = lock_milestone(review.milestone_id)
    locked = DesignReview.objects.select_for_update(no_key=True).get(pk=review.pk)
    locked.milestone = milestone
    return locked
