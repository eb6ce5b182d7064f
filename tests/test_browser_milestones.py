"""The milestone workflow and the artifact editor in a real browser."""

import re
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from planning import services
from planning.models import Activity, Milestone
from planning.workflow import ArtifactKind, Phase
from tests.helpers import type_in_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DIAGRAM = """Only what this milestone touches.

```mermaid
flowchart LR
  shopper([Shopper]) --> checkout[Checkout]
  checkout --> vault[[Vault provider]]
```
"""


def milestone_url(milestone: Milestone, tail: str = "") -> str:
    project = milestone.project
    return (
        f"/squads/{project.squad.slug}/projects/{project.slug}/milestones/{milestone.number}/{tail}"
    )


def write_in_editor(page, text: str) -> None:
    page.wait_for_url(re.compile(r"/artifacts/[a-z_]+/$"))
    type_in_editor(page, text)


def test_tech_lead_draws_a_diagram_marks_architecture_ready_and_advances(
    new_page, project, tech_lead
):
    page = new_page(tech_lead)
    page.goto(project.get_absolute_url())
    page.get_by_role("link", name="New milestone").click()
    page.get_by_label("Title").fill("Tokenise cards")
    page.get_by_label("Goal").fill("Keep only tokens.")
    page.get_by_role("button", name="Create milestone").click()
    expect(page.get_by_role("heading", name=re.compile("Tokenise cards"))).to_be_visible()
    milestone = Milestone.objects.get(project=project)
    assert milestone.phase == Phase.ARCHITECTURE and milestone.artifacts.count() == 7

    readiness = page.locator("#readiness")
    expect(readiness).to_contain_text("To move on to Protocols")
    expect(readiness.get_by_role("button", name="Move on to Protocols")).to_be_disabled()

    readiness.get_by_role("link", name="Scoped system architecture diagram is not ready.").click()
    write_in_editor(page, DIAGRAM)
    # The live preview draws the diagram: an image of the SVG Mermaid drew in its frame.
    expect(page.locator("#preview")).to_contain_text("Only what this milestone touches.")
    drawn = page.locator("#preview img.diagram-image")
    expect(drawn).to_have_count(1, timeout=15_000)
    assert "Vault provider" in unquote(drawn.get_attribute("src"))
    page.screenshot(path="test-artifacts/artifact-editor.png", full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as revision 1.")).to_be_visible()
    page.get_by_role("button", name="Mark ready").click()
    expect(page.get_by_text("Scoped system architecture diagram is ready.")).to_be_visible()

    page.goto(milestone_url(milestone, "artifacts/application_architecture/"))
    write_in_editor(
        page, "Three components.\n\n```mermaid\nflowchart TB\n  api --> logic --> db\n```\n"
    )
    expect(page.locator("#preview img.diagram-image")).to_have_count(1, timeout=15_000)
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Mark ready").click()
    expect(page.get_by_text("Application architecture is ready.")).to_be_visible()

    page.goto(milestone_url(milestone))
    expect(readiness).to_contain_text("Everything Protocols needs is in place.")
    readiness.get_by_role("button", name="Move on to Protocols").click()
    expect(page.get_by_text("The milestone is now in Protocols.")).to_be_visible()
    expect(page.locator(".step-current")).to_contain_text("Protocols")
    expect(page.locator("#readiness")).to_contain_text("To move on to Design spec")
    page.screenshot(path="test-artifacts/milestone-protocols.png", full_page=True)
    milestone.refresh_from_db()
    assert milestone.phase == Phase.PROTOCOLS
    assert Activity.objects.filter(milestone=milestone, verb="phase_advanced").count() == 1


def test_engineer_sees_no_advance_button_and_a_forged_move_is_refused(
    new_page, project, tech_lead, engineer
):
    milestone = services.create_milestone(tech_lead, project, title="Webhooks")
    page = new_page(engineer)
    page.goto(milestone_url(milestone))
    expect(page.locator("#readiness")).to_contain_text("To move on to Protocols")
    expect(page.get_by_role("button", name=re.compile("Move on to"))).to_have_count(0)

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(
        page.url + "move/", form={"to": "protocols"}, headers={"X-CSRFToken": token}
    )
    assert answer.status == 403
    milestone.refresh_from_db()
    assert milestone.phase == Phase.ARCHITECTURE


XSS_BODY = """# Payloads

<script>window.__pwned = "script"</script>
<img src="x" onerror="window.__pwned = 'onerror'">
<svg onload="window.__pwned = 'svg'"></svg>
[link](javascript:window.__pwned='link')
<a href="javascript:window.__pwned='anchor'" id="evil-anchor">anchor</a>
<div hx-get="/admin/" hx-trigger="load" hx-target="body">htmx</div>

```mermaid
flowchart LR
  A["Vault <img src=x onerror=window.__pwned='label'>"] --> B
  click A call window.alert("click")
  click B href "javascript:window.__pwned='href'"
  classDef evil fill:url(javascript:window.__pwned='css')
  class A evil
```
"""


def test_markdown_payloads_do_not_run_in_the_browser(new_page, project, tech_lead):
    milestone = services.create_milestone(tech_lead, project, title="Hostile")
    artifact = milestone.artifacts.get(kind=ArtifactKind.SYSTEM_ARCHITECTURE)
    services.save_artifact_body(tech_lead, artifact, body=XSS_BODY, base_revision=0)

    page = new_page(tech_lead)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(milestone_url(milestone, "artifacts/system_architecture/"))
    expect(page.locator("#preview img.diagram-image")).to_have_count(1, timeout=15_000)

    # The live preview path renders the same text again, through htmx.
    write_in_editor(page, XSS_BODY + "\nmore")
    expect(page.locator("#preview")).to_contain_text("more")
    expect(page.locator("#preview img.diagram-image")).to_have_count(1, timeout=15_000)
    page.locator("#preview img.diagram-image").first.click()
    page.wait_for_timeout(500)

    page.screenshot(path="test-artifacts/xss.png", full_page=True)
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    html = page.locator("#preview").inner_html()
    assert "<script" not in html
    assert "onerror=" not in html and "onload=" not in html
    assert 'href="javascript:' not in html and "click A" not in html
    assert "url(javascript" not in html
    assert "hx-get" not in html
    assert page.locator("#preview [href^='javascript'], #preview [hx-get]").count() == 0
