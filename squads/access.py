"""Who may see what, and who may do what: the one place that answers both.

Views and services fetch objects through the `*_for` / `get_*_for` functions,
so an object the user may not see does not exist for them (404, never 403).
`require` then checks an action on an object the user can see, and raises
PermissionDenied (403) with a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from planning import workflow
from squads.models import Membership, Squad

if TYPE_CHECKING:
    from accounts.models import User
    from planning.models import (
        Artifact,
        Comment,
        DeferralRequest,
        DesignReview,
        Milestone,
        Project,
        Unknown,
    )


class Action(StrEnum):
    MANAGE_MEMBERS = "manage_members"
    EDIT_SQUAD_SETTINGS = "edit_squad_settings"
    CREATE_PROJECT = "create_project"
    EDIT_PROJECT = "edit_project"
    CREATE_MILESTONE = "create_milestone"
    EDIT_MILESTONE = "edit_milestone"
    MOVE_PHASE = "move_phase"
    EDIT_ARTIFACT = "edit_artifact"
    MARK_ARTIFACT = "mark_artifact"
    EDIT_UNKNOWN = "edit_unknown"
    DISCUSS_UNKNOWN = "discuss_unknown"
    REQUEST_DEFERRAL = "request_deferral"
    RUN_MEETINGS = "run_meetings"
    DECIDE_DEFERRAL = "decide_deferral"
    REVIEW = "review"
    EDIT_COMMENT = "edit_comment"
    RESOLVE_COMMENT = "resolve_comment"
    TAKE_PART = "take_part"


def role_in(user: User, squad: Squad) -> str | None:
    """The user's role in the squad, or None when they are not a member.

    Remembered on the user object for the rest of the request: a page asks
    several "may I" questions about one squad. Services that change
    memberships forget it (`forget_roles`).
    """
    if not user.is_authenticated:
        return None
    known = user.__dict__.setdefault("_squad_roles", {})
    if squad.pk not in known:
        known[squad.pk] = (
            Membership.objects.filter(squad=squad, user=user).values_list("role", flat=True).first()
        )
    return known[squad.pk]


def forget_roles(*users: User) -> None:
    for user in users:
        user.__dict__.pop("_squad_roles", None)


def squads_for(user: User) -> QuerySet[Squad]:
    """The squads the user is a member of."""
    if not user.is_authenticated:
        return Squad.objects.none()
    return Squad.objects.filter(memberships__user=user)


def projects_for(user: User) -> QuerySet[Project]:
    """Projects of the user's squads, and projects where they are the principal engineer."""
    from planning.models import Project

    if not user.is_authenticated:
        return Project.objects.none()
    member_of = Membership.objects.filter(user=user).values("squad_id")
    return Project.objects.filter(Q(squad_id__in=member_of) | Q(principal_engineer=user))


def get_squad_for(user: User, slug: str) -> Squad:
    squad = squads_for(user).filter(slug=slug).first()
    if squad is None:
        raise Http404("No such squad.")
    return squad


def get_project_for(user: User, squad_slug: str, project_slug: str) -> Project:
    project = (
        projects_for(user)
        .select_related("squad", "tech_lead", "principal_engineer")
        .filter(squad__slug=squad_slug, slug=project_slug)
        .first()
    )
    if project is None:
        raise Http404("No such project.")
    return project


def milestones_for(user: User, *, with_guest: bool = False) -> QuerySet[Milestone]:
    """Milestones of the projects the user may see; `with_guest` adds those of their review invitations.

    A guest reaches only the milestone page (and its artifacts) and the review
    they were invited to; every other page asks without `with_guest`.
    """
    from planning.models import Milestone

    visible = Q(project__in=projects_for(user))
    if with_guest and user.is_authenticated:
        visible |= Q(reviews__invitees=user)
    return Milestone.objects.filter(visible).distinct()


def is_guest(user: User, milestone: Milestone) -> bool:
    """Invited to a review of the milestone without being of its squad or its principal."""
    return (
        milestone.project.principal_engineer_id != user.pk
        and role_in(user, milestone.project.squad) is None
    )


def get_milestone_for(
    user: User, squad_slug: str, project_slug: str, number: int, *, with_guest: bool = False
) -> Milestone:
    """The milestone, if the user may see it (as `milestones_for` says); 404 otherwise."""
    from planning.models import Milestone

    return _visible_milestone(
        user,
        Milestone.objects.filter(
            project__squad__slug=squad_slug, project__slug=project_slug, number=number
        ),
        with_guest=with_guest,
    )


def get_milestone_by_id_for(user: User, pk: int, *, with_guest: bool = False) -> Milestone:
    """The milestone with this id (the API's way), if the user may see it; 404 otherwise."""
    from planning.models import Milestone

    return _visible_milestone(user, Milestone.objects.filter(pk=pk), with_guest=with_guest)


def _visible_milestone(
    user: User, milestones: QuerySet[Milestone], *, with_guest: bool
) -> Milestone:
    """The one milestone of `milestones` if the user may see it; 404 otherwise.

    One query for the milestone and the user's role in its squad, which
    `role_in` then remembers for the rest of the request; only someone
    outside the squad costs one more query, for their review invitations.
    """
    milestones = milestones.select_related(
        "project__squad", "project__principal_engineer", "tech_lead"
    )
    milestone = _with_viewer_role(milestones, user, "project__squad_id").first()
    if milestone is not None:
        _remember_role(user, milestone.project.squad_id, milestone)
    if milestone is None or not _may_see_milestone(user, milestone, with_guest=with_guest):
        raise Http404("No such milestone.")
    return milestone


def get_review_for(
    user: User, squad_slug: str, project_slug: str, number: int, round: int
) -> DesignReview:
    """A review round, with its milestone, for a member, the principal or an invited guest.

    One query, as for `get_milestone_for`; a guest invited to another round
    of the milestone gets 404 as well.
    """
    from planning.models import DesignReview

    reviews = DesignReview.objects.select_related(
        "milestone__project__squad",
        "milestone__project__principal_engineer",
        "milestone__tech_lead",
    ).filter(
        milestone__project__squad__slug=squad_slug,
        milestone__project__slug=project_slug,
        milestone__number=number,
        round=round,
    )
    review = _with_viewer_role(reviews, user, "milestone__project__squad_id").first()
    if review is not None:
        _remember_role(user, review.milestone.project.squad_id, review)
    if (
        review is None
        or not _may_see_milestone(user, review.milestone, with_guest=True)
        or not can(user, Action.REVIEW, review)
    ):
        raise Http404("No such review.")
    return review


def _with_viewer_role(queryset: QuerySet, user: User, squad_field: str) -> QuerySet:
    """`queryset` with the user's role in the squad at `squad_field` as `viewer_role`."""
    if not user.is_authenticated:
        return queryset
    role = Membership.objects.filter(squad_id=OuterRef(squad_field), user_id=user.pk)
    return queryset.annotate(viewer_role=Subquery(role.values("role")[:1]))


def _remember_role(user: User, squad_id: int, fetched) -> None:
    """Keep the role fetched with an object, so that `role_in` asks no query for it."""
    if user.is_authenticated:
        user.__dict__.setdefault("_squad_roles", {})[squad_id] = fetched.viewer_role


def _may_see_milestone(user: User, milestone: Milestone, *, with_guest: bool) -> bool:
    if not user.is_authenticated:
        return False
    project = milestone.project
    if project.principal_engineer_id == user.pk or role_in(user, project.squad) is not None:
        return True
    return with_guest and milestone.reviews.filter(invitees=user).exists()


def get_artifact_for(user: User, milestone: Milestone, kind: str) -> Artifact:
    """An artifact of a milestone already fetched through `get_milestone_for`."""
    artifact = milestone.artifacts.select_related("updated_by").filter(kind=kind).first()
    if artifact is None:
        raise Http404("No such artifact.")
    artifact.milestone = milestone
    return artifact


def get_unknown_for(user: User, milestone: Milestone, key: str) -> Unknown:
    """An unknown by its key (U-3) within a milestone fetched through `get_milestone_for`."""
    number = key.upper().removeprefix("U-")
    if not number.isdigit():
        raise Http404("No such unknown.")
    unknown = milestone.unknowns.select_related("owner").filter(number=int(number)).first()
    if unknown is None:
        raise Http404("No such unknown.")
    unknown.milestone = milestone
    return unknown


def deferrals_for(user: User) -> QuerySet[DeferralRequest]:
    """Deferral requests of the unknowns the user may see."""
    from planning.models import DeferralRequest

    return DeferralRequest.objects.filter(unknown__milestone__in=milestones_for(user))


def _is_squad_tech_lead(user: User, squad: Squad) -> bool:
    return role_in(user, squad) == Membership.Role.TECH_LEAD


def _may_edit_project(user: User, project: Project) -> bool:
    return project.tech_lead_id == user.pk or _is_squad_tech_lead(user, project.squad)


def _may_create_milestone(user: User, project: Project) -> bool:
    return _may_edit_project(user, project)


def _is_milestone_tech_lead(user: User, milestone: Milestone) -> bool:
    return milestone.tech_lead_id == user.pk


def _may_edit_milestone(user: User, milestone: Milestone) -> bool:
    return _is_milestone_tech_lead(user, milestone) or _is_squad_tech_lead(
        user, milestone.project.squad
    )


def _may_edit_artifact(user: User, artifact: Artifact) -> bool:
    """The milestone's tech lead always; squad engineers and tech leads while it is a draft."""
    if _is_milestone_tech_lead(user, artifact.milestone):
        return True
    role = role_in(user, artifact.milestone.project.squad)
    return role in (Membership.Role.TECH_LEAD, Membership.Role.ENGINEER) and not artifact.is_ready


def _may_mark_artifact(user: User, artifact: Artifact) -> bool:
    return _is_milestone_tech_lead(user, artifact.milestone)


def _is_squad_member(user: User, milestone: Milestone) -> bool:
    return role_in(user, milestone.project.squad) is not None


def _may_discuss(user: User, milestone: Milestone) -> bool:
    return milestone.project.principal_engineer_id == user.pk or _is_squad_member(user, milestone)


def _may_move(user: User, milestone: Milestone) -> bool:
    return workflow.may_move(user.pk, milestone.tech_lead_id)


def _may_decide_deferral(user: User, deferral: DeferralRequest) -> bool:
    """The project's principal engineer, and never the person who asked."""
    project = deferral.unknown.milestone.project
    return project.principal_engineer_id == user.pk and deferral.requested_by_id != user.pk


def _may_review(user: User, review) -> bool:
    milestone = review.milestone
    return _may_discuss(user, milestone) or review.invitees.filter(pk=user.pk).exists()


def _is_comment_author(user: User, comment: Comment) -> bool:
    return comment.author_id == user.pk


def _may_resolve_comment(user: User, comment: Comment) -> bool:
    return _is_comment_author(user, comment) or _is_milestone_tech_lead(
        user, comment.review.milestone
    )


_RULES: dict[Action, tuple[Callable[[Any, Any], bool], str]] = {
    Action.MANAGE_MEMBERS: (_is_squad_tech_lead, "Only the squad's tech leads manage members."),
    Action.EDIT_SQUAD_SETTINGS: (
        _is_squad_tech_lead,
        "Only the squad's tech leads change its settings.",
    ),
    Action.CREATE_PROJECT: (_is_squad_tech_lead, "Only the squad's tech leads create projects."),
    Action.EDIT_PROJECT: (
        _may_edit_project,
        "Only the project's tech lead or the squad's tech leads edit a project.",
    ),
    Action.CREATE_MILESTONE: (
        _may_create_milestone,
        "Only the project's tech lead or the squad's tech leads create milestones.",
    ),
    Action.EDIT_MILESTONE: (
        _may_edit_milestone,
        "Only the milestone's tech lead or the squad's tech leads edit a milestone.",
    ),
    Action.MOVE_PHASE: (_may_move, workflow.MOVE_REFUSAL),
    Action.EDIT_ARTIFACT: (
        _may_edit_artifact,
        "Engineers edit drafts; once an artifact is ready only the milestone's tech lead "
        "changes it.",
    ),
    Action.MARK_ARTIFACT: (
        _may_mark_artifact,
        "Only the milestone's tech lead marks artifacts ready or decides which are needed.",
    ),
    Action.EDIT_UNKNOWN: (_is_squad_member, "Only squad members add and change unknowns."),
    Action.DISCUSS_UNKNOWN: (
        _may_discuss,
        "Only squad members and the principal engineer discuss unknowns.",
    ),
    Action.REQUEST_DEFERRAL: (
        _is_milestone_tech_lead,
        "Only the milestone's tech lead asks to defer an unknown.",
    ),
    Action.RUN_MEETINGS: (
        _is_milestone_tech_lead,
        "Only the milestone's tech lead schedules, holds and closes reviews and meetings.",
    ),
    Action.DECIDE_DEFERRAL: (
        _may_decide_deferral,
        "Only the project's principal engineer decides a deferral, and never the one who asked.",
    ),
    Action.REVIEW: (
        _may_review,
        "Only the squad, its principal engineer and invited guests review.",
    ),
    Action.EDIT_COMMENT: (_is_comment_author, "Only its author edits a comment."),
    Action.RESOLVE_COMMENT: (
        _may_resolve_comment,
        "Its author or the milestone's tech lead resolves a comment.",
    ),
    Action.TAKE_PART: (
        _is_squad_member,
        "Only squad members raise concerns and work on stories.",
    ),
}


def can(user: User, action: Action, obj: Any) -> bool:
    if not user.is_authenticated:
        return False
    predicate, _ = _RULES[action]
    return predicate(user, obj)


def require(user: User, action: Action, obj: Any) -> None:
    """Raise PermissionDenied, with the reason, unless the user may do `action` to `obj`."""
    if not can(user, action, obj):
        raise PermissionDenied(_RULES[action][1])
