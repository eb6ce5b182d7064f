"""Domain operations of the planning app. Each checks access itself and runs atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from planning.models import Project
from squads.access import Action, require, role_in
from squads.models import Squad
from squads.services import unique_slug

if TYPE_CHECKING:
    from accounts.models import User

SLUG_TAKEN = "Another project of this squad uses this address."


def _check_tech_lead_is_member(squad: Squad, tech_lead: User) -> None:
    if role_in(tech_lead, squad) is None:
        raise ValidationError({"tech_lead": f"{tech_lead.username} is not in {squad.name}."})


@transaction.atomic
def create_project(
    actor: User,
    squad: Squad,
    *,
    name: str,
    tech_lead: User,
    slug: str = "",
    summary: str = "",
    principal_engineer: User | None = None,
) -> Project:
    require(actor, Action.CREATE_PROJECT, squad)
    _check_tech_lead_is_member(squad, tech_lead)
    slug = slug or unique_slug(Project, name, squad=squad)
    try:
        with transaction.atomic():
            return Project.objects.create(
                squad=squad,
                name=name,
                slug=slug,
                summary=summary,
                tech_lead=tech_lead,
                principal_engineer=principal_engineer,
            )
    except IntegrityError:
        raise ValidationError({"slug": SLUG_TAKEN}) from None


@transaction.atomic
def update_project(actor: User, project: Project, **changes: Any) -> Project:
    require(actor, Action.EDIT_PROJECT, project)
    allowed = {"name", "slug", "summary", "tech_lead", "principal_engineer"}
    if set(changes) - allowed:
        raise ValueError(f"Not project fields: {', '.join(sorted(set(changes) - allowed))}")
    if "tech_lead" in changes:
        _check_tech_lead_is_member(project.squad, changes["tech_lead"])
    for field, value in changes.items():
        setattr(project, field, value)
    if not project.slug:
        project.slug = unique_slug(
            Project, project.name, squad=project.squad, exclude_pk=project.pk
        )
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:
        raise ValidationError({"slug": SLUG_TAKEN}) from None
    return project
