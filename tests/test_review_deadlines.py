"""Deadline and nudges (DESIGN §8, §5): verdicts_due, who is still expected, and verdict_pending.

The reminder is tested with the clock frozen: it fires a day before the
deadline and not a moment sooner, once per deadline however often the sweep
runs, and past the deadline once more, with one message to the tech lead
naming who is late.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape
from icalendar import Calendar
from rest_framework.test import APIClient

from notifications.models import Notification
from planning import services
from planning.calendar import review_ics
from planning.models import Activity, DesignReview, Verdict
from planning.services import reminders
from planning.services.deadlines import reviews_awaiting_verdict
from planning.workflow import ArtifactKind, Phase
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import assert_api_error, put_in_phase, write_artifact

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # a Monday morning
MEETING = T0 + timedelta(days=1)  # Tuesday 09:00, an hour long
DUE = MEETING + timedelta(hours=1, days=1)  # the default: a day after its end
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
V1 = "/api/v1"
PENDING = Notification.Kind.VERDICT_PENDING


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def milestone(project, tech_lead, engineer, product):
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    return put_in_phase(milestone, Phase.DESIGN_REVIEW)


@pytest.fixture
def review(milestone, tech_lead):
    review = services.schedule_review(tech_lead, milestone, scheduled_for=MEETING)
    return services.open_review(tech_lead, review)


@pytest.fixture
def second_engineer(squad):
    person = UserFactory(username="erin")
    MembershipFactory(squad=squad, user=person, role="engineer")
    return person


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def sweep() -> None:
    reminders.write_reminders()


def reminded() -> list[tuple[str, str]]:
    return [
        (n.recipient.username, n.text)
        for n in Notification.objects.filter(kind=PENDING)
        .select_related("recipient")
        .order_by("id")
    ]


# verdicts_due and who is still expected -----------------------------------------------


def test_verdicts_are_due_a_day_after_the_review_ends_unless_a_time_is_given(milestone, tech_lead):
    review = services.schedule_review(tech_lead, milestone, scheduled_for=MEETING)
    assert review.verdicts_due == DUE


def test_a_deadline_before_the_review_begins_is_refused(milestone, tech_lead):
    with pytest.raises(ValidationError) as refusal:
        services.schedule_review(
            tech_lead, milestone, scheduled_for=MEETING, verdicts_due=MEETING - DAY
        )
    assert "verdicts_due" in refusal.value.message_dict
    assert not DesignReview.objects.exists()


def test_a_default_deadline_follows_the_review_when_it_moves(review, tech_lead):
    services.update_review(tech_lead, review, scheduled_for=MEETING + 2 * DAY)

    assert DesignReview.objects.get(pk=review.pk).verdicts_due == DUE + 2 * DAY


def test_a_changed_deadline_is_an_activity_row(review, tech_lead):
    services.update_review(tech_lead, review, verdicts_due=DUE + DAY)

    row = Activity.objects.get(verb="verdicts_due_changed")
    assert row.data["verdicts_due"] == (DUE + DAY).isoformat()


def test_the_squads_engineers_and_the_principal_engineer_are_expected_until_they_give_a_current_verdict(
    review, tech_lead, engineer, product, principal, second_engineer
):
    # The tech lead runs the review and product is not chased: neither is expected.
    assert services.pending_reviewers(review) == [engineer, second_engineer, principal]

    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    services.set_verdict(principal, review, Verdict.Choice.COMMENT)
    assert services.pending_reviewers(review) == [second_engineer]

    # A new revision makes their verdicts stale: they are expected again.
    write_artifact(tech_lead, review.milestone, ArtifactKind.DESIGN_SPEC, "New text.")
    assert services.pending_reviewers(review) == [engineer, second_engineer, principal]


def test_nobody_is_expected_of_a_review_not_open(milestone, tech_lead):
    review = services.schedule_review(tech_lead, milestone, scheduled_for=MEETING)
    assert services.pending_reviewers(review) == []


# The page, the form, the API, the .ics ------------------------------------------------


def test_the_review_page_names_who_is_still_expected_and_by_when(
    client, review, tech_lead, engineer, principal
):
    client.force_login(tech_lead)

    page = client.get(review.get_absolute_url()).content.decode()

    assert (
        f"Still expected:</strong> {escape(engineer.display_name)}, "
        f"{escape(principal.display_name)} — due "
    ) in page
    assert "Wed 6 Mar, 10:00" in page


def test_the_schedule_form_takes_a_deadline(client, milestone, tech_lead):
    client.force_login(tech_lead)
    url = reverse("planning:review-schedule", kwargs=milestone.url_kwargs())

    client.post(
        url,
        {
            "scheduled_for": "2030-03-05T09:00",
            "duration_minutes": 60,
            "location": "",
            "verdicts_due": "2030-03-08T17:00",
        },
    )

    assert DesignReview.objects.get().verdicts_due == datetime(2030, 3, 8, 17, 0, tzinfo=UTC)


def test_the_edit_form_changes_the_deadline_and_refuses_one_before_the_review(
    client, review, tech_lead
):
    client.force_login(tech_lead)
    url = reverse(
        "planning:review-edit", kwargs={**review.milestone.url_kwargs(), "round": review.round}
    )
    form = {"scheduled_for": "2030-03-05T09:00", "duration_minutes": 60, "location": ""}

    refused = client.post(url, {**form, "verdicts_due": "2030-03-01T09:00"})
    assert refused.status_code == 400
    assert "Make verdicts due after the review begins" in refused.content.decode()
    assert 'value="2030-03-01T09:00"' in refused.content.decode()

    client.post(url, {**form, "verdicts_due": "2030-03-09T12:00"})
    assert DesignReview.objects.get().verdicts_due == datetime(2030, 3, 9, 12, 0, tzinfo=UTC)


def test_api_review_has_verdicts_due_and_pending_reviewers(review, engineer, principal):
    services.set_verdict(principal, review, Verdict.Choice.APPROVE)

    body = api(engineer).get(f"{V1}/reviews/{review.pk}/").json()

    assert body["verdicts_due"] == "2030-03-06T10:00:00Z"
    assert [p["username"] for p in body["pending_reviewers"]] == [engineer.username]


def test_api_patch_sets_and_clears_the_deadline(review, tech_lead):
    url = f"{V1}/reviews/{review.pk}/"
    later = api(tech_lead).patch(url, {"verdicts_due": "2030-03-10T12:00:00Z"}, format="json")
    assert later.json()["verdicts_due"] == "2030-03-10T12:00:00Z"

    cleared = api(tech_lead).patch(url, {"verdicts_due": None}, format="json")
    assert cleared.json()["verdicts_due"] == "2030-03-06T10:00:00Z"


@pytest.mark.parametrize(
    "value",
    ["next week", "2030-02-30T10:00:00Z", 12, ["2030-03-10T12:00:00Z"], "1066-10-14T09:00Z"],
)
def test_api_a_deadline_that_is_no_time_is_400_on_the_field(review, tech_lead, value):
    answer = api(tech_lead).patch(
        f"{V1}/reviews/{review.pk}/", {"verdicts_due": value}, format="json"
    )

    assert_api_error(answer, 400, "verdicts_due")
    assert DesignReview.objects.get().verdicts_due == DUE


def test_api_a_deadline_before_the_review_is_400_on_the_field(milestone, tech_lead):
    answer = api(tech_lead).post(
        f"{V1}/milestones/{milestone.pk}/reviews/",
        {"scheduled_for": "2030-03-05T09:00:00Z", "verdicts_due": "2030-03-04T09:00:00Z"},
        format="json",
    )

    assert_api_error(answer, 400, "verdicts_due")


def test_the_ics_carries_the_review_url_the_deadline_and_the_packet(review):
    [event] = Calendar.from_ical(review_ics(review)).walk("VEVENT")
    description = str(event["description"])

    assert "Verdicts due: Wed 06 Mar 2030 10:00" in description
    assert f"/{review.milestone.number}/packet.md" in description or "packet.md" in description
    assert str(event["url"]).endswith(review.get_absolute_url())


def test_the_dashboard_lists_the_reviews_awaiting_my_verdict(client, review, engineer):
    client.force_login(engineer)

    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="verdicts-heading"' in page and "due" in page and "Wed 6 Mar, 10:00" in page

    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    assert reviews_awaiting_verdict(engineer) == []
    assert 'id="verdicts-heading"' not in client.get(reverse("dashboard")).content.decode()


# verdict_pending ----------------------------------------------------------------------


def test_verdict_pending_is_not_sent_a_second_before_a_day_ahead(clock, review):
    clock.move_to(DUE - DAY - SECOND)
    sweep()

    assert reminded() == []


def test_verdict_pending_reminds_each_expected_reviewer_a_day_ahead_once(
    clock, review, engineer, principal
):
    services.set_verdict(principal, review, Verdict.Choice.APPROVE)
    clock.move_to(DUE - DAY)
    sweep()
    clock.move_to(DUE - timedelta(hours=2))
    sweep()

    assert reminded() == [
        (
            engineer.username,
            "Your verdict on design review 1 of M1 “Tokenise cards” is due Wed 06 Mar 10:00.",
        )
    ]
    assert Notification.objects.get(kind=PENDING).link.endswith("/reviews/1/#verdicts")


def test_past_due_it_reminds_again_and_tells_the_tech_lead_who_is_late_once(
    clock, review, engineer, principal, tech_lead, second_engineer
):
    clock.move_to(DUE - DAY)
    sweep()
    services.set_verdict(principal, review, Verdict.Choice.APPROVE)
    clock.move_to(DUE)
    sweep()
    clock.move_to(DUE + 3 * DAY)
    sweep()

    late = [(who, text) for who, text in reminded()[3:]]
    assert late == [
        (
            engineer.username,
            "Your verdict on design review 1 of M1 “Tokenise cards” was due Wed 06 Mar 10:00. "
            "Give it now, on the current revisions.",
        ),
        (
            second_engineer.username,
            "Your verdict on design review 1 of M1 “Tokenise cards” was due Wed 06 Mar 10:00. "
            "Give it now, on the current revisions.",
        ),
        (
            tech_lead.username,
            "Verdicts on design review 1 of M1 “Tokenise cards” were due Wed 06 Mar 10:00; "
            f"still expected from {engineer.display_name}, {second_engineer.display_name}.",
        ),
    ]


def test_a_stale_verdict_is_chased_like_a_missing_one(clock, review, engineer, tech_lead):
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    write_artifact(tech_lead, review.milestone, ArtifactKind.DESIGN_SPEC, "Changed.")
    clock.move_to(DUE - DAY)
    sweep()

    assert engineer.username in [who for who, _ in reminded()]


def test_a_deadline_moved_later_starts_the_reminders_over(clock, review, tech_lead, engineer):
    clock.move_to(DUE - DAY)
    sweep()
    services.update_review(tech_lead, review, verdicts_due=DUE + 2 * DAY)
    clock.move_to(DUE + DAY - SECOND)
    sweep()
    assert len([who for who, _ in reminded() if who == engineer.username]) == 1

    clock.move_to(DUE + DAY)
    sweep()
    assert len([who for who, _ in reminded() if who == engineer.username]) == 2


def test_no_verdict_pending_for_a_closed_or_scheduled_review(clock, milestone, tech_lead):
    services.schedule_review(tech_lead, milestone, scheduled_for=MEETING)
    clock.move_to(DUE + DAY)
    sweep()

    assert reminded() == []
