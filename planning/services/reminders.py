"""The seven reminder rules of the planning process, as set-based queries, and the sweep.

Each rule is a function of `now` that returns what is due, one `Due` per
(rule, object, recipient, cycle). A cycle counts whole policy intervals since
the object's last activity, and the activity time is part of the key, so an
untouched unknown is reminded once per interval and any activity starts over.
The sweep writes a Notification per Due under its unique dedupe key (a second
sweep writes nothing), and for escalations and overdue blockers an event for
the squad's webhook under the same key (posted signed, like every event);
`notifications.delivery` then queues whatever is undelivered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.services import Message, absolute, notify_many
from notifications.webhooks import Event, queue_events
from planning.models import DeferralRequest, DesignReview, Unknown
from planning.services.deadlines import ReviewParties, pending_reviewer_ids
from squads.models import Squad

Kind = Notification.Kind
REVIEW_WARNING = timedelta(days=2)
DEFERRAL_WAIT = timedelta(days=1)
VERDICT_WARNING = timedelta(days=1)


@dataclass(frozen=True)
class Due:
    rule: str
    recipient_id: int
    key: str
    text: str
    link: str
    # What the squad's webhook is told as well (escalations, overdue blockers).
    event: Event | None = None


def _idle_for_policy(now: datetime, policy: str, prefix: str = "milestone__project__squad__") -> Q:
    """Rows idle for at least their own squad's `policy` days, in one condition.

    Squads choose their intervals, but the distinct values are few, so the
    condition stays one OR per value whatever the number of rows.
    """
    condition = Q(pk__in=[])
    for days in Squad.objects.values_list(policy, flat=True).distinct().order_by():
        condition |= Q(
            **{f"{prefix}{policy}": days, "last_activity_at__lte": now - timedelta(days=days)}
        )
    return condition


def _anchor(moment: datetime) -> int:
    return int(moment.timestamp())


def _cycle(now: datetime, since: datetime, days: int) -> int:
    return int((now - since) / timedelta(days=days))


def _key(
    rule: str, pk: int, recipient: int, last_activity: datetime, cycle: int, first: str
) -> str:
    """The dedupe key of one reminder.

    Past a whole interval of silence, the key names the cycle counted from the
    last activity, so activity starts the count over. Before that (cycle 0), a
    rule that fires on a date rather than on silence (past due, never
    contacted) reminds once for that date, named by `first`: a comment on an
    overdue unknown does not bring a new reminder until a full interval later.
    """
    if cycle >= 1:
        return f"{rule}:{pk}:{recipient}:{_anchor(last_activity)}:{cycle}"
    return f"{rule}:{pk}:{recipient}:{first}"


_UNKNOWN_FIELDS = (
    "pk",
    "number",
    "title",
    "owner_id",
    "last_activity_at",
    "due_on",
    "vendor",
    "vendor_contacted_on",
    "milestone_id",
    "milestone__number",
    "milestone__tech_lead_id",
    "milestone__project__slug",
    "milestone__project__principal_engineer_id",
    "milestone__project__squad_id",
    "milestone__project__squad__slug",
    "milestone__project__squad__remind_after_days",
    "milestone__project__squad__escalate_after_days",
    "milestone__project__squad__vendor_followup_days",
    "milestone__project__squad__webhook_url",
)


def _link_maker(name: str, **placeholders: str | int) -> Callable[..., str]:
    """Build many links of one URL pattern with one reverse(): the sweep makes thousands."""
    template = reverse(name, kwargs=placeholders)

    def make(**values: str | int) -> str:
        link = template
        for field, placeholder in placeholders.items():
            link = link.replace(f"/{placeholder}/", f"/{values[field]}/", 1)
        return link

    return make


def _unknown_rows(queryset: QuerySet[Unknown]) -> Iterator[dict[str, Any]]:
    link = _link_maker(
        "planning:unknown-detail",
        squad_slug="squad0placeholder",
        project_slug="project0placeholder",
        number=987654321,
        key="U-987654321",
    )
    for row in queryset.values(*_UNKNOWN_FIELDS).iterator(chunk_size=2000):
        row["link"] = link(
            squad_slug=row["milestone__project__squad__slug"],
            project_slug=row["milestone__project__slug"],
            number=row["milestone__number"],
            key=f"U-{row['number']}",
        )
        row["label"] = f"U-{row['number']} “{row['title']}”"
        yield row


def _squad_event(row: dict[str, Any], event: str, key: str, text: str) -> Event | None:
    """The event for the squad's webhook that goes with a reminder, if the squad has a webhook.

    It shares the reminder's dedupe key, so it too exists once per cycle.
    """
    url = row["milestone__project__squad__webhook_url"]
    if not url:
        return None
    return Event(
        squad_id=row["milestone__project__squad_id"],
        url=url,
        event=event,
        text=text,
        data={
            "unknown": row["pk"],
            "key": f"U-{row['number']}",
            "title": row["title"],
            "milestone": row["milestone_id"],
            "due_on": row["due_on"].isoformat() if row["due_on"] else None,
            "url": absolute(row["link"]),
        },
        dedupe_key=key,
    )


def owner_nudges(now: datetime) -> list[Due]:
    """Open or investigating, untouched for `remind_after_days`: remind the owner, each interval."""
    rows = _unknown_rows(
        Unknown.objects.filter(
            status__in=[Unknown.Status.OPEN, Unknown.Status.INVESTIGATING], owner__isnull=False
        ).filter(_idle_for_policy(now, "remind_after_days"))
    )
    due = []
    for row in rows:
        days = row["milestone__project__squad__remind_after_days"]
        cycle = _cycle(now, row["last_activity_at"], days)
        idle = (now - row["last_activity_at"]).days
        due.append(
            Due(
                Kind.OWNER_NUDGE,
                row["owner_id"],
                f"owner_nudge:{row['pk']}:{row['owner_id']}:{_anchor(row['last_activity_at'])}:{cycle}",
                f"{row['label']} has had no activity for {idle} days. Add what you know, or change its status.",
                row["link"],
            )
        )
    return due


def escalations(now: datetime) -> list[Due]:
    """Unsettled and untouched for `escalate_after_days`, or past due: tell the tech lead."""
    today = timezone.localdate(now)
    rows = _unknown_rows(
        Unknown.objects.unsettled().filter(
            _idle_for_policy(now, "escalate_after_days") | Q(due_on__lt=today)
        )
    )
    due = []
    for row in rows:
        days = row["milestone__project__squad__escalate_after_days"]
        cycle = _cycle(now, row["last_activity_at"], days)
        lead = row["milestone__tech_lead_id"]
        why = (
            f"is past its due date ({row['due_on']:%d %b})"
            if row["due_on"] and row["due_on"] < today
            else f"has had no activity for {(now - row['last_activity_at']).days} days"
        )
        key = _key(
            "escalation", row["pk"], lead, row["last_activity_at"], cycle, f"due:{row['due_on']}"
        )
        text = f"Escalation: {row['label']} {why} and is still unsettled."
        due.append(
            Due(
                Kind.ESCALATION,
                lead,
                key,
                text,
                row["link"],
                _squad_event(row, "unknown.escalated", key, text),
            )
        )
    return due


def blockers_overdue(now: datetime) -> list[Due]:
    """A blocker past its due date and unsettled: tell the principal engineer."""
    today = timezone.localdate(now)
    rows = _unknown_rows(
        Unknown.objects.unsettled().filter(
            priority=Unknown.Priority.BLOCKER,
            due_on__lt=today,
            milestone__project__principal_engineer__isnull=False,
        )
    )
    due = []
    for row in rows:
        principal = row["milestone__project__principal_engineer_id"]
        cycle = _cycle(
            now, row["last_activity_at"], row["milestone__project__squad__remind_after_days"]
        )
        key = _key(
            "blocker_overdue",
            row["pk"],
            principal,
            row["last_activity_at"],
            cycle,
            f"due:{row['due_on']}",
        )
        text = f"Blocker {row['label']} was due on {row['due_on']:%d %b} and is still unsettled."
        due.append(
            Due(
                Kind.BLOCKER_OVERDUE,
                principal,
                key,
                text,
                row["link"],
                _squad_event(row, "unknown.blocker_overdue", key, text),
            )
        )
    return due


def vendor_followups(now: datetime) -> list[Due]:
    """Waiting on a vendor never contacted, or not heard from in `vendor_followup_days`."""
    today = timezone.localdate(now)
    stale_contact = Q(pk__in=[])
    for days in Squad.objects.values_list("vendor_followup_days", flat=True).distinct().order_by():
        stale_contact |= Q(
            milestone__project__squad__vendor_followup_days=days,
            vendor_contacted_on__lt=today - timedelta(days=days),
        )
    rows = _unknown_rows(
        Unknown.objects.filter(status=Unknown.Status.WAITING_ON_VENDOR, owner__isnull=False).filter(
            Q(vendor_contacted_on__isnull=True) | stale_contact
        )
    )
    due = []
    for row in rows:
        days = row["milestone__project__squad__vendor_followup_days"]
        vendor = row["vendor"] or "the vendor"
        contacted = row["vendor_contacted_on"]
        if contacted is None:
            cycle = _cycle(now, row["last_activity_at"], days)
            key = _key(
                "vendor_followup",
                row["pk"],
                row["owner_id"],
                row["last_activity_at"],
                cycle,
                "uncontacted",
            )
            text = f"{row['label']} waits on {vendor}, who has not been contacted yet. Contact them and note the date."
        else:
            # Whole intervals since the vendor was contacted.
            cycle = (today - contacted).days // days
            key = f"vendor_followup:{row['pk']}:{row['owner_id']}:{contacted.isoformat()}:{cycle}"
            text = f"{row['label']}: {vendor} was contacted on {contacted:%d %b} and has not answered. Follow up."
        due.append(
            Due(
                Kind.VENDOR_FOLLOWUP,
                row["owner_id"],
                key,
                text,
                row["link"],
            )
        )
    return due


def deferrals_pending(now: datetime) -> list[Due]:
    """A deferral request waiting more than a day: remind the principal engineer, daily."""
    rows = (
        DeferralRequest.objects.filter(
            status=DeferralRequest.Status.PENDING,
            created_at__lte=now - DEFERRAL_WAIT,
            unknown__milestone__project__principal_engineer__isnull=False,
        )
        .values(
            "pk",
            "created_at",
            "unknown__number",
            "unknown__title",
            "unknown__milestone__project__principal_engineer_id",
        )
        .iterator(chunk_size=2000)
    )
    link = reverse("planning:approvals")
    due = []
    for row in rows:
        principal = row["unknown__milestone__project__principal_engineer_id"]
        cycle = _cycle(now, row["created_at"], 1)
        due.append(
            Due(
                Kind.DEFERRAL_PENDING,
                principal,
                f"deferral_pending:{row['pk']}:{principal}:{cycle}",
                f"A deferral of U-{row['unknown__number']} “{row['unknown__title']}” has waited "
                f"{(now - row['created_at']).days} days for your decision.",
                link,
            )
        )
    return due


def reviews_at_risk(now: datetime) -> list[Due]:
    """A design review within two days while the milestone has unsettled unknowns."""
    unsettled = Unknown.objects.unsettled().values("milestone_id")
    rows = (
        DesignReview.objects.filter(
            status=DesignReview.Status.SCHEDULED,
            scheduled_for__gte=now,
            scheduled_for__lte=now + REVIEW_WARNING,
            milestone_id__in=unsettled,
        )
        .values(
            "pk",
            "round",
            "scheduled_for",
            "milestone__number",
            "milestone__title",
            "milestone__tech_lead_id",
            "milestone__project__slug",
            "milestone__project__squad__slug",
        )
        .iterator(chunk_size=2000)
    )
    due = []
    for row in rows:
        lead = row["milestone__tech_lead_id"]
        link = reverse(
            "planning:milestone-detail",
            kwargs={
                "squad_slug": row["milestone__project__squad__slug"],
                "project_slug": row["milestone__project__slug"],
                "number": row["milestone__number"],
            },
        )
        due.append(
            Due(
                Kind.REVIEW_AT_RISK,
                lead,
                f"review_at_risk:{row['pk']}:{lead}:{_anchor(row['scheduled_for'])}",
                f"Design review {row['round']} of M{row['milestone__number']} “{row['milestone__title']}” "
                f"is on {timezone.localtime(row['scheduled_for']):%d %b %H:%M} and unknowns are still unsettled.",
                link,
            )
        )
    return due


def verdicts_pending(now: datetime) -> list[Due]:
    """Expected reviewers still without a current verdict, a day before `verdicts_due`,
    and again once it has passed; past due, the tech lead too, once per review, naming
    who is late (DESIGN §8).

    A cycle is the deadline itself: each stage is sent once per `verdicts_due`, and a
    deadline moved later starts over. Who is expected is `deadlines.pending_reviewer_ids`,
    the page's and the API's rule, asked once for every review due.
    """
    rows = list(
        DesignReview.objects.filter(
            status=DesignReview.Status.OPEN,
            verdicts_due__isnull=False,
            verdicts_due__lte=now + VERDICT_WARNING,
        ).values(
            "pk",
            "round",
            "verdicts_due",
            "milestone_id",
            "milestone__number",
            "milestone__title",
            "milestone__tech_lead_id",
            "milestone__project__slug",
            "milestone__project__squad_id",
            "milestone__project__squad__slug",
            "milestone__project__principal_engineer_id",
        )
    )
    pending = pending_reviewer_ids(
        ReviewParties(
            row["pk"],
            row["milestone_id"],
            row["milestone__project__squad_id"],
            row["milestone__project__principal_engineer_id"],
            row["milestone__tech_lead_id"],
        )
        for row in rows
    )
    # Not null: the query asked for reviews with a deadline.
    deadlines = {row["pk"]: cast(datetime, row["verdicts_due"]) for row in rows}
    late_ids = {pk for row in rows if deadlines[row["pk"]] <= now for pk in pending[row["pk"]]}
    # The tech lead's message names who is late: one query for every name.
    names = {pk: p.display_name for pk, p in get_user_model().objects.in_bulk(late_ids).items()}
    link = _link_maker(
        "planning:review-detail",
        squad_slug="squad0placeholder",
        project_slug="project0placeholder",
        number=987654321,
        round=987654322,
    )
    due = []
    for row in rows:
        waiting = pending[row["pk"]]
        if not waiting:
            continue
        deadline = deadlines[row["pk"]]
        late = deadline <= now
        stage = "late" if late else "soon"
        when = f"{timezone.localtime(deadline):%a %d %b %H:%M}"
        review = f"design review {row['round']} of M{row['milestone__number']} “{row['milestone__title']}”"
        url = (
            link(
                squad_slug=row["milestone__project__squad__slug"],
                project_slug=row["milestone__project__slug"],
                number=row["milestone__number"],
                round=row["round"],
            )
            + "#verdicts"
        )
        text = (
            f"Your verdict on {review} was due {when}. Give it now, on the current revisions."
            if late
            else f"Your verdict on {review} is due {when}."
        )
        for reviewer in waiting:
            due.append(
                Due(
                    Kind.VERDICT_PENDING,
                    reviewer,
                    f"verdict_pending:{row['pk']}:{reviewer}:{_anchor(deadline)}:{stage}",
                    text,
                    url,
                )
            )
        if late:
            lead = row["milestone__tech_lead_id"]
            who = ", ".join(names.get(pk, "a former member") for pk in waiting)
            due.append(
                Due(
                    Kind.VERDICT_PENDING,
                    lead,
                    f"verdict_pending:{row['pk']}:{lead}:{_anchor(deadline)}:late",
                    f"Verdicts on {review} were due {when}; still expected from {who}.",
                    url,
                )
            )
    return due


RULES = (
    owner_nudges,
    escalations,
    blockers_overdue,
    vendor_followups,
    deferrals_pending,
    reviews_at_risk,
    verdicts_pending,
)


@dataclass
class SweepResult:
    due: int = 0
    created: int = 0
    events: int = 0


def write_reminders(now: datetime | None = None) -> SweepResult:
    """Find everything due under the seven rules; write each new reminder and webhook event.

    Both are written set-based under their unique dedupe keys, so a second,
    concurrent or repeated sweep writes nothing twice. Nothing is sent here:
    the caller queues the outbox (`notifications.delivery`).
    """
    now = now or timezone.now()
    due = [item for rule in RULES for item in rule(now)]
    result = SweepResult(due=len(due))
    if not due:
        return result
    result.created = notify_many(
        [Message(d.recipient_id, d.rule, d.text, d.link, d.key) for d in due], now
    )
    result.events = queue_events([d.event for d in due if d.event is not None], now)
    return result
