"""A page of the API's list of unknowns, as `UnknownSerializer` writes it, from one SQL query.

The list holds up to 200 unknowns, and built through the ORM and the
serializer most of its time went on Python per row: parsing two timestamps
and two dates per row into objects only to write them back as text, the
ORM's query building, and a second query to count the rows. Here PostgreSQL
writes every value as the serializer would (the key `U-n`, dates and times
in ISO 8601 in UTC, as "Z", whether a deferral waits),
orders the rows by priority, and counts them in the same query (a window
over the whole list), so Python only pairs each row with the field names.

`UnknownSerializer` stays the documented shape (the OpenAPI schema) and the
representation of a single unknown; tests/test_fast_paths.py checks that
both give the same rows, field for field, in several time zones.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from api.serializers.milestones import UnknownSerializer
from planning.models import DeferralRequest, Unknown

FIELDS: tuple[str, ...] = tuple(UnknownSerializer.Meta.fields)


def _iso_date(column: str) -> str:
    return f"to_char({column}, 'YYYY-MM-DD')"


def _iso_datetime(column: str) -> str:
    """`column` (a timestamptz) as DRF's DateTimeField writes it in UTC: Python's
    `isoformat`, with microseconds only when there are some, and "Z" for the offset."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN date_trunc('second', {column}) = {column} THEN ''"
        f" ELSE to_char({utc}, '.US') END || 'Z'"
    )


# In the order of UnknownSerializer.Meta.fields.
_COLUMNS = {
    "id": 'u."id"',
    "key": "'U-' || u.\"number\"",
    "milestone": 'u."milestone_id"',
    "title": 'u."title"',
    "detail": 'u."detail"',
    "priority": 'u."priority"',
    "owner": 'u."owner_id"',
    "status": 'u."status"',
    "vendor": 'u."vendor"',
    "vendor_contacted_on": _iso_date('u."vendor_contacted_on"'),
    "due_on": _iso_date('u."due_on"'),
    "ticket_url": 'u."ticket_url"',
    "resolution": 'u."resolution"',
    "deferral_pending": (
        f'EXISTS (SELECT 1 FROM "{DeferralRequest._meta.db_table}" d'
        ' WHERE d."unknown_id" = u."id" AND d."status" = %(pending)s)'
    ),
    "from_verdict": 'u."from_verdict_id"',
    "created_by": 'u."created_by_id"',
    "created_at": _iso_datetime('u."created_at"'),
    "last_activity_at": _iso_datetime('u."last_activity_at"'),
}
assert tuple(_COLUMNS) == FIELDS, "the columns follow the serializer's fields"

_SQL = f"""
SELECT {", ".join(_COLUMNS.values())}, count(*) OVER ()
FROM "{Unknown._meta.db_table}" u
WHERE u."milestone_id" = %(milestone)s
ORDER BY array_position(%(priorities)s::text[], u."priority"::text), u."number"
LIMIT %(limit)s OFFSET %(offset)s
"""


def applies() -> bool:
    """Whether the SQL writes the rows as the serializer would: on PostgreSQL, with times
    in UTC (the default TIME_ZONE; in another zone the list takes the serializer's way)."""
    return connection.vendor == "postgresql" and timezone.get_current_timezone_name() == "UTC"


def window(milestone_id: int, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The milestone's unknowns from `offset`, at most `limit`, by priority then number;
    and how many the milestone has (0 when the window is past the last one)."""
    params: dict[str, Any] = {
        "milestone": milestone_id,
        "pending": DeferralRequest.Status.PENDING,
        "priorities": list(Unknown.Priority.values),
        "limit": limit,
        "offset": offset,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        found = cursor.fetchall()
    total = found[0][-1] if found else 0
    # Each row ends with the count, which zip leaves out: it stops at the last field.
    return [dict(zip(FIELDS, row, strict=False)) for row in found], total
