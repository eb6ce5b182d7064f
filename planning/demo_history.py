"""Months of history for the demo squads, so that their insights say something on first run.

Each past milestone is a short script of steps on days counted from its
creation (`PAYMENTS`, `CHECKOUT`); `Past` writes the rows each step's service
would have written, dated to that day, reminders under the sweep's own dedupe
keys. The recent milestones of the demo go through the services themselves,
and the `Clock` dates what they write to the days the demo's story says, since
the database stamps those times itself when a row is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Max
from django.db.models.signals import post_save
from django.utils import timezone

from notifications.models import Notification
from planning.models import (
    Activity,
    Artifact,
    ArtifactRevision,
    BreakoutSession,
    Concern,
    DeferralRequest,
    DesignReview,
    KickoffMeeting,
    Milestone,
    Project,
    Story,
    Subtask,
    Unknown,
    Verdict,
)
from planning.workflow import (
    ARTIFACT_KINDS,
    ON_NEED_KINDS,
    ArtifactKind,
    ArtifactStatus,
    BreakoutMode,
    Phase,
)

if TYPE_CHECKING:
    from accounts.models import User

# Times a row gets once (when it is made, decided, opened, closed, held, answered) and
# times every save moves on.
ONCE = ("created_at", "decided_at", "opened_at", "closed_at", "held_at", "answered_at")
LATEST = ("updated_at", "last_activity_at")
# Messages of the staged past are not emailed now; those older than a week are read.
EMAILED_AFTER = timedelta(days=1)
READ_AFTER = timedelta(days=7)


class Clock:
    """Dates the rows that service calls write to the moment the demo's story says.

    Inside `running()`, every row saved after `at(moment)` gets that moment in
    its own time fields; leaving the block writes them all, a bulk update per
    model and field.
    """

    def __init__(self) -> None:
        self.moment: datetime | None = None
        self.times: dict[tuple[type[models.Model], str], dict[int, datetime]] = defaultdict(dict)

    def at(self, moment: datetime) -> None:
        self.moment = moment

    @contextmanager
    def running(self) -> Iterator[Clock]:
        post_save.connect(self._saved, dispatch_uid="demo-history-clock")
        try:
            yield self
        finally:
            post_save.disconnect(dispatch_uid="demo-history-clock")
        self._write()

    def _saved(self, sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
        if self.moment is None:
            return
        for model_field in sender._meta.concrete_fields:
            name = model_field.name
            stamped = self.times[(sender, name)]
            if name in LATEST or (
                name in ONCE
                and instance.pk not in stamped
                and getattr(instance, model_field.attname) is not None
            ):
                stamped[instance.pk] = self.moment

    def _write(self) -> None:
        for (model, name), stamped in self.times.items():
            if stamped:
                rows = [model(pk=pk, **{name: moment}) for pk, moment in stamped.items()]
                model._default_manager.bulk_update(rows, [name], batch_size=500)
        now = timezone.now()
        Notification.objects.bulk_update(
            [
                Notification(
                    pk=pk,
                    read_at=moment if moment < now - READ_AFTER else None,
                    email=Notification.Email.NONE,
                )
                for pk, moment in self.times[(Notification, "created_at")].items()
                if moment < now - EMAILED_AFTER
            ],
            ["read_at", "email"],
            batch_size=500,
        )
        self.times.clear()


# A step: (day after the milestone's creation, action, arguments…).
Step = tuple[Any, ...]


@dataclass
class Script:
    title: str
    goal: str
    days_ago: int
    steps: list[Step]
    # Sub-tasks of each story broken out before done; None: an unclaimed story, no sub-task.
    stories: list[int | None] = field(default_factory=lambda: [2, 1])


@dataclass
class Cast:
    lead: User
    engineers: list[User]
    product: User
    principal: User


class Past:
    """Writes past milestones as the services would have left them, dated, in bulk.

    Playing each script through the services would take thousands of queries;
    here each step makes the rows its service would make (the phase move and
    its Activity row, the unknown, the deferral and its decision, the review
    round and its verdicts, the kick-off, the stories…) in memory, and `write`
    inserts them a model at a time and then sets the times the database
    stamped on insert. A test checks that every milestone stands where its
    phase's guard allows.
    """

    def __init__(self, cast: Cast, project: Project) -> None:
        self.cast, self.project = cast, project
        self.rows: dict[type[models.Model], list[Any]] = defaultdict(list)
        self.times: dict[type[models.Model], list[tuple[models.Model, dict[str, datetime]]]] = (
            defaultdict(list)
        )
        self.activities: list[tuple[Activity, dict[str, Any]]] = []
        self.reminders: list[tuple[Notification, Unknown | DeferralRequest]] = []
        self.attendees: list[tuple[BreakoutSession, User]] = []
        self.next_number = (project.milestones.aggregate(last=Max("number"))["last"] or 0) + 1
        midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
        self.morning = midnight + timedelta(hours=9, minutes=30)

    def _add(self, row: models.Model, **times: datetime) -> Any:
        self.rows[type(row)].append(row)
        self.times[type(row)].append((row, times))
        for name, moment in times.items():
            setattr(row, name, moment)
        return row

    def _log(self, milestone: Milestone, actor: User, verb: str, summary: str, **data: Any) -> None:
        row = Activity(milestone=milestone, actor=actor, verb=verb, summary=summary[:300])
        self._add(row, created_at=self.moment)
        self.activities.append((row, data))

    def play(self, script: Script) -> Milestone:
        self.script = script
        self.start = self.morning - timedelta(days=script.days_ago)
        self.unknowns: dict[str, Unknown] = {}
        self.deferrals: dict[str, DeferralRequest] = {}
        self.rounds = 0
        self.prepared: set[str] = set()
        self.moment = self.start
        lead = self.cast.lead
        self.milestone = milestone = self._add(
            Milestone(
                project=self.project,
                number=self.next_number,
                title=script.title,
                goal=script.goal,
                tech_lead=lead,
                phase=Phase.ARCHITECTURE,
            ),
            created_at=self.moment,
        )
        self.next_number += 1
        self.artifacts = {
            kind: self._add(Artifact(milestone=milestone, kind=kind), updated_at=self.moment)
            for kind in ARTIFACT_KINDS
        }
        self._log(
            milestone, lead, "created", f"{lead.display_name} created milestone {milestone.number}."
        )
        for day, action, *args in script.steps:
            self.moment = self.start + timedelta(days=day)
            getattr(self, action)(*args)
        # The milestone row changed last with its last step.
        self.times[Milestone][-len(self.rows[Milestone]) + self.rows[Milestone].index(milestone)][
            1
        ]["updated_at"] = self.moment
        return milestone

    # What the moves ask for, made the first time the milestone makes each ----------------

    def _ready(self, *kinds: str) -> None:
        lead = self.cast.lead
        for kind in kinds:
            artifact = self.artifacts[kind]
            body = f"# {ArtifactKind(kind).label}\n\n{self.script.goal}\n"
            artifact.body, artifact.revision, artifact.status = body, 1, ArtifactStatus.READY
            artifact.updated_by = lead
            self._add(
                ArtifactRevision(artifact=artifact, number=1, body=body, author=lead),
                created_at=self.moment,
            )
            title = ArtifactKind(kind).label.lower()
            self._log(
                self.milestone,
                lead,
                "artifact_started",
                f"{lead.display_name} started the {title}.",
                kind=kind,
            )
            self._log(
                self.milestone,
                lead,
                "artifact_ready",
                f"{lead.display_name} marked the {title} ready.",
                kind=kind,
            )

    def _prepare(self, to: str) -> None:
        if to in self.prepared:
            return
        self.prepared.add(to)
        lead, milestone = self.cast.lead, self.milestone
        if to == Phase.PROTOCOLS:
            self._ready(ArtifactKind.SYSTEM_ARCHITECTURE, ArtifactKind.APPLICATION_ARCHITECTURE)
        elif to == Phase.DESIGN_SPEC:
            self._ready(ArtifactKind.PROTOCOL_SPECS)
            for kind in sorted(ON_NEED_KINDS):
                artifact = self.artifacts[kind]
                artifact.needed, artifact.not_needed_reason = False, "Nothing of this kind changes."
                title = ArtifactKind(kind).label.lower()
                self._log(
                    milestone, lead, "artifact_need_decided",
                    f"{lead.display_name} decided the {title} is not needed: {artifact.not_needed_reason}",
                    kind=kind, needed=False,
                )  # fmt: skip
        elif to == Phase.UNKNOWNS:
            self._ready(ArtifactKind.DESIGN_SPEC)
        elif to == Phase.TASK_BREAKOUT:
            kickoff = self._kickoff(self.moment - timedelta(hours=3))
            product = self.cast.product
            concern = self._add(
                Concern(
                    milestone=milestone, raised_by=product, kind=Concern.Kind.QUESTION,
                    text="What do we tell support first?", answer="The runbook goes out with the release notes.",
                    answered_by=lead, status=Concern.Status.ANSWERED,
                ),
                created_at=self.moment, answered_at=self.moment,
            )  # fmt: skip
            self._log(
                milestone,
                product,
                "concern_raised",
                f"{product.display_name} raised a question: {concern.text}",
            )
            self._log(
                milestone, lead, "concern_answered", f"{lead.display_name} answered: {concern.text}"
            )
            kickoff.held_at = self.moment
            self._log(
                milestone, lead, "kickoff_held", f"{lead.display_name} marked the kick-off as held."
            )
        elif to == Phase.DONE:
            self._break_out()

    def _kickoff(self, when: datetime) -> KickoffMeeting:
        kickoff = self._add(
            KickoffMeeting(milestone=self.milestone, scheduled_for=when, location="Room Ada")
        )
        lead = self.cast.lead
        self._log(
            self.milestone, lead, "kickoff_scheduled",
            f"{lead.display_name} scheduled the kick-off for {timezone.localtime(when):%d %b %H:%M}.",
        )  # fmt: skip
        return kickoff

    def _break_out(self) -> None:
        cast, milestone = self.cast, self.milestone
        if milestone.project.squad.breakout_mode == BreakoutMode.MEETING:
            when = self.moment - timedelta(hours=4)
            session = self._add(
                BreakoutSession(
                    milestone=milestone,
                    scheduled_for=when,
                    location="Room Ada",
                    held_at=self.moment,
                )
            )
            self.attendees += [(session, person) for person in [*cast.engineers, cast.product]]
            self._log(
                milestone, cast.lead, "breakout_scheduled",
                f"{cast.lead.display_name} scheduled the breakout session for {timezone.localtime(when):%d %b %H:%M}.",
            )  # fmt: skip
            self._log(
                milestone,
                cast.lead,
                "breakout_held",
                f"{cast.lead.display_name} marked the breakout session as held.",
            )
        for number, subtasks in enumerate(self.script.stories, start=1):
            engineer = cast.engineers[number % len(cast.engineers)]
            story = self._add(
                Story(
                    milestone=milestone, number=number, title=f"Part {number} of {milestone.title}",
                    assignee=None if subtasks is None else engineer,
                    status=Story.Status.TODO if subtasks is None else Story.Status.IN_PROGRESS,
                ),
                created_at=self.moment,
            )  # fmt: skip
            self._log(
                milestone,
                engineer,
                "story_added",
                f"{engineer.display_name} added {story.key} “{story.title}”.",
            )
            if subtasks is None:
                continue
            self._log(
                milestone,
                engineer,
                "story_claimed",
                f"{engineer.display_name} claimed {story.key} “{story.title}”.",
            )
            for task in range(subtasks):
                self._add(
                    Subtask(story=story, title=f"Step {task + 1}", assignee=engineer),
                    created_at=self.moment,
                )

    # Steps --------------------------------------------------------------------------

    def _move(self, to: str, verb: str, summary: str, note: str) -> None:
        lead, before = self.cast.lead, self.milestone.phase
        self.milestone.phase = to
        self._log(self.milestone, lead, verb, summary, from_phase=before, to_phase=to, note=note)

    def advance(self, to: str) -> None:
        self._prepare(to)
        lead = self.cast.lead.display_name
        self._move(to, "phase_advanced", f"{lead} moved the milestone on to {Phase(to).label}.", "")

    def back(self, to: str, note: str) -> None:
        lead = self.cast.lead.display_name
        self._move(
            to,
            "phase_moved_back",
            f"{lead} moved the milestone back to {Phase(to).label}: {note}",
            note,
        )

    def unknown(self, key: str, title: str, priority: str, owner: int) -> None:
        lead = self.cast.lead
        unknown = self._add(
            Unknown(
                milestone=self.milestone, number=len(self.unknowns) + 1, title=title, priority=priority,
                owner=[*self.cast.engineers, self.cast.product][owner], created_by=lead,
            ),
            created_at=self.moment, last_activity_at=self.moment,
        )  # fmt: skip
        self.unknowns[key] = unknown
        label = Unknown.Priority(priority).label.lower()
        self._log(
            self.milestone, lead, "unknown_added",
            f"{lead.display_name} added {unknown.key} “{title}” ({label}).", unknown=unknown,
        )  # fmt: skip

    def _touch(self, unknown: Unknown) -> None:
        self.times[Unknown][self.rows[Unknown].index(unknown)][1]["last_activity_at"] = self.moment

    def waiting(self, key: str, vendor: str) -> None:
        unknown, lead = self.unknowns[key], self.cast.lead
        unknown.status, unknown.vendor = Unknown.Status.WAITING_ON_VENDOR, vendor
        unknown.vendor_contacted_on = timezone.localtime(self.moment).date()
        self._touch(unknown)
        self._log(
            self.milestone, lead, "unknown_changed",
            f"{lead.display_name} updated {unknown.key}: status, vendor, vendor contacted on.",
            unknown=unknown, fields=["status", "vendor", "vendor_contacted_on"],
        )  # fmt: skip

    def resolve(self, key: str, resolution: str) -> None:
        unknown = self.unknowns[key]
        unknown.status, unknown.resolution = Unknown.Status.RESOLVED, resolution
        self._touch(unknown)
        who = unknown.owner or self.cast.lead
        self._log(
            self.milestone, who, "unknown_resolved",
            f"{who.display_name} resolved {unknown.key}: {resolution}", unknown=unknown,
        )  # fmt: skip

    def ask_deferral(self, key: str, reason: str, until: str) -> None:
        unknown, lead = self.unknowns[key], self.cast.lead
        deferral = self._add(
            DeferralRequest(unknown=unknown, requested_by=lead, reason=reason, defer_until=until),
            created_at=self.moment,
        )
        self.deferrals[key] = deferral
        self._touch(unknown)
        self._log(
            self.milestone, lead, "deferral_requested",
            f"{lead.display_name} asked to defer {unknown.key} until {until}.",
            unknown=unknown, deferral=deferral,
        )  # fmt: skip

    def decide(self, key: str, decision: str, note: str) -> None:
        deferral, unknown, principal = self.deferrals[key], self.unknowns[key], self.cast.principal
        approved = decision == "approve"
        deferral.status = (
            DeferralRequest.Status.APPROVED if approved else DeferralRequest.Status.REJECTED
        )
        deferral.decided_by, deferral.decided_at, deferral.decision_note = (
            principal,
            self.moment,
            note,
        )
        if approved:
            unknown.status = Unknown.Status.DEFERRED
        self._touch(unknown)
        verb = "approved" if approved else "rejected"
        self._log(
            self.milestone, principal, f"deferral_{verb}",
            f"{principal.display_name} {verb} deferring {unknown.key}: {note}",
            unknown=unknown, deferral=deferral,
        )  # fmt: skip

    def review_round(self, outcome: str, note: str = "") -> None:
        cast, milestone = self.cast, self.milestone
        self.rounds += 1
        opened = self.moment - timedelta(hours=1)
        review = self._add(
            DesignReview(
                milestone=milestone, round=self.rounds, scheduled_for=opened, location="Room Ada",
                status=DesignReview.Status.CLOSED, outcome=outcome, opened_at=opened, closed_at=self.moment,
                reviewed_revisions={kind: a.revision for kind, a in self.artifacts.items()},
            ),
            created_at=self.moment - timedelta(days=1),
        )  # fmt: skip
        if outcome == DesignReview.Outcome.APPROVED:
            verdicts = [
                (cast.engineers[0], "approve", "Clear to me."),
                (cast.principal, "approve", ""),
            ]
        else:
            verdicts = [(cast.engineers[-1], "changes_requested", note)]
        for reviewer, verdict, said in verdicts:
            self._add(
                Verdict(review=review, reviewer=reviewer, verdict=verdict, note=said),
                updated_at=self.moment,
            )
        lead = cast.lead.display_name
        label = DesignReview.Outcome(outcome).label.lower()
        self._log(
            milestone,
            cast.lead,
            "review_scheduled",
            f"{lead} scheduled design review {self.rounds}.",
            review=review,
        )
        self._log(
            milestone,
            cast.lead,
            "review_opened",
            f"{lead} opened design review {self.rounds}.",
            review=review,
        )
        self._log(
            milestone, cast.lead, "review_closed", f"{lead} closed design review {self.rounds}: {label}.",
            review=review, outcome=outcome,
        )  # fmt: skip

    def concern(self, text: str) -> None:
        self._kickoff(self.moment)
        engineer = self.cast.engineers[0]
        self._add(
            Concern(
                milestone=self.milestone, raised_by=engineer, kind=Concern.Kind.CONCERN, text=text
            ),
            created_at=self.moment,
        )
        self._log(
            self.milestone,
            engineer,
            "concern_raised",
            f"{engineer.display_name} raised a concern: {text}",
        )

    def remind(self, rule: str, key: str, *days: float) -> None:
        """Reminders the sweep sent about an unknown (or its deferral) on these days, keyed as it keys them."""
        unknown = self.unknowns[key]
        subject: Unknown | DeferralRequest = unknown
        if rule == "deferral_pending":
            subject, recipient = self.deferrals[key], self.cast.principal
        elif rule == "escalation":
            recipient = self.cast.lead
        else:
            recipient = unknown.owner or self.cast.lead
        for cycle, day in enumerate(days, start=1):
            moment = self.start + timedelta(days=day)
            message = self._add(
                Notification(
                    recipient=recipient, kind=rule, text=f"{unknown.key} “{unknown.title}” is still unsettled.",
                    email=Notification.Email.NONE, read_at=moment if moment < timezone.now() - READ_AFTER else None,
                ),
                created_at=moment,
            )  # fmt: skip
            # The key is made once the subject has its id: "<rule>:<id>:<recipient>:<anchor>:<cycle>".
            message.dedupe_key = f"{rule}:{{}}:{recipient.pk}:{int(self.start.timestamp())}:{cycle}"
            self.reminders.append((message, subject))

    # Writing ------------------------------------------------------------------------

    def write(self) -> None:
        # In the order their foreign keys need: each row's parents have their ids first.
        for kind in INSERTION_ORDER:
            kind._default_manager.bulk_create(self.rows[kind], batch_size=500)
        BreakoutSession.attendees.through._default_manager.bulk_create(
            BreakoutSession.attendees.through(breakoutsession_id=session.pk, user_id=person.pk)
            for session, person in self.attendees
        )
        for activity, data in self.activities:
            activity.data = {k: v.pk if isinstance(v, models.Model) else v for k, v in data.items()}
        Activity.objects.bulk_create(self.rows[Activity], batch_size=500)
        for message, subject in self.reminders:
            unknown = subject if isinstance(subject, Unknown) else subject.unknown
            message.dedupe_key = (message.dedupe_key or "").format(subject.pk)
            message.link = unknown.get_absolute_url()
        Notification.objects.bulk_create(self.rows[Notification], batch_size=500)
        # The database stamped the times of insertion; put back those of the story.
        for kind, stamped in self.times.items():
            names = sorted({name for _, times in stamped for name in times})
            for row, times in stamped:
                for name, moment in times.items():
                    setattr(row, name, moment)
            for name in names:
                rows = [row for row, times in stamped if name in times]
                kind._default_manager.bulk_update(rows, [name], batch_size=500)


INSERTION_ORDER: tuple[type[models.Model], ...] = (
    Milestone, Artifact, ArtifactRevision, Unknown, DeferralRequest, DesignReview, Verdict,
    KickoffMeeting, Concern, BreakoutSession, Story, Subtask,
)  # fmt: skip


def play(cast: Cast, project: Project, scripts: list[Script]) -> list[Milestone]:
    """Write each script's milestone, in the order given (their numbers follow it)."""
    past = Past(cast, project)
    milestones = [past.play(script) for script in scripts]
    past.write()
    return milestones


A, P, S, U, R = (
    Phase.ARCHITECTURE,
    Phase.PROTOCOLS,
    Phase.DESIGN_SPEC,
    Phase.UNKNOWNS,
    Phase.DESIGN_REVIEW,
)
K, T, DONE = Phase.KICKOFF, Phase.TASK_BREAKOUT, Phase.DONE
APPROVED, CHANGES = DesignReview.Outcome.APPROVED, DesignReview.Outcome.CHANGES_REQUESTED

# The Payments Squad breaks stories out by engineer: one story a milestone is often left unclaimed.
PAYMENTS = [
    Script("Vault sandbox integration", "Run checkout against the vault provider's sandbox.", 178, [
        (1, "unknown", "U1", "Rate limits of the sandbox", "normal", 0),
        (5, "resolve", "U1", "100 requests a second per key."),
        (6, "advance", P), (10, "advance", S), (16, "advance", U),
        (17, "unknown", "U2", "Which test cards does the sandbox accept?", "high", 1),
        (19, "resolve", "U2", "The provider's published list; Amex included."),
        (20, "advance", R), (22, "review_round", APPROVED), (22.1, "advance", K),
        (24, "advance", T), (28, "advance", DONE),
    ], stories=[2, 2, None]),
    Script("3-D Secure challenge flow", "Challenge the shopper when the issuer asks for it.", 165, [
        (4, "advance", P), (9, "advance", S),
        (12, "unknown", "U1", "Does every issuer's ACS support the frictionless flow?", "blocker", 0),
        (14, "advance", U), (16, "resolve", "U1", "All but two small issuers; they fall back."),
        (17, "advance", R),
        (19, "review_round", CHANGES, "What happens when the challenge times out?"),
        (20, "back", S, "The review asked for the time-out fallback."),
        (25, "advance", U), (26, "advance", R), (28, "review_round", APPROVED), (28.1, "advance", K),
        (30, "unknown", "U2", "Size of the challenge window on mobile web", "normal", 1),
        (31, "resolve", "U2", "Full screen below 600 px."),
        (31.2, "advance", T), (36, "advance", DONE),
    ], stories=[1, 1, None]),
    Script("Refund webhooks", "Tell the merchant's systems when a refund settles.", 150, [
        (3, "advance", P), (8, "advance", S), (12, "advance", U),
        (12.2, "unknown", "U1", "Retry policy of the processor's webhooks", "normal", 1),
        (13, "unknown", "U2", "Events for partial refunds", "low", 2),
        (14, "ask_deferral", "U2", "Partial refunds are rare; they can wait for launch.", "M8"),
        (15, "decide", "U2", "approve", "Fine after launch."),
        (16, "resolve", "U1", "Five retries with back-off over a day."),
        (17, "advance", R), (19, "review_round", APPROVED), (19.1, "advance", K),
        (21, "advance", T), (26, "advance", DONE),
    ], stories=[2, 1]),
    Script("Dispute evidence upload", "Let merchants upload evidence for a dispute.", 130, [
        (5, "advance", P), (9, "advance", S), (15, "advance", U),
        (16, "unknown", "U1", "File size limit of the card networks", "high", 0),
        (18, "resolve", "U1", "2 MB per file, 10 files."),
        (18.2, "advance", R),
        (20, "review_round", CHANGES, "How long do we keep the evidence?"),
        (21, "back", S, "Retention of evidence was not specified."),
        (26, "advance", U), (27, "advance", R), (29, "review_round", APPROVED), (29.1, "advance", K),
        (31, "advance", T),
        (31.3, "unknown", "U2", "Which evidence formats does each network accept?", "high", 0),
        (32, "unknown", "U3", "Licence of the PDF/A conversion library", "normal", 1),
        (33, "ask_deferral", "U3", "We can convert by hand at first.", "M9"),
        (34, "decide", "U3", "reject", "The licence must be settled before launch."),
        (35, "remind", "owner_nudge", "U3", 35),
        (36, "resolve", "U3", "Apache 2.0: fine."), (37, "resolve", "U2", "PDF and JPEG everywhere."),
        (40, "advance", DONE),
    ], stories=[1, None, None]),
    Script("Payout reports", "A daily report of the payouts to each merchant.", 112, [
        (4, "advance", P), (7, "advance", S), (13, "advance", U),
        (13.2, "unknown", "U1", "Time zone of the payout day", "normal", 1),
        (16, "remind", "owner_nudge", "U1", 16, 19),
        (20, "resolve", "U1", "The merchant's own time zone."),
        (20.2, "advance", R), (22, "review_round", APPROVED), (22.1, "advance", K),
        (24, "advance", T), (30, "advance", DONE),
    ], stories=[2, 1, 1]),
    Script("Apple Pay network tokens", "Accept Apple Pay with network tokens from the vault.", 95, [
        (5, "advance", P),
        (7, "unknown", "U0", "Do we need a new merchant certificate?", "normal", 1),
        (9, "resolve", "U0", "No: the vault holds it."),
        (11, "advance", S), (18, "advance", U),
        (18.2, "unknown", "U1", "Does the vault pass Apple Pay cryptograms through?", "blocker", 0),
        (19, "waiting", "U1", "VaultCo"),
        (22, "advance", R),
        (24.5, "remind", "vendor_followup", "U1", 24.5, 29.5),
        (24, "review_round", CHANGES, "Token lifecycle events are missing."),
        (25, "back", S, "Lifecycle events of network tokens were missing."),
        (26, "remind", "escalation", "U1", 26, 33),
        (30, "advance", U), (31, "advance", R),
        (33.2, "review_round", CHANGES, "Cryptogram handling is still open."),
        (34, "back", S, "Cryptogram handling still depends on the vendor."),
        (38, "resolve", "U1", "VaultCo passes them through since API v3."),
        (40, "advance", U), (41, "advance", R), (43, "review_round", APPROVED), (43.1, "advance", K),
        (46, "advance", T),
        (46.2, "unknown", "U2", "Rotation of the Apple merchant identity", "normal", 1),
        (47, "unknown", "U3", "How long does Apple take to verify the merchant domain?", "high", 0),
        (48, "resolve", "U2", "Yearly, owned by platform."),
        (49, "resolve", "U3", "Two working days."), (52, "advance", DONE),
    ], stories=[2, 1, None]),
    Script("Saved card migration", "Move the saved cards of the old vault to the new one.", 80, [
        (4, "advance", P),
        (6, "unknown", "U0", "Which card fields does the new vault map?", "normal", 0),
        (7, "resolve", "U0", "All but the nickname, which stays with us."),
        (8, "advance", S), (13, "advance", U),
        (13.2, "unknown", "U1", "Can the old vault export tokens in bulk?", "blocker", 1),
        (15, "back", P, "The old vault exports only through a batch protocol of its own."),
        (19, "advance", S), (22, "advance", U), (23, "resolve", "U1", "Nightly batches of 50,000."),
        (24, "advance", R), (26, "review_round", APPROVED), (26.1, "advance", K), (28, "advance", T),
        (29, "unknown", "U2", "Cut-over window agreed with support?", "high", 2),
        (30, "unknown", "U3", "Support macros for questions about the migration", "normal", 2),
        (31, "resolve", "U2", "Sunday 02:00 to 04:00."),
        (32, "resolve", "U3", "Three macros, written with support."), (34, "advance", DONE),
    ], stories=[1, None, None, 1]),
    Script("Chargeback alerts", "Warn merchants before a chargeback lands.", 68, [
        (3, "advance", P), (7, "advance", S), (11, "advance", U),
        (11.2, "unknown", "U1", "SLA of the alert provider", "normal", 0),
        (13, "resolve", "U1", "Alerts within 24 hours."), (14, "advance", R),
        (16, "review_round", CHANGES, "Duplicate alerts from two networks are not handled."),
        (17, "back", S, "Alert deduplication was missing."),
        (21, "advance", U), (22, "advance", R), (24, "review_round", APPROVED), (24.1, "advance", K),
        (26, "advance", T),
        (26.2, "unknown", "U2", "Sandbox access at the alert provider", "high", 0),
        (27, "unknown", "U3", "Who answers alerts at night?", "normal", 2),
        (28, "ask_deferral", "U3", "The support rota is decided next quarter.", "Q3"),
        (29, "decide", "U3", "reject", "Needed before go-live."),
        (29.5, "remind", "owner_nudge", "U2", 29.5, 32.5),
        (33, "resolve", "U3", "Support's night shift."), (33.5, "resolve", "U2", "Granted."),
        (36, "advance", DONE),
    ], stories=[1, None]),
    Script("Multi-currency prices", "Show and charge prices in the shopper's currency.", 50, [
        (2, "unknown", "U0", "Are prices stored in minor units everywhere?", "normal", 0),
        (3, "resolve", "U0", "Yes, as integers."),
        (4, "advance", P), (9, "advance", S), (14, "advance", U),
        (14.2, "unknown", "U1", "Which FX rate provider?", "high", 1),
        (17, "resolve", "U1", "The bank's daily rates."),
        (18, "advance", R), (21, "review_round", APPROVED), (21.1, "advance", K),
        (23, "unknown", "U2", "Rounding rules per currency", "high", 0),
        (24, "concern", "Refunds in another currency than the charge?"),
        (24.5, "unknown", "U3", "Tax shown per country: with or without?", "high", 1),
        (26, "remind", "owner_nudge", "U2", 26, 29, 32, 35),
        (30, "remind", "escalation", "U2", 30, 37, 44),
    ]),
    Script("Fraud scoring hooks", "Ask the fraud service for a score before capture.", 36, [
        (3, "advance", P), (7, "advance", S), (12, "advance", U),
        (12.2, "unknown", "U1", "Latency budget of the scoring call", "high", 0),
        (14, "resolve", "U1", "150 ms at p99."), (15, "advance", R),
        (17, "review_round", CHANGES, "No fallback when scoring times out."),
        (18, "back", S, "The review asked for a fallback when scoring times out."),
    ]),
    Script("Receipt localisation", "Receipts in the shopper's language.", 22, [
        (3, "advance", P), (8, "advance", S), (12, "advance", U),
        (12.2, "unknown", "U1", "Right-to-left layouts in the email templates", "low", 2),
        (13, "ask_deferral", "U1", "Left-to-right languages first.", "M14"),
        (14, "advance", R), (15, "remind", "deferral_pending", "U1", 15, 16, 17, 18),
        (16, "review_round", APPROVED), (16.1, "advance", K), (18, "advance", T),
    ]),
]  # fmt: skip

# The Checkout Squad breaks stories out in a meeting: every story leaves it with sub-tasks.
CHECKOUT = [
    Script("Express checkout button", "One button from the cart to the confirmation.", 170, [
        (3, "advance", P), (8, "advance", S), (13, "advance", U),
        (13.2, "unknown", "U1", "Which wallets show the button?", "normal", 0),
        (15, "resolve", "U1", "Apple Pay and Google Pay."),
        (16, "advance", R), (18, "review_round", APPROVED), (18.1, "advance", K),
        (20, "advance", T), (27, "advance", DONE),
    ], stories=[3, 3]),
    Script("Address autocomplete", "Suggest addresses as the shopper types.", 140, [
        (4, "advance", P), (9, "advance", S), (14, "advance", U), (15, "advance", R),
        (17, "review_round", CHANGES, "Privacy of the typed addresses is not covered."),
        (18, "back", S, "The review asked where typed addresses go."),
        (22, "advance", U), (23, "advance", R), (25, "review_round", APPROVED), (25.1, "advance", K),
        (27, "advance", T), (33, "advance", DONE),
    ], stories=[3, 2, 4]),
    Script("Guest checkout", "Buy without an account.", 110, [
        (3, "advance", P), (7, "advance", S), (12, "advance", U), (13, "advance", R),
        (15, "review_round", APPROVED), (15.1, "advance", K),
        (16, "unknown", "U1", "Do guests get order emails?", "normal", 1),
        (17, "resolve", "U1", "Yes, with a link to make an account."),
        (17.2, "advance", T), (24, "advance", DONE),
    ], stories=[2, 3]),
    Script("Split payments", "Pay one order with two cards.", 80, [
        (5, "advance", P), (10, "advance", S), (16, "advance", U),
        (16.2, "unknown", "U1", "Can the processor capture two authorisations at once?", "blocker", 0),
        (18, "resolve", "U1", "Yes, as a group."), (19, "advance", R),
        (21, "review_round", CHANGES, "Refunds across two cards are not designed."),
        (22, "back", S, "Refunds of split orders were not designed."),
        (27, "advance", U), (28, "advance", R), (30, "review_round", APPROVED), (30.1, "advance", K),
        (32, "advance", T), (39, "advance", DONE),
    ], stories=[3, 3, 2]),
    Script("Order notes", "Let shoppers leave a note for the merchant.", 60, [
        (2, "advance", P), (5, "advance", S), (9, "advance", U), (10, "advance", R),
        (12, "review_round", APPROVED), (12.1, "advance", K), (14, "advance", T),
        (20, "advance", DONE),
    ], stories=[2, 2]),
    Script("Buy now, pay later", "Offer instalments at checkout.", 40, [
        (4, "advance", P), (9, "advance", S), (15, "advance", U),
        (15.2, "unknown", "U1", "Credit checks: whose licence?", "blocker", 0),
        (17, "resolve", "U1", "The instalment provider's."), (18, "advance", R),
        (20, "review_round", APPROVED), (20.1, "advance", K), (23, "advance", T),
    ]),
    Script("Checkout analytics", "Where shoppers leave the checkout.", 15, [
        (3, "advance", P),
        (4, "unknown", "U1", "Which events does the analytics SDK drop?", "normal", 0),
        (7.5, "remind", "owner_nudge", "U1", 7.5, 10.5, 13.5),
        (8, "advance", S),
    ]),
]  # fmt: skip
