from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from config.http import AuthenticatedRequest
from config.inputs import text_problem
from planning import services, workflow
from planning.exceptions import GuardRefused
from planning.forms import MilestoneForm, MoveBackForm
from planning.fragments import page_content
from planning.models import DesignReview, KickoffMeeting, Milestone
from planning.services.decisions import decisions
from planning.state import (
    AROUND_MILESTONE,
    UNKNOWNS_OF_MILESTONE,
    CachedPage,
    Rows,
    milestone_params,
)
from planning.workflow import ON_NEED_KINDS, FixedOn, Phase, Unmet
from squads import access
from squads.access import Action
from squads.views import add_service_errors

TIMELINE_ON_PAGE = 15
# The latest decisions on the page; the design packet holds them all.
DECISIONS_ON_PAGE = 25


@login_required
@require_http_methods(["GET", "POST"])
def milestone_create(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str
) -> HttpResponse:
    project = access.get_project_for(request.user, squad_slug, project_slug)
    access.require(request.user, Action.CREATE_MILESTONE, project)
    form = MilestoneForm(
        request.POST or None, project=project, initial={"tech_lead": project.tech_lead}
    )
    if request.method == "POST" and form.is_valid():
        try:
            milestone = services.create_milestone(request.user, project, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Milestone {milestone.number} is created.")
            return redirect(milestone)
    return render(request, "planning/milestone_form.html", {"form": form, "project": project})


@login_required
@require_http_methods(["GET", "POST"])
def milestone_edit(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = access.get_milestone_for(request.user, squad_slug, project_slug, number)
    access.require(request.user, Action.EDIT_MILESTONE, milestone)
    form = MilestoneForm(
        request.POST or None, project=milestone.project, instance=copy.copy(milestone)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_milestone(request.user, milestone, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The milestone is saved.")
            return redirect(milestone)
    return render(
        request,
        "planning/milestone_form.html",
        {"form": form, "project": milestone.project, "milestone": milestone},
    )


def _phase_steps(milestone: Milestone) -> list[dict[str, str | int]]:
    current = milestone.phase_index
    # Reaching the last phase completes it: Done shows a tick, not a number.
    finished = milestone.phase == Phase.DONE
    return [
        {
            "value": value,
            "label": label,
            "number": index + 1,
            "state": "done"
            if index < current or finished
            else "current"
            if index == current
            else "todo",
        }
        for index, (value, label) in enumerate(Phase.choices)
    ]


# The part of the page each phase is about, shown first under its readiness.
FOCUS = {
    Phase.ARCHITECTURE: "artifacts",
    Phase.PROTOCOLS: "artifacts",
    Phase.DESIGN_SPEC: "artifacts",
    Phase.UNKNOWNS: "unknowns",
    Phase.DESIGN_REVIEW: "review",
    Phase.KICKOFF: "kickoff",
    Phase.TASK_BREAKOUT: "stories",
    Phase.DONE: "stories",
}


def _later_lines(items: list[Unmet]) -> list[str]:
    """What a later move asks, one short line per kind of thing rather than one per unknown."""
    keys: dict[str, list[str]] = {}
    lines = []
    for item in items:
        kind = item.code.split(":")[0]
        if item.unknown_key:
            keys.setdefault(kind, []).append(item.unknown_key)
        else:
            lines.append(item.message[0].lower() + item.message[1:].rstrip("."))
    for kind, found in keys.items():
        n, listed = len(found), ", ".join(found)
        if kind == "unknown_unsettled":
            lines.insert(0, f"{n} unknown{'s' if n != 1 else ''} to resolve or defer ({listed})")
        elif kind == "blocker_open":
            lines.insert(0, f"blocker{'s' if n != 1 else ''} {listed} handled")
        else:
            lines.append(f"an owner for {listed}")
    return lines


def fix_links(
    milestone: Milestone, unmet: list[Unmet], current_review: DesignReview | None
) -> list[tuple[Unmet, str]]:
    """Each missing item with the address of the page where it is put right ("" for none)."""
    kwargs = milestone.url_kwargs()
    pages = {
        FixedOn.REVIEW: current_review.get_absolute_url()
        if current_review
        else reverse("planning:review-schedule", kwargs=kwargs),
        FixedOn.KICKOFF: reverse("planning:kickoff", kwargs=kwargs),
        FixedOn.BREAKOUT: reverse("planning:breakout", kwargs=kwargs),
    }
    links = []
    for item in unmet:
        if item.fixed_on:
            url = pages[FixedOn(item.fixed_on)]
        elif item.artifact_kind:
            url = reverse("planning:artifact-edit", kwargs={**kwargs, "kind": item.artifact_kind})
        elif item.unknown_key:
            url = reverse("planning:unknown-detail", kwargs={**kwargs, "key": item.unknown_key})
        else:
            url = ""
        links.append((item, url))
    return links


def milestone_context(
    request: AuthenticatedRequest, milestone: Milestone, **extra: Any
) -> dict[str, Any]:
    from planning.forms import UnknownAddForm
    from planning.views.unknowns import unknown_rows_html, unknowns_table

    artifacts = list(milestone.artifacts.select_related("updated_by").order_by("id"))
    for artifact in artifacts:
        artifact.milestone = milestone
    table = unknowns_table(milestone)
    reviews = list(milestone.reviews.order_by("-round"))
    stories = list(
        milestone.stories.select_related("assignee")
        .annotate(
            subtask_count=Count("subtasks"),
            subtasks_done=Count("subtasks", filter=Q(subtasks__done=True)),
        )
        .order_by("number")
    )
    facts = services.milestone_facts(
        milestone, artifacts=artifacts, unknowns=table["unknowns"], reviews=reviews, stories=stories
    )
    readiness = services.readiness(milestone, facts)
    earlier = [(p, Phase(p).label) for p in workflow.earlier_phases(milestone.phase)]
    approved = next((r for r in reviews if r.outcome == DesignReview.Outcome.APPROVED), None)
    for artifact in artifacts:
        artifact.changed_since_review = approved is not None and workflow.changed_since_review(
            approved.reviewed_revisions, artifact.kind, artifact.revision
        )
    activities = list(
        milestone.activities.only("milestone_id", "verb", "summary", "created_at").order_by(
            "-created_at", "-id"
        )[: TIMELINE_ON_PAGE + 1]
    )
    log = decisions(milestone)
    may_add = access.can(request.user, Action.EDIT_UNKNOWN, milestone)
    may_run = access.can(request.user, Action.MOVE_PHASE, milestone)
    current_review = next((r for r in reviews if r.status != DesignReview.Status.CLOSED), None)
    latest_review = reviews[0] if reviews else None
    focus = FOCUS[Phase(milestone.phase)]
    if focus == "kickoff":
        # Only the kick-off phase shows the concerns themselves; other phases link to them.
        extra.setdefault(
            "kickoff_meeting", KickoffMeeting.objects.filter(milestone=milestone).first()
        )
        extra.setdefault(
            "concerns",
            list(milestone.concerns.select_related("raised_by").order_by("-status", "created_at")),
        )
    return {
        "focus": focus,
        "later": [
            (Phase(phase).label, _later_lines(items)) for phase, items in workflow.later_asks(facts)
        ],
        # The Unknowns phase is about listing them: none listed is no reason for a tick.
        "no_unknowns_yet": milestone.phase == Phase.UNKNOWNS and not table["unknowns"],
        "latest_review": latest_review,
        # A review approved is the end of reviewing; another round follows only a refusal.
        "offer_review": may_run
        and current_review is None
        and not (latest_review and latest_review.outcome == DesignReview.Outcome.APPROVED),
        "unsettled_count": sum(1 for u in table["unknowns"] if not u.is_settled),
        "artifacts_settled": sum(1 for a in artifacts if a.is_ready or a.is_waived),
        **table,
        "rows_html": unknown_rows_html(milestone, table["unknowns"], may_add=may_add),
        "add_form": extra.pop("add_form", None) or UnknownAddForm(milestone=milestone),
        "may_add": may_add,
        "back": "milestone",
        "milestone": milestone,
        "project": milestone.project,
        "squad": milestone.project.squad,
        "steps": _phase_steps(milestone),
        "readiness": readiness,
        "unmet_links": fix_links(milestone, readiness["unmet"], current_review),
        "next_phase_label": Phase(readiness["next_phase"]).label
        if readiness["next_phase"]
        else None,
        "artifacts": artifacts,
        "required_artifacts": [a for a in artifacts if a.kind not in ON_NEED_KINDS],
        "on_need_artifacts": [a for a in artifacts if a.kind in ON_NEED_KINDS],
        "may_move": access.can(request.user, Action.MOVE_PHASE, milestone),
        "may_edit": access.can(request.user, Action.EDIT_MILESTONE, milestone),
        "move_back_form": extra.pop("move_back_form", None)
        or (MoveBackForm(phases=earlier) if earlier else None),
        "reviews": reviews,
        "current_review": current_review,
        "may_run": may_run,
        "stories": stories,
        "activities": activities[:TIMELINE_ON_PAGE],
        "more_activities": len(activities) > TIMELINE_ON_PAGE,
        "decisions": log[-DECISIONS_ON_PAGE:],
        "earlier_decisions": max(0, len(log) - DECISIONS_ON_PAGE),
        **extra,
    }


@login_required
@vary_on_headers("HX-Request", "HX-Target")
def milestone_detail(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = access.get_milestone_for(
        request.user, squad_slug, project_slug, number, with_guest=True
    )
    if access.is_guest(request.user, milestone):
        return render(request, "planning/milestone_guest.html", guest_context(request, milestone))
    if request.htmx and request.htmx.target == "readiness":
        # The readiness panel refreshes itself after a change elsewhere on the page.
        return render(
            request,
            "planning/includes/milestone_content.html#readiness",
            milestone_context(request, milestone),
        )
    return render(
        request,
        "planning/milestone_detail.html",
        {"milestone": milestone, "content_html": milestone_content_html(request, milestone)},
    )


# Every row `milestone_context` shows: the page is cached under their fingerprint.
MILESTONE_PAGE = CachedPage(
    "milestone",
    *AROUND_MILESTONE,
    Rows("planning.Unknown", "milestone_id = %(m)s", people=("owner_id",)),
    Rows("planning.DeferralRequest", f"unknown_id IN ({UNKNOWNS_OF_MILESTONE})"),
    Rows("planning.DesignReview", "milestone_id = %(m)s"),
    Rows("planning.KickoffMeeting", "milestone_id = %(m)s"),
    Rows("planning.Concern", "milestone_id = %(m)s"),
    Rows("planning.BreakoutSession", "milestone_id = %(m)s"),
    Rows("planning.Story", "milestone_id = %(m)s", people=("assignee_id",)),
    Rows(
        "planning.Subtask", "story_id IN (SELECT id FROM planning_story WHERE milestone_id = %(m)s)"
    ),
    Rows("planning.Activity", "milestone_id = %(m)s", log=True),
    params=milestone_params,
)


def milestone_content_html(request: AuthenticatedRequest, milestone: Milestone) -> str:
    """The page's content as it stands, from the cache while nothing on it changed.

    The day is in the key too: it decides what is overdue.
    """
    return page_content(
        request,
        MILESTONE_PAGE,
        milestone,
        "planning/includes/milestone_content.html",
        lambda: milestone_context(request, milestone),
        timezone.localdate(),
    )


def guest_context(request: AuthenticatedRequest, milestone: Milestone) -> dict[str, Any]:
    """A guest sees the milestone's goal, its artifacts and the reviews they are invited to."""
    return {
        "milestone": milestone,
        "project": milestone.project,
        "squad": milestone.project.squad,
        "artifacts": [a for a in milestone.artifacts.order_by("id") if not a.is_waived],
        "reviews": list(milestone.reviews.filter(invitees=request.user).order_by("-round")),
    }


@login_required
@require_POST
def milestone_transition(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = access.get_milestone_for(request.user, squad_slug, project_slug, number)
    access.require(request.user, Action.MOVE_PHASE, milestone)
    to = request.POST.get("to", "")
    note = request.POST.get("note", "")
    if to == milestone.phase:
        # A second click on a move that already happened: say where it stands.
        messages.info(request, f"The milestone is already in {Phase(to).label}.")
        return redirect(milestone)
    if text_problem(note, multiline=True):
        # The note goes on the timeline: the form's text rule says why it is refused.
        return _move_back_refused(request, milestone)
    try:
        moved = services.transition(request.user, milestone, to, note)
    except GuardRefused as refusal:
        context = milestone_context(request, milestone, refusal=refusal)
        return render(request, "planning/milestone_detail.html", context, status=409)
    except ValidationError as error:
        return _move_back_refused(request, milestone, error)
    messages.success(request, f"The milestone is now in {Phase(moved.phase).label}.")
    return redirect(moved)


def _move_back_refused(
    request: AuthenticatedRequest, milestone: Milestone, error: ValidationError | None = None
) -> HttpResponse:
    """The milestone page with the move-back form open, as typed, saying what is wrong (400)."""
    earlier = [(p, Phase(p).label) for p in workflow.earlier_phases(milestone.phase)]
    form = MoveBackForm(request.POST, phases=earlier)
    form.is_valid()
    if error is not None:
        add_service_errors(form, error)
    context = milestone_context(request, milestone, move_back_form=form, move_back_open=True)
    return render(request, "planning/milestone_detail.html", context, status=400)


@login_required
def milestone_timeline(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = access.get_milestone_for(request.user, squad_slug, project_slug, number)
    activities = milestone.activities.select_related("actor").order_by("-created_at", "-id")
    page = Paginator(activities, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "planning/milestone_timeline.html",
        {"milestone": milestone, "project": milestone.project, "page": page},
    )
