from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.views.auth import ObtainToken

app_name = "api"

v1 = [
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
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
