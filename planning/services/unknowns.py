"""Unknowns of a milestone, their discussion, and deferrals vetted by the principal engineer."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notify
from planning.exceptions import DeferralConflict
from planning.models import DeferralRequest, Milestone, Unknown, UnknownComment
from planning.services.activity import record
from squads.access import Action, require, role_in

if TYPE_CHECKING:
    from accounts.models import User

EDITABLE = {
    "title", "detail", "priority", "owner", "status", "vendor",
    "vendor_contacted_on", "due_on", "ticket_url",
}  # fmt: skip


def _check_owner(milestone: Milestone, owner: User | None) -> None:
    if owner is not None and role_in(owner, milestone.project.squad) is None:
        raise ValidationError(
            {"owner": f"{owner.display_name} is not in {milestone.project.squad.name}."}
        )


def _touch(unknown: Unknown) -> None:
    unknown.last_activity_at = timezone.now()


def _assigned(actor: User, unknown: Unknown) -> None:
    if unknown.owner_id and unknown.owner_id != actor.pk:
        notify(
            unknown.owner,
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
    detail: str = "",
    ticket_url: str = "",
) -> Unknown:
    require(actor, Action.EDIT_UNKNOWN, milestone)
    _check_owner(milestone, owner)
    # The milestone row lock numbers unknowns U-1, U-2, … without gaps or clashes.
    Milestone.objects.select_for_update().filter(pk=milestone.pk).get()
    last = milestone.unknowns.aggregate(last=Max("number"))["last"] or 0
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
    unknown.full_clean(exclude=["milestone", "number"])
    unknown.save()
    record(
        milestone,
        actor,
        "unknown_added",
        f"{actor.display_name} added {unknown.key} “{title}” ({unknown.get_priority_display().lower()}).",
        unknown=unknown.pk,
    )
    _assigned(actor, unknown)
    return unknown


@transaction.atomic
def update_unknown(actor: User, unknown: Unknown, **changes: Any) -> Unknown:
    """Change an unknown's fields. Resolving and deferring have their own operations."""
    require(actor, Action.EDIT_UNKNOWN, unknown.milestone)
    if set(changes) - EDITABLE:
        raise ValueError(f"Not unknown fields: {', '.join(sorted(set(changes) - EDITABLE))}")
    status = changes.get("status", unknown.status)
    if "status" in changes and status in Unknown.SETTLED_STATUSES and status != unknown.status:
        action = (
            "resolve it with a resolution"
            if status == Unknown.Status.RESOLVED
            else "request a deferral"
        )
        raise ValidationError({"status": f"To make it {status}, {action}."})
    if "owner" in changes:
        _check_owner(unknown.milestone, changes["owner"])
    locked = (
        Unknown.objects.select_for_update(of=("self",)).select_related("owner").get(pk=unknown.pk)
    )
    locked.milestone = unknown.milestone
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
        names = ", ".join(str(Unknown._meta.get_field(f).verbose_name) for f in changed)
        summary = f"{actor.display_name} updated {locked.key}: {names}."
    record(unknown.milestone, actor, "unknown_changed", summary, unknown=locked.pk, fields=changed)
    if "owner" in changed:
        _assigned(actor, locked)
    return locked


@transaction.atomic
def resolve_unknown(actor: User, unknown: Unknown, resolution: str) -> Unknown:
    require(actor, Action.EDIT_UNKNOWN, unknown.milestone)
    resolution = resolution.strip()
    if not resolution:
        raise ValidationError({"resolution": "Say how it was resolved."})
    locked = Unknown.objects.select_for_update().get(pk=unknown.pk)
    locked.milestone = unknown.milestone
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
        unknown.milestone,
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
    if project.principal_engineer_id is None:
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
        project.principal_engineer,
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
    deferral = (
        DeferralRequest.objects.select_for_update(of=("self",))
        .select_related("unknown__milestone__project__squad", "unknown__owner", "requested_by")
        .get(pk=deferral.pk)
    )
    unknown = deferral.unknown
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
