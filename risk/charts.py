"""Chart geometry for server-rendered SVG in the risk dashboards (no JavaScript), generalising the advisor's line
chart (advisor/charts.py) to any series of numbers, and adding paired bars (expected vs actual shares per bin)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 720, 240, 52, 40, 12, 8
TONES = 6


@dataclass(frozen=True)
class Line:
    label: str
    points: str  # "x,y x,y …" for <polyline>
    tone: int
    last: str  # the latest value, formatted


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    plot_left: int
    plot_bottom: int
    guides: list[tuple[float, str]]  # horizontal reference lines (e.g. a threshold): (y, label)


def _nice(value: float) -> float:
    for ceiling in (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0):
        if value <= ceiling:
            return ceiling
    return value


def line_chart(
    x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, fmt: str = "{:.2f}",
    guides: Sequence[tuple[float, str]] = (), floor_top: float = 0.05,
) -> LineChart | None:
    """Lines over shared x positions; None values leave gaps. `guides` draw dashed reference lines."""
    if not x_labels or not series:
        return None
    values = [v for _, ys in series for v in ys if v is not None] + [g for g, _ in guides]
    top = _nice(max([floor_top, *values]))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(1, len(x_labels) - 1)

    def y(v: float) -> float:
        return round(PAD_TOP + plot_h * (1 - min(v, top) / top), 1)

    lines = []
    for n, (label, ys) in enumerate(series):
        points = " ".join(f"{round(PAD_LEFT + i * step, 1)},{y(v)}" for i, v in enumerate(ys) if v is not None)
        last = next((fmt.format(v) for v in reversed(ys) if v is not None), "—")
        lines.append(Line(label, points, n % TONES, last))
    y_ticks = [(y(top * f), fmt.format(top * f)) for f in (0, 0.25, 0.5, 0.75, 1)]
    every = max(1, len(x_labels) // 6)
    x_ticks = [(round(PAD_LEFT + i * step, 1), x_labels[i]) for i in range(0, len(x_labels), every)]
    return LineChart(WIDTH, HEIGHT, lines, y_ticks, x_ticks, PAD_LEFT, HEIGHT - PAD_BOTTOM,
                     [(y(g), label) for g, label in guides])


@dataclass(frozen=True)
class BarPair:
    label: str
    x: float
    actual_x: float
    label_x: float
    expected_y: float
    expected_h: float
    actual_y: float
    actual_h: float
    expected: str
    actual: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bar_width: float
    bars: list[BarPair]
    y_ticks: list[tuple[float, str]]
    plot_left: int
    plot_bottom: int


def paired_bars(labels: Sequence[str], expected: Sequence[float], actual: Sequence[float]) -> BarChart | None:
    """Two bars per bin: the reference share and the recent share (PSI's two distributions)."""
    if not labels:
        return None
    top = _nice(max([0.05, *expected, *actual]))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / len(labels)
    bar = max(2.0, slot * 0.38)
    bottom = HEIGHT - PAD_BOTTOM

    def h(v: float) -> float:
        return round(plot_h * min(v, top) / top, 1)

    bars = [
        BarPair(label, round(PAD_LEFT + i * slot + slot * 0.1, 1), round(PAD_LEFT + i * slot + slot * 0.1 + bar, 1),
                round(PAD_LEFT + i * slot + slot * 0.1 + bar, 1), round(bottom - h(e), 1), h(e),
                round(bottom - h(a), 1), h(a), f"{e:.1%}", f"{a:.1%}")
        for i, (label, e, a) in enumerate(zip(labels, expected, actual, strict=True))
    ]
    ticks = [(round(bottom - plot_h * f, 1), f"{top * f:.0%}") for f in (0, 0.25, 0.5, 0.75, 1)]
    return BarChart(WIDTH, HEIGHT, round(bar, 1), bars, ticks, PAD_LEFT, bottom)
