"""Who may see what, and who may do what: the one place that answers both.

Views and services fetch objects through the `*_for` / `get_*_for` functions,
so an object the user may not see does not exist for them (404, never 403).
`require` then checks an action on an object the user can see, and raises
PermissionDenied (403) with a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Model, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from config.inputs import LARGEST_ID, parse_id
from planning import workflow
from squads.models import Membership, Squad

if TYPE_CHECKING:
    from accounts.models import User
    from notifications.models import Notification
    from planning.models import (
        Artifact,
        Comment,
        Concern,
        DeferralRequest,
        DesignReview,
        Milestone,
        Project,
        Story,
        Subtask,
        Unknown,
        Verdict,
    )


# A row of any model that access fetches: what goes in comes out.
_Row = TypeVar("_Row", bound=Model)


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
    DISMISS_VERDICT = "dismiss_verdict"
    MARK_BLOCKING = "mark_blocking"
    OVERRULE_COMMENT = "overrule_comment"
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


def overseen_projects_for(user: User) -> QuerySet[Project]:
    """The projects the user is the principal engineer of, whichever squads they belong to."""
    from planning.models import Project

    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(principal_engineer=user)


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

    return _visible_milestone(user, _with_id(Milestone.objects.all(), pk), with_guest=with_guest)


def _visible_milestone(
    user: User, milestones: QuerySet[Milestone], *, with_guest: bool
) -> Milestone:
    """The one milestone of `milestones` if the user may see it; 404 otherwise."""
    return _seen_with_milestone(user, milestones, "", "No such milestone.", with_guest=with_guest)


def _seen_with_milestone(
    user: User, rows: QuerySet[_Row], milestone_at: str, missing: str, *, with_guest: bool
) -> _Row:
    """The one row of `rows` if the user may see the milestone at `milestone_at`; 404 otherwise.

    `milestone_at` is the path from the row to its milestone ("" for a milestone,
    "story__milestone" for a sub-task). One query for the row, its milestone and
    the user's role in its squad, which `role_in` then remembers for the rest of
    the request; only someone outside the squad costs one more query, for their
    review invitations.
    """
    to_milestone = f"{milestone_at}__" if milestone_at else ""
    rows = rows.select_related(
        f"{to_milestone}project__squad",
        f"{to_milestone}project__principal_engineer",
        f"{to_milestone}tech_lead",
    )
    row = _with_viewer_role(rows, user, f"{to_milestone}project__squad_id").first()
    if row is None:
        raise Http404(missing)
    milestone = _follow(row, milestone_at)
    _remember_role(user, milestone.project.squad_id, row)
    if not _may_see_milestone(user, milestone, with_guest=with_guest):
        raise Http404(missing)
    return row


def _follow(row: Any, path: str) -> Any:
    """The object at a `__` path from `row` ("review__milestone"); `row` itself for ""."""
    for step in filter(None, path.split("__")):
        row = getattr(row, step)
    return row


def get_review_for(
    user: User, squad_slug: str, project_slug: str, number: int, round: int
) -> DesignReview:
    """A review round, with its milestone, for a member, the principal or an invited guest.

    One query, as for `get_milestone_for`; a guest invited to another round
    of the milestone gets 404 as well.
    """
    from planning.models import DesignReview

    return _seen_with_review(
        user,
        DesignReview.objects.filter(
            milestone__project__squad__slug=squad_slug,
            milestone__project__slug=project_slug,
            milestone__number=number,
            round=round,
        ),
        "",
        "No such review.",
    )


def _seen_with_review(user: User, rows: QuerySet[_Row], review_at: str, missing: str) -> _Row:
    """The one row of `rows` if the user may see the review at `review_at`; 404 otherwise.

    Squad members and the principal engineer see every round of the milestone;
    a guest only the round they are invited to.
    """
    milestone_at = f"{review_at}__milestone" if review_at else "milestone"
    row = _seen_with_milestone(user, rows, milestone_at, missing, with_guest=True)
    if not can(user, Action.REVIEW, _follow(row, review_at)):
        raise Http404(missing)
    return row


def _with_viewer_role(queryset: QuerySet[_Row], user: User, squad_field: str) -> QuerySet[_Row]:
    """`queryset` with the user's role in the squad at `squad_field` as `viewer_role`."""
    if not user.is_authenticated:
        return queryset
    role = Membership.objects.filter(squad_id=OuterRef(squad_field), user_id=user.pk)
    return queryset.annotate(viewer_role=Subquery(role.values("role")[:1]))


def _remember_role(user: User, squad_id: int, fetched: Any) -> None:
    """Keep the role fetched with an object (its `viewer_role`), so that `role_in` asks no query for it."""
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
    if kind not in workflow.ARTIFACT_KINDS:  # not even worth a query (a NUL would fail it)
        raise Http404("No such artifact.")
    artifact = milestone.artifacts.select_related("updated_by").filter(kind=kind).first()
    if artifact is None:
        raise Http404("No such artifact.")
    artifact.milestone = milestone
    return artifact


def get_unknown_for(user: User, milestone: Milestone, key: str) -> Unknown:
    """An unknown by its key (U-3) within a milestone fetched through `get_milestone_for`."""
    number = parse_id(key.upper().removeprefix("U-"))
    if number is None:
        raise Http404("No such unknown.")
    unknown = (
        milestone.unknowns.select_related("owner", "from_verdict__reviewer", "from_verdict__review")
        .filter(number=number)
        .first()
    )
    if unknown is None:
        raise Http404("No such unknown.")
    unknown.milestone = milestone
    return unknown


def deferrals_for(user: User) -> QuerySet[DeferralRequest]:
    """Deferral requests of the unknowns the user may see."""
    from planning.models import DeferralRequest

    return DeferralRequest.objects.filter(unknown__milestone__in=milestones_for(user))


# By id, as the API names objects -------------------------------------------------
# Each object named in an API URL is fetched here, so what the user may not see
# is a 404, the same as for an id that does not exist.


def _with_id(rows: QuerySet[_Row], pk: int) -> QuerySet[_Row]:
    """`rows` narrowed to the id `pk`; empty for a number that cannot be an id."""
    return rows.filter(pk=pk) if 0 < pk <= LARGEST_ID else rows.none()


def _one(rows: QuerySet[_Row], missing: str) -> _Row:
    found = rows.first()
    if found is None:
        raise Http404(missing)
    return found


def get_milestone_id_for(user: User, pk: int) -> int:
    """The id `pk`, if it is a milestone the user may see without `with_guest` (a member of
    its squad or its project's principal engineer, as `projects_for` says); 404 otherwise.

    For a view that shows what hangs under a milestone and nothing of the milestone
    itself (the API's list of unknowns, which clients poll): one query by keys, where
    `get_milestone_by_id_for` builds one that loads the milestone with its project, squad
    and people, five times the cost. tests/test_fast_paths.py holds the two to the same
    answer for every kind of person.
    """
    from planning.models import Milestone, Project

    if not user.is_authenticated or not 0 < pk <= LARGEST_ID:
        raise Http404("No such milestone.")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT 1 FROM {_table(Milestone)} m JOIN {_table(Project)} p ON p.id = m.project_id
            WHERE m.id = %(milestone)s AND (
                p.principal_engineer_id = %(user)s
                OR EXISTS (SELECT 1 FROM {_table(Membership)} s
                           WHERE s.squad_id = p.squad_id AND s.user_id = %(user)s))
            """,
            {"milestone": pk, "user": user.pk},
        )
        if cursor.fetchone() is None:
            raise Http404("No such milestone.")
    return pk


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def get_project_by_id_for(user: User, pk: int) -> Project:
    """A project the user may see (as `projects_for` says), with their role in its squad."""
    projects = projects_for(user).select_related("squad", "tech_lead", "principal_engineer")
    project = _one(_with_id(_with_viewer_role(projects, user, "squad_id"), pk), "No such project.")
    _remember_role(user, project.squad_id, project)
    return project


def people_for(user: User) -> QuerySet[User]:
    """The people the user may look up, to add to a squad or invite to a review: all active."""
    from django.contrib.auth import get_user_model

    if not user.is_authenticated:
        return get_user_model().objects.none()
    return get_user_model().objects.filter(is_active=True)


def get_member_by_id_for(user: User, squad: Squad, pk: int) -> User:
    """A member of a squad already fetched through `get_squad_for`, by their user id."""
    from django.contrib.auth import get_user_model

    members = get_user_model().objects.filter(memberships__squad=squad)
    return _one(_with_id(members, pk), "No such member.")


def get_unknown_by_id_for(user: User, pk: int) -> Unknown:
    """An unknown of a milestone the user may see; never a guest's."""
    from planning.models import Unknown

    unknowns = _with_id(Unknown.objects.select_related("owner"), pk)
    return _seen_with_milestone(user, unknowns, "milestone", "No such unknown.", with_guest=False)


def get_deferral_by_id_for(user: User, pk: int) -> DeferralRequest:
    """A deferral request of an unknown the user may see (as `deferrals_for` says)."""
    from planning.models import DeferralRequest

    deferrals = _with_id(DeferralRequest.objects.select_related("unknown"), pk)
    return _seen_with_milestone(
        user, deferrals, "unknown__milestone", "No such deferral.", with_guest=False
    )


def get_review_by_id_for(user: User, pk: int) -> DesignReview:
    """A review round, as `get_review_for`: a guest reaches only the round they are invited to."""
    from planning.models import DesignReview

    return _seen_with_review(user, _with_id(DesignReview.objects.all(), pk), "", "No such review.")


def reviews_for(user: User, milestone: Milestone) -> QuerySet[DesignReview]:
    """The rounds of a milestone (fetched `with_guest`) that the user may see.

    All of them for the squad and the principal engineer; for a guest, the
    rounds they are invited to.
    """
    reviews = milestone.reviews.all()
    if is_guest(user, milestone):
        reviews = reviews.filter(invitees=user)
    return reviews


def reviews_in_for(user: User) -> QuerySet[DesignReview]:
    """Every review round the user takes part in: those of the projects they see, and those they are invited to."""
    from planning.models import DesignReview

    if not user.is_authenticated:
        return DesignReview.objects.none()
    return DesignReview.objects.filter(
        Q(milestone__project__in=projects_for(user)) | Q(invitees=user)
    ).distinct()


def get_comment_by_id_for(user: User, pk: int) -> Comment:
    """A review comment, for whoever may see its review round (a guest: their own round only)."""
    from planning.models import Comment

    comments = _with_id(Comment.objects.select_related("author", "overruled_by"), pk)
    return _seen_with_review(user, comments, "review", "No such comment.")


def get_verdict_by_id_for(user: User, pk: int) -> Verdict:
    """A review verdict, for whoever may see its review round (a guest: their own round only)."""
    from planning.models import Verdict

    verdicts = _with_id(Verdict.objects.select_related("reviewer", "review"), pk)
    return _seen_with_review(user, verdicts, "review", "No such verdict.")


def get_concern_by_id_for(user: User, pk: int) -> Concern:
    """A kick-off concern of a milestone the user may see; never a guest's."""
    from planning.models import Concern

    concerns = _with_id(Concern.objects.select_related("raised_by", "answered_by"), pk)
    return _seen_with_milestone(user, concerns, "milestone", "No such concern.", with_guest=False)


def get_story_by_id_for(user: User, pk: int) -> Story:
    """A story of a milestone the user may see; never a guest's."""
    from planning.models import Story

    stories = _with_id(Story.objects.select_related("assignee"), pk)
    return _seen_with_milestone(user, stories, "milestone", "No such story.", with_guest=False)


def get_subtask_by_id_for(user: User, pk: int) -> Subtask:
    """A sub-task of a story the user may see; never a guest's."""
    from planning.models import Subtask

    subtasks = _with_id(Subtask.objects.select_related("assignee"), pk)
    return _seen_with_milestone(
        user, subtasks, "story__milestone", "No such sub-task.", with_guest=False
    )


def notifications_for(user: User) -> QuerySet[Notification]:
    """The user's own notifications: nobody else's, whatever their role."""
    from notifications.models import Notification

    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user)


def get_notification_by_id_for(user: User, pk: int) -> Notification:
    """One of the user's own notifications; someone else's is a 404, as a missing one."""
    return _one(_with_id(notifications_for(user), pk), "No such notification.")


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


def _may_review(user: User, review: DesignReview) -> bool:
    milestone = review.milestone
    return _may_discuss(user, milestone) or review.invitees.filter(pk=user.pk).exists()


def _is_comment_author(user: User, comment: Comment) -> bool:
    return comment.author_id == user.pk


def _may_resolve_comment(user: User, comment: Comment) -> bool:
    """Its author, or the milestone's tech lead; a blocking comment its author alone (DESIGN §8)."""
    if _is_comment_author(user, comment):
        return True
    return not comment.blocking and _is_milestone_tech_lead(user, comment.review.milestone)


def _is_counted_reviewer(user: User, review: DesignReview) -> bool:
    """Squad members and the project's principal engineer: their verdicts count, guests' do not."""
    return _may_discuss(user, review.milestone)


def _is_principal_engineer(user: User, comment: Comment) -> bool:
    return comment.review.milestone.project.principal_engineer_id == user.pk


def _may_dismiss_verdict(user: User, verdict: Verdict) -> bool:
    return _is_milestone_tech_lead(user, verdict.review.milestone)


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
        "Its author or the milestone's tech lead resolves a comment; "
        "only its author resolves a blocking one.",
    ),
    Action.MARK_BLOCKING: (
        _is_counted_reviewer,
        "Only counted reviewers (squad members and the principal engineer) mark a comment blocking.",
    ),
    Action.OVERRULE_COMMENT: (
        _is_principal_engineer,
        "Only the project's principal engineer overrules a blocking comment.",
    ),
    Action.DISMISS_VERDICT: (
        _may_dismiss_verdict,
        "Only the milestone's tech lead dismisses a stale request for changes.",
    ),
    Action.TAKE_PART: (
        _is_squad_member,
        "Only squad members raise concerns and work on stories.",
    ),
}


def can(user: User, action: Action, obj: Model) -> bool:
    if not user.is_authenticated:
        return False
    predicate, _ = _RULES[action]
    return predicate(user, obj)


def require(user: User, action: Action, obj: Model) -> None:
    """Raise PermissionDenied, with the reason, unless the user may do `action` to `obj`."""
    if not can(user, action, obj):
        raise PermissionDenied(_RULES[action][1])
