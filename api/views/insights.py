"""A squad's insights (DESIGN §9): the figures of the insights page, as JSON or CSV."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.schema import answers
from api.serializers.insights import InsightsQuerySerializer, InsightsSerializer, insights_data
from api.views.base import ApiView, valid
from planning.insights import Scope, read_insights
from planning.insights.tables import long_csv, tables
from squads import access

if TYPE_CHECKING:
    from accounts.models import User


class CsvRenderer(BaseRenderer):
    """Lets a client ask for `text/csv`; errors still go out as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return JSONRenderer().render(data)


class FormatNegotiation(DefaultContentNegotiation):
    """`?format=` names json or csv; anything else is invalid input (400), not a missing page."""

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        chosen = [renderer for renderer in renderers if renderer.format == format]
        if not chosen:
            names = " or ".join(renderer.format for renderer in renderers)
            raise ValidationError({"format": [f"Choose {names}."]})
        return chosen


class SquadInsights(ApiView):
    renderer_classes = [JSONRenderer, CsvRenderer]
    content_negotiation_class = FormatNegotiation

    @extend_schema(
        summary="A squad's insights: its figures and signals, this period against the previous one",
        description=(
            "The figures of the squad's insights page, from `since` to `until` (both "
            "days counted; default the last 90 days) and the period of the same length before "
            "it. `Accept: text/csv` or `?format=csv` answers every figure as CSV, one a line "
            "(`table,row,column,value`); with `table=` only that table, as the page offers it."
        ),
        parameters=[
            InsightsQuerySerializer,
            OpenApiParameter("format", str, enum=["json", "csv"], required=False),
        ],
        responses=answers(
            {
                200: InsightsSerializer,
                (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV."),
            },
            400,
            401,
            404,
        ),
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        # IsAuthenticated let only a signed-in user this far.
        squad = access.get_squad_for(cast("User", request.user), slug)
        asked = valid(InsightsQuerySerializer, request.query_params)
        project_id = asked.get("project")
        if project_id is not None and not squad.projects.filter(pk=project_id).exists():
            raise ValidationError({"project": ["No such project."]})
        insights = read_insights(Scope.squad(squad.pk, project_id), asked["period"])
        if request.accepted_renderer.format == "csv":
            every_table = tables(insights)
            body = (
                every_table[asked["table"]].as_csv()
                if asked.get("table")
                else long_csv(every_table)
            )
            period = asked["period"].current
            answer = HttpResponse(body, content_type="text/csv; charset=utf-8")
            answer["Content-Disposition"] = (
                f'attachment; filename="{squad.slug}-insights-{period.since}-{period.until}.csv"'
            )
            return answer
        return Response(InsightsSerializer(insights_data(insights, squad.slug, project_id)).data)
