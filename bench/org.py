"""An organisation's worth of planning data, made with set-based SQL on PostgreSQL.

At 100 % (`build(1.0)`): 200 squads, 2,000 projects, 20,000 milestones,
1,000,000 activity rows, 1,000,000 unknowns and 500,000 notifications; at 1 %
a hundredth of each. The rows are made by `INSERT … SELECT … FROM
generate_series` (a handful of statements, no Python per row), consistent with
the models' constraints: unique slugs and numbers, a resolution for every
resolved unknown, at most one pending deferral per unknown, a note for every
rejected one.

Inside the organisation, one person is measured (`MEASURED`): what they see
is the same at every fraction, so that a page's cost can only change because
the organisation around them grew. They are a member of 20 squads (the tech
lead of the first), have 10,000 notifications, lead a project of 200
milestones (among them the benchmark's milestone page and its design review
with 200 comments, as `bench.pages` builds them), and are the principal
engineer of projects with 100 deferrals waiting for them. At 1 % the
organisation is no bigger than what the measured person needs: its 20
squads, 200 milestones, etc.

    BENCH_DATABASE_URL=postgres://… python bench/org.py 0.01   # builds, prints the rate
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# At 100 %: the organisation as the issue sizes it.
FULL = {
    "squads": 200,
    "projects": 2_000,
    "milestones": 20_000,
    "activities": 1_000_000,
    "unknowns": 1_000_000,
    "notifications": 500_000,
}
# People in the organisation per squad, and squads each belongs to.
MEMBERS_PER_SQUAD = 10
SQUADS_PER_PERSON = 2
# One unknown in this many has a deferral (pending, approved or rejected): a prime, so
# that the unknowns it picks have every status.
DEFERRAL_EVERY = 41
MEASURED = "bench-lead"


@dataclass(frozen=True)
class Slice:
    """What the measured person sees, whatever the size of the organisation."""

    squads: int = 20
    notifications: int = 10_000
    milestones: int = 200  # in the project they lead, the measured milestone among them
    pending: int = 100  # deferrals waiting for them as principal engineer
    decided: int = 40  # deferrals they decided (the queue shows the last 20)
    owned_every: int = 50  # they own one unknown in this many of their squads'
    content: float = 1.0  # the milestone and review pages' data (1.0: as bench.pages has it)

    def scaled(self, scale: float) -> Slice:
        def n(count: int) -> int:
            return max(1, round(count * scale))

        return replace(
            self,
            squads=max(2, round(self.squads * scale)),
            notifications=n(self.notifications),
            milestones=max(2, round(self.milestones * scale)),
            pending=n(self.pending),
            decided=n(self.decided),
            content=self.content * scale,
        )


def sizes(fraction: float, measured: Slice) -> dict[str, int]:
    """Rows of each kind at `fraction`, never fewer than the measured person's slice needs."""
    wanted = {name: round(count * fraction) for name, count in FULL.items()}
    squads = max(measured.squads, wanted["squads"])
    projects = max(squads, wanted["projects"])
    return {
        "squads": squads,
        "people": max(MEMBERS_PER_SQUAD, squads * MEMBERS_PER_SQUAD // SQUADS_PER_PERSON),
        "projects": projects,
        "milestones": max(projects, wanted["milestones"]),
        "activities": wanted["activities"],
        # Enough in each project for a principal engineer's queue.
        "unknowns": max(projects * 30, wanted["unknowns"]),
        "notifications": wanted["notifications"],
    }


def _execute(sql: str, params: Any = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def truncate() -> None:
    """Empty every table the benchmark fills (people included: they are made again).

    Inside a transaction that already wrote rows (a test's), their deferred
    foreign-key checks run first: TRUNCATE refuses to run with checks pending.
    """
    _execute("SET CONSTRAINTS ALL IMMEDIATE")
    _execute(
        "TRUNCATE accounts_user, squads_squad, notifications_notification, "
        "notifications_webhookdelivery, django_session RESTART IDENTITY CASCADE"
    )
    _execute("SET CONSTRAINTS ALL DEFERRED")


def build_organisation(fraction: float, measured: Slice = Slice()) -> dict[str, int]:
    """The organisation's rows at `fraction`, set-based; returns how many of each."""
    n = sizes(fraction, measured)
    # People: org-p1 … org-pN, who cannot log in (an unusable password).
    _execute(
        """
        INSERT INTO accounts_user (password, is_superuser, username, email, is_staff, is_active,
                                   date_joined, full_name, reminder_delivery)
        SELECT '!', false, 'org-p' || g, 'org-p' || g || '@example.com', false, true,
               now() - interval '400 days', 'Person ' || g,
               CASE WHEN g %% 4 = 0 THEN 'daily_digest' ELSE 'immediate' END
        FROM generate_series(1, %(people)s) g
        """,
        n,
    )
    _execute(
        """
        INSERT INTO squads_squad (name, slug, description, breakout_mode, remind_after_days,
                                  escalate_after_days, vendor_followup_days, min_review_approvals,
                                  webhook_url, created_at, webhook_secret,
                                  require_principal_approval)
        SELECT 'Squad ' || to_char(g, 'FM000'), 'org-' || to_char(g, 'FM000'), '', 'engineer',
               3, 7, 5, 2, '', now() - interval '400 days', md5('a' || g) || md5('b' || g), false
        FROM generate_series(1, %(squads)s) g
        """,
        n,
    )
    # Squad s has the people (s·members/2 + k) mod N for k < members: each person is in
    # two squads; the first member of each squad is its tech lead.
    _execute(
        """
        WITH s AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM squads_squad),
             p AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM accounts_user
                   WHERE starts_with(username, 'org-p'))
        INSERT INTO squads_membership (role, joined_at, user_id, squad_id)
        SELECT CASE WHEN k = 0 THEN 'tech_lead' WHEN k = 9 THEN 'product' ELSE 'engineer' END,
               now() - interval '300 days', p.id, s.id
        FROM s CROSS JOIN generate_series(0, %(members)s - 1) k
        JOIN p ON p.i = (s.i * %(members)s / %(per_person)s + k) %% %(people)s
        """,
        {**n, "members": MEMBERS_PER_SQUAD, "per_person": SQUADS_PER_PERSON},
    )
    # Projects round-robin over the squads, led by the squad's tech lead; the principal
    # engineer is the tech lead of the next squad.
    _execute(
        """
        WITH s AS (
            SELECT sq.id, row_number() OVER (ORDER BY sq.id) - 1 AS i, m.user_id AS lead
            FROM squads_squad sq JOIN squads_membership m
              ON m.squad_id = sq.id AND m.role = 'tech_lead'
        )
        INSERT INTO planning_project (name, slug, summary, created_at, updated_at,
                                      principal_engineer_id, squad_id, tech_lead_id)
        SELECT 'Project ' || g, 'project-' || g, 'A body of work of the squad.',
               now() - interval '300 days', now() - interval '300 days', nxt.lead, s.id, s.lead
        FROM generate_series(0, %(projects)s - 1) g
        JOIN s ON s.i = g %% %(squads)s
        JOIN s nxt ON nxt.i = (g + 1) %% %(squads)s
        """,
        n,
    )
    # Milestones round-robin over the projects, numbered 1, 2, … within each; a spread of
    # phases, one in eight done.
    _execute(
        """
        WITH p AS (SELECT id, tech_lead_id, row_number() OVER (ORDER BY id) - 1 AS i
                   FROM planning_project)
        INSERT INTO planning_milestone (number, title, goal, phase, due_on, created_at,
                                        updated_at, project_id, tech_lead_id)
        SELECT g / %(projects)s + 1, 'Milestone ' || g, '',
               (ARRAY['architecture','protocols','design_spec','unknowns','design_review',
                      'kickoff','task_breakout','done'])[g %% 8 + 1],
               current_date + (g %% 120 - 30),
               now() - make_interval(days => g %% 365), now() - make_interval(days => g %% 30),
               p.id, p.tech_lead_id
        FROM generate_series(0, %(milestones)s - 1) g JOIN p ON p.i = g %% %(projects)s
        """,
        n,
    )
    _execute("DROP TABLE IF EXISTS org_milestone, org_people")
    _execute(
        "CREATE TEMP TABLE org_milestone AS SELECT m.id, m.tech_lead_id AS lead,"
        " row_number() OVER (ORDER BY m.id) - 1 AS i FROM planning_milestone m"
    )
    _execute("CREATE UNIQUE INDEX ON org_milestone (i)")
    _execute(
        "CREATE TEMP TABLE org_people AS SELECT array_agg(id ORDER BY id) AS ids"
        " FROM accounts_user WHERE starts_with(username, 'org-p')"
    )
    # Unknowns round-robin over the milestones; a fifth resolved (with its resolution),
    # a tenth deferred, the rest open, investigating or waiting on a vendor.
    _execute(
        """
        INSERT INTO planning_unknown (number, title, detail, priority, status, vendor,
                                      vendor_contacted_on, due_on, resolution, ticket_url,
                                      last_activity_at, created_at, created_by_id,
                                      milestone_id, owner_id, from_verdict_id)
        SELECT g / %(milestones)s + 1, 'Unknown ' || g, '',
               (ARRAY['blocker','high','normal','normal','low'])[g %% 5 + 1],
               (ARRAY['open','investigating','waiting_on_vendor','resolved','open','deferred',
                      'investigating','open','resolved','open'])[g %% 10 + 1],
               CASE WHEN g %% 10 = 2 THEN 'Vendor ' || g %% 50 ELSE '' END,
               CASE WHEN g %% 10 = 2 THEN current_date - g %% 20 END,
               CASE WHEN g %% 3 = 0 THEN current_date + (g %% 60 - 20) END,
               CASE WHEN g %% 10 IN (3, 8) THEN 'Answered.' ELSE '' END, '',
               now() - make_interval(hours => g %% 2000),
               now() - make_interval(hours => g %% 5000), m.lead, m.id,
               CASE WHEN g %% 7 = 0 THEN NULL
                    ELSE people.ids[(g::bigint * 7919) %% array_length(people.ids, 1) + 1] END, NULL
        FROM generate_series(0, %(unknowns)s - 1) g
        JOIN org_milestone m ON m.i = g %% %(milestones)s
        CROSS JOIN org_people people
        """,
        n,
    )
    # Deferrals: one unknown in DEFERRAL_EVERY; pending for open ones, approved for the
    # deferred, rejected (with its note) for some resolved ones.
    _execute(
        """
        INSERT INTO planning_deferralrequest (reason, defer_until, status, decided_at,
                                              decision_note, created_at, decided_by_id,
                                              requested_by_id, unknown_id)
        SELECT 'Not needed before launch.', 'M9', d.status,
               CASE WHEN d.status <> 'pending' THEN u.created_at + interval '2 days' END,
               CASE WHEN d.status = 'rejected' THEN 'Needed first.' ELSE '' END,
               u.created_at + interval '1 day',
               CASE WHEN d.status <> 'pending' THEN p.principal_engineer_id END,
               m.tech_lead_id, u.id
        FROM planning_unknown u
        JOIN planning_milestone m ON m.id = u.milestone_id
        JOIN planning_project p ON p.id = m.project_id
        CROSS JOIN LATERAL (SELECT CASE u.status WHEN 'deferred' THEN 'approved'
                                                 WHEN 'resolved' THEN 'rejected'
                                                 ELSE 'pending' END AS status) d
        WHERE u.id %% %(every)s = 0
        """,
        {"every": DEFERRAL_EVERY},
    )
    # Activity: each milestone's timeline over the last year.
    _execute(
        """
        INSERT INTO planning_activity (verb, summary, data, created_at, actor_id, milestone_id)
        SELECT v.verb, v.verb || ' ' || g, '{}'::jsonb,
               now() - make_interval(mins => (g * 37) %% 525600), m.lead, m.id
        FROM generate_series(0, %(activities)s - 1) g
        JOIN org_milestone m ON m.i = g %% %(milestones)s
        CROSS JOIN LATERAL (SELECT (ARRAY['note','unknown_added','artifact_saved',
                                          'phase_advanced','unknown_resolved'])[g %% 5 + 1]
                                   AS verb) v
        """,
        n,
    )
    # Notifications: spread over the people, two in three read, none waiting to be emailed.
    _execute(
        """
        INSERT INTO notifications_notification (kind, text, link, created_at, read_at,
                                                dedupe_key, email, email_claimed_at, emailed_at,
                                                recipient_id, calendar, email_error)
        SELECT (ARRAY['owner_nudge','escalation','unknown_assigned','review_invited',
                      'review_opened','deferral_decided'])[g %% 6 + 1],
               'Something for you ' || g, '', now() - make_interval(mins => g %% 525600),
               CASE WHEN g %% 3 <> 0 THEN now() - make_interval(mins => g %% 500000) END,
               NULL, CASE WHEN g %% 2 = 0 THEN 'sent' ELSE 'none' END, NULL,
               CASE WHEN g %% 2 = 0 THEN now() - make_interval(mins => g %% 525600) END,
               people.ids[(g::bigint * 104729) %% array_length(people.ids, 1) + 1], '', ''
        FROM generate_series(0, %(notifications)s - 1) g CROSS JOIN org_people people
        """,
        n,
    )
    _execute("DROP TABLE IF EXISTS org_milestone, org_people")
    return n


def notify(user_id: int, count: int) -> None:
    """`count` notifications for one person, newest first, a third of them unread."""
    _execute(
        """
        INSERT INTO notifications_notification (kind, text, link, created_at, read_at,
                                                dedupe_key, email, email_claimed_at, emailed_at,
                                                recipient_id, calendar, email_error)
        SELECT (ARRAY['owner_nudge','review_invited','unknown_assigned','deferral_requested',
                      'changes_requested'])[g %% 5 + 1],
               'A reminder about something of yours, number ' || g, '',
               now() - make_interval(mins => g * 7),
               CASE WHEN g %% 3 <> 0 THEN now() - make_interval(mins => g * 7 - 1) END,
               NULL, 'none', NULL, NULL, %(user)s, '', ''
        FROM generate_series(1, %(count)s) g
        """,
        {"user": user_id, "count": count},
    )


def more_milestones(project_id: int, count: int) -> None:
    """`count` more milestones in a project (numbered after its last), in varied phases."""
    _execute(
        """
        INSERT INTO planning_milestone (number, title, goal, phase, due_on, created_at,
                                        updated_at, project_id, tech_lead_id)
        SELECT last.number + g, 'Milestone ' || (last.number + g), '',
               (ARRAY['architecture','protocols','design_spec','unknowns','design_review',
                      'kickoff','task_breakout','done'])[g %% 8 + 1],
               current_date + g %% 90, now() - make_interval(days => g), now(),
               %(project)s, p.tech_lead_id
        FROM planning_project p,
             (SELECT coalesce(max(number), 0) AS number FROM planning_milestone
              WHERE project_id = %(project)s) last,
             generate_series(1, %(count)s) g
        WHERE p.id = %(project)s
        """,
        {"project": project_id, "count": count},
    )


def principal_queue(user_id: int, project_ids: list[int], *, pending: int, decided: int) -> int:
    """Deferrals for `user_id` to decide: `pending` waiting and `decided` decided by them.

    They go on unknowns of `project_ids` (whose principal engineer the user becomes)
    that are unsettled and have no pending deferral yet; requested by the milestone's
    tech lead. Returns how many are waiting.
    """
    _execute(
        "UPDATE planning_project SET principal_engineer_id = %s WHERE id = ANY(%s)",
        [user_id, project_ids],
    )
    # Theirs alone: what the organisation had asked of these projects' principal goes.
    _execute(
        """
        DELETE FROM planning_deferralrequest d USING planning_unknown u, planning_milestone m
        WHERE u.id = d.unknown_id AND m.id = u.milestone_id AND m.project_id = ANY(%s)
        """,
        [project_ids],
    )
    made = _execute(
        """
        INSERT INTO planning_deferralrequest (reason, defer_until, status, decided_at,
                                              decision_note, created_at, decided_by_id,
                                              requested_by_id, unknown_id)
        SELECT 'We can launch without knowing.', 'M' || (u.number %% 9 + 2),
               CASE WHEN k <= %(pending)s THEN 'pending'
                    WHEN k %% 2 = 0 THEN 'approved' ELSE 'rejected' END,
               CASE WHEN k > %(pending)s THEN now() - make_interval(hours => k::int) END,
               CASE WHEN k > %(pending)s AND k %% 2 = 1 THEN 'Not before the review.'
                    ELSE '' END,
               now() - make_interval(hours => k::int + 24),
               CASE WHEN k > %(pending)s THEN %(user)s END, m.tech_lead_id, u.id
        FROM (SELECT u.*, row_number() OVER (ORDER BY u.id) AS k
              FROM planning_unknown u JOIN planning_milestone m ON m.id = u.milestone_id
              WHERE m.project_id = ANY(%(projects)s)
                AND u.status IN ('open', 'investigating', 'waiting_on_vendor')
                AND NOT EXISTS (SELECT 1 FROM planning_deferralrequest d
                                WHERE d.unknown_id = u.id AND d.status = 'pending')
              ORDER BY u.id LIMIT %(total)s) u
        JOIN planning_milestone m ON m.id = u.milestone_id
        """,
        {
            "user": user_id,
            "projects": project_ids,
            "pending": pending,
            "total": pending + decided,
        },
    )
    return min(made, pending)


def build(fraction: float, measured: Slice = Slice()) -> dict:
    """The organisation at `fraction` with the measured person's slice in it.

    Returns, as `bench.pages.build` does, the user to load the pages as and the
    pages' paths, and with them the rows of each kind and the seconds the
    organisation's rows took (`rows`, `seconds`).
    """
    from django.db import connection, transaction

    from accounts.models import User
    from bench import pages
    from planning import services
    from planning.models import Project
    from squads.models import Membership, Squad

    started = time.perf_counter()
    with transaction.atomic():
        truncate()
        made = build_organisation(fraction, measured)
    bulk_seconds = time.perf_counter() - started

    lead = User.objects.create(username=MEASURED, email="lead@example.com", full_name="Bench Lead")
    squads = list(Squad.objects.order_by("id")[: measured.squads])
    Membership.objects.bulk_create(
        Membership(squad=squad, user=lead, role="tech_lead" if i == 0 else "engineer")
        for i, squad in enumerate(squads)
    )
    home = squads[0]
    engineers = [
        m.user
        for m in Membership.objects.filter(squad=home, role="engineer")
        .select_related("user")
        .order_by("user_id")[:4]
    ]
    project = services.create_project(lead, home, name="Measured", slug="measured", tech_lead=lead)
    measured_pages = pages.build_measured(lead, engineers, project, scale=measured.content)
    more_milestones(project.pk, measured.milestones - 2)  # the two pages.build_measured made
    # Unknowns of theirs across their squads (none waits for their own decision).
    _execute(
        """
        UPDATE planning_unknown u SET owner_id = %(user)s
        FROM planning_milestone m JOIN planning_project p ON p.id = m.project_id
        WHERE m.id = u.milestone_id AND p.squad_id = ANY(%(squads)s) AND u.id %% %(every)s = 1
        """,
        {"user": lead.pk, "squads": [s.pk for s in squads], "every": measured.owned_every},
    )
    notify(lead.pk, measured.notifications)
    # Principal engineer of projects beyond their squads where the organisation has them.
    beyond = Project.objects.exclude(squad__in=squads).order_by("id")
    within = Project.objects.filter(squad__in=squads[1:]).order_by("id")
    others = [*beyond.values_list("id", flat=True)[:10], *within.values_list("id", flat=True)]
    others = others[:10]
    waiting = principal_queue(lead.pk, others, pending=measured.pending, decided=measured.decided)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    rows = {}
    for table, name in [
        ("squads_squad", "squads"),
        ("planning_project", "projects"),
        ("planning_milestone", "milestones"),
        ("planning_activity", "activities"),
        ("planning_unknown", "unknowns"),
        ("notifications_notification", "notifications"),
        ("planning_deferralrequest", "deferrals"),
    ]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # the names come from the list above
            rows[name] = cursor.fetchone()[0]
    paths = {
        "floor": "/bench/floor/",
        "dashboard": "/",
        "inbox": "/inbox/",
        "project page": project.get_absolute_url(),
        "unknowns page": measured_pages["unknowns page"],
        "approvals queue": "/approvals/",
        "milestone page": measured_pages["milestone page"],
        "review page": measured_pages["review page"],
        "API list of unknowns": measured_pages["API list of unknowns"],
    }
    return {
        "user": lead,
        "people": [lead, *engineers],
        "pages": paths,
        "rows": rows,
        "made": made,
        "waiting": waiting,
        "seconds": bulk_seconds,
        "total_seconds": time.perf_counter() - started,
    }


def main() -> None:
    """Build the organisation in BENCH_DATABASE_URL at the fraction given, and time it."""
    from bench.run import setup

    fraction = float(sys.argv[1]) if len(sys.argv) > 1 else 0.01
    setup()
    data = build(fraction)
    bulk = sum(data["made"][k] for k in ("activities", "unknowns", "notifications", "milestones"))
    print(f"Organisation at {fraction:.0%}: {data['rows']}")
    print(
        f"  organisation's rows in {data['seconds']:.1f} s ({bulk / data['seconds']:,.0f} rows/s),"
        f" with the measured person's slice {data['total_seconds']:.1f} s"
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    main()
