"""The declarative workflow on plain data: phases, the guard of every forward move, who moves.

No database here: every `MilestoneFacts` is built by hand, and pytest-django
refuses any query, so a guard that reached for the ORM would fail. The module
is marked `database_free`, and conftest refuses a test here that asks for one.
"""

from __future__ import annotations

import pytest

from planning import workflow
from planning.workflow import (
    ArtifactFacts,
    ArtifactKind,
    ArtifactStatus,
    FixedOn,
    MilestoneFacts,
    Phase,
    ReviewFacts,
    StoryFacts,
    UnknownFacts,
    Unmet,
)

pytestmark = pytest.mark.database_free

LEAD = 7
OWNER = 11
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


@pytest.mark.parametrize("kind", ON_NEED)
def test_each_diagram_not_needed_without_a_reason_is_unmet_on_its_own(kind):
    label = ArtifactKind(kind).label.lower()
    unmet = workflow.unmet_for(
        facts(
            Phase.PROTOCOLS,
            protocol_specs=ready(PROTOCOLS),
            **{**decided(False), kind: ArtifactFacts(kind, MISSING, needed=False)},
        ),
        Phase.DESIGN_SPEC,
    )

    assert unmet == [
        Unmet(f"not_needed_reason_missing:{kind}", f"Say why the {label} is not needed.", kind)
    ]


def test_every_diagram_not_needed_without_a_reason_is_listed_in_the_order_of_the_kinds():
    unmet = workflow.unmet_for(
        facts(
            Phase.PROTOCOLS,
            protocol_specs=ready(PROTOCOLS),
            **{kind: ArtifactFacts(kind, MISSING, needed=False) for kind in ON_NEED},
        ),
        Phase.DESIGN_SPEC,
    )

    assert codes(unmet) == [f"not_needed_reason_missing:{kind}" for kind in ON_NEED]
    assert [item.message for item in unmet] == [
        "Say why the infrastructure diagram is not needed.",
        "Say why the sequence diagram is not needed.",
        "Say why the flow chart is not needed.",
    ]


def test_an_on_need_diagram_absent_from_the_facts_is_undecided():
    artifacts = {PROTOCOLS: ready(PROTOCOLS), **decided(False)}
    del artifacts[SEQUENCE]
    bare = MilestoneFacts(phase=Phase.PROTOCOLS, tech_lead_id=LEAD, artifacts=artifacts)

    unmet = workflow.unmet_for(bare, Phase.DESIGN_SPEC)

    assert unmet == [
        Unmet(
            "need_undecided:sequence_diagram",
            "Decide whether the sequence diagram is needed.",
            "sequence_diagram",
        )
    ]


def test_an_undecided_diagram_is_undecided_even_when_it_is_ready():
    # Writing a diagram is not deciding it is needed: the decision is its own step.
    unmet = workflow.unmet_for(
        facts(
            Phase.PROTOCOLS,
            protocol_specs=ready(PROTOCOLS),
            **{**decided(False), FLOW: ready(FLOW)},
        ),
        Phase.DESIGN_SPEC,
    )

    assert codes(unmet) == ["need_undecided:flow_chart"]


def test_a_reason_kept_on_a_diagram_decided_needed_does_no_harm():
    needed_with_reason = ArtifactFacts(
        INFRASTRUCTURE, MISSING, needed=True, not_needed_reason="An old reason."
    )
    unmet = workflow.unmet_for(
        facts(
            Phase.PROTOCOLS,
            protocol_specs=ready(PROTOCOLS),
            **{**decided(False), INFRASTRUCTURE: needed_with_reason},
        ),
        Phase.DESIGN_SPEC,
    )

    assert unmet == []


def test_a_missing_protocol_spec_and_a_reasonless_diagram_are_listed_together():
    unmet = workflow.unmet_for(
        facts(
            Phase.PROTOCOLS,
            **{
                **decided(True),
                INFRASTRUCTURE: ArtifactFacts(INFRASTRUCTURE, MISSING, needed=False),
            },
        ),
        Phase.DESIGN_SPEC,
    )

    assert codes(unmet) == [
        "artifact_not_ready:protocol_specs",
        "not_needed_reason_missing:infrastructure_diagram",
    ]
    assert unmet[0].message == "Scoped protocol specifications is not ready."


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


def test_a_design_spec_absent_from_the_facts_blocks_unknowns():
    bare = MilestoneFacts(phase=Phase.DESIGN_SPEC, tech_lead_id=LEAD, artifacts=decided(False))

    assert codes(workflow.unmet_for(bare, Phase.UNKNOWNS)) == ["artifact_not_ready:design_spec"]


def test_a_draft_design_spec_blocks_unknowns_with_the_plain_sentence():
    unmet = workflow.unmet_for(
        facts(Phase.DESIGN_SPEC, design_spec=draft(SPEC), **decided(False)), Phase.UNKNOWNS
    )

    assert unmet == [
        Unmet("artifact_not_ready:design_spec", "Detailed design spec is not ready.", "design_spec")
    ]


def test_a_needed_diagram_absent_from_the_facts_does_not_block_unknowns():
    # Only a diagram the facts say is needed has to be ready; its decision was the earlier move.
    bare = MilestoneFacts(phase=Phase.DESIGN_SPEC, tech_lead_id=LEAD, artifacts={SPEC: ready(SPEC)})

    assert workflow.unmet_for(bare, Phase.UNKNOWNS) == []


def test_the_unknowns_guard_ignores_the_earlier_artifacts():
    unmet = workflow.unmet_for(
        facts(Phase.DESIGN_SPEC, design_spec=ready(SPEC), **decided(False)), Phase.UNKNOWNS
    )

    assert unmet == []
    assert {
        kind: item.status
        for kind, item in facts(Phase.DESIGN_SPEC).artifacts.items()
        if kind in (SYSTEM, APPLICATION, PROTOCOLS)
    } == {SYSTEM: MISSING, APPLICATION: MISSING, PROTOCOLS: MISSING}


# The later moves read unknowns, reviews, meetings and stories ---------------------


def later(phase: str, **fields) -> MilestoneFacts:
    """Facts past the artifacts: every artifact missing, which none of the later guards read."""
    return MilestoneFacts(phase=phase, tech_lead_id=LEAD, **fields)


def unknown(
    number: int,
    title: str = "",
    *,
    priority: str = "normal",
    status: str = "open",
    owner_id: int | None = OWNER,
    vendor_contacted: bool = False,
) -> UnknownFacts:
    return UnknownFacts(
        key=f"U-{number}",
        title=title or f"Question {number}",
        priority=priority,
        status=status,
        owner_id=owner_id,
        vendor_contacted=vendor_contacted,
    )


def blocker(number: int, status: str, **extra) -> UnknownFacts:
    return unknown(number, priority="blocker", status=status, **extra)


def story(number: int, title: str = "", *, claimed: bool = False, subtasks: int = 0) -> StoryFacts:
    return StoryFacts(f"S-{number}", title or f"Story {number}", claimed, subtasks)


# unknowns → design_review ---------------------------------------------------------


def to_design_review(*unknowns: UnknownFacts) -> list[Unmet]:
    return workflow.unmet_for(later(Phase.UNKNOWNS, unknowns=unknowns), Phase.DESIGN_REVIEW)


def test_a_milestone_without_unknowns_may_go_to_design_review():
    assert to_design_review() == []


def test_an_unknown_without_an_owner_holds_the_review():
    unmet = to_design_review(unknown(1), unknown(2, "Which HSM?", owner_id=None))

    assert unmet == [
        Unmet("unknown_without_owner:U-2", "U-2 “Which HSM?” has no owner.", unknown_key="U-2")
    ]


def test_every_unknown_needs_an_owner_whatever_its_priority_or_status():
    unmet = to_design_review(
        unknown(1, priority="low", status="resolved", owner_id=None),
        unknown(2),
        unknown(3, priority="high", status="investigating", owner_id=None),
    )

    assert codes(unmet) == ["unknown_without_owner:U-1", "unknown_without_owner:U-3"]
    assert [item.unknown_key for item in unmet] == ["U-1", "U-3"]


@pytest.mark.parametrize("status", ["resolved", "deferred"])
def test_a_blocker_resolved_or_deferred_lets_the_review_go_ahead(status):
    assert to_design_review(blocker(1, status)) == []


def test_a_blocker_waiting_on_a_contacted_vendor_lets_the_review_go_ahead():
    assert to_design_review(blocker(1, "waiting_on_vendor", vendor_contacted=True)) == []


def test_blocker_waiting_on_uncontacted_vendor_holds_the_review():
    unmet = to_design_review(blocker(1, "waiting_on_vendor", title="HSM quota"))

    assert unmet == [
        Unmet(
            "blocker_open:U-1",
            "Blocker U-1 “HSM quota” is not resolved, deferred, or waiting on a contacted vendor.",
            unknown_key="U-1",
        )
    ]


@pytest.mark.parametrize("status", ["open", "investigating"])
def test_a_blocker_still_open_or_under_investigation_holds_the_review(status):
    assert codes(to_design_review(blocker(1, status))) == ["blocker_open:U-1"]


@pytest.mark.parametrize("status", ["open", "investigating"])
def test_a_contacted_vendor_does_not_excuse_a_blocker_that_is_not_waiting_on_it(status):
    assert codes(to_design_review(blocker(1, status, vendor_contacted=True))) == [
        "blocker_open:U-1"
    ]


@pytest.mark.parametrize("priority", ["high", "normal", "low"])
@pytest.mark.parametrize("status", ["open", "investigating", "waiting_on_vendor"])
def test_an_unsettled_unknown_below_blocker_does_not_hold_the_review(priority, status):
    assert to_design_review(unknown(1, priority=priority, status=status)) == []


def test_a_blocker_without_an_owner_is_listed_under_both_rules():
    assert codes(to_design_review(blocker(1, "open", owner_id=None))) == [
        "unknown_without_owner:U-1",
        "blocker_open:U-1",
    ]


def test_the_review_guard_lists_missing_owners_first_then_open_blockers():
    unmet = to_design_review(
        blocker(1, "open"),
        unknown(2, owner_id=None),
        blocker(3, "waiting_on_vendor"),
        blocker(4, "waiting_on_vendor", vendor_contacted=True),
    )

    assert codes(unmet) == [
        "unknown_without_owner:U-2",
        "blocker_open:U-1",
        "blocker_open:U-3",
    ]


# design_review → kickoff -------------------------------------------------------------


def to_kickoff(review: ReviewFacts | None) -> list[Unmet]:
    return workflow.unmet_for(later(Phase.DESIGN_REVIEW, latest_review=review), Phase.KICKOFF)


def test_the_kickoff_needs_a_design_review_first():
    assert to_kickoff(None) == [
        Unmet("review_missing", "Schedule and hold a design review.", fixed_on=FixedOn.REVIEW)
    ]


@pytest.mark.parametrize("status", ["scheduled", "open"])
def test_a_review_not_yet_closed_holds_the_kickoff(status):
    assert to_kickoff(ReviewFacts(1, status)) == [
        Unmet(
            "review_not_closed",
            f"Design review 1 is {status}; close it with an outcome.",
            fixed_on=FixedOn.REVIEW,
        )
    ]


def test_a_review_closed_with_changes_requested_holds_the_kickoff():
    assert to_kickoff(ReviewFacts(1, "closed", "changes_requested")) == [
        Unmet(
            "review_not_approved",
            "Design review 1 asked for changes; hold another round.",
            fixed_on=FixedOn.REVIEW,
        )
    ]


def test_a_review_closed_without_an_outcome_is_no_approval():
    assert codes(to_kickoff(ReviewFacts(1, "closed"))) == ["review_not_approved"]


def test_a_review_closed_approved_opens_the_way_to_the_kickoff():
    assert to_kickoff(ReviewFacts(1, "closed", "approved")) == []


def test_an_approved_later_round_outweighs_the_changes_asked_in_an_earlier_one():
    # The facts carry the latest round only: round 1 asked for changes, round 2 approved.
    assert to_kickoff(ReviewFacts(2, "closed", "approved")) == []


def test_a_new_round_after_an_approval_holds_the_kickoff_and_is_the_one_named():
    # Round 1 was approved, then the milestone moved back and round 3 was scheduled.
    assert to_kickoff(ReviewFacts(3, "scheduled")) == [
        Unmet(
            "review_not_closed",
            "Design review 3 is scheduled; close it with an outcome.",
            fixed_on=FixedOn.REVIEW,
        )
    ]


def test_the_sentence_names_the_latest_round_that_asked_for_changes():
    assert [item.message for item in to_kickoff(ReviewFacts(4, "closed", "changes_requested"))] == [
        "Design review 4 asked for changes; hold another round."
    ]


# kickoff → task_breakout -------------------------------------------------------------


def to_task_breakout(*, held: bool, open_concerns: int = 0) -> list[Unmet]:
    return workflow.unmet_for(
        later(Phase.KICKOFF, kickoff_held=held, open_concerns=open_concerns), Phase.TASK_BREAKOUT
    )


def test_task_breakout_needs_the_kickoff_held():
    assert to_task_breakout(held=False) == [
        Unmet("kickoff_not_held", "Hold the kick-off meeting.", fixed_on=FixedOn.KICKOFF)
    ]


def test_one_open_concern_holds_task_breakout_with_a_sentence_in_the_singular():
    assert to_task_breakout(held=True, open_concerns=1) == [
        Unmet(
            "concerns_open",
            "1 concern or question from the kick-off still needs an answer.",
            fixed_on=FixedOn.KICKOFF,
        )
    ]


@pytest.mark.parametrize("count", [2, 3, 12])
def test_several_open_concerns_hold_task_breakout_with_a_sentence_in_the_plural(count):
    assert to_task_breakout(held=True, open_concerns=count) == [
        Unmet(
            "concerns_open",
            f"{count} concerns or questions from the kick-off still need an answer.",
            fixed_on=FixedOn.KICKOFF,
        )
    ]


def test_an_unheld_kickoff_and_open_concerns_are_listed_together():
    assert codes(to_task_breakout(held=False, open_concerns=2)) == [
        "kickoff_not_held",
        "concerns_open",
    ]


def test_a_held_kickoff_with_every_concern_answered_opens_the_way_to_task_breakout():
    assert to_task_breakout(held=True, open_concerns=0) == []


def test_the_task_breakout_guard_ignores_reviews_and_unknowns():
    held = later(
        Phase.KICKOFF,
        kickoff_held=True,
        latest_review=None,
        unknowns=(blocker(1, "open", owner_id=None),),
    )

    assert workflow.unmet_for(held, Phase.TASK_BREAKOUT) == []


# task_breakout → done ----------------------------------------------------------------


def to_done(
    *stories: StoryFacts,
    mode: str = "engineer",
    held: bool = False,
    unknowns: tuple[UnknownFacts, ...] = (),
) -> list[Unmet]:
    return workflow.unmet_for(
        later(
            Phase.TASK_BREAKOUT,
            breakout_mode=mode,
            breakout_held=held,
            stories=stories,
            unknowns=unknowns,
        ),
        Phase.DONE,
    )


def test_engineer_mode_a_claimed_story_without_subtasks_holds_done():
    unmet = to_done(story(1, claimed=True, subtasks=2), story(2, "Token service", claimed=True))

    assert unmet == [
        Unmet(
            "story_without_subtasks:S-2",
            "S-2 “Token service” is claimed but has no sub-task.",
            fixed_on=FixedOn.BREAKOUT,
        )
    ]


def test_engineer_mode_an_unclaimed_story_without_subtasks_does_not_hold_done():
    assert to_done(story(1, claimed=True, subtasks=1), story(2)) == []


def test_engineer_mode_stories_with_subtasks_claimed_or_not_open_the_way_to_done():
    assert to_done(story(1, claimed=True, subtasks=1), story(2, subtasks=3)) == []


@pytest.mark.parametrize("held", [False, True])
def test_engineer_mode_does_not_read_the_breakout_session(held):
    assert to_done(story(1, claimed=True, subtasks=1), held=held) == []


def test_engineer_mode_lists_every_claimed_story_without_subtasks_in_order():
    unmet = to_done(
        story(1, claimed=True),
        story(2),
        story(3, claimed=True, subtasks=1),
        story(4, claimed=True),
    )

    assert codes(unmet) == ["story_without_subtasks:S-1", "story_without_subtasks:S-4"]


def test_meeting_mode_done_needs_the_breakout_session_held():
    assert to_done(story(1, claimed=True, subtasks=1), mode="meeting", held=False) == [
        Unmet("breakout_not_held", "Hold the breakout session.", fixed_on=FixedOn.BREAKOUT)
    ]


def test_meeting_mode_every_story_needs_a_subtask_claimed_or_not():
    unmet = to_done(
        story(1, "Nobody's yet"),
        story(2, "Token service", claimed=True),
        story(3, claimed=True, subtasks=1),
        story(4, subtasks=2),
        mode="meeting",
        held=True,
    )

    assert unmet == [
        Unmet(
            "story_without_subtasks:S-1",
            "S-1 “Nobody's yet” has no sub-task.",
            fixed_on=FixedOn.BREAKOUT,
        ),
        Unmet(
            "story_without_subtasks:S-2",
            "S-2 “Token service” has no sub-task.",
            fixed_on=FixedOn.BREAKOUT,
        ),
    ]


def test_meeting_mode_lists_the_session_before_the_stories():
    assert codes(to_done(story(1), mode="meeting", held=False)) == [
        "breakout_not_held",
        "story_without_subtasks:S-1",
    ]


def test_meeting_mode_held_with_every_story_broken_out_opens_the_way_to_done():
    assert (
        to_done(story(1, subtasks=1), story(2, claimed=True, subtasks=4), mode="meeting", held=True)
        == []
    )


@pytest.mark.parametrize(("mode", "held"), [("engineer", False), ("meeting", True)])
def test_done_needs_at_least_one_story(mode, held):
    # DESIGN.md §4: "task_breakout → done | at least one story; …".
    unmet = to_done(mode=mode, held=held)

    assert unmet[0] == Unmet(
        "no_stories", "Write at least one story of the work.", fixed_on=FixedOn.BREAKOUT
    )


@pytest.mark.parametrize("mode", ["engineer", "meeting"])
@pytest.mark.parametrize("status", ["open", "investigating", "waiting_on_vendor"])
def test_an_unsettled_unknown_holds_done_in_either_breakout_mode(mode, status):
    unmet = to_done(
        story(1, claimed=True, subtasks=1),
        mode=mode,
        held=True,
        unknowns=(unknown(1, "PCI scope", status=status),),
    )

    assert unmet == [
        Unmet(
            "unknown_unsettled:U-1",
            "U-1 “PCI scope” is neither resolved nor deferred.",
            unknown_key="U-1",
        )
    ]


def test_a_blocker_waiting_on_a_contacted_vendor_no_longer_passes_at_done():
    # Enough for the review, not for done: at done every unknown is settled.
    waiting = blocker(1, "waiting_on_vendor", vendor_contacted=True)

    assert to_design_review(waiting) == []
    assert codes(to_done(story(1, claimed=True, subtasks=1), unknowns=(waiting,))) == [
        "unknown_unsettled:U-1"
    ]


def test_resolved_and_deferred_unknowns_do_not_hold_done():
    settled = (blocker(1, "resolved"), unknown(2, status="deferred", owner_id=None))

    assert to_done(story(1, claimed=True, subtasks=1), unknowns=settled) == []


def test_done_lists_the_session_and_stories_before_the_unknowns():
    unmet = to_done(
        story(1),
        mode="meeting",
        unknowns=(unknown(1, status="resolved"), unknown(2), unknown(3, priority="blocker")),
    )

    assert codes(unmet) == [
        "breakout_not_held",
        "story_without_subtasks:S-1",
        "unknown_unsettled:U-2",
        "unknown_unsettled:U-3",
    ]


# Guards and phases together ----------------------------------------------------------


def test_every_phase_but_the_first_has_a_guard():
    assert list(workflow.FORWARD_GUARDS) == workflow.PHASES[1:]


def test_no_guard_stands_before_the_first_phase():
    everything_missing = later(
        Phase.PROTOCOLS, unknowns=(blocker(1, "open", owner_id=None),), stories=(story(1),)
    )

    assert workflow.unmet_for(everything_missing, Phase.ARCHITECTURE) == []


@pytest.mark.parametrize(
    ("phase", "upcoming", "expected"),
    [
        (Phase.UNKNOWNS, Phase.DESIGN_REVIEW, ["unknown_without_owner:U-1", "blocker_open:U-1"]),
        (Phase.DESIGN_REVIEW, Phase.KICKOFF, ["review_missing"]),
        (Phase.KICKOFF, Phase.TASK_BREAKOUT, ["kickoff_not_held"]),
        (Phase.TASK_BREAKOUT, Phase.DONE, ["breakout_not_held", "unknown_unsettled:U-1"]),
    ],
)
def test_readiness_of_the_later_phases_reads_only_the_guard_of_the_next_move(
    phase, upcoming, expected
):
    # The same facts everywhere: nothing held, no review, one ownerless open blocker,
    # one story broken out.
    stuck = later(
        phase,
        unknowns=(blocker(1, "open", owner_id=None),),
        breakout_mode="meeting",
        stories=(story(1, claimed=True, subtasks=1),),
    )

    next_phase, unmet = workflow.readiness(stuck)

    assert next_phase == upcoming
    assert codes(unmet) == expected


def test_readiness_at_done_ignores_what_would_have_held_it():
    stuck = later(Phase.DONE, unknowns=(blocker(1, "open", owner_id=None),), stories=(story(1),))

    assert workflow.readiness(stuck) == (None, [])


@pytest.mark.parametrize("phase", workflow.PHASES)
def test_earlier_phases_are_as_many_as_the_phases_before_and_never_the_phase_itself(phase):
    earlier = workflow.earlier_phases(phase)

    assert earlier == workflow.PHASES[: workflow.PHASES.index(phase)]
    assert phase not in earlier


def test_earlier_phases_of_an_unknown_phase_is_refused_rather_than_guessed():
    with pytest.raises(ValueError):
        workflow.earlier_phases("shipping")


def test_the_last_phase_before_done_is_task_breakout():
    assert workflow.earlier_phases(Phase.DONE)[-1] == Phase.TASK_BREAKOUT
    assert workflow.next_phase(Phase.TASK_BREAKOUT) == Phase.DONE


@pytest.mark.parametrize("phase", workflow.PHASES)
def test_the_tech_lead_may_move_the_milestone_from_any_phase(phase):
    assert workflow.may_move(LEAD, later(phase).tech_lead_id) is True


def test_the_owner_of_every_unknown_still_may_not_move_the_milestone():
    owned = later(Phase.UNKNOWNS, unknowns=(unknown(1), unknown(2)))

    assert workflow.may_move(OWNER, owned.tech_lead_id) is False


def test_nobody_may_move_a_milestone_without_a_tech_lead():
    leaderless = MilestoneFacts(phase=Phase.ARCHITECTURE, tech_lead_id=None)

    assert workflow.may_move(LEAD, leaderless.tech_lead_id) is False


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
