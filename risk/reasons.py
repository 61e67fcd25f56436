"""Reason codes in plain words, English and Chinese: what lowered a customer's credit score, what an
intervention means for them. Staff see the codes and the bins; customers see these sentences."""

from __future__ import annotations

from typing import Any

# feature -> (English, Chinese): said of the customer's situation, never blaming.
CREDIT_REASONS: dict[str, tuple[str, str]] = {
    "income_annual": ("Income is low for the credit held", "收入相对所持信贷偏低"),
    "tenure_months": ("A short relationship with the bank so far", "与本行往来时间较短"),
    "inflow_monthly": ("Little regular income comes into the account", "账户定期收入较少"),
    "income_regularity": ("Income does not arrive every month", "收入并非每月按时到账"),
    "spend_monthly": ("High monthly spending", "月度支出较高"),
    "spend_to_income": ("Spending is high compared with income", "支出占收入的比例较高"),
    "cash_withdrawals_monthly": ("Frequent cash withdrawals", "频繁提取现金"),
    "card_cash_advances": ("Cash advances taken on the credit card", "使用信用卡预借现金"),
    "card_utilisation": ("The credit card is heavily used against its limit", "信用卡额度使用率较高"),
    "card_repayment_ratio": ("Only part of the card bill is repaid each month", "每月仅偿还部分信用卡账单"),
    "late_fees": ("Recent late or missed payments", "近期有逾期或漏缴还款"),
    "short_term_loans": ("Borrowing from short-term lenders", "向短期借贷机构借款"),
    "housing_to_income": ("Housing costs take a large share of income", "住房支出占收入的比例较高"),
    "investing_to_income": ("Little regular saving or investing", "定期储蓄或投资较少"),
    "products_held": ("Few products held with the bank", "在本行持有的产品较少"),
    "loans": ("Several loans outstanding", "未偿还贷款较多"),
    "card_limit_to_income": ("Credit limits are high compared with income", "信用额度相对收入偏高"),
    "life_stage": ("A life stage with higher repayment risk on average", "所处人生阶段的平均还款风险较高"),
    "kyc_status": ("Identity verification is not complete", "身份核验尚未完成"),
}


def credit_reasons(factors: list[Any]) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """(English sentences, Chinese sentences, codes) for risk.ml.model.Factor objects, largest first."""
    en, zh, codes = [], [], []
    for f in factors:
        words = CREDIT_REASONS.get(f.feature)
        if words is None:  # a bank's own column: name it with its bin
            words = (f"{f.feature}: {f.bin_label}", f"{f.feature}：{f.bin_label}")
        en.append(words[0])
        zh.append(words[1])
        codes.append({"code": f.feature, "bin": f.bin_label, "weight": f.weight, "value": f.value})
    return en, zh, codes


# Intervention reason -> (English, Chinese) sentence for the customer.
INTERVENTION_WHY: dict[str, tuple[str, str]] = {
    "unusual_activity": ("we noticed activity on your account that is unusual for you",
                         "我们发现您的账户出现了与您平时习惯不同的交易"),
    "repayment_difficulty": ("recent repayments suggest you may be finding them difficult",
                             "近期的还款情况显示您可能遇到了还款困难"),
    "suspected_fraud": ("we think someone else may be trying to use your account",
                        "我们怀疑有他人试图使用您的账户"),
    "regulatory_review": ("we are required to review some activity on your account",
                          "根据监管要求，我们需要核查您账户上的部分交易"),
}

CATEGORY_WORDS = {
    "cash": ("cash withdrawals", "取现"), "travel": ("travel", "旅行"), "shopping": ("shopping", "购物"),
    "entertainment": ("entertainment", "娱乐"), "transfer": ("transfers", "转账"),
    "investment": ("investments", "投资"),
    "dining": ("dining", "餐饮"), "groceries": ("groceries", "日用品"), "other": ("other payments", "其他支付"),
}
CHANNEL_WORDS = {
    "atm": ("ATMs", "ATM"), "online": ("online payments", "网上支付"), "app": ("the mobile app", "手机银行"),
    "pos": ("card terminals", "刷卡消费"), "branch": ("branch counters", "柜台"),
}


def _listing(keys: list[str], words: dict[str, tuple[str, str]], lang: int) -> str:
    names = [words.get(k, (k, k))[lang] for k in keys]
    return ("、" if lang else ", ").join(names)


ACCOUNT_WORDS = {
    "credit_card": ("credit card", "信用卡"), "current": ("current account", "活期账户"),
    "savings": ("savings account", "储蓄账户"), "loan": ("loan account", "贷款账户"),
    "investment": ("investment account", "投资账户"),
}


def _where(account: Any) -> tuple[str, str]:
    if account is None:
        return "your accounts", "您的账户"
    en, zh = ACCOUNT_WORDS.get(account.type, ("account", "账户"))
    last4 = account.number[-4:]
    return f"your {en} ending {last4}", f"您尾号{last4}的{zh}"


def intervention_notice(*, kind: str, reason: str, params: dict[str, Any], account: Any) -> dict[str, str]:
    """Title and body, English and Chinese, telling the customer what changed on their account and why."""
    why_en, why_zh = INTERVENTION_WHY[reason]
    where_en, where_zh = _where(account)
    if kind == "lower_credit_limit":
        limit = f"¥{float(params['new_limit']):,.0f}"
        title = ("Your credit limit has been lowered", "您的信用额度已下调")
        body = (f"We have lowered the credit limit of {where_en} to {limit} because {why_en}.",
                f"由于{why_zh}，我们已将{where_zh}的信用额度下调至{limit}。")
    elif kind == "restrict":
        what_en = " and ".join(filter(None, [
            _listing(params.get("categories", []), CATEGORY_WORDS, 0),
            _listing(params.get("channels", []), CHANNEL_WORDS, 0),
        ])) or "some payments"
        what_zh = "及".join(filter(None, [
            _listing(params.get("categories", []), CATEGORY_WORDS, 1),
            _listing(params.get("channels", []), CHANNEL_WORDS, 1),
        ])) or "部分交易"
        title = ("Some payments are paused on your account", "您账户的部分交易已暂停")
        body = (f"Payments by {what_en} from {where_en} are paused for now because {why_en}.",
                f"由于{why_zh}，{where_zh}的{what_zh}交易暂时无法进行。")
    else:
        amount = float(params.get("amount_over", 0) or 0)
        over_en = f" of ¥{amount:,.0f} or more" if amount else ""
        over_zh = f"¥{amount:,.0f}及以上的" if amount else ""
        title = ("Extra verification for some payments", "部分交易需要额外验证")
        body = (f"Payments{over_en} from {where_en} need an extra verification step for now because {why_en}.",
                f"由于{why_zh}，{where_zh}{over_zh}交易暂时需要额外的身份验证。")
    contact_en = " If you have questions, please contact us through the app or at any branch."
    contact_zh = "如有疑问，请通过手机银行或前往任一网点联系我们。"
    return {"title_en": title[0], "title_zh": title[1], "body_en": body[0] + contact_en,
            "body_zh": body[1] + contact_zh}


def lifted_notice(*, kind: str, account: Any) -> dict[str, str]:
    where_en, where_zh = _where(account)
    what = {
        "lower_credit_limit": ("The earlier credit limit of", "的信用额度已恢复。", "has been restored"),
        "restrict": ("Paused payments on", "的暂停交易已恢复。", "are possible again"),
        "step_up": ("Extra verification on", "的额外验证要求已取消。", "is no longer needed"),
    }[kind]
    return {
        "title_en": "A restriction on your account has been lifted", "title_zh": "您账户的限制已解除",
        "body_en": f"{what[0]} {where_en} {what[2]}.", "body_zh": f"{where_zh}{what[1]}",
    }
