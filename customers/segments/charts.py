"""Chart geometry for the segment admin, drawn as server-side SVG by the templates (no JavaScript), in the manner
of `advisor/investing/charts.py`: horizontal bars for sizes (lengths compare at a glance), diverging bars for the
features that define a segment (z-scores either side of the population average), and lines of each segment's
share per run for drift over time. Pure: numbers in, coordinates out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABEL_WIDTH, BAR_AREA, BAR_HEIGHT, ROW_GAP, TEXT_WIDTH = 220, 360, 16, 8, 110
SIZE_LABEL_WIDTH = 320  # "S02 High debt, no term deposit, high spending" needs the room
TONES = 6


@dataclass(frozen=True)
class BarRow:
    label: str
    text: str
    y: int
    width: float
    highlight: bool

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 4

    @property
    def text_x(self) -> float:
        return SIZE_LABEL_WIDTH + self.width + 6


def size_bars(rows: Sequence[tuple[str, int, bool]], *, total: int) -> dict[str, object] | None:
    """One bar per segment: (label, customers, highlighted?) as a share of `total`, longest bar = the largest."""
    if not rows or total <= 0:
        return None
    top = max(n for _, n, _ in rows) or 1
    bars = [
        BarRow(label=label, text=f"{n:,} ({n / total:.1%})", y=i * (BAR_HEIGHT + ROW_GAP),
               width=max(1.0, round(n / top * BAR_AREA, 1)), highlight=highlight)
        for i, (label, n, highlight) in enumerate(rows)
    ]
    return {"rows": bars, "width": SIZE_LABEL_WIDTH + BAR_AREA + TEXT_WIDTH, "label_width": SIZE_LABEL_WIDTH,
            "height": len(bars) * (BAR_HEIGHT + ROW_GAP), "bar_height": BAR_HEIGHT}


@dataclass(frozen=True)
class DivergingRow:
    label: str
    text: str
    y: int
    x: float
    width: float
    positive: bool

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 4


def feature_bars(rows: Sequence[tuple[str, float, str]]) -> dict[str, object] | None:
    """(label, z-score, value text) per feature: bars grow right (above average) or left (below) from a centre
    line; the scale is symmetric and at least ±1 standard deviation so small differences look small."""
    if not rows:
        return None
    half = BAR_AREA / 2
    scale = max(1.0, *(abs(z) for _, z, _ in rows))
    centre = LABEL_WIDTH + half
    bars = []
    for i, (label, z, text) in enumerate(rows):
        width = max(1.0, round(abs(z) / scale * half, 1))
        bars.append(DivergingRow(label=label, text=f"{z:+.2f} σ · {text}", y=i * (BAR_HEIGHT + ROW_GAP),
                                 x=centre if z >= 0 else round(centre - width, 1), width=width, positive=z >= 0))
    height = len(bars) * (BAR_HEIGHT + ROW_GAP)
    return {"rows": bars, "width": LABEL_WIDTH + BAR_AREA + 3 * TEXT_WIDTH, "height": height,
            "label_width": LABEL_WIDTH, "centre": centre, "bar_height": BAR_HEIGHT,
            "text_x": LABEL_WIDTH + BAR_AREA + 6, "scale_text": f"±{scale:.1f} σ"}


WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 720, 240, 52, 40, 12, 8


@dataclass(frozen=True)
class Line:
    label: str
    points: str  # "x,y x,y …" for <polyline>
    dots: list[tuple[float, float]]  # a run with a single point still shows
    tone: int
    last: str


def _nice(value: float) -> float:
    for ceiling in (0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0):
        if value <= ceiling:
            return ceiling
    return 1.0


def share_lines(
    x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]
) -> dict[str, object] | None:
    """Each segment's share of customers per run (None: the segment did not exist in that run, a gap)."""
    if not x_labels or not series:
        return None
    values = [v for _, ys in series for v in ys if v is not None]
    top = _nice(max([0.1, *values]))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(1, len(x_labels) - 1)

    def x(i: int) -> float:
        return round(PAD_LEFT + (i * step if len(x_labels) > 1 else plot_w / 2), 1)

    def y(v: float) -> float:
        return round(PAD_TOP + plot_h * (1 - min(v, top) / top), 1)

    lines = []
    for n, (label, ys) in enumerate(series):
        dots = [(x(i), y(v)) for i, v in enumerate(ys) if v is not None]
        last = next((f"{v:.1%}" for v in reversed(ys) if v is not None), "—")
        lines.append(Line(label, " ".join(f"{a},{b}" for a, b in dots), dots, n % TONES, last))
    every = max(1, len(x_labels) // 6)
    return {"width": WIDTH, "height": HEIGHT, "lines": lines, "plot_left": PAD_LEFT, "plot_bottom": HEIGHT - PAD_BOTTOM,
            "y_ticks": [(y(top * f), f"{top * f:.0%}") for f in (0, 0.25, 0.5, 0.75, 1)],
            "x_ticks": [(x(i), x_labels[i]) for i in range(0, len(x_labels), every)]}
