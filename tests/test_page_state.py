"""Page fingerprints change with every row their page shows, and only then.

Each change commits, as it does in production (each request is its own
transaction): the fingerprint reads the transaction that wrote each row.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.views.unknowns import UNKNOWN_LIST
from planning import services
from planning.models import (
    Activity,
    Artifact,
    Comment,
    Concern,
    DeferralRequest,
    Milestone,
    Story,
    Subtask,
    Unknown,
    Verdict,
)
from planning.views.milestones import MILESTONE_PAGE
from planning.views.reviews import REVIEW_PAGE
from squads.models import Membership
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

User = get_user_model()

milestone_fingerprint = MILESTONE_PAGE.fingerprint
review_fingerprint = REVIEW_PAGE.fingerprint
unknowns_fingerprint = UNKNOWN_LIST.fingerprint


@pytest.fixture
def milestone(project, tech_lead):
    created = services.create_milestone(tech_lead, project, title="Tokenise cards")
    return Milestone.objects.select_related("project__squad").get(pk=created.pk)


@pytest.fixture
def other(project, tech_lead):
    return services.create_milestone(tech_lead, project, title="Another milestone")


def test_one_query_and_the_same_answer_while_nothing_changes(milestone):
    with CaptureQueriesContext(connection) as queries:
        first = milestone_fingerprint(milestone)
    assert len(queries) == 1
    assert first and first == milestone_fingerprint(milestone)


def test_every_kind_of_change_on_the_page_changes_it(milestone, tech_lead):
    engineer = UserFactory()  # not a member: the page does not show them until they own an unknown
    seen = [milestone_fingerprint(milestone)]

    def changed() -> bool:
        now = milestone_fingerprint(milestone)
        fresh = now not in seen
        seen.append(now)
        return fresh

    unknown = services.add_unknown(tech_lead, milestone, title="Which HSM?")
    assert changed(), "a new unknown"
    Unknown.objects.filter(pk=unknown.pk).update(title="Which HSM vendor?")
    assert changed(), "an unknown changed by a bulk update, bypassing the services"
    services.request_deferral(tech_lead, unknown, reason="Vendor is slow.", defer_until="M3")
    assert changed(), "a deferral request"
    DeferralRequest.objects.filter(unknown=unknown).update(defer_until="M4")
    assert changed(), "a deferral request changed"
    Artifact.objects.filter(milestone=milestone, kind="design_spec").update(status="draft")
    assert changed(), "an artifact"
    Milestone.objects.filter(pk=milestone.pk).update(due_on=date(2031, 1, 1))
    assert changed(), "the milestone itself"
    services.schedule_review(tech_lead, milestone, scheduled_for=timezone.now())
    assert changed(), "a review"
    Concern.objects.create(milestone=milestone, raised_by=engineer, kind="question", text="Why?")
    assert changed(), "a concern"
    story = Story.objects.create(milestone=milestone, number=1, title="Vault client")
    assert changed(), "a story"
    subtask = Subtask.objects.create(story=story, title="Retry policy")
    assert changed(), "a sub-task"
    Subtask.objects.filter(pk=subtask.pk).update(done=True)
    assert changed(), "a sub-task done"
    Activity.objects.create(milestone=milestone, actor=tech_lead, verb="note", summary="Hi.")
    assert changed(), "an activity"
    Membership.objects.create(squad=milestone.project.squad, user=UserFactory(), role="engineer")
    assert changed(), "a new squad member (an owner to choose)"
    milestone.project.squad.__class__.objects.filter(pk=milestone.project.squad_id).update(
        min_review_approvals=3
    )
    assert changed(), "the squad's settings"
    User.objects.filter(pk=engineer.pk).update(full_name="Erin Bulk")
    assert not changed(), "a rename of someone the page does not show yet"
    Unknown.objects.filter(pk=unknown.pk).update(owner=engineer)
    assert changed(), "an owner"
    User.objects.filter(pk=engineer.pk).update(full_name="Erin Bulk Again")
    assert changed(), "the owner renamed by a bulk update, bypassing save()"
    User.objects.filter(pk=tech_lead.pk).update(username="tess2")
    assert changed(), "the tech lead renamed"
    Unknown.objects.filter(pk=unknown.pk).delete()
    assert changed(), "an unknown deleted"


def test_changes_elsewhere_leave_it_alone(milestone, other, tech_lead):
    before = milestone_fingerprint(milestone)

    services.add_unknown(tech_lead, other, title="Elsewhere")
    Story.objects.create(milestone=other, number=1, title="Elsewhere")

    assert milestone_fingerprint(milestone) == before


def test_the_page_shows_each_change_at_once(client_for, milestone, tech_lead, engineer):
    """The page is cached under the fingerprint: a second view runs fewer queries, and a
    change, even one that bypasses the services, shows on the next view."""
    client = client_for(engineer)
    unknown = services.add_unknown(tech_lead, milestone, title="Which HSM?")
    with CaptureQueriesContext(connection) as cold:
        first = client.get(milestone.get_absolute_url()).content.decode()
    with CaptureQueriesContext(connection) as warm:
        second = client.get(milestone.get_absolute_url()).content.decode()
    assert "Which HSM?" in first
    assert len(warm) < len(cold)
    assert second.count("Which HSM?") == first.count("Which HSM?")

    Unknown.objects.filter(pk=unknown.pk).update(title="Which HSM vendor?")
    assert "Which HSM vendor?" in client.get(milestone.get_absolute_url()).content.decode()

    Story.objects.create(milestone=milestone, number=1, title="Vault client")
    assert "Vault client" in client.get(milestone.get_absolute_url()).content.decode()


def test_each_viewer_gets_their_own_page(client_for, milestone, tech_lead, engineer, principal):
    """What one may do does not leak to another: the tech lead moves the milestone on,
    the engineer sees who does."""
    lead_page = client_for(tech_lead).get(milestone.get_absolute_url()).content.decode()
    engineer_page = client_for(engineer).get(milestone.get_absolute_url()).content.decode()
    assert 'name="to"' in lead_page
    assert 'name="to"' not in engineer_page
    assert "moves it on" in engineer_page


# The review page -------------------------------------------------------------------


@pytest.fixture
def review(milestone, tech_lead):
    # Comments are welcome from scheduling on.
    return services.schedule_review(tech_lead, milestone, scheduled_for=timezone.now())


def test_every_change_on_a_review_page_changes_its_fingerprint(
    review, milestone, tech_lead, engineer, guest
):
    seen = [review_fingerprint(review)]

    def changed() -> bool:
        now = review_fingerprint(review)
        fresh = now not in seen
        seen.append(now)
        return fresh

    comment = services.add_comment(engineer, review, body="Where is the vault?")
    assert changed(), "a comment"
    Comment.objects.filter(pk=comment.pk).update(resolved=True)
    assert changed(), "a comment changed by a bulk update"
    Verdict.objects.create(review=review, reviewer=engineer, verdict="approve")
    assert changed(), "a verdict"
    services.invite_guest(tech_lead, review, guest)
    assert changed(), "a guest invited"
    Artifact.objects.filter(milestone=milestone, kind="design_spec").update(body="New text")
    assert changed(), "an artifact's text"
    Comment.objects.filter(pk=comment.pk).delete()
    assert changed(), "a comment deleted"


def test_another_reviews_comments_leave_it_alone(review, other, tech_lead, engineer):
    before = review_fingerprint(review)
    elsewhere = services.schedule_review(tech_lead, other, scheduled_for=timezone.now())
    services.add_comment(engineer, elsewhere, body="Elsewhere")
    assert review_fingerprint(review) == before


def test_the_review_page_shows_a_comment_written_behind_the_services_back(
    client_for, review, engineer
):
    client = client_for(engineer)
    services.add_comment(engineer, review, body="First remark.")
    assert "First remark." in client.get(review.get_absolute_url()).content.decode()

    Comment.objects.create(review=review, author=engineer, body="Imported remark.")
    assert "Imported remark." in client.get(review.get_absolute_url()).content.decode()


def test_a_comment_changed_in_bulk_shows_in_its_thread(client_for, review, engineer):
    """Threads are cached under their own fingerprints: a change that leaves `updated_at`
    as it was still shows."""
    comment = services.add_comment(engineer, review, body="Typo in the title.")
    client = client_for(engineer)
    badge = '<span class="badge badge-ready">resolved</span>'
    assert badge not in client.get(review.get_absolute_url()).content.decode()

    Comment.objects.filter(pk=comment.pk).update(resolved=True)

    assert badge in client.get(review.get_absolute_url()).content.decode()


# The API's list of unknowns -------------------------------------------------------------


def test_the_unknowns_fingerprint_follows_unknowns_and_deferrals_only(milestone, other, tech_lead):
    before = unknowns_fingerprint(milestone.pk)
    unknown = services.add_unknown(tech_lead, milestone, title="Which HSM?")
    added = unknowns_fingerprint(milestone.pk)
    assert added != before
    services.request_deferral(tech_lead, unknown, reason="Vendor is slow.", defer_until="M3")
    deferred = unknowns_fingerprint(milestone.pk)
    assert deferred != added
    services.add_unknown(tech_lead, other, title="Elsewhere")
    Artifact.objects.filter(milestone=milestone).update(status="draft")
    assert unknowns_fingerprint(milestone.pk) == deferred


def test_the_api_list_answers_each_query_for_itself_and_shows_each_change(
    client_for, milestone, tech_lead, engineer
):
    client = client_for(engineer)
    base = f"/api/v1/milestones/{milestone.pk}/unknowns/"
    for number in range(3):
        services.add_unknown(tech_lead, milestone, title=f"Unknown {number}")

    def titles(query: str) -> list[str]:
        answer = client.get(base + query)
        assert answer.status_code == 200
        return [row["title"] for row in answer.json()["results"]]

    assert titles("?page_size=2") == ["Unknown 0", "Unknown 1"]
    assert titles("?page_size=2&page=2") == ["Unknown 2"]
    assert titles("?page_size=2") == ["Unknown 0", "Unknown 1"]  # from the cache
    assert titles("?priority=blocker") == []

    Unknown.objects.filter(milestone=milestone, number=1).update(title="Renamed in bulk")
    assert titles("?page_size=2") == ["Renamed in bulk", "Unknown 1"]
    assert client.get(base + "?status=nonsense").status_code == 400
    assert "status" in client.get(base + "?status=nonsense").json()


# People's names ---------------------------------------------------------------------------
# Names live in accounts_user; the fingerprints cover the users a page shows, so a
# rename shows at once, bulk or not, in every process.


def test_a_bulk_rename_shows_on_the_next_view_of_the_milestone_page(
    client_for, milestone, tech_lead, engineer
):
    services.add_unknown(tech_lead, milestone, title="Which HSM?", owner=engineer)
    Story.objects.create(milestone=milestone, number=1, title="Vault client", assignee=engineer)
    client = client_for(engineer)
    page = client.get(milestone.get_absolute_url()).content.decode()
    assert page.count(engineer.display_name) >= 2  # owner and assignee

    User.objects.filter(pk=engineer.pk).update(full_name="Erin Bulk")
    User.objects.filter(pk=tech_lead.pk).update(full_name="Tess Bulk")

    page = client.get(milestone.get_absolute_url()).content.decode()
    rows = page.split('id="unknowns"', 1)[1].split("</table>", 1)[0]
    stories = page.split("Vault client", 1)[1]
    assert "Erin Bulk" in rows and "Erin Bulk" in stories
    assert "Tech lead Tess Bulk" in page


def test_a_bulk_rename_shows_on_the_next_view_of_the_review_page(
    client_for, review, tech_lead, engineer
):
    services.add_comment(engineer, review, body="Where is the vault?")
    client = client_for(tech_lead)
    assert engineer.display_name in client.get(review.get_absolute_url()).content.decode()

    User.objects.filter(pk=engineer.pk).update(full_name="Erin Bulk")

    page = client.get(review.get_absolute_url()).content.decode()
    thread = page.split('id="thread-general"', 1)[1]
    assert "Erin Bulk" in thread.split("Where is the vault?", 1)[0]


def test_a_bulk_rename_shows_in_the_unknown_rows(client_for, milestone, tech_lead, engineer):
    """The unknowns page is not cached whole: its rows come from their own cache."""
    services.add_unknown(tech_lead, milestone, title="Which HSM?", owner=engineer)
    client = client_for(tech_lead)
    url = reverse("planning:unknown-list", kwargs=milestone.url_kwargs())
    assert engineer.display_name in client.get(url).content.decode()

    User.objects.filter(pk=engineer.pk).update(full_name="Erin Bulk")

    rows = client.get(url).content.decode().split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "Erin Bulk" in rows


@pytest.fixture
def process():
    """Switch to the caches of one of two processes, each with its own memory, as two
    web workers have without CACHE_URL."""
    started: set[str] = set()

    def caches_of(name: str):
        local = "django.core.cache.backends.locmem.LocMemCache"
        own = override_settings(
            CACHES={
                alias: {"BACKEND": local, "LOCATION": f"process-{name}-{alias}"}
                for alias in ("default", "fragments")
            }
        )
        if name not in started:
            started.add(name)
            with own:
                for each in caches.all():
                    each.clear()
        return own

    return caches_of


def test_two_processes_show_a_rename_made_in_either(
    client_for, process, milestone, review, tech_lead, engineer
):
    services.add_unknown(tech_lead, milestone, title="Which HSM?", owner=engineer)
    services.add_comment(engineer, review, body="Where is the vault?")
    client = client_for(tech_lead)

    def pages(name: str) -> list[str]:
        with process(name):
            return [
                client.get(url).content.decode()
                for url in (milestone.get_absolute_url(), review.get_absolute_url())
            ]

    for name in ("a", "b"):
        assert all(engineer.display_name in page for page in pages(name))
    with process("a"):
        engineer.full_name = "Erin Renamed"
        engineer.save()

    for name in ("b", "a"):
        assert all("Erin Renamed" in page for page in pages(name)), name
