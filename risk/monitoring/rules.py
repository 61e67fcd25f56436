"""The monitoring rules: what each kind reads, its defaults, and how it is checked against a customer's state.

Each kind's parameters are validated when a risk officer saves a rule (MonitoringRule.clean), so the hot path
can trust them. A rule that fires returns a `Hit` with plain words in English and Chinese and the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from risk.monitoring.state import CustomerState, Event


class RuleParamsError(ValueError):
    """A rule's parameters are missing, of the wrong type or out of range."""


# kind -> {param: (type, default, minimum)}
PARAMS: dict[str, dict[str, tuple[type, Any, float]]] = {
    "amount_vs_history": {"z": (float, 3.5, 1.0), "min_amount": (float, 2000.0, 0.0), "min_history": (int, 10, 2)},
    "velocity": {"window_minutes": (int, 60, 1), "max_count": (int, 6, 2), "max_total": (float, 50000.0, 0.0)},
    "new_counterparty": {"min_amount": (float, 10000.0, 0.0), "min_history": (int, 20, 1)},
    "unusual_channel": {"max_share": (float, 0.02, 0.0), "min_amount": (float, 1000.0, 0.0),
                        "min_history": (int, 30, 1)},
    "unusual_hour": {"max_share": (float, 0.01, 0.0), "min_amount": (float, 2000.0, 0.0), "min_history": (int, 30, 1)},
    "unusual_category": {"max_share": (float, 0.01, 0.0), "min_amount": (float, 3000.0, 0.0),
                         "min_history": (int, 30, 1)},
    "structuring": {"threshold": (float, 50000.0, 1.0), "band": (float, 0.9, 0.5), "window_days": (int, 7, 1),
                    "min_count": (int, 3, 2)},
    "anomaly": {"min_score": (float, 0.0, -1.0), "min_amount": (float, 500.0, 0.0)},
}


def validate_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters with defaults filled in; raises RuleParamsError naming the first bad one."""
    if kind not in PARAMS:
        raise RuleParamsError(f"unknown rule kind {kind!r}")
    if not isinstance(params, dict):
        raise RuleParamsError("parameters must be a JSON object")
    spec = PARAMS[kind]
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise RuleParamsError(f"{unknown[0]!r} is not a parameter of {kind}; it takes {', '.join(spec)}")
    out: dict[str, Any] = {}
    for name, (kind_type, default, minimum) in spec.items():
        value = params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleParamsError(f"{name} must be a number")
        if kind_type is int and not float(value).is_integer():
            raise RuleParamsError(f"{name} must be a whole number")
        if value < minimum:
            raise RuleParamsError(f"{name} must be at least {minimum:g}")
        out[name] = kind_type(value)
    if kind == "structuring" and out["band"] >= 1:
        raise RuleParamsError("band must be below 1 (the share of the threshold where structuring starts)")
    if kind.startswith("unusual_") and out["max_share"] > 1:
        raise RuleParamsError("max_share must be between 0 and 1")
    return out


@dataclass(frozen=True)
class Hit:
    code: str
    kind: str
    en: str
    zh: str
    evidence: dict[str, Any]


# What a check returns when its rule fires: the reason in English, in Chinese, and the evidence.
Finding = tuple[str, str, dict[str, Any]]
Check = Callable[[dict[str, Any], CustomerState, Event, float | None], Finding | None]


def _money(x: float) -> str:
    return f"¥{x:,.0f}"


def _amount_vs_history(p: dict[str, Any], s: CustomerState, e: Event, _a: float | None) -> Finding | None:
    if not e.is_out or -e.amount < p["min_amount"] or s.n_out < p["min_history"]:
        return None
    z = s.amount_z(e.amount)
    if z is None or z < p["z"]:
        return None
    typical = s.typical_amount()
    return (f"{_money(-e.amount)} is far above this customer's usual payments (typically {_money(typical)})",
            f"金额{_money(-e.amount)}远高于该客户平时的支出（通常约{_money(typical)}）",
            {"amount": -e.amount, "typical": round(typical, 2), "z": round(z, 2)})


def _velocity(p: dict[str, Any], s: CustomerState, e: Event, _a: float | None) -> Finding | None:
    if not e.is_out:
        return None
    count, total = s.recent_outflows(e.ts, p["window_minutes"] * 60)
    count, total = count + 1, total - e.amount
    # The total counts only with more than one payment: one large payment is the amount rules' business.
    if count < p["max_count"] and (p["max_total"] <= 0 or count < 2 or total < p["max_total"]):
        return None
    minutes = p["window_minutes"]
    return (f"{count} payments totalling {_money(total)} within {minutes} minutes",
            f"{minutes}分钟内{count}笔支出，合计{_money(total)}",
            {"count": count, "total": round(total, 2), "window_minutes": minutes})


def _new_counterparty(p: dict[str, Any], s: CustomerState, e: Event, _a: float | None) -> Finding | None:
    if (not e.is_out or not e.counterparty or -e.amount < p["min_amount"] or s.n < p["min_history"]
            or e.counterparty in s.counterparties):
        return None
    return (f"{_money(-e.amount)} to a counterparty this customer has never paid before",
            f"向该客户从未交易过的对象支付{_money(-e.amount)}",
            {"amount": -e.amount, "counterparty": e.counterparty})


def _unusual(field: str, en_label: str, zh_label: str) -> Check:
    def check(p: dict[str, Any], s: CustomerState, e: Event, _a: float | None) -> Finding | None:
        if not e.is_out or -e.amount < p["min_amount"] or s.n < p["min_history"]:
            return None
        if field == "hour":
            share, value = s.hour_share(e.hour), f"{e.hour:02d}:00"
        else:
            value = getattr(e, field)
            share = s.share(s.channels if field == "channel" else s.categories, value)
        if share > p["max_share"]:
            return None
        return (f"{en_label} {value} is unusual for this customer ({share:.0%} of their transactions)",
                f"{zh_label}{value}对该客户不寻常（仅占其交易的{share:.0%}）",
                {field: value, "share": round(share, 4), "amount": -e.amount})
    return check


def _structuring(p: dict[str, Any], s: CustomerState, e: Event, _a: float | None) -> Finding | None:
    low, high = p["band"] * p["threshold"], p["threshold"]
    if not e.is_cash or not (low <= abs(e.amount) < high):
        return None
    count = s.recent_cash_between(e.ts, p["window_days"] * 86400, low, high) + 1
    if count < p["min_count"]:
        return None
    days = p["window_days"]
    return (f"{count} cash transactions just below the {_money(high)} reporting threshold within {days} days",
            f"{p['window_days']}天内{count}笔略低于{_money(high)}申报门槛的现金交易",
            {"count": count, "threshold": high, "band_from": low, "window_days": p["window_days"]})


def _anomaly(p: dict[str, Any], s: CustomerState, e: Event, score: float | None) -> Finding | None:
    if score is None or abs(e.amount) < p["min_amount"] or score < p["min_score"]:
        return None
    return ("Unlike this customer's usual behaviour (anomaly model)",
            "与该客户平时的行为明显不同（异常检测模型）",
            {"anomaly_score": round(score, 4), "amount": abs(e.amount)})


CHECKS: dict[str, Check] = {
    "amount_vs_history": _amount_vs_history,
    "velocity": _velocity,
    "new_counterparty": _new_counterparty,
    "unusual_channel": _unusual("channel", "Channel", "渠道"),
    "unusual_hour": _unusual("hour", "Time of day", "交易时间"),
    "unusual_category": _unusual("category", "Category", "消费类别"),
    "structuring": _structuring,
    "anomaly": _anomaly,
}


@dataclass(frozen=True)
class CompiledRule:
    id: int
    code: str
    kind: str
    params: dict[str, Any]
    severity: int
    action: str
    check: Check

    def run(self, state: CustomerState, event: Event, anomaly: float | None) -> Hit | None:
        found = self.check(self.params, state, event, anomaly)
        if found is None:
            return None
        en, zh, evidence = found
        return Hit(code=self.code, kind=self.kind, en=en, zh=zh, evidence=evidence)


# The rules a new installation starts with (a data migration writes them; risk officers tune them after).
DEFAULT_RULES: list[dict[str, Any]] = [
    {"code": "amount-far-above-history", "name": "Amount far above the customer's history",
     "kind": "amount_vs_history", "severity": 2, "action": "review", "params": {}},
    {"code": "rapid-payments", "name": "Many payments in an hour", "kind": "velocity", "severity": 3,
     "action": "review", "params": {}},
    {"code": "large-new-counterparty", "name": "Large payment to a new counterparty", "kind": "new_counterparty",
     "severity": 2, "action": "alert", "params": {}},
    {"code": "rare-channel", "name": "Payment through a channel the customer rarely uses", "kind": "unusual_channel",
     "severity": 1, "action": "alert", "params": {}},
    {"code": "rare-hour", "name": "Payment at an hour the customer is rarely active", "kind": "unusual_hour",
     "severity": 1, "action": "alert", "params": {}},
    {"code": "rare-category", "name": "Large payment in a category the customer rarely uses",
     "kind": "unusual_category", "severity": 1, "action": "alert", "params": {}},
    {"code": "cash-structuring", "name": "Cash amounts just below the CNY 50,000 reporting threshold",
     "kind": "structuring", "severity": 4, "action": "block", "params": {}},
    {"code": "behaviour-anomaly", "name": "Unlike the customer's own behaviour (isolation forest)", "kind": "anomaly",
     "severity": 2, "action": "alert", "params": {}},
]
