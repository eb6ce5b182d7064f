"""My work: what waits for the person logged in, most urgent first, one query per kind of thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, F, OuterRef
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from config.http import AuthenticatedRequest
from notifications.models import Notification
from planning.models import (
    BreakoutSession,
    Concern,
    DeferralRequest,
    DesignReview,
    KickoffMeeting,
    Story,
    Unknown,
    Verdict,
)
from planning.models.unknowns import priority_rank
from planning.services.deadlines import reviews_awaiting_verdict
from planning.workflow import Phase
from squads import access

if TYPE_CHECKING:
    from accounts.models import User
    from planning.models import Milestone

# Each list shows at most this many; the pages behind them show the rest.
SHOWN = 20
STORIES_SHOWN = 8
# A meeting stays on the list for a while after its start, until someone marks it held.
MEETING_GRACE = timedelta(hours=12)


@dataclass
class Card:
    """One card of the page: a heading, its rows, and what it says when it has none."""

    key: str
    title: str
    empty: str
    rows: list[Any] = field(default_factory=list)
    more: bool = False  # more rows than shown


@dataclass
class Meeting:
    """A review, kick-off or breakout session coming up, as the agenda card lists them."""

    kind: str
    when: datetime | None  # never None here: the queries ask for a time
    milestone: Milestone
    url: str
    status: str = ""
    location: str = ""


def _verdicts_and_reviews(user: User) -> tuple[list[Any], list[Any]]:
    """Open reviews still waiting for my verdict, and the other rounds I take part in.

    Waiting for my verdict: those that expect a current one from me (DESIGN §8, the same
    rule as the review page and the reminder: a stale verdict is owed again), and those I
    am invited to and have not answered; the earliest due first.
    """
    reviews = list(
        access.reviews_in_for(user)
        .filter(status__in=[DesignReview.Status.SCHEDULED, DesignReview.Status.OPEN])
        .annotate(
            has_my_verdict=Exists(Verdict.objects.filter(review=OuterRef("pk"), reviewer=user))
        )
        .select_related("milestone__project__squad")
        .order_by("scheduled_for")[: SHOWN * 2]
    )
    expected = reviews_awaiting_verdict(user)
    owed = {r.pk for r in expected}
    unanswered = [
        r
        for r in reviews
        if r.status == DesignReview.Status.OPEN and not r.has_my_verdict and r.pk not in owed
    ]
    far = timezone.now() + timedelta(days=36500)
    to_give = sorted([*expected, *unanswered], key=lambda r: (r.verdicts_due or far, r.pk))
    given = {r.pk for r in to_give}
    others = [r for r in reviews if r.pk not in given]
    return to_give[:SHOWN], others


def _meetings(user: User, now: datetime, reviews: list[DesignReview]) -> list[Meeting]:
    """Reviews, kick-offs and breakout sessions not held yet, soonest first."""
    squads = access.squads_for(user)
    since = now - MEETING_GRACE
    meetings = [
        Meeting(
            "Design review",
            review.scheduled_for,
            review.milestone,
            review.get_absolute_url(),
            status=review.get_status_display(),
            location=review.location,
        )
        for review in reviews
    ]
    kickoffs = (
        KickoffMeeting.objects.filter(
            milestone__project__squad__in=squads,
            milestone__phase=Phase.KICKOFF,
            held_at__isnull=True,
            scheduled_for__gte=since,
        )
        .select_related("milestone__project__squad")
        .order_by("scheduled_for")[:SHOWN]
    )
    meetings += [
        Meeting(
            "Kick-off",
            kickoff.scheduled_for,
            kickoff.milestone,
            _milestone_page(kickoff.milestone, "kickoff/"),
            location=kickoff.location,
        )
        for kickoff in kickoffs
    ]
    sessions = (
        BreakoutSession.objects.filter(
            milestone__project__squad__in=squads,
            milestone__phase=Phase.TASK_BREAKOUT,
            held_at__isnull=True,
            scheduled_for__gte=since,
        )
        .select_related("milestone__project__squad")
        .order_by("scheduled_for")[:SHOWN]
    )
    meetings += [
        Meeting(
            "Breakout session",
            session.scheduled_for,
            session.milestone,
            _milestone_page(session.milestone, "breakout/"),
            location=session.location,
        )
        for session in sessions
    ]
    return sorted(meetings, key=lambda meeting: meeting.when or now)[:SHOWN]


def _milestone_page(milestone: Milestone, tail: str) -> str:
    return milestone.get_absolute_url() + tail


def my_work(user: User) -> list[Card]:
    """The cards of "My work", in the order of how soon each asks for something."""
    now = timezone.now()
    today = timezone.localdate()
    verdicts, reviews = _verdicts_and_reviews(user)

    concerns = list(
        Concern.objects.filter(
            status=Concern.Status.OPEN,
            milestone__tech_lead=user,
            milestone__in=access.milestones_for(user),
        )
        .select_related("milestone__project__squad", "raised_by")
        .order_by("created_at")[:SHOWN]
    )
    deferrals = list(
        access.deferrals_for(user)
        .filter(
            status=DeferralRequest.Status.PENDING,
            unknown__milestone__project__principal_engineer=user,
        )
        .exclude(requested_by=user)
        .select_related("unknown__milestone__project__squad", "requested_by")
        .order_by(priority_rank("unknown__priority"), "created_at")[:SHOWN]
    )
    unknowns = list(
        Unknown.objects.unsettled()
        .filter(owner=user, milestone__in=access.milestones_for(user))
        .select_related("milestone__project__squad")
        .with_priority_rank()
        # Earliest due first puts the overdue ones on top; then the most urgent.
        .order_by(F("due_on").asc(nulls_last=True), "priority_rank", "last_activity_at")[:SHOWN]
    )
    for unknown in unknowns:
        unknown.overdue = bool(unknown.due_on and unknown.due_on < today)
    # The newest milestones' first: older ones' stories are most often built already.
    stories = list(
        Story.objects.filter(assignee=user, milestone__in=access.milestones_for(user))
        .exclude(status=Story.Status.DONE)
        .select_related("milestone__project__squad")
        .order_by("-milestone__created_at", "-milestone_id", "number")[: STORIES_SHOWN + 1]
    )
    led = list(
        access.milestones_for(user)
        .filter(tech_lead=user)
        .exclude(phase=Phase.DONE)
        .select_related("project__squad")
        .order_by(F("due_on").asc(nulls_last=True), "project__name", "number")[:SHOWN]
    )
    unread = list(
        Notification.objects.filter(recipient=user, read_at__isnull=True).order_by("-created_at")[
            :8
        ]
    )
    return [
        Card("verdicts", "Verdicts to give", "No open review waits for your verdict.", verdicts),
        Card(
            "concerns", "Concerns to answer", "No kick-off concern waits for your answer.", concerns
        ),
        Card("deferrals", "Deferrals to decide", "No deferral waits for your decision.", deferrals),
        Card("unknowns", "Unknowns I own", "No unsettled unknown is yours.", unknowns),
        Card(
            "meetings",
            "Reviews and meetings coming up",
            "No review, kick-off or breakout session is coming up.",
            _meetings(user, now, reviews),
        ),
        Card(
            "stories",
            "Stories I claimed",
            "No unfinished story is yours.",
            stories[:STORIES_SHOWN],
            more=len(stories) > STORIES_SHOWN,
        ),
        Card("unread", "Unread", "You are all caught up.", unread),
        Card("milestones", "Milestones I lead", "You lead no milestone in progress.", led),
    ]


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    """My work: what is mine to answer, decide or move forward, most urgent first."""
    user = request.user
    cards = my_work(user)
    projects = access.projects_for(user).select_related("squad")
    context = {
        "cards": [card for card in cards if card.rows],
        "quiet": [card for card in cards if not card.rows],
        **{card.key: card.rows for card in cards},
        "led_projects": list(projects.filter(tech_lead=user).order_by("name")),
        "principal_projects": list(projects.filter(principal_engineer=user).order_by("name")),
        "squads": list(access.squads_for(user).order_by("name")),
    }
    return render(request, "planning/dashboard.html", context)
