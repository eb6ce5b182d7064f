"""Every object an API URL names is fetched through squads.access.

Route by route, from the URL patterns themselves (a new route is covered the
day it is added): an outsider gets the 404 of a missing object, and a number
past the bigint range is a 404 too, never a 500. Then the access module's
fetchers by id, persona by persona.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import partial

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notify
from planning import services
from planning.models import DesignReview
from planning.workflow import Phase
from squads import access
from tests.factories import UserFactory
from tests.helpers import put_in_phase
from tests.test_api_matrix import (
    COLLECTION_OBJECTS,
    as_user,
    call,
    world,  # noqa: F401 (the fixture: one object of each kind)
)

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found."}
LARGEST_ID = 2**63 - 1
PAST_BIGINT = [2**63, 10**30]
PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def object_routes() -> list[tuple[str, str]]:
    """(method, route) for every API route whose URL names an object."""
    found = []
    for route, callback in _routes(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or "<" not in route:
            continue
        view = callback.view_class
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                found.append((method.upper(), route))
    return sorted(found)


def fill(route: str, values: dict, number: int | None = None) -> str:
    """The URL of `route` naming the objects of `values`, or `number` for its numeric id."""
    parts = route.split("/")
    for index, part in enumerate(parts):
        if match := PARAMETER.fullmatch(part):
            numeric = match.group(1) == "int" and number is not None
            parts[index] = str(number if numeric else values[COLLECTION_OBJECTS[parts[index - 1]]])
    return "/" + "/".join(parts)


ROUTES = object_routes()


def test_the_routes_that_name_objects_are_found():
    assert len(ROUTES) >= 45
    assert ("PATCH", "api/v1/subtasks/<int:pk>/") in ROUTES
    assert ("DELETE", "api/v1/squads/<slug:slug>/members/<int:user_id>/") in ROUTES


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_an_outsider_gets_the_404_of_a_missing_object(world, method, route):  # noqa: F811
    answer = call(as_user(world["people"]["outsider"]), method, fill(route, world))

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if "<int:" in r[1]])
def test_an_id_past_the_bigint_range_answers_404(squad, tech_lead, method, route):
    # The squad's tech lead would reach any of its objects: only the number refuses.
    values = {"squad": squad.slug, "kind": "system_architecture"}
    client = as_user(tech_lead)

    for number in (*PAST_BIGINT, LARGEST_ID):
        answer = call(client, method, fill(route, values, number))
        assert (number, answer.status_code, answer.json()) == (number, 404, NOT_FOUND)


# squads.access, by id ---------------------------------------------------------------

WHEN = timezone.now() + timedelta(days=1)
FETCHERS = {
    "project": access.get_project_by_id_for,
    # Guests reach a milestone only where the caller asks `with_guest`.
    "milestone": partial(access.get_milestone_by_id_for, with_guest=True),
    "unknown": access.get_unknown_by_id_for,
    "deferral": access.get_deferral_by_id_for,
    "review": access.get_review_by_id_for,
    "comment": access.get_comment_by_id_for,
    "verdict": access.get_verdict_by_id_for,
    "concern": access.get_concern_by_id_for,
    "story": access.get_story_by_id_for,
    "subtask": access.get_subtask_by_id_for,
    "notification": access.get_notification_by_id_for,
}
# Who reaches what (DESIGN.md §1): the guest is invited to the review that the
# comment is on; the notification is the engineer's own.
REACHES = {
    "engineer": set(FETCHERS),
    "principal": set(FETCHERS) - {"notification"},
    "guest": {"milestone", "review", "comment", "verdict"},
    "outsider": set(),
}


@pytest.fixture
def scene(project, tech_lead, engineer, guest):
    milestone = put_in_phase(
        services.create_milestone(tech_lead, project, title="Fetched"), Phase.DESIGN_REVIEW
    )
    unknown = services.add_unknown(tech_lead, milestone, title="Which vault?", owner=engineer)
    review = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    services.invite_guest(tech_lead, review, guest)
    review = services.open_review(tech_lead, review)
    story = services.add_story(engineer, milestone, title="Vault schema")
    return {
        "project": project,
        "milestone": milestone,
        "unknown": unknown,
        "deferral": services.request_deferral(
            tech_lead, unknown, reason="Later.", defer_until="M2"
        ),
        "review": review,
        "comment": services.add_comment(engineer, review, body="Looks right."),
        "verdict": services.set_verdict(engineer, review, "changes_requested", "More."),
        "concern": services.raise_concern(engineer, milestone, kind="question", text="Why?"),
        "story": story,
        "subtask": services.add_subtask(engineer, story, title="Write the migration"),
        "notification": notify(engineer, Notification.Kind.UNKNOWN_ASSIGNED, "Yours."),
    }


def fresh(user):
    """The user read again: nothing `role_in` remembered while setting up carries over."""
    return type(user).objects.get(pk=user.pk)


@pytest.mark.parametrize("kind", sorted(FETCHERS))
@pytest.mark.parametrize("who", sorted(REACHES))
def test_each_fetcher_by_id_lets_in_only_whom_the_design_names(request, scene, who, kind):
    user = fresh(request.getfixturevalue(who))

    if kind in REACHES[who]:
        assert FETCHERS[kind](user, scene[kind].pk) == scene[kind]
    else:
        with pytest.raises(Http404):
            FETCHERS[kind](user, scene[kind].pk)


@pytest.mark.parametrize("kind", sorted(FETCHERS))
@pytest.mark.parametrize("pk", [*PAST_BIGINT, LARGEST_ID, 0, 987654321])
def test_each_fetcher_by_id_answers_404_for_a_number_that_names_nothing(engineer, kind, pk):
    with pytest.raises(Http404):
        FETCHERS[kind](engineer, pk)


@pytest.mark.parametrize("kind", sorted(FETCHERS))
def test_each_fetcher_by_id_answers_404_to_an_anonymous_user(scene, kind):
    with pytest.raises(Http404):
        FETCHERS[kind](AnonymousUser(), scene[kind].pk)


@pytest.mark.parametrize("kind", sorted(set(FETCHERS) - {"notification"}))
def test_a_fetch_by_id_is_one_query_and_remembers_the_role(
    scene, engineer, kind, django_assert_num_queries
):
    engineer = fresh(engineer)

    with django_assert_num_queries(1):
        found = FETCHERS[kind](engineer, scene[kind].pk)
    with django_assert_num_queries(0):
        assert access.role_in(engineer, scene["project"].squad) == "engineer"
    assert found == scene[kind]


def test_a_guest_reaches_only_the_review_round_they_are_invited_to(
    scene, tech_lead, engineer, guest
):
    first = scene["review"]
    services.close_review(tech_lead, first, DesignReview.Outcome.CHANGES_REQUESTED)
    second = services.schedule_review(tech_lead, scene["milestone"], scheduled_for=WHEN)
    comment = services.add_comment(engineer, second, body="On the second round.")

    assert access.get_review_by_id_for(fresh(guest), first.pk) == first
    with pytest.raises(Http404):
        access.get_review_by_id_for(fresh(guest), second.pk)
    with pytest.raises(Http404):
        access.get_comment_by_id_for(fresh(guest), comment.pk)
    assert access.get_comment_by_id_for(fresh(engineer), comment.pk) == comment
    milestone = access.get_milestone_by_id_for(guest, scene["milestone"].pk, with_guest=True)
    assert list(access.reviews_for(guest, milestone)) == [first]
    milestone = access.get_milestone_by_id_for(engineer, scene["milestone"].pk)
    assert set(access.reviews_for(engineer, milestone)) == {first, second}


def test_a_member_is_fetched_by_user_id_within_a_squad_fetched_first(
    squad, tech_lead, engineer, principal, guest, outsider
):
    seen = access.get_squad_for(tech_lead, squad.slug)

    assert access.get_member_by_id_for(tech_lead, seen, engineer.pk) == engineer
    for pk in (outsider.pk, principal.pk, *PAST_BIGINT, 0):
        with pytest.raises(Http404):
            access.get_member_by_id_for(tech_lead, seen, pk)
    for person in (principal, guest, outsider):
        with pytest.raises(Http404):
            access.get_squad_for(person, squad.slug)


def test_notifications_for_is_the_users_own_only(engineer, tech_lead):
    mine = notify(engineer, Notification.Kind.UNKNOWN_ASSIGNED, "Yours.")
    notify(tech_lead, Notification.Kind.UNKNOWN_ASSIGNED, "Not yours.")

    assert list(access.notifications_for(engineer)) == [mine]
    assert not access.notifications_for(AnonymousUser()).exists()


def test_people_for_is_everyone_active_to_a_signed_in_user(engineer, outsider):
    gone = UserFactory(username="gone", is_active=False)

    people = set(access.people_for(engineer))

    assert {engineer, outsider} <= people
    assert gone not in people
    assert not access.people_for(AnonymousUser()).exists()
