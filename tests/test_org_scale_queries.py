"""Pages ask the database as often in a small organisation as in a larger one.

The organisation benchmark's data (bench/org.py) at two sizes: the person it
measures sees more at the larger (squads, notifications, milestones in their
project, deferrals to vet, comments in the review) in an organisation with more
of everything around them. Each page must run the same queries at both sizes,
within its budget, cold (nothing cached) and warm (a second view). A page
whose count grows names the query that repeats.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import org
from notifications.models import Notification
from planning.models import Comment, DeferralRequest, Milestone, Project, Unknown
from planning.views.dashboard import SHOWN
from squads.models import Membership, Squad
from tests.test_milestones import MILESTONE_PAGE_BUDGET, PROJECT_PAGE_BUDGET
from tests.test_projects import DASHBOARD_BUDGET
from tests.test_reviews import REVIEW_PAGE_BUDGET
from tests.test_unknowns import UNKNOWNS_PAGE_BUDGET

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# The measured person's slice at a twentieth and at a fifth of the benchmark's: 2 and 4
# squads, 500 and 2,000 notifications, 10 and 40 milestones in their project (one page
# and two), 5 and 20 deferrals waiting, 10 and 40 review comments; the organisation
# around them from nothing to 0.2 % of the benchmark's (2,000 unknowns and activities).
SMALL = (0.0, org.Slice().scaled(0.05))
LARGER = (0.002, org.Slice().scaled(0.2))

BUDGETS = {
    "dashboard": DASHBOARD_BUDGET,
    "inbox": 5,
    "project page": PROJECT_PAGE_BUDGET,
    "unknowns page": UNKNOWNS_PAGE_BUDGET,
    "approvals queue": 5,
    "milestone page": MILESTONE_PAGE_BUDGET,
    "review page": REVIEW_PAGE_BUDGET,
    "API list of unknowns": 6,
}


def _shape(sql: str) -> str:
    """A query without its values: the same query for another row reads the same."""
    return re.sub(r"\b\d+\b", "N", re.sub(r"'[^']*'", "S", sql))


def _views(client, data: dict, page: str) -> dict[str, list[str]]:
    """The queries of a first view with every cache empty, and of a second."""
    for each in caches.all():
        each.clear()
    views = {}
    for view in ("cold", "warm"):
        with CaptureQueriesContext(connection) as queries:
            answer = client.get(data["pages"][page])
        assert answer.status_code == 200, (page, view, answer.status_code)
        views[view] = [query["sql"] for query in queries.captured_queries]
    return views


def _build(client, size: tuple[float, org.Slice]) -> dict:
    fraction, measured = size
    data = org.build(fraction, measured)
    client.force_login(data["user"])
    return data


def _repeats(small: list[str], larger: list[str]) -> str:
    """The queries the larger size runs more often, with how many more times."""
    more = Counter(map(_shape, larger)) - Counter(map(_shape, small))
    return "\n".join(f"  {times} more times: {sql}" for sql, times in more.most_common())


@pytest.fixture
def small_counts(client) -> dict[str, dict[str, list[str]]]:
    data = _build(client, SMALL)
    return {page: _views(client, data, page) for page in BUDGETS}


@pytest.mark.parametrize("page", list(BUDGETS))
def test_a_page_asks_as_often_in_a_larger_organisation(
    client, django_assert_max_num_queries, small_counts, page
):
    data = _build(client, LARGER)
    for each in caches.all():
        each.clear()

    with django_assert_max_num_queries(BUDGETS[page]) as cold:
        first = client.get(data["pages"][page])
    with django_assert_max_num_queries(BUDGETS[page]) as warm:
        second = client.get(data["pages"][page])

    assert first.status_code == second.status_code == 200
    for view, queries in (("cold", cold), ("warm", warm)):
        larger = [query["sql"] for query in queries.captured_queries]
        assert len(larger) == len(small_counts[page][view]), (
            f"The {page} ({view}) runs {len(small_counts[page][view])} queries at the smaller "
            f"size and {len(larger)} at the larger:\n" + _repeats(small_counts[page][view], larger)
        )


def test_the_pages_show_the_measured_persons_world(client):
    data = _build(client, LARGER)
    measured = LARGER[1]
    lead = data["user"]

    dashboard = client.get(data["pages"]["dashboard"])
    assert len(dashboard.context["squads"]) == measured.squads
    assert dashboard.context["led_projects"][0].name == "Measured"
    assert len(dashboard.context["deferrals"]) == min(SHOWN, measured.pending)
    assert dashboard.context["unknowns"], "they own unknowns across their squads"

    inbox = client.get(data["pages"]["inbox"])
    newest = Notification.objects.filter(recipient=lead).order_by("-created_at", "-id")[0]
    assert (
        inbox.context["page"].paginator.count == Notification.objects.filter(recipient=lead).count()
    )
    assert len(inbox.context["page"].object_list) == 30
    assert newest.text in inbox.content.decode()

    project = client.get(data["pages"]["project page"])
    assert project.context["page"].paginator.count == measured.milestones
    assert (
        f'<span class="milestone-number">M{measured.milestones}</span>' in project.content.decode()
    )

    approvals = client.get(data["pages"]["approvals queue"])
    assert len(approvals.context["pending"]) == measured.pending == data["waiting"]
    assert len(approvals.context["decided"]) == min(20, measured.decided)

    unknowns = client.get(data["pages"]["unknowns page"])
    assert len(unknowns.context["unknowns"]) == round(60 * measured.content)

    review = client.get(data["pages"]["review page"])
    comments = Comment.objects.filter(review__milestone__project__slug="measured")
    assert comments.count() == round(200 * measured.content)
    assert comments.order_by("-id")[0].body.split(" with")[0] in review.content.decode()

    milestone = client.get(data["pages"]["milestone page"])
    assert "Big milestone" in milestone.content.decode()


def test_the_organisation_keeps_the_models_rules(db):
    rows = org.build_organisation(0.001, org.Slice().scaled(0.05))

    assert Squad.objects.count() == rows["squads"] == 2
    assert Project.objects.count() == rows["projects"]
    assert Milestone.objects.count() == rows["milestones"] == 20
    assert Unknown.objects.count() == rows["unknowns"] == 1000
    assert Notification.objects.count() == rows["notifications"] == 500
    for squad in Squad.objects.all():
        roles = Counter(squad.memberships.values_list("role", flat=True))
        assert roles == {"tech_lead": 1, "engineer": 8, "product": 1}
    for project in Project.objects.select_related("tech_lead"):
        assert Membership.objects.filter(
            squad=project.squad_id, user=project.tech_lead, role="tech_lead"
        ).exists()
        numbers = sorted(project.milestones.values_list("number", flat=True))
        assert numbers == list(range(1, len(numbers) + 1))
    assert not Unknown.objects.filter(status="resolved", resolution="").exists()
    deferrals = DeferralRequest.objects.all()
    assert deferrals.filter(status="pending").exists()
    assert not deferrals.filter(status="rejected", decision_note="").exists()
    assert all(d.unknown.status == "deferred" for d in deferrals.filter(status="approved"))
