from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.validators import slug_re
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.http import AuthenticatedRequest
from config.inputs import text_problem
from planning import services
from planning.forms import ProjectForm
from squads import access
from squads.access import Action
from squads.views import PAGE_SIZE, add_service_errors


@login_required
def project_list(request: AuthenticatedRequest) -> HttpResponse:
    projects = access.projects_for(request.user).select_related(
        "squad", "tech_lead", "principal_engineer"
    )
    squads = access.squads_for(request.user).order_by("name")
    squad_slug = request.GET.get("squad", "")
    if squad_slug:
        # A choice from the list, never typed: one that is no slug matches no squad.
        is_slug = slug_re.fullmatch(squad_slug)
        projects = projects.filter(squad__slug=squad_slug) if is_slug else projects.none()
    query = request.GET.get("q", "").strip()
    # The search box is where it was typed: a text no one could type is refused there.
    query_error = text_problem(query)
    if query_error:
        projects = projects.none()
    elif query:
        projects = projects.filter(Q(name__icontains=query) | Q(summary__icontains=query))
    page = Paginator(projects.order_by("squad__name", "name"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "planning/project_list.html",
        {
            "page": page,
            "squads": squads,
            "squad_slug": squad_slug,
            "query": query,
            "query_error": query_error,
        },
        status=400 if query_error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: AuthenticatedRequest, squad_slug: str) -> HttpResponse:
    squad = access.get_squad_for(request.user, squad_slug)
    access.require(request.user, Action.CREATE_PROJECT, squad)
    form = ProjectForm(request.POST or None, squad=squad, initial={"tech_lead": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(request.user, squad, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Project {project.name} is created.")
            return redirect(project)
    return render(request, "planning/project_form.html", {"form": form, "squad": squad})


@login_required
def project_detail(
    request: AuthenticatedRequest, squad_slug: str, project_slug: str
) -> HttpResponse:
    project = access.get_project_for(request.user, squad_slug, project_slug)
    milestones = project.milestones.select_related("tech_lead").order_by("-number")
    page = Paginator(milestones, PAGE_SIZE).get_page(request.GET.get("page"))
    for milestone in page.object_list:
        milestone.project = project
    return render(
        request,
        "planning/project_detail.html",
        {
            "project": project,
            "squad": project.squad,
            "page": page,
            "may_edit": access.can(request.user, Action.EDIT_PROJECT, project),
            "may_create_milestone": access.can(request.user, Action.CREATE_MILESTONE, project),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request: AuthenticatedRequest, squad_slug: str, project_slug: str) -> HttpResponse:
    project = access.get_project_for(request.user, squad_slug, project_slug)
    access.require(request.user, Action.EDIT_PROJECT, project)
    form = ProjectForm(request.POST or None, squad=project.squad, instance=copy.copy(project))
    if request.method == "POST" and form.is_valid():
        try:
            project = services.update_project(request.user, project, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The project is saved.")
            return redirect(project)
    return render(
        request,
        "planning/project_form.html",
        {"form": form, "squad": project.squad, "project": project},
    )
