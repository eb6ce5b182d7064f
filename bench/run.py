"""Run the benchmarks on PostgreSQL and write BENCHMARKS.md.

    make bench                       # the sweep at 10k, 100k and 1M unknowns
    BENCH_SIZES=10000,100000 make bench   # quicker: without the 1M row

It uses its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/squad_planner_bench), created and migrated
here, so it never touches the data of a running instance.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The insights page is built on every request from a squad's whole history (no cache).
SHARES = {
    "milestone page": 0.25,
    "review page": 0.30,
    "API list of unknowns": 0.30,
    "insights page": 0.02,
}
TARGETS = {name: f"≥ {share:.0%} of the floor" for name, share in SHARES.items()}
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/squad_planner_bench"


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def machine() -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as meminfo:
            total = next(line for line in meminfo if line.startswith("MemTotal"))
        kib = int(total.split()[1])
        memory = f", {kib / 2**20:.0f} GiB memory"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"


def setup() -> None:
    """Django on the benchmark's own database (BENCH_DATABASE_URL), created and migrated."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("The benchmarks run on PostgreSQL: set BENCH_DATABASE_URL=postgres://…")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["SECRET_KEY"] = "benchmark-only-key-" + "k" * 40
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)


def main() -> None:
    setup()
    import django
    from django.db import connection

    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]

    from bench import pages, sweep

    print("Pages: query counts at 10% and 100% of the data set…")
    counts_small = pages.query_counts(pages.build(0.1))
    data = pages.build(1.0)
    counts_full = pages.query_counts(data)
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    print(f"Pages: load under gunicorn (2 workers) with wrk, {rounds} rounds, warm and cold…")
    load = pages.load(data, seconds=seconds, rounds=rounds)
    print(load)

    print("Reminder sweep (selection and claiming, delivery excluded):")
    sweep_rows = sweep.run(sizes)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    warm, cold = load["warm"], load["cold"]
    floor_warm, floor_cold = warm["floor"]["rps"], cold["floor"]["rps"]
    unmet = [
        f"{name} at {warm[name]['rps'] / floor_warm:.0%} of the floor (target {TARGETS[name]})"
        for name in data["pages"]
        if name in TARGETS and warm[name]["rps"] / floor_warm < SHARES[name]
    ]
    queries_ok = all(
        counts_full[name]["cold"] <= 12 and counts_full[name] == counts_small[name]
        for name in data["pages"]
    )
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); the numbers below are its output.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Python {platform.python_version()}, Django {django.get_version()}, PostgreSQL {pg_version}",
        "",
        "## Pages against the floor",
        "",
        "gunicorn with 2 workers on PostgreSQL, production settings, a logged-in session",
        "with its CSRF cookie, as a browser sends them; wrk on the same machine, 2 threads and 8",
        f"connections for {seconds} s per page after a 2 s warm-up. Each figure is the median of",
        f"{rounds} rounds; a round runs every page in turn. The floor is a tiny template rendered",
        "through the whole middleware stack. Data: a milestone with 7 artifacts (with diagrams),",
        "60 unknowns, 30 stories with 4 sub-tasks each and 300 activity rows; its design review",
        "with 200 comments; 200 unknowns listed by the API (one page of 200); and for the",
        "insights page a squad of 200 milestones with 50,000 activity rows over 180 days, its",
        "default 90 days against the 90 before (it is not cached: warm and cold are alike).",
        "",
        "*Warm*: the cache is on (in each worker's memory, as without CACHE_URL), as when people",
        "reload or poll a page while nothing on it changes; each page is cached under a",
        "fingerprint of every row it shows (planning/state.py), read in one query. *Cold*: the",
        "cache is off and every request builds its page in full, Markdown and all.",
        "",
        "| page | warm: requests/s | share of the floor | p50 (ms) | p95 (ms) "
        "| cold: requests/s | share of the floor | p50 (ms) | p95 (ms) | errors | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *[
            f"| {name} | {warm[name]['rps']:.0f} | {warm[name]['rps'] / floor_warm:.0%} "
            f"| {warm[name]['p50_ms']:.1f} | {warm[name]['p95_ms']:.1f} "
            f"| {cold[name]['rps']:.0f} | {cold[name]['rps'] / floor_cold:.0%} "
            f"| {cold[name]['p50_ms']:.1f} | {cold[name]['p95_ms']:.1f} "
            f"| {warm[name]['errors'] + cold[name]['errors']} | {TARGETS.get(name, '—')} |"
            for name in data["pages"]
        ],
        "",
        "Targets (warm) not met: " + ("; ".join(unmet) if unmet else "none") + ".",
        "",
        "Cold is the first view after a restart, everything rendered: the review page",
        "turns 200 comments' Markdown into HTML and renders each with its forms, and the",
        "milestone page runs its dozen queries and renders every section. A change to a",
        "page costs less than that: its content is built again, but threads, unknown rows",
        "and Markdown that did not change come from the cache.",
        "",
        f"Peak memory of a web worker after the warm load: {load['_worker_peak_mib']:.0f} MiB (VmHWM).",
        "",
        "### Queries per page",
        "",
        "Counted in process on a first view (cold) and a second (warm), at 10% and at 100% of",
        "the data set. Target: at most 12 per page, the same however much data there is: "
        + ("met." if queries_ok else "**not met**."),
        "",
        "| page | at 10%: cold | warm | at 100%: cold | warm |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[
            f"| {name} | {counts_small[name]['cold']} | {counts_small[name]['warm']} "
            f"| {counts_full[name]['cold']} | {counts_full[name]['warm']} |"
            for name in data["pages"]
        ],
        "",
        "## Reminder sweep",
        "",
        "One beat tick's work before any email leaves: the six rules' set-based",
        "selection, writing one Notification per due reminder, and claiming the",
        "deliveries. 10% of the unknowns are due for an owner reminder. Median of 5",
        "runs after a warm-up; the query count is the same in every run. Peak",
        "memory is traced in a separate run (tracing slows the code it measures).",
        "Target: at most 1 s at 100,000 unknowns, with a query count that does not",
        "grow with the number of unknowns.",
        "",
        "| unknowns | reminders written | wall time (s) | queries | peak Python memory (MiB) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in sweep_rows:
        lines.append(
            f"| {row['unknowns']:,} | {row['due']:,} | {row['seconds']:.3f} | {row['queries']} "
            f"| {row['peak_mib']:.1f} |"
        )
    at_100k = [row for row in sweep_rows if row["unknowns"] == 100_000]
    sweep_ok = (
        all(row["seconds"] <= 1 for row in at_100k)
        and len({row["queries"] for row in sweep_rows}) == 1
    )
    lines += ["", "Target: " + ("met." if sweep_ok else "**not met**."), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print(f"Wrote {ROOT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
