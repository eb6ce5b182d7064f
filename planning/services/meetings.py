"""The kick-off with its concerns, and the task breakout: stories, sub-tasks, the session."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notify
from planning.calendar import breakout_ics, kickoff_ics
from planning.models import (
    BreakoutSession,
    Concern,
    KickoffMeeting,
    Milestone,
    Story,
    Subtask,
)
from planning.services.activity import record
from squads.access import Action, require, role_in
from squads.models import Membership, Squad

if TYPE_CHECKING:
    from accounts.models import User


def _check_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Give it a title."})
    if len(title) > 200:
        raise ValidationError({"title": "Keep the title within 200 characters."})
    return title


def _check_member(milestone: Milestone, user: User | None, field: str) -> None:
    if user is not None and role_in(user, milestone.project.squad) is None:
        raise ValidationError(
            {field: f"{user.display_name} is not in {milestone.project.squad.name}."}
        )


def _announce(milestone: Milestone, actor: User, text: str, link: str, ics: bytes, people) -> None:
    for person in people:
        if person.pk != actor.pk:
            notify(person, Notification.Kind.MEETING_SCHEDULED, text, link, calendar=ics)


@transaction.atomic
def schedule_kickoff(
    actor: User,
    milestone: Milestone,
    *,
    scheduled_for: datetime | None,
    duration_minutes: int = 45,
    location: str = "",
    notes: str = "",
) -> KickoffMeeting:
    require(actor, Action.RUN_MEETINGS, milestone)
    kickoff, _ = KickoffMeeting.objects.select_for_update().get_or_create(milestone=milestone)
    moved = scheduled_for is not None and scheduled_for != kickoff.scheduled_for
    kickoff.scheduled_for = scheduled_for
    kickoff.duration_minutes = duration_minutes
    kickoff.location = location
    kickoff.notes = notes
    kickoff.save()
    if moved:
        record(
            milestone,
            actor,
            "kickoff_scheduled",
            f"{actor.display_name} scheduled the kick-off for {timezone.localtime(scheduled_for):%d %b %H:%M}.",
        )
        people = [m.user for m in milestone.project.squad.memberships.select_related("user")]
        _announce(
            milestone,
            actor,
            f"Kick-off of M{milestone.number} “{milestone.title}” on {timezone.localtime(scheduled_for):%a %d %b %H:%M}.",
            milestone.get_absolute_url() + "kickoff/",
            kickoff_ics(kickoff),
            people,
        )
    return kickoff


@transaction.atomic
def hold_kickoff(actor: User, milestone: Milestone) -> KickoffMeeting:
    require(actor, Action.RUN_MEETINGS, milestone)
    kickoff, _ = KickoffMeeting.objects.select_for_update().get_or_create(milestone=milestone)
    if kickoff.held_at is None:
        kickoff.held_at = timezone.now()
        kickoff.save(update_fields=["held_at"])
        record(
            milestone, actor, "kickoff_held", f"{actor.display_name} marked the kick-off as held."
        )
    return kickoff


@transaction.atomic
def raise_concern(actor: User, milestone: Milestone, *, kind: str, text: str) -> Concern:
    require(actor, Action.TAKE_PART, milestone)
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the concern or question."})
    if kind not in Concern.Kind.values:
        raise ValidationError({"kind": "Choose concern or question."})
    concern = Concern.objects.create(milestone=milestone, raised_by=actor, kind=kind, text=text)
    record(
        milestone,
        actor,
        "concern_raised",
        f"{actor.display_name} raised a {concern.get_kind_display().lower()}: {text}",
    )
    return concern


@transaction.atomic
def answer_concern(actor: User, concern: Concern, answer: str) -> Concern:
    milestone = concern.milestone
    require(actor, Action.RUN_MEETINGS, milestone)
    answer = answer.strip()
    if not answer:
        raise ValidationError({"answer": "Write the answer."})
    concern.answer = answer
    concern.answered_by = actor
    concern.answered_at = timezone.now()
    concern.status = Concern.Status.ANSWERED
    concern.save(update_fields=["answer", "answered_by", "answered_at", "status"])
    record(milestone, actor, "concern_answered", f"{actor.display_name} answered: {concern.text}")
    if concern.raised_by and concern.raised_by_id != actor.pk:
        notify(
            concern.raised_by,
            Notification.Kind.CONCERN_ANSWERED,
            f"{actor.display_name} answered your {concern.get_kind_display().lower()} about M{milestone.number}: {answer}",
            milestone.get_absolute_url() + "kickoff/",
        )
    return concern


@transaction.atomic
def add_story(
    actor: User, milestone: Milestone, *, title: str, description: str = "", ticket_url: str = ""
) -> Story:
    require(actor, Action.TAKE_PART, milestone)
    title = _check_title(title)
    Milestone.objects.select_for_update().filter(pk=milestone.pk).get()
    last = milestone.stories.aggregate(last=Max("number"))["last"] or 0
    story = Story.objects.create(
        milestone=milestone,
        number=last + 1,
        title=title.strip(),
        description=description,
        ticket_url=ticket_url,
    )
    record(
        milestone, actor, "story_added", f"{actor.display_name} added {story.key} “{story.title}”."
    )
    return story


@transaction.atomic
def update_story(actor: User, story: Story, **changes: Any) -> Story:
    require(actor, Action.TAKE_PART, story.milestone)
    allowed = {"title", "description", "ticket_url", "status", "assignee"}
    if set(changes) - allowed:
        raise ValueError(f"Not story fields: {', '.join(sorted(set(changes) - allowed))}")
    if "assignee" in changes:
        _check_member(story.milestone, changes["assignee"], "assignee")
    for field, value in changes.items():
        setattr(story, field, value)
    story.full_clean(exclude=["milestone", "number"])
    story.save()
    return story


@transaction.atomic
def claim_story(actor: User, story: Story) -> Story:
    require(actor, Action.TAKE_PART, story.milestone)
    story.assignee = actor
    if story.status == Story.Status.TODO:
        story.status = Story.Status.IN_PROGRESS
    story.save(update_fields=["assignee", "status"])
    record(
        story.milestone,
        actor,
        "story_claimed",
        f"{actor.display_name} claimed {story.key} “{story.title}”.",
    )
    return story


@transaction.atomic
def add_subtask(actor: User, story: Story, *, title: str, assignee: User | None = None) -> Subtask:
    milestone = story.milestone
    require(actor, Action.TAKE_PART, milestone)
    title = _check_title(title)
    _check_member(milestone, assignee, "assignee")
    subtask = Subtask.objects.create(story=story, title=title, assignee=assignee)
    _subtask_assigned(actor, subtask)
    return subtask


def _subtask_assigned(actor: User, subtask: Subtask) -> None:
    if subtask.assignee and subtask.assignee_id != actor.pk:
        story = subtask.story
        notify(
            subtask.assignee,
            Notification.Kind.SUBTASK_ASSIGNED,
            f"{actor.display_name} gave you “{subtask.title}” of {story.key} “{story.title}”.",
            story.get_absolute_url(),
        )


@transaction.atomic
def update_subtask(actor: User, subtask: Subtask, **changes: Any) -> Subtask:
    require(actor, Action.TAKE_PART, subtask.story.milestone)
    allowed = {"title", "assignee", "done"}
    if set(changes) - allowed:
        raise ValueError(f"Not sub-task fields: {', '.join(sorted(set(changes) - allowed))}")
    if "assignee" in changes:
        _check_member(subtask.story.milestone, changes["assignee"], "assignee")
    reassigned = "assignee" in changes and changes["assignee"] != subtask.assignee
    for field, value in changes.items():
        setattr(subtask, field, value)
    subtask.title = _check_title(subtask.title)
    subtask.save()
    if reassigned:
        _subtask_assigned(actor, subtask)
    return subtask


def breakout_attendees(squad: Squad):
    """Who a breakout session is for: the product representatives and the engineers."""
    return [
        m.user
        for m in squad.memberships.select_related("user").filter(
            role__in=[Membership.Role.PRODUCT, Membership.Role.ENGINEER]
        )
    ]


@transaction.atomic
def schedule_breakout(
    actor: User,
    milestone: Milestone,
    *,
    scheduled_for: datetime,
    duration_minutes: int = 60,
    location: str = "",
    attendees=None,
) -> BreakoutSession:
    require(actor, Action.RUN_MEETINGS, milestone)
    squad = milestone.project.squad
    if squad.breakout_mode != Squad.BreakoutMode.MEETING:
        raise ValidationError("This squad breaks stories out by engineer, without a session.")
    people = list(attendees) if attendees is not None else breakout_attendees(squad)
    for person in people:
        _check_member(milestone, person, "attendees")
    session, _ = BreakoutSession.objects.select_for_update().get_or_create(milestone=milestone)
    session.scheduled_for = scheduled_for
    session.duration_minutes = duration_minutes
    session.location = location
    session.save()
    session.attendees.set(people)
    record(
        milestone,
        actor,
        "breakout_scheduled",
        f"{actor.display_name} scheduled the breakout session for {timezone.localtime(scheduled_for):%d %b %H:%M}.",
    )
    _announce(
        milestone,
        actor,
        f"Task breakout of M{milestone.number} “{milestone.title}” on {timezone.localtime(scheduled_for):%a %d %b %H:%M}.",
        milestone.get_absolute_url() + "breakout/",
        breakout_ics(session),
        people,
    )
    return session


@transaction.atomic
def hold_breakout(actor: User, milestone: Milestone) -> BreakoutSession:
    require(actor, Action.RUN_MEETINGS, milestone)
    session = BreakoutSession.objects.select_for_update().filter(milestone=milestone).first()
    if session is None:
        raise ValidationError("Schedule the breakout session first.")
    if session.held_at is None:
        session.held_at = timezone.now()
        session.save(update_fields=["held_at"])
        record(
            milestone,
            actor,
            "breakout_held",
            f"{actor.display_name} marked the breakout session as held.",
        )
    return session
