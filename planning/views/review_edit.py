"""Moving a review round or changing when its verdicts are due (the milestone's tech lead)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from config.http import AuthenticatedRequest
from planning import services
from planning.forms import ReviewForm
from planning.views.reviews import _review
from squads import access
from squads.access import Action
from squads.views import add_service_errors


@login_required
@require_http_methods(["GET", "POST"])
def review_edit(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, round: int
) -> HttpResponse:
    review = _review(request, squad_slug, project_slug, number, round)
    milestone = review.milestone
    access.require(request.user, Action.RUN_MEETINGS, milestone)
    initial = {
        "scheduled_for": timezone.localtime(review.scheduled_for),
        "duration_minutes": review.duration_minutes,
        "location": review.location,
        "verdicts_due": review.verdicts_due and timezone.localtime(review.verdicts_due),
    }
    form = ReviewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in form.changed_data}
        try:
            services.update_review(request.user, review, **changes)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Design review {review.round} is saved.")
            return redirect(review)
    return render(
        request,
        "planning/review_form.html",
        {"form": form, "milestone": milestone, "project": milestone.project, "review": review},
        status=400 if form.errors else 200,
    )
