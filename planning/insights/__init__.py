"""Insights: how a squad's planning process runs, period against period (DESIGN §9).

`read_insights` reads the history of a scope (a squad, or the projects a
principal engineer oversees) in a fixed number of queries (`history`), computes
the figures of the chosen period and of the one before it (`figures`), and the
signals they call for (`thresholds`). The page, its CSV files and the API all
show the same `tables` and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from planning.insights.figures import Figures, figures
from planning.insights.history import read_history
from planning.insights.period import Period, Window
from planning.insights.scope import Scope
from planning.insights.thresholds import THRESHOLDS, Signal, signals


@dataclass(frozen=True)
class Insights:
    period: Period
    current: Figures
    previous: Figures
    signals: list[Signal]


def read_insights(scope: Scope, period: Period, now: datetime | None = None) -> Insights:
    history = read_history(scope, period, now)
    current = figures(history, period.current, "current")
    previous = figures(history, period.previous, "previous")
    return Insights(period, current, previous, signals(current, previous))


__all__ = ["THRESHOLDS", "Insights", "Period", "Scope", "Signal", "Window", "read_insights"]
