"""Run the benchmarks on PostgreSQL and write BENCHMARKS.md.

    make bench                            # everything (about 50 minutes on a quiet machine)
    BENCH_QUICK=1 make bench              # a short run: the organisation at 1 % only, …
    BENCH_SIZES=10000,100000 make bench   # the sweep without the 1M row

It uses its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/squad_planner_bench), created and migrated
here, so it never touches the data of a running instance, and for the shared
cache a Redis database it empties (BENCH_CACHE_URL, default
redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Warm (page cache on): no worse than before. The insights page is built on every
# request from a squad's whole history (no cache).
SHARES = {
    "milestone page": 0.25,
    "review page": 0.30,
    "API list of unknowns": 0.30,
    "insights page": 0.02,
}
# Cold (no page cache: the first view after anything on the page changed).
COLD_SHARES = {
    "milestone page": 0.25,
    "review page": 0.15,
    "API list of unknowns": 0.50,
}
TARGETS = {name: f"≥ {share:.0%} of the floor" for name, share in SHARES.items()}
COLD_TARGETS = {name: f"≥ {share:.0%} of the floor" for name, share in COLD_SHARES.items()}
REVIEW_PAGE_KB = 120
FRONT_END_BYTES = 1_000_000
FRONT_END_MS = 1500
# In the organisation, a page's share of the floor may fall to this much of its share on
# the small data set, and its query count must not change.
ORG_SHARE_KEPT = 0.8
ORG_QUERIES = 12
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/squad_planner_bench"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/15"


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
    # In process, the cache is each process's memory; the Redis cache is measured under
    # gunicorn only (CACHE_URL), in a database of its own that the benchmark empties.
    os.environ.pop("CACHE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)


def options() -> dict[str, Any]:
    """What to run, from the environment; BENCH_QUICK=1 makes every part short."""
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    return {
        "quick": quick,
        "seconds": int(os.environ.get("BENCH_SECONDS", "3" if quick else "10")),
        "rounds": int(os.environ.get("BENCH_ROUNDS", "1" if quick else "3")),
        "sizes": [
            int(s)
            for s in os.environ.get(
                "BENCH_SIZES", "10000" if quick else "10000,100000,1000000"
            ).split(",")
        ],
        "fractions": [
            float(f) for f in os.environ.get("BENCH_ORG", "0.01" if quick else "0.01,1").split(",")
        ],
        "live_seconds": int(os.environ.get("BENCH_LIVE_SECONDS", "15" if quick else "60")),
        "views": int(os.environ.get("BENCH_VIEWS", "1" if quick else "3")),
        "cache_url": os.environ.get("BENCH_CACHE_URL")
        or os.environ.get("CACHE_URL")
        or DEFAULT_CACHE_URL,
    }


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def main() -> None:
    run = options()
    setup()
    import django
    from django.db import connection

    from bench import explain, frontend, live, org, pages, sweep

    took: dict[str, float] = {}
    started = time.monotonic()

    def lap(part: str) -> None:
        nonlocal started
        took[part] = time.monotonic() - started
        started = time.monotonic()
        print(f"[{part}: {took[part]:.0f} s]", flush=True)

    redis_ok = redis_reachable(run["cache_url"])
    modes = ("warm", "cold", "warm, Redis") if redis_ok else ("warm", "cold")
    seconds, rounds = run["seconds"], run["rounds"]

    print("Pages: query counts at 10% and 100% of the small data set…", flush=True)
    counts_small = pages.query_counts(pages.build(0.1))
    data = pages.build(1.0)
    counts_full = pages.query_counts(data)
    lap("small data set: build and query counts")
    print(f"Pages: load under gunicorn (2 workers), {rounds} rounds, {', '.join(modes)}…")
    load = pages.load(data, seconds=seconds, rounds=rounds, modes=modes, cache_url=run["cache_url"])
    lap("small data set: load")

    print("Front end: first views in Chromium…", flush=True)
    pages.collectstatic()
    session = pages.session_for(data["user"])
    with pages.gunicorn() as (base, _):
        shown = data["diagram pages"]["milestone page"]
        on_milestone_page = frontend.shows_diagrams(base, shown, session)
        if not on_milestone_page:
            shown = data["diagram pages"]["review page"]
        browser = frontend.measure(
            base, session, shown,
            {"milestone page without diagrams": data["pages"]["milestone page"],
             "inbox": data["pages"]["inbox"], "dashboard": data["pages"]["dashboard"]},
            views=run["views"],
        )  # fmt: skip
    lap("front end")

    print(f"Live review: 50 pollers and 5 commenters for {run['live_seconds']} s…", flush=True)
    with pages.gunicorn(cache_url=run["cache_url"] if redis_ok else "") as (base, _):
        if redis_ok:
            import redis

            redis.Redis.from_url(run["cache_url"]).flushdb()
        review = live.run(
            base, data["pages"]["review page"],
            [pages.session_for(person) for person in data["people"]],
            seconds=run["live_seconds"],
        )  # fmt: skip
    lap("live review")

    organisation: dict[float, dict[str, Any]] = {}
    for fraction in run["fractions"]:
        print(f"Organisation at {fraction:.0%}: building…", flush=True)
        built = org.build(fraction)
        counts = pages.query_counts(built)
        lap(f"organisation at {fraction:.0%}: build and query counts")
        plans = explain.explain(built) if fraction == max(run["fractions"]) else None
        if plans is not None:
            lap(f"organisation at {fraction:.0%}: EXPLAIN")
        org_load = pages.load(built, seconds=seconds, rounds=rounds, modes=("warm", "cold"))
        lap(f"organisation at {fraction:.0%}: load")
        organisation[fraction] = {
            "data": built, "counts": counts, "plans": plans, "load": org_load,
        }  # fmt: skip

    print("Reminder sweep (selection and claiming, delivery excluded):", flush=True)
    sweep_rows = sweep.run(run["sizes"])
    lap("reminder sweep")

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    lines = report(
        run=run, took=took, pg_version=pg_version, django_version=django.get_version(),
        data=data, load=load, counts_small=counts_small, counts_full=counts_full,
        browser=browser, on_milestone_page=on_milestone_page, review=review,
        organisation=organisation, sweep_rows=sweep_rows, modes=modes,
    )  # fmt: skip
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print(f"Wrote {ROOT / 'BENCHMARKS.md'}")


def met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def share(load: dict, mode: str, name: str) -> float:
    return load[mode][name]["rps"] / load[mode]["floor"]["rps"]


def report(
    *,
    run: dict[str, Any],
    took: dict[str, float],
    pg_version: str,
    django_version: str,
    data: dict,
    load: dict,
    counts_small: dict,
    counts_full: dict,
    browser: dict,
    on_milestone_page: bool,
    review: dict,
    organisation: dict[float, dict[str, Any]],
    sweep_rows: list[dict],
    modes: tuple[str, ...],
) -> list[str]:
    """BENCHMARKS.md, every target with its figure and whether it is met."""
    from bench import explain

    seconds, rounds = run["seconds"], run["rounds"]
    names = list(data["pages"])
    warm, cold = load["warm"], load["cold"]
    review_kb = cold["review page"]["bytes"] / 1024
    queries_ok = all(
        counts_full[name]["cold"] <= 12 and counts_full[name] == counts_small[name]
        for name in names
    )
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); the numbers below are its output."
        + (" **A short run (BENCH_QUICK=1)**: few seconds per page, one round, the"
           " organisation at 1 % only; not figures to judge by." if run["quick"] else ""),
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Python {platform.python_version()}, Django {django_version}, PostgreSQL {pg_version}",
        "",
        "## Targets",
        "",
        "| target | figure | |",
        "| --- | --- | --- |",
    ]  # fmt: skip
    for name, wanted in SHARES.items():
        if name in warm:
            got = share(load, "warm", name)
            lines.append(f"| {name}, warm: {TARGETS[name]} | {got:.0%} | {met(got >= wanted)} |")
    for name, wanted in COLD_SHARES.items():
        if name in cold:
            got = share(load, "cold", name)
            lines.append(
                f"| {name}, cold: {COLD_TARGETS[name]} | {got:.0%} | {met(got >= wanted)} |"
            )
    lines.append(
        f"| review page with 200 comments: ≤ {REVIEW_PAGE_KB} KB of HTML | {review_kb:.0f} KB "
        f"| {met(review_kb <= REVIEW_PAGE_KB)} |"
    )
    shown = "milestone page" if on_milestone_page else "design review page of the milestone"
    lines += [
        f"| front end, first view of a {shown} with two flowcharts and a sequence diagram: "
        f"≤ 1 MB over the wire | {browser['bytes'] / 1e6:.2f} MB "
        f"| {met(browser['bytes'] <= FRONT_END_BYTES)} |",
        f"| … every diagram drawn within {FRONT_END_MS / 1000:.1f} s | "
        f"{browser['drawn_ms'] / 1000:.2f} s | {met(browser['drawn_ms'] <= FRONT_END_MS)} |",
    ]
    plain_ok = not any(view["diagram_requests"] for view in browser["plain"].values())
    lines.append(
        f"| pages without a diagram load no diagram code | "
        f"{', '.join(browser['plain'])}: "
        + ("none loaded" if plain_ok else "loaded " + ", ".join(
            u for v in browser["plain"].values() for u in v["diagram_requests"]))
        + f" | {met(plain_ok)} |"
    )  # fmt: skip
    live_errors = sum(review[kind]["errors"] for kind in ("poll", "comment", "page"))
    lines.append(
        f"| live review: 50 pollers and 5 commenters, 0 errors | {live_errors} errors "
        f"| {met(live_errors == 0)} |"
    )
    largest = max(organisation) if organisation else None
    if largest is not None:
        at = organisation[largest]
        fractions = sorted(organisation)
        same = all(
            organisation[f]["counts"][name] == counts_full[name]
            for f in fractions
            for name in at["data"]["pages"]
            if name in counts_full
        ) and all(
            organisation[fractions[0]]["counts"][name] == organisation[f]["counts"][name]
            for f in fractions
            for name in at["data"]["pages"]
        )
        lines.append(
            "| organisation: query counts the same on the small data set and at "
            + " and ".join(f"{f:.0%}" for f in fractions)
            + f" | {'the same' if same else 'they differ'} | {met(same)} |"
        )
        for mode in ("warm", "cold"):
            kept = [
                share(at["load"], mode, name) / share(load, mode, name)
                for name in at["data"]["pages"]
                if name != "floor" and name in load[mode]
            ]
            lines.append(
                f"| organisation at {largest:.0%}, {mode}: each page's share of the floor ≥ "
                f"{ORG_SHARE_KEPT:.0%} of its share on the small data set | lowest "
                f"{min(kept):.0%} | {met(min(kept) >= ORG_SHARE_KEPT)} |"
            )
    lines += [
        "",
        "## Pages against the floor",
        "",
        "gunicorn with 2 workers on PostgreSQL, production settings, a logged-in session",
        "with its CSRF cookie, as a browser sends them; wrk on the same machine, 2 threads and 8",
        f"connections for {seconds} s per page after a 2 s warm-up. Each figure is the median of",
        f"{rounds} round{'s' if rounds > 1 else ''}; a round runs every page in turn. The floor",
        "is a tiny template rendered through the whole middleware stack. Data: a milestone",
        "with 7 artifacts (with diagrams), 60 unknowns, 30 stories with 4 sub-tasks each and 300",
        "activity rows; its design review with 200 comments; 200 unknowns listed by the API",
        "(one page of 200); for the insights page a squad of 200 milestones with 50,000 activity",
        "rows over 180 days, its default 90 days against the 90 before (not cached: warm and",
        "cold are alike). The person measured is in 20 squads, has 10,000 notifications (a",
        "third unread), leads a project of 200 milestones and vets 100 waiting deferrals: the",
        "dashboard, inbox, project page, the milestone's unknowns page and the approvals",
        "queue are theirs, as in the organisation below.",
        "",
        "*Warm*: the cache is on, in each worker's memory (as without CACHE_URL), as when people",
        "reload or poll a page while nothing on it changes; each page is cached under a",
        "fingerprint of every row it shows (planning/state.py), read in one query. *Cold*: the",
        "cache is off and every request builds its page in full, Markdown and all."
        + (
            " *Warm, Redis*: the production cache, one Redis database (CACHE_URL) both workers"
            " share, emptied before each round."
            if "warm, Redis" in modes
            else " The Redis cache was not measured: no Redis answered at BENCH_CACHE_URL."
        ),
        "",
        "| page | " + " | ".join(f"{m}: requests/s | share | p50 (ms) | p95 (ms)" for m in modes)
        + " | errors | KB | target |",
        "| --- | " + " | ".join("---: | ---: | ---: | ---:" for _ in modes) + " | ---: | ---: | --- |",
    ]  # fmt: skip
    for name in names:
        cells = []
        for mode in modes:
            row = load[mode][name]
            cells.append(
                f"{row['rps']:.0f} | {share(load, mode, name):.0%} | {row['p50_ms']:.1f} "
                f"| {row['p95_ms']:.1f}"
            )
        errors = sum(load[mode][name]["errors"] for mode in modes)
        target = "; ".join(
            t
            for t in (
                f"warm {TARGETS[name]}" if name in TARGETS else "",
                f"cold {COLD_TARGETS[name]}" if name in COLD_TARGETS else "",
                f"≤ {REVIEW_PAGE_KB} KB" if name == "review page" else "",
            )
            if t
        )
        lines.append(
            f"| {name} | {' | '.join(cells)} | {errors} | {cold[name]['bytes'] / 1024:.0f} "
            f"| {target or '—'} |"
        )
    lines += [
        "",
        "Cold is the first view after a change, everything rendered: the review page",
        "turns 200 comments' Markdown into HTML and renders each with its forms, and the",
        "milestone page runs its dozen queries and renders every section.",
        "",
        f"Peak memory of a web worker after the warm load: {load['_worker_peak_mib']:.0f} MiB"
        " (VmHWM).",
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
            for name in names
        ],
        "",
    ]
    lines += organisation_section(organisation, load, counts_full)
    lines += [
        "## Front end",
        "",
        "Debian's Chromium driven by Playwright against gunicorn with the production static",
        "files (collectstatic with the project's storage: hashed names, compressed, served by",
        "WhiteNoise with a far-future cache). Each view is a first view in a fresh browser",
        "context (cache empty). Bytes: every response's size over the wire (headers and",
        "compressed body, DevTools' `encodedDataLength` at `Network.loadingFinished`), for the",
        "page and for the sandboxed diagram frame, which Chromium runs in a process of its own",
        "(the page's own DevTools session saw "
        f"{browser['bytes_cdp'] / 1e3:.0f} KB of it). Drawn: from the start of the navigation",
        "until the last diagram's image is in the page (a MutationObserver injected before the",
        f"page's scripts). Median of {browser['views']} view{'s' if browser['views'] > 1 else ''}.",
        "",
        f"Measured on the {shown}: "
        + (
            "the milestone page shows the artifacts' diagrams."
            if on_milestone_page
            else "the milestone page shows no artifact bodies (a table of the artifacts),"
            " so its design review, which shows every artifact, is the page that draws them."
        ),
        "",
        "| | figure | target |",
        "| --- | ---: | --- |",
        f"| bytes over the wire | {browser['bytes']:,.0f} | ≤ 1,000,000 |",
        f"| requests | {browser['requests']} | |",
        f"| every diagram drawn (ms) | {browser['drawn_ms']:.0f} | ≤ {FRONT_END_MS} |",
        f"| diagrams that failed to draw | {browser['failed_diagrams']} | 0 |",
        *[
            f"| {name}: bytes, diagram code loaded | {view['bytes']:,.0f}, "
            f"{len(view['diagram_requests'])} requests | none |"
            for name, view in browser["plain"].items()
        ],
        "",
        "## A live review",
        "",
        "50 pollers (one per open tab, each asking the page's poller address every 3 s, as",
        "htmx does) and 5 people commenting (a comment every 2 to 6 s each) on the review with",
        f"200 comments, for {review['seconds']} s, against gunicorn with 2 workers"
        + (" and the Redis cache." if "warm, Redis" in modes else "."),
        f"{review['polls_with_changes']} polls brought changes (the others answered 204).",
        "",
        "| request | count | p50 (ms) | p95 (ms) | errors |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[
            f"| {kind} | {review[kind]['count']} | {review[kind]['p50_ms']:.0f} "
            f"| {review[kind]['p95_ms']:.0f} | {review[kind]['errors']}"
            + (f" ({', '.join(review[kind]['kinds_of_error'])})" if review[kind]["errors"] else "")
            + " |"
            for kind in ("poll", "comment", "page")
        ],
        "",
        f"Target: 0 errors: {met(live_errors == 0)}.",
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
    ]  # fmt: skip
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
    lines += [
        "## How long each part took",
        "",
        "| part | seconds |",
        "| --- | ---: |",
        *[f"| {part} | {spent:.0f} |" for part, spent in took.items()],
        "",
    ]
    if largest is not None and organisation[largest]["plans"]:
        lines += explain.markdown(
            organisation[largest]["plans"],
            f"Notes: the queries of each page in the organisation at {largest:.0%}",
        )
    return lines


def organisation_section(
    organisation: dict[float, dict[str, Any]], small: dict, small_counts: dict
) -> list[str]:
    if not organisation:
        return []
    from bench.org import FULL

    fractions = sorted(organisation)
    lines = [
        "## An organisation",
        "",
        "bench/org.py: at 100 %, "
        + ", ".join(f"{count:,} {name}" for name, count in FULL.items())
        + "; at 1 % a hundredth of each, never less than the measured person's share. The",
        "rows are made by set-based SQL (INSERT … SELECT over generate_series). The person",
        "measured sees the same at every size (20 squads, 10,000 notifications, a project of",
        "200 milestones, 100 deferrals to vet, the milestone and review pages as above): what",
        "changes is the organisation around them. Load as above, warm and cold. Target: query",
        "counts the same at every size, and each page's share of the floor at least "
        f"{ORG_SHARE_KEPT:.0%} of its share on the small data set.",
        "",
        "| size | rows made | organisation's rows (s) | rows/s | with the person's slice (s) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for fraction in fractions:
        built = organisation[fraction]["data"]
        bulk = sum(built["made"][k] for k in ("activities", "unknowns", "notifications",
                                                "milestones", "projects", "squads"))  # fmt: skip
        rows = ", ".join(f"{count:,} {name}" for name, count in built["rows"].items())
        lines.append(
            f"| {fraction:.0%} | {rows} | {built['seconds']:.1f} "
            f"| {bulk / built['seconds']:,.0f} | {built['total_seconds']:.1f} |"
        )
    lines += [
        "",
        "Queries (cold/warm) and each page's share of the floor, warm and cold, on the small",
        f"data set and in the organisation; *kept*: the share at {fractions[-1]:.0%} as a part of",
        f"the share on the small data set (↓: under {ORG_SHARE_KEPT:.0%}).",
        "",
        "| page | small: queries | "
        + " | ".join(f"{f:.0%}: queries" for f in fractions)
        + " | warm: small | "
        + " | ".join(f"warm: {f:.0%}" for f in fractions)
        + " | cold: small | "
        + " | ".join(f"cold: {f:.0%}" for f in fractions)
        + " | kept (warm, cold) |",
        "| --- |" + " ---: |" * (len(fractions) * 3 + 4),
    ]
    largest = organisation[fractions[-1]]
    for name in largest["data"]["pages"]:
        if name != "floor":
            lines.append(_organisation_row(name, organisation, small, small_counts))
    return [*lines, ""]


def _organisation_row(
    name: str, organisation: dict[float, dict[str, Any]], small: dict, small_counts: dict
) -> str:
    fractions = sorted(organisation)

    def counted(counts: dict) -> str:
        return f"{counts[name]['cold']}/{counts[name]['warm']}" if name in counts else "—"

    def shares(mode: str) -> str:
        return " | ".join(f"{share(organisation[f]['load'], mode, name):.0%}" for f in fractions)

    on_small = name in small["warm"]
    kept_text = "—"
    if on_small:
        kept = [
            share(organisation[fractions[-1]]["load"], mode, name) / share(small, mode, name)
            for mode in ("warm", "cold")
        ]
        kept_text = f"{kept[0]:.0%}, {kept[1]:.0%}" + (
            "" if min(kept) >= ORG_SHARE_KEPT else " **↓**"
        )
    small_warm = f"{share(small, 'warm', name):.0%}" if on_small else "—"
    small_cold = f"{share(small, 'cold', name):.0%}" if on_small else "—"
    return (
        f"| {name} | {counted(small_counts)} | "
        + " | ".join(counted(organisation[f]["counts"]) for f in fractions)
        + f" | {small_warm} | {shares('warm')} | {small_cold} | {shares('cold')} | {kept_text} |"
    )


if __name__ == "__main__":
    main()
