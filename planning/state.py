"""Fingerprints of every row a page shows (a milestone's, a review's), read in one query.

On PostgreSQL each row version carries the id of the transaction that wrote
it, the `xmin` system column. A row inserted, updated or deleted therefore
changes the fingerprint of its table's rows for the milestone, whatever
wrote it: a service, the admin, a bulk update or a data migration. A page
cached under the fingerprint is never stale, and the query that reads it
costs far less than the dozen the page would otherwise run.

Other databases have no such column: there the fingerprint is None, and the
page is rendered every time.
"""

from __future__ import annotations

from django.db import connection

from planning.models import (
    Activity,
    Artifact,
    BreakoutSession,
    Comment,
    Concern,
    DeferralRequest,
    DesignReview,
    KickoffMeeting,
    Milestone,
    Project,
    Story,
    Subtask,
    Unknown,
    Verdict,
)
from squads.models import Membership, Squad

_SQL: dict[str, str] = {}


def _rows(model, where: str) -> str:
    """Each row's id and writing transaction, in id order, as one string."""
    table = connection.ops.quote_name(model._meta.db_table)
    return (
        f"(SELECT string_agg(id::text || '.' || xmin::text, ',' ORDER BY id) "
        f"FROM {table} WHERE {where})"
    )


def _log(model, where: str) -> str:
    """An append-only log: its length and newest id say all."""
    table = connection.ops.quote_name(model._meta.db_table)
    return (
        f"(SELECT count(*)::text || '.' || coalesce(max(id), 0)::text FROM {table} WHERE {where})"
    )


def _digest(parts: list[str]) -> str:
    return "SELECT md5(concat_ws('|', " + ", ".join(parts) + "))"


def _milestone_sql() -> str:
    if "milestone" not in _SQL:
        unknowns = f"SELECT id FROM {Unknown._meta.db_table} WHERE milestone_id = %(m)s"
        stories = f"SELECT id FROM {Story._meta.db_table} WHERE milestone_id = %(m)s"
        _SQL["milestone"] = _digest(
            [
                *_around_milestone(),
                _rows(Unknown, "milestone_id = %(m)s"),
                _rows(DeferralRequest, f"unknown_id IN ({unknowns})"),
                _rows(DesignReview, "milestone_id = %(m)s"),
                _rows(KickoffMeeting, "milestone_id = %(m)s"),
                _rows(Concern, "milestone_id = %(m)s"),
                _rows(BreakoutSession, "milestone_id = %(m)s"),
                _rows(Story, "milestone_id = %(m)s"),
                _rows(Subtask, f"story_id IN ({stories})"),
                _log(Activity, "milestone_id = %(m)s"),
            ]
        )
    return _SQL["milestone"]


def _review_sql() -> str:
    if "review" not in _SQL:
        invitees = DesignReview.invitees.through
        _SQL["review"] = _digest(
            [
                *_around_milestone(),
                _rows(DesignReview, "id = %(r)s"),
                _rows(invitees, "designreview_id = %(r)s"),
                _rows(Comment, "review_id = %(r)s"),
                _rows(Verdict, "review_id = %(r)s"),
            ]
        )
    return _SQL["review"]


def _unknowns_sql() -> str:
    if "unknowns" not in _SQL:
        unknowns = f"SELECT id FROM {Unknown._meta.db_table} WHERE milestone_id = %(m)s"
        _SQL["unknowns"] = _digest(
            [
                _rows(Unknown, "milestone_id = %(m)s"),
                _rows(DeferralRequest, f"unknown_id IN ({unknowns})"),
            ]
        )
    return _SQL["unknowns"]


def _around_milestone() -> list[str]:
    """The milestone, its project and squad, the squad's members, its artifacts."""
    return [
        _rows(Milestone, "id = %(m)s"),
        _rows(Project, "id = %(p)s"),
        _rows(Squad, "id = %(s)s"),
        _rows(Membership, "squad_id = %(s)s"),
        _rows(Artifact, "milestone_id = %(m)s"),
    ]


def _read(sql: str, **params) -> str | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def milestone_fingerprint(milestone: Milestone) -> str | None:
    """A digest that changes whenever anything the milestone page shows changes; None off PostgreSQL.

    Names of people are not in it: pages add `accounts.models.names_version()`.
    """
    project = milestone.project
    return _read(_milestone_sql(), m=milestone.pk, p=project.pk, s=project.squad_id)


def review_fingerprint(review: DesignReview) -> str | None:
    """The same for a review page: the review, its guests, comments and verdicts, the artifacts."""
    milestone = review.milestone
    project = milestone.project
    return _read(_review_sql(), r=review.pk, m=milestone.pk, p=project.pk, s=project.squad_id)


def unknowns_fingerprint(milestone: Milestone) -> str | None:
    """The same for a milestone's unknowns and their deferral requests (the API's list)."""
    return _read(_unknowns_sql(), m=milestone.pk)
