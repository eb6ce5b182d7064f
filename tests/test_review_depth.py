"""Design review in depth (DESIGN §8), the half about revisions: comments on a block of a
revision that follow it or go outdated, and verdicts pinned to revisions that go stale,
are told so, and (a request for changes) are dismissed by the tech lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification, WebhookDelivery
from planning import blocks, services
from planning.exceptions import GuardRefused
from planning.models import Activity, Comment, DesignReview, Verdict
from planning.workflow import ArtifactKind, Phase
from tests.helpers import artifact_of, assert_api_error, put_in_phase, write_artifact
from tests.test_reviews import REVIEW_PAGE_BUDGET

pytestmark = pytest.mark.django_db

SPEC = ArtifactKind.DESIGN_SPEC
WHEN = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
V1 = "/api/v1"

GOAL = "## Goal"
KEEP = "Keep only tokens of card numbers, never the numbers themselves."
VAULT = "The vault rotates its keys every ninety days."
TABLE = "| field | kind |\n| --- | --- |\n| token | text |"
FIRST = f"{GOAL}\n\n{KEEP}\n\n{VAULT}\n\n{TABLE}\n"


@pytest.fixture
def milestone(project, tech_lead):
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    write_artifact(tech_lead, milestone, SPEC, FIRST)
    return put_in_phase(milestone, Phase.DESIGN_REVIEW)


@pytest.fixture
def review(milestone, tech_lead, engineer):
    review = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    return services.open_review(tech_lead, review)


@pytest.fixture
def api():
    def client_for(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


def spec_revision(milestone) -> int:
    return artifact_of(milestone, SPEC).revision


def edit(actor, milestone, body: str) -> int:
    return write_artifact(actor, milestone, SPEC, body).revision


def place(comment: Comment) -> int | None:
    milestone = comment.review.milestone
    return services.comment_places(milestone, [comment]).get(comment.pk)


def unmet_codes(actor, review) -> list[str]:
    with pytest.raises(GuardRefused) as refused:
        services.close_review(actor, review, DesignReview.Outcome.APPROVED)
    return [u.code for u in refused.value.unmet]


# Blocks, without a database ------------------------------------------------------------


def test_a_document_splits_into_its_top_level_blocks_with_kinds_and_quotes():
    source = f"{FIRST}\n- one\n- two\n\n```python\nprint(1)\n```\n\n```mermaid\nflowchart LR\n a-->b\n```\n"

    found = blocks.split_blocks(source)

    assert [b.kind for b in found] == [
        "heading", "paragraph", "paragraph", "table", "list", "code", "diagram",
    ]  # fmt: skip
    assert [b.index for b in found] == list(range(7))
    assert found[1].quote == KEEP
    assert found[0].quote == "Goal"
    assert found[3].source == TABLE


def test_a_fingerprint_keeps_through_reflowing_and_changes_with_the_words():
    same = blocks.fingerprint("Keep only tokens\nof card numbers.")
    assert same == blocks.fingerprint("Keep only   tokens of card numbers.  ")
    assert same != blocks.fingerprint("Keep only tokens of card digits.")


def test_a_block_is_followed_to_the_nearest_block_with_its_text():
    found = blocks.split_blocks("A.\n\nB.\n\nA.\n\nC.\n")
    a = blocks.fingerprint("A.")

    assert blocks.follow(a, 0, found) == 0
    assert blocks.follow(a, 3, found) == 2
    assert blocks.follow(blocks.fingerprint("Gone."), 1, found) is None


def test_a_long_quote_is_shortened_with_an_ellipsis():
    (block,) = blocks.split_blocks("word " * 100)
    assert len(block.quote) == blocks.QUOTE_LENGTH
    assert block.quote.endswith("…")


# Comments on a block, through the services ---------------------------------------------


def test_a_comment_on_a_block_records_its_revision_fingerprint_and_quote(review, engineer):
    comment = services.add_comment(
        engineer, review, body="Which vault?", artifact_kind=SPEC, anchor_block=2
    )

    assert comment.revision == spec_revision(review.milestone)
    assert comment.anchor_block == 2
    assert comment.anchor_quote == VAULT
    assert comment.anchor_fingerprint == blocks.fingerprint(VAULT)
    assert place(comment) == 2


def test_a_comment_keeps_the_quote_its_author_selected(review, engineer):
    comment = services.add_comment(
        engineer,
        review,
        body="Ninety?",
        artifact_kind=SPEC,
        anchor_block=2,
        anchor_quote="  every ninety\n days ",
    )

    assert comment.anchor_quote == "every ninety days"


def test_a_comment_follows_its_block_across_revisions_and_outdates_when_its_text_goes(
    review, engineer, tech_lead
):
    milestone = review.milestone
    on_vault = services.add_comment(
        engineer, review, body="Which vault?", artifact_kind=SPEC, anchor_block=2
    )
    on_keep = services.add_comment(
        engineer, review, body="Why never?", artifact_kind=SPEC, anchor_block=1
    )

    # Revision 2: a new paragraph above moves both blocks down one.
    edit(tech_lead, milestone, f"{GOAL}\n\nA new opening.\n\n{KEEP}\n\n{VAULT}\n\n{TABLE}\n")
    assert (place(on_vault), place(on_keep)) == (3, 2)

    # Revision 3: the vault paragraph moves above the tokens one, reflowed.
    moved = VAULT.replace(" every ", "\nevery ")
    edit(tech_lead, milestone, f"{GOAL}\n\n{moved}\n\n{KEEP}\n\n{TABLE}\n")
    assert (place(on_vault), place(on_keep)) == (1, 2)

    # Revision 4: the vault paragraph is rewritten: that comment is outdated; the other follows.
    edit(tech_lead, milestone, f"{GOAL}\n\n{KEEP}\n\nThe HSM holds the keys.\n\n{TABLE}\n")
    assert place(on_vault) is None
    assert place(on_keep) == 1
    on_vault.refresh_from_db()
    assert on_vault.revision == 1
    assert on_vault.anchor_quote == VAULT


def test_a_comment_on_an_earlier_revision_is_placed_by_its_text(review, engineer, tech_lead):
    milestone = review.milestone
    edit(tech_lead, milestone, f"Preface.\n\n{FIRST}")

    # Written on revision 1 (as the page the engineer had open showed it).
    comment = services.add_comment(
        engineer, review, body="Which vault?", artifact_kind=SPEC, revision=1, anchor_block=2
    )

    assert comment.anchor_quote == VAULT
    assert place(comment) == 3


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"artifact_kind": SPEC, "anchor_block": 4}, "anchor"),
        ({"artifact_kind": SPEC, "revision": 7, "anchor_block": 0}, "revision"),
        ({"artifact_kind": SPEC, "revision": 0, "anchor_block": 0}, "revision"),
        ({"anchor_block": 0}, "artifact_kind"),
        ({"revision": 1}, "artifact_kind"),
        ({"artifact_kind": SPEC, "anchor_quote": "Orphan quote"}, "anchor"),
    ],
)
def test_a_comment_naming_no_block_of_a_revision_is_refused(review, engineer, fields, error):
    with pytest.raises(ValidationError) as refused:
        services.add_comment(engineer, review, body="Hm.", **fields)

    assert error in refused.value.message_dict
    assert not Comment.objects.exists()


def test_a_reply_names_no_block_of_its_own(review, engineer, tech_lead):
    parent = services.add_comment(
        engineer, review, body="Which vault?", artifact_kind=SPEC, anchor_block=2
    )

    with pytest.raises(ValidationError) as refused:
        services.add_comment(tech_lead, review, body="The HSM.", parent=parent, anchor_block=1)
    assert "anchor" in refused.value.message_dict

    reply = services.add_comment(tech_lead, review, body="The HSM.", parent=parent)
    assert (reply.artifact_kind, reply.anchor_block) == (SPEC, None)


# Verdicts pinned to revisions -------------------------------------------------------------


@pytest.fixture
def one_approval(squad):
    squad.min_review_approvals = 1
    squad.save(update_fields=["min_review_approvals"])
    return squad


def test_a_new_revision_makes_an_approval_stale_and_the_close_needs_another(
    one_approval, review, engineer, tech_lead
):
    verdict = services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    assert verdict.revisions == {**verdict.revisions, SPEC: 1}

    edit(tech_lead, review.milestone, FIRST.replace("ninety", "thirty"))

    assert unmet_codes(tech_lead, review) == ["not_enough_approvals"]
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    closed = services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED)
    assert closed.outcome == DesignReview.Outcome.APPROVED


def test_a_stale_request_for_changes_holds_the_close_until_replaced(
    one_approval, review, engineer, product, tech_lead
):
    services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED, "Name the vault.")
    edit(tech_lead, review.milestone, FIRST.replace("The vault", "The HSM vault"))
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)

    assert unmet_codes(tech_lead, review) == ["changes_requested"]

    services.set_verdict(product, review, Verdict.Choice.COMMENT, "Fine now.")
    assert services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED).outcome == (
        DesignReview.Outcome.APPROVED
    )


def test_the_tech_lead_dismisses_a_stale_request_for_changes_with_a_note(
    one_approval, squad, review, engineer, product, tech_lead
):
    squad.webhook_url = "https://hooks.example.com/planning"
    squad.save(update_fields=["webhook_url"])
    asked = services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED, "Name it.")
    edit(tech_lead, review.milestone, FIRST.replace("The vault", "The HSM vault"))
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)

    dismissed = services.dismiss_verdict(tech_lead, asked, "  Named in revision 2.  ")

    assert dismissed.dismissed_by == tech_lead
    assert dismissed.dismiss_note == "Named in revision 2."
    assert dismissed.dismissed_at is not None
    activity = Activity.objects.get(verb="verdict_dismissed")
    assert activity.data["verdict"] == asked.pk
    assert "Named in revision 2." in activity.summary
    event = WebhookDelivery.objects.get(event="verdict.dismissed")
    assert event.payload["data"]["note"] == "Named in revision 2."
    assert Notification.objects.filter(
        recipient=product, kind=Notification.Kind.VERDICT_DISMISSED
    ).exists()
    closed = services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED)
    assert closed.outcome == DesignReview.Outcome.APPROVED


def test_a_new_verdict_replaces_a_dismissal(one_approval, review, product, tech_lead):
    asked = services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED)
    edit(tech_lead, review.milestone, FIRST + "\nMore.\n")
    services.dismiss_verdict(tech_lead, asked, "Answered.")

    again = services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED, "Still no.")

    assert (again.dismissed_at, again.dismiss_note) == (None, "")
    assert "changes_requested" in unmet_codes(tech_lead, review)


def test_only_the_tech_lead_dismisses_and_only_a_stale_request_with_a_note(
    review, engineer, product, principal, tech_lead
):
    asked = services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED)
    approval = services.set_verdict(engineer, review, Verdict.Choice.APPROVE)

    with pytest.raises(ValidationError, match="Only a stale request"):
        services.dismiss_verdict(tech_lead, asked, "Too early.")
    edit(tech_lead, review.milestone, FIRST + "\nMore.\n")
    for someone in (engineer, product, principal):
        with pytest.raises(PermissionDenied):
            services.dismiss_verdict(someone, asked, "Mine to dismiss?")
    with pytest.raises(ValidationError) as no_note:
        services.dismiss_verdict(tech_lead, asked, "   ")
    assert "note" in no_note.value.message_dict
    with pytest.raises(ValidationError, match="Only a request for changes"):
        services.dismiss_verdict(tech_lead, approval, "Not this one.")

    asked.refresh_from_db()
    assert asked.dismissed_at is None
    assert not Activity.objects.filter(verb="verdict_dismissed").exists()


def test_a_new_revision_tells_each_reviewer_whose_verdict_it_made_stale(
    review, engineer, product, principal, tech_lead
):
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED)
    services.set_verdict(tech_lead, review, Verdict.Choice.APPROVE)

    edit(tech_lead, review.milestone, FIRST + "\nMore.\n")
    # A second revision does not tell them again: their verdicts were stale already.
    edit(tech_lead, review.milestone, FIRST + "\nMore still.\n")

    told = Notification.objects.filter(kind=Notification.Kind.VERDICT_STALE)
    assert sorted(n.recipient.username for n in told) == sorted(
        [engineer.username, product.username]
    )  # not the tech lead, who saved it
    diff = reverse("planning:artifact-diff", kwargs={**review.milestone.url_kwargs(), "kind": SPEC})
    assert {n.link for n in told} == {f"{diff}?a=1&b=2"}
    assert "revision 2 of the detailed design spec" in told[0].text
    activity = Activity.objects.get(verb="verdicts_stale")
    assert activity.data["revision"] == 2
    assert len(activity.data["verdicts"]) == 3


def test_a_closed_review_tells_no_one_of_a_new_revision(review, engineer, tech_lead):
    services.set_verdict(engineer, review, Verdict.Choice.COMMENT)
    services.close_review(tech_lead, review, DesignReview.Outcome.CHANGES_REQUESTED)

    edit(tech_lead, review.milestone, FIRST + "\nMore.\n")

    assert not Notification.objects.filter(kind=Notification.Kind.VERDICT_STALE).exists()


# The review page ------------------------------------------------------------------------


def test_the_page_shows_each_block_with_its_comments_beside_it(
    client_for, review, engineer, tech_lead
):
    services.add_comment(engineer, review, body="Which vault?", artifact_kind=SPEC, anchor_block=2)
    services.add_comment(engineer, review, body="Why never?", artifact_kind=SPEC, anchor_block=1)
    edit(tech_lead, review.milestone, f"{GOAL}\n\n{KEEP}\n\nThe HSM holds the keys.\n\n{TABLE}\n")

    html = client_for(engineer).get(review.get_absolute_url()).content.decode()

    block = html.index(f'id="block-{SPEC}-1"')
    beside = html.index(f'id="block-comments-{SPEC}-1"')
    assert block < beside < html.index("Why never?") < html.index(f'id="block-{SPEC}-2"')
    outdated = html[html.index("Outdated comments") :]
    assert "Which vault?" in outdated
    assert VAULT in outdated
    assert "?a=1&amp;b=2" in outdated
    # Without JavaScript the form names the block from a list labelled with its words.
    assert '<select name="anchor_block"' in html
    assert f"2. Paragraph: {KEEP[:40]}" in html
    assert "js/review-blocks.js" in html


def test_the_page_form_comments_on_the_block_chosen_from_the_list(client_for, review, engineer):
    url = reverse(
        "planning:comment-add", kwargs={**review.milestone.url_kwargs(), "round": review.round}
    )

    answer = client_for(engineer).post(
        url, {"body": "Which vault?", "artifact_kind": SPEC, "revision": "1", "anchor_block": "2"}
    )

    comment = Comment.objects.get()
    assert answer.status_code == 302 and answer["Location"].endswith(f"#comment-{comment.pk}")
    assert (comment.revision, comment.anchor_block, comment.anchor_quote) == (1, 2, VAULT)


def test_the_page_refuses_a_block_the_revision_lacks_and_says_why(client_for, review, engineer):
    url = reverse(
        "planning:comment-add", kwargs={**review.milestone.url_kwargs(), "round": review.round}
    )

    answer = client_for(engineer).post(
        url,
        {"body": "Lost?", "artifact_kind": SPEC, "revision": "1", "anchor_block": "9"},
        HTTP_HX_REQUEST="true",
    )

    assert answer["X-Form-Refused"] == "true"
    assert "has no block 9" in answer.content.decode()
    assert not Comment.objects.exists()


def test_the_verdict_panel_shows_a_stale_approval_and_offers_the_dismissal(
    client_for, review, engineer, product, tech_lead
):
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED)
    edit(tech_lead, review.milestone, FIRST + "\nMore.\n")

    html = client_for(tech_lead).get(review.get_absolute_url()).content.decode()
    panel = html[html.index('id="verdicts"') :]

    assert "Approved revision 1 of the detailed design spec; it has changed since" in panel
    assert "No longer counts" in panel
    assert "Still counts until" in panel
    assert panel.count("Dismiss the request for changes") == 1
    assert "2 stale" in panel
    assert "Your verdict was given on an earlier revision" not in html  # the lead gave none
    mine = client_for(engineer).get(review.get_absolute_url()).content.decode()
    assert "Dismiss the request" not in mine
    assert "Your verdict was given on an earlier revision" in mine


def test_the_page_dismisses_with_a_note_and_refuses_without(client_for, review, product, tech_lead):
    asked = services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED)
    edit(tech_lead, review.milestone, FIRST + "\nMore.\n")
    url = reverse(
        "planning:verdict-dismiss",
        kwargs={**review.milestone.url_kwargs(), "round": review.round, "pk": asked.pk},
    )
    assert client_for(product).post(url, {"note": "Me?"}).status_code == 403
    client = client_for(tech_lead)

    empty = client.post(url, {"note": ""})
    assert empty.status_code == 400
    assert "Say why" in empty.content.decode()

    done = client.post(url, {"note": "Answered in revision 2."}, follow=True)
    asked.refresh_from_db()
    assert asked.dismiss_note == "Answered in revision 2."
    assert "Dismissed by" in done.content.decode()


def test_the_review_page_stays_within_its_budget_with_200_comments_on_blocks(
    client_for, django_assert_max_num_queries, review, engineer, tech_lead
):
    services.add_comment(engineer, review, body="First.", artifact_kind=SPEC, anchor_block=1)
    edit(tech_lead, review.milestone, FIRST.replace("ninety", "thirty") + "\nMore.\n")
    first = Comment.objects.get()
    Comment.objects.bulk_create(
        Comment(
            review=review,
            author=engineer,
            artifact_kind=SPEC,
            body=f"Comment {n}.",
            revision=n % 2 + 1,
            anchor_block=n % 4,
            anchor_fingerprint=blocks.split_blocks(FIRST)[n % 4].fingerprint,
            anchor_quote=first.anchor_quote,
        )
        for n in range(200)
    )
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    client = client_for(engineer)

    with django_assert_max_num_queries(REVIEW_PAGE_BUDGET):
        html = client.get(review.get_absolute_url()).content.decode()
    assert html.count('class="badge badge-outdated"') == 50  # the vault paragraph's
    assert "Comment 199." in html


# The API --------------------------------------------------------------------------------


def comments_url(review) -> str:
    return f"{V1}/reviews/{review.pk}/comments/"


def test_the_api_comments_on_a_block_and_answers_where_it_shows(api, review, engineer, tech_lead):
    client = api(engineer)

    made = client.post(
        comments_url(review),
        {"body": "Which vault?", "artifact_kind": SPEC, "anchor": {"block": 2}},
        format="json",
    )

    assert made.status_code == 201, made.content
    body = made.json()
    assert body["revision"] == 1
    assert body["anchor"] == {"block": 2, "quote": VAULT, "current_block": 2}
    assert body["outdated"] is False

    edit(tech_lead, review.milestone, f"Preface.\n\n{FIRST}")
    moved = client.get(comments_url(review)).json()["results"][0]
    assert (moved["anchor"]["current_block"], moved["outdated"]) == (3, False)

    edit(tech_lead, review.milestone, FIRST.replace(VAULT, "The HSM holds the keys."))
    gone = client.get(comments_url(review)).json()["results"][0]
    assert (gone["anchor"]["current_block"], gone["outdated"]) == (None, True)
    assert gone["anchor"]["quote"] == VAULT
    assert gone["revision"] == 1


def test_the_api_takes_a_revision_and_the_selected_quote(api, review, engineer, tech_lead):
    edit(tech_lead, review.milestone, f"Preface.\n\n{FIRST}")

    made = api(engineer).post(
        comments_url(review),
        {
            "body": "Ninety?",
            "artifact_kind": SPEC,
            "revision": 1,
            "anchor": {"block": 2, "quote": "every ninety days"},
        },
        format="json",
    )

    assert made.status_code == 201, made.content
    assert made.json()["revision"] == 1
    assert made.json()["anchor"] == {"block": 2, "quote": "every ninety days", "current_block": 3}


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"artifact_kind": SPEC, "anchor": {"block": 4}}, "anchor"),
        ({"artifact_kind": SPEC, "anchor": {"block": -1}}, "anchor"),
        ({"artifact_kind": SPEC, "anchor": {"block": "first"}}, "anchor"),
        ({"artifact_kind": SPEC, "anchor": {}}, "anchor"),
        ({"artifact_kind": SPEC, "anchor": "2"}, "anchor"),
        ({"artifact_kind": SPEC, "anchor": {"block": 0, "quote": "a\x00b"}}, "anchor"),
        ({"artifact_kind": SPEC, "anchor": {"block": 0, "quote": "q" * 201}}, "anchor"),
        ({"artifact_kind": SPEC, "revision": 5, "anchor": {"block": 0}}, "revision"),
        ({"artifact_kind": SPEC, "revision": -1}, "revision"),
        ({"anchor": {"block": 0}}, "artifact_kind"),
    ],
)
def test_the_api_refuses_a_bad_anchor_with_a_400_on_its_field(api, review, engineer, sent, field):
    answer = api(engineer).post(comments_url(review), {"body": "Hm.", **sent}, format="json")

    assert_api_error(answer, 400, field)
    assert not Comment.objects.exists()


def test_the_api_review_answers_each_verdict_with_its_revisions_and_staleness(
    api, review, engineer, tech_lead
):
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    client = api(engineer)
    url = f"{V1}/reviews/{review.pk}/"

    (fresh,) = client.get(url).json()["verdicts"]
    assert fresh["revisions"][SPEC] == 1
    assert fresh["stale"] is False

    edit(tech_lead, review.milestone, FIRST + "\nMore.\n")
    (stale,) = client.get(url).json()["verdicts"]
    assert stale["stale"] is True
    assert stale["dismissed_by"] is None

    given = client.put(f"{V1}/reviews/{review.pk}/verdict/", {"verdict": "approve"}, format="json")
    assert given.json()["revisions"][SPEC] == 2
    assert given.json()["stale"] is False


def test_the_api_dismisses_a_stale_request_for_changes_for_the_tech_lead_only(
    api, review, product, tech_lead
):
    asked = services.set_verdict(product, review, Verdict.Choice.CHANGES_REQUESTED)
    url = f"{V1}/verdicts/{asked.pk}/dismiss/"

    assert_api_error(api(tech_lead).post(url, {"note": "Early."}, format="json"), 400, "detail")
    edit(tech_lead, review.milestone, FIRST + "\nMore.\n")
    assert_api_error(api(product).post(url, {"note": "Mine."}, format="json"), 403)
    assert_api_error(api(tech_lead).post(url, {}, format="json"), 400, "note")
    assert_api_error(api(tech_lead).post(url, {"note": "  "}, format="json"), 400, "note")

    done = api(tech_lead).post(url, {"note": "Answered."}, format="json")

    assert done.status_code == 200, done.content
    body = done.json()
    assert body["dismiss_note"] == "Answered."
    assert body["dismissed_by"]["username"] == tech_lead.username
    assert body["stale"] is True
    assert_api_error(api(tech_lead).post(f"{V1}/verdicts/999999/dismiss/", {"note": "x"}), 404)


def test_the_api_comment_list_asks_no_query_per_anchored_comment(api, review, engineer):
    for n in range(3):
        services.add_comment(engineer, review, body=f"C{n}", artifact_kind=SPEC, anchor_block=n)
    client = api(engineer)
    with CaptureQueriesContext(connection) as few:
        client.get(comments_url(review))
    for n in range(20):
        services.add_comment(engineer, review, body=f"D{n}", artifact_kind=SPEC, anchor_block=1)

    with CaptureQueriesContext(connection) as many:
        answer = client.get(comments_url(review))

    assert answer.json()["count"] == 23
    assert len(many) == len(few)


def test_the_open_page_picks_up_a_new_revision_by_itself(client_for, review, engineer, tech_lead):
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    since = timezone.now().isoformat()
    updates = reverse(
        "planning:review-updates", kwargs={**review.milestone.url_kwargs(), "round": review.round}
    )
    client = client_for(engineer)
    assert client.get(updates, {"since": since}).status_code == 204

    edit(tech_lead, review.milestone, FIRST.replace(VAULT, "The HSM holds the keys."))

    answer = client.get(updates, {"since": since})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "The HSM holds the keys." in html
    assert "Approved revision 1 of the detailed design spec" in html
