from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.http import AuthenticatedRequest
from config.inputs import safe_next
from config.staticfiles import import_map
from planning import services
from planning.diffs import diff_lines, diff_stats
from planning.exceptions import EditConflict
from planning.forms import ArtifactBodyForm, ArtifactNeedForm
from planning.markdown import render_markdown
from planning.models import Artifact
from squads import access
from squads.access import Action
from squads.views import add_service_errors

PREVIEW_LIMIT = 200_000  # characters; a preview of more is refused, not attempted
# The need form's answer for each decision; none yet while undecided.
NEEDED_ANSWERS: dict[bool | None, str] = {True: "yes", False: "no"}


def _artifact(
    request: AuthenticatedRequest,
    squad_slug: str,
    project_slug: str,
    number: int,
    kind: str,
    *,
    with_guest: bool = False,
) -> Artifact:
    milestone = access.get_milestone_for(
        request.user, squad_slug, project_slug, number, with_guest=with_guest
    )
    return access.get_artifact_for(request.user, milestone, kind)


EDITOR_FORM_ID = "artifact-editor"


def _draft_prefix(request: AuthenticatedRequest, artifact: Artifact) -> str:
    # Drafts in the browser's storage are kept per person, milestone and artifact,
    # and per revision the text started from (static/js/artifact-editor.js).
    return f"squad-planner:draft:{request.user.pk}:{artifact.milestone_id}:{artifact.kind}"


def _same_text(typed: str | None, saved: str) -> bool:
    # Browsers send a textarea's line breaks as CRLF; the saved text has LF.
    return (typed or "").replace("\r\n", "\n") == saved


def _editor_context(
    request: AuthenticatedRequest, artifact: Artifact, form: ArtifactBodyForm, **extra: Any
) -> dict[str, Any]:
    milestone = artifact.milestone
    body = form["body"].value() if form.is_bound else services.starting_text(artifact)
    may_edit = extra.pop("may_edit", None) or access.can(
        request.user, Action.EDIT_ARTIFACT, artifact
    )
    need_form = extra.pop("need_form", None) or ArtifactNeedForm(
        initial={
            "needed": NEEDED_ANSWERS.get(artifact.needed),
            "not_needed_reason": artifact.not_needed_reason,
        }
    )
    if may_edit:
        # The need decision is sent with the editor's form, so that the text typed
        # so far goes along and comes back unsaved rather than being thrown away.
        for field in need_form.fields.values():
            field.widget.attrs["form"] = EDITOR_FORM_ID
    return {
        "artifact": artifact,
        "milestone": milestone,
        "project": milestone.project,
        "squad": milestone.project.squad,
        "form": form,
        "preview": render_markdown(body or "", cached=False),
        "may_edit": may_edit,
        "may_mark": access.can(request.user, Action.MARK_ARTIFACT, artifact),
        "need_form": need_form,
        "editor_form_id": EDITOR_FORM_ID,
        # The text on the page is not the saved one: a refused save, a preview without
        # JavaScript, or a need decision sent along with typed text.
        "unsaved": form.is_bound and not _same_text(body, services.starting_text(artifact)),
        "draft_prefix": _draft_prefix(request, artifact),
        "import_map": import_map(),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def artifact_edit(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, kind: str
) -> HttpResponse:
    # Guests of a review read the artifacts; everything else about them is the squad's.
    artifact = _artifact(
        request, squad_slug, project_slug, number, kind, with_guest=request.method == "GET"
    )
    if request.method == "GET":
        form = ArtifactBodyForm(
            initial={"body": services.starting_text(artifact), "base_revision": artifact.revision}
        )
        return render(
            request, "planning/artifact_edit.html", _editor_context(request, artifact, form)
        )

    access.require(request.user, Action.EDIT_ARTIFACT, artifact)
    form = ArtifactBodyForm(request.POST)
    if not form.is_valid() or request.POST.get("action") == "preview":
        # Preview without JavaScript, or a form that lost its revision: show it again as typed.
        return render(
            request, "planning/artifact_edit.html", _editor_context(request, artifact, form)
        )
    try:
        saved = services.save_artifact_body(
            request.user,
            artifact,
            body=form.cleaned_data["body"],
            base_revision=form.cleaned_data["base_revision"],
        )
    except EditConflict as conflict:
        return _conflict(request, conflict)
    except PermissionDenied as refusal:
        # Keep what they typed on the page: it was refused, not lost.
        form.add_error(None, f"{refusal} Your text is kept below; copy it before leaving.")
        context = _editor_context(request, artifact, form, may_edit=True)
        return render(request, "planning/artifact_edit.html", context, status=403)
    except ValidationError as error:
        add_service_errors(form, error)
        return render(
            request, "planning/artifact_edit.html", _editor_context(request, artifact, form)
        )
    if saved.revision == artifact.revision:
        messages.info(request, "Nothing changed, so no new revision was made.")
    else:
        messages.success(request, f"Saved as revision {saved.revision}.")
    return redirect(saved.get_absolute_url())


def _conflict(request: AuthenticatedRequest, conflict: EditConflict) -> HttpResponse:
    current = conflict.current
    theirs = current.body
    mine = conflict.attempted_body
    lines = diff_lines(theirs, mine)
    added, removed = diff_stats(lines)
    form = ArtifactBodyForm(initial={"body": mine, "base_revision": current.revision})
    context = {
        "artifact": current,
        "milestone": current.milestone,
        "project": current.milestone.project,
        "squad": current.milestone.project.squad,
        "conflict": conflict,
        "form": form,
        "current_html": render_markdown(theirs),
        "diff": lines,
        "added": added,
        "removed": removed,
        "latest_author": current.revisions.select_related("author").first(),
        # The same editor as the artifact's page, the text unsaved and kept as a draft.
        "editor_form_id": EDITOR_FORM_ID,
        "draft_prefix": _draft_prefix(request, current),
        "import_map": import_map(),
    }
    return render(request, "planning/artifact_conflict.html", context, status=409)


@login_required
@require_POST
def artifact_preview(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, kind: str
) -> HttpResponse:
    _artifact(request, squad_slug, project_slug, number, kind)
    body = request.POST.get("body", "")
    if len(body) > PREVIEW_LIMIT:
        return HttpResponse(
            '<p class="alert alert-error">This text is too long to preview.</p>', status=200
        )
    return render(
        request,
        "planning/artifact_edit.html#preview",
        {"preview": render_markdown(body, cached=False)},
    )


@login_required
@require_POST
def artifact_status(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, kind: str
) -> HttpResponse:
    artifact = _artifact(request, squad_slug, project_slug, number, kind)
    access.require(request.user, Action.MARK_ARTIFACT, artifact)
    status = request.POST.get("status", "")
    try:
        artifact = services.mark_artifact(request.user, artifact, status)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"{artifact.get_kind_display()} is {artifact.get_status_display().lower()}."
        )
    return HttpResponseRedirect(
        safe_next(request, request.POST.get("next")) or artifact.get_absolute_url()
    )


@login_required
@require_POST
def artifact_need(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, kind: str
) -> HttpResponse:
    artifact = _artifact(request, squad_slug, project_slug, number, kind)
    access.require(request.user, Action.MARK_ARTIFACT, artifact)
    need_form = ArtifactNeedForm(request.POST)
    # The editor's text comes along when the decision is sent from the editor's form;
    # unsaved, it is shown again as typed, not saved with the decision nor thrown away.
    typed = "body" in request.POST and not _same_text(
        request.POST["body"], services.starting_text(artifact)
    )
    form = (
        ArtifactBodyForm(request.POST)
        if typed
        else ArtifactBodyForm(
            initial={"body": services.starting_text(artifact), "base_revision": artifact.revision}
        )
    )
    if need_form.is_valid():
        try:
            artifact = services.decide_artifact_need(
                request.user,
                artifact,
                needed=need_form.cleaned_data["needed"],
                reason=need_form.cleaned_data["not_needed_reason"],
            )
        except ValidationError as error:
            add_service_errors(need_form, error)
        else:
            if not typed:
                messages.success(request, "The decision is saved.")
                return redirect(artifact.get_absolute_url())
            messages.success(request, "The decision is saved. Your text is not saved yet.")
            context = _editor_context(request, artifact, form)
            return render(request, "planning/artifact_edit.html", context)
    context = _editor_context(request, artifact, form, need_form=need_form)
    return render(request, "planning/artifact_edit.html", context, status=400)


@login_required
def artifact_history(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, kind: str
) -> HttpResponse:
    artifact = _artifact(request, squad_slug, project_slug, number, kind)
    revisions = artifact.revisions.select_related("author").defer("body").order_by("-number")
    page = Paginator(revisions, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "planning/artifact_history.html",
        {
            "artifact": artifact,
            "milestone": artifact.milestone,
            "project": artifact.milestone.project,
            "revisions": page.object_list,
            "page": page,
        },
    )


def _revision_number(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        raise Http404("No such revision.") from None


@login_required
def artifact_diff(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, kind: str
) -> HttpResponse:
    artifact = _artifact(request, squad_slug, project_slug, number, kind)
    new_number = _revision_number(request.GET.get("b"), artifact.revision)
    old_number = _revision_number(request.GET.get("a"), max(new_number - 1, 0))
    if old_number > new_number:
        old_number, new_number = new_number, old_number
    bodies = dict(
        artifact.revisions.filter(number__in=[old_number, new_number]).values_list("number", "body")
    )
    if new_number not in bodies or (old_number != 0 and old_number not in bodies):
        raise Http404("No such revision.")
    lines = diff_lines(bodies.get(old_number, ""), bodies[new_number])
    added, removed = diff_stats(lines)
    return render(
        request,
        "planning/artifact_diff.html",
        {
            "artifact": artifact,
            "milestone": artifact.milestone,
            "project": artifact.milestone.project,
            "old_number": old_number,
            "new_number": new_number,
            "diff": lines,
            "added": added,
            "removed": removed,
            "numbers": list(
                artifact.revisions.order_by("-number").values_list("number", flat=True)
            ),
        },
    )
