"""Unknowns and deferrals in a real browser, with three people in their own sessions."""

import re

import pytest
from playwright.sync_api import expect

from planning import services
from planning.models import DeferralRequest, Milestone, Unknown
from planning.workflow import Phase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def milestone_in_unknowns(project, tech_lead):
    milestone = services.create_milestone(tech_lead, project, title="Vault integration")
    # The artifact phases are covered elsewhere; start where unknowns are listed.
    Milestone.objects.filter(pk=milestone.pk).update(phase=Phase.UNKNOWNS)
    milestone.refresh_from_db()
    return milestone


def test_a_blocker_is_deferred_with_the_principal_engineers_approval(
    new_page, milestone_in_unknowns, tech_lead, engineer, principal
):
    milestone = milestone_in_unknowns
    url = milestone.get_absolute_url()

    # The engineer adds a blocker and takes it.
    eng = new_page(engineer)
    eng.goto(url)
    # No unknown listed yet: nothing to tick before the squad has looked.
    expect(eng.locator("#readiness")).to_contain_text("No unknown is listed yet.")
    add = eng.locator("form.add-unknown")
    add.get_by_label("Title").fill("Does the vault support Amex network tokens?")
    add.get_by_label("Priority").select_option("blocker")
    add.get_by_label("Owner").select_option(label=engineer.display_name)
    add.get_by_role("button", name="Add").click()
    expect(eng.locator("#unknowns")).to_contain_text("Does the vault support Amex network tokens?")
    expect(eng.locator("#unknowns")).to_contain_text("U-1 is added.")
    # The readiness panel refreshes in place: the new blocker now holds the milestone.
    expect(eng.locator("#readiness")).to_contain_text("Blocker U-1")
    unknown = Unknown.objects.get(milestone=milestone)
    assert (unknown.key, unknown.priority, unknown.owner) == ("U-1", "blocker", engineer)

    # The tech lead sees the milestone blocked, and asks for a deferral.
    lead = new_page(tech_lead)
    lead.goto(url)
    readiness = lead.locator("#readiness")
    expect(readiness).to_contain_text("Blocker U-1")
    expect(readiness.get_by_role("button", name="Move on to Design review")).to_be_disabled()
    readiness.get_by_role("link", name=re.compile("Blocker U-1")).click()
    lead.get_by_text("Ask the principal engineer to defer it").click()
    lead.get_by_label("Reason").fill("Amex volume is small until the EU launch.")
    lead.get_by_label("Until").fill("M3")
    lead.get_by_role("button", name="Request deferral").click()
    expect(
        lead.get_by_text("The deferral request is sent to the principal engineer.")
    ).to_be_visible()
    expect(lead.locator(".badge-pending").first).to_contain_text("deferral pending")

    # The principal engineer approves it from the approvals queue.
    pe = new_page(principal)
    nav_link = pe.locator("nav.nav").get_by_role("link", name=re.compile("Approvals"))
    expect(nav_link).to_contain_text("1")
    nav_link.click()
    card = pe.locator(".approval", has_text="U-1")
    expect(card).to_contain_text("Amex volume is small until the EU launch.")
    card.get_by_label("Approve").check()
    card.get_by_label("Note").fill("Agreed; revisit before the EU launch.")
    card.get_by_role("button", name="Record decision").click()
    expect(pe.get_by_text("Deferral of U-1 approved.")).to_be_visible()
    expect(pe.get_by_text("Nothing waits for you")).to_be_visible()
    pe.screenshot(path="test-artifacts/approvals.png", full_page=True)

    # The milestone can now move on: the tech lead's readiness panel says so.
    lead.goto(url)
    expect(readiness).to_contain_text("Everything Design review needs is in place.")
    expect(readiness.get_by_role("button", name="Move on to Design review")).to_be_enabled()
    expect(lead.locator("#unknown-1")).to_contain_text("Deferred")
    lead.screenshot(path="test-artifacts/milestone-unknowns.png", full_page=True)
    assert DeferralRequest.objects.get().status == "approved"
    unknown.refresh_from_db()
    assert unknown.status == Unknown.Status.DEFERRED


def test_unknowns_are_edited_in_place(new_page, milestone_in_unknowns, tech_lead, engineer):
    milestone = milestone_in_unknowns
    services.add_unknown(tech_lead, milestone, title="Key rotation owner", priority="high")
    page = new_page(engineer)
    page.goto(milestone.get_absolute_url() + "unknowns/")
    row = page.locator("#unknown-1")
    row.get_by_role("link", name="Edit").click()
    row = page.locator("#unknown-1")
    expect(row.get_by_label("Title")).to_have_value("Key rotation owner")
    row.get_by_label("Owner").select_option(label=engineer.display_name)
    row.get_by_label("Status").select_option("investigating")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#unknown-1.is-editing")).to_have_count(0)
    expect(page.locator("#unknown-1 .badge-unknown-investigating")).to_have_text("Investigating")
    expect(page.locator("#unknown-1")).to_contain_text(engineer.display_name)
    # Still the same page: the row changed without a reload.
    assert page.url.endswith("/unknowns/")
    unknown = Unknown.objects.get(milestone=milestone)
    assert (unknown.status, unknown.owner) == ("investigating", engineer)
