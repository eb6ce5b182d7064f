"""The declarative workflow on plain data: phases, the guards of the first three moves, who moves.

No database here: every `MilestoneFacts` is built by hand, and pytest-django
refuses any query, so a guard that reached for the ORM would fail.
"""

from __future__ import annotations

import pytest

from planning import workflow
from planning.workflow import (
    ArtifactFacts,
    ArtifactKind,
    ArtifactStatus,
    MilestoneFacts,
    Phase,
    Unmet,
)

LEAD = 7
READY, DRAFT, MISSING = ArtifactStatus.READY, ArtifactStatus.DRAFT, ArtifactStatus.MISSING
SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
APPLICATION = ArtifactKind.APPLICATION_ARCHITECTURE
PROTOCOLS = ArtifactKind.PROTOCOL_SPECS
INFRASTRUCTURE = ArtifactKind.INFRASTRUCTURE_DIAGRAM
SEQUENCE = ArtifactKind.SEQUENCE_DIAGRAM
FLOW = ArtifactKind.FLOW_CHART
SPEC = ArtifactKind.DESIGN_SPEC
ON_NEED = [INFRASTRUCTURE, SEQUENCE, FLOW]


def facts(phase: str = Phase.ARCHITECTURE, **artifacts: ArtifactFacts) -> MilestoneFacts:
    """Facts where every artifact is missing and undecided, except those given by kind."""
    every = {kind: ArtifactFacts(kind, MISSING) for kind in workflow.ARTIFACT_KINDS}
    every.update(artifacts)
    return MilestoneFacts(phase=phase, tech_lead_id=LEAD, artifacts=every)


def ready(kind: str, **extra) -> ArtifactFacts:
    return ArtifactFacts(kind, READY, **extra)


def draft(kind: str, **extra) -> ArtifactFacts:
    return ArtifactFacts(kind, DRAFT, **extra)


def decided(needed: bool, status: str = MISSING, reason: str = "") -> dict[str, ArtifactFacts]:
    """Every on-need kind decided the same way."""
    if needed is False and not reason:
        reason = "Nothing of this kind changes."
    return {
        kind: ArtifactFacts(kind, status, needed=needed, not_needed_reason=reason)
        for kind in ON_NEED
    }


def codes(unmet: list[Unmet]) -> list[str]:
    return [item.code for item in unmet]


# Phases ------------------------------------------------------------------------


def test_the_eight_phases_come_in_the_order_of_the_design():
    assert workflow.PHASES == [
        "architecture",
        "protocols",
        "design_spec",
        "unknowns",
        "design_review",
        "kickoff",
        "task_breakout",
        "done",
    ]


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (Phase.ARCHITECTURE, Phase.PROTOCOLS),
        (Phase.PROTOCOLS, Phase.DESIGN_SPEC),
        (Phase.DESIGN_SPEC, Phase.UNKNOWNS),
        (Phase.UNKNOWNS, Phase.DESIGN_REVIEW),
        (Phase.DESIGN_REVIEW, Phase.KICKOFF),
        (Phase.KICKOFF, Phase.TASK_BREAKOUT),
        (Phase.TASK_BREAKOUT, Phase.DONE),
        (Phase.DONE, None),
    ],
)
def test_next_phase_is_the_one_after_and_none_after_done(phase, expected):
    assert workflow.next_phase(phase) == expected


def test_the_first_phase_has_no_earlier_phase():
    assert workflow.earlier_phases(Phase.ARCHITECTURE) == []


def test_earlier_phases_are_every_phase_before_in_order():
    assert workflow.earlier_phases(Phase.DESIGN_SPEC) == [Phase.ARCHITECTURE, Phase.PROTOCOLS]
    assert workflow.earlier_phases(Phase.DONE) == workflow.PHASES[:-1]


def test_an_unknown_phase_is_refused_rather_than_guessed():
    with pytest.raises(ValueError):
        workflow.next_phase("shipping")


# architecture → protocols -------------------------------------------------------


def test_moving_to_protocols_needs_both_architecture_artifacts_ready():
    unmet = workflow.unmet_for(facts(), Phase.PROTOCOLS)

    assert unmet == [
        Unmet(
            "artifact_not_ready:system_architecture",
            "Scoped system architecture diagram is not ready.",
            "system_architecture",
        ),
        Unmet(
            "artifact_not_ready:application_architecture",
            "Application architecture is not ready.",
            "application_architecture",
        ),
    ]


def test_a_draft_architecture_artifact_still_blocks_protocols():
    unmet = workflow.unmet_for(
        facts(system_architecture=ready(SYSTEM), application_architecture=draft(APPLICATION)),
        Phase.PROTOCOLS,
    )

    assert codes(unmet) == ["artifact_not_ready:application_architecture"]
    assert unmet[0].artifact_kind == APPLICATION


def test_an_artifact_absent_from_the_facts_counts_as_not_ready():
    bare = MilestoneFacts(phase=Phase.ARCHITECTURE, tech_lead_id=LEAD, artifacts={})

    assert codes(workflow.unmet_for(bare, Phase.PROTOCOLS)) == [
        "artifact_not_ready:system_architecture",
        "artifact_not_ready:application_architecture",
    ]


def test_both_architecture_artifacts_ready_open_the_way_to_protocols():
    both = facts(system_architecture=ready(SYSTEM), application_architecture=ready(APPLICATION))

    assert workflow.unmet_for(both, Phase.PROTOCOLS) == []


def test_the_protocols_guard_ignores_every_other_artifact():
    # Nothing else is ready or decided, and that does not matter for this move.
    both = facts(system_architecture=ready(SYSTEM), application_architecture=ready(APPLICATION))

    assert both.artifacts[PROTOCOLS].status == MISSING
    assert workflow.unmet_for(both, Phase.PROTOCOLS) == []


# protocols → design_spec ----------------------------------------------------------


def test_moving_to_design_spec_needs_protocol_specs_ready_and_every_diagram_decided():
    unmet = workflow.unmet_for(facts(Phase.PROTOCOLS), Phase.DESIGN_SPEC)

    assert codes(unmet) == [
        "artifact_not_ready:protocol_specs",
        "need_undecided:infrastructure_diagram",
        "need_undecided:sequence_diagram",
        "need_undecided:flow_chart",
    ]
    assert [item.artifact_kind for item in unmet] == [PROTOCOLS, *ON_NEED]
    assert unmet[1].message == "Decide whether the infrastructure diagram is needed."


def test_a_diagram_not_needed_without_a_reason_is_unmet():
    unmet = workflow.unmet_for(
        facts(
            Phase.PROTOCOLS,
            protocol_specs=ready(PROTOCOLS),
            **{**decided(True), FLOW: ArtifactFacts(FLOW, MISSING, needed=False)},
        ),
        Phase.DESIGN_SPEC,
    )

    assert unmet == [
        Unmet(
            "not_needed_reason_missing:flow_chart",
            "Say why the flow chart is not needed.",
            "flow_chart",
        )
    ]


def test_a_reason_of_only_blanks_is_no_reason():
    blank = ArtifactFacts(SEQUENCE, MISSING, needed=False, not_needed_reason=" \n\t")
    unmet = workflow.unmet_for(
        facts(
            Phase.PROTOCOLS,
            protocol_specs=ready(PROTOCOLS),
            **{**decided(True), SEQUENCE: blank},
        ),
        Phase.DESIGN_SPEC,
    )

    assert codes(unmet) == ["not_needed_reason_missing:sequence_diagram"]


def test_diagrams_decided_needed_do_not_have_to_be_ready_to_reach_design_spec():
    unmet = workflow.unmet_for(
        facts(Phase.PROTOCOLS, protocol_specs=ready(PROTOCOLS), **decided(True)),
        Phase.DESIGN_SPEC,
    )

    assert unmet == []


def test_diagrams_not_needed_with_reasons_open_the_way_to_design_spec():
    unmet = workflow.unmet_for(
        facts(Phase.PROTOCOLS, protocol_specs=ready(PROTOCOLS), **decided(False)),
        Phase.DESIGN_SPEC,
    )

    assert unmet == []


def test_a_draft_protocol_spec_blocks_design_spec_even_with_every_diagram_decided():
    unmet = workflow.unmet_for(
        facts(Phase.PROTOCOLS, protocol_specs=draft(PROTOCOLS), **decided(False)),
        Phase.DESIGN_SPEC,
    )

    assert codes(unmet) == ["artifact_not_ready:protocol_specs"]
    assert unmet[0].artifact_kind == PROTOCOLS


# design_spec → unknowns -----------------------------------------------------------


def test_moving_to_unknowns_needs_the_design_spec_ready():
    unmet = workflow.unmet_for(facts(Phase.DESIGN_SPEC, **decided(False)), Phase.UNKNOWNS)

    assert unmet == [
        Unmet("artifact_not_ready:design_spec", "Detailed design spec is not ready.", "design_spec")
    ]


def test_every_diagram_marked_needed_must_be_ready_before_unknowns():
    unmet = workflow.unmet_for(
        facts(
            Phase.DESIGN_SPEC,
            design_spec=ready(SPEC),
            infrastructure_diagram=ready(INFRASTRUCTURE, needed=True),
            sequence_diagram=draft(SEQUENCE, needed=True),
            flow_chart=ArtifactFacts(FLOW, MISSING, needed=True),
        ),
        Phase.UNKNOWNS,
    )

    assert unmet == [
        Unmet(
            "artifact_not_ready:sequence_diagram",
            "Sequence diagram is marked needed but not ready.",
            "sequence_diagram",
        ),
        Unmet(
            "artifact_not_ready:flow_chart",
            "Flow chart is marked needed but not ready.",
            "flow_chart",
        ),
    ]


def test_diagrams_not_needed_need_not_be_ready_before_unknowns():
    unmet = workflow.unmet_for(
        facts(Phase.DESIGN_SPEC, design_spec=ready(SPEC), **decided(False)), Phase.UNKNOWNS
    )

    assert unmet == []


def test_both_unknowns_conditions_are_listed_together():
    unmet = workflow.unmet_for(
        facts(Phase.DESIGN_SPEC, design_spec=draft(SPEC), flow_chart=draft(FLOW, needed=True)),
        Phase.UNKNOWNS,
    )

    assert codes(unmet) == ["artifact_not_ready:design_spec", "artifact_not_ready:flow_chart"]


# readiness -----------------------------------------------------------------------


def test_readiness_names_the_next_phase_and_what_it_still_needs():
    upcoming, unmet = workflow.readiness(facts(system_architecture=ready(SYSTEM)))

    assert upcoming == Phase.PROTOCOLS
    assert codes(unmet) == ["artifact_not_ready:application_architecture"]


def test_readiness_reads_the_guard_of_the_phase_after_the_current_one():
    # The architecture artifacts are not ready, but the milestone is past that move.
    upcoming, unmet = workflow.readiness(facts(Phase.PROTOCOLS, protocol_specs=ready(PROTOCOLS)))

    assert upcoming == Phase.DESIGN_SPEC
    assert codes(unmet) == [f"need_undecided:{kind}" for kind in ON_NEED]


def test_readiness_is_empty_when_the_next_move_is_clear():
    upcoming, unmet = workflow.readiness(
        facts(system_architecture=ready(SYSTEM), application_architecture=ready(APPLICATION))
    )

    assert (upcoming, unmet) == (Phase.PROTOCOLS, [])


def test_readiness_at_done_has_no_next_phase_and_nothing_missing():
    assert workflow.readiness(facts(Phase.DONE)) == (None, [])


# Who may move ---------------------------------------------------------------------


def test_the_milestone_tech_lead_may_move_it():
    assert workflow.may_move(LEAD, facts().tech_lead_id) is True


def test_anyone_else_may_not_move_it():
    assert workflow.may_move(LEAD + 1, facts().tech_lead_id) is False


def test_an_anonymous_actor_may_not_move_it():
    assert workflow.may_move(None, facts().tech_lead_id) is False


def test_an_anonymous_actor_may_not_move_a_milestone_without_a_tech_lead():
    leaderless = MilestoneFacts(phase=Phase.ARCHITECTURE, tech_lead_id=None)

    assert workflow.may_move(None, leaderless.tech_lead_id) is False
