# ruff: noqa: E501 -- the catalogue is bilingual prose, one product per row; wrapping it hurts reading.
"""The demo bank's product catalogue: deposits and wealth-management products, and the assembly of the rest.

Every product has a stable code (e.g. "DEP-12M"), so re-seeding updates the same rows and leaves their ids,
embeddings and the recommendations that point at them alone. Variants are generated from templates where a
bank's own range is a template too (term deposits by term), with the wording kept as a bank writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from products.models import Liquidity, ProductType


@dataclass(frozen=True)
class ProductSpec:
    """One catalogue row, in the fields of products.Product (money as Decimal, returns in percent a year)."""

    code: str
    type: str
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    risk_level: int
    return_min: Decimal | None
    return_max: Decimal | None
    term_months: int | None
    min_amount: Decimal
    liquidity: str
    provider: str = "Bank"
    currency: str = "CNY"
    management_fee_pct: Decimal = Decimal("0")
    annual_fee: Decimal = Decimal("0")
    subscription_fee_pct: Decimal = Decimal("0")
    min_age: int = 18
    max_age: int | None = None
    min_annual_income: Decimal = Decimal("0")
    residency: list[str] = field(default_factory=list)
    kyc_required: bool = True
    allows_multiple: bool = False
    launched_on: date = date(2021, 1, 4)
    tags: list[str] = field(default_factory=list)


def D(value: str | int) -> Decimal:  # noqa: N802 -- reads like a literal in the tables below
    return Decimal(str(value))


def _term_en(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return f"{years}-year" if years > 1 else "1-year"
    return f"{months}-month"


def _term_zh(months: int) -> str:
    if months % 12 == 0:
        return f"{months // 12}年"
    return f"{months}个月"


def deposits() -> list[ProductSpec]:
    items = [
        ProductSpec(
            code="DEP-DEMAND", type=ProductType.DEPOSIT,
            name_en="Everyday Demand Deposit", name_zh="活期储蓄存款",
            description_en="A demand deposit for everyday money: deposit and withdraw at any time, interest paid "
                           "quarterly at the posted demand rate. Principal protected by the deposit insurance "
                           "scheme; suitable for every customer.",
            description_zh="满足日常资金需要的活期存款，随存随取，按季结息。受存款保险保障，适合所有客户。",
            risk_level=1, return_min=D("0.10"), return_max=D("0.20"), term_months=None, min_amount=D("0"),
            liquidity=Liquidity.DAILY, kyc_required=False, allows_multiple=False,
            tags=["deposit", "demand", "liquidity", "capital-protected"], launched_on=date(2015, 1, 5),
        ),
        ProductSpec(
            code="DEP-NOTICE-7D", type=ProductType.DEPOSIT,
            name_en="7-Day Notice Deposit", name_zh="七天通知存款",
            description_en="Earn more than a demand account on money you may need soon: give seven days' notice "
                           "before withdrawing. Minimum CNY 50,000; principal protected, R1.",
            description_zh="提前七天通知即可支取，收益高于活期。起存5万元，本金有保障，风险等级R1。",
            risk_level=1, return_min=D("0.60"), return_max=D("0.80"), term_months=None, min_amount=D("50000"),
            liquidity=Liquidity.WEEKLY, allows_multiple=True,
            tags=["deposit", "notice", "liquidity", "capital-protected"], launched_on=date(2016, 3, 1),
        ),
    ]
    rates = {3: ("1.05", "1.15"), 6: ("1.25", "1.35"), 12: ("1.45", "1.55"), 24: ("1.55", "1.65"),
             36: ("1.85", "1.95"), 60: ("1.90", "2.00")}
    for months, (low, high) in rates.items():
        who_en = ("short-term savers who want a better rate than demand" if months <= 6
                  else "savers planning a goal a few years ahead" if months >= 36
                  else "savers who can set money aside for a year or two")
        who_zh = ("希望短期资金获得高于活期收益的客户" if months <= 6
                  else "为几年后的目标储蓄的客户" if months >= 36 else "可将资金存放一至两年的客户")
        items.append(ProductSpec(
            code=f"DEP-{months}M", type=ProductType.DEPOSIT,
            name_en=f"{_term_en(months).capitalize()} Time Deposit", name_zh=f"{_term_zh(months)}整存整取定期存款",
            description_en=f"A {_term_en(months)} fixed-term deposit at a guaranteed rate, paid with the principal "
                           f"at maturity; early withdrawal earns the demand rate. From CNY 50, risk R1, for "
                           f"{who_en}.",
            description_zh=f"{_term_zh(months)}期整存整取，利率锁定，到期一次还本付息；提前支取按活期计息。"
                           f"50元起存，风险等级R1，适合{who_zh}。",
            risk_level=1, return_min=D(low), return_max=D(high), term_months=months, min_amount=D("50"),
            liquidity=Liquidity.AT_MATURITY, allows_multiple=True,
            tags=["deposit", "time-deposit", "capital-protected", f"{months}m"], launched_on=date(2018, 1, 2),
        ))
    for months, (low, high) in {3: ("1.35", "1.45"), 6: ("1.55", "1.65"), 12: ("1.75", "1.85"),
                                36: ("2.10", "2.25")}.items():
        items.append(ProductSpec(
            code=f"DEP-CD-{months}M", type=ProductType.DEPOSIT,
            name_en=f"{_term_en(months).capitalize()} Large-Denomination CD",
            name_zh=f"{_term_zh(months)}大额存单",
            description_en=f"A {_term_en(months)} large-denomination certificate of deposit from CNY 200,000, "
                           f"at a rate above ordinary time deposits; transferable to another holder before "
                           f"maturity. Risk R1, for customers with sizeable savings.",
            description_zh=f"{_term_zh(months)}期大额存单，20万元起存，利率高于普通定期，到期前可转让。"
                           f"风险等级R1，适合有较多储蓄的客户。",
            risk_level=1, return_min=D(low), return_max=D(high), term_months=months, min_amount=D("200000"),
            liquidity=Liquidity.AT_MATURITY, allows_multiple=True, residency=["CN"],
            tags=["deposit", "large-cd", "capital-protected", "high-balance"], launched_on=date(2019, 6, 3),
        ))
    for months, (low, high) in {3: ("3.60", "3.90"), 6: ("3.80", "4.10"), 12: ("3.90", "4.30")}.items():
        items.append(ProductSpec(
            code=f"DEP-USD-{months}M", type=ProductType.DEPOSIT, currency="USD",
            name_en=f"{_term_en(months).capitalize()} US Dollar Time Deposit",
            name_zh=f"{_term_zh(months)}美元定期存款",
            description_en=f"A {_term_en(months)} US dollar time deposit from USD 500 at a fixed rate. The "
                           f"principal is protected in dollars, but its value in yuan moves with the exchange "
                           f"rate. R2, for customers with dollar savings or spending.",
            description_zh=f"{_term_zh(months)}期美元定期存款，500美元起存，利率固定。美元本金有保障，"
                           f"但折合人民币价值随汇率变动。风险等级R2，适合有美元储蓄或支出的客户。",
            risk_level=2, return_min=D(low), return_max=D(high), term_months=months, min_amount=D("3500"),
            liquidity=Liquidity.AT_MATURITY, allows_multiple=True,
            tags=["deposit", "foreign-currency", "usd", "travel"], launched_on=date(2020, 9, 1),
        ))
    items += [
        ProductSpec(
            code="DEP-EDU-SAVER", type=ProductType.DEPOSIT,
            name_en="Education Savings Deposit", name_zh="教育储蓄存款",
            description_en="A 3-year instalment deposit for parents saving towards a child's schooling: fixed "
                           "monthly contributions from CNY 50 and a preferential rate. R1, for young families.",
            description_zh="为子女教育储蓄的三年期零存整取，每月定额存入，50元起，享优惠利率。"
                           "风险等级R1，适合年轻家庭。",
            risk_level=1, return_min=D("1.70"), return_max=D("1.90"), term_months=36, min_amount=D("50"),
            liquidity=Liquidity.AT_MATURITY, allows_multiple=False, residency=["CN"],
            tags=["deposit", "education", "family", "regular-saving"], launched_on=date(2017, 9, 1),
        ),
        ProductSpec(
            code="DEP-PENSION-5Y", type=ProductType.DEPOSIT,
            name_en="Personal Pension Deposit", name_zh="个人养老金储蓄存款",
            description_en="A 5-year deposit inside the personal pension account, with tax relief on "
                           "contributions up to the annual cap. Withdrawable at retirement; R1, for working "
                           "customers planning retirement.",
            description_zh="个人养老金账户内的五年期存款，年度缴存额度内享税收优惠，退休时领取。"
                           "风险等级R1，适合为养老做准备的在职客户。",
            risk_level=1, return_min=D("1.95"), return_max=D("2.05"), term_months=60, min_amount=D("1000"),
            liquidity=Liquidity.AT_MATURITY, allows_multiple=False, residency=["CN"], max_age=60,
            tags=["deposit", "pension", "retirement", "tax-relief"], launched_on=date(2022, 11, 25),
        ),
        ProductSpec(
            code="DEP-SENIOR-2Y", type=ProductType.DEPOSIT,
            name_en="Silver Years 2-Year Deposit", name_zh="银龄两年期专属存款",
            description_en="A 2-year deposit for customers aged 55 and over, at a rate above the standard "
                           "2-year deposit, interest paid monthly to a current account. R1.",
            description_zh="面向55岁及以上客户的两年期专属存款，利率高于普通两年期，按月付息至活期账户。风险等级R1。",
            risk_level=1, return_min=D("1.75"), return_max=D("1.85"), term_months=24, min_amount=D("10000"),
            liquidity=Liquidity.AT_MATURITY, allows_multiple=True, min_age=55,
            tags=["deposit", "senior", "monthly-income", "capital-protected"], launched_on=date(2021, 10, 14),
        ),
    ]
    return items


def wealth() -> list[ProductSpec]:
    items: list[ProductSpec] = []
    for suffix, min_amount, low, high in (("A", "1", "1.60", "1.90"), ("B", "10000", "1.75", "2.05"),
                                          ("P", "1000000", "1.90", "2.20")):
        who_en = {"A": "everyone", "B": "customers with CNY 10,000 or more to park",
                  "P": "private-banking customers"}[suffix]
        who_zh = {"A": "所有客户", "B": "有1万元以上闲置资金的客户", "P": "私人银行客户"}[suffix]
        items.append(ProductSpec(
            code=f"WM-CASH-{suffix}", type=ProductType.WEALTH, provider="Bank Wealth Management Co.",
            name_en=f"Daily Cash Plus ({suffix} share)", name_zh=f"天天现金宝（{suffix}份额）",
            description_en=f"A cash-management product investing in deposits, money-market instruments and "
                           f"short bonds, redeemable any business day with same-day access up to the daily "
                           f"limit. Returns are not guaranteed; R1, for {who_en}.",
            description_zh=f"投资于存款、货币市场工具及短期债券的现金管理类产品，工作日可赎回，额度内实时到账。"
                           f"收益不保证，风险等级R1，适合{who_zh}。",
            risk_level=1, return_min=D(low), return_max=D(high), term_months=None, min_amount=D(min_amount),
            liquidity=Liquidity.DAILY, management_fee_pct=D("0.20"), allows_multiple=False,
            min_annual_income=D("1000000") if suffix == "P" else D("0"),
            tags=["wealth", "cash-management", "liquidity"], launched_on=date(2020, 4, 1),
        ))
    for months, low, high in ((3, "2.00", "2.60"), (6, "2.20", "2.90"), (9, "2.30", "3.00"),
                              (12, "2.50", "3.30")):
        items.append(ProductSpec(
            code=f"WM-FI-{months}M", type=ProductType.WEALTH, provider="Bank Wealth Management Co.",
            name_en=f"Steady Income {_term_en(months)} Fixed-Income Plan",
            name_zh=f"稳享固收{_term_zh(months)}定开理财",
            description_en=f"A closed-end {_term_en(months)} plan investing mainly in high-grade bonds and "
                           f"deposits, targeting a return above time deposits. Principal is not guaranteed; "
                           f"R2, for cautious investors who will not need the money before maturity.",
            description_zh=f"封闭期{_term_zh(months)}，主要投资高等级债券和存款，业绩比较基准高于定期存款。"
                           f"不保本，风险等级R2，适合期间无需动用资金的稳健型投资者。",
            risk_level=2, return_min=D(low), return_max=D(high), term_months=months, min_amount=D("10000"),
            liquidity=Liquidity.AT_MATURITY, management_fee_pct=D("0.30"), allows_multiple=True,
            tags=["wealth", "fixed-income", "closed-end"], launched_on=date(2021, 3, 15),
        ))
        items.append(ProductSpec(
            code=f"WM-FIPLUS-{months}M", type=ProductType.WEALTH, provider="Bank Wealth Management Co.",
            name_en=f"Enhanced Income {_term_en(months)} Plan", name_zh=f"增利{_term_zh(months)}固收+理财",
            description_en=f"A {_term_en(months)} 'fixed income plus' plan: mostly bonds, with up to 20% in "
                           f"equities and convertibles for extra return, so its value can fall. R3, for "
                           f"balanced investors.",
            description_zh=f"{_term_zh(months)}期“固收+”理财，以债券为主，不超过20%配置股票及可转债以增强收益，"
                           f"净值可能下跌。风险等级R3，适合平衡型投资者。",
            risk_level=3, return_min=D(low) + 1, return_max=D(high) + 2, term_months=months,
            min_amount=D("10000"), liquidity=Liquidity.AT_MATURITY, management_fee_pct=D("0.50"),
            allows_multiple=True, tags=["wealth", "fixed-income-plus", "closed-end"],
            launched_on=date(2021, 8, 2),
        ))
    for months in (6, 12, 18):
        items.append(ProductSpec(
            code=f"WM-MIX-{months}M", type=ProductType.WEALTH, provider="Bank Wealth Management Co.",
            name_en=f"Balanced Growth {_term_en(months)} Mixed Plan", name_zh=f"均衡成长{_term_zh(months)}混合类理财",
            description_en=f"A {_term_en(months)} mixed plan holding bonds and equities in roughly equal "
                           f"measure, rebalanced quarterly. Value can fall materially; R3, for investors "
                           f"comfortable with ups and downs.",
            description_zh=f"{_term_zh(months)}期混合类理财，股债大致均衡配置，按季再平衡。净值可能明显波动，"
                           f"风险等级R3，适合能承受波动的投资者。",
            risk_level=3, return_min=D("2.00"), return_max=D("6.00"), term_months=months, min_amount=D("10000"),
            liquidity=Liquidity.AT_MATURITY, management_fee_pct=D("0.80"), allows_multiple=True,
            tags=["wealth", "mixed", "closed-end"], launched_on=date(2022, 2, 7),
        ))
    items += [
        ProductSpec(
            code="WM-ESG-12M", type=ProductType.WEALTH, provider="Bank Wealth Management Co.",
            name_en="Green Future 1-Year ESG Plan", name_zh="绿色未来一年期ESG理财",
            description_en="A 1-year plan investing in green bonds and companies screened for environmental, "
                           "social and governance standards. Value can fall; R3, for investors who want their "
                           "money to support sustainability.",
            description_zh="一年期理财，投资绿色债券及经ESG筛选的企业。净值可能下跌，风险等级R3，"
                           "适合希望资金支持可持续发展的投资者。",
            risk_level=3, return_min=D("2.50"), return_max=D("4.50"), term_months=12, min_amount=D("10000"),
            liquidity=Liquidity.AT_MATURITY, management_fee_pct=D("0.60"), allows_multiple=True,
            tags=["wealth", "esg", "green"], launched_on=date(2023, 4, 22),
        ),
        ProductSpec(
            code="WM-PENSION-5Y", type=ProductType.WEALTH, provider="Bank Wealth Management Co.",
            name_en="Golden Years Pension Wealth Plan", name_zh="颐享养老理财",
            description_en="A 5-year pension wealth-management plan with a smoothing reserve that evens out "
                           "returns between years; partial redemption allowed for serious illness or home "
                           "purchase. R2, for customers saving for retirement.",
            description_zh="五年期养老理财，设平滑基金熨平收益波动，重疾、购房等情形可部分赎回。"
                           "风险等级R2，适合为退休储蓄的客户。",
            risk_level=2, return_min=D("3.00"), return_max=D("4.50"), term_months=60, min_amount=D("1"),
            liquidity=Liquidity.AT_MATURITY, management_fee_pct=D("0.10"), allows_multiple=False,
            residency=["CN"], tags=["wealth", "pension", "retirement"], launched_on=date(2022, 3, 1),
        ),
        ProductSpec(
            code="WM-PRIVATE-EQ", type=ProductType.WEALTH, provider="Bank Wealth Management Co.",
            name_en="Private Banking Equity Opportunities Plan", name_zh="私行权益精选理财",
            description_en="A 2-year equity-oriented plan for qualified investors, from CNY 1,000,000, run by "
                           "external managers. Value can fall sharply; R5, for experienced investors only.",
            description_zh="面向合格投资者的两年期权益类理财，100万元起投，由外部投顾管理。"
                           "净值可能大幅下跌，风险等级R5，仅适合有经验的投资者。",
            risk_level=5, return_min=D("-15.00"), return_max=D("25.00"), term_months=24,
            min_amount=D("1000000"), liquidity=Liquidity.AT_MATURITY, management_fee_pct=D("1.50"),
            subscription_fee_pct=D("1.00"), min_annual_income=D("500000"), allows_multiple=False,
            tags=["wealth", "equity", "private-banking", "qualified-investor"], launched_on=date(2023, 7, 3),
        ),
    ]
    return items


def catalogue() -> list[ProductSpec]:
    """The whole catalogue, in a stable order (the order decides nothing but the ids of a fresh table)."""
    from customers.demo.catalogue_credit import cards, insurance, loans
    from customers.demo.catalogue_markets import bonds, funds

    products = deposits() + wealth() + funds() + bonds() + cards() + loans() + insurance()
    codes = [p.code for p in products]
    if len(codes) != len(set(codes)):
        raise RuntimeError("duplicate product codes in the demo catalogue")
    return products
