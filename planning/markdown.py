"""Markdown of artifacts and comments, rendered on the server and sanitised.

As on GitHub, raw HTML in the source is allowed through a short allow-list:
nh3 cleans the rendered result, so no script, event handler, `javascript:`
link, style sheet or htmx attribute reaches the page. Fenced ```mermaid
blocks become `<pre class="mermaid">` holding the escaped diagram source,
which Mermaid (strict security level) draws in the browser.
"""

from __future__ import annotations

import re
from html import escape

import nh3
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
    "td": {"align", "style"},
    "th": {"align", "style"},
    "ol": {"start"},
}
ALLOWED_CLASSES = {"pre": {"mermaid"}}

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
        return f'<pre class="mermaid">{escape(safe_mermaid_source(token.content))}</pre>\n'
    return f"<pre><code>{escape(token.content)}</code></pre>\n"


_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
_md.enable(["table", "strikethrough"])
_md.add_render_rule("fence", _render_fence)


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        filter_style_properties={"text-align"},
        allowed_classes=ALLOWED_CLASSES,
    )


def render_markdown(source: str) -> SafeString:
    """Safe HTML for `source`, ready to put into a template."""
    return mark_safe(_clean(_md.render(source or "")))  # cleaned by nh3 just above


def mermaid_blocks(source: str) -> list[str]:
    """The source of every ```mermaid block, in order (for the design packet and checks)."""
    return [
        t.content
        for t in _md.parse(source or "")
        if t.type == "fence" and t.info.strip().lower().startswith("mermaid")
    ]
