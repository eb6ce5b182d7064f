"""Blocking comments, conditions and who is still expected, in the browser."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from planning import services
from planning.models import Comment, DesignReview, Milestone, Unknown
from planning.workflow import Phase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def review(project, tech_lead, engineer, product):
    milestone = services.create_milestone(tech_lead, project, title="Refunds")
    Milestone.objects.filter(pk=milestone.pk).update(phase=Phase.DESIGN_REVIEW)
    milestone.refresh_from_db()
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=timezone.now() + timedelta(hours=1)
    )
    return services.open_review(tech_lead, review)


def test_a_blocking_comment_holds_the_close_until_the_principal_engineer_overrules_it(
    new_page, review, tech_lead, engineer, principal
):
    eng = new_page(engineer)
    # "My work" names the review that waits for the engineer's verdict, and by when.
    expect(eng.locator("#verdicts-heading")).to_contain_text("Verdicts to give")
    expect(eng.get_by_role("link", name="Design review 1 of M1 Refunds")).to_be_visible()
    eng.screenshot(path="test-artifacts/dashboard-verdicts-due-1280.png", full_page=True)
    eng.goto(review.get_absolute_url())
    general = eng.locator("#general")
    general.get_by_placeholder("A comment on the design as a whole…").fill(
        "Refund retries can pay out twice."
    )
    general.get_by_label("Blocking: hold the approval until I resolve it").check()
    general.get_by_role("button", name="Comment").click()
    expect(general.locator(".thread .badge-blocking")).to_have_text("blocking")
    eng.locator("input[name=verdict][value=approve]").check()
    eng.get_by_role("button", name="Give verdict").click()
    expect(eng.get_by_text("Your verdict is recorded.")).to_be_visible()

    boss = new_page(principal)
    boss.goto(review.get_absolute_url())
    # The conditions box shows only with that choice, without a script.
    conditions = boss.locator("#verdict-conditions")
    expect(conditions).to_be_hidden()
    boss.locator("input[name=verdict][value=approve_with_conditions]").check()
    expect(conditions).to_be_visible()
    conditions.fill("Load-test refunds at 200 rps\nName an owner for the refund runbook")
    boss.get_by_role("button", name="Give verdict").click()
    expect(boss.locator("#verdicts .verdict-conditions li")).to_have_count(2)
    boss.set_viewport_size({"width": 1280, "height": 900})
    boss.screenshot(path="test-artifacts/review-depth-principal-1280.png", full_page=True)

    lead = new_page(tech_lead)
    lead.goto(review.get_absolute_url())
    expect(lead.locator("#close-unmet")).to_contain_text("1 blocking comment is unresolved.")
    lead.screenshot(path="test-artifacts/review-depth-lead-1280.png", full_page=True)
    lead.set_viewport_size({"width": 390, "height": 844})
    lead.screenshot(path="test-artifacts/review-depth-lead-390.png", full_page=True)
    lead.set_viewport_size({"width": 1280, "height": 900})
    lead.locator("#outcome").select_option("approved")
    lead.get_by_role("button", name="Close with this outcome").click()
    expect(lead.locator(".alert-error")).to_contain_text("1 blocking comment is unresolved.")
    assert DesignReview.objects.get(pk=review.pk).status == DesignReview.Status.OPEN

    boss.reload()
    blocker = Comment.objects.get(blocking=True)
    item = boss.locator(f"#comment-{blocker.pk}")
    item.get_by_text("Overrule").first.click()
    item.get_by_label("Why the review may close approved despite it").fill(
        "Refunds already carry idempotency keys."
    )
    item.get_by_role("button", name="Overrule").last.click()
    expect(boss.locator(f"#comment-{blocker.pk}")).to_contain_text("Overruled by")

    lead.goto(review.get_absolute_url())
    expect(lead.locator("#close-unmet")).to_have_text("Ready to close as approved.")
    lead.locator("#outcome").select_option("approved")
    lead.get_by_role("button", name="Close with this outcome").click()
    expect(lead.get_by_text("The review is closed.")).to_be_visible()
    assert Unknown.objects.filter(from_verdict__isnull=False).count() == 2

    lead.goto(review.milestone.get_absolute_url())
    expect(lead.locator("#decisions")).to_contain_text("Blocking comment overruled")
    lead.locator("#decisions summary").click()
    lead.locator("#decisions").screenshot(path="test-artifacts/decision-log-1280.png")
