"""The design review live in two browsers, and a whole milestone walked through the pages."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from planning import services
from planning.models import DesignReview, Milestone
from planning.workflow import Phase
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import type_in_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def review(project, tech_lead):
    milestone = services.create_milestone(tech_lead, project, title="Refunds")
    Milestone.objects.filter(pk=milestone.pk).update(phase=Phase.DESIGN_REVIEW)
    milestone.refresh_from_db()
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=timezone.now() + timedelta(hours=1)
    )
    return services.open_review(tech_lead, review)


def test_a_comment_and_verdicts_reach_the_tech_leads_open_page_without_a_reload(
    new_page, review, tech_lead, engineer, squad
):
    second = UserFactory(username="sam", full_name="Sam Second")
    MembershipFactory(squad=squad, user=second, role="engineer")
    lead = new_page(tech_lead)
    lead.goto(review.get_absolute_url())
    expect(lead.locator("#verdicts")).to_contain_text("0 counted approvals (2 needed)")
    lead.evaluate("window.__stayed = true")  # gone if the page reloads

    eng = new_page(engineer)
    eng.goto(review.get_absolute_url())
    section = eng.locator("#artifact-protocol_specs")
    section.get_by_placeholder("Comment on this artifact…").fill("Which errors are retried?")
    section.get_by_role("button", name="Comment").click()
    expect(section.locator(".thread")).to_contain_text("Which errors are retried?")
    eng.locator("input[name=verdict][value=approve]").check()
    eng.get_by_role("button", name="Give verdict").click()
    expect(eng.get_by_text("Your verdict is recorded.")).to_be_visible()

    # The tech lead's page picks both up by itself.
    expect(lead.locator("#thread-protocol_specs")).to_contain_text(
        "Which errors are retried?", timeout=10_000
    )
    expect(lead.locator("#verdicts")).to_contain_text(engineer.display_name, timeout=10_000)
    expect(lead.locator("#verdicts")).to_contain_text("1 counted approval (2 needed)")
    assert lead.evaluate("window.__stayed") is True

    # Not enough approvals yet: closing approved is refused with the reason.
    lead.locator("#outcome").select_option("approved")
    lead.get_by_role("button", name="Close with this outcome").click()
    expect(lead.get_by_text("1 of the 2 counted approvals")).to_be_visible()

    other = new_page(second)
    other.goto(review.get_absolute_url())
    other.locator("input[name=verdict][value=approve]").check()
    other.get_by_role("button", name="Give verdict").click()
    expect(other.get_by_text("Your verdict is recorded.")).to_be_visible()

    lead.goto(review.get_absolute_url())
    lead.locator("#outcome").select_option("approved")
    lead.get_by_role("button", name="Close with this outcome").click()
    expect(lead.get_by_text("The review is closed.")).to_be_visible()
    lead.screenshot(path="test-artifacts/review-closed.png", full_page=True)
    review.refresh_from_db()
    assert (review.status, review.outcome) == ("closed", "approved")

    lead.goto(review.milestone.get_absolute_url())
    lead.get_by_role("button", name="Move on to Kick-off").click()
    expect(lead.get_by_text("The milestone is now in Kick-off.")).to_be_visible()
    review.milestone.refresh_from_db()
    assert review.milestone.phase == Phase.KICKOFF


def _write_and_mark_ready(page, milestone_url: str, kind: str, text: str) -> None:
    page.goto(f"{milestone_url}artifacts/{kind}/")
    page.wait_for_load_state("load")
    type_in_editor(page, text)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(re.compile(r"Saved as revision \d+\."))).to_be_visible()
    page.get_by_role("button", name="Mark ready").click()
    expect(page.get_by_text(re.compile(r"is ready\.$"))).to_be_visible()


def _decide_not_needed(page, milestone_url: str, kind: str) -> None:
    page.goto(f"{milestone_url}artifacts/{kind}/")
    page.get_by_label("Not needed").check()
    page.get_by_label("Why not").fill("Nothing of this kind changes.")
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_text("The decision is saved.")).to_be_visible()


def _move_on(page, milestone_url: str, label: str) -> None:
    page.goto(milestone_url)
    page.get_by_role("button", name=f"Move on to {label}").click()
    expect(page.get_by_text(f"The milestone is now in {label}.")).to_be_visible()


def test_a_milestone_is_walked_from_creation_to_done_through_the_pages(
    new_page, project, tech_lead, engineer, principal, squad
):
    second = UserFactory(username="sam", full_name="Sam Second")
    MembershipFactory(squad=squad, user=second, role="engineer")
    lead = new_page(tech_lead)
    lead.goto(project.get_absolute_url())
    lead.get_by_role("link", name="New milestone").click()
    lead.get_by_label("Title").fill("Expiry reminders")
    lead.get_by_role("button", name="Create milestone").click()
    expect(lead.locator("#readiness")).to_contain_text("To move on to Protocols")
    url = lead.url

    for kind in ("system_architecture", "application_architecture"):
        _write_and_mark_ready(lead, url, kind, "```mermaid\nflowchart LR\n  a --> b\n```\n")
    _move_on(lead, url, "Protocols")
    _write_and_mark_ready(lead, url, "protocol_specs", "## Endpoints\n\n`POST /reminders`\n")
    for kind in ("infrastructure_diagram", "sequence_diagram", "flow_chart"):
        _decide_not_needed(lead, url, kind)
    _move_on(lead, url, "Design spec")
    _write_and_mark_ready(lead, url, "design_spec", "## Goal\n\nRemind before expiry.\n")
    _move_on(lead, url, "Unknowns")

    # An unknown without an owner holds the milestone until someone takes it.
    lead.goto(url)
    add = lead.locator("form.add-unknown")
    add.get_by_label("Title").fill("Which email provider?")
    add.get_by_role("button", name="Add").click()
    expect(lead.locator("#readiness")).to_contain_text("has no owner")
    lead.locator("#unknown-1").get_by_role("link", name="Edit").click()
    lead.locator("#unknown-1").get_by_label("Owner").select_option(label=engineer.display_name)
    lead.locator("#unknown-1").get_by_role("button", name="Save").click()
    expect(lead.locator("#unknown-1.is-editing")).to_have_count(0)
    _move_on(lead, url, "Design review")

    # Review: schedule, open, two approvals, close approved.
    lead.goto(url)
    lead.get_by_role("link", name="Schedule the design review").click()
    lead.get_by_label("When").fill(
        (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    )
    lead.get_by_label("Location").fill("Room Ada")
    lead.get_by_role("button", name="Schedule review").click()
    expect(lead.get_by_text("is scheduled; the squad is invited.")).to_be_visible()
    lead.get_by_role("button", name="Open the review").click()
    expect(lead.get_by_text("The review is open")).to_be_visible()
    review_url = lead.url
    for person in (engineer, second):
        page = new_page(person)
        page.goto(review_url)
        page.locator("input[name=verdict][value=approve]").check()
        page.get_by_role("button", name="Give verdict").click()
        expect(page.get_by_text("Your verdict is recorded.")).to_be_visible()
    lead.goto(review_url)
    lead.locator("#outcome").select_option("approved")
    lead.get_by_role("button", name="Close with this outcome").click()
    expect(lead.get_by_text("The review is closed.")).to_be_visible()
    _move_on(lead, url, "Kick-off")

    # Kick-off: a question from the engineer, answered; the meeting held.
    eng = new_page(engineer)
    eng.goto(url + "kickoff/")
    eng.get_by_label("What is on your mind?").fill("Do we email or push?")
    eng.get_by_role("button", name="Raise it").click()
    expect(eng.get_by_text("Raised; the tech lead will answer.")).to_be_visible()
    lead.goto(url + "kickoff/")
    lead.get_by_label("When").fill(
        (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    )
    lead.get_by_role("button", name="Save and invite the squad").click()
    expect(lead.get_by_text("The kick-off is saved")).to_be_visible()
    lead.get_by_label("Answer").fill("Email first.")
    lead.get_by_role("button", name="Answer").click()
    lead.get_by_role("button", name="Mark as held").click()
    expect(lead.get_by_text("The kick-off is marked as held.")).to_be_visible()
    _move_on(lead, url, "Task breakout")

    # Breakout (engineer mode): a claimed story needs a sub-task; then the unknown is settled.
    eng.goto(url + "breakout/")
    eng.get_by_label("Title").fill("Nightly expiry job")
    eng.get_by_role("button", name="Add story").click()
    eng.locator("#story-1").get_by_role("button", name="Claim").click()
    expect(eng.get_by_text("S-1 is yours.")).to_be_visible()
    lead.goto(url)
    expect(lead.locator("#readiness")).to_contain_text("S-1")
    eng.locator("#story-1").get_by_placeholder("Add a sub-task…").fill(
        "Query cards expiring in 30 days"
    )
    eng.locator("#story-1").get_by_role("button", name="Add").click()
    expect(eng.locator("#story-1")).to_contain_text("Query cards expiring in 30 days")
    eng.goto(url + "unknowns/U-1/")
    eng.get_by_text("Resolve", exact=True).click()
    eng.get_by_label("Resolution").fill("The provider we already use.")
    eng.get_by_role("button", name="Resolve U-1").click()
    expect(eng.get_by_text("U-1 is resolved.")).to_be_visible()

    _move_on(lead, url, "Done")
    expect(lead.locator("#readiness")).to_contain_text("Planning is done")
    lead.screenshot(path="test-artifacts/milestone-done.png", full_page=True)
    milestone = Milestone.objects.get(project=project)
    assert milestone.phase == Phase.DONE
    assert DesignReview.objects.get(milestone=milestone).outcome == "approved"
    packet = lead.request.get(url + "packet.md")
    assert packet.status == 200 and "Nightly expiry job" in packet.text()


def test_a_refused_comment_keeps_what_was_typed_in_its_box(new_page, review, engineer):
    page = new_page(engineer)
    page.goto(review.get_absolute_url())
    section = page.locator("#artifact-protocol_specs")
    box = section.get_by_placeholder("Comment on this artifact…")
    typed = "Retries \x07 after a timeout?"  # a character no one types: refused
    box.fill(typed)
    section.get_by_role("button", name="Comment").click()

    expect(section.locator(".thread [role=alert]")).to_contain_text("control character")
    expect(box).to_have_value(typed)
    assert not review.comments.exists()

    box.fill("Retries after a timeout?")
    section.get_by_role("button", name="Comment").click()
    expect(section.locator(".thread")).to_contain_text("Retries after a timeout?")
    expect(box).to_have_value("")
