"""Unknowns of a milestone, and the deferrals the principal engineer decides.

Objects are fetched through squads.access, so what the caller may not see
answers 404 (a guest of a review too); every change goes through
planning.services, which checks the caller's role and the rules.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.pagination import Counted, CountedPagination
from api.schema import answers
from api.serializers import unknown_rows
from api.serializers.milestones import (
    DeferralCreateSerializer,
    DeferralDecisionSerializer,
    DeferralSerializer,
    ResolveSerializer,
    UnknownCreateSerializer,
    UnknownSerializer,
    UnknownUpdateSerializer,
)
from api.views.base import ApiRequest, ApiView, valid
from planning import fragments, services
from planning.fragments import page_key
from planning.models import DeferralRequest, Unknown
from planning.models.unknowns import UnknownQuerySet
from planning.state import UNKNOWNS_OF_MILESTONE, CachedPage, Rows
from squads import access
from squads.access import Action


def _pending_deferral() -> Exists:
    return Exists(
        DeferralRequest.objects.filter(
            unknown=OuterRef("pk"), status=DeferralRequest.Status.PENDING
        )
    )


def _unknown_body(unknown: Unknown) -> dict[str, Any]:
    unknown.deferral_pending = DeferralRequest.objects.filter(
        unknown=unknown, status=DeferralRequest.Status.PENDING
    ).exists()
    return UnknownSerializer(unknown).data


def _unknowns(milestone_id: int) -> QuerySet[Unknown]:
    return (
        Unknown.objects.filter(milestone_id=milestone_id)
        .with_priority_rank()
        .annotate(deferral_pending=_pending_deferral())
        .order_by("priority_rank", "number")
    )


# Unknowns -------------------------------------------------------------------------------


class UnknownFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=Unknown.STATUS_FILTERS,
        method="by_status",
    )
    priority = django_filters.ChoiceFilter(choices=Unknown.Priority.choices)
    owner = django_filters.CharFilter(
        method="by_owner", help_text="A user id, or `none` for unknowns without an owner."
    )

    class Meta:
        model = Unknown
        fields = ["status", "priority", "owner"]

    def by_status(self, queryset: UnknownQuerySet, name: str, value: str) -> UnknownQuerySet:
        return queryset.with_status(value)

    def by_owner(self, queryset: UnknownQuerySet, name: str, value: str) -> UnknownQuerySet:
        value = value.strip()
        if value == "none":
            return queryset.filter(owner__isnull=True)
        if not value.isascii() or not value.isdigit() or len(value) > 18:
            raise ValidationError({"owner": ["Give a user id or `none`."]})
        return queryset.filter(owner_id=int(value))


# Every row the list shows: it is cached under their fingerprint.
UNKNOWN_LIST = CachedPage(
    "api-unknowns",
    Rows("planning.Unknown", "milestone_id = %(m)s"),
    Rows("planning.DeferralRequest", f"unknown_id IN ({UNKNOWNS_OF_MILESTONE})"),
    params=lambda milestone_id: {"m": milestone_id},
)


class UnknownList(ApiView):
    filterset_class = UnknownFilter
    pagination_class = CountedPagination

    @extend_schema(
        summary="The unknowns of a milestone, by priority",
        responses=answers({200: UnknownSerializer(many=True)}, 400, 401, 404),
    )
    def get(self, request: ApiRequest, pk: int) -> Response:
        # One page of unknowns, from the cache while the milestone's unknowns and their
        # deferral requests are as they were (planning.state) for this very query.
        milestone_id = access.get_milestone_id_for(request.user, pk)
        fingerprint = UNKNOWN_LIST.fingerprint(milestone_id)
        key = page_key(
            UNKNOWN_LIST, fingerprint, viewer=None, extra=(request.build_absolute_uri(),)
        )
        body = fragments.store().get(key) if key else None
        if body is None:
            body = self._list(request, milestone_id)
            if key:
                fragments.store().set(key, body, fragments.SECONDS)
        return Response(body)

    def _list(self, request: ApiRequest, milestone_id: int) -> Any:
        filtered = any(name in request.query_params for name in UnknownFilter.base_filters)
        if not filtered and unknown_rows.applies():
            # The whole list, as the serializer would write it, from one query (the
            # usual call); a filtered one through django-filter and the serializer.
            rows = Counted(partial(unknown_rows.window, milestone_id))
            # Django's paginator takes any rows that slice and count, not only a queryset.
            page = self.paginate_queryset(rows)  # type: ignore[arg-type]
            return self.get_paginated_response(page).data
        # Rows as dicts: the serializer reads them as it reads an Unknown.
        return self.page(_unknowns(milestone_id).values(), UnknownSerializer).data

    @extend_schema(
        summary="Add an unknown (squad members)",
        request=UnknownCreateSerializer,
        responses=answers({201: UnknownSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        milestone = access.get_milestone_by_id_for(request.user, pk)
        access.require(request.user, Action.EDIT_UNKNOWN, milestone)
        data = valid(UnknownCreateSerializer, request.data)
        unknown = services.add_unknown(request.user, milestone, **data)
        return Response(_unknown_body(unknown), status=status.HTTP_201_CREATED)


class UnknownDetail(ApiView):
    @extend_schema(summary="An unknown", responses=answers({200: UnknownSerializer}, 401, 404))
    def get(self, request: ApiRequest, pk: int) -> Response:
        return Response(_unknown_body(access.get_unknown_by_id_for(request.user, pk)))

    @extend_schema(
        summary="Change an unknown (squad members); resolve and defer have their own actions",
        request=UnknownUpdateSerializer,
        responses=answers({200: UnknownSerializer}, 400, 401, 403, 404),
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        unknown = access.get_unknown_by_id_for(request.user, pk)
        access.require(request.user, Action.EDIT_UNKNOWN, unknown.milestone)
        changes = valid(UnknownUpdateSerializer, request.data, partial=True)
        unknown = services.update_unknown(request.user, unknown, **changes)
        return Response(_unknown_body(unknown))


class UnknownResolve(ApiView):
    @extend_schema(
        summary="Resolve an unknown (squad members)",
        request=ResolveSerializer,
        responses=answers({200: UnknownSerializer}, 400, 401, 403, 404),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        unknown = access.get_unknown_by_id_for(request.user, pk)
        access.require(request.user, Action.EDIT_UNKNOWN, unknown.milestone)
        resolution = valid(ResolveSerializer, request.data)["resolution"]
        unknown = services.resolve_unknown(request.user, unknown, resolution)
        return Response(_unknown_body(unknown))


class UnknownDeferral(ApiView):
    @extend_schema(
        summary="Ask the principal engineer to defer an unknown (the milestone's tech lead)",
        request=DeferralCreateSerializer,
        responses=answers({201: DeferralSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        unknown = access.get_unknown_by_id_for(request.user, pk)
        access.require(request.user, Action.REQUEST_DEFERRAL, unknown.milestone)
        data = valid(DeferralCreateSerializer, request.data)
        deferral = services.request_deferral(request.user, unknown, **data)
        return Response(DeferralSerializer(deferral).data, status=status.HTTP_201_CREATED)


# Deferrals ---------------------------------------------------------------------------------


class DeferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeferralRequest.Status.choices)

    class Meta:
        model = DeferralRequest
        fields = ["status"]


class DeferralList(ApiView):
    filterset_class = DeferralFilter

    @extend_schema(
        summary="Deferral requests I may see; the principal engineer's queue",
        responses=answers({200: DeferralSerializer(many=True)}, 400, 401),
    )
    def get(self, request: ApiRequest) -> Response:
        deferrals = access.deferrals_for(request.user).select_related("unknown")
        return self.page(deferrals.order_by("-created_at", "-id"), DeferralSerializer)


class DeferralDecide(ApiView):
    @extend_schema(
        summary="Approve or reject a deferral (the project's principal engineer, not the requester)",
        request=DeferralDecisionSerializer,
        responses=answers({200: DeferralSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        deferral = access.get_deferral_by_id_for(request.user, pk)
        data = valid(DeferralDecisionSerializer, request.data)
        decided = services.decide_deferral(request.user, deferral, **data)
        return Response(DeferralSerializer(decided).data)
