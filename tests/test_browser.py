"""Pages in a real browser: Debian's chromium driven by Playwright against live_server."""

import re

import pytest
from playwright.sync_api import expect

from squads.models import Membership, Squad
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tech_lead_logs_in_creates_a_squad_and_adds_a_member(new_page):
    creator = UserFactory(username="tess", full_name="Tess Lead")
    UserFactory(username="eli", full_name="Eli Engineer")

    page = new_page(creator)
    expect(page.get_by_role("heading", name="My work")).to_be_visible()

    page.get_by_role("link", name="Squads", exact=True).click()
    page.get_by_role("link", name="New squad").click()
    page.get_by_label("Name").fill("Checkout")
    page.get_by_label("Description").fill("Owns the checkout flow.")
    page.get_by_role("button", name="Create squad").click()

    expect(page).to_have_url(re.compile(r"/squads/checkout/$"))
    expect(page.get_by_text("you are its tech lead")).to_be_visible()
    squad = Squad.objects.get(slug="checkout")
    assert squad.memberships.get().user == creator

    page.get_by_label("Username").fill("eli")
    page.locator("#id_role").select_option("engineer")
    page.get_by_role("button", name="Add").click()

    members = page.locator("#members")
    expect(members.get_by_text("Eli Engineer joined as Engineer.")).to_be_visible()
    expect(members.locator("#member-eli")).to_contain_text("Eli Engineer")
    assert Membership.objects.get(squad=squad, user__username="eli").role == "engineer"

    # A typo keeps what was typed and says what is wrong, in place.
    page.get_by_label("Username").fill("nobody-here")
    page.get_by_role("button", name="Add").click()
    expect(members.get_by_text("No one has the username “nobody-here”.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("nobody-here")
    page.screenshot(path="test-artifacts/squad-members.png", full_page=True)


def test_tech_lead_changes_a_role_and_removes_a_member_after_confirming(
    new_page, squad, tech_lead, engineer
):
    page = new_page(tech_lead)
    page.goto(f"/squads/{squad.slug}/")

    page.get_by_label("Role of").nth(0).wait_for()
    page.locator(f"#role-{engineer.pk}").select_option("product")
    expect(page.locator("#members").get_by_text("is now Product representative")).to_be_visible()
    assert Membership.objects.get(squad=squad, user=engineer).role == "product"

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#member-{engineer.username}").get_by_role("link", name="Remove").click()
    expect(page.locator("#members").get_by_text("has left Payments")).to_be_visible()
    expect(page.locator(f"#member-{engineer.username}")).to_have_count(0)
    assert not Membership.objects.filter(squad=squad, user=engineer).exists()


def test_member_management_works_without_javascript(
    browser, live_server, squad, tech_lead, password
):
    UserFactory(username="nadia", full_name="Nadia NoScript")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", tech_lead.username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")

    page.goto(f"/squads/{squad.slug}/")
    page.get_by_label("Username").fill("nadia")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Nadia NoScript joined as Engineer.")).to_be_visible()

    nadia = Membership.objects.get(squad=squad, user__username="nadia").user
    page.locator("#member-nadia").get_by_role("link", name="Remove").click()
    expect(page.get_by_role("heading", name=re.compile("Remove Nadia NoScript"))).to_be_visible()
    page.get_by_role("button", name="Remove Nadia NoScript").click()
    expect(page.get_by_text("Nadia NoScript has left Payments.")).to_be_visible()
    assert not Membership.objects.filter(squad=squad, user=nadia).exists()
    context.close()


def test_engineer_sees_members_but_no_management_controls(new_page, squad, tech_lead, engineer):
    page = new_page(engineer)
    page.goto(f"/squads/{squad.slug}/")
    expect(page.locator("#members")).to_contain_text(tech_lead.full_name)
    expect(page.get_by_role("button", name="Add")).to_have_count(0)
    expect(page.get_by_role("link", name="Remove")).to_have_count(0)
