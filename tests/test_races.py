"""Races on PostgreSQL with real threads: two moves of one milestone, two edits of one artifact.

Each thread has its own database connection (Django keeps one per thread), so
the row locks and conditional updates of the services meet for real. Every
race runs several times: one lucky interleaving proves little.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from planning import services
from planning.exceptions import EditConflict, GuardRefused
from planning.models import Activity, ArtifactRevision, Milestone
from planning.workflow import ArtifactKind, Phase
from tests.helpers import artifact_of, make_ready, write_artifact

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5
SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
APPLICATION = ArtifactKind.APPLICATION_ARCHITECTURE


def race(*calls: Callable[[], object]) -> list[object]:
    """Run each call in its own thread, all released at once; each call's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as error:  # the outcome under test, reported to the main thread
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def loaded(milestone: Milestone) -> Milestone:
    """A separate copy per thread, with everything the service reads already fetched."""
    return Milestone.objects.select_related("project__squad", "tech_lead").get(pk=milestone.pk)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_advances_give_one_move_and_one_refusal(project, tech_lead, round_):
    milestone = services.create_milestone(tech_lead, project, title=f"Round {round_}")
    make_ready(milestone, SYSTEM, APPLICATION)
    first, second = loaded(milestone), loaded(milestone)

    results = race(
        lambda: services.advance_phase(tech_lead, first, to=Phase.PROTOCOLS),
        lambda: services.advance_phase(tech_lead, second, to=Phase.PROTOCOLS),
    )

    moved = [r for r in results if isinstance(r, Milestone)]
    refused = [r for r in results if isinstance(r, GuardRefused)]
    assert (len(moved), len(refused)) == (1, 1), results
    assert [item.code for item in refused[0].unmet] == ["phase_changed"]
    assert Milestone.objects.get(pk=milestone.pk).phase == Phase.PROTOCOLS
    assert Activity.objects.filter(milestone=milestone, verb="phase_advanced").count() == 1


@pytest.fixture
def milestone_with_text(project, tech_lead):
    milestone = services.create_milestone(tech_lead, project, title="Edited at once")
    write_artifact(tech_lead, milestone, SYSTEM, "The first version.")
    return milestone


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_edits_from_one_revision_give_one_save_and_one_conflict(
    milestone_with_text, tech_lead, engineer, round_
):
    milestone = milestone_with_text
    base = artifact_of(milestone, SYSTEM).revision
    mine, theirs = artifact_of(milestone, SYSTEM), artifact_of(milestone, SYSTEM)
    texts = {tech_lead.pk: f"Lead's round {round_}.", engineer.pk: f"Engineer's round {round_}."}

    results = race(
        lambda: services.save_artifact_body(
            tech_lead, mine, body=texts[tech_lead.pk], base_revision=base
        ),
        lambda: services.save_artifact_body(
            engineer, theirs, body=texts[engineer.pk], base_revision=base
        ),
    )

    conflicts = [r for r in results if isinstance(r, EditConflict)]
    saved = [r for r in results if not isinstance(r, BaseException)]
    assert (len(saved), len(conflicts)) == (1, 1), results
    winner, conflict = saved[0], conflicts[0]
    assert winner.revision == base + 1
    assert conflict.current.revision == base + 1
    assert conflict.current.body == winner.body
    # Nothing is lost: the winner's text is stored, the loser's travels in the refusal.
    assert {winner.body, conflict.attempted_body} == set(texts.values())
    stored = artifact_of(milestone, SYSTEM)
    assert (stored.revision, stored.body) == (base + 1, winner.body)
    revisions = ArtifactRevision.objects.filter(artifact=stored, number__gt=base)
    assert list(revisions.values_list("number", "body")) == [(base + 1, winner.body)]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_first_edits_of_a_missing_artifact_start_it_once(project, tech_lead, engineer, round_):
    milestone = services.create_milestone(tech_lead, project, title=f"Round {round_}")
    mine, theirs = artifact_of(milestone, SYSTEM), artifact_of(milestone, SYSTEM)

    results = race(
        lambda: services.save_artifact_body(tech_lead, mine, body="Lead first.", base_revision=0),
        lambda: services.save_artifact_body(engineer, theirs, body="Eng first.", base_revision=0),
    )

    assert sum(isinstance(r, EditConflict) for r in results) == 1, results
    assert ArtifactRevision.objects.filter(artifact=mine).count() == 1
    assert Activity.objects.filter(milestone=milestone, verb="artifact_started").count() == 1
    assert artifact_of(milestone, SYSTEM).status == "draft"


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_creations_in_one_project_get_consecutive_numbers(
    project, tech_lead, round_
):
    services.create_milestone(tech_lead, project, title="Already there")

    results = race(
        lambda: services.create_milestone(tech_lead, project, title="Left"),
        lambda: services.create_milestone(tech_lead, project, title="Right"),
    )

    assert all(isinstance(r, Milestone) for r in results), results
    assert sorted(r.number for r in results) == [2, 3]
    assert Activity.objects.filter(verb="created").count() == 3
