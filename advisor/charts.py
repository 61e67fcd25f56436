"""Line-chart geometry for server-rendered SVG (no JavaScript): the template draws what this computes."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.selectors import Engagement

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 240, 48, 28, 12
TONES = 6


@dataclass(frozen=True)
class Line:
    label: str
    points: str  # "x,y x,y …" for <polyline>
    tone: int
    ctr: float | None
    conversion: float | None
    impressions: int

    @property
    def ctr_text(self) -> str:
        return "—" if self.ctr is None else f"{self.ctr:.1%}"

    @property
    def conversion_text(self) -> str:
        return "—" if self.conversion is None else f"{self.conversion:.2%}"


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[tuple[float, str]]  # (y, label)
    x_ticks: list[tuple[float, str]]
    plot_left: int
    plot_bottom: int


def ctr_chart(series: list[Engagement]) -> LineChart | None:
    """Daily click-through rate per series; days without impressions leave a gap in the line."""
    if not series or not series[0].days:
        return None
    days = series[0].days
    rates = [s.daily_ctr() for s in series]
    top = max((r for line in rates for r in line if r is not None), default=0.0)
    top = max(0.05, _nice(top))
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(1, len(days) - 1)

    def y(rate: float) -> float:
        return round(PAD_TOP + plot_h * (1 - rate / top), 1)

    lines = []
    for n, (s, line) in enumerate(zip(series, rates, strict=True)):
        points = " ".join(
            f"{round(PAD_LEFT + i * step, 1)},{y(rate)}" for i, rate in enumerate(line) if rate is not None
        )
        lines.append(Line(s.label, points, n % TONES, s.ctr, s.conversion, s.total_impressions))
    y_ticks = [(y(top * f), f"{top * f:.0%}") for f in (0, 0.25, 0.5, 0.75, 1)]
    x_ticks = [(round(PAD_LEFT + i * step, 1), f"{days[i]:%m-%d}") for i in range(0, len(days), max(1, len(days) // 6))]
    return LineChart(WIDTH, HEIGHT, lines, y_ticks, x_ticks, PAD_LEFT, HEIGHT - PAD_BOTTOM)


def _nice(value: float) -> float:
    for ceiling in (0.05, 0.1, 0.2, 0.25, 0.4, 0.5, 0.75, 1.0):
        if value <= ceiling:
            return ceiling
    return 1.0
