"""A design review in session: many open copies of the review page polling, a few people commenting.

Each poller is a browser tab: it loads the review page once, then asks the
page's poller address (planning:review-updates) every 3 s with the `since` the
page gave it, as htmx does, taking the fresh `since` from each answer that
brought changes (204 means nothing changed). Each commenter posts a comment
as the form on the page does (htmx, with the CSRF token from its cookie), then
waits a few seconds and posts again. Everyone runs in a thread of this process
against gunicorn (2 workers); the figures are each request's time.
"""

from __future__ import annotations

import html
import random
import re
import statistics
import threading
import time
from typing import Any

import requests
from django.conf import settings

POLLER = re.compile(r'id="review-poller" hx-get="([^"]+)"')


def _host(base: str) -> str:
    return base.split("//", 1)[1].split(":")[0]


def _session(base: str, session_key: str) -> requests.Session:
    web = requests.Session()
    web.cookies.set(settings.SESSION_COOKIE_NAME, session_key, domain=_host(base))
    # Behind the proxy, as production: the request came over HTTPS.
    web.headers.update({"X-Forwarded-Proto": "https"})
    return web


def _poller_url(page: str) -> str:
    found = POLLER.search(page)
    if found is None:
        raise RuntimeError("The review page has no poller")
    return html.unescape(found.group(1))


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20)[18]


def run(
    base: str,
    review_path: str,
    sessions: list[str],
    *,
    seconds: float = 60,
    pollers: int = 50,
    commenters: int = 5,
    every: float = 3.0,
    pause: tuple[float, float] = (2.0, 6.0),
) -> dict[str, Any]:
    """Poll and comment for `seconds`; per kind of request: count, p50, p95 (ms), errors.

    `sessions` are logged-in session keys: pollers take them in turn, commenter
    i uses the i-th (they must be allowed to comment on the review).
    """
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    times: dict[str, list[float]] = {"poll": [], "comment": [], "page": []}
    errors: dict[str, list[str]] = {"poll": [], "comment": [], "page": []}
    changed = [0]

    def record(kind: str, started: float, problem: str | None) -> None:
        with lock:
            if problem:
                errors[kind].append(problem)
            else:
                times[kind].append((time.perf_counter() - started) * 1000)

    def poll(index: int) -> None:
        web = _session(base, sessions[index % len(sessions)])
        started = time.perf_counter()
        answer = web.get(base + review_path, timeout=30)
        if answer.status_code != 200:
            record("page", started, f"page {answer.status_code}")
            return
        record("page", started, None)
        url = _poller_url(answer.text)
        # Tabs opened at different moments: their polls do not all fall together.
        time.sleep(random.uniform(0, every))
        while time.monotonic() < stop:
            tick = time.monotonic()
            started = time.perf_counter()
            try:
                answer = web.get(
                    base + url, headers={"HX-Request": "true", "HX-Target": "review-poller"},
                    timeout=30,
                )  # fmt: skip
            except requests.RequestException as error:
                record("poll", started, type(error).__name__)
            else:
                if answer.status_code == 200:
                    url = _poller_url(answer.text)
                    with lock:
                        changed[0] += 1
                record("poll", started, None if answer.status_code in (200, 204) else
                       f"poll {answer.status_code}")  # fmt: skip
            time.sleep(max(0.0, every - (time.monotonic() - tick)))

    def comment(index: int) -> None:
        web = _session(base, sessions[index % len(sessions)])
        started = time.perf_counter()
        page = web.get(base + review_path, timeout=30)
        record("page", started, None if page.status_code == 200 else f"page {page.status_code}")
        origin = base.replace("http://", "https://")
        number = 0
        time.sleep(random.uniform(0, pause[1]))
        while time.monotonic() < stop:
            number += 1
            # The cookies are Secure (production): over the benchmark's plain HTTP, hand
            # them back as the browser behind the TLS proxy would.
            for cookie in web.cookies:
                cookie.secure = False
            token = web.cookies.get(settings.CSRF_COOKIE_NAME) or ""
            started = time.perf_counter()
            try:
                answer = web.post(
                    base + review_path + "comments/",
                    data={"body": f"Remark {number} from reviewer {index}: **why** this way?",
                          "artifact_kind": "", "parent": ""},
                    headers={"HX-Request": "true", "X-CSRFToken": token,
                             "Referer": origin + review_path, "Origin": origin},
                    timeout=30,
                )  # fmt: skip
            except requests.RequestException as error:
                record("comment", started, type(error).__name__)
            else:
                ok = answer.status_code == 200 and "comment-" in answer.text
                record("comment", started, None if ok else f"comment {answer.status_code}")
            time.sleep(random.uniform(*pause))

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(pollers)]
    threads += [threading.Thread(target=comment, args=(i,)) for i in range(commenters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        kind: {
            "count": len(times[kind]),
            "p50_ms": statistics.median(times[kind]) if times[kind] else 0.0,
            "p95_ms": _p95(times[kind]),
            "errors": len(errors[kind]),
            "kinds_of_error": sorted(set(errors[kind]))[:5],
        }
        for kind in times
    } | {"polls_with_changes": changed[0], "seconds": seconds}
