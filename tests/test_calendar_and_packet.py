"""Calendar invitations (.ics) for the three meetings, and the milestone's design packet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from notifications.mail import send_email
from notifications.models import Notification
from planning import services
from planning.calendar import breakout_ics, kickoff_ics, review_ics
from planning.models import DesignReview, Verdict
from planning.packet import design_packet
from planning.workflow import ArtifactKind, Phase
from squads.models import Squad
from tests.helpers import (
    artifact_of,
    assert_not_found_page,
    decide_not_needed,
    put_in_phase,
    write_artifact,
)

pytestmark = pytest.mark.django_db

WHEN = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
DESIGN_SPEC = ArtifactKind.DESIGN_SPEC
ON_NEED = [
    ArtifactKind.INFRASTRUCTURE_DIAGRAM,
    ArtifactKind.SEQUENCE_DIAGRAM,
    ArtifactKind.FLOW_CHART,
]


@pytest.fixture
def milestone(project, tech_lead, engineer, product):
    milestone = services.create_milestone(
        tech_lead, project, title="Tokenise cards", goal="Keep only tokens, never card numbers."
    )
    return put_in_phase(milestone, Phase.DESIGN_REVIEW)


@pytest.fixture
def review(milestone, tech_lead, guest):
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=WHEN, duration_minutes=90, location="Room 4"
    )
    services.invite_guest(tech_lead, review, guest)
    return review


@pytest.fixture
def meeting_squad(squad):
    squad.breakout_mode = Squad.BreakoutMode.MEETING
    squad.save()
    return squad


def event_of(ics: bytes | str):
    """The one VEVENT of an invitation, parsed by icalendar."""
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return event


def attendees(event) -> set[str]:
    found = event.get("attendee")
    found = found if isinstance(found, list) else [found]
    return {str(a).lower() for a in found}


def mailto(*people) -> set[str]:
    return {f"mailto:{p.email}".lower() for p in people}


def milestone_url(name: str, milestone, **extra) -> str:
    return reverse(f"planning:{name}", kwargs={**milestone.url_kwargs(), **extra})


# .ics -------------------------------------------------------------------------------


def test_a_review_invitation_holds_time_place_organizer_attendees_and_link(
    review, tech_lead, engineer, product, principal, guest
):
    event = event_of(review_ics(review))

    assert event.decoded("dtstart") == WHEN
    assert event.decoded("dtend") == WHEN + timedelta(minutes=90)
    assert str(event["summary"]) == "Design review 1: M1 Tokenise cards"
    assert str(event["location"]) == "Room 4"
    assert str(event["organizer"]).lower() == f"mailto:{tech_lead.email}"
    assert attendees(event) == mailto(tech_lead, engineer, product, principal, guest)
    assert str(event["url"]) == settings.SITE_URL + review.get_absolute_url()


def test_a_kickoff_invitation_holds_time_place_organizer_attendees_and_link(
    milestone, tech_lead, engineer, product, principal
):
    kickoff = services.schedule_kickoff(
        tech_lead, milestone, scheduled_for=WHEN, duration_minutes=30, location="Call link"
    )

    event = event_of(kickoff_ics(kickoff))

    assert event.decoded("dtstart") == WHEN
    assert event.decoded("dtend") == WHEN + timedelta(minutes=30)
    assert str(event["summary"]) == "Kick-off: M1 Tokenise cards"
    assert str(event["location"]) == "Call link"
    assert str(event["organizer"]).lower() == f"mailto:{tech_lead.email}"
    assert attendees(event) == mailto(tech_lead, engineer, product)
    assert str(event["url"]) == settings.SITE_URL + milestone.get_absolute_url() + "kickoff/"


def test_a_breakout_invitation_holds_the_chosen_attendees(
    meeting_squad, milestone, tech_lead, engineer, product
):
    session = services.schedule_breakout(
        tech_lead,
        milestone,
        scheduled_for=WHEN,
        duration_minutes=120,
        location="Whiteboard room",
        attendees=[engineer, product],
    )

    event = event_of(breakout_ics(session))

    assert event.decoded("dtstart") == WHEN
    assert event.decoded("dtend") == WHEN + timedelta(minutes=120)
    assert str(event["summary"]) == "Task breakout: M1 Tokenise cards"
    assert str(event["location"]) == "Whiteboard room"
    assert str(event["organizer"]).lower() == f"mailto:{tech_lead.email}"
    assert attendees(event) == mailto(engineer, product)
    assert str(event["url"]) == settings.SITE_URL + milestone.get_absolute_url() + "breakout/"


def test_the_review_calendar_download_is_an_ics_attachment(client_for, review, engineer):
    response = client_for(engineer).get(
        reverse(
            "planning:review-ics", kwargs={**review.milestone.url_kwargs(), "round": review.round}
        )
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == 'attachment; filename="design-review-1.ics"'
    assert event_of(response.content).decoded("dtstart") == WHEN


def test_the_kickoff_calendar_download_is_an_ics_attachment(client_for, milestone, tech_lead):
    services.schedule_kickoff(tech_lead, milestone, scheduled_for=WHEN, location="Room 1")

    response = client_for(tech_lead).get(milestone_url("kickoff-ics", milestone))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == 'attachment; filename="kickoff.ics"'
    assert str(event_of(response.content)["location"]) == "Room 1"


def test_the_breakout_calendar_download_is_an_ics_attachment(
    client_for, meeting_squad, milestone, tech_lead, product
):
    services.schedule_breakout(tech_lead, milestone, scheduled_for=WHEN)

    response = client_for(product).get(milestone_url("breakout-ics", milestone))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == 'attachment; filename="breakout.ics"'
    assert event_of(response.content).decoded("dtstart") == WHEN


@pytest.mark.parametrize("name", ["kickoff-ics", "breakout-ics"])
def test_a_meeting_not_yet_scheduled_has_no_calendar(client_for, milestone, tech_lead, name):
    response = client_for(tech_lead).get(milestone_url(name, milestone))

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("text/calendar")
    assert_not_found_page(response)


def test_an_outsider_gets_404_on_the_review_calendar(client_for, review, outsider):
    response = client_for(outsider).get(
        reverse(
            "planning:review-ics", kwargs={**review.milestone.url_kwargs(), "round": review.round}
        )
    )

    assert response.status_code == 404
    assert "BEGIN:VCALENDAR" not in response.content.decode()
    assert_not_found_page(response, "Tokenise cards", "Card Vault")


def test_the_review_invitation_email_carries_the_ics(review, engineer):
    notification = Notification.objects.get(
        recipient=engineer, kind=Notification.Kind.REVIEW_INVITED
    )

    assert send_email(notification.pk) is True

    [message] = mail.outbox
    assert message.to == [engineer.email]
    [(filename, content, mimetype)] = message.attachments
    assert filename.endswith(".ics")
    assert mimetype.startswith("text/calendar")
    event = event_of(content)
    assert event.decoded("dtstart") == WHEN
    assert mailto(engineer) <= attendees(event)


def test_the_guests_invitation_email_carries_the_ics_with_them_attending(review, guest):
    notification = Notification.objects.get(recipient=guest)

    send_email(notification.pk)

    [(_, content, _)] = mail.outbox[0].attachments
    assert mailto(guest) <= attendees(event_of(content))


# The design packet ---------------------------------------------------------------------


@pytest.fixture
def planned(milestone, tech_lead, engineer, product, principal, guest):
    """A milestone with every part of the packet filled in."""
    write_artifact(
        tech_lead,
        milestone,
        SYSTEM,
        "The vault sits behind the gateway.\n\n```mermaid\ngraph TD; Gateway-->Vault\n```\n",
    )
    write_artifact(tech_lead, milestone, DESIGN_SPEC, "Tokens are 32 random bytes.")
    decide_not_needed(milestone, *ON_NEED)
    resolved = services.add_unknown(tech_lead, milestone, title="HSM throughput", owner=engineer)
    services.resolve_unknown(engineer, resolved, "Benchmarked at 4k ops per second.")
    deferred = services.add_unknown(tech_lead, milestone, title="Key rotation", owner=engineer)
    deferral = services.request_deferral(
        tech_lead, deferred, reason="Not needed for launch.", defer_until="M3"
    )
    services.decide_deferral(principal, deferral, decision="approve", note="Fine until M3.")
    review = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    services.invite_guest(tech_lead, review, guest)
    services.open_review(tech_lead, review)
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE, "Clear design.")
    services.set_verdict(principal, review, Verdict.Choice.APPROVE)
    services.set_verdict(guest, review, Verdict.Choice.CHANGES_REQUESTED, "Add rate limits.")
    services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED)
    answered = services.raise_concern(
        product, milestone, kind="question", text="Do refunds still work?"
    )
    services.answer_concern(tech_lead, answered, "Yes, through the token.")
    services.raise_concern(engineer, milestone, kind="concern", text="Latency budget is tight.")
    story = services.add_story(
        tech_lead, milestone, title="Token service", ticket_url="https://tracker.example/T-9"
    )
    services.claim_story(engineer, story)
    done = services.add_subtask(engineer, story, title="Write the schema", assignee=engineer)
    services.update_subtask(engineer, done, done=True)
    services.add_subtask(engineer, story, title="Load test", assignee=product)
    return milestone


def test_the_packet_holds_the_goal_and_every_artifact_with_its_diagram(planned):
    packet = design_packet(planned)

    assert packet.startswith("# Card Vault · M1 Tokenise cards")
    assert "## Goal\n" in packet
    assert "Keep only tokens, never card numbers." in packet
    assert "### Scoped system architecture diagram" in packet
    assert "```mermaid\ngraph TD; Gateway-->Vault\n```" in packet
    assert "Tokens are 32 random bytes." in packet
    assert packet.index("Gateway-->Vault") < packet.index("Tokens are 32 random bytes.")


def test_the_packet_says_why_a_waived_diagram_is_not_needed(planned):
    packet = design_packet(planned)
    reason = artifact_of(planned, ArtifactKind.FLOW_CHART).not_needed_reason

    assert packet.count(f"Not needed: {reason}") == 3
    assert "### Flow chart\n\n_Not needed:" in packet


def test_the_packet_lists_unknowns_with_resolutions_and_deferrals(planned, principal):
    packet = design_packet(planned)

    assert "**U-1 HSM throughput**" in packet
    assert "Resolution: Benchmarked at 4k ops per second." in packet
    assert "**U-2 Key rotation**" in packet
    assert "Deferral until M3 (Not needed for launch.)" in packet
    assert f"approved by {principal.display_name}: Fine until M3." in packet


def test_the_packet_lists_review_rounds_with_verdicts_and_marks_guests_not_counted(
    planned, engineer, principal, guest
):
    packet = design_packet(planned)

    assert "- Round 1, " in packet and ": **Approved**" in packet
    assert f"  - {engineer.display_name}: approve: Clear design." in packet
    assert f"  - {principal.display_name}: approve" in packet
    assert (
        f"  - {guest.display_name} (guest, not counted): changes requested: Add rate limits."
        in packet
    )


def test_the_packet_lists_kickoff_concerns_with_their_answers(planned, product, engineer):
    packet = design_packet(planned)

    assert f"- Question from {product.display_name}: Do refunds still work?" in packet
    assert "  - Answer: Yes, through the token." in packet
    assert f"- Concern from {engineer.display_name}: Latency budget is tight." in packet
    assert "  - _Not answered yet._" in packet


def test_the_packet_lists_stories_with_subtasks_as_checkboxes(planned, engineer, product):
    packet = design_packet(planned)

    assert "**S-1 Token service**" in packet
    assert "https://tracker.example/T-9" in packet
    assert f"  - [x] Write the schema ({engineer.display_name})" in packet
    assert f"  - [ ] Load test ({product.display_name})" in packet


def test_the_packet_of_an_empty_milestone_says_what_is_missing(milestone):
    packet = design_packet(milestone)

    assert "_No unknowns were recorded._" in packet
    assert "_No review yet._" in packet
    assert "_None were raised._" in packet
    assert "_No stories yet._" in packet


def test_the_packet_view_answers_markdown_with_a_filename(client_for, planned, engineer):
    response = client_for(engineer).get(milestone_url("packet", planned))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert (
        response["Content-Disposition"] == 'attachment; filename="card-vault-m1-design-packet.md"'
    )
    assert response.content.decode().startswith("# Card Vault · M1 Tokenise cards")


@pytest.mark.parametrize("who", ["outsider", "guest"])
def test_the_packet_view_is_404_for_outsiders_and_guests(client_for, planned, request, who):
    response = client_for(request.getfixturevalue(who)).get(milestone_url("packet", planned))

    assert response.status_code == 404
    assert "Content-Disposition" not in response
    assert_not_found_page(response, "Tokenise cards", "Keep only tokens")
