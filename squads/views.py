from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from config.http import AuthenticatedRequest
from squads import access, services
from squads.access import Action
from squads.forms import AddMemberForm, RoleForm, SquadCreateForm, SquadSettingsForm
from squads.models import Membership, Squad

User = get_user_model()
PAGE_SIZE = 25


def add_service_errors(form: BaseForm, error: ValidationError) -> None:
    """Show a service's refusal on the form, beside the field it names when it names one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def refused(request: HttpRequest, form: BaseForm, *, title: str, back: str) -> HttpResponse:
    """A small form of a bigger page, refused: shown again on a page of its own (400), as
    typed, each field with what is wrong with it, to send again or leave."""
    context = {"form": form, "title": title, "back": back}
    return render(request, "refused.html", context, status=400)


@login_required
def squad_list(request: AuthenticatedRequest) -> HttpResponse:
    # Counting over a fresh queryset: squads_for's join on the user's own
    # membership would otherwise make every member count 1.
    squads = (
        Squad.objects.filter(pk__in=access.squads_for(request.user).values("pk"))
        .annotate(member_count=Count("memberships", distinct=True))
        .annotate(project_count=Count("projects", distinct=True))
        .order_by("name")
    )
    page = Paginator(squads, PAGE_SIZE).get_page(request.GET.get("page"))
    roles = dict(
        Membership.objects.filter(user=request.user, squad__in=page.object_list).values_list(
            "squad_id", "role"
        )
    )
    for squad in page.object_list:
        squad.my_role = Membership.Role(roles[squad.pk]).label
    return render(request, "squads/squad_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def squad_create(request: AuthenticatedRequest) -> HttpResponse:
    form = SquadCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            squad = services.create_squad(request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{squad.name} is created; you are its tech lead.")
            return redirect(squad)
    return render(request, "squads/squad_form.html", {"form": form})


def _members_context(request: AuthenticatedRequest, squad: Squad, **extra: Any) -> dict[str, Any]:
    memberships = list(squad.memberships.select_related("user").order_by("user__username"))
    return {
        "squad": squad,
        "memberships": memberships,
        "may_manage": access.can(request.user, Action.MANAGE_MEMBERS, squad),
        "add_form": extra.pop("add_form", None) or AddMemberForm(),
        "role_choices": Membership.Role.choices,
        **extra,
    }


@login_required
@vary_on_headers("HX-Request")
def squad_detail(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    squad = access.get_squad_for(request.user, slug)
    context = _members_context(request, squad)
    context["projects"] = squad.projects.select_related("tech_lead", "principal_engineer").order_by(
        "name"
    )
    context["may_create_project"] = access.can(request.user, Action.CREATE_PROJECT, squad)
    return render(request, "squads/squad_detail.html", context)


def _members_answer(request: AuthenticatedRequest, squad: Squad, **extra: Any) -> HttpResponse:
    """The members section for htmx; the squad page for a plain form post."""
    if request.htmx:
        return render(
            request, "squads/squad_detail.html#members", _members_context(request, squad, **extra)
        )
    if extra.get("add_form") is not None or extra.get("error"):
        context = _members_context(request, squad, **extra)
        context["projects"] = squad.projects.select_related("tech_lead")
        context["may_create_project"] = access.can(request.user, Action.CREATE_PROJECT, squad)
        return render(request, "squads/squad_detail.html", context)
    return redirect(squad)


@login_required
@require_POST
def member_add(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    squad = access.get_squad_for(request.user, slug)
    access.require(request.user, Action.MANAGE_MEMBERS, squad)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        try:
            membership = services.add_member(
                request.user, squad, form.cleaned_data["user"], form.cleaned_data["role"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            note = f"{membership.user.display_name} joined as {membership.get_role_display()}."
            if not request.htmx:
                messages.success(request, note)
            return _members_answer(request, squad, notice=note)
    return _members_answer(request, squad, add_form=form)


@login_required
@require_POST
def member_role(request: AuthenticatedRequest, slug: str, user_id: int) -> HttpResponse:
    squad = access.get_squad_for(request.user, slug)
    access.require(request.user, Action.MANAGE_MEMBERS, squad)
    member = get_object_or_404(User, pk=user_id, memberships__squad=squad)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _members_answer(request, squad, error="Choose one of the roles listed.")
    try:
        membership = services.change_role(request.user, squad, member, form.cleaned_data["role"])
    except ValidationError as error:
        if not request.htmx:
            messages.error(request, " ".join(error.messages))
            return redirect(squad)
        return _members_answer(request, squad, error=" ".join(error.messages))
    note = f"{member.display_name} is now {membership.get_role_display()}."
    if not request.htmx:
        messages.success(request, note)
    return _members_answer(request, squad, notice=note)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: AuthenticatedRequest, slug: str, user_id: int) -> HttpResponse:
    squad = access.get_squad_for(request.user, slug)
    access.require(request.user, Action.MANAGE_MEMBERS, squad)
    member = get_object_or_404(User, pk=user_id, memberships__squad=squad)
    if request.method == "GET":
        return render(
            request, "squads/member_remove_confirm.html", {"squad": squad, "member": member}
        )
    try:
        services.remove_member(request.user, squad, member)
    except ValidationError as error:
        if not request.htmx:
            messages.error(request, " ".join(error.messages))
            return redirect(squad)
        return _members_answer(request, squad, error=" ".join(error.messages))
    note = f"{member.display_name} has left {squad.name}."
    if member == request.user:
        # They can no longer see the squad they just left.
        messages.success(request, f"You have left {squad.name}.")
        if request.htmx:
            return HttpResponseClientRedirect(reverse("squads:list"))
        return redirect("squads:list")
    if not request.htmx:
        messages.success(request, note)
    return _members_answer(request, squad, notice=note)


@login_required
@require_http_methods(["GET", "POST"])
def squad_settings(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    squad = access.get_squad_for(request.user, slug)
    may_edit = access.can(request.user, Action.EDIT_SQUAD_SETTINGS, squad)
    if request.method == "POST":
        access.require(request.user, Action.EDIT_SQUAD_SETTINGS, squad)
    # The form works on a copy so that the page header keeps the saved name
    # while the form shows what the user typed.
    form = SquadSettingsForm(request.POST or None, instance=copy.copy(squad))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_squad_settings(request.user, squad, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Squad settings are saved.")
            return redirect("squads:settings", slug=squad.slug)
    if not may_edit:
        # The webhook URL is a secret of the squad's tech leads.
        del form.fields["webhook_url"]
        for field in form.fields.values():
            field.disabled = True
    return render(
        request, "squads/squad_settings.html", {"squad": squad, "form": form, "may_edit": may_edit}
    )
