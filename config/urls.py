from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, register_converter

from config.converters import IdConverter
from planning.views import dashboard

# Registered before include() below imports the apps' URLs: they use <id:…>.
register_converter(IdConverter, "id")


def health(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and docker-compose: answers without touching the database."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("accounts/", include("accounts.urls")),
    path("squads/", include("squads.urls")),
    path("", include("planning.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
]
