"""The rules every message passes at send time, as one pure decision (the service applies it under a lock).

Order matters and is fixed: a customer who may not be contacted (no marketing consent, over the frequency cap)
is suppressed before the A/B split, so the holdout is drawn from exactly the customers the treated arms could
reach and the comparison is fair; quiet hours never drop a message, they move it to the next allowed time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from django.db import models
from django.utils.translation import gettext_lazy as _

from advisor.engagement.experiment import HOLDOUT


class SuppressionReason(models.TextChoices):
    NO_MARKETING_CONSENT = "no_marketing_consent", _("No consent to marketing")
    FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")
    NOT_SUITABLE = "not_suitable", _("Product not suitable for the customer")
    NO_SUITABLE_PRODUCT = "no_suitable_product", _("No suitable product to suggest")
    NO_LONGER_IN_AUDIENCE = "no_longer_in_audience", _("No longer in the audience at delivery")
    CAMPAIGN_STOPPED = "campaign_stopped", _("Campaign paused or ended before delivery")


@dataclass(frozen=True)
class Decision:
    status: str  # "suppressed" | "held_out" | "scheduled" | "delivered"
    reason: str = ""
    deliver_at: datetime | None = None


def in_quiet_hours(moment: datetime, *, start: int, end: int, tz: tzinfo) -> bool:
    """Whether `moment` falls in the quiet hours [start:00, end:00) of the bank's local time (may span midnight).
    start == end means no quiet hours."""
    if start == end:
        return False
    hour = moment.astimezone(tz).hour
    return start <= hour or hour < end if start > end else start <= hour < end


def next_allowed_time(moment: datetime, *, start: int, end: int, tz: tzinfo) -> datetime:
    """`moment` itself outside quiet hours, else the end of the quiet period it is in (end:00 local time)."""
    if not in_quiet_hours(moment, start=start, end=end, tz=tz):
        return moment
    local = moment.astimezone(tz)
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=tz)


def decide(
    *, marketing: bool, consented: bool, recent_marketing: int, cap: int, arm: str, now: datetime,
    quiet_start: int, quiet_end: int, tz: tzinfo,
) -> Decision:
    """What happens to one message. Service messages (a maturity notice) need no marketing consent and do not
    count toward or against the cap; they still wait for the end of quiet hours."""
    if marketing and not consented:
        return Decision("suppressed", SuppressionReason.NO_MARKETING_CONSENT)
    if marketing and recent_marketing >= cap:
        return Decision("suppressed", SuppressionReason.FREQUENCY_CAP)
    if arm == HOLDOUT:
        return Decision("held_out")
    deliver_at = next_allowed_time(now, start=quiet_start, end=quiet_end, tz=tz)
    return Decision("delivered" if deliver_at == now else "scheduled", deliver_at=deliver_at)
