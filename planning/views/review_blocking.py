"""Blocking comments on the review page: marking one's comment blocking, and the overrule."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from config.http import AuthenticatedRequest
from planning import services
from planning.forms import OverruleForm
from planning.views.reviews import _comment, _review, _thread_answer, _url
from squads.views import refused


@login_required
@require_POST
def comment_block(
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
        services.mark_blocking(request.user, comment)
    except ValidationError as error:
        if request.htmx:
            return _thread_answer(
                request, review, comment.artifact_kind, anchor, error=" ".join(error.messages)
            )
        messages.error(request, " ".join(error.messages))
    return _thread_answer(request, review, comment.artifact_kind, anchor)


@login_required
@require_POST
def comment_overrule(
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
    form = OverruleForm(request.POST)
    if not form.is_valid():
        return refused(request, form, title="Overrule", back=_url(review, anchor))
    try:
        services.overrule_comment(request.user, comment, form.cleaned_data["note"])
    except ValidationError as error:
        if request.htmx:
            return _thread_answer(
                request, review, comment.artifact_kind, anchor, error=" ".join(error.messages)
            )
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The blocking comment is overruled.")
    return _thread_answer(request, review, comment.artifact_kind, anchor)
