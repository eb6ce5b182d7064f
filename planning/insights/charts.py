"""Server-rendered SVG charts: the geometry here, the markup in `planning/includes/insights_chart.html`.

Every chart is horizontal bars with their names above them, so that it reads
at a phone's width as well as on a desk. Fills are CSS classes: each phase,
outcome and period has a colour *and* a pattern (`insights_patterns.html`),
and a legend in words; the table beside the chart holds the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from notifications.models import Notification
from planning.insights import Insights
from planning.insights.figures import LATE_PHASES, TIMED_PHASES, days
from planning.workflow import PHASES, Phase

WIDTH = 320
VALUE_ROOM = 56  # right of the longest bar: its value
LABEL_HEIGHT = 17
BAR_HEIGHT = 12
BAR_GAP = 3
ROW_GAP = 9
LABEL_CHARS = 50


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    css: str
    title: str


@dataclass(frozen=True)
class Bar:
    y: float
    segments: list[Segment]
    value: str
    value_x: float

    height = BAR_HEIGHT

    @property
    def value_y(self) -> float:
        return self.y + BAR_HEIGHT - 2


@dataclass(frozen=True)
class Row:
    label: str
    label_y: float
    bars: list[Bar]


@dataclass(frozen=True)
class LegendItem:
    css: str
    label: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    rows: list[Row]
    legend: list[LegendItem]
    height: float
    width: int = WIDTH

    @property
    def bars(self) -> SafeString:
        """The rows of bars as SVG markup. Written here rather than in a template loop:
        a squad's hundreds of milestones make thousands of shapes, and the template
        engine took several times as long over them. Every text is escaped."""
        out = []
        for row in self.rows:
            out.append(
                f'<g class="chart-row"><text class="chart-label" x="0" y="{row.label_y}">{escape(row.label)}</text>'
            )
            for bar in row.bars:
                out.append(
                    f'<rect class="chart-track" x="0" y="{bar.y}" width="{self.width}" height="{bar.height}"></rect>'
                )
                out += [
                    f'<rect class="{escape(s.css)}" x="{s.x}" y="{bar.y}" width="{s.width}" height="{bar.height}">'
                    f"<title>{escape(s.title)}</title></rect>"
                    for s in bar.segments
                ]
                out.append(
                    f'<text class="chart-value" x="{bar.value_x}" y="{bar.value_y}">{escape(bar.value)}</text>'
                )
            out.append("</g>")
        return mark_safe("".join(out))  # every text in it was escaped above


# (value, css class, tooltip) for each piece of a bar; a bar's value text after it.
Piece = tuple[float, str, str]
BarSpec = tuple[list[Piece], str]


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _chart(
    id: str,
    title: str,
    description: str,
    rows: list[tuple[str, list[BarSpec]]],
    legend: list[LegendItem],
) -> Chart:
    longest = max(
        (sum(v for v, _, _ in pieces) for _, bars in rows for pieces, _ in bars), default=0
    )
    scale = (WIDTH - VALUE_ROOM) / longest if longest else 0
    laid_out, y = [], 0.0
    for label, bars in rows:
        label_y = y + LABEL_HEIGHT - 4
        y += LABEL_HEIGHT
        drawn = []
        for pieces, value in bars:
            x, segments = 0.0, []
            for amount, css, tooltip in pieces:
                if amount > 0:
                    segments.append(Segment(round(x, 1), round(amount * scale, 1), css, tooltip))
                    x += amount * scale
            drawn.append(Bar(round(y, 1), segments, value, round(x + 4, 1)))
            y += BAR_HEIGHT + BAR_GAP
        laid_out.append(Row(_short(label), round(label_y, 1), drawn))
        y += ROW_GAP
    return Chart(id, title, description, laid_out, legend, round(max(y, 1.0), 1))


def _num(value: float | None) -> str:
    """A figure as the tables show it: days with one decimal, counts whole."""
    if value is None:
        return "—"
    return str(value) if isinstance(value, int) else f"{value:.1f}"


PERIODS = [
    LegendItem("period-current", "This period"),
    LegendItem("period-previous", "Previous period"),
]


def phase_time(insights: Insights) -> Chart:
    rows = []
    for t in insights.current.phase_times:
        pieces = [
            (
                t.seconds.get(p, 0.0),
                f"phase-{p}",
                f"{t.milestone.label}: {_num(days(t.seconds.get(p)))} days in {Phase(p).label}",
            )
            for p in TIMED_PHASES
        ]
        rows.append(
            (f"{t.milestone.label} · {t.milestone.title}", [(pieces, f"{_num(days(t.total))} d")])
        )
    return _chart(
        "chart-phase-time",
        "Days in each phase per milestone",
        "One bar per milestone, its phases stacked in order; the table beside it has every figure.",
        rows,
        [LegendItem(f"phase-{p}", Phase(p).label) for p in TIMED_PHASES],
    )


def _two_periods(label: str, now: float | None, before: float | None, unit: str) -> list[BarSpec]:
    return [
        ([(now or 0.0, "period-current", f"{label}, this period: {_num(now)}{unit}")], _num(now)),
        (
            [(before or 0.0, "period-previous", f"{label}, previous period: {_num(before)}{unit}")],
            _num(before),
        ),
    ]


def phase_medians(insights: Insights) -> Chart:
    now, before = insights.current.median_seconds, insights.previous.median_seconds
    rows = [
        (Phase(p).label, _two_periods(Phase(p).label, days(now[p]), days(before[p]), " days"))
        for p in TIMED_PHASES
    ]
    return _chart(
        "chart-phase-medians",
        "Median days in each phase, this period and the previous one",
        "Two bars per phase: this period, then the previous period, hatched.",
        rows,
        PERIODS,
    )


def lead_time(insights: Insights) -> Chart:
    rows = [
        (
            f"{lead.milestone.label} · {lead.milestone.title}",
            [
                (
                    [
                        (
                            lead.seconds,
                            "period-current",
                            f"{lead.milestone.label}: {_num(days(lead.seconds))} days",
                        )
                    ],
                    f"{_num(days(lead.seconds))} d",
                )
            ],
        )
        for lead in insights.current.lead_times
    ]
    return _chart(
        "chart-lead-time",
        "Lead time from creation to done",
        "One bar per milestone that reached done in the period.",
        rows,
        [],
    )


def reviews(insights: Insights) -> Chart:
    rows: list[tuple[str, list[BarSpec]]] = []
    for r in insights.current.reviews:
        pieces: list[Piece] = [
            (r.approved, "outcome-approved", f"{r.milestone.label}: {r.approved} approved"),
            (
                r.changes_requested,
                "outcome-changes",
                f"{r.milestone.label}: {r.changes_requested} with changes requested",
            ),
        ]
        rows.append(
            (
                f"{r.milestone.label} · {r.milestone.title}",
                [(pieces, f"{r.rounds} rounds" if r.rounds != 1 else "1 round")],
            )
        )
    return _chart(
        "chart-reviews",
        "Design review rounds per milestone, by outcome",
        "One bar per milestone: rounds approved, then rounds with changes requested.",
        rows,
        [
            LegendItem("outcome-approved", "Approved"),
            LegendItem("outcome-changes", "Changes requested"),
        ],
    )


def unknowns(insights: Insights) -> Chart:
    now, before = insights.current.unknowns_raised, insights.previous.unknowns_raised
    rows: list[tuple[str, list[BarSpec]]] = []
    for p in PHASES:
        label = Phase(p).label + (" (late)" if p in LATE_PHASES else "")
        bars = _two_periods(label, now.get(p, 0), before.get(p, 0), "")
        if p in LATE_PHASES:
            (pieces, value) = bars[0]
            bars[0] = ([(amount, "period-current-late", tip) for amount, _, tip in pieces], value)
        rows.append((label, bars))
    return _chart(
        "chart-unknowns",
        "Unknowns raised, by the milestone's phase at the time",
        "Two bars per phase: this period, then the previous period. Phases after the design "
        "review are marked late.",
        rows,
        [*PERIODS, LegendItem("period-current-late", "Late: after the design review")],
    )


def reminders(insights: Insights) -> Chart:
    now, before = insights.current.reminders, insights.previous.reminders
    rows: list[tuple[str, list[BarSpec]]] = [
        (label, _two_periods(label, now[rule], before[rule], ""))
        for rule in now
        for label in [Notification.Kind(rule).label]
    ]
    return _chart(
        "chart-reminders",
        "Reminders sent, by rule",
        "Two bars per rule: this period, then the previous period, hatched.",
        rows,
        PERIODS,
    )


def charts(insights: Insights) -> dict[str, Chart]:
    """Each chart under the name of the table that holds its figures."""
    return {
        "phase-time": phase_time(insights),
        "phase-medians": phase_medians(insights),
        "lead-time": lead_time(insights),
        "reviews": reviews(insights),
        "unknowns": unknowns(insights),
        "reminders": reminders(insights),
    }
