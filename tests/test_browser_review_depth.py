"""Comments on a block and stale approvals in the browser (DESIGN §8): a comment on a
paragraph of the design spec goes outdated when the tech lead rewrites that paragraph,
the engineer's approval goes stale, and the close waits for a new one."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from planning import services
from planning.models import Comment, DesignReview
from planning.workflow import ArtifactKind, Phase
from tests.helpers import put_in_phase, write_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPEC = ArtifactKind.DESIGN_SPEC
VAULT = "The vault rotates its keys every ninety days."
BODY = (
    "## Goal\n\nKeep only tokens of card numbers, never the numbers themselves.\n\n"
    f"{VAULT}\n\n| field | kind |\n| --- | --- |\n| token | text |\n"
)


@pytest.fixture
def review(squad, project, tech_lead):
    squad.min_review_approvals = 1
    squad.save(update_fields=["min_review_approvals"])
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    write_artifact(tech_lead, milestone, SPEC, BODY)
    milestone = put_in_phase(milestone, Phase.DESIGN_REVIEW)
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=timezone.now() + timedelta(hours=1)
    )
    return services.open_review(tech_lead, review)


def approve(page) -> None:
    page.locator("input[name=verdict][value=approve]").check()
    page.locator("#verdict-note").fill("")
    page.get_by_role("button", name="verdict").click()
    expect(page.get_by_text("Your verdict is recorded.")).to_be_visible()


def test_a_comment_on_a_rewritten_paragraph_goes_outdated_and_the_close_waits_for_a_new_approval(
    new_page, browser, live_server, review, tech_lead, engineer
):
    eng = new_page(engineer)
    errors: list[str] = []
    eng.on("pageerror", lambda error: errors.append(str(error)))
    eng.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    eng.goto(review.get_absolute_url())
    paragraph = eng.locator(f"#block-{SPEC}-2")
    expect(paragraph).to_contain_text(VAULT)

    # Clicking the paragraph opens the comment box beside it, with the block chosen.
    paragraph.get_by_text("ninety days").click()
    form = eng.locator(f"#block-comments-{SPEC}-2 #comment-form-{SPEC}")
    expect(form).to_be_visible()
    expect(form.locator("select[name=anchor_block]")).to_have_value("2")
    form.locator("textarea").fill("Which vault, and who rotates it?")
    form.get_by_role("button", name="Comment").click()
    beside = eng.locator(f"#block-comments-{SPEC}-2 .comment")
    expect(beside).to_contain_text("Which vault, and who rotates it?")
    eng.locator(f"#artifact-{SPEC}").screenshot(path="test-artifacts/review-depth-beside-1280.png")
    comment = Comment.objects.get()
    assert (comment.revision, comment.anchor_block, comment.anchor_quote) == (1, 2, VAULT)

    # Selecting words of another block moves the box there and quotes them.
    eng.evaluate(
        """() => {
            const words = document.querySelector("#block-design_spec-1 p").firstChild;
            const range = document.createRange();
            range.setStart(words, 10);
            range.setEnd(words, 31);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            document.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
        }"""
    )
    moved = eng.locator(f"#block-comments-{SPEC}-1 #comment-form-{SPEC}")
    expect(moved.locator("select[name=anchor_block]")).to_have_value("1")
    expect(moved.locator("input[name=anchor_quote]")).to_have_value("tokens of card number")
    moved.locator("textarea").fill("Tokens from which vendor?")
    moved.get_by_role("button", name="Comment").click()
    expect(eng.locator(f"#block-comments-{SPEC}-1 .comment")).to_contain_text("Tokens from")
    quoted = Comment.objects.get(body="Tokens from which vendor?")
    assert (quoted.anchor_block, quoted.anchor_quote) == (1, "tokens of card number")
    approve(eng)

    # The tech lead rewrites that paragraph.
    write_artifact(
        tech_lead, review.milestone, SPEC, BODY.replace(VAULT, "The HSM holds the keys.")
    )

    eng.goto(review.get_absolute_url())
    outdated = eng.locator(".outdated-comments")
    expect(outdated).to_contain_text("Which vault, and who rotates it?")
    expect(outdated).to_contain_text(VAULT)
    expect(outdated.get_by_role("link", name="what changed since revision 1")).to_be_visible()
    verdicts = eng.locator("#verdicts")
    expect(verdicts).to_contain_text("stale")
    expect(verdicts).to_contain_text("Approved revision 1 of the detailed design spec")

    lead = new_page(tech_lead)
    lead.goto(review.get_absolute_url())
    lead.locator("#outcome").select_option("approved")
    lead.get_by_role("button", name="Close with this outcome").click()
    expect(lead.get_by_text("The review cannot close approved yet.")).to_be_visible()
    expect(lead.get_by_text("1 more is stale")).to_be_visible()
    lead.screenshot(path="test-artifacts/review-depth-1280.png", full_page=True)
    phone = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 375, "height": 812},
        storage_state=lead.context.storage_state(),
    )
    small = phone.new_page()
    small.goto(review.get_absolute_url())
    expect(small.locator(".outdated-comments")).to_be_visible()
    small.screenshot(path="test-artifacts/review-depth-375.png", full_page=True)
    small.locator(f"#artifact-{SPEC}").screenshot(path="test-artifacts/review-depth-spec-375.png")
    phone.close()
    review.refresh_from_db()
    assert review.status == DesignReview.Status.OPEN

    approve(eng)
    lead.goto(review.get_absolute_url())
    lead.locator("#outcome").select_option("approved")
    lead.get_by_role("button", name="Close with this outcome").click()
    expect(lead.get_by_text("The review is closed.")).to_be_visible()
    review.refresh_from_db()
    assert (review.status, review.outcome) == ("closed", "approved")
    assert errors == []  # no script error, nothing the page's policy refused
