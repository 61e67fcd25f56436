"""The decision rules of an application, as pure functions of facts (no database, no settings): each check
answers pass / note / refer / fail with a reason code and a message in English and Chinese that carries the
real figures, and `outcome` turns the checks into approved / declined / referred.

`services.decide_application` gathers the facts (the customer's record, the suitability gate, the latest credit
score and the policy, the profile snapshot) and stores every result, so the customer, staff and an auditor read
the same reasons.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from advisor.applications.reading import VOCABULARY
from advisor.models import BlockReason
from products.models import Liquidity, ProductType

PASS, NOTE, REFER, FAIL = "pass", "note", "refer", "fail"
CREDIT_TYPES = (ProductType.CREDIT_CARD, ProductType.LOAN)
FUNDED_TYPES = (ProductType.DEPOSIT, ProductType.WEALTH, ProductType.FUND, ProductType.BOND, ProductType.INSURANCE)
# Card limits: a share of declared annual income by credit band, rounded down to 1,000, within these bounds (the
# same shape as the limits on the bank's book); cards for students are capped lower.
LIMIT_INCOME_SHARE_APPROVE = Decimal("0.30")
LIMIT_INCOME_SHARE_REVIEW = Decimal("0.15")
MIN_CARD_LIMIT = Decimal("3000")
MAX_CARD_LIMIT = Decimal("500000")
STUDENT_CARD_LIMIT = Decimal("5000")


@dataclass(frozen=True)
class CheckResult:
    check: str  # kyc, suitability, credit, limit, affordability, amount, needs_fit
    status: str  # pass, note, refer, fail
    code: str
    en: str
    zh: str
    facts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProductFacts:
    code: str
    type: str
    name_en: str
    name_zh: str
    risk_level: int
    tags: tuple[str, ...]
    liquidity: str
    term_months: int | None
    return_min: Decimal | None
    return_max: Decimal | None
    annual_fee: Decimal
    management_fee_pct: Decimal
    subscription_fee_pct: Decimal
    min_amount: Decimal


def money_en(amount: Decimal) -> str:
    return f"CNY {amount:,.2f}"


def money_zh(amount: Decimal) -> str:
    return f"{amount:,.2f}元"


def pct(value: float | Decimal, digits: int = 1) -> str:
    return f"{float(value) * 100:.{digits}f} %" if isinstance(value, float) else f"{value:.{digits}f} %"


# --- identity ---------------------------------------------------------------------------------------------

def check_kyc(*, kyc_status: str, verified_at: datetime | None, now: datetime, valid_days: int) -> CheckResult:
    """Identity must be verified (else decline: nothing can be opened) and fresh (else a person re-verifies)."""
    if kyc_status != "verified":
        return CheckResult("kyc", FAIL, "kyc_not_verified",
                           f"Your identity is not verified yet (status: {kyc_status}). Please complete identity "
                           "verification in a branch or the app, then apply again.",
                           "您的身份尚未完成核验，请在网点或手机银行完成身份核验后重新申请。",
                           {"kyc_status": kyc_status})
    if verified_at is None or verified_at + timedelta(days=valid_days) < now:
        when = verified_at.date().isoformat() if verified_at else "unknown"
        return CheckResult("kyc", REFER, "kyc_expired",
                           f"Your identity was last verified on {when}, more than {valid_days} days ago; a member of "
                           "staff will ask you to refresh your documents.",
                           f"您的身份核验日期为{when}，已超过{valid_days}天，工作人员将联系您更新证件资料。",
                           {"verified_at": when, "valid_days": valid_days})
    return CheckResult("kyc", PASS, "kyc_verified", "Your identity is verified.", "您的身份已核验。",
                       {"verified_at": verified_at.date().isoformat()})


# --- suitability and eligibility (the advisor's gate) -----------------------------------------------------

@dataclass(frozen=True)
class GateFacts:
    """What the suitability gate compared, for the messages."""

    age: int
    annual_income: Decimal
    residency: str
    risk_tolerance: int
    liquid_assets: Decimal
    min_age: int
    max_age: int | None
    min_income: Decimal
    residencies: tuple[str, ...]


def check_suitability(*, blocked: list[str], product: ProductFacts, facts: GateFacts) -> list[CheckResult]:
    """One fail per rule of the gate the product breaks (KYC is its own check); a pass when none."""
    f = facts
    words: dict[str, tuple[str, str]] = {
        BlockReason.NOT_ON_SALE: ("This product is no longer on sale.", "该产品已停售。"),
        BlockReason.RISK_ABOVE_TOLERANCE: (
            f"This product's risk level R{product.risk_level} is above your risk tolerance R{f.risk_tolerance}. "
            "If your situation has changed, retake the risk questionnaire.",
            f"该产品风险等级R{product.risk_level}高于您的风险承受能力R{f.risk_tolerance}。如情况有变，请重新完成风险测评。"),
        BlockReason.BELOW_MIN_AGE: (f"This product is for customers aged {f.min_age} or over (you are {f.age}).",
                                    f"该产品面向{f.min_age}岁及以上客户（您现年{f.age}岁）。"),
        BlockReason.ABOVE_MAX_AGE: (f"This product is for customers up to age {f.max_age} (you are {f.age}).",
                                    f"该产品面向{f.max_age}岁及以下客户（您现年{f.age}岁）。"),
        BlockReason.INCOME_BELOW_MINIMUM: (
            f"This product needs a declared income of at least {money_en(f.min_income)} a year; yours is "
            f"{money_en(f.annual_income)}.",
            f"该产品要求年收入不低于{money_zh(f.min_income)}，您申报的年收入为{money_zh(f.annual_income)}。"),
        BlockReason.RESIDENCY_NOT_ALLOWED: (
            f"This product is only for residents of {', '.join(f.residencies)}; your tax residency is {f.residency}.",
            f"该产品仅面向{'、'.join(f.residencies)}税务居民，您的税务居民身份为{f.residency}。"),
        BlockReason.ALREADY_HELD: ("You already hold this product, and it is one per customer.",
                                   "您已持有该产品，每位客户限持一份。"),
        BlockReason.AMOUNT_OUT_OF_REACH: (
            f"The minimum amount of {money_en(product.min_amount)} is more than the {money_en(f.liquid_assets)} in "
            "your current and savings accounts.",
            f"该产品起购金额{money_zh(product.min_amount)}高于您活期及储蓄账户余额{money_zh(f.liquid_assets)}。"),
    }
    results = [CheckResult("suitability", FAIL, code, *words[BlockReason(code)], {"rule": code})
               for code in blocked if code != BlockReason.KYC_NOT_VERIFIED]
    if results:
        return results
    return [CheckResult("suitability", PASS, "suitable",
                        f"The product suits your risk tolerance (R{product.risk_level} within R{f.risk_tolerance}) "
                        "and you meet its age, income and residency rules.",
                        f"产品风险等级R{product.risk_level}在您的风险承受能力R{f.risk_tolerance}以内，且您符合年龄、收入及居住地要求。",
                        {"risk_level": product.risk_level, "risk_tolerance": f.risk_tolerance})]


# --- credit -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreditFacts:
    pd: float
    points: int
    model_label: str
    approve_below: float
    decline_from: float
    reasons_en: tuple[str, ...] = ()
    reasons_zh: tuple[str, ...] = ()


def check_credit(credit: CreditFacts | None) -> CheckResult:
    """The risk app's latest PD against the credit policy's cut-offs, at the time of the application."""
    if credit is None:
        return CheckResult("credit", REFER, "credit_score_unavailable",
                           "We could not score your credit automatically; a credit officer will review it.",
                           "暂无法自动完成信用评估，信贷人员将人工审核。", {})
    c = credit
    facts = {"pd": round(c.pd, 6), "points": c.points, "approve_below": c.approve_below,
             "decline_from": c.decline_from, "model": c.model_label}
    factors_en = f" What lowered it most: {'; '.join(c.reasons_en)}." if c.reasons_en else ""
    factors_zh = f"主要影响因素：{'；'.join(c.reasons_zh)}。" if c.reasons_zh else ""
    if c.pd >= c.decline_from:
        return CheckResult(
            "credit", FAIL, "credit_pd_above_cutoff",
            f"Your estimated probability of default is {pct(c.pd)} (credit score {c.points} points), at or above our "
            f"credit policy's cut-off of {pct(c.decline_from)} for cards and loans.{factors_en}",
            f"您的预估违约概率为{pct(c.pd)}（信用评分{c.points}分），达到或超过本行信贷政策对信用卡及贷款设定的"
            f"{pct(c.decline_from)}上限。{factors_zh}", facts)
    if c.pd >= c.approve_below:
        return CheckResult(
            "credit", REFER, "credit_pd_review_band",
            f"Your estimated probability of default, {pct(c.pd)} (credit score {c.points} points), is between our "
            f"automatic-approval level of {pct(c.approve_below)} and the {pct(c.decline_from)} cut-off, so a credit "
            f"officer will review your application.{factors_en}",
            f"您的预估违约概率为{pct(c.pd)}（信用评分{c.points}分），介于自动审批线{pct(c.approve_below)}与"
            f"上限{pct(c.decline_from)}之间，信贷人员将人工审核。{factors_zh}", facts)
    return CheckResult(
        "credit", PASS, "credit_pd_within_policy",
        f"Your estimated probability of default, {pct(c.pd)} (credit score {c.points} points), is below our "
        f"automatic-approval level of {pct(c.approve_below)}.",
        f"您的预估违约概率为{pct(c.pd)}（信用评分{c.points}分），低于自动审批线{pct(c.approve_below)}。", facts)


def card_limit(*, annual_income: Decimal, credit: CreditFacts | None, student: bool,
               affordable: Decimal | None = None) -> Decimal:
    """The limit the bank offers on a new card: a share of declared income by credit band (a customer in the
    review band gets half the share), no more than `affordable` (the limit whose minimum repayment the customer's
    budget carries: see `affordable_card_limit`), rounded down to 1,000 and kept within the card bounds. Sizing by
    affordability means the bank never offers a limit its own affordability check would then refer."""
    share = LIMIT_INCOME_SHARE_APPROVE if credit is not None and credit.pd < credit.approve_below \
        else LIMIT_INCOME_SHARE_REVIEW
    limit = annual_income * share
    if affordable is not None:
        limit = min(limit, affordable)
    limit = (limit / 1000).quantize(Decimal("1"), rounding=ROUND_DOWN) * 1000
    limit = min(max(limit, MIN_CARD_LIMIT), MAX_CARD_LIMIT)
    return min(limit, STUDENT_CARD_LIMIT) if student else limit


def affordable_card_limit(*, monthly_income: Decimal, monthly_spend: Decimal, existing_payments: Decimal,
                          refer_pct: int, min_payment_pct: int) -> Decimal:
    """The largest limit whose minimum monthly repayment keeps repayments within the `refer_pct` guideline and,
    with the customer's usual spending, within their income (0 when nothing is left)."""
    room = min(monthly_income * refer_pct / 100 - existing_payments,
               monthly_income - monthly_spend - existing_payments)
    return max(Decimal("0"), room * 100 / min_payment_pct)


def check_limit(*, offered: Decimal, requested: Decimal | None, annual_income: Decimal,
                credit: CreditFacts | None) -> CheckResult:
    share = LIMIT_INCOME_SHARE_APPROVE if credit is not None and credit.pd < credit.approve_below \
        else LIMIT_INCOME_SHARE_REVIEW
    facts = {"offered": str(offered), "requested": str(requested) if requested else None,
             "income_share": str(share)}
    if requested is not None and requested > offered and offered < (annual_income * share).quantize(Decimal("1")) \
            and offered > MIN_CARD_LIMIT:
        return CheckResult(
            "limit", NOTE, "limit_reduced_affordability",
            f"We can offer a limit of {money_en(offered)} rather than the {money_en(requested)} you asked for: its "
            "minimum monthly repayment is what your income and usual spending leave room for.",
            f"我们可提供{money_zh(offered)}的额度（您申请{money_zh(requested)}）：这一额度的最低月还款额与您的收入和日常支出相符。",
            facts)
    if requested is not None and requested > offered:
        return CheckResult(
            "limit", NOTE, "limit_reduced",
            f"We can offer a limit of {money_en(offered)} rather than the {money_en(requested)} you asked for: at your "
            f"credit level we lend up to {share * 100:.0f} % of your declared annual income "
            f"({money_en(annual_income)}).",
            f"我们可提供{money_zh(offered)}的额度（您申请{money_zh(requested)}）：按您的信用水平，额度上限为申报年收入"
            f"（{money_zh(annual_income)}）的{share * 100:.0f}%。", facts)
    amount = requested if requested is not None else offered
    return CheckResult("limit", PASS, "limit_offered", f"Credit limit: {money_en(amount)}.",
                       f"信用额度：{money_zh(amount)}。", {**facts, "offered": str(amount)})


# --- affordability ----------------------------------------------------------------------------------------

def monthly_payment(*, principal: Decimal, apr_pct: Decimal, months: int) -> Decimal:
    """The level monthly repayment (annuity) of `principal` at `apr_pct` a year over `months`."""
    months = max(1, months)
    rate = apr_pct / 100 / 12
    if rate == 0:
        payment = principal / months
    else:
        payment = principal * rate / (1 - (1 + rate) ** -months)
    return payment.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def check_affordability(*, monthly_income: Decimal, monthly_spend: Decimal, existing_payments: Decimal,
                        new_payment: Decimal, refer_pct: int, decline_pct: int) -> CheckResult:
    """Debt-service ratio: all monthly repayments, the new one included, over monthly income."""
    facts = {"monthly_income": str(monthly_income), "monthly_spend": str(monthly_spend),
             "existing_payments": str(existing_payments), "new_payment": str(new_payment)}
    if monthly_income <= 0:
        return CheckResult("affordability", REFER, "income_unknown",
                           "We could not confirm your income from your declaration or your account activity; a "
                           "member of staff will ask you for proof of income.",
                           "无法根据您的申报及账户流水确认收入，工作人员将联系您提供收入证明。", facts)
    total = existing_payments + new_payment
    dsr = (total / monthly_income * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    facts["dsr_pct"] = str(dsr)
    parts_en = (f"{money_en(new_payment)} new and {money_en(existing_payments)} existing a month, against "
                f"{money_en(monthly_income)} of monthly income")
    parts_zh = (f"新增月供{money_zh(new_payment)}、现有月供{money_zh(existing_payments)}，"
                f"月收入{money_zh(monthly_income)}")
    if dsr > decline_pct:
        return CheckResult("affordability", FAIL, "dsr_above_limit",
                           f"Repayments would take {dsr} % of your monthly income ({parts_en}), above our limit of "
                           f"{decline_pct} %.",
                           f"还款将占您月收入的{dsr}%（{parts_zh}），超过本行{decline_pct}%的上限。", facts)
    if dsr > refer_pct:
        return CheckResult("affordability", REFER, "dsr_review_band",
                           f"Repayments would take {dsr} % of your monthly income ({parts_en}), above our "
                           f"{refer_pct} % guideline, so a person will look at your budget with you.",
                           f"还款将占您月收入的{dsr}%（{parts_zh}），高于{refer_pct}%的参考线，工作人员将与您核实收支情况。",
                           facts)
    if monthly_spend + total > monthly_income:
        return CheckResult("affordability", REFER, "spend_exceeds_income",
                           f"Your usual spending ({money_en(monthly_spend)} a month) plus repayments "
                           f"({money_en(total)}) would exceed your monthly income ({money_en(monthly_income)}); a "
                           "person will look at your budget with you.",
                           f"您的月均支出（{money_zh(monthly_spend)}）加上月供（{money_zh(total)}）将超过月收入"
                           f"（{money_zh(monthly_income)}），工作人员将与您核实收支情况。", facts)
    return CheckResult("affordability", PASS, "affordable",
                       f"Repayments would take {dsr} % of your monthly income ({parts_en}), within our {refer_pct} % "
                       "guideline.",
                       f"还款将占您月收入的{dsr}%（{parts_zh}），在{refer_pct}%的参考线以内。", facts)


def check_amount(*, amount: Decimal, liquid_assets: Decimal) -> CheckResult:
    """A product the customer pays into: the amount must be in their current and savings accounts."""
    facts = {"amount": str(amount), "liquid_assets": str(liquid_assets)}
    if amount > liquid_assets:
        return CheckResult("amount", FAIL, "amount_above_liquid_assets",
                           f"The {money_en(amount)} you want to put in is more than the {money_en(liquid_assets)} in "
                           "your current and savings accounts.",
                           f"您拟投入的{money_zh(amount)}高于您活期及储蓄账户余额{money_zh(liquid_assets)}。", facts)
    return CheckResult("amount", PASS, "amount_available",
                       f"The {money_en(amount)} is available in your accounts.",
                       f"您的账户余额足以支付{money_zh(amount)}。",
                       facts)


# --- needs fit --------------------------------------------------------------------------------------------

# Needs a product either has or lacks, as catalogue tags.
_TAGGED = {"no_fx_fees": ("no-fx-fee",), "travel": ("travel", "frequent-traveller"), "cashback": ("cash-back",),
           "rewards": ("points", "miles"), "lounge": ("lounge",), "esg": ("esg", "green")}
# Where each need means something: an FX fee is a card's, a rate is a borrower's, protection an investor's.
_APPLIES = {
    "no_fx_fees": (ProductType.CREDIT_CARD,), "travel": (ProductType.CREDIT_CARD, ProductType.INSURANCE),
    "cashback": (ProductType.CREDIT_CARD,), "rewards": (ProductType.CREDIT_CARD,),
    "lounge": (ProductType.CREDIT_CARD,), "low_rate": CREDIT_TYPES, "capital_protection": FUNDED_TYPES,
    "low_risk": FUNDED_TYPES, "high_yield": FUNDED_TYPES, "liquidity": FUNDED_TYPES,
}


@dataclass(frozen=True)
class Alternative:
    """Another product of the same type that meets a need, to point the customer at."""

    name_en: str
    name_zh: str
    figure: Decimal | None = None  # its rate or return, where the need is about one


def check_needs_fit(*, labels: list[str], product: ProductFacts, alternatives: dict[str, Alternative]
                    ) -> list[CheckResult]:
    """How the product meets each need the customer stated.

    A preference the product does not meet (fees, perks, a better rate elsewhere) is a note, never a reason to
    hold the application up: the customer chose this product knowing it, and is told plainly, with a better fit
    named when there is one. A *protective* need the product contradicts (they want their capital safe or low
    risk, and this can lose money) refers the application: the suitability rules pass, but what they told us says
    they may be buying something they do not want, and a person should confirm before it is sold.
    """
    results = []
    p = product
    for label in labels:
        if label not in VOCABULARY or (label in _APPLIES and p.type not in _APPLIES[label]):
            continue
        need_en, need_zh = VOCABULARY[label]
        alt = alternatives.get(label)
        alt_en = f" {alt.name_en} does." if alt else ""
        alt_zh = f"{alt.name_zh}可满足该需求。" if alt else ""
        facts: dict[str, Any] = {"need": label}
        if label in _TAGGED:
            if set(_TAGGED[label]) & set(p.tags):
                results.append(CheckResult("needs_fit", PASS, f"need_met_{label}",
                                           f"It offers {need_en}, as you asked.",
                                           f"该产品满足您“{need_zh}”的需求。", facts))
            elif label == "no_fx_fees":
                results.append(CheckResult(
                    "needs_fit", NOTE, "need_unmet_no_fx_fees",
                    f"You asked for no foreign-exchange fees, but {p.name_en} charges a currency-conversion fee on "
                    f"spending in other currencies.{alt_en.replace(' does.', ' waives it.')}",
                    f"您希望免外汇手续费，但{p.name_zh}对外币消费收取货币转换费。{alt_zh}", facts))
            else:
                results.append(CheckResult("needs_fit", NOTE, f"need_unmet_{label}",
                                           f"You asked for {need_en}; {p.name_en} does not offer it.{alt_en}",
                                           f"您希望“{need_zh}”，{p.name_zh}不提供该权益。{alt_zh}", facts))
        elif label in ("capital_protection", "low_risk"):
            protected = "capital-protected" in p.tags or p.risk_level == 1
            ok = protected if label == "capital_protection" else p.risk_level <= 2
            facts["risk_level"] = p.risk_level
            if ok:
                results.append(CheckResult("needs_fit", PASS, f"need_met_{label}",
                                           f"It fits your wish for {need_en} (risk level R{p.risk_level}).",
                                           f"该产品（风险等级R{p.risk_level}）符合您“{need_zh}”的需求。", facts))
            else:
                results.append(CheckResult(
                    "needs_fit", REFER, f"need_conflict_{label}",
                    f"You told us you want {need_en}, but {p.name_en} is risk level R{p.risk_level} and its value can "
                    "go down; an adviser will check with you that it is what you want before it is opened.",
                    f"您表示希望“{need_zh}”，但{p.name_zh}风险等级为R{p.risk_level}，净值可能下跌；开立前理财顾问将与您确认。",
                    facts))
        elif label == "liquidity":
            if p.liquidity in (Liquidity.DAILY, Liquidity.WEEKLY):
                results.append(CheckResult("needs_fit", PASS, "need_met_liquidity",
                                           "You can take your money out at short notice, as you asked.",
                                           "该产品可随时或短期内赎回，符合您的需求。", facts))
            else:
                term = f" for {p.term_months} months" if p.term_months else ""
                term_zh = f"{p.term_months}个月" if p.term_months else ""
                results.append(CheckResult("needs_fit", NOTE, "need_unmet_liquidity",
                                           f"You want access to your money at any time, but it is tied up{term} "
                                           f"({Liquidity(p.liquidity).label}).{alt_en}",
                                           f"您希望随时可取用资金，但该产品资金需锁定{term_zh}。{alt_zh}", facts))
        elif label in ("high_yield", "low_rate"):
            figure = p.return_max if label == "high_yield" else p.return_min
            if figure is None:
                continue
            facts["figure"] = str(figure)
            better = alt is not None and alt.figure is not None and (
                alt.figure > figure if label == "high_yield" else alt.figure < figure)
            if not better:
                results.append(CheckResult("needs_fit", PASS, f"need_met_{label}",
                                           f"At {figure} % a year it is among the best of its kind for {need_en}.",
                                           f"年化{figure}%，在同类产品中符合您“{need_zh}”的需求。", facts))
            else:
                if alt is None or alt.figure is None:  # not an assert: it would vanish under python -O
                    raise ValueError("needs_fit: an unmet need without a better alternative to name")
                results.append(CheckResult(
                    "needs_fit", NOTE, f"need_unmet_{label}",
                    f"You asked for {need_en}: this product is {figure} % a year, while {alt.name_en} is "
                    f"{alt.figure} %.", f"您希望“{need_zh}”：该产品年化{figure}%，{alt.name_zh}为{alt.figure}%。",
                    {**facts, "alternative": alt.name_en, "alternative_figure": str(alt.figure)}))
        elif label == "low_fees":
            fees_en, fees_zh = [], []
            if p.annual_fee > 0:
                fees_en.append(f"an annual fee of {money_en(p.annual_fee)}")
                fees_zh.append(f"年费{money_zh(p.annual_fee)}")
            if p.management_fee_pct > 0:
                fees_en.append(f"a management fee of {p.management_fee_pct} % a year")
                fees_zh.append(f"管理费每年{p.management_fee_pct}%")
            if p.subscription_fee_pct > 0:
                fees_en.append(f"a {p.subscription_fee_pct} % fee on buying")
                fees_zh.append(f"申购费{p.subscription_fee_pct}%")
            if fees_en:
                results.append(CheckResult("needs_fit", NOTE, "need_unmet_low_fees",
                                           f"You asked for low fees; this product has {' and '.join(fees_en)}.",
                                           f"您希望低费用，该产品收取{'、'.join(fees_zh)}。", facts))
            else:
                results.append(CheckResult("needs_fit", PASS, "need_met_low_fees", "It has no fees, as you asked.",
                                           "该产品不收取费用，符合您的需求。", facts))
    return results


# --- outcome ----------------------------------------------------------------------------------------------

def outcome(results: list[CheckResult]) -> tuple[str, list[str]]:
    """declined when any check fails (citing the failures), else referred when any refers (citing those), else
    approved (citing the notes, which the customer should still read)."""
    failed = [r.code for r in results if r.status == FAIL]
    if failed:
        return "declined", failed
    referred = [r.code for r in results if r.status == REFER]
    if referred:
        return "referred", referred
    return "approved", [r.code for r in results if r.status == NOTE]
