"""What someone sees once their attempts to log in are throttled (django-axes calls it)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

MESSAGE = "Too many failed attempts to log in. Try again in {minutes} minutes."


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    message = MESSAGE.format(minutes=minutes)
    if request.path.startswith("/api/"):
        answer: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        answer = render(request, "accounts/locked_out.html", {"message": message}, status=429)
    answer["Retry-After"] = retry_after
    return answer
