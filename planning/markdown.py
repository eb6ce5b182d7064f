"""Markdown of artifacts and comments, rendered on the server and sanitised.

As on GitHub, raw HTML in the source is allowed through a short allow-list:
nh3 cleans the rendered result, so no script, event handler, `javascript:`
link, style sheet, inline style or htmx attribute reaches the page (whose
Content-Security-Policy would refuse inline style anyway). Column alignment
in tables becomes a class. Fenced ```mermaid blocks become
`<pre class="mermaid">` holding the escaped diagram source, which
static/js/diagrams.js draws in the browser.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from html import escape

import nh3
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
    # The line of the source a ```mermaid block starts on, for its errors' line numbers.
    "pre": {"data-line"},
}
ALIGNMENTS = {"left", "center", "right"}
_ALIGN_CLASSES = {f"align-{alignment}" for alignment in ALIGNMENTS}
ALLOWED_CLASSES = {"pre": {"mermaid"}, "td": _ALIGN_CLASSES, "th": _ALIGN_CLASSES}

# Mermaid lines that bind behaviour or inject styles; strict mode ignores most,
# and they are dropped here as well so that no such text reaches the browser.
_UNSAFE_MERMAID_LINE = re.compile(
    r"^\s*(click|callback|href)\b"
    r"|javascript:|data:|vbscript:|url\s*\(|expression\s*\(|@import|%%\s*\{",
    re.IGNORECASE,
)
# Tags inside labels, but for the line break Mermaid itself understands.
_LABEL_TAG = re.compile(r"<(?!br\s*/?>)[^>]*>?", re.IGNORECASE)


def safe_mermaid_source(source: str) -> str:
    """The diagram source without interaction bindings, script URLs, CSS tricks or tags."""
    kept = []
    for line in source.splitlines():
        # Mermaid also ends a statement at ";", so judge each statement alone.
        statements = [s for s in line.split(";") if not _UNSAFE_MERMAID_LINE.search(s)]
        if statements:
            kept.append(_LABEL_TAG.sub("", ";".join(statements)))
    return "\n".join(kept)


def _render_fence(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    language = token.info.strip().split(maxsplit=1)[0].lower() if token.info.strip() else ""
    if language == "mermaid":
        # The diagram's first line is the one after the fence (token.map counts from 0).
        fence_line = f' data-line="{token.map[0] + 1}"' if token.map else ""
        return (
            f'<pre class="mermaid"{fence_line}>{escape(safe_mermaid_source(token.content))}</pre>\n'
        )
    return f"<pre><code>{escape(token.content)}</code></pre>\n"


def _align_with_classes(state) -> None:
    """Table cells say their alignment with a class (align-right), not a style attribute."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", "")
            alignment = str(style).removeprefix("text-align:")
            if alignment in ALIGNMENTS:
                token.attrSet("class", f"align-{alignment}")


_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
_md.enable(["table", "strikethrough"])
_md.core.ruler.push("align_with_classes", _align_with_classes)
_md.add_render_rule("fence", _render_fence)


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        allowed_classes=ALLOWED_CLASSES,
    )


# Part of every cache key: change it when the rendering or the allow-list changes,
# and no page shows HTML rendered by the old rules.
RENDERER_VERSION = "3"
CACHE_SECONDS = 7 * 24 * 3600


def _render(source: str) -> str:
    return _clean(_md.render(source))


def _cache_key(source: str) -> str:
    digest = hashlib.blake2b(source.encode(), digest_size=20).hexdigest()
    return f"md:{RENDERER_VERSION}:{digest}"


_HEADING_TAG = re.compile(r"<(/?)h([1-6])>")


def demote_headings(html: str, by: int) -> str:
    """Headings `by` levels lower (h1 → h3 for 2), none below h6.

    Cleaned HTML has headings without attributes, so the tags are exactly
    `<hN>` and `</hN>`. A page that shows a text under its own card titles
    demotes it, so that a `#` in the text never outranks the page's headings.
    """
    if not by:
        return html
    return _HEADING_TAG.sub(lambda m: f"<{m[1]}h{min(int(m[2]) + by, 6)}>", html)


def render_markdown_many(sources: Sequence[str], *, demote: int = 0) -> list[SafeString]:
    """Safe HTML for each of `sources`, in order.

    The HTML is cached under a hash of the source, so it never goes stale: an
    edited text is a new key. One cache round trip for the whole list; only
    the texts not in the cache are rendered. A review page shows hundreds of
    comments, and rendering them is most of its cost.
    """
    keys = {source: _cache_key(source) for source in sources if source}
    cached = cache.get_many(list(set(keys.values())))
    fresh = {}
    for source, key in keys.items():
        if key not in cached:
            cached[key] = fresh[key] = _render(source)
    if fresh:
        cache.set_many(fresh, CACHE_SECONDS)
    # Cleaned by nh3 in _render, whether just now or when it was cached.
    return [
        mark_safe(demote_headings(cached[keys[source]], demote)) if source else mark_safe("")
        for source in sources
    ]


def render_markdown(source: str, *, cached: bool = True) -> SafeString:
    """Safe HTML for `source`, ready to put into a template.

    `cached=False` for text that is shown once, such as the editor's live
    preview of every keystroke, so that drafts do not fill the cache.
    """
    if not cached:
        return mark_safe(_render(source or ""))  # cleaned by nh3 in _render
    return render_markdown_many([source or ""])[0]


def parse_markdown(source: str, env: dict | None = None) -> list:
    """The tokens of `source` as the renderer reads them (planning.blocks splits on them)."""
    return _md.parse(source, {} if env is None else env)


def mermaid_blocks(source: str) -> list[str]:
    """The source of every ```mermaid block, in order (for the design packet and checks)."""
    return [
        t.content
        for t in _md.parse(source or "")
        if t.type == "fence" and t.info.strip().lower().startswith("mermaid")
    ]
