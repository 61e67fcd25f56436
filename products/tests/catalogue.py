"""A small realistic catalogue for search tests: products a paraphrased query must tell apart."""

from __future__ import annotations

from decimal import Decimal

from products.models import Liquidity, Product, ProductType
from products.tests.factories import ProductFactory

CATALOGUE: list[dict[str, object]] = [
    dict(
        code="CARD-TRAVEL",
        type=ProductType.CREDIT_CARD,
        risk_level=1,
        term_months=None,
        name_en="Globetrotter Travel Credit Card",
        name_zh="环球旅行信用卡",
        description_en="Pay abroad with no foreign exchange fee on purchases in any currency, free airport "
        "lounge access and travel accident cover.",
        description_zh="境外消费免收外汇兑换手续费，免费机场贵宾厅，附赠旅行意外保障。",
        tags=["travel", "card"],
    ),
    dict(
        code="CARD-CASHBACK",
        type=ProductType.CREDIT_CARD,
        risk_level=1,
        term_months=None,
        name_en="Everyday Cashback Card",
        name_zh="日常返现信用卡",
        description_en="2% cash back at supermarkets and restaurants, 1% on everything else, no annual fee.",
        description_zh="超市和餐厅消费返现2%，其他消费返现1%，免年费。",
        tags=["cashback"],
    ),
    dict(
        code="DEP-12M",
        type=ProductType.DEPOSIT,
        risk_level=1,
        term_months=12,
        name_en="12-Month Fixed Deposit",
        name_zh="一年期定期存款",
        description_en="Lock in a guaranteed interest rate for twelve months; principal and interest are "
        "protected by deposit insurance.",
        description_zh="锁定一年期保证利率，本金和利息受存款保险保障。",
        tags=["fixed term"],
    ),
    dict(
        code="DEP-FLEX",
        type=ProductType.DEPOSIT,
        risk_level=1,
        term_months=None,
        liquidity=Liquidity.DAILY,
        name_en="Smart Savings Account",
        name_zh="灵活储蓄账户",
        description_en="Instant-access savings: withdraw any day, variable interest paid monthly.",
        description_zh="随存随取，按月付息，利率浮动。",
        tags=["savings"],
    ),
    dict(
        code="LOAN-MORTGAGE",
        type=ProductType.LOAN,
        risk_level=1,
        term_months=360,
        name_en="Home Mortgage",
        name_zh="个人住房按揭贷款",
        description_en="Finance the purchase of your home over up to 30 years with a competitive "
        "floating rate.",
        description_zh="最长30年的购房贷款，利率优惠浮动。",
        tags=["home"],
    ),
    dict(
        code="LOAN-PERSONAL",
        type=ProductType.LOAN,
        risk_level=1,
        term_months=36,
        name_en="Personal Consumer Loan",
        name_zh="个人消费贷款",
        description_en="An unsecured loan for weddings, furniture or tuition, repaid in fixed monthly "
        "instalments.",
        description_zh="无抵押消费贷款，可用于婚礼、家具或学费，按月等额还款。",
        tags=["loan"],
    ),
    dict(
        code="FUND-CSI300",
        type=ProductType.FUND,
        risk_level=4,
        term_months=None,
        name_en="CSI 300 Index Fund",
        name_zh="沪深300指数基金",
        description_en="Tracks the 300 largest companies listed in Shanghai and Shenzhen at a low "
        "management fee; share prices go up and down.",
        description_zh="跟踪沪深两市规模最大的300家上市公司，管理费低，净值会波动。",
        tags=["equity", "index"],
    ),
    dict(
        code="FUND-BOND",
        type=ProductType.FUND,
        risk_level=2,
        term_months=None,
        name_en="Short-Term Bond Fund",
        name_zh="短债基金",
        description_en="Invests in government and high-grade corporate bonds maturing within a year; "
        "low volatility.",
        description_zh="投资一年内到期的国债和高等级信用债，波动较低。",
        tags=["bonds"],
    ),
    dict(
        code="INS-CI",
        type=ProductType.INSURANCE,
        risk_level=1,
        term_months=240,
        name_en="Critical Illness Insurance",
        name_zh="重大疾病保险",
        description_en="Pays a lump sum if you are diagnosed with cancer, a heart attack, a stroke or "
        "one of 100 serious illnesses.",
        description_zh="确诊癌症、心脏病发作、中风等100种重大疾病即一次性赔付。",
        tags=["health"],
    ),
    dict(
        code="WEALTH-STEADY",
        type=ProductType.WEALTH,
        risk_level=2,
        term_months=6,
        name_en="Steady Income Wealth Plan",
        name_zh="稳享理财计划",
        description_en="A six-month wealth management plan aiming for returns above deposits; "
        "returns are not guaranteed.",
        description_zh="六个月期理财计划，追求高于存款的收益，收益不保证。",
        tags=["wealth"],
    ),
]


def build_catalogue() -> dict[str, Product]:
    products = {}
    for spec in CATALOGUE:
        fields = {"min_amount": Decimal("1000.00"), "liquidity": Liquidity.NOT_APPLICABLE, **spec}
        products[str(spec["code"])] = ProductFactory(**fields)
    return products
