"""Line diffs between two texts, shaped for a readable unified view."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed", "gap"
    old_number: int | None
    new_number: int | None
    text: str


def diff_lines(old: str, new: str, context: int = 3) -> list[DiffLine]:
    """The changed lines of `old` → `new` with `context` unchanged lines around each change.

    Runs of unchanged lines beyond the context collapse into one "gap" line.
    """
    a, b = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    for group in SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        if lines or group[0][1] > 0 or group[0][3] > 0:
            lines.append(DiffLine("gap", None, None, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [
                    DiffLine("same", i + 1, j + 1, a[i])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            lines += [DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2)]
            lines += [DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2)]
    return lines


def diff_stats(lines: list[DiffLine]) -> tuple[int, int]:
    return sum(1 for x in lines if x.kind == "added"), sum(1 for x in lines if x.kind == "removed")
