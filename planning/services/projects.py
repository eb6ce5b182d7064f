"""Domain operations of the planning app. Each checks access itself and runs atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from planning.models import DesignReview, Project
from planning.services.reviews import recount_verdicts
from squads.access import Action, require
from squads.models import Membership, Squad
from squads.services import unique_slug

if TYPE_CHECKING:
    from accounts.models import User

SLUG_TAKEN = "Another project of this squad uses this address."


def _check_tech_lead_is_member(squad: Squad, tech_lead: User) -> None:
    # The membership row stays locked until commit: removing the member, which
    # refuses while they lead a project, waits for this change and then sees it.
    member = Membership.objects.select_for_update(no_key=True).filter(squad=squad, user=tech_lead)
    if not member.values_list("pk", flat=True):
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
    # Only the fields changed are written, to the locked row; the principal
    # engineer it replaces is the one stored, not the one the caller saw.
    project = (
        Project.objects.select_for_update(no_key=True, of=("self",))
        .select_related("squad")
        .get(pk=project.pk)
    )
    require(actor, Action.EDIT_PROJECT, project)
    former_principal = project.principal_engineer_id
    for field, value in changes.items():
        setattr(project, field, value)
    if not project.slug:
        project.slug = unique_slug(
            Project, project.name, squad=project.squad, exclude_pk=project.pk
        )
        changes["slug"] = project.slug
    try:
        with transaction.atomic():
            project.save(update_fields=[*changes])
    except IntegrityError:
        raise ValidationError({"slug": SLUG_TAKEN}) from None
    if project.principal_engineer_id != former_principal:
        # Verdicts of the open reviews count for the principal engineer the project has now.
        recount_verdicts(
            DesignReview.objects.filter(milestone__project=project),
            [pk for pk in (former_principal, project.principal_engineer_id) if pk is not None],
        )
    return project
