"""Every main page in a real browser, at a desktop and a phone width, on the demo's data.

One data set (the demo, `seed_demo`) and one browser context per width keep
the run short. On each page axe-core (from npm) looks for accessibility
violations, and the document may not be wider than the phone's screen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import BrowserContext, Page, expect

from planning.models import DesignReview, Milestone
from planning.workflow import Phase
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = 1280, 375
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path("test-artifacts")
# The innermost elements that reach past the right edge of the screen, to say what is too wide.
WIDEST = """
() => Array.from(document.querySelectorAll("body *"))
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter((e) => !Array.from(e.children).some((c) => c.getBoundingClientRect().right > window.innerWidth + 0.5))
  .slice(0, 4)
  .map((e) => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`)
"""


@dataclass(frozen=True)
class Visit:
    name: str
    user: str
    path: str
    shot: bool = False


def milestone_path(title: str, tail: str = "") -> str:
    milestone = Milestone.objects.select_related("project__squad").get(title=title)
    return milestone.get_absolute_url() + tail


def demo_visits() -> list[Visit]:
    """The main pages of the demo, with the person who would look at each."""
    by_phase = {
        Phase.ARCHITECTURE: "Saved cards in the wallet",
        Phase.PROTOCOLS: "Card updates from the network",
        Phase.DESIGN_SPEC: "Fraud scoring hooks",
        Phase.UNKNOWNS: "Tokenise cards at checkout",
        Phase.DESIGN_REVIEW: "Refunds to saved cards",
        Phase.KICKOFF: "Multi-currency prices",
        Phase.TASK_BREAKOUT: "Receipt localisation",
        Phase.DONE: "Card expiry reminders",
    }
    review = DesignReview.objects.get(milestone__title=by_phase[Phase.DESIGN_REVIEW])
    visits = [
        Visit("dashboard-lead", "lead", "/", shot=True),
        Visit("dashboard-engineer", "eng1", "/", shot=True),
        Visit("dashboard-principal", "principal", "/", shot=True),
        Visit("squads", "lead", "/squads/"),
        Visit("squad", "lead", "/squads/payments/"),
        Visit("projects", "lead", "/projects/"),
        Visit("project", "lead", "/squads/payments/projects/card-vault/"),
    ]
    visits += [
        Visit(f"milestone-{phase}", "lead", milestone_path(title), shot=True)
        for phase, title in by_phase.items()
    ]
    visits += [
        Visit("unknowns", "lead", milestone_path(by_phase[Phase.UNKNOWNS], "unknowns/")),
        Visit("unknown", "lead", milestone_path(by_phase[Phase.UNKNOWNS], "unknowns/U-1/")),
        Visit("review", "lead", review.get_absolute_url(), shot=True),
        Visit("review-engineer", "eng1", review.get_absolute_url()),
        Visit("kickoff", "lead", milestone_path(by_phase[Phase.KICKOFF], "kickoff/")),
        Visit("breakout", "lead", milestone_path(by_phase[Phase.TASK_BREAKOUT], "breakout/")),
        Visit("breakout-meeting", "eng2", milestone_path("Buy now, pay later", "breakout/")),
        Visit("inbox", "lead", "/inbox/"),
        Visit("approvals", "principal", "/approvals/"),
        Visit("insights", "principal", "/insights/"),
        Visit("squad-insights", "lead", "/squads/payments/insights/"),
        Visit("not-found", "lead", "/squads/no-such-squad/"),
    ]
    return visits


def log_in(context: BrowserContext, page: Page, username: str) -> None:
    context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds critical or serious on the page, one line per rule and element."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node['failureSummary']}"
        for violation in results["violations"]
        if violation["impact"] in ("critical", "serious")
        for node in violation["nodes"]
    ]


@pytest.fixture
def demo(db) -> Iterator[list[Visit]]:
    call_command("seed_demo", stdout=StringIO())
    # Everyone in the demo logs in with the demo's password; the tests know theirs.
    from django.contrib.auth import get_user_model

    for user in get_user_model().objects.all():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    yield demo_visits()


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_every_main_page_has_no_serious_violation_and_fits_the_screen(
    browser, live_server, demo, width
):
    SHOTS.mkdir(exist_ok=True)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    user = None
    for visit in demo:
        if visit.user != user:
            log_in(context, page, visit.user)
            user = visit.user
        page.goto(visit.path)
        page.wait_for_load_state("load")
        found = serious_violations(page)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            found.append(f"the document is {scroll_width} px wide: {page.evaluate(WIDEST)}")
        if found:
            problems[visit.name] = found
        if visit.shot:
            # Diagrams are drawn after the page loads; the pictures show them drawn.
            undrawn = "pre.mermaid:not([data-processed=drawn]):not([data-processed=error])"
            expect(page.locator(undrawn)).to_have_count(0, timeout=15_000)
            page.screenshot(path=str(SHOTS / f"page-{visit.name}-{width}.png"), full_page=True)
            # What one sees first, without scrolling.
            page.screenshot(path=str(SHOTS / f"page-{visit.name}-{width}-top.png"))
    context.close()
    assert not problems, json.dumps(problems, indent=1)


def test_my_work_shows_the_open_review_to_its_reviewers_and_the_deferrals_to_the_principal(
    new_page, demo
):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    page = new_page(users.get(username="eng1"))
    # Ezra approved, then the design spec changed: his approval is stale, so the open
    # review waits for his verdict again, first on the page, with when it is due.
    verdicts = page.locator("#my-verdicts")
    expect(verdicts).to_contain_text("Design review 1 of M14 Refunds to saved cards")
    expect(verdicts).to_contain_text("due")
    expect(page.locator(".work-card").first).to_have_id("my-verdicts")

    page = new_page(users.get(username="principal"))
    # Paul has not: it waits for his verdict, first on the page.
    verdicts = page.locator("#my-verdicts")
    expect(verdicts).to_contain_text("Design review 1 of M14 Refunds to saved cards")
    expect(page.locator(".work-card").first).to_have_id("my-verdicts")
    deferrals = page.locator("#my-deferrals")
    expect(deferrals).to_contain_text("Card art in email receipts")
    expect(page.get_by_role("heading", name="Milestones I lead")).to_have_count(0)


def test_an_unknown_added_in_place_replaces_the_pages_old_message_with_its_own(
    new_page, project, tech_lead
):
    from planning import services

    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    page = new_page(tech_lead)
    page.goto(milestone.get_absolute_url() + "edit/")
    page.get_by_role("button", name="Save milestone").click()
    expect(page.locator("#main > .messages")).to_contain_text("The milestone is saved.")

    unknowns = page.locator("#unknowns")
    page.locator("#unknowns-fold > summary").click()
    unknowns.get_by_label("Title").fill("Which HSM?")
    unknowns.get_by_role("button", name="Add").click()

    expect(unknowns.get_by_text("U-1 is added.")).to_be_visible()
    expect(page.locator("#main > .messages")).to_have_count(0)


def test_on_a_phone_the_menu_opens_without_javascript_and_reaches_every_section(
    browser, live_server, project, tech_lead, password
):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": PHONE, "height": 800},
        java_script_enabled=False,
    )
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", tech_lead.username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")

    bar = page.locator(".topbar")
    expect(bar.get_by_role("link", name="Inbox")).to_be_visible()
    expect(bar.get_by_role("link", name="Projects")).to_be_hidden()
    bar.get_by_text("Menu").click()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "page-menu-open-375.png"))
    expect(bar.get_by_role("button", name="Log out")).to_be_visible()
    bar.get_by_role("link", name="Projects").click()

    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    context.close()


def test_each_approval_card_s_labels_check_that_card_s_radios(new_page, demo):
    from django.contrib.auth import get_user_model

    page = new_page(get_user_model().objects.get(username="principal"))
    page.goto("/approvals/")
    cards = page.locator(".approval")
    expect(cards).to_have_count(2)

    cards.nth(1).get_by_text("Approve", exact=True).click()

    expect(cards.nth(1).get_by_role("radio", name="Approve")).to_be_checked()
    expect(cards.nth(0).get_by_role("radio", name="Approve")).not_to_be_checked()
    expect(cards.nth(0).get_by_role("radio", name="Reject")).not_to_be_checked()
