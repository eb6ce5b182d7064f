"""Insights pages: a squad's, and a principal engineer's across the projects they oversee.

Both read through `planning.insights` in a fixed number of queries, show each
chart beside the table of its figures, and answer `?format=csv` (one table
with `&table=`, or every figure in one file).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from planning.insights import Scope, read_insights
from planning.insights.charts import Chart, charts
from planning.insights.forms import PeriodForm
from planning.insights.period import PRESETS
from planning.insights.tables import Table, long_csv, tables
from planning.models import Project
from squads import access

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class Figure:
    """A table of figures, with the chart drawn from it when there is one."""

    table: Table
    chart: Chart | None
    csv_url: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    figures: list[Figure]


# The page's sections, each a list of table names; charts go with their tables.
SECTIONS = [
    ("phases", "Time in each phase", ["phase-time", "phase-medians", "lead-time"]),
    ("reviews", "Design reviews and moves back", ["reviews", "move-backs"]),
    ("unknowns", "Unknowns", ["unknowns"]),
    ("reminders", "Reminders", ["reminders"]),
    ("breakout", "Task breakout", ["breakout"]),
]


@login_required
@require_GET
def squad_insights(request: HttpRequest, squad_slug: str) -> HttpResponse:
    squad = access.get_squad_for(_user(request), squad_slug)
    projects = list(squad.projects.order_by("name"))
    for project in projects:
        project.squad = squad
    return _page(
        request,
        projects,
        lambda project_id: Scope.squad(squad.pk, project_id),
        {
            "squad": squad,
            "subject": squad.name,
            "lead": f"How {squad.name} plans its milestones: a period beside the one of the "
            "same length before it.",
            "file_prefix": squad.slug,
        },
    )


@login_required
@require_GET
def principal_insights(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    projects = list(
        access.overseen_projects_for(user).select_related("squad").order_by("squad__name", "name")
    )
    if not projects:
        squads = access.squads_for(user).order_by("name")
        return render(request, "planning/insights_none.html", {"squads": squads})
    user_id = user.pk
    return _page(
        request,
        projects,
        lambda project_id: Scope.principal(user_id, project_id),
        {
            "subject": "the projects you oversee",
            "lead": "How the milestones of the projects you oversee went, squad by squad "
            "alike: a period beside the one of the same length before it.",
            "file_prefix": "overseen",
            "label_squads": True,
        },
    )


def _page(
    request: HttpRequest,
    projects: Sequence[Project],
    scope_of: Callable[[int | None], Scope],
    context: dict,
) -> HttpResponse:
    form = PeriodForm(
        request.GET, projects=projects, label_squads=context.get("label_squads", False)
    )
    context |= {"form": form, "projects": projects}
    if not form.is_valid():
        return render(request, "planning/insights.html", context, status=400)
    period, project = form.period, form.chosen_project
    insights = read_insights(scope_of(project.pk if project else None), period)
    every_table = tables(insights)
    asked = form.cleaned_data
    name = f"{context['file_prefix']}-insights-{period.current.since}-{period.current.until}"
    if asked["format"] == "csv":
        if asked["table"]:
            return _csv(every_table[asked["table"]].as_csv(), f"{name}-{asked['table']}.csv")
        return _csv(long_csv(every_table), f"{name}.csv")
    query: dict[str, object] = {"since": period.current.since, "until": period.current.until}
    if project is not None:
        query["project"] = project.pk
    drawn = charts(insights)

    def figure(table_name: str) -> Figure:
        csv_query = urlencode({**query, "format": "csv", "table": table_name})
        return Figure(every_table[table_name], drawn.get(table_name), f"?{csv_query}")

    today = timezone.localdate()
    context |= {
        "insights": insights,
        "period": period,
        "project": project,
        "summary": figure("summary"),
        "sections": [
            Section(section_id, title, [figure(table_name) for table_name in names])
            for section_id, title, names in SECTIONS
        ],
        "csv_url": "?" + urlencode({**query, "format": "csv"}),
        "presets": [
            {
                "days": days,
                "url": "?"
                + urlencode(
                    {
                        "since": today - timedelta(days=days - 1),
                        "until": today,
                        **({"project": project.pk} if project else {}),
                    }
                ),
                "current": period.current.until == today and period.current.days == days,
            }
            for days in PRESETS
        ],
    }
    return render(request, "planning/insights.html", context)


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here is login_required)."""
    return cast("User", request.user)


def _csv(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
