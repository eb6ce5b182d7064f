"""The milestone workflow: its phases, the guard of every forward move, and who may move.

Pure Python on plain data (`MilestoneFacts`, `ApprovalFacts`), so every rule
here is testable without a database. `planning.services.phases` gathers the
facts, calls `unmet_for` inside a locked transaction and writes the move; the
same unmet list drives the milestone page, the API's readiness and a refused
move. The review's approval rule (`approval_unmet`) sits here beside the phase
guards, read by the close, the review page and the API alike.

The status values the guards compare are defined here once and shared by the
models (`Unknown.Status is UnknownStatus`, …), so a guard and a column cannot
disagree on a spelling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.db import models


class Phase(models.TextChoices):
    ARCHITECTURE = "architecture", "Architecture"
    PROTOCOLS = "protocols", "Protocols"
    DESIGN_SPEC = "design_spec", "Design spec"
    UNKNOWNS = "unknowns", "Unknowns"
    DESIGN_REVIEW = "design_review", "Design review"
    KICKOFF = "kickoff", "Kick-off"
    TASK_BREAKOUT = "task_breakout", "Task breakout"
    DONE = "done", "Done"


PHASES: list[str] = list(Phase.values)


class ArtifactKind(models.TextChoices):
    SYSTEM_ARCHITECTURE = "system_architecture", "Scoped system architecture diagram"
    APPLICATION_ARCHITECTURE = "application_architecture", "Application architecture"
    PROTOCOL_SPECS = "protocol_specs", "Scoped protocol specifications"
    INFRASTRUCTURE_DIAGRAM = "infrastructure_diagram", "Infrastructure diagram"
    SEQUENCE_DIAGRAM = "sequence_diagram", "Sequence diagram"
    FLOW_CHART = "flow_chart", "Flow chart"
    DESIGN_SPEC = "design_spec", "Detailed design spec"


ARTIFACT_KINDS: list[str] = list(ArtifactKind.values)
ON_NEED_KINDS = frozenset(
    {ArtifactKind.INFRASTRUCTURE_DIAGRAM, ArtifactKind.SEQUENCE_DIAGRAM, ArtifactKind.FLOW_CHART}
)


class ArtifactStatus(models.TextChoices):
    MISSING = "missing", "Missing"
    DRAFT = "draft", "Draft"
    READY = "ready", "Ready"


class UnknownPriority(models.TextChoices):
    BLOCKER = "blocker", "Blocker"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


class UnknownStatus(models.TextChoices):
    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    WAITING_ON_VENDOR = "waiting_on_vendor", "Waiting on vendor"
    RESOLVED = "resolved", "Resolved"
    DEFERRED = "deferred", "Deferred"


# Settled: resolved, or deferred ("deferred" is only ever set by an approved deferral).
SETTLED_STATUSES = (UnknownStatus.RESOLVED, UnknownStatus.DEFERRED)
ACTIVE_STATUSES = (
    UnknownStatus.OPEN,
    UnknownStatus.INVESTIGATING,
    UnknownStatus.WAITING_ON_VENDOR,
)


class ReviewStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ReviewOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class VerdictChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions", "Approve with conditions"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    COMMENT = "comment", "Comment"


class BreakoutMode(models.TextChoices):
    ENGINEER = "engineer", "Engineer breaks out the story they claim"
    MEETING = "meeting", "Breakout meeting with product and engineers"


class FixedOn(models.TextChoices):
    """The page where a missing thing is put right, when it is not an artifact or an unknown."""

    REVIEW = "review", "Design review"
    KICKOFF = "kickoff", "Kick-off"
    BREAKOUT = "breakout", "Task breakout"


@dataclass(frozen=True)
class Unmet:
    """One thing still missing before a move: a stable code, a sentence, where to fix it."""

    code: str
    message: str
    artifact_kind: str = ""
    unknown_key: str = ""
    fixed_on: str = ""


@dataclass(frozen=True)
class ArtifactFacts:
    kind: str
    status: str
    needed: bool | None = None
    not_needed_reason: str = ""

    @property
    def is_ready(self) -> bool:
        return self.status == ArtifactStatus.READY


@dataclass(frozen=True)
class UnknownFacts:
    key: str
    title: str
    priority: str
    status: str
    owner_id: int | None = None
    vendor_contacted: bool = False

    @property
    def is_settled(self) -> bool:
        return self.status in SETTLED_STATUSES


@dataclass(frozen=True)
class ReviewFacts:
    round: int
    status: str
    outcome: str = ""


@dataclass(frozen=True)
class StoryFacts:
    key: str
    title: str
    claimed: bool
    subtasks: int


@dataclass(frozen=True)
class MilestoneFacts:
    """What the guards read about one milestone, gathered by the services."""

    phase: str
    tech_lead_id: int | None
    artifacts: Mapping[str, ArtifactFacts] = field(default_factory=dict)
    unknowns: tuple[UnknownFacts, ...] = ()
    latest_review: ReviewFacts | None = None
    kickoff_held: bool = False
    open_concerns: int = 0
    breakout_mode: str = BreakoutMode.ENGINEER
    breakout_held: bool = False
    stories: tuple[StoryFacts, ...] = ()


Guard = Callable[[MilestoneFacts], list[Unmet]]
REVIEW, KICKOFF, BREAKOUT = FixedOn.REVIEW, FixedOn.KICKOFF, FixedOn.BREAKOUT


def _title(kind: str) -> str:
    return ArtifactKind(kind).label


def artifacts_ready(*kinds: str) -> Guard:
    """Guard: each of `kinds` is marked ready."""

    def guard(facts: MilestoneFacts) -> list[Unmet]:
        unmet = []
        for kind in kinds:
            artifact = facts.artifacts.get(kind)
            if artifact is None or not artifact.is_ready:
                unmet.append(
                    Unmet(f"artifact_not_ready:{kind}", f"{_title(kind)} is not ready.", kind)
                )
        return unmet

    guard.__name__ = f"artifacts_ready({', '.join(kinds)})"
    return guard


def on_need_kinds_decided(facts: MilestoneFacts) -> list[Unmet]:
    """Guard: every on-need diagram is decided: needed, or not needed with a reason."""
    unmet = []
    for kind in ARTIFACT_KINDS:
        if kind not in ON_NEED_KINDS:
            continue
        artifact = facts.artifacts.get(kind)
        if artifact is None or artifact.needed is None:
            unmet.append(
                Unmet(
                    f"need_undecided:{kind}",
                    f"Decide whether the {_title(kind).lower()} is needed.",
                    kind,
                )
            )
        elif artifact.needed is False and not artifact.not_needed_reason.strip():
            unmet.append(
                Unmet(
                    f"not_needed_reason_missing:{kind}",
                    f"Say why the {_title(kind).lower()} is not needed.",
                    kind,
                )
            )
    return unmet


def needed_artifacts_ready(facts: MilestoneFacts) -> list[Unmet]:
    """Guard: every on-need diagram marked needed is ready."""
    return [
        Unmet(f"artifact_not_ready:{kind}", f"{_title(kind)} is marked needed but not ready.", kind)
        for kind in ARTIFACT_KINDS
        if kind in ON_NEED_KINDS
        and (artifact := facts.artifacts.get(kind)) is not None
        and artifact.needed is True
        and not artifact.is_ready
    ]


def unknowns_have_owners(facts: MilestoneFacts) -> list[Unmet]:
    """Guard: every unknown has someone answering it."""
    return [
        Unmet(
            f"unknown_without_owner:{u.key}",
            f"{u.key} “{u.title}” has no owner.",
            unknown_key=u.key,
        )
        for u in facts.unknowns
        if u.owner_id is None
    ]


def blockers_handled(facts: MilestoneFacts) -> list[Unmet]:
    """Guard: every blocker is resolved, deferred with approval, or waits on a contacted vendor."""
    return [
        Unmet(
            f"blocker_open:{u.key}",
            f"Blocker {u.key} “{u.title}” is not resolved, deferred, or waiting on a contacted vendor.",
            unknown_key=u.key,
        )
        for u in facts.unknowns
        if u.priority == UnknownPriority.BLOCKER
        and not u.is_settled
        and not (u.status == UnknownStatus.WAITING_ON_VENDOR and u.vendor_contacted)
    ]


def no_unsettled_unknowns(facts: MilestoneFacts) -> list[Unmet]:
    """Guard: every unknown is resolved or deferred with approval."""
    return [
        Unmet(
            f"unknown_unsettled:{u.key}",
            f"{u.key} “{u.title}” is neither resolved nor deferred.",
            unknown_key=u.key,
        )
        for u in facts.unknowns
        if not u.is_settled
    ]


def review_approved(facts: MilestoneFacts) -> list[Unmet]:
    """Guard: the latest design review is closed with the outcome approved."""
    review = facts.latest_review
    if review is None:
        return [Unmet("review_missing", "Schedule and hold a design review.", fixed_on=REVIEW)]
    if review.status != ReviewStatus.CLOSED:
        return [
            Unmet(
                "review_not_closed",
                f"Design review {review.round} is {review.status}; close it with an outcome.",
                fixed_on=REVIEW,
            )
        ]
    if review.outcome != ReviewOutcome.APPROVED:
        return [
            Unmet(
                "review_not_approved",
                f"Design review {review.round} asked for changes; hold another round.",
                fixed_on=REVIEW,
            )
        ]
    return []


def kickoff_done(facts: MilestoneFacts) -> list[Unmet]:
    """Guard: the kick-off was held and no concern or question is left open."""
    unmet = []
    if not facts.kickoff_held:
        unmet.append(Unmet("kickoff_not_held", "Hold the kick-off meeting.", fixed_on=KICKOFF))
    if facts.open_concerns:
        n = facts.open_concerns
        unmet.append(
            Unmet(
                "concerns_open",
                f"{n} concern{'s' if n != 1 else ''} or question{'s' if n != 1 else ''} "
                f"from the kick-off still need{'s' if n == 1 else ''} an answer.",
                fixed_on=KICKOFF,
            )
        )
    return unmet


def stories_broken_out(facts: MilestoneFacts) -> list[Unmet]:
    """Guard: the squad's breakout mode is honoured.

    Both: at least one story. Meeting mode: the breakout session was held and every
    story has a sub-task. Engineer mode: every claimed story has a sub-task.
    """
    unmet = []
    meeting = facts.breakout_mode == BreakoutMode.MEETING
    if not facts.stories:
        unmet.append(
            Unmet("no_stories", "Write at least one story of the work.", fixed_on=BREAKOUT)
        )
    if meeting and not facts.breakout_held:
        unmet.append(Unmet("breakout_not_held", "Hold the breakout session.", fixed_on=BREAKOUT))
    for story in facts.stories:
        if story.subtasks:
            continue
        if meeting:
            unmet.append(
                Unmet(
                    f"story_without_subtasks:{story.key}",
                    f"{story.key} “{story.title}” has no sub-task.",
                    fixed_on=BREAKOUT,
                )
            )
        elif story.claimed:
            unmet.append(
                Unmet(
                    f"story_without_subtasks:{story.key}",
                    f"{story.key} “{story.title}” is claimed but has no sub-task.",
                    fixed_on=BREAKOUT,
                )
            )
    return unmet


# The guard of each forward move, keyed by the phase it moves *to*.
FORWARD_GUARDS: dict[str, list[Guard]] = {
    Phase.PROTOCOLS: [
        artifacts_ready(ArtifactKind.SYSTEM_ARCHITECTURE, ArtifactKind.APPLICATION_ARCHITECTURE)
    ],
    Phase.DESIGN_SPEC: [artifacts_ready(ArtifactKind.PROTOCOL_SPECS), on_need_kinds_decided],
    Phase.UNKNOWNS: [artifacts_ready(ArtifactKind.DESIGN_SPEC), needed_artifacts_ready],
    Phase.DESIGN_REVIEW: [unknowns_have_owners, blockers_handled],
    Phase.KICKOFF: [review_approved],
    Phase.TASK_BREAKOUT: [kickoff_done],
    Phase.DONE: [stories_broken_out, no_unsettled_unknowns],
}


def next_phase(phase: str) -> str | None:
    index = PHASES.index(phase)
    return PHASES[index + 1] if index + 1 < len(PHASES) else None


def earlier_phases(phase: str) -> list[str]:
    return PHASES[: PHASES.index(phase)]


def unmet_for(facts: MilestoneFacts, to: str) -> list[Unmet]:
    """Everything still missing before the milestone may move forward to `to`."""
    return [item for guard in FORWARD_GUARDS.get(to, []) for item in guard(facts)]


def readiness(facts: MilestoneFacts) -> tuple[str | None, list[Unmet]]:
    """The next phase and what is missing to reach it (empty when it may move)."""
    upcoming = next_phase(facts.phase)
    if upcoming is None:
        return None, []
    return upcoming, unmet_for(facts, upcoming)


MOVE_REFUSAL = "Only the milestone's tech lead moves it between phases."


# What later moves ask that the squad can already see and settle now: about the
# unknowns and stories as they stand, not about meetings still to come.
EARLY_NOTICE = ("unknown_without_owner:", "blocker_open:", "unknown_unsettled:", "no_stories")


def later_asks(facts: MilestoneFacts) -> list[tuple[str, list[Unmet]]]:
    """What the moves after the next one will ask and does not hold yet, by the phase that asks.

    Shown quietly under the readiness, so that no move surprises at the end:
    each item once, at the first phase whose move asks for it.
    """
    upcoming = next_phase(facts.phase)
    if upcoming is None:
        return []
    seen = {item.code for item in unmet_for(facts, upcoming)}
    asks = []
    for phase in PHASES[PHASES.index(upcoming) + 1 :]:
        items = [
            item
            for item in unmet_for(facts, phase)
            if item.code.startswith(EARLY_NOTICE) and item.code not in seen
        ]
        seen.update(item.code for item in items)
        if items:
            asks.append((phase, items))
    return asks


def may_move(actor_id: int | None, tech_lead_id: int | None) -> bool:
    """Only the milestone's own tech lead moves it, forward or back (refused with MOVE_REFUSAL)."""
    return actor_id is not None and actor_id == tech_lead_id


# The design review's approval rule ---------------------------------------------------------


@dataclass(frozen=True)
class VerdictFacts:
    """One reviewer's verdict as the approval rule reads it.

    `stale`: an artifact under review has a newer revision than the one the
    verdict was given on (DESIGN §8). `dismissed`: the tech lead dismissed a
    stale request for changes with a note. `principal`: its reviewer is the
    project's principal engineer.
    """

    reviewer_id: int
    verdict: str
    counted: bool
    stale: bool = False
    dismissed: bool = False
    principal: bool = False

    @property
    def approves(self) -> bool:
        return self.verdict in APPROVING

    @property
    def counts_as_approval(self) -> bool:
        """A counted approval given on the revisions under review now."""
        return self.counted and self.approves and not self.stale

    @property
    def counts_as_changes_requested(self) -> bool:
        """A counted request for changes; stale, it still counts until replaced or dismissed."""
        return (
            self.counted and self.verdict == VerdictChoice.CHANGES_REQUESTED and not self.dismissed
        )


APPROVING = frozenset({VerdictChoice.APPROVE, VerdictChoice.APPROVE_WITH_CONDITIONS})


def dismissal_refusal(facts: VerdictFacts) -> str | None:
    """Why the tech lead may not dismiss this verdict, or None when they may (DESIGN §8):
    only a stale request for changes, not dismissed already, is dismissed."""
    if facts.verdict != VerdictChoice.CHANGES_REQUESTED:
        return "Only a request for changes is dismissed."
    if facts.dismissed:
        return "This request for changes is already dismissed."
    if not facts.stale:
        return (
            "Only a stale request for changes is dismissed: the artifacts have not changed "
            "since it was given."
        )
    return None


@dataclass(frozen=True)
class ApprovalFacts:
    """What the approval rule reads about one review round."""

    needed: int
    verdicts: tuple[VerdictFacts, ...] = ()
    require_principal: bool = False
    has_principal: bool = True
    open_blocking: int = 0


@dataclass(frozen=True)
class VerdictCount:
    approvals: int
    changes_requested: int
    stale: int = 0


def count_verdicts(verdicts: Iterable[VerdictFacts]) -> VerdictCount:
    """Counted current approvals and counted requests for changes; guests' verdicts do not count.

    A stale approval does not count; a stale request for changes counts until
    its reviewer replaces it or the tech lead dismisses it.
    """
    verdicts = list(verdicts)
    return VerdictCount(
        approvals=sum(v.counts_as_approval for v in verdicts),
        changes_requested=sum(v.counts_as_changes_requested for v in verdicts),
        stale=sum(v.counted and v.stale and not v.dismissed for v in verdicts),
    )


def is_stale(pinned: Mapping[str, int], current: Mapping[str, int]) -> bool:
    """Whether an artifact a verdict was given on has a newer revision now.

    `pinned` and `current` map artifact kind → revision number; an artifact the
    verdict did not see (added later) makes it stale only once it has a revision.
    """
    return any(revision != pinned.get(kind, 0) for kind, revision in current.items() if revision)


# How a stale verdict is told: "Approved revision 3 of …".
VERDICT_GIVEN: dict[str, str] = {
    VerdictChoice.APPROVE: "Approved",
    VerdictChoice.APPROVE_WITH_CONDITIONS: "Approved (with conditions)",
    VerdictChoice.CHANGES_REQUESTED: "Asked for changes on",
    VerdictChoice.COMMENT: "Commented on",
}


@dataclass(frozen=True)
class ChangedSince:
    """An artifact with a newer revision than the one a verdict was given on."""

    kind: str
    pinned: int
    now: int

    def describe(self, verdict: str) -> str:
        """How the verdict panel tells it: "Approved revision 3 of the … spec; it has changed since"."""
        verdict_label = VERDICT_GIVEN.get(verdict, "Gave a verdict on")
        title = ArtifactKind(self.kind).label.lower() if self.kind in ARTIFACT_KINDS else self.kind
        if not self.pinned:
            return f"Given before the {title} had any text (now revision {self.now})."
        given = f"{verdict_label} revision {self.pinned} of the {title}"
        return f"{given}; it has changed since (revision {self.now})."


def changed_since(pinned: Mapping[str, int], current: Mapping[str, int]) -> list[ChangedSince]:
    """The artifacts that make a verdict stale (`is_stale`), in order of kind."""
    return [
        ChangedSince(kind, pinned.get(kind, 0), revision)
        for kind, revision in sorted(current.items())
        if revision and revision != pinned.get(kind, 0)
    ]


def still_expected(
    expected: Iterable[int], pinned: Mapping[int, Mapping[str, int]], current: Mapping[str, int]
) -> list[int]:
    """The expected reviewers without a current verdict (DESIGN §8), in the order given.

    `pinned` maps each reviewer who gave a verdict to the revisions it was given
    on; a verdict on an earlier revision than `current` is stale and does not
    answer for them.
    """
    return [pk for pk in expected if pk not in pinned or is_stale(pinned[pk], current)]


def approval_unmet(facts: ApprovalFacts) -> list[Unmet]:
    """What keeps a review from closing approved (DESIGN §8).

    Too few counted current approvals, a counted request for changes, the
    principal engineer's approval when the squad requires it, or an unresolved
    blocking comment.
    """
    count = count_verdicts(facts.verdicts)
    unmet = []
    if count.approvals < facts.needed:
        stale = sum(v.counted and v.approves and v.stale for v in facts.verdicts)
        unmet.append(
            Unmet(
                "not_enough_approvals",
                f"{count.approvals} of the {facts.needed} counted approvals the squad asks for"
                + (
                    f" ({stale} more {'is' if stale == 1 else 'are'} stale: given on an earlier revision)."
                    if stale
                    else "."
                ),
            )
        )
    if count.changes_requested:
        n = count.changes_requested
        unmet.append(
            Unmet(
                "changes_requested",
                f"{n} counted reviewer{'s' if n != 1 else ''} asked for changes.",
            )
        )
    if facts.require_principal and not any(
        v.principal and v.counts_as_approval for v in facts.verdicts
    ):
        unmet.append(
            Unmet(
                "principal_approval",
                "The squad requires the principal engineer's approval on the current revisions."
                if facts.has_principal
                else "The squad requires a principal engineer's approval, and the project has none.",
            )
        )
    if facts.open_blocking:
        n = facts.open_blocking
        unmet.append(
            Unmet(
                "blocking_comments",
                f"{n} blocking comment{'s are' if n != 1 else ' is'} unresolved.",
            )
        )
    return unmet


def changed_since_review(reviewed_revisions: Mapping[str, int], kind: str, revision: int) -> bool:
    """Whether an artifact has a newer revision than the one a review looked at."""
    reviewed = reviewed_revisions.get(kind)
    return reviewed is not None and revision != reviewed
