from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.forms import BaseForm
from django.http import HttpResponse, HttpResponseBadRequest
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST

from config.http import AuthenticatedRequest
from config.inputs import parse_time
from planning import blocks, services, workflow
from planning.calendar import review_ics
from planning.exceptions import GuardRefused
from planning.forms import (
    CommentEditForm,
    CommentForm,
    DismissForm,
    InviteForm,
    ReviewForm,
    VerdictForm,
)
from planning.fragments import cached_fragments, page_content, page_key
from planning.markdown import render_markdown_many
from planning.models import Artifact, Comment, DesignReview, Milestone, Unknown, Verdict
from planning.state import AROUND_MILESTONE, CachedPage, Rows, review_params
from squads import access
from squads.access import Action
from squads.views import add_service_errors, refused

User = get_user_model()


def _milestone(
    request: AuthenticatedRequest,
    squad_slug: str,
    project_slug: str,
    number: int,
    *,
    with_guest: bool = False,
) -> Milestone:
    return access.get_milestone_for(
        request.user, squad_slug, project_slug, number, with_guest=with_guest
    )


def _review(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> DesignReview:
    return access.get_review_for(request.user, squad_slug, project_slug, number, round)


@login_required
@require_http_methods(["GET", "POST"])
def review_schedule(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.RUN_MEETINGS, milestone)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review = services.schedule_review(request.user, milestone, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, f"Design review {review.round} is scheduled; the squad is invited."
            )
            return redirect(review)
    return render(
        request,
        "planning/review_form.html",
        {"form": form, "milestone": milestone, "project": milestone.project},
        status=400 if form.errors else 200,
    )


def _threads(comments: list[Comment], artifacts: dict[str, Artifact]) -> dict[str, list[Comment]]:
    """Top-level comments by artifact kind ("" for general), each with its replies, and
    where each comment on a block shows now (`place`, or `outdated` when its text is gone)."""
    by_id = {c.pk: c for c in comments}
    bodies = render_markdown_many([c.body for c in comments], demote=2)
    current = {kind: blocks.split_blocks(a.body) for kind, a in artifacts.items()}
    for comment, html in zip(comments, bodies, strict=True):
        comment.thread_replies = []
        comment.html = html
        artifact = artifacts.get(comment.artifact_kind)
        comment.place = None
        if artifact is not None and comment.anchor_block is not None:
            comment.place = services.place_of(
                comment, artifact.revision, current[comment.artifact_kind]
            )
        comment.outdated = comment.anchor_block is not None and comment.place is None
    threads: dict[str, list[Comment]] = {}
    for comment in comments:
        if comment.parent_id and comment.parent_id in by_id:
            by_id[comment.parent_id].thread_replies.append(comment)
        else:
            threads.setdefault(comment.artifact_kind, []).append(comment)
    return threads


def _artifact_view(artifact: Artifact, thread: list[Comment]) -> dict[str, Any]:
    """An artifact shown block by block, each block with the comments on it beside it;
    then the outdated comments and those on the artifact as a whole."""
    found = blocks.split_blocks(artifact.body)
    definitions = blocks.link_definitions(artifact.body)
    # Under the card's own title (an h2): the text's "#" becomes an h3.
    html = render_markdown_many(
        [f"{b.source}\n\n{definitions}" if definitions else b.source for b in found], demote=2
    )
    on_block: dict[int, list[Comment]] = {}
    for comment in thread:
        if comment.place is not None:
            on_block.setdefault(comment.place, []).append(comment)
    return {
        "rows": [
            {"block": block, "html": block_html, "comments": on_block.get(block.index, [])}
            for block, block_html in zip(found, html, strict=True)
        ],
        "on_blocks": bool(on_block),
        "outdated": [c for c in thread if c.outdated],
        "whole": [c for c in thread if c.anchor_block is None],
    }


def _comment_url(review: DesignReview) -> str:
    """Where every comment and reply form of the page posts (asked once, not per form)."""
    return reverse(
        "planning:comment-add", kwargs={**review.milestone.url_kwargs(), "round": review.round}
    )


# A thread shows its comments and their authors; each thread's fingerprint covers its own.
REVIEW_THREADS = CachedPage(
    "review-thread",
    Rows("planning.Comment", "review_id = %(r)s", people=("author_id", "overruled_by_id")),
    params=lambda review: {"r": review.pk},
    per="artifact_kind",
)


def thread_html(
    request: AuthenticatedRequest,
    review: DesignReview,
    kinds: list[str],
    artifacts: dict[str, Artifact],
) -> dict[str, SafeString]:
    """The HTML of each thread (artifact kind, or "" for the general one).

    An artifact's thread is the artifact itself, block by block, with its
    comments beside the blocks they name. A review page shows every comment
    with its forms, hundreds of them, and most views are the same people
    reloading or polling while little changes. A thread is cached under the
    fingerprint of its comments and their authors, the artifact's revision,
    the review, and the viewer (what they may do, and their CSRF secret, from
    which the forms' tokens are made), so only a thread that changed is read
    from the database and rendered again.
    """
    versions = REVIEW_THREADS.fingerprints(review)
    milestone = review.milestone
    # What the viewer may do to blocking comments: raise them, or overrule them.
    may_block = access.can(request.user, Action.MARK_BLOCKING, review)
    is_principal = milestone.project.principal_engineer_id == request.user.pk
    common = (
        review.pk, review.round, review.status, milestone.tech_lead_id, milestone.number,
        milestone.project.slug, milestone.project.squad.slug, may_block, is_principal,
    )  # fmt: skip
    keys = {
        k: page_key(
            REVIEW_THREADS,
            None if versions is None else versions.get(k, ""),
            viewer=request,
            extra=(*common, k, artifacts[k].revision if k in artifacts else None),
        )
        for k in kinds
    }

    def render(missing: list[str]) -> dict[str, str]:
        threads = {}
        if versions is None or any(k in versions for k in missing):
            comments = review.comments.filter(artifact_kind__in=missing).select_related(
                "author", "overruled_by"
            )
            threads = _threads(list(comments.order_by("created_at", "id")), artifacts)
        items = get_template("planning/includes/review_thread_items.html")
        artifact_items = get_template("planning/includes/review_artifact_thread.html")
        context = {
            "review": review,
            "milestone": milestone,
            "project": milestone.project,
            "squad": milestone.project.squad,
            "user": request.user,
            "csrf_token": get_token(request),
            "comment_url": _comment_url(review),
            "may_block": may_block,
            "is_principal": is_principal,
        }
        rendered = {}
        for k in missing:
            thread = threads.get(k, [])
            if k in artifacts:
                view = _artifact_view(artifacts[k], thread)
                rendered[k] = artifact_items.render(
                    {**context, **view, "artifact": artifacts[k], "kind": k}
                )
            else:
                rendered[k] = items.render({**context, "thread": thread, "kind": k})
        return rendered

    return cached_fragments(keys, render)


def _review_context(
    request: AuthenticatedRequest, review: DesignReview, **extra: Any
) -> dict[str, Any]:
    milestone = review.milestone
    every_artifact = list(milestone.artifacts.order_by("id"))
    artifacts = [a for a in every_artifact if not a.is_waived]
    threads = thread_html(
        request, review, [a.kind for a in artifacts] + [""], {a.kind: a for a in artifacts}
    )
    verdicts = list(
        review.verdicts.select_related("reviewer", "dismissed_by").order_by("updated_at")
    )
    if any(v.verdict == Verdict.Choice.APPROVE_WITH_CONDITIONS for v in verdicts):
        # Only then: the page asks for the conditions' unknowns (with what a link needs).
        prefetch_related_objects(
            verdicts,
            Prefetch(
                "conditions",
                queryset=Unknown.objects.select_related("milestone__project__squad"),
            ),
        )
    open_blocking = list(
        services.open_blocking_comments(review).select_related("author").order_by("created_at")
    )
    current = {a.kind: a.revision for a in every_artifact}
    approval = services.approval_facts(
        review, verdicts, current=current, open_blocking=len(open_blocking)
    )
    count = workflow.count_verdicts(approval.verdicts)
    may_run = access.can(request.user, Action.RUN_MEETINGS, milestone)
    current = {a.kind: a.revision for a in every_artifact}
    verdict_rows = [
        _verdict_row(review, verdict, facts, current, may_run=may_run)
        for verdict, facts in zip(verdicts, approval.verdicts, strict=True)
    ]
    sections = [
        {
            "artifact": artifact,
            "blocks": blocks.split_blocks(artifact.body),
            "thread_html": threads[artifact.kind],
            "changed": workflow.changed_since_review(
                review.reviewed_revisions, artifact.kind, artifact.revision
            ),
            "reviewed_revision": review.reviewed_revisions.get(artifact.kind),
        }
        for artifact in artifacts
    ]
    mine = next((v for v in verdicts if v.reviewer_id == request.user.pk), None)
    return {
        "review": review,
        "milestone": milestone,
        "project": milestone.project,
        "squad": milestone.project.squad,
        "sections": sections,
        "general_html": threads[""],
        "verdicts": verdict_rows,
        "stale_count": count.stale,
        "my_verdict": mine,
        "my_verdict_stale": any(
            row["stale"] and not row["dismissed"]
            for row in verdict_rows
            if row["verdict"].reviewer_id == request.user.pk
        ),
        "approvals": count.approvals,
        "changes": count.changes_requested,
        "needed": approval.needed,
        "is_guest": access.is_guest(request.user, milestone),
        "may_run": may_run,
        "invitees": list(review.invitees.order_by("username")),
        "verdict_choices": Verdict.Choice.choices,
        "may_block": access.can(request.user, Action.MARK_BLOCKING, review),
        "open_blocking": open_blocking,
        "close_unmet": workflow.approval_unmet(approval),
        "still_expected": services.pending_reviewers(review, verdicts=verdicts, current=current),
        "since": timezone.now().isoformat(),
        "comment_url": _comment_url(review),
        **extra,
    }


def _verdict_row(
    review: DesignReview,
    verdict: Verdict,
    facts: workflow.VerdictFacts,
    current: dict[str, int],
    *,
    may_run: bool,
) -> dict[str, Any]:
    """A verdict as the panel shows it: stale or not, what changed since (with the diff),
    and whether the viewer may dismiss it."""
    milestone = review.milestone
    changed = [
        {
            "sentence": change.describe(verdict.verdict),
            "diff_url": reverse(
                "planning:artifact-diff", kwargs={**milestone.url_kwargs(), "kind": change.kind}
            )
            + f"?a={change.pinned}&b={change.now}",
        }
        for change in (workflow.changed_since(verdict.revisions, current) if facts.stale else [])
    ]
    return {
        "verdict": verdict,
        "stale": facts.stale,
        "dismissed": facts.dismissed,
        "changed": changed,
        "may_dismiss": may_run
        and review.status == DesignReview.Status.OPEN
        and workflow.dismissal_refusal(facts) is None,
    }


# Every row `_review_context` shows, its threads' included: the page is cached under their fingerprint.
REVIEW_PAGE = CachedPage(
    "review",
    *AROUND_MILESTONE,
    Rows("planning.DesignReview", "id = %(r)s"),
    Rows("planning.DesignReview_invitees", "designreview_id = %(r)s", people=("user_id",)),
    Rows("planning.Comment", "review_id = %(r)s", people=("author_id", "overruled_by_id")),
    Rows("planning.Verdict", "review_id = %(r)s", people=("reviewer_id", "dismissed_by_id")),
    # The unknowns the approvals' conditions became, with their status.
    Rows("planning.Unknown", "milestone_id = %(m)s AND from_verdict_id IS NOT NULL"),
    params=review_params,
)


@login_required
def review_detail(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    milestone = review.milestone
    content = page_content(
        request,
        REVIEW_PAGE,
        review,
        "planning/includes/review_content.html",
        lambda: _review_context(request, review),
    )
    return render(
        request,
        "planning/review_detail.html",
        {
            "review": review,
            "milestone": milestone,
            "project": milestone.project,
            "squad": milestone.project.squad,
            "since": timezone.now().isoformat(),
            "content_html": content,
        },
    )


@login_required
def review_updates(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    """What changed since `since`: every thread and the verdicts, swapped in by htmx; 204 if nothing."""
    review = _review(request, squad_slug, project_slug, number, round)
    try:
        since = parse_time(request.GET.get("since", ""))
    except ValueError as malformed:
        return HttpResponseBadRequest(_error_html(str(malformed)))
    changed = (
        since is None
        or review.comments.filter(updated_at__gt=since).exists()
        or review.verdicts.filter(updated_at__gt=since).exists()
        # A new revision moves comments on blocks and makes verdicts stale.
        or review.milestone.artifacts.filter(updated_at__gt=since).exists()
        or (review.closed_at and review.closed_at > since)
        or (review.opened_at and review.opened_at > since)
    )
    if not changed:
        return HttpResponse(status=204)
    return render(
        request, "planning/includes/review_updates.html", _review_context(request, review)
    )


@login_required
def review_calendar(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    response = HttpResponse(review_ics(review), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="design-review-{review.round}.ics"'
    return response


def _url(review: DesignReview, anchor: str = "") -> str:
    return review.get_absolute_url() + anchor


def _back(review: DesignReview, anchor: str = "") -> HttpResponse:
    return redirect(_url(review, anchor))


@login_required
@require_POST
def review_open(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    access.require(request.user, Action.RUN_MEETINGS, review.milestone)
    try:
        services.open_review(request.user, review)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The review is open: the squad can give verdicts.")
    return _back(review)


@login_required
@require_POST
def review_close(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    access.require(request.user, Action.RUN_MEETINGS, review.milestone)
    try:
        services.close_review(request.user, review, request.POST.get("outcome", ""))
    except GuardRefused as refusal:
        context = _review_context(request, review, refusal=refusal)
        return render(request, "planning/review_detail.html", context, status=409)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The review is closed.")
    return _back(review)


@login_required
@require_POST
def review_invite(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    access.require(request.user, Action.RUN_MEETINGS, review.milestone)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return refused(request, form, title="Invite a guest", back=_url(review, "#invitees"))
    username = form.cleaned_data["username"]
    guest = User.objects.filter(username__iexact=username, is_active=True).first()
    if guest is None:
        messages.error(request, f"No one has the username “{username}”.")
        return _back(review, "#invitees")
    try:
        services.invite_guest(request.user, review, guest)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"{guest.display_name} is invited; they can read this milestone and take part in this review.",
        )
    return _back(review, "#invitees")


def _thread_answer(
    request: AuthenticatedRequest,
    review: DesignReview,
    kind: str,
    anchor: str,
    *,
    error: str = "",
) -> HttpResponse:
    if request.htmx:
        shown = {a.kind: a for a in review.milestone.artifacts.filter(kind=kind) if not a.is_waived}
        html = thread_html(request, review, [kind], shown)[kind]
        if error:  # above the thread it was swapped into, so that it is seen where it was typed
            html = _error_html(error) + html
        answer = render(
            request,
            "planning/includes/review_thread.html",
            {"thread_html": html, "kind": kind},
        )
        if error:
            # The form that sent it keeps what was typed (static/js/app.js reads this).
            answer["X-Form-Refused"] = "true"
        return answer
    return _back(review, anchor)


def _error_html(message: str) -> SafeString:
    return format_html('<p class="error" role="alert">{}</p>', message)


def _messages(form: BaseForm) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@login_required
@require_POST
def comment_add(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    form = CommentForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _refused_in_thread(request, review, _messages(form))
        return refused(request, form, title="Your comment is not saved", back=_url(review))
    parent = None
    if form.cleaned_data["parent"]:
        parent = review.comments.filter(pk=form.cleaned_data["parent"]).first()
    try:
        comment = services.add_comment(
            request.user,
            review,
            body=form.cleaned_data["body"],
            artifact_kind=form.cleaned_data["artifact_kind"],
            parent=parent,
            revision=form.cleaned_data["revision"],
            anchor_block=form.cleaned_data["anchor_block"],
            anchor_quote=form.cleaned_data["anchor_quote"],
            blocking=form.cleaned_data["blocking"],
        )
    except ValidationError as error:
        if request.htmx:
            return _refused_in_thread(request, review, " ".join(error.messages))
        messages.error(request, " ".join(error.messages))
        return _back(review)
    return _thread_answer(request, review, comment.artifact_kind, f"#comment-{comment.pk}")


def _refused_in_thread(
    request: AuthenticatedRequest, review: DesignReview, message: str
) -> HttpResponse:
    """The thread the comment was for, with why it was refused above it (the form keeps the text)."""
    kind = request.POST.get("artifact_kind", "")
    if kind not in workflow.ARTIFACT_KINDS:
        kind = ""
    return _thread_answer(request, review, kind, "", error=message)


def _comment(request: AuthenticatedRequest, review: DesignReview, pk: int) -> Comment:
    comment = get_object_or_404(review.comments, pk=pk)
    comment.review = review
    return comment


@login_required
@require_POST
def comment_edit(
    request: AuthenticatedRequest,
    squad_slug: str,
    project_slug: str,
    number: int,
    round: int,
    pk: int,
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    comment = _comment(request, review, pk)
    anchor = f"#comment-{comment.pk}"
    form = CommentEditForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _thread_answer(
                request, review, comment.artifact_kind, anchor, error=_messages(form)
            )
        return refused(request, form, title="Your edit is not saved", back=_url(review, anchor))
    try:
        services.edit_comment(request.user, comment, form.cleaned_data["body"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return _thread_answer(request, review, comment.artifact_kind, anchor)


@login_required
@require_POST
def comment_resolve(
    request: AuthenticatedRequest,
    squad_slug: str,
    project_slug: str,
    number: int,
    round: int,
    pk: int,
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    comment = _comment(request, review, pk)
    anchor = f"#comment-{comment.pk}"
    try:
        services.set_comment_resolved(request.user, comment, request.POST.get("resolved") == "true")
    except ValidationError as error:
        if request.htmx:
            return _thread_answer(
                request, review, comment.artifact_kind, anchor, error=" ".join(error.messages)
            )
        messages.error(request, " ".join(error.messages))
    return _thread_answer(request, review, comment.artifact_kind, anchor)


@login_required
@require_POST
def verdict_set(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    form = VerdictForm(request.POST)
    if not form.is_valid():
        return refused(request, form, title="Your verdict", back=_url(review, "#verdicts"))
    try:
        services.set_verdict(
            request.user,
            review,
            form.cleaned_data["verdict"],
            form.cleaned_data["note"],
            form.condition_lines(),
        )
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            messages.error(request, " ".join(error.messages))
            return _back(review, "#verdicts")
        # What was typed comes back with the reason beside it.
        add_service_errors(form, error)
        return refused(request, form, title="Your verdict", back=_url(review, "#verdicts"))
    else:
        messages.success(request, "Your verdict is recorded.")
    return _back(review, "#verdicts")


@login_required
@require_POST
def verdict_dismiss(
    request: AuthenticatedRequest,
    squad_slug: str,
    project_slug: str,
    number: int,
    round: int,
    pk: int,
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    verdict = get_object_or_404(review.verdicts.select_related("reviewer"), pk=pk)
    verdict.review = review
    access.require(request.user, Action.DISMISS_VERDICT, verdict)
    form = DismissForm(request.POST)
    if not form.is_valid():
        return refused(
            request, form, title="Dismiss a request for changes", back=_url(review, "#verdicts")
        )
    try:
        services.dismiss_verdict(request.user, verdict, form.cleaned_data["note"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"{verdict.reviewer.display_name}'s request for changes is dismissed; it no longer holds the close.",
        )
    return _back(review, f"#verdict-{verdict.pk}")
