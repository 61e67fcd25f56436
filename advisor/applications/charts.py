"""The application funnel as a server-side SVG (no JavaScript): one horizontal bar per stage on a common
baseline, applied → decided → approved → activated, with each stage's share of those who applied, and the side
exits (declined, referred, withdrawn, expired) in grey below."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

LABEL_WIDTH, BAR_AREA, BAR_HEIGHT, GAP = 110, 420, 18, 8


@dataclass(frozen=True)
class FunnelBar:
    label: str
    count: int
    share: str
    y: int
    width: float
    main: bool

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 5

    @property
    def value_x(self) -> float:
        return round(LABEL_WIDTH + self.width + 6, 1)


def funnel_chart(stages: dict[str, int]) -> dict[str, Any] | None:
    """Geometry for templates/admin/advisor/application/_funnel.html; None when nothing was applied for."""
    applied = stages.get("applied", 0)
    if not applied:
        return None
    labels = {"applied": _("Applied"), "decided": _("Decided"), "approved": _("Approved"),
              "activated": _("Activated"), "declined": _("Declined"), "referred": _("Referred"),
              "withdrawn": _("Withdrawn"), "expired": _("Expired")}
    bars, y = [], 0
    for key in ("applied", "decided", "approved", "activated", "declined", "referred", "withdrawn", "expired"):
        count = stages.get(key, 0)
        bars.append(FunnelBar(label=str(labels[key]), count=count, share=f"{count / applied:.0%}", y=y,
                              width=max(1.0, count / applied * BAR_AREA),
                              main=key in ("applied", "decided", "approved", "activated")))
        y += BAR_HEIGHT + GAP + (10 if key == "activated" else 0)
    return {"bars": bars, "width": LABEL_WIDTH + BAR_AREA + 90, "height": y, "label_width": LABEL_WIDTH,
            "bar_height": BAR_HEIGHT}
