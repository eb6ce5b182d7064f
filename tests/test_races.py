"""Races on PostgreSQL with real threads: moves of a milestone, edits of its artifacts.

Each thread has its own database connection (Django keeps one per thread), so
the row locks and conditional updates of the services meet for real. Every
race runs several times: one lucky interleaving proves little.
"""

from __future__ import annotations

import pytest

from planning import services
from planning.exceptions import EditConflict, GuardRefused
from planning.models import Activity, Artifact, ArtifactRevision, Milestone
from planning.workflow import ArtifactKind, ArtifactStatus, Phase
from tests.factories import MilestoneFactory
from tests.helpers import artifact_of, write_artifact
from tests.racing import as_loaded, broken_rounds, kinds, racers, timeline

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
APPLICATION = ArtifactKind.APPLICATION_ARCHITECTURE
FLOW_CHART = ArtifactKind.FLOW_CHART


@pytest.fixture
def race():
    with racers() as started:
        yield started.run


def loaded(milestone: Milestone) -> Milestone:
    """A separate copy per thread, with everything the service reads already fetched."""
    return Milestone.objects.select_related("project__squad", "tech_lead").get(pk=milestone.pk)


def with_ready(project, phase: str, *kinds_ready: str) -> Milestone:
    """A new milestone in `phase` whose `kinds_ready` artifacts are written and ready."""
    milestone = MilestoneFactory.create(project=project, phase=phase)
    milestone.artifacts.filter(kind__in=kinds_ready).update(
        body="Written.", revision=1, status=ArtifactStatus.READY
    )
    return milestone


def test_two_simultaneous_advances_give_one_move_and_one_refusal(race, project, tech_lead):
    def one_round(n: int) -> list[str]:
        milestone = with_ready(project, Phase.ARCHITECTURE, SYSTEM, APPLICATION)
        first, second = loaded(milestone), loaded(milestone)

        outcomes = race(
            lambda: services.advance_phase(as_loaded(tech_lead), first, to=Phase.PROTOCOLS),
            lambda: services.advance_phase(as_loaded(tech_lead), second, to=Phase.PROTOCOLS),
        )

        refused = [o for o in outcomes if isinstance(o, GuardRefused)]
        broken = []
        if sorted(kinds(outcomes)) != ["GuardRefused", "Milestone"]:
            broken.append(f"outcomes {outcomes}")
        elif [item.code for item in refused[0].unmet] != ["phase_changed"]:
            broken.append(f"refused for {refused[0].unmet}")
        if Milestone.objects.get(pk=milestone.pk).phase != Phase.PROTOCOLS:
            broken.append("not moved")
        if timeline(milestone) != ["phase_advanced"]:
            broken.append(f"timeline {timeline(milestone)}")
        return broken

    assert broken_rounds(one_round) == []


def test_two_simultaneous_edits_from_one_revision_give_one_save_and_one_conflict(
    race, project, tech_lead, engineer
):
    milestone = services.create_milestone(tech_lead, project, title="Edited at once")
    write_artifact(tech_lead, milestone, SYSTEM, "The first version.")

    def one_round(n: int) -> list[str]:
        base = artifact_of(milestone, SYSTEM).revision
        mine, theirs = artifact_of(milestone, SYSTEM), artifact_of(milestone, SYSTEM)
        lead_text, engineer_text = f"Lead's round {n}.", f"Engineer's round {n}."

        outcomes = race(
            lambda: services.save_artifact_body(
                as_loaded(tech_lead), mine, body=lead_text, base_revision=base
            ),
            lambda: services.save_artifact_body(
                as_loaded(engineer), theirs, body=engineer_text, base_revision=base
            ),
        )

        conflicts = [o for o in outcomes if isinstance(o, EditConflict)]
        saved = [o for o in outcomes if isinstance(o, Artifact)]
        if (len(saved), len(conflicts)) != (1, 1):
            return [f"outcomes {outcomes}"]
        winner, conflict = saved[0], conflicts[0]
        stored = artifact_of(milestone, SYSTEM)
        revisions = ArtifactRevision.objects.filter(artifact=stored, number__gt=base)
        broken = []
        if (winner.revision, conflict.current.revision) != (base + 1, base + 1):
            broken.append("not one revision on from the base")
        if conflict.current.body != winner.body:
            broken.append("the conflict does not show the winner's text")
        # Nothing is lost: the winner's text is stored, the loser's travels in the refusal.
        if {winner.body, conflict.attempted_body} != {lead_text, engineer_text}:
            broken.append("a text was lost")
        if (stored.revision, stored.body) != (base + 1, winner.body):
            broken.append("the stored artifact is not the winner's")
        if list(revisions.values_list("number", "body")) != [(base + 1, winner.body)]:
            broken.append("not one revision, the winner's")
        return broken

    assert broken_rounds(one_round) == []


def test_two_first_edits_of_a_missing_artifact_start_it_once(race, project, tech_lead, engineer):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project)
        mine, theirs = artifact_of(milestone, SYSTEM), artifact_of(milestone, SYSTEM)

        outcomes = race(
            lambda: services.save_artifact_body(
                as_loaded(tech_lead), mine, body="Lead first.", base_revision=0
            ),
            lambda: services.save_artifact_body(
                as_loaded(engineer), theirs, body="Eng first.", base_revision=0
            ),
        )

        broken = []
        if sorted(kinds(outcomes)) != ["Artifact", "EditConflict"]:
            broken.append(f"outcomes {outcomes}")
        if ArtifactRevision.objects.filter(artifact=mine).count() != 1:
            broken.append("not one revision")
        if timeline(milestone) != ["artifact_started"]:
            broken.append(f"timeline {timeline(milestone)}")
        if artifact_of(milestone, SYSTEM).status != ArtifactStatus.DRAFT:
            broken.append("not a draft")
        return broken

    assert broken_rounds(one_round) == []


def test_two_simultaneous_creations_in_one_project_get_consecutive_numbers(
    race, project, tech_lead
):
    def one_round(n: int) -> list[str]:
        before = project.milestones.count()

        outcomes = race(
            lambda: services.create_milestone(as_loaded(tech_lead), project, title="Left"),
            lambda: services.create_milestone(as_loaded(tech_lead), project, title="Right"),
        )

        broken = []
        if kinds(outcomes) != ("Milestone", "Milestone"):
            return [f"outcomes {outcomes}"]
        if sorted(o.number for o in outcomes) != [before + 1, before + 2]:
            broken.append(f"numbers {[o.number for o in outcomes]} after {before}")
        if Activity.objects.filter(verb="created").count() != before + 2:
            broken.append("not one timeline entry each")
        return broken

    assert broken_rounds(one_round) == []


# A phase move against a change its guard reads ---------------------------------------


def test_an_artifact_moved_back_to_draft_as_the_milestone_moves_on_follows_the_move(
    race, project, tech_lead
):
    def one_round(n: int) -> list[str]:
        milestone = with_ready(project, Phase.ARCHITECTURE, SYSTEM, APPLICATION)
        moving, marking = loaded(milestone), artifact_of(milestone, SYSTEM)

        outcomes = race(
            lambda: services.advance_phase(as_loaded(tech_lead), moving, to=Phase.PROTOCOLS),
            lambda: services.mark_artifact(as_loaded(tech_lead), marking, ArtifactStatus.DRAFT),
        )

        broken = []
        if kinds(outcomes) not in {("Milestone", "Artifact"), ("GuardRefused", "Artifact")}:
            broken.append(f"outcomes {outcomes}")
        if timeline(milestone) not in (["phase_advanced", "artifact_draft"], ["artifact_draft"]):
            broken.append(f"moved on with a draft: {timeline(milestone)}")
        return broken

    assert broken_rounds(one_round) == []


def test_a_diagram_found_needed_as_the_milestone_moves_on_follows_the_move(
    race, project, tech_lead
):
    def one_round(n: int) -> list[str]:
        milestone = with_ready(project, Phase.DESIGN_SPEC, ArtifactKind.DESIGN_SPEC)
        Artifact.objects.filter(milestone=milestone, kind=FLOW_CHART).update(
            needed=False, not_needed_reason="No branching in this milestone."
        )
        moving, deciding = loaded(milestone), artifact_of(milestone, FLOW_CHART)

        outcomes = race(
            lambda: services.advance_phase(as_loaded(tech_lead), moving, to=Phase.UNKNOWNS),
            lambda: services.decide_artifact_need(as_loaded(tech_lead), deciding, needed=True),
        )

        broken = []
        if kinds(outcomes) not in {("Milestone", "Artifact"), ("GuardRefused", "Artifact")}:
            broken.append(f"outcomes {outcomes}")
        if timeline(milestone) not in (
            ["phase_advanced", "artifact_need_decided"],
            ["artifact_need_decided"],
        ):
            broken.append(f"moved on with a needed diagram missing: {timeline(milestone)}")
        return broken

    assert broken_rounds(one_round) == []


def test_editing_a_milestone_as_it_moves_on_keeps_the_move_and_the_edit(race, project, tech_lead):
    def one_round(n: int) -> list[str]:
        milestone = with_ready(project, Phase.ARCHITECTURE, SYSTEM, APPLICATION)
        moving, editing = loaded(milestone), loaded(milestone)

        outcomes = race(
            lambda: services.advance_phase(as_loaded(tech_lead), moving, to=Phase.PROTOCOLS),
            lambda: services.update_milestone(as_loaded(tech_lead), editing, title="Renamed"),
        )

        milestone.refresh_from_db()
        broken = []
        if kinds(outcomes) != ("Milestone", "Milestone"):
            broken.append(f"outcomes {outcomes}")
        if milestone.phase != Phase.PROTOCOLS:
            broken.append(f"the move was undone: {milestone.phase}")
        if milestone.title != "Renamed":
            broken.append("the new title was lost")
        return broken

    assert broken_rounds(one_round) == []
