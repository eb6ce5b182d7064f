from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views.auth import ObtainToken

app_name = "api"

v1: list[URLPattern | URLResolver] = [
    path("auth/token/", ObtainToken.as_view(), name="token"),
    path("", include("api.routes.squads")),
    path("", include("api.routes.milestones")),
    path("", include("api.routes.unknowns")),
    path("", include("api.routes.reviews")),
    path("", include("api.routes.kickoff")),
    path("", include("api.routes.breakout")),
    path("", include("api.routes.insights")),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not
    # inline, so the page runs under the Content-Security-Policy.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
]
