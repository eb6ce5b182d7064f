"""Cached HTML: rendered Markdown, and the comment threads of a design review page.

The cache must save work without ever changing what a user sees: the same HTML
as an uncached render, nothing stale after a change, nothing rendered for one
viewer shown to another, and forms whose CSRF token works in the viewer's session.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.html import Element, parse_html
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import planning.markdown
from planning import services
from planning.markdown import render_markdown, render_markdown_many
from planning.models import Comment, DesignReview
from planning.workflow import ArtifactKind, Phase
from squads.models import Membership
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import put_in_phase
from tests.test_reviews import WHEN, url

pytestmark = pytest.mark.django_db

SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
SOURCES = [
    "# Title\n\nSome **bold** text.",
    XSS_SCRIPT,
    "",
    XSS_IMG,
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "# Title\n\nSome **bold** text.",
    "```mermaid\ngraph TD; A-->B\n```\n",
    "",
]


# Fixtures, as in tests/test_reviews.py -------------------------------------------------


@pytest.fixture
def milestone(project, tech_lead):
    milestone = services.create_milestone(
        tech_lead, project, title="Tokenise cards", goal="Keep only tokens."
    )
    return put_in_phase(milestone, Phase.DESIGN_REVIEW)


@pytest.fixture
def opened(milestone, tech_lead, engineer, product):
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=WHEN, duration_minutes=60, location="Room 4"
    )
    return services.open_review(tech_lead, review)


@pytest.fixture
def second_engineer(squad):
    user = UserFactory(username="bea")
    MembershipFactory(squad=squad, user=user, role=Membership.Role.ENGINEER)
    return user


# Helpers -------------------------------------------------------------------------------


def page_of(client, review: DesignReview) -> str:
    response = client.get(review.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def _find_threads(element, found: dict[str, str]) -> None:
    for child in element.children:
        if isinstance(child, Element):
            element_id = dict(child.attributes).get("id") or ""
            if child.name == "div" and element_id.startswith("thread-"):
                found[element_id] = str(child)
            else:
                _find_threads(child, found)


def threads_of(page: str) -> dict[str, str]:
    """The HTML of each comment thread on the page, by its element id."""
    found: dict[str, str] = {}
    _find_threads(parse_html(page), found)
    assert "thread-general" in found
    return found


def edit_url(comment: Comment) -> str:
    return url("comment-edit", comment.review, pk=comment.pk)


def resolve_url(comment: Comment) -> str:
    return url("comment-resolve", comment.review, pk=comment.pk)


REPLY_TOKEN = re.compile(
    r'<form method="post" class="reply-form"[^>]*>\s*'
    r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"'
)
ANY_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def reply_token(page: str) -> str:
    """The CSRF token of the first Reply form, which comes from the cached thread."""
    match = REPLY_TOKEN.search(page)
    assert match, "no Reply form on the page"
    return match.group(1)


def reply_through_the_page(client, review: DesignReview, parent: Comment, body: str):
    """Open the review page and post a reply with the token of a thread's Reply form."""
    token = reply_token(page_of(client, review))
    return client.post(
        url("comment-add", review),
        {"csrfmiddlewaretoken": token, "parent": parent.pk, "body": body},
    )


# Markdown ------------------------------------------------------------------------------


def test_render_markdown_many_gives_the_uncached_html_in_order():
    expected = [render_markdown(source, cached=False) for source in SOURCES]

    first = render_markdown_many(SOURCES)
    again = render_markdown_many(SOURCES)

    assert first == expected
    assert again == expected
    assert [render_markdown(source) for source in SOURCES] == expected
    assert first[2] == first[7] == ""
    assert first[0] == first[5] and "<strong>bold</strong>" in first[0]
    assert "<script" not in first[1] and "alert(1)" not in first[1]
    assert "onerror" not in first[3]


def test_render_markdown_many_renders_each_text_once_then_reads_the_cache(monkeypatch):
    real_render = planning.markdown._render
    rendered: list[str] = []

    def counting_render(source: str) -> str:
        rendered.append(source)
        return real_render(source)

    monkeypatch.setattr(planning.markdown, "_render", counting_render)

    first = render_markdown_many(SOURCES)
    after_first = sorted(rendered)
    second = render_markdown_many(SOURCES)
    single = render_markdown(XSS_IMG)

    assert after_first == sorted({s for s in SOURCES if s})
    assert len(rendered) == len(after_first)
    assert second == first
    assert single == first[3]


def test_render_markdown_uncached_neither_reads_nor_fills_the_cache():
    source = "Draft *being typed* " + XSS_SCRIPT
    key = planning.markdown._cache_key(source)

    html = render_markdown(source, cached=False)

    assert key.startswith(f"md:{planning.markdown.RENDERER_VERSION}:")
    assert cache.get(key) is None
    assert "<em>being typed</em>" in html and "<script" not in html
    # With something under the key, the cached path reads it and the uncached one does not.
    cache.set(key, "<p>from the cache</p>")
    assert render_markdown(source) == "<p>from the cache</p>"
    assert render_markdown(source, cached=False) == html


# The review page: a second view ---------------------------------------------------------


# Pages and threads are cached under fingerprints, which only PostgreSQL gives.
@pytest.mark.postgres
def test_a_second_view_shows_the_same_threads_without_reading_the_comments(
    client_for, opened, tech_lead, engineer, product
):
    top = services.add_comment(
        engineer, opened, body="Where is the **vault**?", artifact_kind=SYSTEM
    )
    services.add_comment(product, opened, body="In the HSM.", parent=top)
    services.add_comment(tech_lead, opened, body="Overall fine.")
    client = client_for(engineer)

    with CaptureQueriesContext(connection) as first_queries:
        first = page_of(client, opened)
    with CaptureQueriesContext(connection) as second_queries:
        second = page_of(client, opened)

    first_threads, second_threads = threads_of(first), threads_of(second)
    assert second_threads == first_threads
    assert "<strong>vault</strong>" in second
    assert "In the HSM." in second_threads[f"thread-{SYSTEM}"]
    assert "Overall fine." in second_threads["thread-general"]
    assert len(second_queries) < len(first_queries)
    first_sql = [q["sql"] for q in first_queries.captured_queries]
    second_sql = [q["sql"] for q in second_queries.captured_queries]
    assert any('"planning_comment"."body"' in sql for sql in first_sql)
    assert not any('"planning_comment"."body"' in sql for sql in second_sql)
    # One look at the comments: the page's fingerprint (planning.state).
    [probe] = [sql for sql in second_sql if "planning_comment" in sql]
    assert "xmin" in probe


# The review page: nothing stale ---------------------------------------------------------


def test_a_new_comment_shows_on_the_next_view(client_for, opened, tech_lead, engineer):
    services.add_comment(engineer, opened, body="First remark.")
    client = client_for(tech_lead)
    assert "First remark." in threads_of(page_of(client, opened))["thread-general"]

    services.add_comment(engineer, opened, body="Second remark.")
    services.add_comment(engineer, opened, body="On the diagram.", artifact_kind=SYSTEM)

    threads = threads_of(page_of(client, opened))
    assert "First remark." in threads["thread-general"]
    assert "Second remark." in threads["thread-general"]
    assert "On the diagram." in threads[f"thread-{SYSTEM}"]


def test_an_edited_comment_shows_its_new_text_on_the_next_view(
    client_for, opened, tech_lead, engineer
):
    comment = services.add_comment(engineer, opened, body="Frist draft.")
    client = client_for(tech_lead)
    assert "Frist draft." in page_of(client, opened)

    services.edit_comment(engineer, comment, "First draft, fixed.")

    page = page_of(client, opened)
    assert "First draft, fixed." in threads_of(page)["thread-general"]
    assert "Frist draft." not in page


def test_a_resolved_comment_shows_its_badge_on_the_next_view(
    client_for, opened, tech_lead, engineer
):
    badge = '<span class="badge badge-ready">resolved</span>'
    comment = services.add_comment(engineer, opened, body="Typo in the title.")
    client = client_for(tech_lead)
    assert badge not in page_of(client, opened)

    services.set_comment_resolved(tech_lead, Comment.objects.get(pk=comment.pk), True)

    page = page_of(client, opened)
    assert badge in page
    assert ">Unresolve</button>" in page


# Each change commits, as each request does: the fingerprint reads the transaction that
# wrote each row, and a rename in the test's own transaction would leave its row as it was.
@pytest.mark.django_db(transaction=True)
def test_an_author_who_renames_themselves_shows_the_new_name_on_the_next_view(
    client_for, opened, tech_lead, engineer
):
    services.add_comment(engineer, opened, body="Looks good.")
    client = client_for(tech_lead)
    old_name = engineer.display_name
    assert old_name in threads_of(page_of(client, opened))["thread-general"]

    engineer.full_name = "Eli Renamed"
    engineer.save()

    thread = threads_of(page_of(client, opened))["thread-general"]
    assert "Eli Renamed" in thread
    assert old_name not in thread


def test_a_deleted_author_reads_someone_on_the_next_view(client_for, opened, tech_lead, engineer):
    services.add_comment(engineer, opened, body="Looks good.")
    client = client_for(tech_lead)
    name = engineer.display_name
    assert name in threads_of(page_of(client, opened))["thread-general"]

    engineer.delete()

    thread = threads_of(page_of(client, opened))["thread-general"]
    assert "Someone" in thread and name not in thread


def test_closing_the_review_removes_the_reply_forms_on_the_next_view(
    client_for, opened, tech_lead, engineer
):
    comment = services.add_comment(engineer, opened, body="Retry policy?")
    client = client_for(engineer)
    before = page_of(client, opened)
    assert 'class="reply-form"' in before and edit_url(comment) in before

    services.close_review(tech_lead, opened, DesignReview.Outcome.CHANGES_REQUESTED)

    after = page_of(client, opened)
    assert "Retry policy?" in threads_of(after)["thread-general"]
    assert 'class="reply-form"' not in after
    assert edit_url(comment) not in after
    assert resolve_url(comment) not in after


def test_a_new_tech_lead_gets_the_resolve_buttons_on_the_next_view(
    client_for, milestone, opened, tech_lead, engineer, product
):
    comment = services.add_comment(product, opened, body="Who owns the keys?")
    client = client_for(engineer)
    assert resolve_url(comment) not in page_of(client, opened)

    services.update_milestone(tech_lead, milestone, tech_lead=engineer)

    assert resolve_url(comment) in page_of(client, opened)


# The review page: each viewer their own threads ---------------------------------------


def test_a_thread_cached_for_one_viewer_shows_no_forms_of_theirs_to_another(
    client_for, opened, tech_lead, engineer, second_engineer
):
    comment = services.add_comment(engineer, opened, body="My own remark.")
    # One client: the same CSRF cookie throughout, so only the user differs.
    as_author = page_of(client_for(engineer), opened)
    as_lead = page_of(client_for(tech_lead), opened)
    as_other = page_of(client_for(second_engineer), opened)
    author_again = page_of(client_for(engineer), opened)

    assert edit_url(comment) in as_author and resolve_url(comment) in as_author
    assert edit_url(comment) not in as_lead and resolve_url(comment) in as_lead
    assert "My own remark." in as_other
    assert edit_url(comment) not in as_other
    assert resolve_url(comment) not in as_other
    assert edit_url(comment) in author_again


# The review page: forms that work in a new session -------------------------------------


def test_reply_forms_work_in_a_first_session_and_in_a_new_one(opened, engineer, product, password):
    top = services.add_comment(product, opened, body="Timeouts?")
    first = Client(enforce_csrf_checks=True)
    assert first.login(username=engineer.username, password=password)

    assert reply_through_the_page(first, opened, top, "Thirty seconds.").status_code == 302
    page_of(first, opened)  # the current threads, now cached for the first session

    second = Client(enforce_csrf_checks=True)
    assert second.login(username=engineer.username, password=password)
    response = reply_through_the_page(second, opened, top, "Or sixty.")

    assert response.status_code == 302
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value
    replies = Comment.objects.filter(parent=top).order_by("id").values_list("body", flat=True)
    assert list(replies) == ["Thirty seconds.", "Or sixty."]


def test_reply_forms_work_after_logging_out_and_in_again(opened, engineer, product, password):
    top = services.add_comment(product, opened, body="Timeouts?")
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=engineer.username, password=password)
    page = page_of(client, opened)  # the threads, cached for this session
    old_cookie = client.cookies["csrftoken"].value

    logout_token = ANY_TOKEN.search(page).group(1)
    logged_out = client.post(reverse("accounts:logout"), {"csrfmiddlewaretoken": logout_token})
    assert logged_out.status_code in (200, 302)
    login_page = client.get(reverse("accounts:login")).content.decode()
    logged_in = client.post(
        reverse("accounts:login"),
        {
            "csrfmiddlewaretoken": ANY_TOKEN.search(login_page).group(1),
            "username": engineer.username,
            "password": password,
        },
    )
    assert logged_in.status_code == 302
    assert client.cookies["csrftoken"].value != old_cookie  # Django's login rotates it

    response = reply_through_the_page(client, opened, top, "Thirty seconds.")

    assert response.status_code == 302
    assert Comment.objects.filter(parent=top, body="Thirty seconds.").exists()
