"""What each page asks PostgreSQL, and how PostgreSQL answers: EXPLAIN ANALYZE of its queries.

For every page of a data set, a first view (caches empty) in process, its
queries captured; each SELECT is explained with ANALYZE. The page's main query
is the one that took longest; its plan goes into BENCHMARKS.md. A sequential
scan of one of the large tables in any of a page's queries is named: it is what
grows with the organisation.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

# Tables that grow with the organisation: a sequential scan of one reads all of it.
LARGE = {
    "planning_activity",
    "planning_unknown",
    "planning_milestone",
    "planning_deferralrequest",
    "planning_project",
    "notifications_notification",
    "squads_membership",
}


def _scans(plan: dict[str, Any]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in LARGE:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


def _explain(sql: str) -> tuple[float, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        result = cursor.fetchone()[0]
    if isinstance(result, str):
        result = json.loads(result)
    return result[0]["Execution Time"], _scans(result[0]["Plan"])


def _plan_text(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def _shape(sql: str) -> str:
    return re.sub(r"\b\d+\b", "N", sql)


def explain(data: dict, pages: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per page: its main query (SQL, milliseconds, plan) and the large tables scanned whole.

    The queries every page runs (the session, the user, the navigation bar's counts:
    those of the floor) are the entry "every page", and no page's main query.
    """
    client = Client()
    client.force_login(data["user"])
    found: dict[str, dict[str, Any]] = {}
    common: set[str] = set()
    for name, path in data["pages"].items():
        if name != "floor" and pages is not None and name not in pages:
            continue
        for each in caches.all():
            each.clear()
        with CaptureQueriesContext(connection) as queries:
            answer = client.get(path)
        assert answer.status_code == 200, (name, answer.status_code)
        timed = []
        scanned: set[str] = set()
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            ms, scans = _explain(sql)
            scanned.update(scans)
            if name == "floor":
                common.add(_shape(sql))
            elif _shape(sql) in common:
                continue
            timed.append((ms, sql))
        if not timed:
            continue
        ms, sql = max(timed)
        found["every page" if name == "floor" else name] = {
            "sql": sql,
            "ms": ms,
            "plan": _plan_text(sql),
            "seq_scans": sorted(scanned),
            "queries": len(timed),
            "total_ms": sum(t for t, _ in timed),
        }
    return found


def markdown(found: dict[str, dict[str, Any]], title: str) -> list[str]:
    """BENCHMARKS.md's notes: per page its main query and plan."""
    lines = [
        f"### {title}",
        "",
        "Each page's queries on a first view, explained with ANALYZE on this data set; the",
        "main query is the one that took longest. *Every page* is what all pages run (the",
        "session, the user, the navigation bar's counts); the other rows leave those out.",
        "*Whole-table scans* names any large table (activity, unknowns, milestones,",
        "deferrals, projects, notifications, memberships) one of the page's queries reads in",
        "full: at this size the planner may rightly prefer that to an index.",
        "",
        "| page | queries | all queries (ms) | main query (ms) | whole-table scans |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, page in found.items():
        scans = ", ".join(page["seq_scans"]) or "none"
        lines.append(
            f"| {name} | {page['queries']} | {page['total_ms']:.1f} | {page['ms']:.1f} | {scans} |"
        )
    for name, page in found.items():
        sql = page["sql"] if len(page["sql"]) <= 1500 else page["sql"][:1500] + " …"
        lines += [
            "",
            f"**{name}** ({page['ms']:.1f} ms):",
            "",
            "```sql",
            sql,
            "```",
            "",
            "```",
            page["plan"],
            "```",
        ]
    return [*lines, ""]
