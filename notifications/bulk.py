"""Set-based writes of outbox rows under their unique `dedupe_key`: the new ones go in, the rest are skipped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models


def insert_new(
    model: type[models.Model], rows: Sequence[dict[str, Any]], types: dict[str, str], now: datetime
) -> int:
    """Write every row whose dedupe key is new; return how many were new.

    `rows` hold the values of the fields that `types` names, each with its
    PostgreSQL array type; `created_at` is `now`. On PostgreSQL that is one
    `INSERT … SELECT … FROM unnest(…) ON CONFLICT DO NOTHING` whatever the
    number of rows, and the unique key makes a row that another sweep wrote
    meanwhile a no-op. (Building 10,000 model instances for bulk_create costs
    more than the whole query.) Elsewhere (SQLite in development) the keys
    already written are read and the rest bulk-created, ignoring conflicts.
    """
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _insert_postgresql(model, rows, types, now)
    known = set(
        model._default_manager.filter(dedupe_key__in=[row["dedupe_key"] for row in rows])
        .values_list("dedupe_key", flat=True)
        .order_by()
    )
    fresh = [model(**row) for row in rows if row["dedupe_key"] not in known]
    model._default_manager.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def _insert_postgresql(
    model: type[models.Model], rows: Sequence[dict[str, Any]], types: dict[str, str], now: datetime
) -> int:
    quote = connection.ops.quote_name
    fields = list(types)
    names = ", ".join(quote(column(model, f)) for f in [*fields, "created_at"])
    arrays = []
    for field in fields:
        values = [row[field] for row in rows]
        if types[field] == "jsonb[]":
            values = [json.dumps(value) for value in values]
        arrays.append(values)
    unnest = ", ".join(f"%s::{types[f]}" for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
            f"SELECT *, %s FROM unnest({unnest}) ON CONFLICT DO NOTHING",
            [now, *arrays],
        )
        return cursor.rowcount


def column(model: type[models.Model], name: str) -> str:
    """The database column of the field `name`; a relation without one is refused."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field.column
