"""Customer-facing reasons, in English and Chinese, derived from what actually drove a recommendation.

The ranker says which signal contributed most to a product's score (its "driver"); the reasons name that
signal in the customer's words, then add the facts the suitability gate checked (the risk level fits) and,
when the customer asked for something, how the product meets it. Nothing here is a stock phrase that could
be shown whatever the model did.
"""

from __future__ import annotations

from dataclasses import dataclass

from products.models import Product
from products.needs import Needs

LIFE_STAGES_ZH = {
    "student": "学生", "young_professional": "年轻职场人", "young_family": "年轻家庭", "established": "成熟家庭",
    "pre_retirement": "临近退休", "retired": "退休",
}
LIFE_STAGES_EN = {
    "student": "students", "young_professional": "young professionals", "young_family": "young families",
    "established": "established families", "pre_retirement": "customers close to retirement",
    "retired": "retired customers",
}
TAGS_ZH = {
    "travel": "旅行", "no-fx-fee": "免外汇手续费", "cash-back": "返现", "dining": "餐饮", "shopping": "购物",
    "family": "家庭", "education": "教育", "retirement": "养老", "pension": "养老金", "senior": "长者专属",
    "student": "学生", "capital-protected": "保本", "regular-saving": "定期储蓄", "monthly-income": "按月收益",
    "usd": "美元", "miles": "里程", "lounge": "贵宾厅", "home": "住房", "car": "汽车", "medical": "医疗",
    "protection": "保障", "points": "积分", "instalments": "分期", "online": "线上", "premium": "高端",
}
RISK_ZH = {1: "谨慎型", 2: "稳健型", 3: "平衡型", 4: "成长型", 5: "进取型"}
RISK_EN = {1: "conservative", 2: "cautious", 3: "balanced", 4: "growth", 5: "aggressive"}
SPEND_ZH = {
    "groceries": "日常购物", "dining": "餐饮", "travel": "旅行", "transport": "交通", "shopping": "购物",
    "health": "医疗", "education": "教育", "entertainment": "娱乐", "housing": "住房", "utilities": "生活缴费",
}


@dataclass(frozen=True)
class ReasonFacts:
    """What the reasons may mention about the customer."""

    risk_tolerance: int
    life_stage: str
    top_spend_category: str


@dataclass(frozen=True)
class Reasons:
    en: list[str]
    zh: list[str]


def driver_family(driver: str) -> str:
    """Group a ranker driver (advisor.ml.scoring: `collaborative`, `content`, `popularity_in_segment`,
    `customer:<field>`, `product:<field>`, `context:<name>`) into a signal a customer can understand."""
    source, _, name = driver.partition(":")
    if not name:
        return {"collaborative": "similar_customers", "content": "profile_match",
                "popularity_in_segment": "popular_in_segment"}.get(source, "profile_match")
    if source == "customer" and name.startswith("spend_share_"):
        return "spending"
    if source == "product":
        if name.startswith("return"):
            return "return"
        if "fee" in name:
            return "low_fees"
        if name.startswith(("term", "liquidity")):
            return "term"
        if name.startswith("tag_"):
            return "feature"
    if source == "context" and name in ("days_since_seen", "shown_count", "days_since_last_event"):
        return "timing"
    return "profile_match"


def reasons_for(*, product: Product, driver: str, facts: ReasonFacts, needs: Needs | None) -> Reasons:
    en: list[str] = []
    zh: list[str] = []
    family = driver_family(driver)
    if needs is not None and not needs.is_empty:
        asked_en = "; ".join(needs.describe("en"))
        asked_zh = "；".join(needs.describe("zh"))
        en.append(f"Matches what you asked for: {asked_en}.")
        zh.append(f"符合您的需求：{asked_zh}。")
    if family == "similar_customers":
        en.append("Customers with a similar pattern of products and spending hold or chose this.")
        zh.append("与您产品和消费习惯相似的客户持有或选择了这款产品。")
    elif family == "popular_in_segment" and facts.life_stage in LIFE_STAGES_EN:
        en.append(f"Popular with {LIFE_STAGES_EN[facts.life_stage]} like you.")
        zh.append(f"在与您同样处于“{LIFE_STAGES_ZH[facts.life_stage]}”阶段的客户中很受欢迎。")
    elif family == "popular_in_segment":
        en.append("One of the bank's most chosen products.")
        zh.append("本行客户最常选择的产品之一。")
    elif family == "return" and product.expected_return_max is not None:
        en.append(f"Expected return up to {product.expected_return_max:.2f}% a year.")
        zh.append(f"预期年化收益最高 {product.expected_return_max:.2f}%。")
    elif family == "low_fees":
        en.append("Low fees for what it offers.")
        zh.append("费用较低。")
    elif family == "term" and product.term_months:
        en.append(f"A {product.term_months}-month term that suits your situation.")
        zh.append(f"{product.term_months} 个月的期限适合您的情况。")
    elif family == "spending" and (driver.removeprefix("customer:spend_share_") or facts.top_spend_category):
        category = driver.removeprefix("customer:spend_share_")
        category_zh = SPEND_ZH.get(category, category)
        en.append(f"Fits how you spend: {category.replace('_', ' ')} is a large part of it.")
        zh.append(f"契合您的消费习惯：{category_zh}支出占比较高。")
    elif family == "feature" and product.tags:
        tag = driver.removeprefix("product:tag_")
        en.append(f"Its {tag.replace('-', ' ')} feature suits customers with your profile.")
        zh.append(f"它的“{TAGS_ZH.get(tag, tag)}”特点适合与您画像相似的客户。")
    elif family == "timing":
        en.append("Timely: it is close to what you have been looking at recently.")
        zh.append("时机合适：与您近期关注的产品相近。")
    else:
        en.append("Matches your profile: your income, savings and the products you hold.")
        zh.append("与您的画像相符：收入、储蓄和已持有的产品。")
    level = product.risk_level
    en.append(
        f"Fits your risk level R{facts.risk_tolerance} ({RISK_EN[facts.risk_tolerance]}): "
        f"this product is R{level}."
    )
    zh.append(f"符合您的风险等级 R{facts.risk_tolerance}（{RISK_ZH[facts.risk_tolerance]}）：本产品为 R{level}。")
    return Reasons(en=en, zh=zh)
