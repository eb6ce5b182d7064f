"""One error shape for the whole API, as the protocol spec fixes it.

Views and serializers raise the domain's own exceptions (Django's
ValidationError and PermissionDenied, Http404, GuardRefused, EditConflict,
DeferralConflict); this handler turns each into its status and body.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from planning.exceptions import DeferralConflict, GuardRefused


def _validation_body(error: DjangoValidationError) -> dict:
    """{"field": ["message", …]} for field errors, {"detail": "…"} for the rest."""
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): DjangoValidationError(
                errors
            ).messages
            for field, errors in error.error_dict.items()
        }
    return {"detail": " ".join(error.messages)}


def api_exception_handler(exc, context):
    if isinstance(exc, GuardRefused):
        return Response(
            {
                "detail": exc.message,
                "unmet": [{"code": u.code, "message": u.message} for u in exc.unmet],
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DeferralConflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        return Response(_validation_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        return Response(
            {"detail": f"The body is larger than {limit} KB."}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return exception_handler(exc, context)
