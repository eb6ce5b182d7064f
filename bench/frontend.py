"""What a browser pays for a page: bytes over the wire and time until its diagrams are drawn.

Debian's Chromium, driven by Playwright, against gunicorn on production
settings: static files collected with the project's storage (hashed names,
compressed, served by WhiteNoise with a far-future cache). Every view is a
first view in a fresh browser context, so the cache is empty.

Bytes are summed from the DevTools protocol: each response's
`encodedDataLength` (headers and body as they came over the wire,
compressed) at `Network.loadingFinished`, for the page and for the sandboxed
diagram frame, which Chromium may run in a process of its own (Playwright
reports the frame's requests from that process's target).
"""

from __future__ import annotations

import shutil
import statistics
from typing import Any

from django.conf import settings

FLOWCHART_ONE = """How a payment reaches the ledger.

```mermaid
flowchart LR
  shopper([Shopper]) --> checkout[Checkout]
  checkout --> vault[[Vault provider]]
  checkout --> payments[Payments service]
  payments --> ledger[(Ledger)]
```
"""
FLOWCHART_TWO = """What happens to a refused card.

```mermaid
flowchart TD
  start([Card entered]) --> check{Vault says valid?}
  check -- yes --> charge[Charge the card]
  check -- no --> retry[Ask for another card]
  retry --> start
  charge --> receipt[/Receipt/]
```
"""
SEQUENCE = """The token exchange.

```mermaid
sequenceDiagram
  participant C as Checkout
  participant V as Vault
  participant P as Payments
  C->>V: card number
  V-->>C: token
  C->>P: charge(token, amount)
  P-->>C: accepted
```
"""
# Where each goes: two flowcharts and a sequence diagram.
DIAGRAMS = {
    "system_architecture": FLOWCHART_ONE,
    "flow_chart": FLOWCHART_TWO,
    "sequence_diagram": SEQUENCE,
}
# What counts as diagram code: Mermaid, and the scripts that hand it diagrams.
DIAGRAM_CODE = ("mermaid", "diagrams.", "diagram-frame.", "/diagrams/frame/")


def build_milestone(lead, project) -> dict[str, str]:
    """A milestone whose artifacts hold two flowcharts and a sequence diagram, in design
    review; the paths of its page and of its review's page (which shows every artifact)."""
    from datetime import timedelta

    from django.utils import timezone

    from planning import services
    from planning.models import Milestone

    milestone = services.create_milestone(lead, project, title="Diagrams")
    for artifact in milestone.artifacts.filter(kind__in=DIAGRAMS):
        services.save_artifact_body(lead, artifact, body=DIAGRAMS[artifact.kind], base_revision=0)
    Milestone.objects.filter(pk=milestone.pk).update(phase="design_review")
    milestone.refresh_from_db()
    review = services.schedule_review(
        lead, milestone, scheduled_for=timezone.now() + timedelta(days=1)
    )
    review = services.open_review(lead, review)
    return {
        "milestone page": milestone.get_absolute_url(),
        "review page": review.get_absolute_url(),
    }


# Injected into every document before its own scripts (as DevTools does, outside the
# page's Content-Security-Policy): the time each drawn diagram appears.
WATCH_DRAWINGS = """
window.__drawn = [];
new MutationObserver(() => {
  const count = document.querySelectorAll("img.diagram-image").length;
  while (window.__drawn.length < count) window.__drawn.push(performance.now());
}).observe(document, {childList: true, subtree: true});
"""


def _view(browser, base: str, session_key: str, path: str, *, diagrams: int) -> dict[str, Any]:
    """One first view of `path`; waits until `diagrams` diagrams are drawn (if any)."""
    # Plain HTTP, without the proxy's X-Forwarded-Proto: a header the page added would make
    # the sandboxed frame's module requests cross-origin requests with a preflight.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base}])
    context.add_init_script(WATCH_DRAWINGS)
    page = context.new_page()
    wire: dict[str, int] = {}
    urls: list[str] = []

    def finished(event: dict) -> None:
        wire[event["requestId"]] = int(event["encodedDataLength"])

    cdp = context.new_cdp_session(page)
    cdp.on("Network.loadingFinished", finished)
    cdp.send("Network.enable")
    # Requests of the diagram frame when it runs in a process of its own.
    sizes: list[Any] = []
    context.on("requestfinished", lambda request: sizes.append(request))
    context.on("request", lambda request: urls.append(request.url))
    try:
        answer = page.goto(base + path, wait_until="load")
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        drawn_ms = None
        blocks = page.locator("pre.mermaid, figure.diagram").count()
        if diagrams:
            if blocks < diagrams:
                raise RuntimeError(f"{path} shows {blocks} diagrams, not {diagrams}")
            page.wait_for_function(
                "(n) => document.querySelectorAll('img.diagram-image').length >= n",
                arg=diagrams, polling=10, timeout=30_000,
            )  # fmt: skip
            drawn_ms = page.evaluate("() => window.__drawn[window.__drawn.length - 1]")
        page.wait_for_load_state("networkidle")
        # Everything Playwright saw finish, page and frame, as the wire carried it.
        all_frames = 0
        for request in sizes:
            try:
                measured = request.sizes()
            except Exception:  # a request whose sizes Chromium no longer has
                continue
            all_frames += measured["responseBodySize"] + measured["responseHeadersSize"]
        failed = page.evaluate(
            "[...document.querySelectorAll('.diagram-error, figure.diagram-failed')].length"
        )
        return {
            "bytes_cdp": sum(wire.values()),
            "bytes_all_frames": all_frames,
            "requests": len(urls),
            "drawn_ms": drawn_ms,
            "diagram_requests": [u for u in urls if any(code in u for code in DIAGRAM_CODE)],
            "failed_diagrams": failed,
            "html_bytes": len(page.content().encode()),
        }
    finally:
        context.close()


def shows_diagrams(base: str, path: str, session_key: str) -> bool:
    """Whether the page as served holds all the diagrams (its HTML, before any script)."""
    import requests

    answer = requests.get(
        base + path, cookies={settings.SESSION_COOKIE_NAME: session_key},
        headers={"X-Forwarded-Proto": "https"}, timeout=30,
    )  # fmt: skip
    return answer.text.count('class="mermaid"') >= len(DIAGRAMS)


def measure(base: str, session_key: str, diagram_page: str, plain_pages: dict[str, str],
            *, views: int = 3) -> dict[str, Any]:  # fmt: skip
    """`views` first views of the diagram page (median), and one of each plain page."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            runs = [
                _view(browser, base, session_key, diagram_page, diagrams=len(DIAGRAMS))
                for _ in range(views)
            ]
            plain = {
                name: _view(browser, base, session_key, path, diagrams=0)
                for name, path in plain_pages.items()
            }
        finally:
            browser.close()
    transferred = [max(run["bytes_cdp"], run["bytes_all_frames"]) for run in runs]
    return {
        "bytes": statistics.median(transferred),
        "bytes_cdp": statistics.median(run["bytes_cdp"] for run in runs),
        "bytes_all_frames": statistics.median(run["bytes_all_frames"] for run in runs),
        "drawn_ms": statistics.median(run["drawn_ms"] for run in runs),
        "requests": runs[0]["requests"],
        "failed_diagrams": max(run["failed_diagrams"] for run in runs),
        "views": views,
        "plain": {name: _plain(view) for name, view in plain.items()},
    }


def _plain(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "bytes": max(view["bytes_cdp"], view["bytes_all_frames"]),
        "diagram_requests": view["diagram_requests"],
    }
