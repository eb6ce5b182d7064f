"""The login throttle as an authentication backend (django-axes)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a login while its account or client address is throttled.

    Logins come from a request (the login page, the API's token endpoint) and
    are throttled; `authenticate()` called by code without a request (a
    management command, the test client) has no client to throttle.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
