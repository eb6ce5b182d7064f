"""The API's error answers as the OpenAPI schema describes them.

`api/errors.py` writes these bodies at run time; here is their one description:
a serializer per shape, a table of statuses and `answers`, which every
operation's `responses` go through.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from api.serializers.milestones import UnmetSerializer


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
)
class DetailField(serializers.Field):
    """A sentence, or the messages about an input's own `detail` field (an unknown has one)."""


class InvalidInputSerializer(serializers.Serializer):
    """400: `{"field": ["message", …]}` or `{"detail": "…"}`."""

    detail = DetailField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class GuardRefusedSerializer(serializers.Serializer):
    """409: a workflow guard refuses, with what is still missing."""

    detail = serializers.CharField()
    unmet = UnmetSerializer(many=True, required=False)


class StaleRevisionSerializer(serializers.Serializer):
    """412: `If-Match` names a revision that is no longer current."""

    detail = serializers.CharField()
    current_revision = serializers.IntegerField()


ERRORS = {
    400: (InvalidInputSerializer, 'Invalid input: `{"field": ["message"]}` or `{"detail"}`.'),
    401: (ErrorSerializer, "No or bad credentials."),
    403: (ErrorSerializer, "The caller lacks the role for this action."),
    404: (ErrorSerializer, "No such object, or one the caller cannot see."),
    409: (
        GuardRefusedSerializer,
        "A workflow guard refuses (`unmet` says why), or a deferral is already pending.",
    ),
    412: (StaleRevisionSerializer, "`If-Match` names a revision that is no longer current."),
    429: (ErrorSerializer, "Too many attempts; try again later."),
}


def answers(ok: dict, *errors: int) -> dict:
    """An operation's responses: what it answers when it succeeds, and the errors it can give."""
    return {
        **ok,
        **{code: OpenApiResponse(ERRORS[code][0], description=ERRORS[code][1]) for code in errors},
    }
