"""Where a cold page's time goes: the milestone page and the review page, profiled in process.

    BENCH_DATABASE_URL=postgres://… python bench/profiling.py [milestone page] [review page]

Builds the small data set (bench/pages.py) in the benchmark's database, then
views each page `ROUNDS` times with every cache emptied before each view (what
a page costs right after something on it changed), under cProfile. Each
function's own time (not counting what it calls) is put in the bucket of the
code it belongs to, so the buckets add up to the whole:

- templates: Django's template engine (parsing, nodes, filters, tags),
- Markdown: markdown-it, nh3 (sanitising), Pygments, planning/markdown.py,
- ORM: Django's query building and model instantiation (django/db),
- database: psycopg, waiting for PostgreSQL and reading its answers,
- the app: squads/, planning/, config/, notifications/, api/,
- Django else: URL resolving, middleware, forms, sessions, …
- Python else: the standard library and the rest.

pyinstrument is not among the project's packages; cProfile is in the standard
library, and its own time per function is what the buckets need.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROUNDS = 10
# How often a view calls these: what a page does per row shows in their counts.
COUNTED = {
    "model instances": ("django/db/models/base.py", "__init__"),
    "URLs reversed": ("django/urls/base.py", "reverse"),
    "template includes": ("django/template/loader_tags.py", "render"),
    "variables resolved": ("django/template/base.py", "_resolve_lookup"),
    "values escaped": ("django/utils/html.py", "escape"),
    "dates formatted": ("django/utils/dateformat.py", "format"),
    "Markdown texts rendered": ("planning/markdown.py", "_render"),
    "texts sanitised (nh3)": ("~", "<built-in method nh3.nh3.clean>"),
    "forms rendered": ("django/forms/utils.py", "render"),
    "CSRF tokens": ("django/middleware/csrf.py", "get_token"),
}
BUCKETS = [
    ("templates", ("django/template/", "django/templatetags/", "django/utils/html.py")),
    ("Markdown", ("markdown_it/", "nh3", "pygments/", "planning/markdown.py", "mdurl/")),
    ("database", ("psycopg/", "psycopg_binary", "psycopg_c", "<method 'execute'",
                  "select.", "selectors.py", "<built-in method _socket")),
    ("ORM", ("django/db/",)),
    ("the app", ("/squads/", "/planning/", "/config/", "/notifications/", "/api/",
                 "/accounts/")),
    ("Django else", ("django/",)),
]  # fmt: skip


def bucket(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for name, marks in BUCKETS:
        if any(mark in where for mark in marks):
            return name
    return "Python else"


def profile(path: str, user, rounds: int = ROUNDS) -> dict:
    """`rounds` cold views of `path`: milliseconds per view, and the buckets' shares."""
    from django.core.cache import caches
    from django.test import Client

    client = Client()
    client.force_login(user)
    client.get(path)  # imports, template loading: once per process, not per view
    profiler = cProfile.Profile()
    spent = 0.0
    for _ in range(rounds):
        for each in caches.all():
            each.clear()
        started = time.perf_counter()
        profiler.enable()
        answer = client.get(path)
        profiler.disable()
        spent += time.perf_counter() - started
        assert answer.status_code == 200, (path, answer.status_code)
    stats = pstats.Stats(profiler)
    totals: dict[str, float] = {}
    own: list[tuple[float, str]] = []
    for (filename, line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = row[2]
        name = bucket(filename, function)
        totals[name] = totals.get(name, 0.0) + tottime
        own.append((tottime, f"{_short(filename)}:{line} {function}"))
    whole = sum(totals.values()) or 1.0
    calls = {
        label: sum(
            row[1]
            for (filename, _, function), row in stats.stats.items()  # type: ignore[attr-defined]
            if (filename.endswith(where) and function == name)
            or (where == "~" and function == name)
        )
        / rounds
        for label, (where, name) in COUNTED.items()
    }
    cumulative = sorted(
        (
            (row[3], f"{_short(filename)}:{line} {function}")
            for (filename, line, function), row in stats.stats.items()  # type: ignore[attr-defined]
        ),
        reverse=True,
    )
    return {
        "ms_per_view": spent * 1000 / rounds,
        "bytes": len(answer.content),
        "buckets": {
            name: spent_in / whole
            for spent_in, name in sorted(((t, n) for n, t in totals.items()), reverse=True)
        },
        "calls": calls,
        "own": [(t * 1000 / rounds, where) for t, where in sorted(own, reverse=True)[:15]],
        "cumulative": [(t * 1000 / rounds, where) for t, where in cumulative[:70]],
    }


def _short(filename: str) -> str:
    for mark in ("site-packages/", str(ROOT) + "/"):
        if mark in filename:
            return filename.split(mark, 1)[1]
    return filename


def main() -> None:
    from bench.run import setup

    setup()
    from bench import pages

    data = pages.build(1.0)
    names = sys.argv[1:] or ["milestone page", "review page"]
    for name in names:
        found = profile(data["pages"][name], data["user"])
        print(f"\n## {name}: {found['ms_per_view']:.0f} ms per cold view (profiled), "
              f"{found['bytes'] / 1024:.0f} KB")  # fmt: skip
        print("\nOwn time by kind of code:")
        for kind, part in found["buckets"].items():
            print(f"  {kind:12} {part:6.1%}")
        print("\nCalls per view:")
        for label, count in found["calls"].items():
            print(f"  {label:26} {count:8.0f}")
        print("\nMost own time (ms per view):")
        for ms, where in found["own"]:
            print(f"  {ms:7.2f}  {where}")
        print("\nMost time with what they call (ms per view):")
        for ms, where in found["cumulative"]:
            print(f"  {ms:7.2f}  {where}")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    main()
