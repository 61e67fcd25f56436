"""Chart geometry for the campaign report, drawn as server-side SVG by the admin template (no JavaScript).

Conversion by arm: one vertical bar per arm (A, B, holdout) on a common zero baseline, with its 95 % interval as a
whisker, so the gap to the holdout reads directly. Activity: messages delivered per day as bars with the day's
click-through rate as a line on its own axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisor.engagement.experiment import HOLDOUT, ArmResult
from advisor.engagement.selectors import DaySeries

W, H, LEFT, BOTTOM, TOP = 520, 220, 52, 28, 12
ARM_LABELS = {"a": "A", "b": "B", HOLDOUT: "Holdout"}


@dataclass(frozen=True)
class Bar:
    label: str
    x: float
    y: float
    height: float
    value_text: str
    whisker_top: float
    whisker_bottom: float
    holdout: bool

    @property
    def centre(self) -> float:
        return round(self.x + BAR_W / 2, 1)


BAR_W = 60


def _nice_top(value: float) -> float:
    for top in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0):
        if value <= top:
            return top
    return 1.0


def conversion_chart(arms: list[ArmResult]) -> dict[str, object] | None:
    if not arms or not any(a.customers for a in arms):
        return None
    intervals = []
    for a in arms:
        p = a.rate or 0.0
        half = 1.959963984540054 * math.sqrt(p * (1 - p) / a.customers) if a.customers else 0.0
        intervals.append((max(0.0, p - half), min(1.0, p + half)))
    top = _nice_top(max(hi for _, hi in intervals) or 0.01)
    plot_h = H - BOTTOM - TOP

    def y(v: float) -> float:
        return round(TOP + plot_h * (1 - v / top), 1)

    bars = []
    for i, (a, (lo, hi)) in enumerate(zip(arms, intervals, strict=True)):
        p = a.rate or 0.0
        bars.append(Bar(label=ARM_LABELS.get(a.arm, a.arm), x=LEFT + 30 + i * (BAR_W + 50), y=y(p),
                        height=round(plot_h * p / top, 1), value_text=f"{p:.1%}", whisker_top=y(hi),
                        whisker_bottom=y(lo), holdout=a.arm == HOLDOUT))
    ticks = [(y(top * f), f"{top * f:.1%}") for f in (0, 0.5, 1)]
    return {"width": W, "height": H, "bars": bars, "y_ticks": ticks, "plot_left": LEFT, "plot_bottom": H - BOTTOM,
            "bar_width": BAR_W}


def activity_chart(series: DaySeries) -> dict[str, object] | None:
    if not any(series.delivered):
        return None
    n = len(series.days)
    plot_w, plot_h = W - LEFT - 40, H - BOTTOM - TOP
    step = plot_w / n
    top = max(series.delivered)
    bars = []
    points = []
    for i, (day, sent, clicked) in enumerate(zip(series.days, series.delivered, series.clicked, strict=True)):
        height = round(plot_h * sent / top, 1)
        x = round(LEFT + i * step + 1, 1)
        bars.append({"x": x, "y": round(TOP + plot_h - height, 1), "height": height, "width": round(step - 2, 1),
                     "title": f"{day:%m-%d}: {sent}"})
        if sent:
            points.append(f"{round(x + step / 2, 1)},{round(TOP + plot_h * (1 - clicked / sent), 1)}")
    x_ticks = [(round(LEFT + i * step + step / 2, 1), f"{series.days[i]:%m-%d}") for i in range(0, n, max(1, n // 6))]
    return {"width": W, "height": H, "bars": bars, "ctr_points": " ".join(points), "x_ticks": x_ticks,
            "top": top, "plot_left": LEFT, "plot_right": W - 40, "plot_bottom": H - BOTTOM, "plot_top": TOP}
