"""A/B split with a holdout, and the uplift each arm made over it. Pure functions.

Assignment hashes (campaign, customer) into 10,000 buckets: the same customer lands in the same arm on every
re-run and in every process, with no stored state; two campaigns split independently.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

ARM_A, ARM_B, HOLDOUT = "a", "b", "holdout"
BUCKETS = 10_000


def bucket(campaign_id: int, customer_id: int) -> int:
    digest = hashlib.sha256(f"campaign:{campaign_id}:customer:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign_arm(*, campaign_id: int, customer_id: int, holdout_pct: int, b_pct: int) -> str:
    """holdout for the first `holdout_pct` % of buckets; of the rest, `b_pct` % go to B (0: no B variant)."""
    if not 0 <= holdout_pct <= 100 or not 0 <= b_pct <= 100:
        raise ValueError("Shares are percentages between 0 and 100.")
    b = bucket(campaign_id, customer_id)
    holdout_cut = holdout_pct * BUCKETS // 100
    if b < holdout_cut:
        return HOLDOUT
    # Re-scale the remaining buckets to [0, BUCKETS) so b_pct is a share of the treated customers.
    treated = (b - holdout_cut) * BUCKETS // max(1, BUCKETS - holdout_cut)
    return ARM_B if treated < b_pct * BUCKETS // 100 else ARM_A


@dataclass(frozen=True)
class ArmResult:
    arm: str
    customers: int
    conversions: int
    clicks: int = 0
    opens: int = 0

    @property
    def rate(self) -> float | None:
        return self.conversions / self.customers if self.customers else None

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.customers if self.customers else None


@dataclass(frozen=True)
class Uplift:
    arm: str
    rate: float
    control_rate: float
    absolute: float  # rate - control_rate, in probability points
    relative: float | None  # absolute / control_rate; None when the control converted nobody
    z: float | None  # two-proportion z statistic (pooled); None when it is undefined
    p_value: float | None  # two-sided
    ci_low: float  # 95 % confidence interval of the difference (unpooled standard error)
    ci_high: float

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


Z_95 = 1.959963984540054


def uplift(treated: ArmResult, control: ArmResult) -> Uplift | None:
    """The uplift of `treated` over `control` (the holdout). None when either arm is empty.

    z = (p1 - p0) / sqrt(p(1-p)(1/n1 + 1/n0)) with the pooled p; the interval uses the unpooled standard error
    sqrt(p1(1-p1)/n1 + p0(1-p0)/n0). Both are the normal approximation: with a handful of conversions per arm
    they are indicative only (the admin shows the counts beside them).
    """
    n1, n0 = treated.customers, control.customers
    if not n1 or not n0:
        return None
    p1, p0 = treated.conversions / n1, control.conversions / n0
    diff = p1 - p0
    pooled = (treated.conversions + control.conversions) / (n1 + n0)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    z = diff / se_pooled if se_pooled > 0 else None
    p_value = math.erfc(abs(z) / math.sqrt(2)) if z is not None else None
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return Uplift(
        arm=treated.arm, rate=p1, control_rate=p0, absolute=diff, relative=diff / p0 if p0 > 0 else None,
        z=z, p_value=p_value, ci_low=diff - Z_95 * se, ci_high=diff + Z_95 * se,
    )
