"""The API of design reviews, the kick-off and the task breakout: one test per row and per error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from planning import services
from planning.models import (
    Activity,
    BreakoutSession,
    Comment,
    Concern,
    DesignReview,
    KickoffMeeting,
    Story,
    Subtask,
    Verdict,
)
from planning.workflow import ArtifactKind, Phase
from squads.models import Squad
from tests.factories import UserFactory
from tests.helpers import assert_api_error, put_in_phase, unchanged, write_artifact

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
WHEN = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
HUGE = 2**70
NOT_FOUND = {"detail": "Not found."}

# Each list answers in a fixed number of queries, however many rows it holds: the
# milestone or review (and the caller's role), the count, the page, its prefetches.
BUDGET = {"reviews": 7, "comments": 4, "concerns": 3, "stories": 4, "subtasks": 4}


@pytest.fixture
def api():
    def client_for(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture
def milestone(project, tech_lead, engineer, product):
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    return put_in_phase(milestone, Phase.DESIGN_REVIEW)


@pytest.fixture
def review(milestone, tech_lead):
    return services.schedule_review(
        tech_lead, milestone, scheduled_for=WHEN, duration_minutes=60, location="Room 4"
    )


@pytest.fixture
def opened(review, tech_lead):
    return services.open_review(tech_lead, review)


@pytest.fixture
def invited(review, tech_lead, guest):
    services.invite_guest(tech_lead, review, guest)
    return guest


@pytest.fixture
def meeting_mode(squad):
    Squad.objects.filter(pk=squad.pk).update(breakout_mode=Squad.BreakoutMode.MEETING)


@pytest.fixture
def story(milestone, engineer):
    return services.add_story(engineer, milestone, title="Vault schema")


def close_as(client: APIClient, review, outcome: str):
    return client.post(f"{V1}/reviews/{review.pk}/close/", {"outcome": outcome})


def approve_by(review, *people) -> None:
    for person in people:
        services.set_verdict(person, review, Verdict.Choice.APPROVE)


# GET, POST /milestones/{id}/reviews/ ---------------------------------------------


def test_members_list_the_milestones_review_rounds(api, engineer, milestone, review):
    answer = api(engineer).get(f"{V1}/milestones/{milestone.pk}/reviews/")

    assert answer.status_code == 200
    assert answer.json()["count"] == 1
    assert answer.json()["results"][0]["round"] == 1
    assert answer.json()["results"][0]["status"] == "scheduled"


def test_the_tech_lead_schedules_a_review_round_with_201_and_its_round(api, tech_lead, milestone):
    answer = api(tech_lead).post(
        f"{V1}/milestones/{milestone.pk}/reviews/",
        {"scheduled_for": WHEN.isoformat(), "duration_minutes": 90, "location": "Call"},
    )

    assert answer.status_code == 201
    assert answer.json()["round"] == 1
    assert answer.json()["duration_minutes"] == 90
    assert DesignReview.objects.get().location == "Call"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"scheduled_for": "tomorrow"},
        {"scheduled_for": None},
        {"scheduled_for": "99999-01-01T10:00:00Z"},
        {"scheduled_for": "9999-12-31T23:59:00Z"},
        {"scheduled_for": WHEN.isoformat(), "duration_minutes": "long"},
        {"scheduled_for": WHEN.isoformat(), "duration_minutes": 10**30},
        {"scheduled_for": WHEN.isoformat(), "location": "x" * 301},
        {"scheduled_for": WHEN.isoformat(), "location": None},
    ],
)
def test_scheduling_a_review_with_malformed_input_answers_400(api, tech_lead, milestone, body):
    answer = api(tech_lead).post(f"{V1}/milestones/{milestone.pk}/reviews/", body)

    assert answer.status_code == 400
    assert not DesignReview.objects.exists()


def test_a_second_round_while_one_is_not_closed_answers_400(api, tech_lead, milestone, review):
    with unchanged(DesignReview, Activity):
        answer = api(tech_lead).post(
            f"{V1}/milestones/{milestone.pk}/reviews/", {"scheduled_for": WHEN.isoformat()}
        )

    assert answer.status_code == 400
    assert "detail" in answer.json()


@pytest.mark.parametrize("who", ["engineer", "principal"])
def test_only_the_tech_lead_schedules_a_review_403(api, request, milestone, who):
    answer = api(request.getfixturevalue(who)).post(
        f"{V1}/milestones/{milestone.pk}/reviews/", {"scheduled_for": WHEN.isoformat()}
    )

    assert answer.status_code == 403
    assert set(answer.json()) == {"detail"}
    assert not DesignReview.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outsider_gets_404_on_the_milestones_reviews(api, outsider, milestone, method):
    client = api(outsider)
    body = {"scheduled_for": WHEN.isoformat()}

    for pk in (milestone.pk, HUGE, 0):
        answer = getattr(client, method)(f"{V1}/milestones/{pk}/reviews/", body)
        assert answer.status_code == 404
        assert answer.json() == NOT_FOUND


def test_a_guest_lists_only_the_round_they_are_invited_to(
    api, tech_lead, milestone, review, invited
):
    services.open_review(tech_lead, review)
    services.close_review(tech_lead, review, DesignReview.Outcome.CHANGES_REQUESTED)
    services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)

    answer = api(invited).get(f"{V1}/milestones/{milestone.pk}/reviews/")

    assert [r["round"] for r in answer.json()["results"]] == [1]


@pytest.mark.parametrize("rows", [1, 100])
def test_listing_reviews_takes_the_same_queries_for_1_or_100_rounds(
    api, engineer, milestone, guest, django_assert_max_num_queries, rows
):
    reviews = DesignReview.objects.bulk_create(
        DesignReview(
            milestone=milestone, round=n, scheduled_for=WHEN, status=DesignReview.Status.CLOSED
        )
        for n in range(1, rows + 1)
    )
    for review in reviews:
        review.invitees.add(guest)
    Verdict.objects.bulk_create(
        Verdict(review=r, reviewer=engineer, verdict=Verdict.Choice.APPROVE) for r in reviews
    )
    client = api(engineer)

    with django_assert_max_num_queries(BUDGET["reviews"]):
        answer = client.get(f"{V1}/milestones/{milestone.pk}/reviews/?page_size=200")

    assert answer.json()["count"] == rows


# GET, PATCH /reviews/{id}/ ----------------------------------------------------------


@pytest.mark.parametrize("who", ["engineer", "product", "principal", "tech_lead"])
def test_the_squad_and_the_principal_read_a_review(api, request, review, who):
    answer = api(request.getfixturevalue(who)).get(f"{V1}/reviews/{review.pk}/")

    assert answer.status_code == 200
    assert answer.json()["location"] == "Room 4"


def test_an_invited_guest_reads_their_review(api, review, invited):
    answer = api(invited).get(f"{V1}/reviews/{review.pk}/")

    assert answer.status_code == 200
    assert [p["username"] for p in answer.json()["invitees"]] == [invited.username]


@pytest.mark.parametrize("pk", ["review", HUGE, 999999])
def test_an_outsider_or_a_stranger_gets_404_on_a_review(api, review, outsider, guest, pk):
    pk = review.pk if pk == "review" else pk
    for person in (outsider, guest):
        answer = api(person).get(f"{V1}/reviews/{pk}/")
        assert answer.status_code == 404
        assert answer.json() == NOT_FOUND


def test_a_guest_gets_404_on_another_round_of_the_same_milestone(
    api, tech_lead, milestone, review, invited
):
    services.open_review(tech_lead, review)
    services.close_review(tech_lead, review, DesignReview.Outcome.CHANGES_REQUESTED)
    second = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)

    assert api(invited).get(f"{V1}/reviews/{second.pk}/").status_code == 404
    assert api(invited).get(f"{V1}/reviews/{second.pk}/comments/").status_code == 404
    assert api(invited).get(f"{V1}/reviews/{second.pk}/").json() == NOT_FOUND
    assert api(invited).get(f"{V1}/reviews/{second.pk}/comments/").json() == NOT_FOUND


def test_the_tech_lead_moves_a_review(api, tech_lead, review):
    later = WHEN + timedelta(days=1)

    answer = api(tech_lead).patch(
        f"{V1}/reviews/{review.pk}/", {"scheduled_for": later.isoformat(), "location": "Room 5"}
    )

    assert answer.status_code == 200
    review.refresh_from_db()
    assert (review.scheduled_for, review.location) == (later, "Room 5")


@pytest.mark.parametrize(
    "body",
    [
        {"scheduled_for": "soon"},
        {"duration_minutes": 5},
        {"duration_minutes": "1e9"},
        {"location": ["a"]},
        ["not", "an", "object"],
    ],
)
def test_changing_a_review_with_malformed_input_answers_400(api, tech_lead, review, body):
    with unchanged(review, Activity):
        answer = api(tech_lead).patch(f"{V1}/reviews/{review.pk}/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400, *(body if isinstance(body, dict) else ()))


def test_a_closed_review_cannot_change_400(api, tech_lead, opened):
    services.close_review(tech_lead, opened, DesignReview.Outcome.CHANGES_REQUESTED)

    with unchanged(opened, Activity):
        answer = api(tech_lead).patch(f"{V1}/reviews/{opened.pk}/", {"location": "Elsewhere"})

    assert answer.status_code == 400
    assert_api_error(answer, 400)


@pytest.mark.parametrize("who", ["engineer", "principal"])
def test_only_the_tech_lead_changes_a_review_403(api, request, review, who):
    with unchanged(review, Activity):
        answer = api(request.getfixturevalue(who)).patch(
            f"{V1}/reviews/{review.pk}/", {"location": "Mine"}
        )

    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_an_invited_guest_cannot_change_the_review_403(api, review, invited):
    with unchanged(review, Activity):
        answer = api(invited).patch(f"{V1}/reviews/{review.pk}/", {"location": "X"})
    assert answer.status_code == 403
    assert_api_error(answer, 403)


# POST /reviews/{id}/open/ -----------------------------------------------------------


def test_opening_a_review_snapshots_the_artifact_revisions(api, tech_lead, milestone, review):
    write_artifact(tech_lead, milestone, ArtifactKind.DESIGN_SPEC, "Spec.\n")

    answer = api(tech_lead).post(f"{V1}/reviews/{review.pk}/open/")

    assert answer.status_code == 200
    assert answer.json()["status"] == "open"
    assert answer.json()["reviewed_revisions"][ArtifactKind.DESIGN_SPEC] == 1
    assert answer.json()["reviewed_revisions"][ArtifactKind.FLOW_CHART] == 0


def test_opening_an_open_review_answers_400(api, tech_lead, opened):
    with unchanged(opened, Activity):
        answer = api(tech_lead).post(f"{V1}/reviews/{opened.pk}/open/")
    assert answer.status_code == 400
    assert_api_error(answer, 400)


def test_opening_before_the_design_review_phase_answers_400(api, tech_lead, milestone, review):
    put_in_phase(milestone, Phase.UNKNOWNS)

    with unchanged(review, Activity):
        answer = api(tech_lead).post(f"{V1}/reviews/{review.pk}/open/")
    assert answer.status_code == 400
    assert_api_error(answer, 400)
    assert DesignReview.objects.get(pk=review.pk).status == "scheduled"


@pytest.mark.parametrize("who", ["engineer", "principal"])
def test_only_the_tech_lead_opens_a_review_403(api, request, review, who):
    with unchanged(review, Activity):
        answer = api(request.getfixturevalue(who)).post(f"{V1}/reviews/{review.pk}/open/")
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_an_outsider_gets_404_on_opening_a_review(api, outsider, review):
    with unchanged(review, Activity):
        answer = api(outsider).post(f"{V1}/reviews/{review.pk}/open/")
    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


# POST /reviews/{id}/close/ ----------------------------------------------------------


def test_the_tech_lead_closes_approved_with_enough_counted_approvals(
    api, tech_lead, engineer, principal, opened
):
    approve_by(opened, engineer, principal)

    answer = close_as(api(tech_lead), opened, "approved")

    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["outcome"]) == ("closed", "approved")


def test_closing_approved_without_enough_counted_approvals_answers_409_with_unmet(
    api, tech_lead, engineer, opened, invited
):
    approve_by(opened, engineer, invited)  # the guest's approval is not counted

    answer = close_as(api(tech_lead), opened, "approved")

    assert answer.status_code == 409
    assert [u["code"] for u in answer.json()["unmet"]] == ["not_enough_approvals"]
    assert DesignReview.objects.get().status == "open"


def test_closing_approved_with_a_counted_request_for_changes_answers_409(
    api, tech_lead, engineer, product, principal, opened
):
    approve_by(opened, engineer, principal)
    services.set_verdict(product, opened, Verdict.Choice.CHANGES_REQUESTED, "Rename it.")

    with unchanged(opened, Activity):
        answer = close_as(api(tech_lead), opened, "approved")

    assert answer.status_code == 409
    assert "changes_requested" in [u["code"] for u in answer.json()["unmet"]]
    assert set(answer.json()) == {"detail", "unmet"}


def test_closing_with_changes_requested_needs_no_approvals(api, tech_lead, opened):
    answer = close_as(api(tech_lead), opened, "changes_requested")

    assert answer.status_code == 200
    assert answer.json()["outcome"] == "changes_requested"


@pytest.mark.parametrize("body", [{}, {"outcome": "maybe"}, {"outcome": None}, {"outcome": 1}])
def test_closing_with_a_bad_outcome_answers_400(api, tech_lead, opened, body):
    with unchanged(opened, Activity):
        answer = api(tech_lead).post(f"{V1}/reviews/{opened.pk}/close/", body)

    assert answer.status_code == 400
    assert "outcome" in answer.json()


def test_closing_a_review_that_is_not_open_answers_400(api, tech_lead, review):
    with unchanged(review, Activity):
        answer = close_as(api(tech_lead), review, "changes_requested")
    assert answer.status_code == 400
    assert_api_error(answer, 400)


@pytest.mark.parametrize("who", ["engineer", "principal"])
def test_only_the_tech_lead_closes_a_review_403(api, request, opened, who):
    with unchanged(opened, Activity):
        answer = close_as(api(request.getfixturevalue(who)), opened, "changes_requested")
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_an_outsider_gets_404_on_closing_a_review(api, outsider, opened):
    with unchanged(opened, Activity):
        answer = close_as(api(outsider), opened, "changes_requested")
    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


# POST /reviews/{id}/invitees/ -----------------------------------------------------


@pytest.mark.parametrize("by", ["username", "id"])
def test_the_tech_lead_invites_a_guest_by_username_or_id(api, tech_lead, review, guest, by):
    user = guest.username if by == "username" else guest.pk

    answer = api(tech_lead).post(f"{V1}/reviews/{review.pk}/invitees/", {"user": user})

    assert answer.status_code == 201
    assert list(review.invitees.all()) == [guest]


@pytest.mark.parametrize("user", ["nobody", 999999, HUGE, None, True, ["gia"], "", "eli"])
def test_inviting_an_unknown_user_or_a_member_answers_400(api, tech_lead, review, guest, user):
    answer = api(tech_lead).post(f"{V1}/reviews/{review.pk}/invitees/", {"user": user})

    assert answer.status_code == 400
    assert "user" in answer.json()
    assert not review.invitees.exists()


def test_only_the_tech_lead_invites_guests_403(api, engineer, review, guest):
    answer = api(engineer).post(f"{V1}/reviews/{review.pk}/invitees/", {"user": guest.pk})

    assert answer.status_code == 403
    assert not review.invitees.exists()


def test_an_outsider_gets_404_on_inviting(api, outsider, review, guest):
    answer = api(outsider).post(f"{V1}/reviews/{review.pk}/invitees/", {"user": guest.pk})

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND
    assert not review.invitees.exists()


# GET, POST /reviews/{id}/comments/ -----------------------------------------------------


def test_members_and_guests_comment_on_a_review(api, engineer, opened, invited):
    first = api(engineer).post(
        f"{V1}/reviews/{opened.pk}/comments/",
        {"body": "Why a vault?", "artifact_kind": ArtifactKind.DESIGN_SPEC},
    )
    reply = api(invited).post(
        f"{V1}/reviews/{opened.pk}/comments/", {"body": "Audit.", "parent": first.json()["id"]}
    )

    assert (first.status_code, reply.status_code) == (201, 201)
    assert first.json()["author"]["username"] == engineer.username
    assert reply.json()["parent"] == first.json()["id"]
    assert reply.json()["artifact_kind"] == ArtifactKind.DESIGN_SPEC


def test_comments_are_listed_and_since_keeps_the_new_and_changed(api, engineer, tech_lead, opened):
    old = services.add_comment(engineer, opened, body="Old")
    edited = services.add_comment(engineer, opened, body="Edited later")
    past = timezone.now() - timedelta(minutes=5)
    Comment.objects.filter(pk__in=[old.pk, edited.pk]).update(created_at=past, updated_at=past)
    services.edit_comment(engineer, Comment.objects.get(pk=edited.pk), "Edited now")
    services.add_comment(tech_lead, opened, body="New")
    since = (timezone.now() - timedelta(minutes=1)).isoformat()

    everything = api(engineer).get(f"{V1}/reviews/{opened.pk}/comments/")
    recent = api(engineer).get(f"{V1}/reviews/{opened.pk}/comments/", {"since": since})

    assert [c["body"] for c in everything.json()["results"]] == ["Old", "Edited now", "New"]
    assert [c["body"] for c in recent.json()["results"]] == ["Edited now", "New"]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-45T00:00:00Z", "2026-02-30T10:00:00Z"])
def test_a_malformed_since_answers_400(api, engineer, opened, since):
    answer = api(engineer).get(f"{V1}/reviews/{opened.pk}/comments/", {"since": since})

    assert answer.status_code == 400
    assert "since" in answer.json()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"body": "   "},
        {"body": None},
        {"body": "x", "artifact_kind": "poem"},
        {"body": "x", "parent": 999999},
        {"body": "x", "parent": HUGE},
        {"body": "x", "parent": "first"},
        {"body": "nul \x00 byte"},
    ],
)
def test_commenting_with_malformed_input_answers_400(api, engineer, opened, body):
    answer = api(engineer).post(f"{V1}/reviews/{opened.pk}/comments/", body)

    assert answer.status_code == 400
    assert not Comment.objects.exists()


def test_replying_to_a_comment_of_another_review_answers_400(
    api, tech_lead, engineer, milestone, project, opened
):
    other_milestone = put_in_phase(
        services.create_milestone(tech_lead, project, title="Other"), Phase.DESIGN_REVIEW
    )
    other = services.schedule_review(tech_lead, other_milestone, scheduled_for=WHEN)
    foreign = services.add_comment(engineer, other, body="Elsewhere")

    with unchanged(Comment):
        answer = api(engineer).post(
            f"{V1}/reviews/{opened.pk}/comments/", {"body": "Re", "parent": foreign.pk}
        )

    assert answer.status_code == 400
    assert "parent" in answer.json()


def test_commenting_on_a_closed_review_answers_400(api, tech_lead, engineer, opened):
    services.close_review(tech_lead, opened, DesignReview.Outcome.CHANGES_REQUESTED)

    answer = api(engineer).post(f"{V1}/reviews/{opened.pk}/comments/", {"body": "Late"})

    assert answer.status_code == 400
    assert_api_error(answer, 400)
    assert not Comment.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outsider_gets_404_on_a_reviews_comments(api, outsider, opened, method):
    answer = getattr(api(outsider), method)(f"{V1}/reviews/{opened.pk}/comments/", {"body": "Hi"})

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


@pytest.mark.parametrize("rows", [1, 100])
def test_listing_comments_takes_the_same_queries_for_1_or_100(
    api, engineer, product, opened, django_assert_max_num_queries, rows
):
    Comment.objects.bulk_create(
        Comment(review=opened, author=(engineer, product)[n % 2], body=f"Comment {n}")
        for n in range(rows)
    )
    client = api(engineer)

    with django_assert_max_num_queries(BUDGET["comments"]):
        answer = client.get(f"{V1}/reviews/{opened.pk}/comments/?page_size=200")

    assert answer.json()["count"] == rows


# PATCH /comments/{id}/ -----------------------------------------------------------


@pytest.fixture
def comment(opened, engineer):
    return services.add_comment(engineer, opened, body="First thought")


def test_the_author_edits_their_comment(api, engineer, comment):
    answer = api(engineer).patch(f"{V1}/comments/{comment.pk}/", {"body": "Second thought"})

    assert answer.status_code == 200
    assert answer.json()["body"] == "Second thought"


def test_someone_else_editing_a_comment_answers_403(api, product, comment):
    answer = api(product).patch(f"{V1}/comments/{comment.pk}/", {"body": "Mine now"})

    assert answer.status_code == 403
    assert Comment.objects.get().body == "First thought"


def test_the_tech_lead_resolves_a_comment(api, tech_lead, comment):
    answer = api(tech_lead).patch(f"{V1}/comments/{comment.pk}/", {"resolved": True})

    assert answer.status_code == 200
    assert answer.json()["resolved"] is True


def test_another_member_resolving_a_comment_answers_403(api, product, comment):
    with unchanged(comment):
        answer = api(product).patch(f"{V1}/comments/{comment.pk}/", {"resolved": True})
    assert answer.status_code == 403
    assert_api_error(answer, 403)
    assert Comment.objects.get().resolved is False


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"resolved": "perhaps"}, {"resolved": None}])
def test_changing_a_comment_with_malformed_input_answers_400(api, engineer, comment, body):
    with unchanged(comment):
        answer = api(engineer).patch(f"{V1}/comments/{comment.pk}/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400, *body)


def test_an_outsider_gets_404_on_a_comment(api, outsider, guest, comment):
    for person in (outsider, guest):
        for pk in (comment.pk, HUGE):
            with unchanged(comment):
                answer = api(person).patch(f"{V1}/comments/{pk}/", {"resolved": True})
            assert answer.status_code == 404
            assert answer.json() == NOT_FOUND


# PUT /reviews/{id}/verdict/ --------------------------------------------------------


def test_a_reviewer_gives_one_verdict_replaced_on_put(api, engineer, opened):
    client = api(engineer)
    url = f"{V1}/reviews/{opened.pk}/verdict/"

    first = client.put(url, {"verdict": "changes_requested", "note": "Rename it."})
    second = client.put(url, {"verdict": "approve"})

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["verdict"] == "approve"
    assert second.json()["counted"] is True
    assert Verdict.objects.filter(review=opened).count() == 1


def test_a_guests_verdict_is_shown_not_counted(api, opened, invited):
    answer = api(invited).put(f"{V1}/reviews/{opened.pk}/verdict/", {"verdict": "approve"})

    assert answer.status_code == 200
    assert answer.json()["counted"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "verdict"),
        ({"verdict": "love"}, "verdict"),
        ({"verdict": None}, "verdict"),
        ({"verdict": "approve", "note": None}, "note"),
    ],
)
def test_a_malformed_verdict_answers_400(api, engineer, opened, body, field):
    answer = api(engineer).put(f"{V1}/reviews/{opened.pk}/verdict/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400, field)
    assert not Verdict.objects.exists()


def test_a_verdict_before_the_review_opens_answers_400(api, engineer, review):
    answer = api(engineer).put(f"{V1}/reviews/{review.pk}/verdict/", {"verdict": "approve"})

    assert answer.status_code == 400
    assert not Verdict.objects.exists()


def test_an_outsider_gets_404_on_a_verdict(api, outsider, guest, opened):
    for person in (outsider, guest):
        answer = api(person).put(f"{V1}/reviews/{opened.pk}/verdict/", {"verdict": "approve"})
        assert answer.status_code == 404
        assert answer.json() == NOT_FOUND
    assert not Verdict.objects.exists()


# GET /reviews/{id}/invite.ics -----------------------------------------------------


def test_the_invitation_is_a_calendar_event(api, engineer, review):
    answer = api(engineer).get(f"{V1}/reviews/{review.pk}/invite.ics")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in answer.content


def test_an_invited_guest_gets_the_invitation(api, review, invited):
    answer = api(invited).get(f"{V1}/reviews/{review.pk}/invite.ics")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in answer.content
    assert b"Room 4" in answer.content


def test_an_outsider_gets_404_on_the_invitation(api, outsider, review):
    answer = api(outsider).get(f"{V1}/reviews/{review.pk}/invite.ics")

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


# GET, PUT /milestones/{id}/kickoff/ and POST …/kickoff/held/ -----------------------


def test_the_kickoff_reads_blank_until_it_is_scheduled(api, engineer, milestone):
    answer = api(engineer).get(f"{V1}/milestones/{milestone.pk}/kickoff/")

    assert answer.status_code == 200
    assert answer.json()["scheduled_for"] is None
    assert not KickoffMeeting.objects.exists()


def test_the_tech_lead_schedules_the_kickoff(api, tech_lead, milestone):
    answer = api(tech_lead).put(
        f"{V1}/milestones/{milestone.pk}/kickoff/",
        {"scheduled_for": WHEN.isoformat(), "location": "Room 1", "notes": "Bring questions."},
    )

    assert answer.status_code == 200
    assert answer.json()["location"] == "Room 1"
    assert KickoffMeeting.objects.get().notes == "Bring questions."


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"scheduled_for": "noon"},
        {"scheduled_for": None, "duration_minutes": 0},
        {"scheduled_for": None, "notes": None},
    ],
)
def test_scheduling_the_kickoff_with_malformed_input_answers_400(api, tech_lead, milestone, body):
    with unchanged(KickoffMeeting, Activity):
        answer = api(tech_lead).put(f"{V1}/milestones/{milestone.pk}/kickoff/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400)


def test_only_the_tech_lead_schedules_the_kickoff_403(api, engineer, milestone):
    with unchanged(KickoffMeeting, Activity):
        answer = api(engineer).put(
            f"{V1}/milestones/{milestone.pk}/kickoff/", {"scheduled_for": WHEN.isoformat()}
        )

    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_the_tech_lead_marks_the_kickoff_held(api, tech_lead, milestone):
    answer = api(tech_lead).post(f"{V1}/milestones/{milestone.pk}/kickoff/held/")

    assert answer.status_code == 200
    assert answer.json()["held_at"] is not None


def test_only_the_tech_lead_marks_the_kickoff_held_403(api, engineer, milestone):
    with unchanged(KickoffMeeting, Activity):
        answer = api(engineer).post(f"{V1}/milestones/{milestone.pk}/kickoff/held/")
    assert answer.status_code == 403
    assert_api_error(answer, 403)


# GET, POST /milestones/{id}/concerns/ and PATCH /concerns/{id}/ --------------------


def test_a_member_raises_a_concern_and_the_squad_lists_it(api, product, engineer, milestone):
    raised = api(product).post(
        f"{V1}/milestones/{milestone.pk}/concerns/", {"kind": "question", "text": "Which PSP?"}
    )
    listed = api(engineer).get(f"{V1}/milestones/{milestone.pk}/concerns/")

    assert raised.status_code == 201
    assert raised.json()["status"] == "open"
    assert [c["text"] for c in listed.json()["results"]] == ["Which PSP?"]


@pytest.mark.parametrize(
    "body", [{}, {"kind": "rant", "text": "x"}, {"kind": "concern", "text": " "}, {"kind": None}]
)
def test_raising_a_malformed_concern_answers_400(api, engineer, milestone, body):
    answer = api(engineer).post(f"{V1}/milestones/{milestone.pk}/concerns/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400)
    assert not Concern.objects.exists()


def test_the_principal_cannot_raise_a_concern_403(api, principal, milestone):
    answer = api(principal).post(
        f"{V1}/milestones/{milestone.pk}/concerns/", {"kind": "concern", "text": "Hm"}
    )

    assert answer.status_code == 403
    assert_api_error(answer, 403)
    assert not Concern.objects.exists()


@pytest.fixture
def concern(milestone, engineer):
    return services.raise_concern(engineer, milestone, kind="question", text="Which PSP?")


def test_the_tech_lead_answers_a_concern(api, tech_lead, concern):
    answer = api(tech_lead).patch(
        f"{V1}/concerns/{concern.pk}/", {"answer": "Adyen.", "status": "answered"}
    )

    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["answer"]) == ("answered", "Adyen.")


@pytest.mark.parametrize(
    "body", [{}, {"answer": "  "}, {"answer": "x", "status": "open"}, {"answer": None}]
)
def test_answering_a_concern_with_malformed_input_answers_400(api, tech_lead, concern, body):
    with unchanged(concern, Activity):
        answer = api(tech_lead).patch(f"{V1}/concerns/{concern.pk}/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400)


def test_only_the_tech_lead_answers_a_concern_403(api, engineer, concern):
    with unchanged(concern, Activity):
        answer = api(engineer).patch(f"{V1}/concerns/{concern.pk}/", {"answer": "Me"})
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_an_outsider_gets_404_on_a_concern(api, outsider, concern):
    for pk in (concern.pk, HUGE):
        with unchanged(concern):
            answer = api(outsider).patch(f"{V1}/concerns/{pk}/", {"answer": "x"})
        assert answer.status_code == 404
        assert answer.json() == NOT_FOUND


@pytest.mark.parametrize("rows", [1, 100])
def test_listing_concerns_takes_the_same_queries_for_1_or_100(
    api, engineer, tech_lead, milestone, django_assert_max_num_queries, rows
):
    Concern.objects.bulk_create(
        Concern(
            milestone=milestone,
            raised_by=engineer,
            text=f"Q{n}",
            answer="A",
            answered_by=tech_lead,
            status=Concern.Status.ANSWERED,
        )
        for n in range(rows)
    )
    client = api(engineer)

    with django_assert_max_num_queries(BUDGET["concerns"]):
        answer = client.get(f"{V1}/milestones/{milestone.pk}/concerns/?page_size=200")

    assert answer.json()["count"] == rows


# GET, POST /milestones/{id}/stories/; GET, PATCH /stories/{id}/; claim ---------------


def test_a_member_adds_a_story_with_201_and_its_key(api, engineer, milestone):
    answer = api(engineer).post(
        f"{V1}/milestones/{milestone.pk}/stories/",
        {"title": "Vault schema", "ticket_url": "https://tracker.example/T-1"},
    )
    again = api(engineer).post(f"{V1}/milestones/{milestone.pk}/stories/", {"title": "API"})

    assert answer.status_code == 201
    assert (answer.json()["key"], again.json()["key"]) == ("S-1", "S-2")


@pytest.mark.parametrize(
    "body",
    [{}, {"title": ""}, {"title": "x" * 201}, {"title": "x", "ticket_url": "not a url"}],
)
def test_adding_a_malformed_story_answers_400(api, engineer, milestone, body):
    answer = api(engineer).post(f"{V1}/milestones/{milestone.pk}/stories/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400, *(body.keys() - {"title"} or ["title"]))
    assert not Story.objects.exists()


def test_the_principal_cannot_add_a_story_403(api, principal, milestone):
    answer = api(principal).post(f"{V1}/milestones/{milestone.pk}/stories/", {"title": "Mine"})

    assert answer.status_code == 403
    assert_api_error(answer, 403)
    assert not Story.objects.exists()


def test_a_member_reads_and_changes_a_story(api, product, engineer, story):
    read = api(product).get(f"{V1}/stories/{story.pk}/")
    changed = api(product).patch(
        f"{V1}/stories/{story.pk}/",
        {"title": "Vault tables", "status": "done", "assignee": engineer.pk},
    )

    assert read.status_code == 200
    assert read.json()["key"] == "S-1"
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["status"]) == ("Vault tables", "done")
    assert changed.json()["assignee"]["id"] == engineer.pk


@pytest.mark.parametrize(
    "body",
    [
        {"status": "someday"},
        {"title": ""},
        {"assignee": "otto"},
        {"assignee": HUGE},
        {"ticket_url": "ftp:/x"},
    ],
)
def test_changing_a_story_with_malformed_input_answers_400(api, engineer, story, outsider, body):
    with unchanged(story):
        answer = api(engineer).patch(f"{V1}/stories/{story.pk}/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400, *body)


def test_the_principal_cannot_change_a_story_403(api, principal, story):
    with unchanged(story):
        answer = api(principal).patch(f"{V1}/stories/{story.pk}/", {"title": "X"})
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_an_outsider_gets_404_on_a_story(api, outsider, story):
    for pk in (story.pk, HUGE):
        assert api(outsider).get(f"{V1}/stories/{pk}/").status_code == 404
        with unchanged(story):
            changed = api(outsider).patch(f"{V1}/stories/{pk}/", {"title": "X"})
        assert changed.status_code == 404
        assert api(outsider).get(f"{V1}/stories/{pk}/").json() == changed.json() == NOT_FOUND


def test_claiming_a_story_makes_the_caller_its_assignee(api, product, story):
    answer = api(product).post(f"{V1}/stories/{story.pk}/claim/")

    assert answer.status_code == 200
    assert answer.json()["assignee"]["id"] == product.pk
    assert answer.json()["status"] == "in_progress"


def test_the_principal_cannot_claim_a_story_403(api, principal, story):
    with unchanged(story):
        answer = api(principal).post(f"{V1}/stories/{story.pk}/claim/")
    assert answer.status_code == 403
    assert_api_error(answer, 403)
    assert Story.objects.get().assignee is None


@pytest.mark.parametrize("rows", [1, 100])
def test_listing_stories_takes_the_same_queries_for_1_or_100(
    api, engineer, milestone, django_assert_max_num_queries, rows
):
    stories = Story.objects.bulk_create(
        Story(milestone=milestone, number=n, title=f"S{n}", assignee=engineer)
        for n in range(1, rows + 1)
    )
    Subtask.objects.bulk_create(Subtask(story=s, title="Do", assignee=engineer) for s in stories)
    client = api(engineer)

    with django_assert_max_num_queries(BUDGET["stories"]):
        answer = client.get(f"{V1}/milestones/{milestone.pk}/stories/?page_size=200")

    assert answer.json()["count"] == rows


# GET, POST /stories/{id}/subtasks/ and PATCH /subtasks/{id}/ ---------------------------


def test_a_member_breaks_a_story_into_subtasks(api, engineer, product, story):
    added = api(engineer).post(
        f"{V1}/stories/{story.pk}/subtasks/", {"title": "Migration", "assignee": product.pk}
    )
    listed = api(product).get(f"{V1}/stories/{story.pk}/subtasks/")

    assert added.status_code == 201
    assert added.json()["assignee"]["id"] == product.pk
    assert [s["title"] for s in listed.json()["results"]] == ["Migration"]


@pytest.mark.parametrize(
    "body", [{}, {"title": " "}, {"title": "x" * 201}, {"title": "x", "assignee": "otto"}]
)
def test_adding_a_malformed_subtask_answers_400(api, engineer, story, outsider, body):
    answer = api(engineer).post(f"{V1}/stories/{story.pk}/subtasks/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400, *(body.keys() - {"title"} or ["title"]))
    assert not Subtask.objects.exists()


def test_the_principal_cannot_add_a_subtask_403(api, principal, story):
    answer = api(principal).post(f"{V1}/stories/{story.pk}/subtasks/", {"title": "Mine"})

    assert answer.status_code == 403
    assert_api_error(answer, 403)
    assert not Subtask.objects.exists()


@pytest.fixture
def subtask(story, engineer):
    return services.add_subtask(engineer, story, title="Migration")


def test_a_member_ticks_off_and_reassigns_a_subtask(api, product, engineer, subtask):
    answer = api(product).patch(
        f"{V1}/subtasks/{subtask.pk}/", {"done": True, "assignee": engineer.pk, "title": "Migrate"}
    )

    assert answer.status_code == 200
    assert (answer.json()["done"], answer.json()["title"]) == (True, "Migrate")
    assert answer.json()["assignee"]["id"] == engineer.pk


@pytest.mark.parametrize(
    "body", [{"title": ""}, {"title": "x" * 201}, {"done": "maybe"}, {"assignee": "otto"}]
)
def test_changing_a_subtask_with_malformed_input_answers_400(
    api, engineer, subtask, outsider, body
):
    with unchanged(subtask):
        answer = api(engineer).patch(f"{V1}/subtasks/{subtask.pk}/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400, *body)


def test_the_principal_cannot_change_a_subtask_403(api, principal, subtask):
    with unchanged(subtask):
        answer = api(principal).patch(f"{V1}/subtasks/{subtask.pk}/", {"done": True})
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_an_outsider_gets_404_on_subtasks(api, outsider, story, subtask):
    client = api(outsider)
    with unchanged(subtask):
        answers = [
            client.get(f"{V1}/stories/{story.pk}/subtasks/"),
            client.patch(f"{V1}/subtasks/{subtask.pk}/", {"done": True}),
            client.patch(f"{V1}/subtasks/{HUGE}/", {"done": True}),
        ]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert [a.json() for a in answers] == [NOT_FOUND] * 3


@pytest.mark.parametrize("rows", [1, 100])
def test_listing_subtasks_takes_the_same_queries_for_1_or_100(
    api, engineer, story, django_assert_max_num_queries, rows
):
    Subtask.objects.bulk_create(
        Subtask(story=story, title=f"T{n}", assignee=engineer) for n in range(rows)
    )
    client = api(engineer)

    with django_assert_max_num_queries(BUDGET["subtasks"]):
        answer = client.get(f"{V1}/stories/{story.pk}/subtasks/?page_size=200")

    assert answer.json()["count"] == rows


# GET, PUT /milestones/{id}/breakout/ and POST …/breakout/held/ --------------------------


def test_the_breakout_reads_blank_until_it_is_scheduled(api, engineer, milestone):
    answer = api(engineer).get(f"{V1}/milestones/{milestone.pk}/breakout/")

    assert answer.status_code == 200
    assert answer.json()["scheduled_for"] is None
    assert answer.json()["breakout_mode"] == "engineer"


def test_the_tech_lead_schedules_the_breakout_in_meeting_mode(
    api, tech_lead, engineer, product, milestone, meeting_mode
):
    answer = api(tech_lead).put(
        f"{V1}/milestones/{milestone.pk}/breakout/",
        {"scheduled_for": WHEN.isoformat(), "attendees": [engineer.pk, product.pk]},
    )

    assert answer.status_code == 200
    assert {p["id"] for p in answer.json()["attendees"]} == {engineer.pk, product.pk}
    assert BreakoutSession.objects.get().scheduled_for == WHEN


def test_scheduling_a_breakout_outside_meeting_mode_answers_400(api, tech_lead, milestone):
    answer = api(tech_lead).put(
        f"{V1}/milestones/{milestone.pk}/breakout/", {"scheduled_for": WHEN.isoformat()}
    )

    assert answer.status_code == 400
    assert not BreakoutSession.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"scheduled_for": "later"},
        {"scheduled_for": WHEN.isoformat(), "attendees": "eli"},
        {"scheduled_for": WHEN.isoformat(), "attendees": [HUGE]},
        {"scheduled_for": WHEN.isoformat(), "attendees": ["otto"]},
    ],
)
def test_scheduling_a_malformed_breakout_answers_400(
    api, tech_lead, milestone, meeting_mode, outsider, body
):
    answer = api(tech_lead).put(f"{V1}/milestones/{milestone.pk}/breakout/", body)
    assert answer.status_code == 400
    assert_api_error(answer, 400)
    assert not BreakoutSession.objects.exists()


def test_only_the_tech_lead_schedules_the_breakout_403(api, engineer, milestone, meeting_mode):
    answer = api(engineer).put(
        f"{V1}/milestones/{milestone.pk}/breakout/", {"scheduled_for": WHEN.isoformat()}
    )

    assert answer.status_code == 403
    assert_api_error(answer, 403)
    assert not BreakoutSession.objects.exists()


def test_the_tech_lead_marks_the_breakout_held(api, tech_lead, milestone, meeting_mode):
    milestone = put_in_phase(milestone, milestone.phase)  # read the squad's new mode
    services.schedule_breakout(tech_lead, milestone, scheduled_for=WHEN)

    answer = api(tech_lead).post(f"{V1}/milestones/{milestone.pk}/breakout/held/")

    assert answer.status_code == 200
    assert answer.json()["held_at"] is not None


def test_holding_an_unscheduled_breakout_answers_400(api, tech_lead, milestone):
    with unchanged(Activity):
        answer = api(tech_lead).post(f"{V1}/milestones/{milestone.pk}/breakout/held/")
    assert answer.status_code == 400
    assert_api_error(answer, 400)
    assert not BreakoutSession.objects.exists()


def test_only_the_tech_lead_marks_the_breakout_held_403(api, engineer, milestone):
    with unchanged(Activity):
        answer = api(engineer).post(f"{V1}/milestones/{milestone.pk}/breakout/held/")
    assert answer.status_code == 403
    assert_api_error(answer, 403)
    assert not BreakoutSession.objects.exists()


# Guests and outsiders on the milestone's meetings -------------------------------------


MILESTONE_MEETING_READS = ["kickoff/", "concerns/", "stories/", "breakout/"]


@pytest.mark.parametrize("path", MILESTONE_MEETING_READS)
def test_a_guest_gets_404_on_the_milestones_meetings(api, milestone, invited, path):
    answer = api(invited).get(f"{V1}/milestones/{milestone.pk}/{path}")

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


def test_a_guest_gets_404_on_stories_concerns_and_their_actions(
    api, milestone, invited, story, concern, subtask
):
    client = api(invited)
    with unchanged(story, subtask, concern, KickoffMeeting, Activity):
        assert client.get(f"{V1}/stories/{story.pk}/").status_code == 404
        assert client.post(f"{V1}/stories/{story.pk}/claim/").status_code == 404
        assert client.patch(f"{V1}/subtasks/{subtask.pk}/", {"done": True}).status_code == 404
        assert client.patch(f"{V1}/concerns/{concern.pk}/", {"answer": "x"}).status_code == 404
        assert client.post(f"{V1}/milestones/{milestone.pk}/kickoff/held/").status_code == 404
    assert client.get(f"{V1}/stories/{story.pk}/").json() == NOT_FOUND


@pytest.mark.parametrize("path", MILESTONE_MEETING_READS)
def test_an_outsider_gets_404_on_the_milestones_meetings(api, outsider, milestone, path):
    for pk in (milestone.pk, HUGE):
        answer = api(outsider).get(f"{V1}/milestones/{pk}/{path}")
        assert answer.status_code == 404
        assert answer.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("reviews/", lambda body: [r["location"] for r in body["results"]] == ["Room 4"]),
        ("kickoff/", lambda body: body["location"] == "Room 1"),
        ("concerns/", lambda body: [c["text"] for c in body["results"]] == ["Which PSP?"]),
        ("stories/", lambda body: [s["key"] for s in body["results"]] == ["S-1"]),
        ("breakout/", lambda body: body["breakout_mode"] == "engineer"),
    ],
)
def test_the_principal_reads_the_milestones_meetings(
    api, principal, tech_lead, milestone, review, concern, story, path, shown
):
    services.schedule_kickoff(tech_lead, milestone, scheduled_for=WHEN, location="Room 1")

    answer = api(principal).get(f"{V1}/milestones/{milestone.pk}/{path}")

    assert answer.status_code == 200
    assert shown(answer.json()), answer.json()


def test_anonymous_callers_get_401(milestone, review):
    client = APIClient()
    assert client.get(f"{V1}/reviews/{review.pk}/").status_code == 401
    assert client.get(f"{V1}/milestones/{milestone.pk}/stories/").status_code == 401
    for answer in (
        client.get(f"{V1}/reviews/{review.pk}/"),
        client.get(f"{V1}/milestones/{milestone.pk}/stories/"),
    ):
        assert_api_error(answer, 401)
        assert "Room 4" not in answer.content.decode()


def test_a_user_in_no_squad_gets_404_like_a_missing_review(api, review):
    nobody = UserFactory(username="nobody")

    assert api(nobody).get(f"{V1}/reviews/{review.pk}/").json() == NOT_FOUND
