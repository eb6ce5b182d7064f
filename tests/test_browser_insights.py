"""The insights page in a real browser, on the demo's months of history: at a desk's
width and a phone's, and with JavaScript off."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLES = [
    "summary", "phase-time", "phase-medians", "lead-time", "reviews", "move-backs",
    "unknowns", "reminders", "breakout",
]  # fmt: skip


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())
    User = get_user_model()
    for person in User.objects.all():
        # The factories' password, which `new_page` logs in with.
        person.set_password(PASSWORD)
        person.save(update_fields=["password"])
    return {name: User.objects.get(username=name) for name in ("lead", "principal")}


def test_the_squad_insights_at_a_desk_and_on_a_phone(new_page, demo):
    page = new_page(demo["lead"])
    page.goto("/squads/payments/")
    page.get_by_role("link", name="Insights").click()

    expect(page).to_have_url(re.compile(r"/squads/payments/insights/$"))
    expect(page.get_by_role("heading", name="Insights: Payments Squad")).to_be_visible()
    signals = page.locator(".signal-list")
    expect(signals).to_contain_text("milestones went back from design review to design spec.")
    expect(signals).to_contain_text("of unknowns were raised after the design review")
    charts = page.locator("svg.chart[role=img]")
    expect(charts).to_have_count(6)
    for index in range(6):
        chart = charts.nth(index)
        labelled = chart.get_attribute("aria-labelledby") or ""
        assert chart.locator("title").first.get_attribute("id") in labelled.split()
    for name in TABLES:
        expect(page.locator(f"#table-{name} table")).to_be_visible()
    page.screenshot(path="test-artifacts/insights-1280.png", full_page=True)

    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path="test-artifacts/insights-375.png", full_page=True)

    page.get_by_role("link", name="30 days").click()
    expect(page.locator("#period-note")).to_contain_text("(30 days)")


def test_the_tables_and_the_period_picker_work_without_javascript(browser, live_server, demo):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "lead")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/squads/payments/insights/")

    for name in TABLES:
        rows = page.locator(f"#table-{name} tbody tr")
        assert rows.count() > 0, name
    page.fill("input[name=since]", "2020-01-01")
    page.fill("input[name=until]", "2020-01-31")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#period-note")).to_contain_text(re.compile(r"1 Jan 2020 \W 31 Jan 2020"))
    csv_link = page.get_by_role("link", name="Every figure as CSV")
    answer = page.request.get(
        live_server.url + "/squads/payments/insights/" + csv_link.get_attribute("href")
    )
    assert answer.headers["content-type"].startswith("text/csv")
    context.close()


def test_the_principal_engineer_compares_both_breakout_modes(new_page, demo):
    page = new_page(demo["principal"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()

    breakout = page.locator("#table-breakout tbody")
    expect(breakout).to_contain_text("Engineer")
    expect(breakout).to_contain_text("Meeting")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
