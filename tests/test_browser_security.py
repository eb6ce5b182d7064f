"""The main pages under the Content-Security-Policy in a real browser.

Each page is opened at 1280 px with a listener for policy violations in every
frame; every answer must carry the policy and the Permissions-Policy, the
console must report no violation, and every Mermaid block must have become
a drawn image.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from config.staticfiles import served_files
from planning import services
from planning.models import Milestone
from planning.workflow import ArtifactKind, Phase
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import type_in_editor, write_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FLOWCHART = """Only what this milestone touches.

```mermaid
flowchart LR
  shopper([Shopper]) --> checkout[Checkout<br/>service]
  checkout --> vault[[Vault provider]]
```
"""
SECOND_FLOWCHART = """Three layers.

```mermaid
flowchart TB
  api[API] --> logic[Token logic] --> db[(Tokens)]
```
"""
SEQUENCE = """How a card becomes a token.

```mermaid
sequenceDiagram
  participant App
  participant Vault
  App->>Vault: tokenise(card)
  Vault-->>App: token
```
"""

# Every frame reports each violation to the console, where the test collects it.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked "
    + (event.blockedURI || "inline") + " in " + (event.sourceFile || document.URL));
});
"""
MERMAID = "/static/vendor/mermaid/"
DIAGRAM_CODE = ("/static/js/diagrams.js", "/static/js/diagram-frame.js", MERMAID)


class Watch:
    """What the browser saw on one page: answers, violations and Mermaid's downloads."""

    def __init__(self, page) -> None:
        self.page = page
        self.answers: list = []
        self.violations: list[str] = []
        page.context.add_init_script(REPORT_VIOLATIONS)
        page.on("response", self._response)
        page.on("console", self._console)

    def _response(self, response) -> None:
        self.answers.append(response)

    def _console(self, message) -> None:
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text:
            self.violations.append(text)

    def open(self, url: str) -> None:
        self.answers.clear()
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def app_answers(self) -> list:
        """Answers of the app itself: live_server serves static files apart, without middleware."""
        return [a for a in self.answers if a.url.startswith("http") and "/static/" not in a.url]

    def diagram_code(self) -> list[str]:
        return [a.url for a in self.answers if any(part in a.url for part in DIAGRAM_CODE)]

    def mermaid_files(self) -> list[str]:
        return [a.url.rsplit("/", 1)[-1] for a in self.answers if MERMAID in a.url]

    def mermaid_bytes(self) -> int:
        return sum(len(a.body()) for a in self.answers if MERMAID in a.url)

    def check(self, name: str) -> None:
        """The policy headers on every answer, no violation, every diagram drawn."""
        self.page.wait_for_timeout(300)  # late violations, e.g. of a style added after load
        for answer in self.app_answers():
            headers = answer.all_headers()
            where = f"{name}: {answer.request.method} {answer.url}"
            assert "content-security-policy" in headers, where
            assert "permissions-policy" in headers, where
            policy = headers["content-security-policy"]
            if "/diagrams/frame/" in answer.url:
                assert "style-src 'unsafe-inline'" in policy, where
            else:
                assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
            assert headers.get("cache-control") == "private, no-store", where
        assert self.violations == [], f"{name}: {self.violations}"
        assert_diagrams_drawn(self.page)


def assert_diagrams_drawn(page) -> None:
    expect(page.locator("pre.mermaid:not([data-processed=drawn])")).to_have_count(0, timeout=20_000)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll("pre.mermaid")).every((block) => {
            const image = block.closest("figure.diagram")?.querySelector("img");
            return image && image.complete && image.naturalWidth > 0 && image.naturalHeight > 0;
        })""",
        timeout=10_000,
    )


def milestone_path(milestone: Milestone, tail: str = "") -> str:
    return milestone.get_absolute_url() + tail


@pytest.fixture
def review(project, tech_lead):
    """An open design review of a milestone with two flowcharts and a sequence diagram."""
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    write_artifact(tech_lead, milestone, ArtifactKind.SYSTEM_ARCHITECTURE, FLOWCHART)
    write_artifact(tech_lead, milestone, ArtifactKind.APPLICATION_ARCHITECTURE, SECOND_FLOWCHART)
    write_artifact(tech_lead, milestone, ArtifactKind.SEQUENCE_DIAGRAM, SEQUENCE)
    Milestone.objects.filter(pk=milestone.pk).update(phase=Phase.DESIGN_REVIEW)
    milestone.refresh_from_db()
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=timezone.now() + timedelta(hours=1)
    )
    return services.open_review(tech_lead, review)


def test_main_pages_run_under_the_policy_and_draw_every_diagram(
    new_page, review, squad, tech_lead, engineer, principal
):
    milestone = review.milestone
    services.add_unknown(tech_lead, milestone, title="Which vault provider?", owner=engineer)
    lead = new_page(tech_lead)
    watch = Watch(lead)

    watch.open("/")
    expect(lead.get_by_role("heading", name="My work")).to_be_visible()
    watch.check("dashboard")
    assert watch.diagram_code() == [], "a page without a diagram loads no diagram code"

    watch.open(milestone_path(milestone))
    expect(lead.locator("#readiness")).to_be_visible()
    watch.check("milestone")
    lead.screenshot(path="test-artifacts/csp-milestone.png", full_page=True)

    # The editor's live preview draws what is typed, through htmx and the frame.
    watch.open(milestone_path(milestone, "artifacts/flow_chart/"))
    type_in_editor(lead, FLOWCHART + "\n" + SEQUENCE)
    preview = lead.locator("#preview")
    expect(preview.locator("img.diagram-image")).to_have_count(2, timeout=20_000)
    expect(preview.locator("img.diagram-image").first).to_have_attribute(
        "alt", re.compile(r"^Flowchart: shopper")
    )
    expect(preview.locator("img.diagram-image").nth(1)).to_have_attribute(
        "alt", "Sequence diagram: participant App"
    )
    watch.check("artifact editor")
    lead.screenshot(path="test-artifacts/csp-editor.png", full_page=True)

    # A syntax error is a one-line note under the source, naming the line of the text.
    type_in_editor(lead, "```mermaid\nflowchart LR\n  a -->\n```\n")
    expect(preview.locator(".diagram-error")).to_contain_text(
        "This diagram has an error on line 3", timeout=20_000
    )
    assert watch.violations == []

    watch.open(milestone_path(milestone, "unknowns/"))
    expect(lead.locator("#unknowns")).to_contain_text("Which vault provider?")
    watch.check("unknowns")

    watch.open(squad.get_absolute_url())
    watch.check("squad")

    watch.open("/inbox/")
    watch.check("inbox")

    watch.open("/api/docs/")
    expect(lead.locator(".swagger-ui .info .title")).to_contain_text("Squad Planner API")
    watch.check("API docs")

    principal_page = new_page(principal)
    principal_watch = Watch(principal_page)
    principal_watch.open("/approvals/")
    expect(principal_page.get_by_role("heading", name="Deferrals waiting for you")).to_be_visible()
    principal_watch.check("approvals")
    assert principal_watch.diagram_code() == []

    # The review page: three diagrams, and a comment with a fourth from someone else,
    # which reaches this page through the poller and is drawn there.
    lead_page = lead
    watch.open(review.get_absolute_url())
    expect(lead_page.locator("img.diagram-image")).to_have_count(3, timeout=20_000)
    watch.check("review")
    # Mermaid's ES module build loads the code of the kinds in use, not of every kind.
    loaded = watch.mermaid_files()
    print(f"\nMermaid for two flowcharts and a sequence diagram: {watch.mermaid_bytes()} bytes")
    assert any("flowDiagram" in name for name in loaded)
    assert any("sequenceDiagram" in name for name in loaded)
    assert not any(kind in name for name in loaded for kind in ("gantt", "pie", "classDiagram"))
    mermaid_total = sum(
        file.stat().st_size for path, file in served_files() if path.startswith("vendor/mermaid/")
    )
    assert watch.mermaid_bytes() < mermaid_total / 2

    second = UserFactory(username="sam", full_name="Sam Second")
    MembershipFactory(squad=squad, user=second, role="engineer")
    other = new_page(second)
    other.goto(review.get_absolute_url())
    general = other.locator("#general")
    general.get_by_placeholder("A comment on the design as a whole…").fill(
        "Retries as I see them:\n\n```mermaid\nflowchart LR\n  try --> wait --> try\n```\n"
    )
    general.get_by_role("button", name="Comment").click()
    expect(general.locator(".thread")).to_contain_text("Retries as I see them")
    expect(general.get_by_placeholder("A comment on the design as a whole…")).to_have_value("")

    expect(lead_page.locator("#thread-general")).to_contain_text(
        "Retries as I see them", timeout=10_000
    )
    expect(lead_page.locator("#thread-general img.diagram-image")).to_have_count(1, timeout=20_000)
    watch.check("review after a live update")
    lead_page.screenshot(path="test-artifacts/csp-review.png", full_page=True)


def test_admin_pages_run_under_the_policy(new_page, project, tech_lead):
    admin = UserFactory(username="ada", is_staff=True, is_superuser=True)
    milestone = services.create_milestone(tech_lead, project, title="Audit")
    page = new_page(admin)
    watch = Watch(page)
    for url in (
        "/admin/",
        "/admin/planning/milestone/",
        f"/admin/planning/milestone/{milestone.pk}/change/",
        "/admin/accounts/user/add/",
    ):
        watch.open(url)
        expect(page.locator("#user-tools")).to_contain_text("Log out")
        watch.check(url)
