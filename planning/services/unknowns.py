"""Unknowns of a milestone, their discussion, and deferrals vetted by the principal engineer."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Field, Max
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notify
from planning.exceptions import DeferralConflict
from planning.models import DeferralRequest, Milestone, Unknown, UnknownComment
from planning.services.activity import record
from planning.services.locks import lock_milestone
from squads.access import Action, require, role_in

if TYPE_CHECKING:
    from accounts.models import User

EDITABLE = {
    "title", "detail", "priority", "owner", "status", "vendor",
    "vendor_contacted_on", "due_on", "ticket_url",
}  # fmt: skip


def _lock(unknown_id: int, milestone_id: int) -> Unknown:
    """The unknown row, locked after its milestone's and read afresh, with that milestone.

    The guards read the unknowns' owners, priorities and status under the
    milestone lock, so every change of an unknown takes that lock first.
    """
    milestone = lock_milestone(milestone_id)
    locked = (
        Unknown.objects.select_for_update(no_key=True, of=("self",))
        .select_related("owner")
        .get(pk=unknown_id)
    )
    locked.milestone = milestone
    return locked


def _check_owner(milestone: Milestone, owner: User | None) -> None:
    if owner is not None and role_in(owner, milestone.project.squad) is None:
        raise ValidationError(
            {"owner": f"{owner.display_name} is not in {milestone.project.squad.name}."}
        )


def _label(field_name: str) -> str:
    field = Unknown._meta.get_field(field_name)
    return str(field.verbose_name) if isinstance(field, Field) else field_name


def _day(day: date | None) -> str:
    return f"{day.day} {day:%b}" if day else ""


def _touch(unknown: Unknown) -> None:
    unknown.last_activity_at = timezone.now()


def _assigned(actor: User, unknown: Unknown) -> None:
    owner = unknown.owner if unknown.owner_id != actor.pk else None
    if owner is not None:
        notify(
            owner,
            Notification.Kind.UNKNOWN_ASSIGNED,
            f"{actor.display_name} made you the owner of {unknown.key} “{unknown.title}”.",
            unknown.get_absolute_url(),
        )


@transaction.atomic
def add_unknown(
    actor: User,
    milestone: Milestone,
    *,
    title: str,
    priority: str = Unknown.Priority.NORMAL,
    owner: User | None = None,
    due_on: date | None = None,
    vendor: str = "",
    vendor_contacted_on: date | None = None,
    detail: str = "",
    ticket_url: str = "",
) -> Unknown:
    """Add an unknown; one that names a vendor waits on them, asked today unless said otherwise."""
    # The milestone row lock numbers unknowns U-1, U-2, … without gaps or clashes.
    milestone = lock_milestone(milestone.pk)
    require(actor, Action.EDIT_UNKNOWN, milestone)
    _check_owner(milestone, owner)
    last = milestone.unknowns.aggregate(last=Max("number"))["last"] or 0
    vendor = vendor.strip()
    unknown = Unknown(
        milestone=milestone,
        number=last + 1,
        title=title,
        priority=priority,
        owner=owner,
        due_on=due_on,
        vendor=vendor,
        detail=detail,
        ticket_url=ticket_url,
        created_by=actor,
    )
    if vendor:
        unknown.status = Unknown.Status.WAITING_ON_VENDOR
        unknown.vendor_contacted_on = vendor_contacted_on or timezone.localdate()
    unknown.full_clean(exclude=["milestone", "number"])
    unknown.save()
    waiting = f", waiting on {vendor} since {_day(unknown.vendor_contacted_on)}" if vendor else ""
    record(
        milestone,
        actor,
        "unknown_added",
        f"{actor.display_name} added {unknown.key} “{title}” "
        f"({unknown.get_priority_display().lower()}){waiting}.",
        unknown=unknown.pk,
    )
    _assigned(actor, unknown)
    return unknown


@transaction.atomic
def update_unknown(actor: User, unknown: Unknown, **changes: Any) -> Unknown:
    """Change an unknown's fields. Resolving and deferring have their own operations."""
    if set(changes) - EDITABLE:
        raise ValueError(f"Not unknown fields: {', '.join(sorted(set(changes) - EDITABLE))}")
    locked = _lock(unknown.pk, unknown.milestone_id)
    require(actor, Action.EDIT_UNKNOWN, locked.milestone)
    # Compared with the stored status: the caller's copy may predate a resolution or a deferral.
    status = changes.get("status", locked.status)
    if "status" in changes and status in Unknown.SETTLED_STATUSES and status != locked.status:
        action = (
            "resolve it with a resolution"
            if status == Unknown.Status.RESOLVED
            else "request a deferral"
        )
        raise ValidationError({"status": f"To make it {status}, {action}."})
    if "owner" in changes:
        _check_owner(locked.milestone, changes["owner"])
    before = {field: getattr(locked, field) for field in changes}
    for field, value in changes.items():
        setattr(locked, field, value)
    if locked.status == Unknown.Status.WAITING_ON_VENDOR and not locked.vendor.strip():
        raise ValidationError({"vendor": "Say which vendor it waits on."})
    changed = [field for field in changes if before[field] != getattr(locked, field)]
    if not changed:
        return locked
    locked.full_clean(exclude=["milestone", "number"])
    _touch(locked)
    locked.save()
    if changed == ["status"]:
        summary = f"{actor.display_name} set {locked.key} to {locked.get_status_display()}."
    elif changed == ["owner"]:
        who = locked.owner.display_name if locked.owner else "no one"
        summary = f"{actor.display_name} gave {locked.key} to {who}."
    else:
        names = ", ".join(_label(f) for f in changed)
        summary = f"{actor.display_name} updated {locked.key}: {names}."
    record(locked.milestone, actor, "unknown_changed", summary, unknown=locked.pk, fields=changed)
    if "owner" in changed:
        _assigned(actor, locked)
    return locked


@transaction.atomic
def record_vendor_contact(actor: User, unknown: Unknown, on: date | None = None) -> Unknown:
    """The vendor was asked (again): the unknown waits on them from `on` (today by default).

    A blocker waiting on a contacted vendor no longer holds the milestone back
    from its design review, and the follow-up reminder counts from this date.
    """
    locked = _lock(unknown.pk, unknown.milestone_id)
    require(actor, Action.EDIT_UNKNOWN, locked.milestone)
    if locked.is_settled:
        raise ValidationError(f"{locked.key} is {locked.get_status_display().lower()} already.")
    if not locked.vendor.strip():
        raise ValidationError({"vendor": "Say which vendor it waits on first."})
    locked.status = Unknown.Status.WAITING_ON_VENDOR
    locked.vendor_contacted_on = on or timezone.localdate()
    _touch(locked)
    locked.save(update_fields=["status", "vendor_contacted_on", "last_activity_at"])
    record(
        locked.milestone,
        actor,
        "unknown_changed",
        f"{actor.display_name} contacted {locked.vendor} about {locked.key} "
        f"on {_day(locked.vendor_contacted_on)}.",
        unknown=locked.pk,
        fields=["status", "vendor_contacted_on"],
    )
    return locked


@transaction.atomic
def resolve_unknown(actor: User, unknown: Unknown, resolution: str) -> Unknown:
    resolution = resolution.strip()
    locked = _lock(unknown.pk, unknown.milestone_id)
    require(actor, Action.EDIT_UNKNOWN, locked.milestone)
    if not resolution:
        raise ValidationError({"resolution": "Say how it was resolved."})
    locked.status = Unknown.Status.RESOLVED
    locked.resolution = resolution
    _touch(locked)
    locked.save(update_fields=["status", "resolution", "last_activity_at"])
    DeferralRequest.objects.filter(unknown=locked, status=DeferralRequest.Status.PENDING).update(
        status=DeferralRequest.Status.REJECTED,
        decision_note="Withdrawn: the unknown was resolved.",
        decided_at=timezone.now(),
    )
    record(
        locked.milestone,
        actor,
        "unknown_resolved",
        f"{actor.display_name} resolved {locked.key}: {resolution}",
        unknown=locked.pk,
    )
    return locked


@transaction.atomic
def comment_on_unknown(actor: User, unknown: Unknown, body: str) -> UnknownComment:
    require(actor, Action.DISCUSS_UNKNOWN, unknown.milestone)
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    comment = UnknownComment.objects.create(unknown=unknown, author=actor, body=body)
    Unknown.objects.filter(pk=unknown.pk).update(last_activity_at=timezone.now())
    return comment


@transaction.atomic
def request_deferral(
    actor: User, unknown: Unknown, *, reason: str, defer_until: str
) -> DeferralRequest:
    """The milestone's tech lead asks to answer an unknown later; the principal engineer decides."""
    unknown = _lock(unknown.pk, unknown.milestone_id)
    require(actor, Action.REQUEST_DEFERRAL, unknown.milestone)
    errors = {}
    if not reason.strip():
        errors["reason"] = "Say why it can wait."
    if not defer_until.strip():
        errors["defer_until"] = "Say until when: a date or a later milestone."
    if errors:
        raise ValidationError(errors)
    if unknown.is_settled:
        raise ValidationError(f"{unknown.key} is already {unknown.get_status_display().lower()}.")
    project = unknown.milestone.project
    principal = project.principal_engineer
    if principal is None:
        raise ValidationError(
            "The project has no principal engineer to approve a deferral; name one first."
        )
    try:
        with transaction.atomic():
            deferral = DeferralRequest.objects.create(
                unknown=unknown,
                requested_by=actor,
                reason=reason.strip(),
                defer_until=defer_until.strip(),
            )
    except IntegrityError:
        raise DeferralConflict(
            f"{unknown.key} already has a deferral waiting for a decision."
        ) from None
    Unknown.objects.filter(pk=unknown.pk).update(last_activity_at=timezone.now())
    record(
        unknown.milestone,
        actor,
        "deferral_requested",
        f"{actor.display_name} asked to defer {unknown.key} until {deferral.defer_until}.",
        unknown=unknown.pk,
        deferral=deferral.pk,
    )
    notify(
        principal,
        Notification.Kind.DEFERRAL_REQUESTED,
        f"{actor.display_name} asks to defer {unknown.key} “{unknown.title}” until {deferral.defer_until}.",
        "/approvals/",
    )
    return deferral


@transaction.atomic
def decide_deferral(
    actor: User, deferral: DeferralRequest, *, decision: str, note: str = ""
) -> DeferralRequest:
    """Approve or reject a pending deferral: the project's principal engineer, not the requester."""
    # Milestone, unknown, then deferral, the order every change of an unknown takes: the
    # decision is made on the unknown as it is now (a resolution may have just withdrawn it).
    unknown = _lock(
        *DeferralRequest.objects.values_list("unknown_id", "unknown__milestone_id").get(
            pk=deferral.pk
        )
    )
    deferral = (
        DeferralRequest.objects.select_for_update(no_key=True, of=("self",))
        .select_related("requested_by")
        .get(pk=deferral.pk)
    )
    deferral.unknown = unknown
    require(actor, Action.DECIDE_DEFERRAL, deferral)
    if deferral.status != DeferralRequest.Status.PENDING:
        raise DeferralConflict(
            f"This deferral was already {deferral.get_status_display().lower()}."
        )
    note = note.strip()
    if decision not in ("approve", "reject"):
        raise ValidationError({"decision": "Choose approve or reject."})
    if decision == "reject" and not note:
        raise ValidationError({"note": "Say why the deferral is rejected."})
    deferral.status = (
        DeferralRequest.Status.APPROVED
        if decision == "approve"
        else DeferralRequest.Status.REJECTED
    )
    deferral.decided_by = actor
    deferral.decided_at = timezone.now()
    deferral.decision_note = note
    deferral.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    fields = ["last_activity_at"]
    if deferral.status == DeferralRequest.Status.APPROVED:
        unknown.status = Unknown.Status.DEFERRED
        fields.append("status")
    _touch(unknown)
    unknown.save(update_fields=fields)
    verb = "approved" if decision == "approve" else "rejected"
    record(
        unknown.milestone,
        actor,
        f"deferral_{verb}",
        f"{actor.display_name} {verb} deferring {unknown.key}" + (f": {note}" if note else "."),
        unknown=unknown.pk,
        deferral=deferral.pk,
        note=note,
    )
    text = f"{actor.display_name} {verb} the deferral of {unknown.key} “{unknown.title}”" + (
        f": {note}" if note else "."
    )
    recipients = {deferral.requested_by, unknown.milestone.tech_lead}
    if unknown.owner:
        recipients.add(unknown.owner)
    for person in recipients:
        notify(person, Notification.Kind.DEFERRAL_DECIDED, text, unknown.get_absolute_url())
    return deferral
