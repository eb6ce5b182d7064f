"""Benchmark of the reminder sweep on PostgreSQL: selection and claiming, delivery excluded.

Builds N unknowns of which 10% are due for an owner reminder, then times
`write_reminders` + `claim_deliveries` (the work of one beat tick before any
email leaves) and counts its queries. Run through `make bench`.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

UNKNOWNS_PER_MILESTONE = 1000


def build(total: int) -> None:
    """A squad, a project and `total` unknowns over milestones of 1000, 10% of them due."""
    from accounts.models import User
    from notifications.models import Notification
    from planning.models import Milestone, Project, Unknown
    from squads.models import Membership, Squad

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE notifications_notification, planning_unknown, planning_milestone, "
            "planning_project, squads_membership, squads_squad RESTART IDENTITY CASCADE"
        )
    lead, _ = User.objects.get_or_create(
        username="bench-lead", defaults={"email": "lead@example.com"}
    )
    owner, _ = User.objects.get_or_create(
        username="bench-owner", defaults={"email": "owner@example.com"}
    )
    squad = Squad.objects.create(name="Bench", slug="bench")
    Membership.objects.create(squad=squad, user=lead, role="tech_lead")
    Membership.objects.create(squad=squad, user=owner, role="engineer")
    project = Project.objects.create(squad=squad, name="Bench", slug="bench", tech_lead=lead)
    milestones = Milestone.objects.bulk_create(
        Milestone(
            project=project, number=n + 1, title=f"M{n + 1}", tech_lead=lead, phase="unknowns"
        )
        for n in range(max(1, total // UNKNOWNS_PER_MILESTONE))
    )
    now = timezone.now()
    idle, fresh = now - timedelta(days=4), now - timedelta(hours=2)
    batch: list[Unknown] = []
    for i in range(total):
        milestone = milestones[i // UNKNOWNS_PER_MILESTONE % len(milestones)]
        batch.append(
            Unknown(
                milestone=milestone,
                number=i % UNKNOWNS_PER_MILESTONE + 1,
                title=f"Unknown {i}",
                priority="normal",
                owner=owner,
                status="open" if i % 2 else "investigating",
                last_activity_at=idle if i % 10 == 0 else fresh,
            )
        )
        if len(batch) == 10_000:
            Unknown.objects.bulk_create(batch)
            batch = []
    Unknown.objects.bulk_create(batch)
    Notification.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def sweep_once(trace_memory: bool = False) -> tuple[float, int, int, int]:
    """One sweep's selection and claiming: seconds, queries, reminders written, peak bytes.

    Memory is traced in a run of its own: tracing slows every allocation.
    """
    from notifications.delivery import claim_deliveries
    from notifications.models import Notification
    from planning.services import reminders

    Notification.objects.all().delete()
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        written = reminders.write_reminders()
        claim_deliveries()
    elapsed = time.perf_counter() - started
    peak = 0
    if trace_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return elapsed, len(queries), written.created, peak


def run(sizes: list[int], repeats: int = 5) -> list[dict]:
    rows = []
    for total in sizes:
        print(f"  building {total:,} unknowns…", flush=True)
        build(total)
        sweep_once()  # warm up: caches, query plans
        runs = [sweep_once() for _ in range(repeats)]
        traced = sweep_once(trace_memory=True)
        assert len({r[1] for r in runs}) == 1, "the query count changed between runs"
        rows.append(
            {
                "unknowns": total,
                "due": runs[0][2],
                "seconds": statistics.median(r[0] for r in runs),
                "queries": runs[0][1],
                "peak_mib": traced[3] / 2**20,
            }
        )
        print(f"  {total:,} unknowns: {rows[-1]}", flush=True)
    return rows
