"""Changes to squads and their members. Each checks access itself and runs atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.text import slugify

from notifications.egress import check_webhook_url
from squads.access import Action, forget_roles, require
from squads.models import Membership, Squad

if TYPE_CHECKING:
    from accounts.models import User

SETTINGS_FIELDS = (
    "name",
    "description",
    "breakout_mode",
    "remind_after_days",
    "escalate_after_days",
    "vendor_followup_days",
    "min_review_approvals",
    "require_principal_approval",
    "webhook_url",
)


def unique_slug(
    model: type[Model],
    base: str,
    *,
    max_length: int = 60,
    exclude_pk: int | None = None,
    **scope: Any,
) -> str:
    """`base` slugified, with -2, -3, … appended until no other row in `scope` has it."""
    root = slugify(base)[: max_length - 4] or "item"
    others = model._default_manager.filter(**scope).exclude(pk=exclude_pk)
    candidate, n = root, 1
    while others.filter(slug=candidate).exists():
        n += 1
        candidate = f"{root}-{n}"
    return candidate


@transaction.atomic
def create_squad(creator: User, *, name: str, slug: str = "", description: str = "") -> Squad:
    """Create a squad; its creator becomes its first tech lead."""
    slug = slug or unique_slug(Squad, name)
    try:
        with transaction.atomic():
            squad = Squad.objects.create(name=name, slug=slug, description=description)
    except IntegrityError:
        raise ValidationError({"slug": "Another squad already uses this address."}) from None
    Membership.objects.create(squad=squad, user=creator, role=Membership.Role.TECH_LEAD)
    forget_roles(creator)
    return squad


@transaction.atomic
def update_squad_settings(actor: User, squad: Squad, **changes: Any) -> Squad:
    require(actor, Action.EDIT_SQUAD_SETTINGS, squad)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not squad settings: {', '.join(sorted(unknown))}")
    url = changes.get("webhook_url")
    if url and url != squad.webhook_url:
        # A changed URL is checked now; every post is checked again when it is sent.
        check_webhook_url(url)
    for field, value in changes.items():
        setattr(squad, field, value)
    squad.full_clean()
    squad.save(update_fields=[*changes])
    return squad


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"{role!r} is not a squad role."})


@transaction.atomic
def add_member(actor: User, squad: Squad, user: User, role: str) -> Membership:
    require(actor, Action.MANAGE_MEMBERS, squad)
    _check_role(role)
    if not user.is_active:
        raise ValidationError({"user": f"{user.username} has been deactivated."})
    membership, created = Membership.objects.get_or_create(
        squad=squad, user=user, defaults={"role": role}
    )
    if not created:
        raise ValidationError({"user": f"{user.username} is already in this squad."})
    forget_roles(actor, user)
    _recount_verdicts(squad, user)
    return membership


def _locked_memberships(squad: Squad) -> list[Membership]:
    # Locking every membership row of the squad serialises concurrent role
    # changes, so two tech leads cannot demote each other at the same time,
    # and a removal with whatever locked the member's row to rely on it.
    return list(Membership.objects.select_for_update().filter(squad=squad).order_by("pk"))


def _check_keeps_a_tech_lead(memberships: list[Membership], leaving: Membership) -> None:
    leads = [m for m in memberships if m.role == Membership.Role.TECH_LEAD]
    if leaving.role == Membership.Role.TECH_LEAD and len(leads) == 1:
        raise ValidationError("A squad needs at least one tech lead; make someone else one first.")


def _membership_in(memberships: list[Membership], user: User) -> Membership:
    for membership in memberships:
        if membership.user_id == user.pk:
            return membership
    raise ValidationError({"user": f"{user.username} is not in this squad."})


@transaction.atomic
def change_role(actor: User, squad: Squad, user: User, role: str) -> Membership:
    require(actor, Action.MANAGE_MEMBERS, squad)
    _check_role(role)
    memberships = _locked_memberships(squad)
    membership = _membership_in(memberships, user)
    if membership.role == role:
        return membership
    if role != Membership.Role.TECH_LEAD:
        _check_keeps_a_tech_lead(memberships, membership)
    membership.role = role
    membership.save(update_fields=["role"])
    forget_roles(actor, user)
    return membership


@transaction.atomic
def remove_member(actor: User, squad: Squad, user: User) -> None:
    require(actor, Action.MANAGE_MEMBERS, squad)
    memberships = _locked_memberships(squad)
    membership = _membership_in(memberships, user)
    _check_keeps_a_tech_lead(memberships, membership)
    led = list(squad.projects.filter(tech_lead=user).values_list("name", flat=True))
    if led:
        names = ", ".join(led)
        raise ValidationError(
            f"{user.display_name} leads {names}; choose another tech lead for it first."
        )
    membership.delete()
    forget_roles(actor, user)
    _recount_verdicts(squad, user)


def _recount_verdicts(squad: Squad, user: User) -> None:
    """The user's verdicts on the squad's open reviews count while they are in it."""
    from planning.models import DesignReview
    from planning.services.reviews import recount_verdicts

    recount_verdicts(DesignReview.objects.filter(milestone__project__squad=squad), [user.pk])
