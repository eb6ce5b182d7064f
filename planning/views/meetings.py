from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.http import AuthenticatedRequest
from config.inputs import parse_id
from notifications.models import Notification, WebhookDelivery
from planning import services
from planning.calendar import breakout_ics, kickoff_ics
from planning.forms import (
    BreakoutSessionForm,
    ConcernAnswerForm,
    ConcernForm,
    KickoffForm,
    StoryForm,
    SubtaskForm,
)
from planning.markdown import render_markdown
from planning.models import BreakoutSession, Concern, KickoffMeeting, Milestone, Story, Subtask
from planning.packet import design_packet
from squads import access
from squads.access import Action
from squads.models import Squad
from squads.views import add_service_errors, refused

User = get_user_model()


def _milestone(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> Milestone:
    return access.get_milestone_for(request.user, squad_slug, project_slug, number)


def _errors(request: AuthenticatedRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


# Kick-off ------------------------------------------------------------------


def _kickoff_context(
    request: AuthenticatedRequest, milestone: Milestone, **extra: Any
) -> dict[str, Any]:
    kickoff = KickoffMeeting.objects.filter(milestone=milestone).first()
    initial = {}
    if kickoff:
        initial = {
            "scheduled_for": kickoff.scheduled_for,
            "duration_minutes": kickoff.duration_minutes,
            "location": kickoff.location,
            "notes": kickoff.notes,
        }
    concerns = list(milestone.concerns.select_related("raised_by", "answered_by"))
    return {
        "milestone": milestone,
        "project": milestone.project,
        "squad": milestone.project.squad,
        "kickoff": kickoff,
        "notes_html": render_markdown(kickoff.notes) if kickoff else "",
        "form": extra.pop("form", None) or KickoffForm(initial=initial),
        "concern_form": extra.pop("concern_form", None) or ConcernForm(),
        "open_concerns": [c for c in concerns if c.status == Concern.Status.OPEN],
        "answered_concerns": [c for c in concerns if c.status == Concern.Status.ANSWERED],
        "may_run": access.can(request.user, Action.RUN_MEETINGS, milestone),
        "may_take_part": access.can(request.user, Action.TAKE_PART, milestone),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def kickoff(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    if request.method == "POST":
        access.require(request.user, Action.RUN_MEETINGS, milestone)
        form = KickoffForm(request.POST)
        if form.is_valid():
            try:
                services.schedule_kickoff(request.user, milestone, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "The kick-off is saved; the squad is invited.")
                return redirect(request.path)
        context = _kickoff_context(request, milestone, form=form)
        return render(request, "planning/kickoff.html", context, status=400)
    return render(request, "planning/kickoff.html", _kickoff_context(request, milestone))


@login_required
@require_POST
def kickoff_held(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.RUN_MEETINGS, milestone)
    services.hold_kickoff(request.user, milestone)
    messages.success(request, "The kick-off is marked as held.")
    return redirect(milestone.get_absolute_url() + "kickoff/")


@login_required
def kickoff_calendar(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    meeting = KickoffMeeting.objects.filter(
        milestone=milestone, scheduled_for__isnull=False
    ).first()
    if meeting is None:
        raise Http404("The kick-off is not scheduled.")
    meeting.milestone = milestone
    response = HttpResponse(kickoff_ics(meeting), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="kickoff.ics"'
    return response


@login_required
@require_POST
def concern_add(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.TAKE_PART, milestone)
    form = ConcernForm(request.POST)
    if form.is_valid():
        services.raise_concern(request.user, milestone, **form.cleaned_data)
        messages.success(request, "Raised; the tech lead will answer.")
        return redirect(milestone.get_absolute_url() + "kickoff/#concerns")
    context = _kickoff_context(request, milestone, concern_form=form)
    return render(request, "planning/kickoff.html", context, status=400)


@login_required
@require_POST
def concern_answer(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, pk: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.RUN_MEETINGS, milestone)
    concern = get_object_or_404(milestone.concerns, pk=pk)
    concern.milestone = milestone
    back = milestone.get_absolute_url() + f"kickoff/#concern-{concern.pk}"
    form = ConcernAnswerForm(request.POST)
    if not form.is_valid():
        return refused(request, form, title="Your answer is not saved", back=back)
    try:
        services.answer_concern(request.user, concern, form.cleaned_data["answer"])
    except ValidationError as error:
        _errors(request, error)
    return redirect(back)


# Task breakout -------------------------------------------------------------


def _breakout_context(
    request: AuthenticatedRequest, milestone: Milestone, **extra: Any
) -> dict[str, Any]:
    squad = milestone.project.squad
    stories = list(
        milestone.stories.select_related("assignee")
        .prefetch_related(Prefetch("subtasks", queryset=Subtask.objects.select_related("assignee")))
        .annotate(open_subtasks=Count("subtasks", filter=Q(subtasks__done=False)))
    )
    for story in stories:
        story.milestone = milestone
    session = (
        BreakoutSession.objects.filter(milestone=milestone).prefetch_related("attendees").first()
    )
    return {
        "milestone": milestone,
        "project": milestone.project,
        "squad": squad,
        "stories": stories,
        "members": list(
            User.objects.filter(memberships__squad=squad).order_by("full_name", "username")
        ),
        "session": session,
        "meeting_mode": squad.breakout_mode == Squad.BreakoutMode.MEETING,
        "story_form": extra.pop("story_form", None) or StoryForm(),
        "session_form": extra.pop("session_form", None)
        or BreakoutSessionForm(
            initial={"scheduled_for": session.scheduled_for, "location": session.location}
            if session
            else None
        ),
        "may_run": access.can(request.user, Action.RUN_MEETINGS, milestone),
        "may_take_part": access.can(request.user, Action.TAKE_PART, milestone),
        **extra,
    }


@login_required
def breakout(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    return render(request, "planning/breakout.html", _breakout_context(request, milestone))


def _to_breakout(milestone: Milestone, anchor: str = "") -> HttpResponse:
    return redirect(milestone.get_absolute_url() + "breakout/" + anchor)


@login_required
@require_POST
def story_add(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.TAKE_PART, milestone)
    form = StoryForm(request.POST)
    if form.is_valid():
        story = services.add_story(request.user, milestone, **form.cleaned_data)
        return _to_breakout(milestone, f"#story-{story.number}")
    context = _breakout_context(request, milestone, story_form=form)
    return render(request, "planning/breakout.html", context, status=400)


def _story(milestone: Milestone, story_number: int) -> Story:
    story = get_object_or_404(milestone.stories, number=story_number)
    story.milestone = milestone
    return story


@login_required
@require_POST
def story_claim(
    request: AuthenticatedRequest,
    squad_slug: str,
    project_slug: str,
    number: int,
    story_number: int,
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.TAKE_PART, milestone)
    try:
        story = services.claim_story(
            request.user,
            _story(milestone, story_number),
            # The teammate named on the "Take over from …" button the user pressed.
            take_over_from=parse_id(request.POST.get("take_over_from", "")),
        )
    except ValidationError as error:  # a teammate claimed it first, or the milestone is done
        _errors(request, error)
    else:
        messages.success(request, f"{story.key} is yours.")
    return _to_breakout(milestone, f"#story-{story_number}")


@login_required
@require_POST
def subtask_add(
    request: AuthenticatedRequest,
    squad_slug: str,
    project_slug: str,
    number: int,
    story_number: int,
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.TAKE_PART, milestone)
    story = _story(milestone, story_number)
    form = SubtaskForm(request.POST, milestone=milestone)
    if not form.is_valid():
        back = milestone.get_absolute_url() + f"breakout/#story-{story.number}"
        return refused(request, form, title=f"A sub-task of {story.key}", back=back)
    try:
        services.add_subtask(request.user, story, **form.cleaned_data)
    except ValidationError as error:
        _errors(request, error)
    return _to_breakout(milestone, f"#story-{story.number}")


@login_required
@require_POST
def subtask_done(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int, pk: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.TAKE_PART, milestone)
    subtask = get_object_or_404(
        Subtask.objects.select_related("story"), pk=pk, story__milestone=milestone
    )
    subtask.story.milestone = milestone
    services.update_subtask(request.user, subtask, done=request.POST.get("done") == "true")
    return _to_breakout(milestone, f"#story-{subtask.story.number}")


@login_required
@require_POST
def breakout_session(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.RUN_MEETINGS, milestone)
    form = BreakoutSessionForm(request.POST)
    if form.is_valid():
        try:
            services.schedule_breakout(request.user, milestone, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, "The breakout session is scheduled; product and engineers are invited."
            )
            return _to_breakout(milestone)
    context = _breakout_context(request, milestone, session_form=form)
    return render(request, "planning/breakout.html", context, status=400)


@login_required
@require_POST
def breakout_held(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    access.require(request.user, Action.RUN_MEETINGS, milestone)
    try:
        services.hold_breakout(request.user, milestone)
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, "The breakout session is marked as held.")
    return _to_breakout(milestone)


@login_required
def breakout_calendar(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    session = BreakoutSession.objects.filter(
        milestone=milestone, scheduled_for__isnull=False
    ).first()
    if session is None:
        raise Http404("The breakout session is not scheduled.")
    session.milestone = milestone
    response = HttpResponse(breakout_ics(session), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="breakout.ics"'
    return response


@login_required
def packet(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str, number: int
) -> HttpResponse:
    milestone = _milestone(request, squad_slug, project_slug, number)
    response = HttpResponse(design_packet(milestone), content_type="text/markdown; charset=utf-8")
    name = f"{milestone.project.slug}-m{milestone.number}-design-packet.md"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def webhook_log(request: AuthenticatedRequest, squad_slug: str) -> HttpResponse:
    """The squad's deliveries (tech leads): the webhook's secret and log, and what failed for good.

    Failed emails are those about the squad's own pages (their link lies
    under the squad's address), so a tech lead sees who was not reached, and
    why, without seeing other squads' messages.
    """
    squad = access.get_squad_for(request.user, squad_slug)
    access.require(request.user, Action.EDIT_SQUAD_SETTINGS, squad)
    deliveries = squad.webhook_deliveries.order_by("-created_at")[:50]
    failed_posts = squad.webhook_deliveries.filter(status=WebhookDelivery.Status.FAILED).order_by(
        "-created_at"
    )[:50]
    failed_emails = (
        Notification.objects.filter(
            email=Notification.Email.FAILED, link__startswith=squad.get_absolute_url()
        )
        .select_related("recipient")
        .order_by("-created_at")[:50]
    )
    return render(
        request,
        "planning/webhook_log.html",
        {
            "squad": squad,
            "deliveries": deliveries,
            "failed_posts": failed_posts,
            "failed_emails": failed_emails,
        },
    )
