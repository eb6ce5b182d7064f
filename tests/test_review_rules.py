"""The design review's approval rule and "changed since the review", without a database.

The same functions serve the close, the review page and the API, so they are
tested here on plain data; tests/test_reviews.py drives them through the services.
"""

from __future__ import annotations

from planning import workflow
from planning.workflow import ApprovalFacts, VerdictChoice, VerdictCount, VerdictFacts

APPROVE, CHANGES, COMMENT = (
    VerdictChoice.APPROVE,
    VerdictChoice.CHANGES_REQUESTED,
    VerdictChoice.COMMENT,
)


def verdict(reviewer: int, choice: str, *, counted: bool = True) -> VerdictFacts:
    return VerdictFacts(reviewer_id=reviewer, verdict=choice, counted=counted)


def codes(facts: ApprovalFacts) -> list[str]:
    return [item.code for item in workflow.approval_unmet(facts)]


def test_counting_skips_guests_and_plain_comments():
    verdicts = [
        verdict(1, APPROVE),
        verdict(2, APPROVE, counted=False),
        verdict(3, CHANGES),
        verdict(4, CHANGES, counted=False),
        verdict(5, COMMENT),
    ]

    assert workflow.count_verdicts(verdicts) == VerdictCount(approvals=1, changes_requested=1)


def test_a_review_with_no_verdict_lacks_every_approval():
    unmet = workflow.approval_unmet(ApprovalFacts(needed=2))

    assert [u.code for u in unmet] == ["not_enough_approvals"]
    assert unmet[0].message == "0 of the 2 counted approvals the squad asks for."


def test_enough_counted_approvals_and_no_request_for_changes_let_it_close():
    facts = ApprovalFacts(needed=2, verdicts=(verdict(1, APPROVE), verdict(2, APPROVE)))

    assert workflow.approval_unmet(facts) == []


def test_guest_approvals_do_not_make_up_the_quorum():
    facts = ApprovalFacts(
        needed=2, verdicts=(verdict(1, APPROVE), verdict(9, APPROVE, counted=False))
    )

    assert codes(facts) == ["not_enough_approvals"]


def test_one_counted_request_for_changes_holds_the_close_whatever_the_approvals():
    facts = ApprovalFacts(
        needed=1, verdicts=(verdict(1, APPROVE), verdict(2, APPROVE), verdict(3, CHANGES))
    )

    unmet = workflow.approval_unmet(facts)

    assert [u.code for u in unmet] == ["changes_requested"]
    assert unmet[0].message == "1 counted reviewer asked for changes."


def test_a_guests_request_for_changes_is_shown_but_does_not_hold_the_close():
    facts = ApprovalFacts(
        needed=1, verdicts=(verdict(1, APPROVE), verdict(9, CHANGES, counted=False))
    )

    assert workflow.approval_unmet(facts) == []


def test_both_reasons_are_listed_with_plural_sentences():
    facts = ApprovalFacts(needed=3, verdicts=(verdict(1, CHANGES), verdict(2, CHANGES)))

    unmet = workflow.approval_unmet(facts)

    assert [u.code for u in unmet] == ["not_enough_approvals", "changes_requested"]
    assert unmet[1].message == "2 counted reviewers asked for changes."


def test_an_artifact_is_changed_since_the_review_when_its_revision_moved_on():
    reviewed = {"design_spec": 3, "flow_chart": 0}

    assert workflow.changed_since_review(reviewed, "design_spec", 4) is True
    assert workflow.changed_since_review(reviewed, "design_spec", 3) is False
    assert workflow.changed_since_review(reviewed, "flow_chart", 0) is False


def test_an_artifact_the_review_did_not_look_at_is_not_called_changed():
    assert workflow.changed_since_review({}, "design_spec", 5) is False


# DESIGN §8: stale verdicts, conditions, the principal engineer's approval, blocking comments --

WITH_CONDITIONS = VerdictChoice.APPROVE_WITH_CONDITIONS


def test_an_approval_with_conditions_counts_as_an_approval():
    facts = ApprovalFacts(needed=2, verdicts=(verdict(1, APPROVE), verdict(2, WITH_CONDITIONS)))

    assert codes(facts) == []


def test_a_stale_approval_stops_counting_and_the_message_says_so():
    stale = VerdictFacts(reviewer_id=2, verdict=APPROVE, counted=True, stale=True)
    facts = ApprovalFacts(needed=2, verdicts=(verdict(1, APPROVE), stale))

    assert workflow.count_verdicts(facts.verdicts) == VerdictCount(
        approvals=1, changes_requested=0, stale=1
    )
    [unmet] = workflow.approval_unmet(facts)
    assert unmet.code == "not_enough_approvals"
    assert unmet.message == (
        "1 of the 2 counted approvals the squad asks for "
        "(1 more is stale: given on an earlier revision)."
    )


def test_a_stale_request_for_changes_counts_until_dismissed():
    stale = VerdictFacts(reviewer_id=3, verdict=CHANGES, counted=True, stale=True)
    dismissed = VerdictFacts(
        reviewer_id=3, verdict=CHANGES, counted=True, stale=True, dismissed=True
    )
    approvals = (verdict(1, APPROVE), verdict(2, APPROVE))

    assert codes(ApprovalFacts(needed=2, verdicts=(*approvals, stale))) == ["changes_requested"]
    assert codes(ApprovalFacts(needed=2, verdicts=(*approvals, dismissed))) == []


def test_the_squad_may_require_the_principal_engineers_current_approval():
    principal = VerdictFacts(reviewer_id=9, verdict=APPROVE, counted=True, principal=True)
    stale_principal = VerdictFacts(
        reviewer_id=9, verdict=APPROVE, counted=True, principal=True, stale=True
    )
    two = (verdict(1, APPROVE), verdict(2, APPROVE))

    assert codes(ApprovalFacts(needed=2, verdicts=two, require_principal=True)) == [
        "principal_approval"
    ]
    assert codes(ApprovalFacts(needed=2, verdicts=(*two, principal), require_principal=True)) == []
    assert codes(
        ApprovalFacts(needed=2, verdicts=(*two, stale_principal), require_principal=True)
    ) == ["principal_approval"]
    assert codes(ApprovalFacts(needed=2, verdicts=(*two, principal))) == []


def test_an_unresolved_blocking_comment_holds_the_approval():
    two = (verdict(1, APPROVE), verdict(2, APPROVE))
    [unmet] = workflow.approval_unmet(ApprovalFacts(needed=2, verdicts=two, open_blocking=2))

    assert (unmet.code, unmet.message) == (
        "blocking_comments",
        "2 blocking comments are unresolved.",
    )


def test_staleness_compares_each_artifact_with_the_revision_the_verdict_saw():
    assert not workflow.is_stale(
        {"design_spec": 3, "protocols": 2}, {"design_spec": 3, "protocols": 2}
    )
    assert workflow.is_stale({"design_spec": 3}, {"design_spec": 4})
    # An artifact written after the verdict makes it stale; one still empty does not.
    assert workflow.is_stale({"design_spec": 3}, {"design_spec": 3, "diagrams": 1})
    assert not workflow.is_stale({"design_spec": 3}, {"design_spec": 3, "diagrams": 0})


def test_only_a_stale_request_for_changes_not_yet_dismissed_may_be_dismissed():
    def facts(choice: str, *, stale: bool = True, dismissed: bool = False) -> VerdictFacts:
        return VerdictFacts(1, choice, True, stale=stale, dismissed=dismissed)

    assert workflow.dismissal_refusal(facts(CHANGES)) is None
    assert "stale" in (workflow.dismissal_refusal(facts(CHANGES, stale=False)) or "")
    assert "already" in (workflow.dismissal_refusal(facts(CHANGES, dismissed=True)) or "")
    assert workflow.dismissal_refusal(facts(APPROVE)) == "Only a request for changes is dismissed."


def test_a_verdict_says_which_artifacts_changed_since_it_was_given():
    changed = workflow.changed_since({"design_spec": 3, "flow_chart": 1}, {
        "design_spec": 4, "flow_chart": 1, "sequence_diagram": 0, "protocol_specs": 2,
    })  # fmt: skip

    assert [(c.kind, c.pinned, c.now) for c in changed] == [
        ("design_spec", 3, 4),
        ("protocol_specs", 0, 2),
    ]
    assert changed[0].describe(APPROVE) == (
        "Approved revision 3 of the detailed design spec; it has changed since (revision 4)."
    )
    assert changed[1].describe(CHANGES) == (
        "Given before the scoped protocol specifications had any text (now revision 2)."
    )
