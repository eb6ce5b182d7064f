"""The artifact editor in a real browser, at a desktop's width and a phone's.

CodeMirror over the form's textarea: what is typed survives another form's
button, a reload and a visit elsewhere; Ctrl+S saves; leaving with unsaved
text asks first; a diagram's error names its line; without JavaScript the
textarea alone still saves; and the page passes axe-core and fits a phone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from planning import services
from planning.models import Milestone
from planning.workflow import ArtifactKind
from tests.factories import PASSWORD
from tests.helpers import artifact_of, type_in_editor, write_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 375}
FLOW = ArtifactKind.FLOW_CHART
SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
TYPED = "## Checkout\n\nThe shopper pays; the vault keeps the card.\n"
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def milestone(project, tech_lead) -> Milestone:
    return services.create_milestone(tech_lead, project, title="Tokenise cards")


@pytest.fixture(params=sorted(WIDTHS), ids=sorted(WIDTHS))
def width(request) -> int:
    return WIDTHS[request.param]


@pytest.fixture
def lead_page(new_page, tech_lead, width):
    page = new_page(tech_lead)
    page.set_viewport_size({"width": width, "height": 900})
    return page


def editor_url(milestone: Milestone, kind: str) -> str:
    return artifact_of(milestone, kind).get_absolute_url()


def open_editor(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    expect(page.locator(".cm-editor .cm-content")).to_be_visible()


def editor_text(page) -> str:
    return page.evaluate(
        "document.getElementById('artifact-editor').editorView.state.doc.toString()"
    )


def leave_anyway(page) -> None:
    """Accept the "leave the page?" question once, and remember that it was asked."""
    asked: list[str] = []

    def accept(dialog) -> None:
        asked.append(dialog.type)
        dialog.accept()

    page.once("dialog", accept)
    page.asked = asked


def test_typed_text_survives_the_need_decision_the_form_beside_it(lead_page, milestone, width):
    page = lead_page
    open_editor(page, editor_url(milestone, FLOW))
    type_in_editor(page, TYPED)

    page.get_by_label("Needed", exact=True).check()
    page.get_by_role("button", name="Save decision").click()

    expect(page.get_by_text("The decision is saved. Your text is not saved yet.")).to_be_visible()
    expect(page.locator(".cm-content")).to_contain_text("The shopper pays")
    assert editor_text(page) == TYPED
    artifact = artifact_of(milestone, FLOW)
    assert artifact.needed is True
    assert artifact.body == "" and artifact.revision == 0
    # Still unsaved, and the page says so; saving it makes revision 1.
    expect(page.locator(".editor-status")).to_contain_text("Unsaved changes")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved as revision 1.")).to_be_visible()
    assert artifact_of(milestone, FLOW).body == TYPED
    page.screenshot(path=f"test-artifacts/editor-{width}.png", full_page=True)


def test_a_reload_offers_the_draft_back_and_restores_it(lead_page, milestone, width):
    page = lead_page
    url = editor_url(milestone, SYSTEM)
    open_editor(page, url)
    type_in_editor(page, TYPED)
    expect(page.locator(".editor-status")).to_contain_text("kept as a draft")
    page.wait_for_timeout(400)  # the draft is written a moment after the last keystroke

    leave_anyway(page)
    page.reload()
    expect(page.locator(".cm-content")).to_be_visible()
    offer = page.locator(".draft-offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("This browser kept text you had not saved")
    assert "The shopper pays" not in editor_text(page)
    page.screenshot(path=f"test-artifacts/editor-draft-offer-{width}.png")
    assert_no_serious_violations(page)

    offer.get_by_role("button", name="Restore draft").click()
    expect(offer).to_be_hidden()
    assert editor_text(page) == TYPED
    # The preview follows the restored text.
    expect(page.locator("#preview h2")).to_have_text("Checkout")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved as revision 1.")).to_be_visible()
    assert artifact_of(milestone, SYSTEM).body == TYPED
    # Saved, the draft is gone: nothing is offered any more.
    page.reload()
    expect(page.locator(".cm-content")).to_be_visible()
    expect(page.locator(".draft-offer")).to_be_hidden()


def test_a_discarded_draft_is_not_offered_again(lead_page, milestone):
    page = lead_page
    url = editor_url(milestone, SYSTEM)
    open_editor(page, url)
    type_in_editor(page, TYPED)
    page.wait_for_timeout(400)
    leave_anyway(page)
    page.reload()
    page.locator(".draft-offer").get_by_role("button", name="Discard").click()
    expect(page.locator(".draft-offer")).to_be_hidden()

    page.reload()
    expect(page.locator(".cm-content")).to_be_visible()
    expect(page.locator(".draft-offer")).to_be_hidden()
    assert "The shopper pays" not in editor_text(page)


def test_leaving_asks_first_and_the_text_is_there_on_coming_back(lead_page, milestone):
    page = lead_page
    url = editor_url(milestone, SYSTEM)
    open_editor(page, url)
    type_in_editor(page, TYPED)

    leave_anyway(page)
    page.get_by_role("link", name="Back to the milestone").click()
    page.wait_for_url(re.compile(r"/milestones/\d+/$"))
    assert page.asked == ["beforeunload"]

    open_editor(page, url)
    page.locator(".draft-offer").get_by_role("button", name="Restore draft").click()
    assert editor_text(page) == TYPED


def test_the_browsers_back_button_brings_the_text_back_too(lead_page, milestone):
    page = lead_page
    open_editor(page, editor_url(milestone, SYSTEM))
    type_in_editor(page, TYPED)
    leave_anyway(page)
    page.get_by_role("link", name="Back to the milestone").click()
    page.wait_for_url(re.compile(r"/milestones/\d+/$"))

    page.go_back()
    # Pages are no-store, so the browser loads the editor afresh rather than from its cache.
    expect(page.locator(".cm-content")).to_be_visible()
    page.locator(".draft-offer").get_by_role("button", name="Restore draft").click()
    assert editor_text(page) == TYPED


def test_leaving_with_nothing_typed_asks_nothing(lead_page, milestone):
    page = lead_page
    open_editor(page, editor_url(milestone, SYSTEM))
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.get_by_role("link", name="Back to the milestone").click()
    page.wait_for_url(re.compile(r"/milestones/\d+/$"))
    assert asked == []


def test_control_s_saves_a_new_revision(lead_page, milestone, tech_lead):
    page = lead_page
    write_artifact(tech_lead, milestone, SYSTEM, "First.\n")
    open_editor(page, editor_url(milestone, SYSTEM))
    type_in_editor(page, TYPED)

    page.keyboard.press("Control+s")

    expect(page.get_by_text("Saved as revision 2.")).to_be_visible()
    artifact = artifact_of(milestone, SYSTEM)
    assert artifact.revision == 2 and artifact.body == TYPED
    assert artifact.revisions.get(number=2).body == TYPED


def test_a_diagram_error_names_its_line_and_puts_the_cursor_there(lead_page, milestone, width):
    page = lead_page
    open_editor(page, editor_url(milestone, FLOW))
    # The fence is on line 3; the diagram's line 2, unfinished, is the text's line 5.
    type_in_editor(page, "# Flow\n\n```mermaid\nflowchart LR\n  a -->\n```\n")

    error = page.locator("#preview .diagram-error")
    expect(error).to_contain_text("This diagram has an error on line 5", timeout=20_000)
    expect(error).to_contain_text("Expecting")
    error.get_by_role("button", name="line 5").click()
    selected = page.evaluate(
        "(() => { const v = document.getElementById('artifact-editor').editorView;"
        " return v.state.doc.lineAt(v.state.selection.main.head).number; })()"
    )
    assert selected == 5
    page.screenshot(path=f"test-artifacts/editor-diagram-error-{width}.png", full_page=True)


def run_axe(page) -> list[dict]:
    # Evaluated through the DevTools protocol, which the page's policy does not govern.
    page.evaluate(AXE.read_text())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v["impact"] in ("critical", "serious")]


def assert_no_serious_violations(page) -> None:
    serious = run_axe(page)
    assert serious == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]


def test_the_editor_passes_axe_and_fits_the_width(lead_page, milestone, tech_lead, width):
    page = lead_page
    write_artifact(
        tech_lead, milestone, FLOW, "# Flow\n\n```mermaid\nflowchart LR\n  a --> b\n```\n"
    )
    open_editor(page, editor_url(milestone, FLOW))
    expect(page.locator("#preview img.diagram-image")).to_have_count(1, timeout=20_000)
    type_in_editor(
        page,
        TYPED + "\nA line long enough to wrap on a phone, and then some more words after it.\n",
    )
    expect(page.locator("#preview h2")).to_have_text("Checkout")

    assert_no_serious_violations(page)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width
    page.screenshot(path=f"test-artifacts/editor-typed-{width}.png", full_page=True)


def test_without_javascript_the_textarea_saves(browser, live_server, tech_lead, milestone):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 375, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("input[name=username]", tech_lead.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        page.goto(editor_url(milestone, FLOW))
        expect(page.locator(".cm-editor")).to_have_count(0)
        page.locator("textarea[name=body]").fill(TYPED)
        # The need decision goes with the text typed, which comes back unsaved.
        page.get_by_label("Needed", exact=True).check()
        page.get_by_role("button", name="Save decision").click()
        expect(
            page.get_by_text("The decision is saved. Your text is not saved yet.")
        ).to_be_visible()
        expect(page.locator("textarea[name=body]")).to_have_value(TYPED)
        assert artifact_of(milestone, FLOW).revision == 0

        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("Saved as revision 1.")).to_be_visible()
        artifact = artifact_of(milestone, FLOW)
        assert artifact.body == TYPED and artifact.needed is True
    finally:
        context.close()


def test_the_conflict_page_keeps_its_buttons_inside_the_card(
    lead_page, milestone, tech_lead, width
):
    page = lead_page
    write_artifact(tech_lead, milestone, SYSTEM, "First.\n")
    open_editor(page, editor_url(milestone, SYSTEM))
    type_in_editor(page, TYPED)
    write_artifact(tech_lead, milestone, SYSTEM, "Someone else's second.\n")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(
        page.get_by_role("heading", name=re.compile("Someone saved this artifact"))
    ).to_be_visible()
    form = page.locator("form.editor-pane")
    box = form.bounding_box()
    for button in form.locator(".form-actions .button").all():
        inner = button.bounding_box()
        assert (
            inner["x"] >= box["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5
        )
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=f"test-artifacts/editor-conflict-{width}.png", full_page=True)
    assert_no_serious_violations(page)

    # The merged text saved, no draft of it is offered afterwards.
    assert editor_text(page) == TYPED
    page.get_by_role("button", name="Save merged text as revision 3").click()
    expect(page.get_by_text("Saved as revision 3.")).to_be_visible()
    assert artifact_of(milestone, SYSTEM).body == TYPED
    expect(page.locator(".cm-content")).to_be_visible()
    expect(page.locator(".draft-offer")).to_be_hidden()


def test_discarding_mine_on_the_conflict_page_discards_the_draft(lead_page, milestone, tech_lead):
    page = lead_page
    write_artifact(tech_lead, milestone, SYSTEM, "First.\n")
    open_editor(page, editor_url(milestone, SYSTEM))
    type_in_editor(page, TYPED)
    write_artifact(tech_lead, milestone, SYSTEM, "Someone else's second.\n")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(
        page.get_by_role("heading", name=re.compile("Someone saved this artifact"))
    ).to_be_visible()

    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.get_by_role("link", name="Discard mine and open the current version").click()
    page.wait_for_url(re.compile(r"/artifacts/system_architecture/$"))
    expect(page.locator(".cm-content")).to_be_visible()

    assert asked == ["confirm"]  # the link's own question, not a second one on leaving
    expect(page.locator(".draft-offer")).to_be_hidden()
    assert editor_text(page) == "Someone else's second.\n"


def test_a_lost_session_brings_the_draft_back_after_logging_in(lead_page, milestone, tech_lead):
    page = lead_page
    url = editor_url(milestone, SYSTEM)
    open_editor(page, url)
    type_in_editor(page, TYPED)
    Session.objects.all().delete()  # the session ends on the server, as when it expires

    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.fill("input[name=username]", tech_lead.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url(re.compile(r"/artifacts/system_architecture/$"))
    offer = page.locator(".draft-offer")
    expect(offer).to_be_visible()
    offer.get_by_role("button", name="Restore draft").click()
    assert editor_text(page) == TYPED
    page.keyboard.press("ControlOrMeta+s")
    expect(page.get_by_text("Saved as revision 1.")).to_be_visible()
    assert artifact_of(milestone, SYSTEM).body == TYPED
