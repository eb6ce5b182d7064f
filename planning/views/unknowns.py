from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, TypedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from config.http import AuthenticatedRequest
from config.inputs import text_problem
from planning import services
from planning.exceptions import DeferralConflict
from planning.forms import (
    DeferralDecisionForm,
    DeferralRequestForm,
    ResolveForm,
    UnknownAddForm,
    UnknownCommentForm,
    UnknownEditForm,
    UnknownRowForm,
)
from planning.fragments import cached_fragments, page_key, row_state
from planning.markdown import render_markdown
from planning.models import DeferralRequest, Milestone, Unknown
from planning.models.unknowns import priority_rank
from planning.state import CachedPage, Rows
from squads import access
from squads.access import Action
from squads.views import add_service_errors

SORTS = {
    "priority": ("priority_rank", "number"),
    "age": ("created_at", "number"),
    "due": (F("due_on").asc(nulls_last=True), "priority_rank", "number"),
}


def _milestone(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> Milestone:
    return access.get_milestone_for(request.user, squad_slug, project_slug, number)


# What a row of the table shows, and the guards read (services.milestone_facts).
ROW_FIELDS = [
    "milestone_id", "number", "title", "priority", "status", "owner_id", "vendor",
    "vendor_contacted_on", "due_on",
]  # fmt: skip


class UnknownsTable(TypedDict):
    """The unknowns a page lists, and the filters of the query string that picked them."""

    unknowns: list[Unknown]
    filters: dict[str, str]
    filtered: bool


def unknowns_table(milestone: Milestone, params: Mapping[str, str] | None = None) -> UnknownsTable:
    """The unknowns of a milestone, filtered and sorted as the query string asks."""
    params = params or {}
    unknowns = (
        milestone.unknowns.select_related("owner")
        .only(*ROW_FIELDS, "owner__username", "owner__full_name")
        .with_priority_rank()
    )
    status = params.get("status", "")
    if status in dict(Unknown.STATUS_FILTERS):
        unknowns = unknowns.with_status(status)
    priority = params.get("priority", "")
    if priority in Unknown.Priority.values:
        unknowns = unknowns.filter(priority=priority)
    owner = params.get("owner", "")
    if owner == "none":
        unknowns = unknowns.filter(owner__isnull=True)
    elif owner:
        # A username from the list; a value no one could type names no one.
        no_one = text_problem(owner) is not None
        unknowns = unknowns.none() if no_one else unknowns.filter(owner__username=owner)
    sort = params.get("sort", "priority")
    unknowns = unknowns.order_by(*SORTS.get(sort, SORTS["priority"]))
    rows: list[Unknown] = list(
        unknowns.annotate(
            deferral_pending=Exists(
                DeferralRequest.objects.filter(
                    unknown=OuterRef("pk"), status=DeferralRequest.Status.PENDING
                )
            )
        )
    )
    today = timezone.localdate()
    for unknown in rows:
        unknown.milestone = milestone
        unknown.overdue = bool(unknown.due_on and unknown.due_on < today and not unknown.is_settled)
    return {
        "unknowns": rows,
        "filters": {"status": status, "priority": priority, "owner": owner, "sort": sort},
        "filtered": bool(status or priority or owner),
    }


# The rows show what `unknowns_table` loads in its one query, which is their key.
UNKNOWN_ROWS = CachedPage(
    "unknown-rows",
    Rows("planning.Unknown", people=("owner_id",)),
    Rows("planning.DeferralRequest"),
)


def unknown_rows_html(milestone: Milestone, unknowns: list[Unknown], *, may_add: bool) -> str:
    """The table rows of `unknowns` (from `unknowns_table`), cached under all they show.

    The key holds every field a row shows, its owner's name, and what the
    rows compute (pending deferral, overdue), all loaded by the table's one
    query, so any change to what a row shows makes a new key. The rows hold no form and
    nothing of the viewer but whether they may edit, so everyone in the
    squad shares them.
    """
    shown = row_state(unknowns, ["id", *ROW_FIELDS], "deferral_pending", "overdue")
    key = page_key(
        UNKNOWN_ROWS, shown, viewer=None,
        extra=(milestone.pk, milestone.number, milestone.project.slug,
               milestone.project.squad.slug, may_add),
    )  # fmt: skip

    def render(missing: list[str]) -> dict[str, str]:
        context = {
            "unknowns": unknowns,
            "milestone": milestone,
            "project": milestone.project,
            "squad": milestone.project.squad,
            "may_add": may_add,
        }
        return {"rows": get_template("planning/includes/unknown_rows.html").render(context)}

    return cached_fragments({"rows": key}, render)["rows"]


def _list_context(
    request: AuthenticatedRequest, milestone: Milestone, **extra: Any
) -> dict[str, Any]:
    table = unknowns_table(milestone, request.GET)
    may_add = access.can(request.user, Action.EDIT_UNKNOWN, milestone)
    return {
        "milestone": milestone,
        "project": milestone.project,
        "squad": milestone.project.squad,
        "may_add": may_add,
        "add_form": extra.pop("add_form", None) or UnknownAddForm(milestone=milestone),
        "status_choices": Unknown.STATUS_FILTERS,
        "priority_choices": Unknown.Priority.choices,
        "owners": list(milestone.project.squad.members.order_by("username")),
        **table,
        "rows_html": unknown_rows_html(milestone, table["unknowns"], may_add=may_add),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def unknown_list(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    """The unknowns page; a POST adds one (from here or from the milestone page)."""
    milestone = _milestone(request, squad_slug, project_slug, number)
    if request.method == "GET":
        return render(request, "planning/unknown_list.html", _list_context(request, milestone))
    access.require(request.user, Action.EDIT_UNKNOWN, milestone)
    form = UnknownAddForm(request.POST, milestone=milestone)
    from_milestone = request.POST.get("back") == "milestone"
    added = None
    if form.is_valid():
        try:
            added = services.add_unknown(request.user, milestone, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
    if request.htmx:
        # The section in place: the new row with a word that it is added, or the form
        # with what was typed and why it was refused (200, so that htmx swaps it in).
        extra = {"added": added} if added else {"add_form": form}
        if from_milestone:
            from planning.views.milestones import milestone_context

            answer = render(
                request,
                "planning/includes/milestone_content.html#unknowns",
                milestone_context(request, milestone, **extra),
            )
        else:
            answer = render(
                request,
                "planning/unknown_list.html#unknowns",
                _list_context(request, milestone, **extra),
            )
        if added:
            trigger_client_event(answer, "unknownsChanged")
        return answer
    if added:
        messages.success(request, f"{added.key} is added.")
        return redirect(
            milestone.get_absolute_url() + "#unknowns" if from_milestone else request.path
        )
    return render(
        request, "planning/unknown_list.html", _list_context(request, milestone, add_form=form)
    )


def _unknown(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, key: str
) -> Unknown:
    milestone = _milestone(request, squad_slug, project_slug, number)
    return access.get_unknown_for(request.user, milestone, key)


def _detail_context(
    request: AuthenticatedRequest, unknown: Unknown, **extra: Any
) -> dict[str, Any]:
    milestone = unknown.milestone
    deferrals = list(unknown.deferrals.select_related("requested_by", "decided_by"))
    pending = next((d for d in deferrals if d.status == DeferralRequest.Status.PENDING), None)
    if pending is not None:
        pending.unknown = unknown
    return {
        "unknown": unknown,
        "milestone": milestone,
        "project": milestone.project,
        "squad": milestone.project.squad,
        "detail_html": render_markdown(unknown.detail),
        "comments": [
            (c, render_markdown(c.body)) for c in unknown.comments.select_related("author")
        ],
        "deferrals": deferrals,
        "pending_deferral": pending,
        "last_rejection": next(
            (d for d in deferrals if d.status == DeferralRequest.Status.REJECTED), None
        ),
        "may_edit": access.can(request.user, Action.EDIT_UNKNOWN, milestone),
        "may_discuss": access.can(request.user, Action.DISCUSS_UNKNOWN, milestone),
        "may_request_deferral": access.can(request.user, Action.REQUEST_DEFERRAL, milestone),
        "may_decide": pending is not None
        and access.can(request.user, Action.DECIDE_DEFERRAL, pending),
        "resolve_form": extra.pop("resolve_form", None) or ResolveForm(),
        "comment_form": extra.pop("comment_form", None) or UnknownCommentForm(),
        "deferral_form": extra.pop("deferral_form", None) or DeferralRequestForm(),
        "decision_form": DeferralDecisionForm(),
        **extra,
    }


@login_required
def unknown_detail(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, key: str
) -> HttpResponse:
    unknown = _unknown(request, squad_slug, project_slug, number, key)
    return render(request, "planning/unknown_detail.html", _detail_context(request, unknown))


@login_required
@require_http_methods(["GET", "POST"])
def unknown_edit(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, key: str
) -> HttpResponse:
    """Edit an unknown: the whole form on its own page, or a few fields in place (htmx)."""
    unknown = _unknown(request, squad_slug, project_slug, number, key)
    milestone = unknown.milestone
    access.require(request.user, Action.EDIT_UNKNOWN, milestone)
    inline = bool(request.htmx)
    form_class = UnknownRowForm if inline else UnknownEditForm
    form = form_class(request.POST or None, instance=copy.copy(unknown), milestone=milestone)
    if request.method == "POST" and form.is_valid():
        try:
            changes = {f: form.cleaned_data[f] for f in form.changed_data}
            unknown = services.update_unknown(request.user, unknown, **changes)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if inline:
                row = unknowns_table(milestone, {})
                unknown = next(u for u in row["unknowns"] if u.pk == unknown.pk)
                answer = render(
                    request, "planning/includes/unknown_row.html", _row_context(request, unknown)
                )
                # What is missing before the next phase may have changed (an owner, say).
                trigger_client_event(answer, "unknownsChanged")
                return answer
            messages.success(request, f"{unknown.key} is saved.")
            return redirect(unknown)
    if inline:
        return render(
            request,
            "planning/includes/unknown_row_form.html",
            {"unknown": unknown, "form": form, **_row_context(request, unknown)},
        )
    return render(
        request,
        "planning/unknown_edit.html",
        {"unknown": unknown, "milestone": milestone, "project": milestone.project, "form": form},
    )


def _row_context(request: AuthenticatedRequest, unknown: Unknown) -> dict[str, Any]:
    milestone = unknown.milestone
    return {
        "unknown": unknown,
        "milestone": milestone,
        "project": milestone.project,
        "squad": milestone.project.squad,
        "may_add": access.can(request.user, Action.EDIT_UNKNOWN, milestone),
    }


@login_required
@require_POST
def unknown_vendor_contact(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, key: str
) -> HttpResponse:
    """Record that the vendor was asked today: the row in place (htmx), or back to where it was."""
    unknown = _unknown(request, squad_slug, project_slug, number, key)
    milestone = unknown.milestone
    access.require(request.user, Action.EDIT_UNKNOWN, milestone)
    try:
        unknown = services.record_vendor_contact(request.user, unknown)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(unknown)
    if request.htmx:
        rows = unknowns_table(milestone, {})
        unknown = next(u for u in rows["unknowns"] if u.pk == unknown.pk)
        answer = render(
            request, "planning/includes/unknown_row.html", _row_context(request, unknown)
        )
        # A blocker waiting on a contacted vendor no longer holds the milestone back.
        trigger_client_event(answer, "unknownsChanged")
        return answer
    messages.success(request, f"{unknown.key}: contact with {unknown.vendor} recorded for today.")
    back = request.POST.get("back", "")
    if back == "milestone":
        return redirect(milestone.get_absolute_url() + "#unknowns")
    if back == "list":
        return redirect("planning:unknown-list", **milestone.url_kwargs())
    return redirect(unknown)


@login_required
@require_POST
def unknown_resolve(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, key: str
) -> HttpResponse:
    unknown = _unknown(request, squad_slug, project_slug, number, key)
    access.require(request.user, Action.EDIT_UNKNOWN, unknown.milestone)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.resolve_unknown(request.user, unknown, form.cleaned_data["resolution"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{unknown.key} is resolved.")
            return redirect(unknown)
    context = _detail_context(request, unknown, resolve_form=form, open_panel="resolve")
    return render(request, "planning/unknown_detail.html", context, status=400)


@login_required
@require_POST
def unknown_comment(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, key: str
) -> HttpResponse:
    unknown = _unknown(request, squad_slug, project_slug, number, key)
    access.require(request.user, Action.DISCUSS_UNKNOWN, unknown.milestone)
    form = UnknownCommentForm(request.POST)
    if form.is_valid():
        services.comment_on_unknown(request.user, unknown, form.cleaned_data["body"])
        return redirect(unknown.get_absolute_url() + "#discussion")
    context = _detail_context(request, unknown, comment_form=form)
    return render(request, "planning/unknown_detail.html", context, status=400)


@login_required
@require_POST
def deferral_request(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, key: str
) -> HttpResponse:
    unknown = _unknown(request, squad_slug, project_slug, number, key)
    access.require(request.user, Action.REQUEST_DEFERRAL, unknown.milestone)
    form = DeferralRequestForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.request_deferral(request.user, unknown, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        except DeferralConflict as conflict:
            form.add_error(None, str(conflict))
            status = 409
        else:
            messages.success(request, "The deferral request is sent to the principal engineer.")
            return redirect(unknown)
    context = _detail_context(request, unknown, deferral_form=form, open_panel="defer")
    return render(request, "planning/unknown_detail.html", context, status=status)


def _approvals_context(request: AuthenticatedRequest, **extra: Any) -> dict[str, Any]:
    mine = access.deferrals_for(request.user).filter(
        unknown__milestone__project__principal_engineer=request.user
    )
    related = (
        "unknown__milestone__project__squad",
        "unknown__owner",
        "requested_by",
        "decided_by",
    )
    return {
        # Blockers first, then by priority; the oldest request first within one.
        "pending": list(
            mine.filter(status=DeferralRequest.Status.PENDING)
            .select_related(*related)
            .order_by(priority_rank("unknown__priority"), "created_at")
        ),
        "decided": list(
            mine.exclude(status=DeferralRequest.Status.PENDING)
            .select_related(*related)
            .order_by("-decided_at")[:20]
        ),
        **extra,
    }


def _cards(
    pending: list[DeferralRequest], bound: Mapping[int, DeferralDecisionForm]
) -> list[tuple[DeferralRequest, DeferralDecisionForm]]:
    """Each card with its own form, with ids of its own: a label in one card checks that card's radio."""
    return [
        (deferral, bound.get(deferral.pk) or DeferralDecisionForm(auto_id=decision_ids(deferral)))
        for deferral in pending
    ]


def decision_ids(deferral: DeferralRequest) -> str:
    return f"deferral-{deferral.pk}-%s"


@login_required
def approvals(request: AuthenticatedRequest) -> HttpResponse:
    """The principal engineer's queue: deferrals waiting for a decision, in every project."""
    context = _approvals_context(request)
    context["cards"] = _cards(context["pending"], {})
    return render(request, "planning/approvals.html", context)


@login_required
@require_POST
def deferral_decide(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    deferral = get_object_or_404(
        access.deferrals_for(request.user).select_related("unknown__milestone__project"), pk=pk
    )
    access.require(request.user, Action.DECIDE_DEFERRAL, deferral)
    form = DeferralDecisionForm(request.POST, auto_id=decision_ids(deferral))
    if form.is_valid():
        try:
            decided = services.decide_deferral(
                request.user,
                deferral,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except DeferralConflict as conflict:
            messages.error(request, str(conflict))
            return redirect("planning:approvals")
        else:
            messages.success(
                request,
                f"Deferral of {decided.unknown.key} {decided.get_status_display().lower()}.",
            )
            return redirect("planning:approvals")
    context = _approvals_context(request)
    context["cards"] = _cards(context["pending"], {deferral.pk: form})
    return render(request, "planning/approvals.html", context, status=400)
