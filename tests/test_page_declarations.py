"""Each cached page reads only what its declaration covers.

A page is cached under the fingerprint of the rows it declares
(planning.state.CachedPage), and a fragment under the values its one query
loads. A query added to a page's context that reads another table, or people
through another column, would leave the page stale when they change. Here
each page is rendered with the cache cold and its SQL captured: every table
it reads must be in its declaration, and every column through which it reads
people among the declaration's people, unless the read is made for the
request itself (FOR_THE_REQUEST) rather than for the cached content.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.views.unknowns import UNKNOWN_LIST
from planning import services
from planning.models import BreakoutSession, Concern, KickoffMeeting, Story, Subtask, Verdict
from planning.state import CachedPage
from planning.views.milestones import MILESTONE_PAGE
from planning.views.reviews import REVIEW_PAGE, REVIEW_THREADS, thread_html
from planning.views.unknowns import UNKNOWN_ROWS, unknown_rows_html, unknowns_table
from planning.workflow import ArtifactKind, Phase
from squads import access
from tests.helpers import put_in_phase, write_artifact

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Reads made for the request, outside the cached content, by where they are made
# (module, function), with the reason they need no fingerprint.
FOR_THE_REQUEST = {
    ("django.contrib.sessions.backends.db", "load"): (
        "the session, read on every request to know who is signed in"
    ),
    ("django.contrib.auth", "get_user"): (
        "the signed-in user, read on every request to authenticate it"
    ),
    ("planning.context_processors", "navigation"): (
        "the navigation bar's counts, rendered around the cached content on every view"
    ),
    ("planning.state", "fingerprint"): "the fingerprint itself, made from the declaration",
    ("planning.state", "fingerprints"): "the fingerprints themselves, made from the declaration",
}
# The API's list shows nothing of its milestone but its unknowns.
API_ACCESS = {
    ("squads.access", "get_milestone_id_for"): (
        "the access check, made on every request before the cache is read"
    ),
}

PEOPLE = get_user_model()._meta.db_table
TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"(\w+)"(?:\s+(?:AS\s+)?([A-Z]\d+)\b)?')
COLUMN = r'(?:"(\w+)"|\b([A-Z]\d+))\."(\w+)"'
EQUALS = re.compile(COLUMN + r"\s*=\s*\(?" + COLUMN)


def reads(sql: str) -> tuple[set[str], set[tuple[str | None, str]]]:
    """The tables a query reads, and the (table, column) pairs it reads people through."""
    tables, aliases = set(), []
    for found in TABLE.finditer(sql):
        tables.add(found[1])
        if found[2]:
            aliases.append((found.start(), found[2], found[1]))

    def table(quoted: str | None, alias: str | None, at: int) -> str | None:
        # Subqueries reuse aliases (U0): an alias is the table it last named before `at`.
        named = [t for start, a, t in aliases if a == alias and start < at]
        return quoted or (named[-1] if named else None)

    links = set()
    for found in EQUALS.finditer(sql):
        left = (table(found[1], found[2], found.start()), found[3])
        right = (table(found[4], found[5], found.start()), found[6])
        for person, other in ((left, right), (right, left)):
            if person == (PEOPLE, "id") and other[0] != PEOPLE:
                links.add(other)
    return tables, links


def _origin(outside: dict) -> tuple[str, str] | None:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        module: str = frame.f_globals.get("__name__", "")
        place = (module, frame.f_code.co_name)
        if place in outside:
            return place
        frame = frame.f_back
    return None


@contextmanager
def captured(outside: dict) -> Iterator[list[tuple[str, tuple[str, str] | None]]]:
    """Each query run in the block, with the place in `outside` it was made for, if any."""
    places: list = []

    def note_origin(execute, sql, params, many, context):
        places.append(_origin(outside))
        return execute(sql, params, many, context)

    queries: list = []
    with (
        CaptureQueriesContext(connection) as captured_queries,
        connection.execute_wrapper(note_origin),
    ):
        yield queries
    assert len(captured_queries) == len(places)
    queries.extend(
        (query["sql"], place)
        for query, place in zip(captured_queries.captured_queries, places, strict=True)
    )


def gaps(page: CachedPage, name: str, queries: list) -> list[str]:
    """What the page reads that its declaration does not cover, one sentence each."""
    found = []
    for sql, place in queries:
        if place is not None:
            continue
        tables, links = reads(sql)
        for table in sorted(tables - page.tables):
            found.append(
                f"The {name} reads {table}, which its declaration ({page.name}) does not cover:"
                f"\n    {sql[:240]}"
            )
        if PEOPLE in tables and PEOPLE in page.tables:
            for source, column in sorted(links - page.people):
                found.append(
                    f"The {name} shows people through {source}.{column}, which its declaration"
                    f" ({page.name}) does not cover:\n    {sql[:240]}"
                )
            if not links:
                found.append(
                    f"The {name} reads {PEOPLE} through no column it can tell (load people with"
                    f" the rows that point at them):\n    {sql[:240]}"
                )
    return found


# A milestone with something of every kind each page shows ----------------------------


@pytest.fixture
def milestone(project, tech_lead, engineer, product, guest):
    milestone = services.create_milestone(
        tech_lead, project, title="Tokenise cards", goal="Keep only tokens."
    )
    write_artifact(tech_lead, milestone, ArtifactKind.SYSTEM_ARCHITECTURE, "The vault.\n")
    owned = services.add_unknown(tech_lead, milestone, title="Which HSM?", owner=engineer)
    services.add_unknown(tech_lead, milestone, title="Retry policy?")
    services.request_deferral(tech_lead, owned, reason="Vendor is slow.", defer_until="M3")
    story = Story.objects.create(milestone=milestone, number=1, title="Vault", assignee=engineer)
    Subtask.objects.create(story=story, title="Client", assignee=product)
    KickoffMeeting.objects.create(milestone=milestone, held_at=timezone.now())
    Concern.objects.create(milestone=milestone, raised_by=product, text="Latency?")
    BreakoutSession.objects.create(milestone=milestone)
    milestone = put_in_phase(milestone, Phase.DESIGN_REVIEW)
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=timezone.now() + timedelta(days=1)
    )
    review = services.open_review(tech_lead, review)
    services.invite_guest(tech_lead, review, guest)
    top = services.add_comment(
        engineer, review, body="Where is the **vault**?", artifact_kind="system_architecture"
    )
    services.add_comment(product, review, body="In the HSM.", parent=top)
    services.add_comment(tech_lead, review, body="Overall fine.")
    Verdict.objects.create(review=review, reviewer=engineer, verdict="approve")
    return milestone


@pytest.fixture
def review(milestone):
    return milestone.reviews.get()


VIEWERS = ["tech_lead", "engineer", "principal"]


# Pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_the_milestone_page_reads_only_what_it_declares(client_for, request, milestone, viewer):
    client = client_for(request.getfixturevalue(viewer))
    with captured(FOR_THE_REQUEST) as queries:
        assert client.get(milestone.get_absolute_url()).status_code == 200
    found = gaps(MILESTONE_PAGE, "milestone page", queries)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("viewer", [*VIEWERS, "guest"])
def test_the_review_page_reads_only_what_it_declares(client_for, request, review, viewer):
    client = client_for(request.getfixturevalue(viewer))
    with captured(FOR_THE_REQUEST) as queries:
        assert client.get(review.get_absolute_url()).status_code == 200
    found = gaps(REVIEW_PAGE, "review page", queries)
    assert not found, "\n".join(found)


def test_the_api_list_of_unknowns_reads_only_what_it_declares(client_for, milestone, engineer):
    client = client_for(engineer)
    with captured({**FOR_THE_REQUEST, **API_ACCESS}) as queries:
        assert client.get(f"/api/v1/milestones/{milestone.pk}/unknowns/").status_code == 200
    found = gaps(UNKNOWN_LIST, "API list of unknowns", queries)
    assert not found, "\n".join(found)


# Fragments ----------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_the_review_threads_read_only_what_they_declare(request, milestone, review, viewer):
    person = request.getfixturevalue(viewer)
    review = access.get_review_for(person, **milestone.url_kwargs(), round=review.round)
    asked = RequestFactory().get(review.get_absolute_url())
    asked.user = person
    # The page reads the artifacts (declared on its own) and hands them to the threads,
    # whose keys hold each artifact's revision.
    artifacts = {a.kind: a for a in review.milestone.artifacts.all()}
    kinds = [*artifacts, ""]
    with captured(FOR_THE_REQUEST) as queries:
        threads = thread_html(asked, review, kinds, artifacts)
    assert "In the HSM." in threads["system_architecture"]
    found = gaps(REVIEW_THREADS, "review threads", queries)
    assert not found, "\n".join(found)


def test_the_unknown_rows_read_only_what_they_declare(milestone, engineer):
    milestone = access.get_milestone_for(engineer, **milestone.url_kwargs())
    with captured(FOR_THE_REQUEST) as queries:
        table = unknowns_table(milestone)
    with CaptureQueriesContext(connection) as rendering:
        rows = unknown_rows_html(milestone, table["unknowns"], may_add=True)
    assert engineer.display_name in rows
    found = gaps(UNKNOWN_ROWS, "unknown rows", queries)
    assert not found, "\n".join(found)
    # Their key is what that one query loaded: rendering them must read nothing more.
    assert not rendering.captured_queries, [q["sql"] for q in rendering.captured_queries]


# The check itself ---------------------------------------------------------------------


def test_the_check_names_a_table_and_a_column_a_declaration_leaves_out(client_for, milestone):
    client = client_for(milestone.tech_lead)
    with captured(FOR_THE_REQUEST) as queries:
        client.get(milestone.get_absolute_url())
    without_stories = CachedPage(
        "milestone",
        *[rows for rows in MILESTONE_PAGE.rows if rows.model != "planning.Story"],
    )
    found = "\n".join(gaps(without_stories, "milestone page", queries))
    assert "The milestone page reads planning_story, which its declaration" in found

    owners_left_out = CachedPage(
        "milestone",
        *[
            rows if rows.model != "planning.Unknown" else type(rows)(rows.model, rows.where)
            for rows in MILESTONE_PAGE.rows
        ],
    )
    found = "\n".join(gaps(owners_left_out, "milestone page", queries))
    assert "shows people through planning_unknown.owner_id" in found
