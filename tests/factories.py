"""A factory for every model, building rows as the services would leave them.

Numbers (milestones in a project; unknowns and stories in a milestone; review
rounds; artifact revisions) are the next free one, as the services number them,
and a milestone comes with its seven artifacts. Factories write rows directly:
a test of a rule calls the service instead.
"""

from datetime import timedelta

import factory
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from notifications.models import Notification, WebhookDelivery
from planning.models import (
    Activity,
    Artifact,
    ArtifactRevision,
    BreakoutSession,
    Comment,
    Concern,
    DeferralRequest,
    DesignReview,
    KickoffMeeting,
    Milestone,
    Project,
    Story,
    Subtask,
    Unknown,
    UnknownComment,
    Verdict,
)
from planning.workflow import ARTIFACT_KINDS, ArtifactKind
from squads.models import Membership, Squad

PASSWORD = "correct-horse-battery"


def next_number(related, field: str = "number") -> int:
    """The number after the highest in `related` (a related manager), 1 for the first row."""
    if related.instance.pk is None:
        return 1
    return (related.aggregate(last=Max(field))["last"] or 0) + 1


def soon(days: int = 2):
    return timezone.now() + timedelta(days=days)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class SquadFactory(factory.django.DjangoModelFactory[Squad]):
    class Meta:
        model = Squad

    name = factory.Sequence(lambda n: f"Squad {n}")
    slug = factory.Sequence(lambda n: f"squad-{n}")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    squad = factory.SubFactory(SquadFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ENGINEER


class ProjectFactory(factory.django.DjangoModelFactory[Project]):
    class Meta:
        model = Project

    squad = factory.SubFactory(SquadFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    tech_lead = factory.SubFactory(UserFactory)


# Milestones and their artifacts ------------------------------------------------------


class MilestoneFactory(factory.django.DjangoModelFactory[Milestone]):
    """A milestone numbered next in its project, with its seven artifacts missing.

    `MilestoneFactory(artifacts=False)` leaves the artifacts out, for a test of
    `ArtifactFactory` on its own.
    """

    class Meta:
        model = Milestone
        skip_postgeneration_save = True

    project = factory.SubFactory(ProjectFactory)
    number = factory.LazyAttribute(lambda m: next_number(m.project.milestones))
    title = factory.Sequence(lambda n: f"Milestone {n}")
    goal = "Cards are stored once and charged by token."
    tech_lead = factory.LazyAttribute(lambda m: m.project.tech_lead)

    @factory.post_generation
    def artifacts(obj, create, extracted, **kwargs):
        # As planning.services.milestones.create_milestone does.
        if create and extracted is not False:
            Artifact.objects.bulk_create(
                Artifact(milestone=obj, kind=kind) for kind in ARTIFACT_KINDS
            )


class ArtifactFactory(factory.django.DjangoModelFactory[Artifact]):
    """One artifact of a milestone made without its seven (a milestone holds one of each kind)."""

    class Meta:
        model = Artifact

    milestone = factory.SubFactory(MilestoneFactory, artifacts=False)
    kind = ArtifactKind.SYSTEM_ARCHITECTURE
    body = ""


class ArtifactRevisionFactory(factory.django.DjangoModelFactory[ArtifactRevision]):
    """The next revision of an artifact; the artifact's body and revision follow, as on a save."""

    class Meta:
        model = ArtifactRevision

    artifact = factory.SubFactory(ArtifactFactory)
    number = factory.LazyAttribute(lambda r: next_number(r.artifact.revisions))
    body = factory.LazyAttribute(
        lambda r: f"# {r.artifact.get_kind_display()}\n\nRevision {r.number}.\n"
    )
    author = factory.LazyAttribute(lambda r: r.artifact.milestone.tech_lead)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        revision = super()._create(model_class, *args, **kwargs)
        artifact = revision.artifact
        if revision.number > artifact.revision:
            artifact.revision, artifact.body = revision.number, revision.body
            artifact.updated_by = revision.author
            artifact.save(update_fields=["revision", "body", "updated_by", "updated_at"])
        return revision


class ActivityFactory(factory.django.DjangoModelFactory[Activity]):
    class Meta:
        model = Activity

    milestone = factory.SubFactory(MilestoneFactory)
    actor = factory.LazyAttribute(lambda a: a.milestone.tech_lead)
    verb = "created"
    summary = factory.LazyAttribute(
        lambda a: f"Someone {a.verb} something in M{a.milestone.number}."
    )
    data = factory.LazyFunction(dict)


# Unknowns and deferrals ---------------------------------------------------------------


class UnknownFactory(factory.django.DjangoModelFactory[Unknown]):
    """An unknown numbered next in its milestone (U-1, U-2, …); a resolved one has a resolution."""

    class Meta:
        model = Unknown

    milestone = factory.SubFactory(MilestoneFactory)
    number = factory.LazyAttribute(lambda u: next_number(u.milestone.unknowns))
    title = factory.Sequence(lambda n: f"Open question {n}")
    priority = Unknown.Priority.NORMAL
    status = Unknown.Status.OPEN
    owner = None
    resolution = factory.LazyAttribute(
        lambda u: "Answered in the design spec." if u.status == Unknown.Status.RESOLVED else ""
    )
    created_by = factory.LazyAttribute(lambda u: u.milestone.tech_lead)


class UnknownCommentFactory(factory.django.DjangoModelFactory[UnknownComment]):
    class Meta:
        model = UnknownComment

    unknown = factory.SubFactory(UnknownFactory)
    author = factory.LazyAttribute(lambda c: c.unknown.milestone.tech_lead)
    body = "Asked the vendor; waiting for their answer."


class DeferralRequestFactory(factory.django.DjangoModelFactory[DeferralRequest]):
    """The tech lead's request; decided ones carry the principal engineer's decision.

    An approved deferral defers its unknown, as `decide_deferral` does; a rejected
    one has a note, as the database requires.
    """

    class Meta:
        model = DeferralRequest

    unknown = factory.SubFactory(UnknownFactory)
    requested_by = factory.LazyAttribute(lambda d: d.unknown.milestone.tech_lead)
    reason = "It only matters after launch."
    defer_until = "M2"
    status = DeferralRequest.Status.PENDING
    decided_by = factory.LazyAttribute(
        lambda d: (
            None
            if d.status == DeferralRequest.Status.PENDING
            else d.unknown.milestone.project.principal_engineer
            or UserFactory(username="principal-of-deferrals")
        )
    )
    decided_at = factory.LazyAttribute(
        lambda d: None if d.status == DeferralRequest.Status.PENDING else timezone.now()
    )
    decision_note = factory.LazyAttribute(
        lambda d: (
            "Not after launch: it shapes the schema."
            if d.status == DeferralRequest.Status.REJECTED
            else ""
        )
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        deferral = super()._create(model_class, *args, **kwargs)
        if deferral.status == DeferralRequest.Status.APPROVED:
            Unknown.objects.filter(pk=deferral.unknown_id).update(status=Unknown.Status.DEFERRED)
            deferral.unknown.status = Unknown.Status.DEFERRED
        return deferral


# Design reviews ---------------------------------------------------------------------


class DesignReviewFactory(factory.django.DjangoModelFactory[DesignReview]):
    """The next review round of a milestone; opened and closed ones carry their times.

    An opened review snapshots the revisions of the milestone's artifacts, as
    `open_review` does.
    """

    class Meta:
        model = DesignReview

    milestone = factory.SubFactory(MilestoneFactory)
    round = factory.LazyAttribute(lambda r: next_number(r.milestone.reviews, "round"))
    scheduled_for = factory.LazyFunction(soon)
    location = "Room 4"
    status = DesignReview.Status.SCHEDULED
    outcome = factory.LazyAttribute(
        lambda r: DesignReview.Outcome.APPROVED if r.status == DesignReview.Status.CLOSED else ""
    )
    opened_at = factory.LazyAttribute(
        lambda r: None if r.status == DesignReview.Status.SCHEDULED else timezone.now()
    )
    closed_at = factory.LazyAttribute(
        lambda r: timezone.now() if r.status == DesignReview.Status.CLOSED else None
    )
    reviewed_revisions = factory.LazyAttribute(
        lambda r: (
            {}
            if r.status == DesignReview.Status.SCHEDULED or r.milestone.pk is None
            else dict(r.milestone.artifacts.values_list("kind", "revision"))
        )
    )


class CommentFactory(factory.django.DjangoModelFactory[Comment]):
    class Meta:
        model = Comment

    review = factory.SubFactory(DesignReviewFactory, status=DesignReview.Status.OPEN)
    author = factory.LazyAttribute(lambda c: c.review.milestone.tech_lead)
    artifact_kind = ""
    body = "Where does the token expire?"


class VerdictFactory(factory.django.DjangoModelFactory[Verdict]):
    class Meta:
        model = Verdict

    review = factory.SubFactory(DesignReviewFactory, status=DesignReview.Status.OPEN)
    reviewer = factory.SubFactory(UserFactory)
    verdict = Verdict.Choice.APPROVE
    counted = True


# Kick-off and breakout ----------------------------------------------------------------


class KickoffMeetingFactory(factory.django.DjangoModelFactory[KickoffMeeting]):
    class Meta:
        model = KickoffMeeting

    milestone = factory.SubFactory(MilestoneFactory)
    scheduled_for = factory.LazyFunction(soon)
    location = "Room 4"
    held_at = None


class ConcernFactory(factory.django.DjangoModelFactory[Concern]):
    """A question raised at kick-off; an answered one has its answer, as the database requires."""

    class Meta:
        model = Concern

    milestone = factory.SubFactory(MilestoneFactory)
    raised_by = factory.LazyAttribute(lambda c: c.milestone.tech_lead)
    kind = Concern.Kind.QUESTION
    text = "Who rotates the keys?"
    status = Concern.Status.OPEN
    answer = factory.LazyAttribute(
        lambda c: "The platform team." if c.status == Concern.Status.ANSWERED else ""
    )
    answered_by = factory.LazyAttribute(
        lambda c: c.milestone.tech_lead if c.status == Concern.Status.ANSWERED else None
    )
    answered_at = factory.LazyAttribute(
        lambda c: timezone.now() if c.status == Concern.Status.ANSWERED else None
    )


class StoryFactory(factory.django.DjangoModelFactory[Story]):
    """A story numbered next in its milestone (S-1, S-2, …), unclaimed unless given an assignee."""

    class Meta:
        model = Story

    milestone = factory.SubFactory(MilestoneFactory)
    number = factory.LazyAttribute(lambda s: next_number(s.milestone.stories))
    title = factory.Sequence(lambda n: f"Story {n}")
    assignee = None


class SubtaskFactory(factory.django.DjangoModelFactory[Subtask]):
    class Meta:
        model = Subtask

    story = factory.SubFactory(StoryFactory)
    title = factory.Sequence(lambda n: f"Sub-task {n}")
    assignee = factory.LazyAttribute(lambda t: t.story.assignee)


class BreakoutSessionFactory(factory.django.DjangoModelFactory[BreakoutSession]):
    class Meta:
        model = BreakoutSession

    milestone = factory.SubFactory(MilestoneFactory)
    scheduled_for = factory.LazyFunction(soon)
    location = "Room 4"
    held_at = None


# Notifications and webhooks -----------------------------------------------------------


class NotificationFactory(factory.django.DjangoModelFactory[Notification]):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = Notification.Kind.UNKNOWN_ASSIGNED
    text = factory.Sequence(lambda n: f"You own U-{n + 1} now.")
    link = "/"


class WebhookDeliveryFactory(factory.django.DjangoModelFactory[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery

    squad = factory.SubFactory(SquadFactory, webhook_url="https://hooks.example.com/squad")
    event = "phase_changed"
    url = factory.LazyAttribute(lambda d: d.squad.webhook_url or "https://hooks.example.com/squad")
    payload = factory.LazyAttribute(lambda d: {"event": d.event, "squad": d.squad.slug})
