"""Geometry of the performance charts (server-rendered SVG, like the payoff chart). No ORM, no templates.

A series is a list of labels (dates or times, evenly spaced along x: one slot per trading day or minute
sample) and values. `line` scales it into an SVG box with room for axis labels left and below, and gives the
polyline, the area between the line and the zero line (filled for the drawdown), the y ticks at "nice"
steps and up to `max_x_labels` x labels. `bars` gives one bar per value from the zero line, up for a gain,
down for a loss. Every point keeps its label and value for the hover title and the table beside the chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from config.pages import indian_grouping
from strategies.payoff import _nice_step as nice_step


def rupees(value: float) -> str:
    return indian_grouping(value)


def percent(value: float) -> str:
    return f"{value:.1f} %" if abs(value) < 10 else f"{value:.0f} %"


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: float


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    positive: bool
    label: str
    value: float


@dataclass
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    zero_y: float
    polyline: str = ""
    area: str = ""
    points: list[Point] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def empty(self) -> bool:
        return not self.points and not self.bars


LEFT, RIGHT, TOP, BOTTOM = 76, 12, 12, 28


def _range(values: Sequence[float]) -> tuple[float, float]:
    low, high = min([*values, 0.0]), max([*values, 0.0])
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    margin = (high - low) * 0.06
    return low - (margin if low < 0 else 0), high + (margin if high > 0 else 0)


def _frame(values, width, height, fmt, *, include_zero=True):
    low, high = _range(values) if include_zero else _range_no_zero(values)
    plot_h = height - TOP - BOTTOM

    def sy(v: float) -> float:
        return round(TOP + (high - v) / (high - low) * plot_h, 1)

    step = nice_step(high - low, 4)
    ticks, tick = [], math.ceil(low / step) * step  # the first step multiple inside the range
    while tick <= high + 1e-9:
        ticks.append((sy(tick), fmt(tick)))
        tick += step
    chart = Chart(
        width, height, LEFT, width - RIGHT, TOP, height - BOTTOM, zero_y=sy(0.0) if low <= 0 <= high else sy(low)
    )
    chart.y_ticks = ticks
    return chart, sy


def _range_no_zero(values):
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    margin = (high - low) * 0.06
    return low - margin, high + margin


def _x_ticks(xs: Sequence[float], labels: Sequence[str], max_x_labels: int) -> list[tuple[float, str]]:
    n = len(xs)
    if n == 0:
        return []
    every = max(1, -(-n // max_x_labels))  # ceil
    return [(xs[i], labels[i]) for i in range(0, n, every)]


def line(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    width: int = 760,
    height: int = 220,
    fmt: Callable[[float], str] = rupees,
    include_zero: bool = False,
    max_x_labels: int = 6,
) -> Chart:
    """A line through the values, x evenly spaced; with include_zero the y range always holds 0 (drawdown,
    MTM) and `area` closes the line onto the zero line."""
    values = [float(v) for v in values]
    if not values:
        return Chart(width, height, LEFT, width - RIGHT, TOP, height - BOTTOM, zero_y=height - BOTTOM)
    chart, sy = _frame(values, width, height, fmt, include_zero=include_zero)
    n = len(values)
    plot_w = chart.plot_width
    xs = [round(LEFT + (i / (n - 1) * plot_w if n > 1 else plot_w / 2), 1) for i in range(n)]
    chart.points = [Point(x, sy(v), label, v) for x, v, label in zip(xs, values, labels, strict=True)]
    chart.polyline = " ".join(f"{p.x},{p.y}" for p in chart.points)
    chart.area = " ".join([f"{xs[0]},{chart.zero_y}", chart.polyline, f"{xs[-1]},{chart.zero_y}"])
    chart.x_ticks = _x_ticks(xs, labels, max_x_labels)
    return chart


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    width: int = 760,
    height: int = 180,
    fmt: Callable[[float], str] = rupees,
    max_x_labels: int = 6,
) -> Chart:
    """One bar per value in its own slot (70 % of the slot wide), from the zero line up or down."""
    values = [float(v) for v in values]
    if not values:
        return Chart(width, height, LEFT, width - RIGHT, TOP, height - BOTTOM, zero_y=height - BOTTOM)
    chart, sy = _frame(values, width, height, fmt, include_zero=True)
    slot = chart.plot_width / len(values)
    bar_w = round(max(slot * 0.7, 1.0), 1)
    centers = [round(LEFT + slot * (i + 0.5), 1) for i in range(len(values))]
    for center, value, label in zip(centers, values, labels, strict=True):
        y = sy(value)
        top, height_ = (y, chart.zero_y - y) if value >= 0 else (chart.zero_y, y - chart.zero_y)
        chart.bars.append(
            Bar(round(center - bar_w / 2, 1), round(top, 1), bar_w, round(height_, 1), value >= 0, label, value)
        )
    chart.x_ticks = _x_ticks(centers, labels, max_x_labels)
    return chart
