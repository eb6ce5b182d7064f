"""Calendar invitations (.ics) for design reviews, kick-offs and breakout sessions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

PRODUCT_ID = "-//Squad Planner//Milestone planning//EN"


def _address(user, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{user.email or user.username + '@invalid'}")
    address.params["cn"] = vText(user.display_name)
    if role:
        address.params["role"] = vText(role)
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("TRUE")
    return address


def event_ics(
    *,
    uid: str,
    summary: str,
    start: datetime,
    minutes: int,
    location: str,
    organizer,
    attendees: Iterable,
    link: str,
    description: str = "",
    sequence: int = 0,
) -> bytes:
    """One VEVENT in a VCALENDAR, as bytes ready to send as text/calendar."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"{uid}@squad-planner")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    event.add("sequence", sequence)
    url = f"{settings.SITE_URL}{link}"
    event.add("url", url)
    event.add("description", f"{description}\n\n{url}".strip())
    if location:
        event.add("location", location)
    event["organizer"] = _address(organizer)
    for person in attendees:
        event.add("attendee", _address(person, "REQ-PARTICIPANT"), encode=False)
    calendar.add_component(event)
    return calendar.to_ical()


def review_ics(review) -> bytes:
    milestone = review.milestone
    people = _review_people(review)
    return event_ics(
        uid=f"review-{review.pk}",
        summary=f"Design review {review.round}: M{milestone.number} {milestone.title}",
        start=review.scheduled_for,
        minutes=review.duration_minutes,
        location=review.location,
        organizer=milestone.tech_lead,
        attendees=people,
        link=review.get_absolute_url(),
        description=_review_description(review),
        sequence=int(review.scheduled_for.timestamp()) % 100000,
    )


def _review_description(review) -> str:
    """What to read before the review and when verdicts are due (DESIGN §8)."""
    milestone = review.milestone
    packet = reverse("planning:packet", kwargs=milestone.url_kwargs())
    lines = [f"Design review of {milestone.project.name} milestone {milestone.number}."]
    if review.verdicts_due:
        due = timezone.localtime(review.verdicts_due)
        lines.append(f"Verdicts due: {due:%a %d %b %Y %H:%M} ({due.tzname()}).")
    lines.append(f"Design packet: {settings.SITE_URL}{packet}")
    return "\n".join(lines)


def _review_people(review) -> list:
    milestone = review.milestone
    people = {m.user for m in milestone.project.squad.memberships.select_related("user")}
    if milestone.project.principal_engineer:
        people.add(milestone.project.principal_engineer)
    people |= set(review.invitees.all())
    return sorted(people, key=lambda u: u.username)


def kickoff_ics(kickoff) -> bytes:
    milestone = kickoff.milestone
    people = [m.user for m in milestone.project.squad.memberships.select_related("user")]
    return event_ics(
        uid=f"kickoff-{kickoff.pk}",
        summary=f"Kick-off: M{milestone.number} {milestone.title}",
        start=kickoff.scheduled_for,
        minutes=kickoff.duration_minutes,
        location=kickoff.location,
        organizer=milestone.tech_lead,
        attendees=sorted(people, key=lambda u: u.username),
        link=milestone.get_absolute_url() + "kickoff/",
        description="Bring your concerns and questions.",
    )


def breakout_ics(session) -> bytes:
    milestone = session.milestone
    return event_ics(
        uid=f"breakout-{session.pk}",
        summary=f"Task breakout: M{milestone.number} {milestone.title}",
        start=session.scheduled_for,
        minutes=session.duration_minutes,
        location=session.location,
        organizer=milestone.tech_lead,
        attendees=sorted(session.attendees.all(), key=lambda u: u.username),
        link=milestone.get_absolute_url() + "breakout/",
        description="We break every story into sub-tasks together.",
    )
