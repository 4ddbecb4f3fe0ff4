"""The geometry of a horizontal bar chart that the template draws as inline SVG: no script, no library.

Each row holds two bars (checked in, and with credits) against one scale; rows come in labelled groups
(the symposia). Numbers only: the template adds the words, so that they are translated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 960
LABEL_WIDTH = 120
VALUE_WIDTH = 80
"""Room right of the longer bar for the two numbers."""
TOP = 40
"""Room above the first group for the legend."""
AXIS_HEIGHT = 28
GROUP_HEIGHT = 28
ROW_HEIGHT = 22
BAR_HEIGHT = 8
BAR_GAP = 1
MAX_TICKS = 6


@dataclass(frozen=True, slots=True)
class ChartRow:
    """A row's input: its short label, its full description (a tooltip) and its two values."""

    label: str
    description: str
    first: int
    second: int


@dataclass(frozen=True, slots=True)
class ChartBar:
    row: ChartRow
    y: float
    first_width: float
    second_width: float


@dataclass(frozen=True, slots=True)
class ChartGroup:
    label: str
    y: float


@dataclass(frozen=True, slots=True)
class ChartTick:
    x: float
    value: int


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_top: int
    plot_bottom: int
    bar_height: int
    bar_gap: int
    groups: tuple[ChartGroup, ...]
    bars: tuple[ChartBar, ...]
    ticks: tuple[ChartTick, ...]


def bar_chart(groups: Sequence[tuple[str, Sequence[ChartRow]]]) -> BarChart:
    """Lay out the groups top to bottom on a scale from zero to a round number above the largest value."""
    largest = max((max(row.first, row.second) for _, rows in groups for row in rows), default=0)
    step = _tick_step(largest)
    top_value = max(step, math.ceil(largest / step) * step)
    plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH

    def width_of(value: int) -> float:
        return round(plot_width * value / top_value, 1)

    y = float(TOP)
    placed_groups: list[ChartGroup] = []
    bars: list[ChartBar] = []
    for label, rows in groups:
        placed_groups.append(ChartGroup(label, y + GROUP_HEIGHT - 9))
        y += GROUP_HEIGHT
        for row in rows:
            bars.append(
                ChartBar(
                    row,
                    y + (ROW_HEIGHT - 2 * BAR_HEIGHT - BAR_GAP) / 2,
                    width_of(row.first),
                    width_of(row.second),
                )
            )
            y += ROW_HEIGHT
    ticks = tuple(ChartTick(LABEL_WIDTH + width_of(value), value) for value in range(0, top_value + 1, step))
    return BarChart(
        width=WIDTH,
        height=int(y) + AXIS_HEIGHT,
        plot_left=LABEL_WIDTH,
        plot_top=TOP,
        plot_bottom=int(y),
        bar_height=BAR_HEIGHT,
        bar_gap=BAR_GAP,
        groups=tuple(placed_groups),
        bars=tuple(bars),
        ticks=ticks,
    )


def _tick_step(largest: int) -> int:
    """1, 2, 5 or 10 times a power of ten: the smallest that needs at most ``MAX_TICKS`` intervals."""
    if largest <= MAX_TICKS:
        return 1
    magnitude: int = 10 ** int(math.log10(largest / MAX_TICKS))
    for multiple in (1, 2, 5):
        step: int = multiple * magnitude
        if largest <= step * MAX_TICKS:
            return step
    return 10 * magnitude
