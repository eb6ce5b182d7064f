"""Creating and editing milestones."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from planning.models import Artifact, Milestone, Project
from planning.services.activity import record
from planning.services.locks import lock_milestone
from planning.workflow import ARTIFACT_KINDS
from squads.access import Action, require, role_in

if TYPE_CHECKING:
    from accounts.models import User

EDITABLE_FIELDS = {"title", "goal", "due_on", "tech_lead"}


def _check_tech_lead(project: Project, tech_lead: User) -> None:
    if role_in(tech_lead, project.squad) is None:
        raise ValidationError(
            {"tech_lead": f"{tech_lead.display_name} is not in {project.squad.name}."}
        )


@transaction.atomic
def create_milestone(
    actor: User,
    project: Project,
    *,
    title: str,
    goal: str = "",
    due_on: date | None = None,
    tech_lead: User | None = None,
) -> Milestone:
    """A new milestone, numbered next in its project, with all seven artifacts missing."""
    require(actor, Action.CREATE_MILESTONE, project)
    tech_lead = tech_lead or project.tech_lead
    _check_tech_lead(project, tech_lead)
    # The project row lock serialises numbering: two milestones created at
    # once get consecutive numbers instead of one of them failing.
    Project.objects.select_for_update().filter(pk=project.pk).get()
    last = project.milestones.aggregate(last=Max("number"))["last"] or 0
    milestone = Milestone.objects.create(
        project=project,
        number=last + 1,
        title=title,
        goal=goal,
        due_on=due_on,
        tech_lead=tech_lead,
    )
    Artifact.objects.bulk_create(
        Artifact(milestone=milestone, kind=kind) for kind in ARTIFACT_KINDS
    )
    record(
        milestone, actor, "created", f"{actor.display_name} created milestone {milestone.number}."
    )
    return milestone


@transaction.atomic
def update_milestone(actor: User, milestone: Milestone, **changes: Any) -> Milestone:
    if set(changes) - EDITABLE_FIELDS:
        raise ValueError(
            f"Not milestone fields: {', '.join(sorted(set(changes) - EDITABLE_FIELDS))}"
        )
    # Only the fields changed are written, to the locked row: a copy loaded
    # before a phase move would otherwise write the old phase back.
    milestone = lock_milestone(milestone.pk)
    require(actor, Action.EDIT_MILESTONE, milestone)
    new_lead = changes.get("tech_lead")
    if new_lead is not None and new_lead.pk != milestone.tech_lead_id:
        _check_tech_lead(milestone.project, new_lead)
        record(
            milestone,
            actor,
            "tech_lead_changed",
            f"{actor.display_name} made {new_lead.display_name} the tech lead.",
            tech_lead=new_lead.pk,
        )
    for field, value in changes.items():
        setattr(milestone, field, value)
    milestone.save(update_fields=[*changes, "updated_at"])
    return milestone
