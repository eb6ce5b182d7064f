"""Fingerprints of every row a cached page shows, read in one query, and the declarations they are made from.

On PostgreSQL each row version carries the id of the transaction that wrote
it, the `xmin` system column. A row inserted, updated or deleted therefore
changes the fingerprint of its table's rows for the page, whatever wrote it:
a service, the admin, a bulk update or a data migration. A page cached under
the fingerprint is never stale, and the query that reads it costs far less
than the dozen the page would otherwise run.

Each cached page declares the rows it shows (`CachedPage`, next to the code
that builds its context), and its fingerprint's SQL is made from that
declaration, so the two cannot differ. People are rows too: the users a page
names are read through the columns it declares (`Rows.people`), so a rename,
bulk or not, changes the fingerprint of every page that shows the name.
tests/test_page_declarations.py renders each page and fails if it reads a
table, or people through a column, that its declaration leaves out.

Other databases have no such column: there the fingerprint is None, and the
page is rendered every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection


@dataclass(frozen=True)
class Rows:
    """The rows of one table that a page shows.

    `model` is an "app_label.Model" label; `where` picks the rows, with the
    page's named parameters (`%(m)s`); `people` are the columns of these rows
    that point at users whose names the page shows. An append-only table
    (`log`) is fingerprinted by its length and newest id. Rows without
    `where` are those the page's own query loaded: its key holds their values.
    """

    model: str
    where: str = ""
    people: tuple[str, ...] = ()
    log: bool = False

    @property
    def table(self) -> str:
        return apps.get_model(self.model)._meta.db_table


def _people_table() -> str:
    return apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table


class CachedPage:
    """A cached page, or a part of one, and the rows it shows.

    `params(obj)` gives the declaration's parameters for the object the page
    is about. With `per`, there is one fingerprint per value of that column
    (one per thread of a review), each with the people its rows point at.
    """

    def __init__(
        self,
        name: str,
        *rows: Rows,
        params: Callable[[Any], dict[str, int]] | None = None,
        per: str = "",
    ) -> None:
        if per and len(rows) != 1:
            raise ValueError(f"{name}: one fingerprint per {per} is made from one table's rows")
        self.name = name
        self.rows = rows
        self.params = params
        self.per = per

    def __repr__(self) -> str:
        return f"<CachedPage {self.name}>"

    @property
    def tables(self) -> frozenset[str]:
        """Every table whose rows the page shows."""
        people = {_people_table()} if self.people else set()
        return frozenset({rows.table for rows in self.rows} | people)

    @property
    def people(self) -> frozenset[tuple[str, str]]:
        """The (table, column) pairs through which the page shows people."""
        return frozenset((rows.table, column) for rows in self.rows for column in rows.people)

    @cached_property
    def sql(self) -> str:
        """The fingerprint's query, made from the declaration."""
        missing = [rows.model for rows in self.rows if not rows.where]
        if missing:
            raise TypeError(f"{self.name} is keyed by the values it shows, not by a fingerprint")
        return _per_group_sql(self.rows[0], self.per) if self.per else _page_sql(self.rows)

    def fingerprint(self, obj: object) -> str | None:
        """A digest that changes whenever anything the page shows changes; None off PostgreSQL."""
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self._params(obj))
            return cursor.fetchone()[0]

    def fingerprints(self, obj: object) -> dict[str, str] | None:
        """With `per`: a digest for each value of the column that has rows; None off PostgreSQL."""
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self._params(obj))
            return dict(cursor.fetchall())

    def _params(self, obj: object) -> dict[str, int]:
        if self.params is None:
            raise TypeError(f"{self.name} names its rows with parameters but declares no params")
        return self.params(obj)


def _quote(table: str) -> str:
    return connection.ops.quote_name(table)


def _rows_sql(rows: Rows) -> str:
    """Each row's id and writing transaction, in id order, as one string; a log's length and newest id."""
    if rows.log:
        state = "count(*)::text || '.' || coalesce(max(id), 0)::text"
    else:
        state = "string_agg(id::text || '.' || xmin::text, ',' ORDER BY id)"
    return f"(SELECT {state} FROM {_quote(rows.table)} WHERE {rows.where})"


def _people_sql(declared: tuple[Rows, ...]) -> str:
    """The id and writing transaction of every user the rows point at through their people."""
    shown = " UNION ALL ".join(
        f"SELECT {column} FROM {_quote(rows.table)} WHERE {rows.where}"
        for rows in declared
        for column in rows.people
    )
    return (
        "(SELECT string_agg(id::text || '.' || xmin::text, ',' ORDER BY id) "
        f"FROM {_quote(_people_table())} WHERE id IN ({shown}))"
    )


def _page_sql(declared: tuple[Rows, ...]) -> str:
    parts = [_rows_sql(rows) for rows in declared]
    if any(rows.people for rows in declared):
        parts.append(_people_sql(declared))
    return "SELECT md5(concat_ws('|', " + ", ".join(parts) + "))"


def _per_group_sql(rows: Rows, per: str) -> str:
    """One digest per value of `per`: its rows' ids and transactions, each with its people's."""
    columns = ", ".join(rows.people)
    people = "".join(
        f" LEFT JOIN {_quote(_people_table())} AS p{n} ON p{n}.id = t.{column}"
        for n, column in enumerate(rows.people)
    )
    states = "".join(
        f" || ':' || coalesce(p{n}.id::text || '.' || p{n}.xmin::text, '')"
        for n in range(len(rows.people))
    )
    return (
        f"SELECT t.grp, md5(string_agg(t.id::text || '.' || t.state{states}, ',' ORDER BY t.id)) "
        f"FROM (SELECT id, xmin::text AS state, {per} AS grp"
        f"{', ' + columns if columns else ''} FROM {_quote(rows.table)} WHERE {rows.where}) AS t"
        f"{people} GROUP BY t.grp"
    )


# What the pages about a milestone have in common ---------------------------------------


def milestone_params(milestone) -> dict[str, int]:
    """A milestone page's parameters: the milestone `m`, its project `p` and its squad `s`."""
    return {"m": milestone.pk, "p": milestone.project_id, "s": milestone.project.squad_id}


def review_params(review) -> dict[str, int]:
    """A review page's parameters: the review `r`, and its milestone's."""
    return {"r": review.pk, **milestone_params(review.milestone)}


# The milestone, its project and squad, the squad's members (their roles decide what the
# viewer may do, and they are offered as owners), and the artifacts.
AROUND_MILESTONE = (
    Rows("planning.Milestone", "id = %(m)s", people=("tech_lead_id",)),
    Rows("planning.Project", "id = %(p)s", people=("principal_engineer_id",)),
    Rows("squads.Squad", "id = %(s)s"),
    Rows("squads.Membership", "squad_id = %(s)s", people=("user_id",)),
    Rows("planning.Artifact", "milestone_id = %(m)s", people=("updated_by_id",)),
)

UNKNOWNS_OF_MILESTONE = "SELECT id FROM planning_unknown WHERE milestone_id = %(m)s"
