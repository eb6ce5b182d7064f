"""The decision log (DESIGN §8): built from Activity rows, on the milestone page, in the API and the packet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from planning import services
from planning.models import Verdict
from planning.packet import design_packet
from planning.services.decisions import decisions
from planning.workflow import ArtifactKind, Phase
from tests.helpers import artifact_of, assert_api_error, put_in_phase

pytestmark = pytest.mark.django_db

WHEN = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
V1 = "/api/v1"


@pytest.fixture
def decided(project, tech_lead, engineer, product, principal):
    """A milestone through one of each decision, in this order."""
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    services.decide_artifact_need(
        tech_lead,
        artifact_of(milestone, ArtifactKind.FLOW_CHART),
        needed=False,
        reason="The sequence diagram covers the flow.",
    )
    unknown = services.add_unknown(engineer, milestone, title="Which HSM?", owner=engineer)
    deferral = services.request_deferral(
        tech_lead, unknown, reason="Vendor answers in May.", defer_until="M2"
    )
    services.decide_deferral(principal, deferral, decision="approve", note="M2 is soon enough.")
    put_in_phase(milestone, Phase.DESIGN_REVIEW)
    review = services.open_review(
        tech_lead, services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    )
    resolved = services.add_comment(engineer, review, body="Retries double-charge.", blocking=True)
    services.set_comment_resolved(engineer, resolved, True)
    overruled = services.add_comment(product, review, body="No audit trail.", blocking=True)
    services.overrule_comment(principal, overruled, "The audit log covers it.")
    services.set_verdict(
        principal, review, Verdict.Choice.APPROVE_WITH_CONDITIONS, "Fine.", ["Load-test the vault"]
    )
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE, "Good.")
    services.close_review(tech_lead, review, "approved")
    milestone.refresh_from_db()
    services.move_back(tech_lead, milestone, to=Phase.DESIGN_SPEC, note="Pricing changed.")
    return milestone


def test_the_log_holds_each_decision_oldest_first_with_what_it_needs(decided, principal, engineer):
    log = decisions(decided)

    assert [d.kind for d in log] == [
        "artifact_need_decided",
        "deferral_approved",
        "comment_blocking",
        "blocking_resolved",
        "comment_blocking",
        "comment_overruled",
        "condition_added",
        "review_closed",
        "phase_moved_back",
    ]
    by_kind = {d.kind: d for d in log}
    assert "The sequence diagram covers the flow." in by_kind["artifact_need_decided"].summary
    assert "M2 is soon enough." in by_kind["deferral_approved"].summary
    assert "The audit log covers it." in by_kind["comment_overruled"].summary
    assert "U-2 “Load-test the vault”" in by_kind["condition_added"].summary
    assert "Pricing changed." in by_kind["phase_moved_back"].summary
    assert [(v["reviewer"], v["label"]) for v in by_kind["review_closed"].verdicts] == [
        (principal.display_name, "approved with conditions"),
        (engineer.display_name, "approved"),
    ]


def test_a_note_too_long_for_the_summary_is_kept_whole(project, tech_lead):
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    put_in_phase(milestone, Phase.UNKNOWNS)
    note = "Because " + "the pricing model changed again " * 15

    services.move_back(tech_lead, milestone, to=Phase.ARCHITECTURE, note=note)

    [decision] = decisions(milestone)
    assert decision.summary.endswith("…") and decision.note == note.strip()


def test_the_api_lists_the_decisions_oldest_first_paginated(decided, engineer):
    client = APIClient()
    client.force_authenticate(engineer)

    body = client.get(f"{V1}/milestones/{decided.pk}/decisions/?page_size=4").json()

    assert body["count"] == 9 and body["next"] and len(body["results"]) == 4
    first = body["results"][0]
    assert (first["kind"], first["label"]) == ("artifact_need_decided", "On-need artifact")
    assert first["data"]["reason"] == "The sequence diagram covers the flow."
    closed = client.get(f"{V1}/milestones/{decided.pk}/decisions/").json()["results"][7]
    assert [v["verdict"] for v in closed["verdicts"]] == ["approve_with_conditions", "approve"]


def test_the_api_log_is_404_to_an_outsider(decided, outsider):
    client = APIClient()
    client.force_authenticate(outsider)

    assert_api_error(client.get(f"{V1}/milestones/{decided.pk}/decisions/"), 404)


@pytest.mark.parametrize("page", ["0", "x", "99"])
def test_a_page_that_is_not_there_is_a_404_with_a_detail(decided, engineer, page):
    client = APIClient()
    client.force_authenticate(engineer)

    assert_api_error(client.get(f"{V1}/milestones/{decided.pk}/decisions/?page={page}"), 404)


def test_the_milestone_page_has_the_decision_log(client, decided, engineer):
    client.force_login(engineer)

    page = client.get(decided.get_absolute_url()).content.decode()

    assert 'id="decisions"' in page and "Decision log" in page
    assert "Blocking comment overruled" in page and "The audit log covers it." in page


def test_the_packet_has_the_decision_log_and_says_whose_condition_an_unknown_is(decided, principal):
    packet = design_packet(decided)

    section = packet.split("## Decision log\n", 1)[1]
    assert "**Review outcome**" in section and "**Moved back**" in section
    assert f"Condition of {principal.display_name}'s approval in design review 1" in packet
