"""Chart geometry for the investment pages, drawn as server-side SVG by the templates (no JavaScript).

Allocation: paired horizontal bars per asset class, target above current, on a common 0–100 % baseline (lengths
compare at a glance; a donut's angles do not). Goal: a fan chart, the 5–95 % and 25–75 % bands of wealth by year
with the median line and the target as a dashed rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from advisor.investing.asset_classes import ASSET_CLASSES, LABELS

LABEL_WIDTH, BAR_AREA, BAR_HEIGHT, PAIR_GAP, ROW_GAP = 170, 360, 14, 3, 12


@dataclass(frozen=True)
class AllocationRow:
    label: str
    target_pct: float
    current_pct: float | None
    y: int
    target_width: float
    current_width: float

    @property
    def target_text_y(self) -> int:
        return self.y + BAR_HEIGHT - 2

    @property
    def current_y(self) -> int:
        return self.y + BAR_HEIGHT + PAIR_GAP

    @property
    def current_text_y(self) -> int:
        return self.current_y + BAR_HEIGHT - 2


def allocation_chart(target: dict[str, float], current: dict[str, float] | None = None) -> dict[str, Any]:
    rows = []
    y = 0
    for asset_class in ASSET_CLASSES:
        t = float(target.get(asset_class, 0.0))
        c = float(current.get(asset_class, 0.0)) if current is not None else None
        if t <= 0 and not c:
            continue
        rows.append(AllocationRow(
            label=str(LABELS[asset_class]), target_pct=round(t * 100, 1),
            current_pct=round(c * 100, 1) if c is not None else None, y=y,
            target_width=max(1.0, t * BAR_AREA), current_width=max(1.0, (c or 0.0) * BAR_AREA),
        ))
        y += 2 * BAR_HEIGHT + PAIR_GAP + ROW_GAP if current is not None else BAR_HEIGHT + ROW_GAP
    return {"rows": rows, "width": LABEL_WIDTH + BAR_AREA + 70, "height": max(y, 1), "label_width": LABEL_WIDTH,
            "bar_height": BAR_HEIGHT, "with_current": current is not None}


FAN_W, FAN_H, FAN_LEFT, FAN_BOTTOM, FAN_TOP = 640, 260, 70, 28, 10


def _nice_step(raw: float) -> float:
    """The smallest round step (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k) at least `raw`: the axis reads 0, 300,000, …"""
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= raw)


def fan_chart(projection: dict[str, Any], *, target: float, start_value: float) -> dict[str, Any]:
    """Bands of the projection's percentiles (month, p5, p25, p50, p75, p95), starting from today's savings."""
    points = [(0, start_value, start_value, start_value, start_value, start_value)]
    points += [tuple(p) for p in projection["percentiles"]]
    last_month = max(p[0] for p in points) or 1
    step = _nice_step(max(max(p[5] for p in points), target) * 1.05 / 4)
    top = step * 4
    plot_w, plot_h = FAN_W - FAN_LEFT - 10, FAN_H - FAN_BOTTOM - FAN_TOP

    def x(month: float) -> float:
        return round(FAN_LEFT + month / last_month * plot_w, 1)

    def y(value: float) -> float:
        return round(FAN_TOP + plot_h - value / top * plot_h, 1)

    def band(lo: int, hi: int) -> str:
        upper = [f"{x(p[0])},{y(p[hi])}" for p in points]
        lower = [f"{x(p[0])},{y(p[lo])}" for p in reversed(points)]
        return " ".join(upper + lower)

    y_ticks = [(y(step * i), f"{step * i:,.0f}") for i in range(5)]
    every = max(1, round(last_month / 12 / 10))  # at most about ten year labels
    x_ticks = [(x(p[0]), f"{p[0] // 12}") for p in points if p[0] % (12 * every) == 0]
    return {
        "width": FAN_W, "height": FAN_H, "left": FAN_LEFT, "bottom": FAN_H - FAN_BOTTOM,
        "outer": band(1, 5), "inner": band(2, 4), "median": " ".join(f"{x(p[0])},{y(p[3])}" for p in points),
        "target_y": y(target), "right": FAN_W - 10, "y_ticks": y_ticks, "x_ticks": x_ticks,
    }
