"""Throughput and latency of the main pages against a floor view, under gunicorn (2 workers).

The data set: a milestone with 7 artifacts (with diagrams), 60 unknowns, 30
stories of 4 sub-tasks, 300 activity rows, and a design review with 200
comments; 200 unknowns on another milestone for the API list; and for the
insights page a squad of 200 milestones with 50,000 activity rows. Query
counts are measured in process at 10% and 100% of it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %f %f %f %d %d\\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""
BODY = """The part of the system this milestone touches.

```mermaid
flowchart LR
  shopper([Shopper]) --> checkout[Checkout]
  checkout --> vault[[Vault provider]]
  checkout --> payments[Payments service]
  payments --> ledger[(Ledger)]
```

| field | type |
| --- | --- |
| token | string |
"""


def build(scale: float) -> dict:
    """The data set at `scale` (0.1 or 1.0); returns the paths and the user to load them as.

    Beside the four pages above, the measured person's world as the organisation
    benchmark (bench/org.py) has it, with nothing around it: member of 20 squads,
    10,000 notifications, a project of 200 milestones, 100 deferrals waiting for
    them as principal engineer (all scaled with `scale`). Their dashboard, inbox,
    project page, the milestone's unknowns page and their approvals queue are
    measured on it, to compare with the same pages in the organisation.
    """
    from accounts.models import User
    from bench import frontend, org
    from planning import services
    from squads.models import Membership, Squad

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE notifications_notification, planning_unknown, planning_milestone, "
            "planning_project, squads_membership, squads_squad RESTART IDENTITY CASCADE"
        )
    lead, _ = User.objects.get_or_create(
        username="bench-lead", defaults={"email": "lead@example.com", "full_name": "Bench Lead"}
    )
    engineers = [
        User.objects.get_or_create(
            username=f"bench-eng{i}", defaults={"email": f"e{i}@example.com"}
        )[0]
        for i in range(4)
    ]
    squad = Squad.objects.create(name="Bench", slug="bench", min_review_approvals=1)
    Membership.objects.create(squad=squad, user=lead, role="tech_lead")
    for person in engineers:
        Membership.objects.create(squad=squad, user=person, role="engineer")
    project = services.create_project(lead, squad, name="Bench", slug="bench", tech_lead=lead)
    measured = build_measured(lead, engineers, project, scale=scale)
    diagrams = frontend.build_milestone(lead, project)
    insights = build_insights(lead, engineers, milestones=n_of(200, scale),
                              activities=n_of(50_000, scale))  # fmt: skip
    around = org.Slice().scaled(scale)
    vetted = build_squads_around(lead, engineers[0], squads=around.squads - 2)
    org.more_milestones(project.pk, around.milestones - 3)  # beside the three made above
    org.notify(lead.pk, around.notifications)
    org.principal_queue(lead.pk, vetted, pending=around.pending, decided=around.decided)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    pages = {
        "floor": "/bench/floor/",
        "milestone page": measured["milestone page"],
        "review page": measured["review page"],
        "API list of unknowns": measured["API list of unknowns"],
        "insights page": insights,
        "dashboard": "/",
        "inbox": "/inbox/",
        "project page": project.get_absolute_url(),
        "unknowns page": measured["unknowns page"],
        "approvals queue": "/approvals/",
    }
    return {
        "user": lead,
        "people": [lead, *engineers],
        "pages": {k: v for k, v in pages.items() if _routed(v)},
        "diagram pages": diagrams,
    }


def n_of(count: int, scale: float) -> int:
    return max(1, round(count * scale))


def build_measured(lead, engineers, project, *, scale: float) -> dict[str, str]:
    """In `project` (led by `lead`, `engineers` in its squad): the measured milestone and
    its design review, and a second milestone whose unknowns the API lists; their paths.

    A milestone with 7 artifacts (with diagrams), 60 unknowns, 30 stories of 4
    sub-tasks, 300 activity rows, in design review with 200 comments and three
    approvals; 200 unknowns on the other (all scaled with `scale`).
    """
    from planning import services
    from planning.models import Activity, Comment, Milestone, Story, Subtask, Unknown, Verdict

    def n(count: int) -> int:
        return n_of(count, scale)

    milestone = services.create_milestone(lead, project, title="Big milestone")
    for artifact in milestone.artifacts.all():
        services.save_artifact_body(lead, artifact, body=BODY, base_revision=0)
    Milestone.objects.filter(pk=milestone.pk).update(phase="design_review")
    Unknown.objects.bulk_create(
        Unknown(milestone=milestone, number=i + 1, title=f"Unknown {i}", owner=engineers[i % 4],
                priority=["blocker", "high", "normal", "low"][i % 4], status="open")
        for i in range(n(60))
    )  # fmt: skip
    stories = Story.objects.bulk_create(
        Story(milestone=milestone, number=i + 1, title=f"Story {i}", assignee=engineers[i % 4])
        for i in range(n(30))
    )
    Subtask.objects.bulk_create(
        Subtask(story=story, title=f"Sub-task {j}", assignee=engineers[j])
        for story in stories
        for j in range(4)
    )
    Activity.objects.bulk_create(
        Activity(milestone=milestone, actor=lead, verb="note", summary=f"Something happened {i}.")
        for i in range(n(300))
    )
    milestone.refresh_from_db()
    review = services.schedule_review(
        lead, milestone, scheduled_for=timezone.now() + timedelta(days=1)
    )
    review = services.open_review(lead, review)
    kinds = list(milestone.artifacts.values_list("kind", flat=True))
    Comment.objects.bulk_create(
        Comment(review=review, author=engineers[i % 4], body=f"Comment {i} with **markdown**.",
                artifact_kind=kinds[i % len(kinds)] if i % 5 else "")
        for i in range(n(200))
    )  # fmt: skip
    for person in engineers[:3]:
        Verdict.objects.create(review=review, reviewer=person, verdict="approve")
    listing = services.create_milestone(lead, project, title="API list")
    Unknown.objects.bulk_create(
        Unknown(milestone=listing, number=i + 1, title=f"Listed {i}", owner=engineers[i % 4])
        for i in range(n(200))
    )
    return {
        "milestone page": milestone.get_absolute_url(),
        "review page": review.get_absolute_url(),
        "API list of unknowns": f"/api/v1/milestones/{listing.pk}/unknowns/?page_size=200",
        "unknowns page": reverse("planning:unknown-list", kwargs=milestone.url_kwargs()),
    }


def build_squads_around(lead, other, *, squads: int) -> list[int]:
    """`squads` more squads with `lead` in each, each with a project led by `other` whose
    principal engineer is `lead`: 5 milestones of 30 unknowns. Returns the projects' ids."""
    from planning.models import Milestone, Project, Unknown
    from squads.models import Membership, Squad

    made = Squad.objects.bulk_create(
        Squad(name=f"Bench {i}", slug=f"bench-{i}") for i in range(1, squads + 1)
    )
    Membership.objects.bulk_create(
        Membership(squad=squad, user=person, role=role)
        for squad in made
        for person, role in ((lead, "engineer"), (other, "tech_lead"))
    )
    projects = Project.objects.bulk_create(
        Project(squad=squad, name=f"Vetted {squad.pk}", slug="vetted", tech_lead=other,
                principal_engineer=lead)
        for squad in made
    )  # fmt: skip
    milestones = Milestone.objects.bulk_create(
        Milestone(project=project, number=k + 1, title=f"Milestone {k + 1}", tech_lead=other,
                  phase="unknowns")
        for project in projects
        for k in range(5)
    )  # fmt: skip
    Unknown.objects.bulk_create(
        Unknown(milestone=milestone, number=k + 1, title=f"Unknown {k + 1}",
                owner=lead if k % 10 == 0 else other, priority=["high", "normal"][k % 2])
        for milestone in milestones
        for k in range(30)
    )  # fmt: skip
    return [project.pk for project in projects]


# Each milestone's way through the phases: (days after its creation, phase moved to).
INSIGHT_MOVES = [
    (2, "protocols"), (3, "design_spec"), (6, "unknowns"), (7, "design_review"),
    (8.5, "design_spec"), (10, "unknowns"), (11, "design_review"), (14, "kickoff"),
    (15, "task_breakout"), (18, "done"),
]  # fmt: skip


def build_insights(lead, engineers, *, milestones: int, activities: int) -> str:
    """A squad of `milestones` milestones begun over the last 180 days, `activities` Activity
    rows in all, and the rows the insights count; returns the path of its insights page.

    Each milestone has its phase moves so far (one in two goes back from design review
    once), five unknowns raised and three resolved, a deferral decided, a review round,
    two reminders, stories with sub-tasks once done, and notes making up the rest.
    """
    from notifications.models import Notification
    from planning.models import (
        Activity,
        DeferralRequest,
        DesignReview,
        Milestone,
        Project,
        Story,
        Subtask,
        Unknown,
    )
    from squads.models import Membership, Squad

    squad = Squad.objects.create(name="Bench insights", slug="bench-insights")
    Membership.objects.create(squad=squad, user=lead, role="tech_lead")
    project = Project.objects.create(squad=squad, name="Insights", slug="insights", tech_lead=lead)
    now = timezone.now()
    begun = [now - timedelta(days=180 - i * 178 / milestones) for i in range(milestones)]
    rows = Milestone.objects.bulk_create(
        Milestone(project=project, number=i + 1, title=f"Milestone {i}", tech_lead=lead)
        for i in range(milestones)
    )
    # Activity rows as (milestone, verb, data, days after the milestone began).
    log: list[tuple] = []
    reviews, stories, with_unknowns = [], [], []
    for i, milestone in enumerate(rows):
        milestone.created_at = begun[i]
        moves = [(day, to) for day, to in INSIGHT_MOVES if begun[i] + timedelta(days=day) < now]
        if i % 2:  # no move back: without the return to design spec and the second passage
            moves = [(day, to) for day, to in moves if day not in (8.5, 10, 11)]
        phase = "architecture"
        for day, to in moves:
            verb = (
                "phase_moved_back"
                if to == "design_spec" and phase == "design_review"
                else "phase_advanced"
            )
            log.append((milestone, verb, {"from_phase": phase, "to_phase": to}, day))
            phase = to
        milestone.phase = phase
        if phase in ("kickoff", "task_breakout", "done"):
            closed = begun[i] + timedelta(days=13)
            reviews.append(DesignReview(milestone=milestone, round=1, scheduled_for=closed,
                                        status="closed", outcome="approved", closed_at=closed))  # fmt: skip
            with_unknowns.append(milestone)
        if phase == "done":
            stories += [
                Story(milestone=milestone, number=k + 1, title=f"Story {k}") for k in range(3)
            ]
    Milestone.objects.bulk_update(rows, ["created_at", "phase"])
    DesignReview.objects.bulk_create(reviews)
    Subtask.objects.bulk_create(
        Subtask(story=story, title=f"Sub-task {j}")
        for story in Story.objects.bulk_create(stories)
        for j in range(2)
    )
    unknowns = Unknown.objects.bulk_create(
        Unknown(milestone=milestone, number=k + 1, title=f"Unknown {k}", owner=engineers[k % 4],
                status="resolved" if k < 3 else "open", resolution="Yes." if k < 3 else "")
        for milestone in with_unknowns
        for k in range(5)
    )  # fmt: skip
    for unknown in unknowns:
        unknown.created_at = unknown.milestone.created_at + timedelta(
            days=6.5 + unknown.number / 10
        )
        day = 6.5 + unknown.number / 10
        log.append((unknown.milestone, "unknown_added", {"unknown": unknown.pk}, day))
        if unknown.status == "resolved":
            log.append((unknown.milestone, "unknown_resolved", {"unknown": unknown.pk}, day + 1.5))
    Unknown.objects.bulk_update(unknowns, ["created_at"])
    last = [u for u in unknowns if u.number == 5]
    DeferralRequest.objects.bulk_create(
        DeferralRequest(unknown=u, requested_by=lead, reason="Later.", defer_until="M9",
                        status=("approved", "rejected")[u.pk % 2], decided_by=engineers[0],
                        decided_at=u.created_at + timedelta(hours=12), decision_note="Noted.")
        for u in last
    )  # fmt: skip
    reminders = Notification.objects.bulk_create(
        Notification(recipient_id=u.owner_id or lead.pk, kind="owner_nudge", text="Nudge.", email="none",
                     dedupe_key=f"owner_nudge:{u.pk}:{u.owner_id}:1:{cycle}")
        for u in last
        for cycle in (1, 2)
    )  # fmt: skip
    for reminder, u in zip(reminders, [u for u in last for _ in (1, 2)], strict=True):
        reminder.created_at = u.created_at + timedelta(days=3)
    Notification.objects.bulk_update(reminders, ["created_at"])
    # Notes make up the rest: a timeline holds far more than phase moves.
    per_milestone = activities // milestones
    counted: dict[int, int] = {}
    for milestone, *_ in log:
        counted[milestone.pk] = counted.get(milestone.pk, 0) + 1
    for i, milestone in enumerate(rows):
        span = min(20.0, (now - begun[i]).total_seconds() / 86400)
        missing = max(0, per_milestone - counted.get(milestone.pk, 0))
        log += [(milestone, "note", {}, span * k / max(missing, 1)) for k in range(missing)]
    made = Activity.objects.bulk_create(
        (Activity(milestone=m, actor=lead, verb=verb, summary=verb, data=data) for m, verb, data, _ in log),
        batch_size=5000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        # The database stamped them now; each gets its day, in one statement.
        cursor.execute(
            "UPDATE planning_activity a SET created_at = v.at"
            " FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) WHERE a.id = v.id",
            [
                [activity.pk for activity in made],
                [milestone.created_at + timedelta(days=day) for milestone, _, _, day in log],
            ],
        )
    return f"/squads/{squad.slug}/insights/"


def _routed(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path.split("?")[0], urlconf="bench.urls")
    except Resolver404:
        return False
    return True


def query_counts(data: dict) -> dict[str, dict[str, int]]:
    """Queries of each page on a first view (cold: nothing cached) and a second (warm)."""
    from django.core.cache import cache

    client = Client()
    client.force_login(data["user"])
    counts: dict[str, dict[str, int]] = {}
    cache.clear()
    for name, path in data["pages"].items():
        counts[name] = {}
        for view in ("cold", "warm"):
            with CaptureQueriesContext(connection) as queries:
                answer = client.get(path)
            assert answer.status_code == 200, (name, answer.status_code)
            counts[name][view] = len(queries)
    return counts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_peak_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _header_dict(headers: list[str]) -> dict[str, str]:
    return dict(h.split(": ", 1) for h in headers[1::2])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _check_answers_200(url: str, headers: dict[str, str]) -> int:
    """Measure the page itself, not a redirect to the login page or an error; its size."""
    opener = urllib.request.build_opener(_NoRedirect)
    size = 0
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=30) as answer:
            status = answer.status
            size = len(answer.read())
            print(f"  {url}: {status}, {size:,} bytes", flush=True)  # the page, as measured
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise RuntimeError(f"{url} answered {status} under gunicorn; the numbers would be wrong")
    return size


def _csrf_cookie(url: str, headers: list[str]) -> str:
    """The CSRF cookie a page sets for a browser that has none yet."""
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=_header_dict(headers))
    ) as answer:
        for value in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            if name.strip() == settings.CSRF_COOKIE_NAME:
                return rest.split(";", 1)[0]
    raise RuntimeError(f"{url} set no CSRF cookie")


# How the pages are served in each mode of the load: cold (no cache), warm with the
# cache in each worker's memory, warm with one Redis cache both workers share.
MODES = ("warm", "cold", "warm, Redis")


_COLLECTED: list[bool] = []


def collectstatic() -> None:
    """Production serves hashed, compressed static files from a manifest: build them (once)."""
    if _COLLECTED:
        return
    _COLLECTED.append(True)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env={**os.environ, "DJANGO_ENV": "production"}, check=True,
    )  # fmt: skip


def load(
    data: dict,
    seconds: int = 10,
    rounds: int = 3,
    connections: int = 8,
    *,
    modes: tuple[str, ...] = ("warm", "cold"),
    cache_url: str = "",
) -> dict:
    """Each page under gunicorn (2 workers) and wrk, in each of `modes` (see MODES).

    Returns per mode and page the median over `rounds` rounds of requests/s and
    p50/p95 latency, and the page's size; the rounds interleave the pages, so
    that a slow moment of the machine touches them all alike. "warm, Redis"
    needs `cache_url`, a Redis database the load empties before each round.
    """
    collectstatic()
    results: dict = {}
    for mode in modes:
        runs = []
        for _ in range(rounds):
            if mode == "warm, Redis":
                import redis

                redis.Redis.from_url(cache_url).flushdb()
            shared = cache_url if mode == "warm, Redis" else ""
            runs.append(
                _load_once(data, seconds, connections, cold=mode == "cold", cache_url=shared)
            )
        results[mode] = {
            name: {
                measure: statistics.median(run[name][measure] for run in runs)
                for measure in ("rps", "p50_ms", "p95_ms")
            }
            | {
                "errors": sum(run[name]["errors"] for run in runs),
                "bytes": runs[-1][name]["bytes"],
            }
            for name in data["pages"]
        }
        if mode == "warm":
            results["_worker_peak_mib"] = max(run["_worker_peak_mib"] for run in runs)
    return results


def session_for(user) -> str:
    """A logged-in session for `user`, as the login page would make; its key."""
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return session.session_key


@contextmanager
def gunicorn(*, cold: bool = False, cache_url: str = "") -> Iterator[tuple[str, int]]:
    """gunicorn with 2 workers on production settings; yields its address and its pid.

    Requests must say they came over HTTPS (X-Forwarded-Proto), as behind the proxy.
    """
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_ENV": "production",
        # The same key as this process: it signed the sessions the load uses.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "BENCH_COLD": "1" if cold else "0",
        "CACHE_URL": cache_url,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _load_once(
    data: dict, seconds: int, connections: int, *, cold: bool, cache_url: str = ""
) -> dict:
    """One round: start gunicorn, run wrk against each page, stop gunicorn."""
    session_key = session_for(data["user"])
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_SCRIPT)
    results: dict[str, Any] = {}
    try:
        with gunicorn(cold=cold, cache_url=cache_url) as (base, pid):
            cookies = f"{settings.SESSION_COOKIE_NAME}={session_key}"
            headers = ["-H", f"Cookie: {cookies}", "-H", "X-Forwarded-Proto: https"]
            # Like a browser, keep the CSRF cookie the first page sets.
            csrf = _csrf_cookie(f"{base}{data['pages']['review page']}", headers)
            headers[1] = f"Cookie: {cookies}; {settings.CSRF_COOKIE_NAME}={csrf}"
            for name, path in data["pages"].items():
                url = f"{base}{path}"
                size = _check_answers_200(url, _header_dict(headers))
                subprocess.run(
                    ["wrk", "-t1", "-c2", "-d2s", *headers, url], capture_output=True
                )  # warm-up
                out = subprocess.run(
                    ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                     "-s", str(script), *headers, url],
                    capture_output=True, text=True, timeout=seconds + 60,
                ).stdout  # fmt: skip
                match = re.search(r"RESULT (\S+) (\S+) (\S+) (\d+) (\d+)", out)
                if not match:
                    raise RuntimeError(f"wrk gave no result for {name}:\n{out}")
                rps, p50, p95, count, errors = match.groups()
                results[name] = {
                    "rps": float(rps), "p50_ms": float(p50), "p95_ms": float(p95),
                    "requests": int(count), "errors": int(errors), "bytes": size,
                }  # fmt: skip
            workers = subprocess.run(
                ["pgrep", "-P", str(pid)], capture_output=True, text=True
            ).stdout.split()
            results["_worker_peak_mib"] = (
                max((_rss_peak_kib(int(w)) for w in workers), default=0) / 1024
            )
    finally:
        script.unlink(missing_ok=True)
    return results
