"""The request as the middleware leaves it for a view, for type checking.

A view behind `@login_required` takes an `AuthenticatedRequest`: its user is
a signed-in `User`, never the anonymous one, and django-htmx has given it
`htmx`. Nothing here changes a request at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
