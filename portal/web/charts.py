"""Bar charts drawn on the server: the geometry of an SVG the template writes out.

No script and no chart library: a handler computes a chart here (bars, axis ticks,
grid lines, in SVG user units) and a template draws it, with a table of the same
figures under it for screen readers and printing. The brushing dashboard's votes per
hour (``voting.controllers.brushing``) and the public statistics (``results``) share
these pieces; ``templates/charts.html`` draws a ``BarChart``.

Series are told apart by pattern as well as colour (``SERIES_STYLES``): no information
is carried by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# The look of the n-th series of a chart: its fill (a colour or one of the patterns
# ``templates/charts.html`` defines) and whether its bars get a thin outline.
SERIES_STYLES = (
    "#a61b1b",
    "url(#p-stripes)",
    "url(#p-cross)",
    "url(#p-dots)",
    "url(#p-lines)",
    "#2f5d8a",
)


@dataclass(frozen=True)
class Segment:
    """One series' part of a stacked bar."""

    status: str  # the series' key
    y: float
    height: float
    fill: str = ""


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    title: str
    segments: list[Segment]


@dataclass(frozen=True)
class Tick:
    x: float
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    """A stacked series: its key, its label in the legend and tooltips, its fill."""

    key: str
    label: str
    fill: str = ""


def nice_ceiling(value: int) -> int:
    """The axis maximum: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 4:
        return 4
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude * 4 >= value:
                return step * magnitude * 4
        magnitude *= 10


def grid_lines(top: int, plot_height: int, top_value: int) -> list[tuple[float, int]]:
    """(y, value) of the four horizontal grid lines and the base line."""
    scale = plot_height / top_value
    return [
        (round(top + plot_height - v * scale, 2), v)
        for v in range(0, top_value + 1, top_value // 4)
    ]


@dataclass(frozen=True)
class BarChart:
    """A stacked bar chart: one bar per label, one segment per series (SVG user units)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[Bar]
    ticks: list[Tick]
    grid: list[tuple[float, int]]  # (y, value)
    series: list[Series]
    unit: str
    summary: str

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def stacked(self) -> bool:
        return len(self.series) > 1


def _wrap(label: str, width: int) -> tuple[str, ...]:
    """A tick label in lines of at most ``width`` characters (two lines at most)."""
    if len(label) <= width:
        return (label,)
    rest = label[width:]
    return (label[:width], rest if len(rest) <= width else rest[: width - 1] + "…")


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[int]],
    *,
    unit: str,
    width: int = 0,
    height: int = 300,
    tick_width: int = 0,
) -> BarChart:
    """A stacked bar chart of ``values[i][s]`` (label ``i``, series ``s``).

    The y axis runs from 0 to a round ceiling of the tallest bar; every label gets a
    tick unless there are too many, when every n-th one does (the table under the chart
    has them all). ``tick_width`` wraps tick labels at that many characters (0: keep);
    ``width`` 0 sizes the chart to its number of bars.
    """
    series = [
        s if s.fill else Series(s.key, s.label, SERIES_STYLES[i % len(SERIES_STYLES)])
        for i, s in enumerate(series)
    ]
    left, right, top, bottom = 56, 12, 28, 52
    # Wide enough for its bars and no wider: a chart of three bars stays readable on a
    # phone at its own size, a chart of many days scrolls there.
    width = width or max(400, min(720, left + right + 76 * max(1, len(labels))))
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(1, len(labels))
    totals = [sum(row) for row in values]
    top_value = nice_ceiling(max(totals, default=0))
    scale = plot_h / top_value
    slot_w = plot_w / count
    bar_w = max(1.0, min(slot_w * 0.7, 72.0))
    every = max(1, -(-count // 14))  # at most 14 ticks
    bars, ticks = [], []
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot_w
        if i % every == 0:
            lines = _wrap(label, tick_width) if tick_width else (label,)
            ticks.append(Tick(round(x + slot_w / 2, 2), lines))
        if not sum(row):
            continue
        segments, y = [], float(top + plot_h)
        for s, n in zip(series, row, strict=True):
            if n:
                h = n * scale
                y -= h
                segments.append(Segment(s.key, round(y, 2), round(h, 2), s.fill))
        parts = "，".join(f"{s.label} {n:,}" for s, n in zip(series, row, strict=True))
        title = f"{label}：{parts}{unit}" if len(series) > 1 else f"{label}：{row[0]:,} {unit}"
        bars.append(Bar(round(x + (slot_w - bar_w) / 2, 2), round(bar_w, 2), title, segments))
    grand = sum(totals)
    summary = f"共 {len(labels)} 项，合计 {grand:,} {unit}。"
    if totals and grand:
        peak = max(range(len(totals)), key=lambda i: totals[i])
        summary += f"最多的是{labels[peak]}，{totals[peak]:,} {unit}。"
    return BarChart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_w,
        plot_height=plot_h,
        bars=bars,
        ticks=ticks,
        grid=grid_lines(top, plot_h, top_value),
        series=list(series),
        unit=unit,
        summary=summary,
    )
