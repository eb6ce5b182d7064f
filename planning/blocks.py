"""An artifact's Markdown as top-level blocks, which review comments name (DESIGN §8).

A block is a heading, paragraph, list, table, code or mermaid fence (or a
quote, rule or HTML block) at the top level of the document. A comment holds
the block's position on the revision it was written on, a fingerprint of its
text and a short quote. On a later revision the comment follows the block
whose fingerprint is the same (the nearest one to where it was, if the text
repeats); when no block has it any more, the comment is outdated.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

from planning.markdown import parse_markdown

QUOTE_LENGTH = 120
_SPACES = re.compile(r"\s+")
_KINDS = {
    "heading_open": "heading",
    "paragraph_open": "paragraph",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "table_open": "table",
    "blockquote_open": "quote",
    "code_block": "code",
    "hr": "rule",
    "html_block": "html",
}


@dataclass(frozen=True)
class Block:
    """One top-level block: its position, kind, Markdown source, fingerprint and quote."""

    index: int
    kind: str
    source: str
    fingerprint: str
    quote: str

    @property
    def label(self) -> str:
        """How a list of blocks names it: its kind and the start of its text."""
        return f"{self.index + 1}. {self.kind.capitalize()}: {self.quote}"


def fingerprint(text: str) -> str:
    """A hash of the text with its whitespace normalised: reflowing a paragraph keeps it."""
    normal = _SPACES.sub(" ", text).strip()
    return hashlib.blake2b(normal.encode(), digest_size=16).hexdigest()


def short(text: str, length: int = QUOTE_LENGTH) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _kind(token: Token) -> str:
    if token.type == "fence":
        info = token.info.strip().lower()
        return "diagram" if info.startswith("mermaid") else "code"
    return _KINDS.get(token.type, "block")


def _text(tokens: Sequence[Token], start: int, opening: Token) -> str:
    """The words of a block, for its quote: its inline text, or a fence's content."""
    if opening.nesting == 0:
        return opening.content
    words, depth = [], 0
    for token in tokens[start:]:
        depth += token.nesting
        if token.type == "inline":
            words.append(token.content)
        if depth == 0:
            break
    return " ".join(words)


def split_blocks(source: str) -> list[Block]:
    """The top-level blocks of `source`, in order; the one place that decides them."""
    source = source or ""
    lines = source.split("\n")
    blocks: list[Block] = []
    tokens = parse_markdown(source)
    for position, token in enumerate(tokens):
        if token.level != 0 or token.nesting == -1 or token.map is None:
            continue
        start, end = token.map
        text = "\n".join(lines[start:end]).strip("\n")
        kind = _kind(token)
        quote = short(_text(tokens, position, token)) or short(text)
        blocks.append(Block(len(blocks), kind, text, fingerprint(text), quote))
    return blocks


def link_definitions(source: str) -> str:
    """The lines no block holds that define reference links, so that a block rendered
    alone still resolves `[text][ref]`."""
    env: dict = {}
    parse_markdown(source or "", env)
    references = env.get("references", {})
    if not references:
        return ""
    lines = (source or "").split("\n")
    return "\n".join(
        "\n".join(lines[slice(*reference["map"])]) for reference in references.values()
    )


def follow(fingerprint: str, position: int, blocks: Sequence[Block]) -> int | None:
    """Where a block written at `position` with this `fingerprint` is now among `blocks`:
    the nearest block with the same text, or None when the text is gone (outdated)."""
    same = [block.index for block in blocks if block.fingerprint == fingerprint]
    if not same:
        return None
    return min(same, key=lambda index: (abs(index - position), index))


def block_at(blocks: Sequence[Block], position: int) -> Block | None:
    return blocks[position] if 0 <= position < len(blocks) else None
