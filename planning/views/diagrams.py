"""The frame in which Mermaid draws diagrams, away from the pages.

Mermaid writes <style> elements and style attributes while it draws, which
the pages' Content-Security-Policy refuses. It runs in this document instead:
a frame sandboxed without allow-same-origin, so an opaque origin that reaches
neither the page nor the cookies, with a policy of its own that allows inline
style and otherwise only our own scripts. static/js/diagrams.js sends it each
diagram's source and shows the SVG it sends back as an image.
"""

from __future__ import annotations

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

FRAME_POLICY = {
    "default-src": [NONE],
    "script-src": [SELF],
    # For this frame document only: the pages keep style-src 'self'.
    "style-src": [UNSAFE_INLINE],
    "frame-ancestors": [SELF],
    "base-uri": [NONE],
    "form-action": [NONE],
}


@require_GET
@xframe_options_sameorigin
@csp(FRAME_POLICY)
def diagram_frame(request: HttpRequest) -> HttpResponse:
    """The same small document for everyone: it holds nothing of the user."""
    return render(request, "planning/diagram_frame.html")
