"""Every object an API URL names is fetched through squads.access.

The access module's fetchers by id, persona by persona.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from planning import services
from planning.models import DesignReview, Notification
from planning.services.notifications import notify
from planning.workflow import Phase
from squads import access
from tests.factories import UserFactory
from tests.helpers import put_in_phase

pytestmark = pytest.mark.django_db

LARGEST_ID = 2**63 - 1
PAST_BIGINT = [2**63, 10**30]


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
    "guest": {"milestone", "review", "comment"},
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
