"""Design reviews: rounds, who runs them, verdicts, comments, guests, polling and the page's queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from planning import services, workflow
from planning.exceptions import GuardRefused
from planning.models import Comment, DesignReview, Milestone, Verdict
from planning.workflow import ARTIFACT_KINDS, ArtifactKind, Phase
from tests.factories import (
    DesignReviewFactory,
    MilestoneFactory,
    ProjectFactory,
    UserFactory,
    VerdictFactory,
)
from tests.helpers import assert_not_found_page, put_in_phase, write_artifact


def counted(review: DesignReview) -> tuple[int, int]:
    """Counted approvals and counted requests for changes, as the approval rule sees them."""
    count = workflow.count_verdicts(services.approval_facts(review).verdicts)
    return count.approvals, count.changes_requested


pytestmark = pytest.mark.django_db

SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
DESIGN_SPEC = ArtifactKind.DESIGN_SPEC
WHEN = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

# Review page: session, user, milestone (with project, squad, lead), the review,
# may I review (my role), artifacts, comments with authors, verdicts with
# reviewers, am I a guest (my role), invitees, the navigation counts, the open
# blocking comments, the squad's engineers (who is still expected). None of
# them grows with the comments.
REVIEW_PAGE_BUDGET = 12


@pytest.fixture
def milestone(project, tech_lead):
    milestone = services.create_milestone(
        tech_lead, project, title="Tokenise cards", goal="Keep only tokens."
    )
    return put_in_phase(milestone, Phase.DESIGN_REVIEW)


@pytest.fixture
def review(milestone, tech_lead, engineer, product):
    return services.schedule_review(
        tech_lead, milestone, scheduled_for=WHEN, duration_minutes=60, location="Room 4"
    )


@pytest.fixture
def opened(review, tech_lead):
    return services.open_review(tech_lead, review)


@pytest.fixture
def invited(review, tech_lead, guest):
    """The guest, invited to the review."""
    services.invite_guest(tech_lead, review, guest)
    return guest


def fresh(review: DesignReview) -> DesignReview:
    return DesignReview.objects.select_related("milestone").get(pk=review.pk)


def url(name: str, review: DesignReview, **extra) -> str:
    return reverse(
        f"planning:{name}",
        kwargs={**review.milestone.url_kwargs(), "round": review.round, **extra},
    )


def milestone_url(name: str, milestone: Milestone, **extra) -> str:
    return reverse(f"planning:{name}", kwargs={**milestone.url_kwargs(), **extra})


def codes(refusal) -> list[str]:
    return [item.code for item in refusal.value.unmet]


def approve_by(review: DesignReview, *people) -> None:
    for person in people:
        services.set_verdict(person, review, Verdict.Choice.APPROVE)


def close_approved(review: DesignReview, tech_lead, engineer, principal) -> DesignReview:
    approve_by(review, engineer, principal)
    return services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED)


def notified(kind: str) -> set:
    return {n.recipient for n in Notification.objects.filter(kind=kind)}


# Scheduling, opening, closing: the tech lead's --------------------------------------


def test_schedule_review_numbers_rounds_one_then_two(milestone, tech_lead):
    first = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    services.open_review(tech_lead, first)
    services.close_review(tech_lead, first, DesignReview.Outcome.CHANGES_REQUESTED)

    second = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN + timedelta(days=7))

    assert (first.round, second.round) == (1, 2)
    assert fresh(second).status == DesignReview.Status.SCHEDULED


def test_each_milestone_numbers_its_review_rounds_from_one(milestone, project, tech_lead):
    services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    other = services.create_milestone(tech_lead, project, title="Another")

    assert services.schedule_review(tech_lead, other, scheduled_for=WHEN).round == 1


@pytest.mark.parametrize("status", ["scheduled", "open"])
def test_a_second_round_is_refused_while_one_is_not_closed(milestone, tech_lead, status):
    first = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    if status == "open":
        services.open_review(tech_lead, first)

    with pytest.raises(ValidationError):
        services.schedule_review(tech_lead, milestone, scheduled_for=WHEN + timedelta(days=1))

    assert list(milestone.reviews.values_list("round", flat=True)) == [1]


@pytest.mark.parametrize("who", ["engineer", "product", "principal", "guest", "outsider"])
def test_only_the_milestone_tech_lead_schedules_a_review(milestone, request, who):
    actor = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        services.schedule_review(actor, milestone, scheduled_for=WHEN)

    assert not DesignReview.objects.exists()


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_only_the_milestone_tech_lead_opens_a_review(review, request, who):
    with pytest.raises(PermissionDenied):
        services.open_review(request.getfixturevalue(who), review)

    assert fresh(review).status == DesignReview.Status.SCHEDULED


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_only_the_milestone_tech_lead_closes_a_review(opened, request, who):
    with pytest.raises(PermissionDenied):
        services.close_review(
            request.getfixturevalue(who), opened, DesignReview.Outcome.CHANGES_REQUESTED
        )

    assert fresh(opened).status == DesignReview.Status.OPEN


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_only_the_milestone_tech_lead_invites_guests(review, request, who, guest):
    with pytest.raises(PermissionDenied):
        services.invite_guest(request.getfixturevalue(who), review, guest)

    assert not review.invitees.exists()


def test_a_squad_member_or_the_principal_cannot_be_invited_as_a_guest(
    review, tech_lead, engineer, principal
):
    for person in (engineer, principal):
        with pytest.raises(ValidationError):
            services.invite_guest(tech_lead, review, person)

    assert not review.invitees.exists()


def test_a_guest_is_invited_once(review, tech_lead, invited):
    with pytest.raises(ValidationError):
        services.invite_guest(tech_lead, review, invited)

    assert list(review.invitees.all()) == [invited]


def test_no_guest_is_invited_to_a_closed_review(opened, tech_lead, guest):
    services.close_review(tech_lead, opened, DesignReview.Outcome.CHANGES_REQUESTED)

    with pytest.raises(ValidationError):
        services.invite_guest(tech_lead, fresh(opened), guest)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("review-open", {}),
        ("review-close", {"outcome": "changes_requested"}),
        ("review-invite", {"username": "gia"}),
    ],
)
@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_members_get_403_on_the_tech_leads_review_actions(
    client_for, opened, guest, request, who, name, data
):
    response = client_for(request.getfixturevalue(who)).post(url(name, opened), data)

    assert response.status_code == 403
    saved = fresh(opened)
    assert (saved.status, saved.invitees.count()) == (DesignReview.Status.OPEN, 0)


@pytest.mark.parametrize("who", ["engineer", "principal"])
def test_members_get_403_when_they_post_a_new_review(client_for, milestone, request, who):
    response = client_for(request.getfixturevalue(who)).post(
        milestone_url("review-schedule", milestone),
        {"scheduled_for": "2031-05-02T10:00", "duration_minutes": 60, "location": "Room"},
    )

    assert response.status_code == 403
    assert not DesignReview.objects.exists()


@pytest.mark.parametrize("name", ["review-open", "review-close", "review-invite", "verdict-set"])
def test_an_outsider_gets_404_on_the_review_actions(client_for, review, outsider, name):
    response = client_for(outsider).post(url(name, review), {"outcome": "approved"})

    assert response.status_code == 404
    assert fresh(review).status == DesignReview.Status.SCHEDULED


def test_an_outsider_gets_404_when_posting_a_new_review(client_for, milestone, outsider):
    response = client_for(outsider).post(
        milestone_url("review-schedule", milestone),
        {"scheduled_for": "2031-05-02T10:00", "duration_minutes": 60},
    )

    assert response.status_code == 404
    assert not DesignReview.objects.exists()


def test_the_tech_lead_schedules_a_review_through_the_form(client_for, milestone, tech_lead):
    response = client_for(tech_lead).post(
        milestone_url("review-schedule", milestone),
        {"scheduled_for": "2031-05-02T10:00", "duration_minutes": 90, "location": "Room 7"},
    )

    review = DesignReview.objects.get(milestone=milestone)
    assert response.status_code == 302
    assert response["Location"] == review.get_absolute_url()
    assert (review.round, review.duration_minutes, review.location) == (1, 90, "Room 7")


def test_the_tech_lead_opens_and_closes_a_review_through_the_page(
    client_for, review, tech_lead, engineer
):
    client = client_for(tech_lead)

    opened = client.post(url("review-open", review))
    closed = client.post(url("review-close", review), {"outcome": "changes_requested"})

    assert (opened.status_code, closed.status_code) == (302, 302)
    saved = fresh(review)
    assert (saved.status, saved.outcome) == ("closed", "changes_requested")


def test_closing_approved_through_the_page_without_approvals_answers_409_with_reasons(
    client_for, opened, tech_lead
):
    response = client_for(tech_lead).post(url("review-close", opened), {"outcome": "approved"})

    assert response.status_code == 409
    assert [i.code for i in response.context["refusal"].unmet] == ["not_enough_approvals"]
    assert "0 of the 2 counted approvals" in response.content.decode()
    assert fresh(opened).status == DesignReview.Status.OPEN


# Opening ----------------------------------------------------------------------------


@pytest.mark.parametrize("phase", [Phase.UNKNOWNS, Phase.DESIGN_SPEC, Phase.KICKOFF])
def test_open_review_requires_the_design_review_phase(milestone, review, tech_lead, phase):
    put_in_phase(milestone, phase)

    with pytest.raises(ValidationError):
        services.open_review(tech_lead, fresh(review))

    assert fresh(review).status == DesignReview.Status.SCHEDULED


def test_open_review_records_the_revision_of_every_artifact(milestone, review, tech_lead):
    write_artifact(tech_lead, milestone, SYSTEM, "First.")
    write_artifact(tech_lead, milestone, SYSTEM, "Second.")
    write_artifact(tech_lead, milestone, DESIGN_SPEC, "The spec.")

    opened = services.open_review(tech_lead, review)

    expected = {kind: 0 for kind in ARTIFACT_KINDS} | {SYSTEM: 2, DESIGN_SPEC: 1}
    assert fresh(opened).reviewed_revisions == expected
    assert fresh(opened).status == DesignReview.Status.OPEN
    assert fresh(opened).opened_at is not None


def test_a_review_opens_only_once(opened, tech_lead):
    with pytest.raises(ValidationError):
        services.open_review(tech_lead, opened)


# Closing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approvers", "changes", "expected"),
    [
        ((), (), ["not_enough_approvals"]),
        (("engineer",), (), ["not_enough_approvals"]),
        (("engineer", "principal"), ("product",), ["changes_requested"]),
        (("engineer",), ("product",), ["not_enough_approvals", "changes_requested"]),
    ],
)
def test_closing_approved_needs_enough_counted_approvals_and_no_counted_changes_requested(
    opened, tech_lead, request, approvers, changes, expected
):
    for who in approvers:
        services.set_verdict(request.getfixturevalue(who), opened, Verdict.Choice.APPROVE)
    for who in changes:
        services.set_verdict(request.getfixturevalue(who), opened, Verdict.Choice.CHANGES_REQUESTED)

    with pytest.raises(GuardRefused) as refusal:
        services.close_review(tech_lead, opened, DesignReview.Outcome.APPROVED)

    assert codes(refusal) == expected
    assert fresh(opened).status == DesignReview.Status.OPEN


def test_closing_approved_with_the_squads_number_of_approvals_closes_it(
    opened, tech_lead, engineer, principal, product
):
    services.set_verdict(product, opened, Verdict.Choice.COMMENT, "Looks fine to me.")

    closed = close_approved(opened, tech_lead, engineer, principal)

    saved = fresh(closed)
    assert (saved.status, saved.outcome) == ("closed", "approved")
    assert saved.closed_at is not None


def test_closing_approved_follows_the_squads_min_review_approvals(
    opened, squad, tech_lead, engineer, principal
):
    squad.min_review_approvals = 3
    squad.save()
    approve_by(opened, engineer, principal)

    with pytest.raises(GuardRefused) as refusal:
        services.close_review(tech_lead, fresh(opened), DesignReview.Outcome.APPROVED)

    assert codes(refusal) == ["not_enough_approvals"]
    assert counted(opened) == (2, 0)


@pytest.mark.parametrize("verdicts", ["none", "approvals"])
def test_closing_with_changes_requested_is_always_allowed(
    opened, tech_lead, engineer, principal, verdicts
):
    if verdicts == "approvals":
        approve_by(opened, engineer, principal)

    closed = services.close_review(tech_lead, opened, DesignReview.Outcome.CHANGES_REQUESTED)

    assert (fresh(closed).status, fresh(closed).outcome) == ("closed", "changes_requested")


def test_only_an_open_review_is_closed(review, tech_lead):
    with pytest.raises(ValidationError):
        services.close_review(tech_lead, review, DesignReview.Outcome.CHANGES_REQUESTED)

    assert fresh(review).status == DesignReview.Status.SCHEDULED


def test_closing_needs_a_known_outcome(opened, tech_lead):
    with pytest.raises(ValidationError):
        services.close_review(tech_lead, opened, "maybe")

    assert fresh(opened).status == DesignReview.Status.OPEN


# Verdicts ---------------------------------------------------------------------------


def test_a_guests_verdict_is_stored_not_counted_and_does_not_count(
    opened, tech_lead, engineer, invited
):
    services.set_verdict(engineer, opened, Verdict.Choice.APPROVE)
    guests = services.set_verdict(invited, opened, Verdict.Choice.APPROVE, "Nice work.")

    assert (guests.counted, guests.verdict, guests.note) == (False, "approve", "Nice work.")
    assert counted(opened) == (1, 0)
    with pytest.raises(GuardRefused) as refusal:
        services.close_review(tech_lead, opened, DesignReview.Outcome.APPROVED)
    assert codes(refusal) == ["not_enough_approvals"]


def test_a_guests_request_for_changes_does_not_block_approval(
    opened, tech_lead, engineer, principal, invited
):
    services.set_verdict(invited, opened, Verdict.Choice.CHANGES_REQUESTED, "Not convinced.")

    closed = close_approved(opened, tech_lead, engineer, principal)

    assert fresh(closed).outcome == DesignReview.Outcome.APPROVED


def test_the_principal_engineers_verdict_counts(opened, principal):
    verdict = services.set_verdict(principal, opened, Verdict.Choice.APPROVE)

    assert verdict.counted is True
    assert counted(opened) == (1, 0)


def test_a_second_verdict_replaces_the_first(opened, engineer):
    services.set_verdict(engineer, opened, Verdict.Choice.APPROVE, "Good.")

    services.set_verdict(engineer, opened, Verdict.Choice.CHANGES_REQUESTED, "On second thought.")

    verdict = Verdict.objects.get(review=opened)
    assert (verdict.reviewer, verdict.verdict, verdict.note) == (
        engineer,
        "changes_requested",
        "On second thought.",
    )
    assert counted(opened) == (0, 1)


@pytest.mark.parametrize("status", ["scheduled", "closed"])
def test_verdicts_are_given_only_while_the_review_is_open(review, tech_lead, engineer, status):
    if status == "closed":
        services.open_review(tech_lead, review)
        services.close_review(tech_lead, review, DesignReview.Outcome.CHANGES_REQUESTED)

    with pytest.raises(ValidationError):
        services.set_verdict(engineer, fresh(review), Verdict.Choice.APPROVE)

    assert not Verdict.objects.exists()


def test_a_verdict_must_be_one_of_the_three_choices(opened, engineer):
    with pytest.raises(ValidationError):
        services.set_verdict(engineer, opened, "maybe")

    assert not Verdict.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "guest"])
def test_someone_not_taking_part_cannot_give_a_verdict(opened, request, who):
    with pytest.raises(PermissionDenied):
        services.set_verdict(request.getfixturevalue(who), opened, Verdict.Choice.APPROVE)

    assert not Verdict.objects.exists()


# Comments ---------------------------------------------------------------------------


def test_a_comment_is_anchored_to_an_artifact_kind_or_general(review, engineer):
    on_spec = services.add_comment(engineer, review, body="Why REST?", artifact_kind=DESIGN_SPEC)
    general = services.add_comment(engineer, review, body="  Overall fine.  ")

    assert (on_spec.artifact_kind, general.artifact_kind) == (DESIGN_SPEC, "")
    assert general.body == "Overall fine."
    assert on_spec.author == engineer


def test_a_comment_on_an_unknown_artifact_kind_is_refused(review, engineer):
    with pytest.raises(ValidationError):
        services.add_comment(engineer, review, body="Hm.", artifact_kind="wiring_diagram")

    assert not Comment.objects.exists()


def test_an_empty_comment_is_refused(review, engineer):
    with pytest.raises(ValidationError):
        services.add_comment(engineer, review, body="   ")

    assert not Comment.objects.exists()


def test_a_reply_to_a_reply_joins_the_top_level_thread(review, engineer, product, tech_lead):
    top = services.add_comment(engineer, review, body="Timeouts?", artifact_kind=SYSTEM)
    reply = services.add_comment(product, review, body="Good point.", parent=top)

    nested = services.add_comment(tech_lead, review, body="Thirty seconds.", parent=reply)

    assert (reply.parent, nested.parent) == (top, top)
    assert nested.artifact_kind == SYSTEM


def test_a_reply_to_a_comment_of_another_review_is_refused(milestone, review, tech_lead, engineer):
    services.open_review(tech_lead, review)
    elsewhere = services.add_comment(engineer, review, body="Round one.")
    services.close_review(tech_lead, review, DesignReview.Outcome.CHANGES_REQUESTED)
    second = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)

    with pytest.raises(ValidationError):
        services.add_comment(engineer, second, body="Replying across.", parent=elsewhere)

    assert not second.comments.exists()


def test_only_its_author_edits_a_comment(review, engineer, tech_lead):
    comment = services.add_comment(engineer, review, body="Frist.")

    services.edit_comment(engineer, comment, "First.")
    with pytest.raises(PermissionDenied):
        services.edit_comment(tech_lead, comment, "Tech lead's words.")

    assert Comment.objects.get(pk=comment.pk).body == "First."


@pytest.mark.parametrize("who", ["engineer", "tech_lead"])
def test_the_author_or_the_tech_lead_resolves_and_unresolves_a_comment(review, request, who):
    comment = services.add_comment(request.getfixturevalue("engineer"), review, body="Typo.")
    actor = request.getfixturevalue(who)

    services.set_comment_resolved(actor, comment, True)
    resolved = Comment.objects.get(pk=comment.pk).resolved
    services.set_comment_resolved(actor, comment, False)

    assert (resolved, Comment.objects.get(pk=comment.pk).resolved) == (True, False)


@pytest.mark.parametrize("who", ["product", "principal"])
def test_someone_else_cannot_resolve_a_comment(review, engineer, request, who):
    comment = services.add_comment(engineer, review, body="Typo.")

    with pytest.raises(PermissionDenied):
        services.set_comment_resolved(request.getfixturevalue(who), comment, True)

    assert Comment.objects.get(pk=comment.pk).resolved is False


def test_no_comment_is_added_or_edited_once_the_review_is_closed(opened, tech_lead, engineer):
    comment = services.add_comment(engineer, opened, body="Before closing.")
    services.close_review(tech_lead, opened, DesignReview.Outcome.CHANGES_REQUESTED)
    closed = fresh(opened)

    with pytest.raises(ValidationError):
        services.add_comment(engineer, closed, body="Too late.")
    with pytest.raises(ValidationError):
        services.edit_comment(engineer, Comment.objects.get(pk=comment.pk), "Changed my mind.")

    assert list(Comment.objects.values_list("body", flat=True)) == ["Before closing."]


def test_an_outsider_cannot_comment(review, outsider):
    with pytest.raises(PermissionDenied):
        services.add_comment(outsider, review, body="Hello.")

    assert not Comment.objects.exists()


# The review page ---------------------------------------------------------------------


def test_the_review_page_shows_artifacts_beside_their_threads(
    client_for, milestone, opened, tech_lead, engineer
):
    write_artifact(tech_lead, milestone, SYSTEM, "```mermaid\ngraph TD; A-->B\n```\n")
    services.add_comment(engineer, opened, body="Where is the vault?", artifact_kind=SYSTEM)
    services.add_comment(engineer, opened, body="Overall fine.")

    response = client_for(engineer).get(opened.get_absolute_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="thread-system_architecture"' in page
    assert "Where is the vault?" in page
    assert 'id="thread-general"' in page and "Overall fine." in page
    assert 'name="verdict"' in page
    [section] = [s for s in response.context["sections"] if s["artifact"].kind == SYSTEM]
    assert "Where is the vault?" in section["thread_html"]
    assert "Overall fine." not in section["thread_html"]


def test_a_comment_posted_on_the_page_lands_in_its_thread(client_for, opened, engineer):
    response = client_for(engineer).post(
        url("comment-add", opened), {"body": "Retry policy?", "artifact_kind": DESIGN_SPEC}
    )

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"#comment-{comment.pk}")
    assert (comment.artifact_kind, comment.author) == (DESIGN_SPEC, engineer)


def test_a_verdict_posted_on_the_page_is_recorded(client_for, opened, engineer):
    response = client_for(engineer).post(
        url("verdict-set", opened), {"verdict": "approve", "note": "Ship it."}
    )

    assert response.status_code == 302
    assert Verdict.objects.get().verdict == "approve"


# Guests -----------------------------------------------------------------------------


def test_an_invited_guest_sees_the_guest_view_of_the_milestone(
    client_for, milestone, invited, review
):
    response = client_for(invited).get(milestone.get_absolute_url())

    assert response.status_code == 200
    assert response.templates[0].name == "planning/milestone_guest.html"
    assert list(response.context["reviews"]) == [review]
    assert "Keep only tokens." in response.content.decode()


def test_an_invited_guest_reads_the_review_page(client_for, invited, review):
    response = client_for(invited).get(review.get_absolute_url())

    assert response.status_code == 200
    assert response.context["is_guest"] is True
    assert response.context["may_run"] is False


@pytest.mark.parametrize("kind", [SYSTEM, DESIGN_SPEC])
def test_an_invited_guest_reads_the_artifact_pages(client_for, milestone, invited, kind):
    response = client_for(invited).get(milestone_url("artifact-edit", milestone, kind=kind))

    assert response.status_code == 200
    assert response.context["may_edit"] is False


def test_an_invited_guest_comments_and_gives_a_verdict_that_is_not_counted(
    client_for, invited, opened
):
    client = client_for(invited)

    commented = client.post(
        url("comment-add", opened), {"body": "From outside: looks solid.", "artifact_kind": ""}
    )
    judged = client.post(url("verdict-set", opened), {"verdict": "approve", "note": "+1"})

    assert (commented.status_code, judged.status_code) == (302, 302)
    assert Comment.objects.get().author == invited
    verdict = Verdict.objects.get()
    assert (verdict.reviewer, verdict.counted) == (invited, False)
    assert counted(opened) == (0, 0)
    page = client.get(opened.get_absolute_url()).content.decode()
    assert "(guest, not counted)" in page


GUEST_404_PAGES = [
    ("project", lambda m: m.project.get_absolute_url()),
    ("squad", lambda m: reverse("squads:detail", kwargs={"slug": m.project.squad.slug})),
    ("squad settings", lambda m: reverse("squads:settings", kwargs={"slug": m.project.squad.slug})),
    ("unknowns", lambda m: milestone_url("unknown-list", m)),
    ("unknown", lambda m: milestone_url("unknown-detail", m, key="U-1")),
    ("kick-off", lambda m: milestone_url("kickoff", m)),
    ("breakout", lambda m: milestone_url("breakout", m)),
    ("timeline", lambda m: milestone_url("milestone-timeline", m)),
    ("packet", lambda m: milestone_url("packet", m)),
    ("milestone edit", lambda m: milestone_url("milestone-edit", m)),
    ("new review", lambda m: milestone_url("review-schedule", m)),
]


@pytest.mark.parametrize(("page", "address"), GUEST_404_PAGES, ids=[p for p, _ in GUEST_404_PAGES])
def test_an_invited_guest_gets_404_on_the_squads_other_pages(
    client_for, milestone, tech_lead, engineer, invited, page, address
):
    services.add_unknown(tech_lead, milestone, title="Vendor limits", owner=engineer)

    response = client_for(invited).get(address(milestone))

    assert response.status_code == 404
    assert_not_found_page(response, "Vendor limits", "Keep only tokens.")


ARTIFACT_POSTS = [
    ("artifact-edit", {"body": "Guest edit", "base_revision": 0}),
    ("artifact-status", {"status": "ready"}),
    ("artifact-need", {"needed": "no", "not_needed_reason": "Guest says so"}),
    ("artifact-preview", {"body": "# Hi"}),
]


@pytest.mark.parametrize(("name", "data"), ARTIFACT_POSTS, ids=[n for n, _ in ARTIFACT_POSTS])
def test_an_invited_guest_gets_404_on_the_artifact_post_endpoints(
    client_for, milestone, invited, name, data
):
    kind = ArtifactKind.FLOW_CHART
    response = client_for(invited).post(milestone_url(name, milestone, kind=kind), data)

    assert response.status_code == 404
    assert_not_found_page(response, "Guest")
    artifact = milestone.artifacts.get(kind=kind)
    assert (artifact.revision, artifact.status, artifact.needed) == (0, "missing", None)


def test_an_invited_guest_gets_404_on_the_other_milestones_of_the_project(
    client_for, project, milestone, tech_lead, invited
):
    other = services.create_milestone(tech_lead, project, title="Not yours")
    client = client_for(invited)

    assert client.get(other.get_absolute_url()).status_code == 404
    assert client.get(milestone_url("artifact-edit", other, kind=SYSTEM)).status_code == 404
    assert client.get(milestone.get_absolute_url()).status_code == 200
    assert_not_found_page(client.get(other.get_absolute_url()), "Not yours")
    assert "Tokenise cards" in client.get(milestone.get_absolute_url()).content.decode()


def test_an_invited_guest_gets_404_on_a_review_of_another_milestone(
    client_for, project, squad, tech_lead, invited
):
    other = put_in_phase(
        services.create_milestone(tech_lead, project, title="Other"), Phase.DESIGN_REVIEW
    )
    elsewhere = services.schedule_review(tech_lead, other, scheduled_for=WHEN)
    another_project = ProjectFactory(squad=squad, tech_lead=tech_lead, slug="ledger")
    far = services.create_milestone(tech_lead, another_project, title="Far away")
    client = client_for(invited)

    assert client.get(elsewhere.get_absolute_url()).status_code == 404
    assert client.get(other.get_absolute_url()).status_code == 404
    assert client.get(far.get_absolute_url()).status_code == 404
    assert client.get(another_project.get_absolute_url()).status_code == 404
    for hidden in (elsewhere, other, far):
        assert_not_found_page(client.get(hidden.get_absolute_url()), "Other", "Far away")
    assert_not_found_page(client.get(another_project.get_absolute_url()), another_project.name)


def test_a_guest_of_one_round_gets_404_on_another_rounds_page(
    client_for, milestone, review, tech_lead, invited
):
    services.open_review(tech_lead, review)
    services.close_review(tech_lead, review, DesignReview.Outcome.CHANGES_REQUESTED)
    second = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    client = client_for(invited)

    assert client.get(second.get_absolute_url()).status_code == 404
    assert client.get(url("review-updates", second)).status_code == 404
    assert client.post(url("comment-add", second), {"body": "Sneaking in."}).status_code == 404
    assert client.get(review.get_absolute_url()).status_code == 200
    assert not second.comments.exists()


def test_a_guest_who_was_not_invited_gets_404_on_the_milestone_and_its_review(
    client_for, milestone, review, guest
):
    client = client_for(guest)

    assert client.get(milestone.get_absolute_url()).status_code == 404
    assert client.get(review.get_absolute_url()).status_code == 404
    assert client.get(milestone_url("artifact-edit", milestone, kind=SYSTEM)).status_code == 404
    for address in (milestone.get_absolute_url(), review.get_absolute_url()):
        assert_not_found_page(client.get(address), "Tokenise cards", "Room 4")


# "Changed since review" ---------------------------------------------------------------


def test_an_artifact_edited_after_the_approved_review_is_flagged_on_the_milestone_page(
    client_for, milestone, review, tech_lead, engineer, principal
):
    write_artifact(tech_lead, milestone, DESIGN_SPEC, "Reviewed text.")
    services.open_review(tech_lead, review)
    close_approved(review, tech_lead, engineer, principal)
    client = client_for(engineer)
    before = client.get(milestone.get_absolute_url()).content.decode()

    write_artifact(tech_lead, milestone, DESIGN_SPEC, "Edited after approval.")
    response = client.get(milestone.get_absolute_url())

    assert "changed since review" not in before
    assert response.status_code == 200
    assert response.content.decode().count("changed since review") == 1
    flagged = [a.kind for a in response.context["artifacts"] if a.changed_since_review]
    assert flagged == [DESIGN_SPEC]


# Polling -----------------------------------------------------------------------------


def test_review_updates_answers_204_when_nothing_changed_since(client_for, opened, engineer):
    services.add_comment(engineer, opened, body="Old news.")
    since = timezone.now().isoformat()

    response = client_for(engineer).get(url("review-updates", opened), {"since": since})

    assert response.status_code == 204
    assert response.content == b""


def test_review_updates_answers_with_the_threads_after_a_new_comment(
    client_for, opened, engineer, product
):
    since = timezone.now().isoformat()
    services.add_comment(product, opened, body="Fresh remark.", artifact_kind=SYSTEM)

    response = client_for(engineer).get(url("review-updates", opened), {"since": since})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Fresh remark." in page
    assert 'id="thread-system_architecture" hx-swap-oob="true"' in page
    assert 'id="review-poller"' in page


def test_review_updates_answers_with_the_verdicts_after_a_new_verdict(
    client_for, opened, engineer, principal
):
    since = timezone.now().isoformat()
    services.set_verdict(principal, opened, Verdict.Choice.APPROVE)

    response = client_for(engineer).get(url("review-updates", opened), {"since": since})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="verdicts" aria-labelledby="verdicts-heading" hx-swap-oob="true"' in page
    assert "1 counted approval</strong> (2 needed)" in page


def test_review_updates_answers_200_without_since(client_for, opened, engineer, product):
    services.add_comment(product, opened, body="Said before anyone polled.")

    response = client_for(engineer).get(url("review-updates", opened))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Said before anyone polled." in page
    assert 'id="review-poller"' in page


# Query budget ------------------------------------------------------------------------


def _comments(review: DesignReview, authors, count: int) -> None:
    Comment.objects.bulk_create(
        Comment(
            review=review,
            author=authors[n % len(authors)],
            artifact_kind=ARTIFACT_KINDS[n % 3] if n % 2 else "",
            body=f"Comment number {n} with **bold** text.",
        )
        for n in range(count)
    )


def _review_page_queries(client, review: DesignReview) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(review.get_absolute_url())
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("count", [1, 200])
def test_review_page_query_count_does_not_grow_with_comments(
    client_for, django_assert_max_num_queries, opened, tech_lead, engineer, product, count
):
    _comments(opened, [tech_lead, engineer, product], count)
    services.set_verdict(engineer, opened, Verdict.Choice.APPROVE)
    client = client_for(engineer)

    with django_assert_max_num_queries(REVIEW_PAGE_BUDGET):
        response = client.get(opened.get_absolute_url())

    assert response.status_code == 200
    assert response.content.decode().count('<article class="comment') == count


def test_review_page_makes_the_same_queries_with_1_and_200_comments(
    client_for, milestone, opened, tech_lead, engineer, product, principal
):
    client = client_for(engineer)
    _comments(opened, [tech_lead], 1)
    with_one = _review_page_queries(client, opened)

    _comments(opened, [engineer, product, principal, tech_lead], 199)
    with_many = _review_page_queries(client, opened)

    assert opened.comments.count() == 200
    assert with_one == with_many


# Notifications ----------------------------------------------------------------------


def test_scheduling_invites_the_squad_and_the_principal_with_a_calendar(
    review, tech_lead, engineer, product, principal
):
    invitations = Notification.objects.filter(kind=Notification.Kind.REVIEW_INVITED)

    assert {n.recipient for n in invitations} == {engineer, product, principal}
    assert all(n.calendar.startswith("BEGIN:VCALENDAR") for n in invitations)
    assert all(n.link == review.get_absolute_url() for n in invitations)


def test_inviting_a_guest_notifies_them_with_a_calendar(review, tech_lead, guest):
    before = Notification.objects.count()

    services.invite_guest(tech_lead, review, guest)

    notification = Notification.objects.get(recipient=guest)
    assert Notification.objects.count() == before + 1
    assert notification.kind == Notification.Kind.REVIEW_INVITED
    assert "BEGIN:VEVENT" in notification.calendar


def test_opening_and_closing_notify_everyone_but_the_tech_lead(
    review, tech_lead, engineer, product, principal, invited
):
    services.open_review(tech_lead, review)
    services.close_review(tech_lead, review, DesignReview.Outcome.CHANGES_REQUESTED)

    everyone = {engineer, product, principal, invited}
    assert notified(Notification.Kind.REVIEW_OPENED) == everyone
    assert notified(Notification.Kind.REVIEW_CLOSED) == everyone
    closed = Notification.objects.filter(kind=Notification.Kind.REVIEW_CLOSED).first()
    assert "changes requested" in closed.text


def test_a_request_for_changes_notifies_the_tech_lead(opened, tech_lead, engineer, product):
    services.set_verdict(product, opened, Verdict.Choice.APPROVE)
    assert not notified(Notification.Kind.CHANGES_REQUESTED)

    services.set_verdict(engineer, opened, Verdict.Choice.CHANGES_REQUESTED, "Split the vault.")

    notification = Notification.objects.get(kind=Notification.Kind.CHANGES_REQUESTED)
    assert notification.recipient == tech_lead
    assert "Split the vault." in notification.text


def test_the_verdicts_never_say_more_approvals_of_fewer_needed(client_for, squad, tech_lead):
    project = ProjectFactory(squad=squad, tech_lead=tech_lead)
    review = DesignReviewFactory(
        milestone=MilestoneFactory(project=project, phase=Phase.DESIGN_REVIEW),
        status=DesignReview.Status.OPEN,
    )
    for _ in range(3):
        VerdictFactory(review=review, reviewer=UserFactory())

    page = client_for(tech_lead).get(review.get_absolute_url()).content.decode()

    assert "3 counted approvals</strong> (2 needed, reached)" in page
    assert "3 of 2" not in page


def test_a_heading_in_an_artifact_ranks_below_the_cards_title_on_the_review_page(
    client_for, squad, tech_lead
):
    project = ProjectFactory(squad=squad, tech_lead=tech_lead)
    milestone = MilestoneFactory(project=project, phase=Phase.DESIGN_REVIEW)
    spec = milestone.artifacts.get(kind=ArtifactKind.DESIGN_SPEC)
    services.save_artifact_body(
        tech_lead, spec, body="# Goal\n\n## Scope\n\nTokens.", base_revision=0
    )
    review = DesignReviewFactory(milestone=milestone, status=DesignReview.Status.OPEN)

    page = client_for(tech_lead).get(review.get_absolute_url()).content.decode()

    assert "<h3>Goal</h3>" in page and "<h4>Scope</h4>" in page
    assert page.count("<h1") == 1


def test_an_open_review_points_a_reviewer_to_their_verdict(client_for, squad, tech_lead):
    project = ProjectFactory(squad=squad, tech_lead=tech_lead)
    review = DesignReviewFactory(
        milestone=MilestoneFactory(project=project, phase=Phase.DESIGN_REVIEW),
        status=DesignReview.Status.OPEN,
    )

    page = client_for(tech_lead).get(review.get_absolute_url()).content.decode()

    assert '<a href="#your-verdict">Give your verdict ↓</a>' in page
    assert 'id="your-verdict"' in page
