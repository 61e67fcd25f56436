"""The suitability report a customer reads, in English and Chinese, written from the stored inputs and result.

Plain text with headed sections (the portal keeps line breaks), so the stored report is exactly what the customer
saw and what compliance reads. It is a pure function of (inputs, result): reproducing the advice reproduces it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_CLASS = {
    "en": {"cash": "cash and money market", "gov_bond": "government bonds", "corp_bond": "corporate bonds",
           "dom_equity": "domestic equity", "global_equity": "global equity", "gold": "gold and commodities"},
    "zh": {"cash": "现金及货币类", "gov_bond": "政府债券", "corp_bond": "信用债券", "dom_equity": "境内股票",
           "global_equity": "境外股票", "gold": "黄金及商品"},
}
_CLASS_RISK = {
    "en": {"gov_bond": "bond prices fall when interest rates rise", "corp_bond": "issuers can default and "
           "spreads widen in a crisis", "dom_equity": "shares can lose a third or more in a bad year",
           "global_equity": "foreign shares move with markets abroad and with the exchange rate",
           "gold": "gold pays no income and can fall for years", "cash": "inflation can exceed its return"},
    "zh": {"gov_bond": "利率上行时债券价格下跌", "corp_bond": "发行人可能违约，危机时信用利差扩大",
           "dom_equity": "股票在不利年份可能下跌三分之一以上", "global_equity": "境外股票随海外市场及汇率波动",
           "gold": "黄金没有利息收入，可能连续数年下跌", "cash": "收益可能跑输通胀"},
}
_LIQUIDITY = {
    "en": {"daily": "redeem any business day", "weekly": "redeem weekly", "monthly": "redeem monthly",
           "at_maturity": "locked until maturity", "n/a": ""},
    "zh": {"daily": "工作日可赎回", "weekly": "每周可赎回", "monthly": "每月可赎回", "at_maturity": "到期前不可赎回",
           "n/a": ""},
}
_METHOD = {"en": {"mean_variance": "mean-variance optimisation (the highest expected return within your risk "
                                  "level's volatility budget)",
                  "risk_parity": "risk parity (each asset class contributes an equal share of the risk)"},
           "zh": {"mean_variance": "均值-方差优化（在您风险等级的波动率预算内追求最高预期收益）",
                  "risk_parity": "风险平价（各类资产贡献相同的风险）"}}


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _money(value: str | Decimal) -> str:
    return f"{Decimal(value):,.2f}"


def render_allocation_report(inputs: dict[str, Any], result: dict[str, Any], *, language: str) -> str:
    zh = language.startswith("zh")
    lang = "zh" if zh else "en"
    level, amount, currency = inputs["level"], inputs["amount"], "元" if zh else "CNY"
    out: list[str] = []
    out.append("一、您的风险画像" if zh else "1. Your risk profile")
    if zh:
        out.append(f"风险等级 R{level}（评估日期 {inputs['assessed_on']}，请于 {inputs['reassess_by']} 前重新评估）；"
                   f"投资期限约 {inputs['horizon_years']:g} 年。")
    else:
        out.append(f"Risk level R{level} (assessed {inputs['assessed_on']}, re-assess by {inputs['reassess_by']}); "
                   f"investment horizon about {inputs['horizon_years']:g} years.")
    for flag in inputs.get("flags", []):
        out.append(("注意：" if zh else "Note: ") + flag[lang])
    if inputs.get("sustainability") in ("prefer_esg", "only_esg"):
        out.append("您希望优先考虑ESG（可持续）产品，在同类产品中我们优先选择了它们。" if zh else
                   "You asked for sustainable (ESG) products; where a class has one, we chose it first.")

    out.append("")
    out.append("二、建议配置" if zh else "2. Recommended allocation")
    if zh:
        out.append(f"投资金额 {_money(amount)} {currency}，方法：{_METHOD['zh'][inputs['method']]}。")
    else:
        out.append(f"Amount {currency} {_money(amount)}, method: {_METHOD['en'][inputs['method']]}.")
    for asset_class, weight in result["weights"].items():
        if weight > 0:
            out.append(f"- {_CLASS[lang][asset_class]}: {_pct(weight)}")
    if zh:
        out.append(f"预期年化收益约 {_pct(result['expected_return'])}，年化波动率约 {_pct(result['volatility'])}"
                   f"（R{level} 的上限为 {_pct(result['volatility_budget'])}）。")
    else:
        out.append(f"Expected return about {_pct(result['expected_return'])} a year, volatility about "
                   f"{_pct(result['volatility'])} (the R{level} budget is {_pct(result['volatility_budget'])}).")
    for asset_class in result["unavailable_classes"]:
        out.append(f"{_CLASS['zh'][asset_class]}：没有适合您（风险等级、期限或起购金额）的产品，未纳入配置。" if zh
                   else f"No {_CLASS['en'][asset_class]} product suits you (risk level, horizon or minimum amount), "
                        f"so the allocation leaves that class out.")

    out.append("")
    out.append("三、产品及适合您的理由" if zh else "3. Products and why they suit you")
    for p in result["products"]:
        name = p["name_zh"] if zh else p["name_en"]
        liquidity = _LIQUIDITY[lang][p["liquidity"]]
        if zh:
            out.append(f"- {name}（{p['code']}）：{_money(p['amount'])} 元，占 {_pct(p['weight'])}，承担"
                       f"{_CLASS['zh'][p['asset_class']]}部分。产品风险 R{p['risk_level']}，不高于您的 R{level}；"
                       f"{liquidity}；在您可购买的同类产品中风险最低，同等风险下扣除费用后的预期收益最高"
                       f"{'，且为ESG产品' if p['esg'] else ''}。")
        else:
            out.append(f"- {name} ({p['code']}): CNY {_money(p['amount'])}, {_pct(p['weight'])}, for the "
                       f"{_CLASS['en'][p['asset_class']]} share. Product risk R{p['risk_level']}, within your "
                       f"R{level}; {liquidity}; the least risky of the {_CLASS['en'][p['asset_class']]} products "
                       f"you may buy, and among those the highest expected return after fees"
                       f"{', and an ESG product' if p['esg'] else ''}.")

    out.append("")
    out.append("四、风险提示" if zh else "4. Risks")
    bad = result["bad_year_return"]
    loss = max(Decimal("0"), -Decimal(repr(bad)) * Decimal(amount)).quantize(Decimal("1"))
    if zh:
        out.append(f"投资有风险，收益不保证。大约每二十年中会有一年收益低于 {_pct(bad)}"
                   f"{f'（约亏损 {loss:,} 元）' if loss else ''}。")
    else:
        out.append(f"Investments go down as well as up and returns are not guaranteed. About one year in twenty "
                   f"is worse than {_pct(bad)}{f' (a loss of about CNY {loss:,})' if loss else ''}.")
    for asset_class in sorted({p["asset_class"] for p in result["products"]}):
        out.append(f"- {_CLASS[lang][asset_class]}：{_CLASS_RISK[lang][asset_class]}" if zh else
                   f"- {_CLASS[lang][asset_class]}: {_CLASS_RISK[lang][asset_class]}")
    locked = [p for p in result["products"] if p["liquidity"] == "at_maturity"]
    for p in locked:
        out.append(f"- {p['name_zh']} 期限 {p['term_months']} 个月，到期前不可赎回。" if zh else
                   f"- {p['name_en']} is locked for {p['term_months']} months.")

    out.append("")
    out.append("五、费用" if zh else "5. Costs")
    costs = result["costs"]
    if zh:
        out.append(f"一次性申购费约 {_money(costs['one_off'])} 元；每年管理费约 {_money(costs['yearly'])} 元。")
    else:
        out.append(f"One-off subscription fees about CNY {_money(costs['one_off'])}; yearly management fees about "
                   f"CNY {_money(costs['yearly'])}.")

    out.append("")
    out.append("六、依据" if zh else "6. Basis")
    if zh:
        cma = inputs["assumptions"]
        out.append(f"资本市场假设：{cma['name']}（{cma['effective_date']} 起生效）；"
                   f"引擎版本 {inputs['engine_version']}。本报告可依据所存输入完整复现。")
    else:
        out.append(f"Capital-market assumptions: {inputs['assumptions']['name']} (effective "
                   f"{inputs['assumptions']['effective_date']}); engine {inputs['engine_version']}. This report "
                   f"can be reproduced exactly from its stored inputs.")
    return "\n".join(out)


def render_rebalance_report(inputs: dict[str, Any], plan: dict[str, Any], *, language: str) -> str:
    zh = language.startswith("zh")
    lang = "zh" if zh else "en"
    out: list[str] = []
    out.append("一、现状" if zh else "1. Where your portfolio stands")
    if zh:
        out.append(f"投资组合市值 {_money(inputs['portfolio_value'])} 元，偏离目标配置 {_pct(plan['drift_before'])}。")
    else:
        out.append(f"Portfolio value CNY {_money(inputs['portfolio_value'])}, {_pct(plan['drift_before'])} away from "
                   f"your target allocation.")
    for asset_class, target in inputs["target_weights"].items():
        current = inputs["current_weights"].get(asset_class, 0.0)
        if target or current:
            out.append(f"- {_CLASS[lang][asset_class]}: {_pct(current)} → {_pct(target)}")
    out.append("")
    out.append("二、建议交易" if zh else "2. Suggested trades")
    if not plan["trades"]:
        out.append("无需交易：偏离在容忍范围内，或交易金额低于最低交易额。" if zh else
                   "No trades: the drift is within tolerance or every trade would be below the minimum size.")
    for trade in plan["trades"]:
        name = trade["name_zh"] if zh else trade["name_en"]
        side = {"buy": "买入", "sell": "卖出"}[trade["side"]] if zh else trade["side"].capitalize()
        out.append(f"- {side} {name}（{trade['key']}）{_money(trade['amount'])} 元" if zh else
                   f"- {side} {name} ({trade['key']}): CNY {_money(trade['amount'])}")
    if zh:
        out.append(f"换手率 {_pct(plan['turnover'])}（上限 {_pct(inputs['turnover_cap'])}），交易成本约 "
                   f"{_money(plan['total_cost'])} 元，交易后偏离 {_pct(plan['drift_after'])}。")
    else:
        out.append(f"Turnover {_pct(plan['turnover'])} (cap {_pct(inputs['turnover_cap'])}), costs about CNY "
                   f"{_money(plan['total_cost'])}, drift afterwards {_pct(plan['drift_after'])}.")
    if plan["capped"]:
        out.append("受换手率上限约束，本次只完成部分调整，下次检视时继续。" if zh else
                   "The turnover cap limits this step; the next review continues from where it leaves off.")
    if inputs.get("locked"):
        out.append("到期前不可赎回的产品未被卖出。" if zh else "Products locked until maturity are not sold.")
    out.append("")
    out.append("三、依据" if zh else "3. Basis")
    out.append(f"目标配置来自 {inputs['target_advice']} 号建议；引擎版本 {inputs['engine_version']}。" if zh else
               f"Target from advice {inputs['target_advice']}; engine {inputs['engine_version']}.")
    return "\n".join(out)
