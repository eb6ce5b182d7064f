from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

FLOOR = engines["django"].from_string("<!doctype html><title>floor</title><p>Hello {{ name }}</p>")


def floor(request: HttpRequest) -> HttpResponse:
    """The floor: a tiny template through the whole middleware stack, no database work."""
    return HttpResponse(FLOOR.render({"name": "squad"}, request))


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("config.urls")),
]
