"""The one kind of view the API is made of.

Each view is a `GenericAPIView` with one handler per HTTP method, documented
by `@extend_schema` on that handler, its responses through `api.schema.answers`.
The handler fetches what its URL names through `squads.access` (so what the
caller may not see is a 404), checks the input with a serializer, and leaves
every change to the services. From DRF's generic view it takes pagination and
django-filter, which `page` applies to a list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import Http404
from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

if TYPE_CHECKING:
    from accounts.models import User

P = ParamSpec("P")
T = TypeVar("T")


class ApiRequest(Request):
    """A request that got past the default IsAuthenticated: its user is a User, for mypy."""

    user: User


class Metadata(SimpleMetadata):
    """OPTIONS: the view's name, description and media types.

    What each method takes is in the OpenAPI schema; DRF's guess at it, from a
    view's one `serializer_class`, does not fit views with a serializer per method.
    """

    def determine_actions(self, request: Request, view: APIView) -> dict[str, Any]:
        return {}


class ApiView(generics.GenericAPIView):
    # No docstring here: the schema would give it to every operation as its description.
    filterset_class: type[FilterSet] | None = None
    # drf-stubs declare an instance here; DRF, like this, names the class it instantiates.
    metadata_class = Metadata  # type: ignore[assignment]

    # A property over GenericAPIView's list: only a view that filters gets the backend.
    @property
    def filter_backends(self) -> list[type[DjangoFilterBackend]]:  # type: ignore[override]
        """django-filter for a list that names its `filterset_class`; nothing otherwise."""
        return [DjangoFilterBackend] if self.filterset_class else []

    def get_queryset(self) -> QuerySet[Any]:
        # Only the schema asks, for the model a `filterset_class` filters: the rows
        # themselves are fetched in each handler, through squads.access.
        if self.filterset_class is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no filterset_class to list.")
        return self.filterset_class._meta.model.objects.none()

    def page(
        self,
        rows: QuerySet[Any],
        serializer_class: type[BaseSerializer[Any]],
        *,
        context: dict[str, Any] | None = None,
    ) -> Response:
        """One page of `rows`, filtered by the view's `filterset_class` if it has one;
        `context` is what the serializer reads once for the whole page."""
        page = self.paginate_queryset(self.filter_queryset(rows))
        answer = serializer_class(page, many=True, context=context or {})
        return self.get_paginated_response(answer.data)


def valid(serializer_class: type[BaseSerializer[Any]], data: Any, **kwargs: Any) -> dict[str, Any]:
    """`data` checked by an input serializer: its validated data, or a 400."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def named_in_body(field: str, fetch: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """An object the body names, fetched through squads.access by `fetch(*args, **kwargs)`.

    One the caller may not see is the same 400 on the field as one that does
    not exist: the 404's own sentence ("No such project.").
    """
    try:
        return fetch(*args, **kwargs)
    except Http404 as missing:
        raise ValidationError({field: [str(missing)]}) from None
