"""Unknowns and deferrals raced on PostgreSQL with real threads.

A deferral is decided on the unknown as it stands, not as it stood when the
page was loaded; two edits of one unknown keep its rules; and a phase move
whose guard reads the unknowns is never contradicted by a change the timeline
shows before it.
"""

from __future__ import annotations

import pytest

from planning import services
from planning.models import DeferralRequest, Milestone, Unknown
from planning.workflow import Phase
from tests.factories import (
    DeferralRequestFactory,
    MilestoneFactory,
    StoryFactory,
    SubtaskFactory,
    UnknownFactory,
)
from tests.racing import as_loaded, broken_rounds, kinds, racers, timeline

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RESOLVED = Unknown.Status.RESOLVED


@pytest.fixture
def race():
    with racers() as started:
        yield started.run


def loaded(unknown: Unknown) -> Unknown:
    """The unknown as a page loads it, before the race starts."""
    return Unknown.objects.select_related(
        "milestone__project__squad", "milestone__project__principal_engineer", "owner"
    ).get(pk=unknown.pk)


def loaded_milestone(milestone: Milestone) -> Milestone:
    return Milestone.objects.select_related("project__squad", "tech_lead").get(pk=milestone.pk)


def test_a_deferral_approved_as_its_unknown_is_resolved_never_defers_a_resolved_unknown(
    race, project, tech_lead, engineer, principal
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.UNKNOWNS)
        unknown = UnknownFactory.create(milestone=milestone, owner=engineer)
        deferral = DeferralRequestFactory.create(unknown=unknown)
        resolving = loaded(unknown)

        outcomes = race(
            lambda: services.decide_deferral(as_loaded(principal), deferral, decision="approve"),
            lambda: services.resolve_unknown(as_loaded(engineer), resolving, "Measured it."),
        )

        unknown.refresh_from_db()
        deferral.refresh_from_db()
        broken = []
        if kinds(outcomes) not in {
            ("DeferralRequest", "Unknown"),
            ("DeferralConflict", "Unknown"),
        }:
            broken.append(f"outcomes {outcomes}")
        if unknown.status != RESOLVED:
            broken.append(f"the resolution was overwritten: {unknown.status}")
        if deferral.status == DeferralRequest.Status.PENDING:
            broken.append("the deferral of a resolved unknown is still pending")
        if timeline(milestone) not in (
            ["deferral_approved", "unknown_resolved"],
            ["unknown_resolved"],
        ):
            broken.append(f"timeline {timeline(milestone)}")
        return broken

    assert broken_rounds(one_round) == []


def test_a_deferral_asked_for_as_its_unknown_is_resolved_never_stays_pending(
    race, project, tech_lead, engineer, principal
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.UNKNOWNS)
        unknown = UnknownFactory.create(milestone=milestone, owner=engineer)
        asking, resolving = loaded(unknown), loaded(unknown)

        outcomes = race(
            lambda: services.request_deferral(
                as_loaded(tech_lead), asking, reason="After launch.", defer_until="M2"
            ),
            lambda: services.resolve_unknown(as_loaded(engineer), resolving, "Measured it."),
        )

        unknown.refresh_from_db()
        pending = DeferralRequest.objects.filter(
            unknown=unknown, status=DeferralRequest.Status.PENDING
        )
        broken = []
        if kinds(outcomes) not in {
            ("DeferralRequest", "Unknown"),
            ("ValidationError", "Unknown"),
        }:
            broken.append(f"outcomes {outcomes}")
        if unknown.status == RESOLVED and pending.exists():
            broken.append("a resolved unknown has a pending deferral")
        return broken

    assert broken_rounds(one_round) == []


def test_two_edits_of_one_unknown_never_leave_it_waiting_on_no_vendor(
    race, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.UNKNOWNS)
        unknown = UnknownFactory.create(
            milestone=milestone, owner=engineer, status=Unknown.Status.INVESTIGATING, vendor="Acme"
        )
        waiting, clearing = loaded(unknown), loaded(unknown)

        outcomes = race(
            lambda: services.update_unknown(
                as_loaded(engineer), waiting, status=Unknown.Status.WAITING_ON_VENDOR
            ),
            lambda: services.update_unknown(as_loaded(tech_lead), clearing, vendor=""),
        )

        unknown.refresh_from_db()
        broken = []
        if sorted(kinds(outcomes)) != ["Unknown", "ValidationError"]:
            broken.append(f"outcomes {outcomes}")
        if unknown.status == Unknown.Status.WAITING_ON_VENDOR and not unknown.vendor:
            broken.append("waiting on no vendor")
        return broken

    assert broken_rounds(one_round) == []


def moved_before_change(milestone: Milestone, change: str) -> list[str]:
    """What is wrong with the timeline of a move raced by a change its guard reads.

    The move may come first (the change follows it) or be refused (the change
    alone); the timeline never shows the change before a move that passed.
    """
    verbs = timeline(milestone)
    if verbs in (["phase_advanced", change], [change]):
        return []
    return [f"timeline {verbs}"]


def test_an_owner_taken_off_as_the_milestone_moves_to_design_review_follows_the_move(
    race, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.UNKNOWNS)
        unknown = UnknownFactory.create(milestone=milestone, owner=engineer)
        moving, editing = loaded_milestone(milestone), loaded(unknown)

        outcomes = race(
            lambda: services.advance_phase(as_loaded(tech_lead), moving, to=Phase.DESIGN_REVIEW),
            lambda: services.update_unknown(as_loaded(engineer), editing, owner=None),
        )

        broken = []
        if kinds(outcomes) not in {("Milestone", "Unknown"), ("GuardRefused", "Unknown")}:
            broken.append(f"outcomes {outcomes}")
        return broken + moved_before_change(milestone, "unknown_changed")

    assert broken_rounds(one_round) == []


def test_an_unknown_reopened_as_the_milestone_moves_to_done_follows_the_move(
    race, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.TASK_BREAKOUT)
        SubtaskFactory.create(story=StoryFactory.create(milestone=milestone, assignee=engineer))
        unknown = UnknownFactory.create(milestone=milestone, owner=engineer, status=RESOLVED)
        moving, editing = loaded_milestone(milestone), loaded(unknown)

        outcomes = race(
            lambda: services.advance_phase(as_loaded(tech_lead), moving, to=Phase.DONE),
            lambda: services.update_unknown(
                as_loaded(engineer), editing, status=Unknown.Status.INVESTIGATING
            ),
        )

        broken = []
        if kinds(outcomes) not in {("Milestone", "Unknown"), ("GuardRefused", "Unknown")}:
            broken.append(f"outcomes {outcomes}")
        return broken + moved_before_change(milestone, "unknown_changed")

    assert broken_rounds(one_round) == []
