"""The kick-off with its concerns, and the task breakout: stories, sub-tasks, the session."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Max, Q, Value, When
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
from planning.services.locks import lock_milestone
from planning.workflow import Phase
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


def _lock_story(story: Story) -> Story:
    """The story row, locked after its milestone's and read afresh, with that milestone."""
    milestone = lock_milestone(story.milestone_id)
    locked = (
        Story.objects.select_for_update(no_key=True, of=("self",))
        .select_related("assignee")
        .get(pk=story.pk)
    )
    locked.milestone = milestone
    return locked


def _refuse_when_done(milestone: Milestone) -> None:
    """Refuse to give a story an assignee once the milestone is done.

    The move to done checked every claimed story for a sub-task; a claim after it would not be.
    """
    if milestone.phase == Phase.DONE:
        raise ValidationError(
            f"M{milestone.number} is done: its stories are no longer claimed or handed out."
        )


def _announce(
    milestone: Milestone, actor: User, text: str, link: str, ics: bytes, people: Iterable[User]
) -> None:
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
    milestone = lock_milestone(milestone.pk)
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
    milestone = lock_milestone(milestone.pk)
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
    # Open concerns hold the move to task breakout, which reads them under this lock.
    milestone = lock_milestone(milestone.pk)
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
    milestone = lock_milestone(concern.milestone_id)
    require(actor, Action.RUN_MEETINGS, milestone)
    answer = answer.strip()
    if not answer:
        raise ValidationError({"answer": "Write the answer."})
    concern = (
        Concern.objects.select_for_update(no_key=True, of=("self",))
        .select_related("raised_by")
        .get(pk=concern.pk)
    )
    concern.milestone = milestone
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
    # The milestone lock numbers stories S-1, S-2, … without gaps or clashes.
    milestone = lock_milestone(milestone.pk)
    require(actor, Action.TAKE_PART, milestone)
    title = _check_title(title)
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
    allowed = {"title", "description", "ticket_url", "status", "assignee"}
    if set(changes) - allowed:
        raise ValueError(f"Not story fields: {', '.join(sorted(set(changes) - allowed))}")
    # Only the fields changed are written, to the locked row: a copy loaded
    # before a claim would otherwise write the old assignee back.
    story = _lock_story(story)
    require(actor, Action.TAKE_PART, story.milestone)
    if "assignee" in changes:
        _check_member(story.milestone, changes["assignee"], "assignee")
        if changes["assignee"] is not None and changes["assignee"].pk != story.assignee_id:
            _refuse_when_done(story.milestone)
    before = story.assignee
    for field, value in changes.items():
        setattr(story, field, value)
    story.full_clean(exclude=["milestone", "number"])
    story.save(update_fields=[*changes])
    if "assignee" in changes and getattr(before, "pk", None) != getattr(story.assignee, "pk", None):
        record(
            story.milestone,
            actor,
            "story_assigned",
            f"{actor.display_name} gave {story.key} “{story.title}” to "
            f"{story.assignee.display_name if story.assignee else 'no one'}.",
        )
    return story


@transaction.atomic
def claim_story(actor: User, story: Story, *, take_over_from: int | None = None) -> Story:
    """Take an unclaimed story; one claimed by a teammate stays theirs unless taken over knowingly.

    `take_over_from` is the id of the teammate the caller saw holding the story
    and chose to take it from: a claim never takes a story from someone the
    caller did not name, and so never from whoever claimed it in the meantime.
    """
    milestone = lock_milestone(story.milestone_id)
    require(actor, Action.TAKE_PART, milestone)
    _refuse_when_done(milestone)
    # Conditional on the stored assignee, so a claim never silently takes a teammate's story.
    holders = Q(assignee__isnull=True) | Q(assignee=actor)
    if take_over_from is not None:
        holders |= Q(assignee_id=take_over_from)
    previous = Story.objects.select_related("assignee").get(pk=story.pk).assignee
    claimed = (
        Story.objects.filter(pk=story.pk)
        .filter(holders)
        .update(
            assignee=actor,
            status=Case(
                When(status=Story.Status.TODO, then=Value(Story.Status.IN_PROGRESS)),
                default=F("status"),
            ),
        )
    )
    story = Story.objects.select_related("assignee").get(pk=story.pk)
    story.milestone = milestone
    if not claimed:
        holder = story.assignee.display_name if story.assignee else "Someone"
        raise ValidationError(
            f"{holder} has already claimed {story.key}; ask them to hand it over."
        )
    taken = previous is not None and previous.pk != actor.pk
    record(
        milestone,
        actor,
        "story_claimed",
        f"{actor.display_name} took over {story.key} “{story.title}” from {previous.display_name}."
        if taken and previous is not None
        else f"{actor.display_name} claimed {story.key} “{story.title}”.",
    )
    return story


@transaction.atomic
def add_subtask(actor: User, story: Story, *, title: str, assignee: User | None = None) -> Subtask:
    # Sub-task counts are what the move to done reads, under the milestone lock.
    milestone = lock_milestone(story.milestone_id)
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
    allowed = {"title", "assignee", "done"}
    if set(changes) - allowed:
        raise ValueError(f"Not sub-task fields: {', '.join(sorted(set(changes) - allowed))}")
    milestone = lock_milestone(subtask.story.milestone_id)
    require(actor, Action.TAKE_PART, milestone)
    if "assignee" in changes:
        _check_member(milestone, changes["assignee"], "assignee")
    # Only the fields changed are written, to the locked row.
    subtask = (
        Subtask.objects.select_for_update(no_key=True, of=("self",))
        .select_related("story", "assignee")
        .get(pk=subtask.pk)
    )
    subtask.story.milestone = milestone
    reassigned = "assignee" in changes and changes["assignee"] != subtask.assignee
    for field, value in changes.items():
        setattr(subtask, field, value)
    subtask.title = _check_title(subtask.title)
    subtask.save(update_fields=[*changes])
    if reassigned:
        _subtask_assigned(actor, subtask)
    return subtask


def breakout_attendees(squad: Squad) -> list[User]:
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
    attendees: Iterable[User] | None = None,
) -> BreakoutSession:
    milestone = lock_milestone(milestone.pk)
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
    milestone = lock_milestone(milestone.pk)
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
