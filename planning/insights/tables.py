"""The figures as tables: what the page shows beside each chart, and what the CSV files hold.

The page, the CSV downloads and the API's CSV are written from these same
tables, so they cannot disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from notifications.models import Notification
from planning.insights import Insights
from planning.insights.figures import LATE_PHASES, TIMED_PHASES, Figures, days
from planning.insights.history import MilestoneRow
from planning.workflow import PHASES, Phase

Value = str | int | float | None


@dataclass(frozen=True)
class Cell:
    value: Value
    # Milestones a cell names, each shown as a link to its page.
    milestones: tuple[MilestoneRow, ...] = ()
    note: str = ""  # a word beside the value, e.g. "late"

    @property
    def html(self) -> SafeString:
        """The cell's content on the page: links to its milestones, a dash for nothing, a note."""
        if self.milestones:
            content = format_html_join(
                ", ",
                '<a href="{}" title="{}">{}</a>',
                ((m.url, m.title, m.label) for m in self.milestones),
            )
        elif self.value is None:
            content = mark_safe('<span class="muted" aria-label="none">—</span>')
        else:
            content = conditional_escape(str(self.value))
        if self.note:
            note = '<span class="visually-hidden">(</span>{}<span class="visually-hidden">)</span>'
            return format_html(
                '{} <span class="badge badge-late">' + note + "</span>", content, self.note
            )
        return SafeString(content)

    @property
    def text(self) -> str:
        """The value as the CSV writes it."""
        if self.milestones:
            return ", ".join(m.label for m in self.milestones)
        text = "" if self.value is None else str(self.value)
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class Table:
    name: str
    caption: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = "Nothing in this period."

    @property
    def numeric(self) -> list[bool]:
        """Which columns hold numbers (aligned right); the first one names the row."""
        return [
            index > 0
            and all(
                not cell.milestones and (cell.value is None or isinstance(cell.value, int | float))
                for cell in (row[index] for row in self.rows)
            )
            for index in range(len(self.columns))
        ]

    @property
    def header(self) -> list[tuple[str, bool]]:
        return list(zip(self.columns, self.numeric, strict=True))

    @property
    def body(self) -> SafeString:
        """The rows as table markup: the first cell of each names the row. Written here
        rather than in a template loop, which took several times as long over a squad's
        hundreds of milestones; every cell's content is escaped by `Cell.html`."""
        numeric = self.numeric
        lines = []
        for row in self.rows:
            cells = [f'<th scope="row">{row[0].html}</th>']
            cells += [
                (f'<td class="num">{cell.html}</td>' if number else f"<td>{cell.html}</td>")
                for cell, number in zip(row[1:], numeric[1:], strict=True)
            ]
            lines.append(f"<tr>{''.join(cells)}</tr>")
        return mark_safe("\n".join(lines))  # every cell's content was escaped

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([cell.text for cell in row])
        return out.getvalue()


def _milestone(milestone: MilestoneRow) -> Cell:
    return Cell(milestone.label, (milestone,))


def _label(phase: str) -> str:
    return Phase(phase).label


def summary(insights: Insights) -> Table:
    now, before = insights.current, insights.previous

    def row(name: str, of: Callable[[Figures], Value]) -> list[Cell]:
        return [Cell(name), Cell(of(now)), Cell(of(before))]

    def per_story(f: Figures) -> float | None:
        stories = sum(b.stories for b in f.breakout)
        return round(sum(b.subtasks for b in f.breakout) / stories, 1) if stories else None

    return Table(
        "summary",
        "This period against the previous one",
        ["Figure", "This period", "Previous period"],
        [
            row("Milestones in progress or done", lambda f: len(f.phase_times)),
            row("Milestones that reached done", lambda f: len(f.lead_times)),
            row("Median lead time to done (days)", lambda f: days(f.median_lead_seconds)),
            row("Design review rounds closed", lambda f: f.review_rounds),
            row("Rounds approved", lambda f: f.reviews_approved),
            row("Rounds with changes requested", lambda f: f.reviews_changes_requested),
            row("Moves back to an earlier phase", lambda f: f.move_back_total),
            row("Unknowns raised", lambda f: f.unknowns_total),
            row("Unknowns raised after the design review (late)", lambda f: f.late_total),
            row("Unknowns resolved", lambda f: len(f.resolution_seconds)),
            row("Median days to resolve an unknown", lambda f: days(f.median_resolution_seconds)),
            row("Deferrals approved", lambda f: f.deferrals["approved"]),
            row("Deferrals rejected", lambda f: f.deferrals["rejected"]),
            row("Reminders sent", lambda f: f.reminders_total),
            row("Escalations", lambda f: f.escalations),
            row("Stories of milestones done", lambda f: sum(b.stories for b in f.breakout)),
            row("Sub-tasks per story", per_story),
        ],
    )


def phase_time(insights: Insights) -> Table:
    return Table(
        "phase-time",
        "Days in each phase per milestone, this period",
        ["Milestone", *(_label(p) for p in TIMED_PHASES), "Total"],
        [
            [
                _milestone(t.milestone),
                *(Cell(days(t.seconds.get(p))) for p in TIMED_PHASES),
                Cell(days(t.total)),
            ]
            for t in insights.current.phase_times
        ],
        empty="No milestone was in progress in this period.",
    )


def phase_medians(insights: Insights) -> Table:
    now, before = insights.current, insights.previous

    def spent(f: Figures, phase: str) -> int:
        return sum(1 for t in f.phase_times if phase in t.seconds)

    return Table(
        "phase-medians",
        "Median days in each phase",
        ["Phase", "This period", "Milestones", "Previous period", "Milestones before"],
        [
            [
                Cell(_label(p)),
                Cell(days(now.median_seconds[p])),
                Cell(spent(now, p)),
                Cell(days(before.median_seconds[p])),
                Cell(spent(before, p)),
            ]
            for p in TIMED_PHASES
        ],
    )


def lead_time(insights: Insights) -> Table:
    return Table(
        "lead-time",
        "Lead time from creation to done",
        ["Milestone", "Done on", "Lead time (days)"],
        [
            [
                _milestone(lead.milestone),
                Cell(lead.done_at.date().isoformat()),
                Cell(days(lead.seconds)),
            ]
            for lead in insights.current.lead_times
        ],
        empty="No milestone reached done in this period.",
    )


def reviews(insights: Insights) -> Table:
    return Table(
        "reviews",
        "Design review rounds closed per milestone",
        ["Milestone", "Rounds", "Approved", "Changes requested"],
        [
            [_milestone(r.milestone), Cell(r.rounds), Cell(r.approved), Cell(r.changes_requested)]
            for r in insights.current.reviews
        ],
        empty="No design review round closed in this period.",
    )


def move_backs(insights: Insights) -> Table:
    before = {(b.from_phase, b.to_phase): b.count for b in insights.previous.move_backs}
    pairs = [(b.from_phase, b.to_phase) for b in insights.current.move_backs]
    pairs += [pair for pair in before if pair not in pairs]
    now = {(b.from_phase, b.to_phase): b for b in insights.current.move_backs}
    rows = []
    for pair in pairs:
        back = now.get(pair)
        rows.append(
            [
                Cell(_label(pair[0])),
                Cell(_label(pair[1])),
                Cell(back.count if back else 0),
                Cell(None, tuple(back.milestones) if back else ()),
                Cell(before.get(pair, 0)),
            ]
        )
    return Table(
        "move-backs",
        "Moves back to an earlier phase",
        ["From", "To", "This period", "Milestones", "Previous period"],
        rows,
        empty="No milestone moved back in either period.",
    )


def unknowns(insights: Insights) -> Table:
    now, before = insights.current.unknowns_raised, insights.previous.unknowns_raised
    return Table(
        "unknowns",
        "Unknowns raised, by the milestone's phase at the time",
        ["Phase when raised", "This period", "Previous period"],
        [
            [
                Cell(_label(p), note="late" if p in LATE_PHASES else ""),
                Cell(now.get(p, 0)),
                Cell(before.get(p, 0)),
            ]
            for p in PHASES
        ],
    )


def reminders(insights: Insights) -> Table:
    now, before = insights.current.reminders, insights.previous.reminders
    return Table(
        "reminders",
        "Reminders sent, by rule",
        ["Rule", "This period", "Previous period"],
        [
            [Cell(Notification.Kind(rule).label), Cell(now[rule]), Cell(before[rule])]
            for rule in now
        ],
    )


def breakout(insights: Insights) -> Table:
    return Table(
        "breakout",
        "Task breakout of the milestones done, by breakout mode",
        [
            "Breakout mode",
            "Milestones done",
            "Stories",
            "Sub-tasks",
            "Sub-tasks per story",
            "Stories without a sub-task",
        ],
        [
            [
                Cell(b.mode.capitalize()),
                Cell(len(b.milestones)),
                Cell(b.stories),
                Cell(b.subtasks),
                Cell(b.subtasks_per_story),
                Cell(b.without_subtasks),
            ]
            for b in insights.current.breakout
        ],
        empty="No milestone reached done in this period.",
    )


BUILDERS = {
    "summary": summary,
    "phase-time": phase_time,
    "phase-medians": phase_medians,
    "lead-time": lead_time,
    "reviews": reviews,
    "move-backs": move_backs,
    "unknowns": unknowns,
    "reminders": reminders,
    "breakout": breakout,
}
TABLE_NAMES = tuple(BUILDERS)


def tables(insights: Insights) -> dict[str, Table]:
    return {name: build(insights) for name, build in BUILDERS.items()}


def long_csv(all_tables: dict[str, Table]) -> str:
    """Every table in one file, a figure a line: table, row, column, value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "row", "column", "value"])
    for table in all_tables.values():
        for row in table.rows:
            for column, cell in zip(table.columns[1:], row[1:], strict=True):
                writer.writerow([table.name, row[0].text, column, cell.text])
    return out.getvalue()
