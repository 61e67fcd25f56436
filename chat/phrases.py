"""What the assistant says in its own words, in English and Chinese. Answers about the bank's policies come
from the knowledge base, never from here; these are the frames around data, questions and confirmations."""

from __future__ import annotations

from typing import Any

_PHRASES: dict[str, tuple[str, str]] = {
    "greeting": ("Hello! I can tell you your balances and recent transactions, freeze or unfreeze a card, move "
                 "money between your own accounts, suggest products that suit you, and answer questions about "
                 "the bank. What can I do for you?",
                 "您好！我可以帮您查询余额和近期交易、冻结或解冻卡片、在您自己的账户之间转账、推荐适合您的产品，"
                 "也可以解答关于本行业务的问题。请问有什么可以帮您？"),
    "goodbye": ("Glad I could help. Goodbye!", "很高兴为您服务，再见！"),
    "out_of_scope": ("I can only help with your banking here: balances, transactions, cards, transfers between "
                     "your accounts, products and questions about the bank.",
                     "我只能处理与银行相关的事务：余额、交易、卡片、本人账户间转账、产品以及本行业务问题。"),
    "clarify": ("I'm not sure I understood. Did you mean {options}?",
                "抱歉，我不太确定您的意思。您是想问{options}吗？"),
    "clarify_or": (" or ", "，还是"),
    "not_understood": ("Sorry, I didn't understand that. Could you say it another way?",
                       "抱歉，我没能理解。您能换个说法吗？"),
    "dont_know": ("I don't know the answer to that, and I'd rather not guess. Would you like to talk to a person?",
                  "这个问题我没有找到可靠的答案，不想随便猜测。需要为您转接人工客服吗？"),
    "handoff_requested": ("I've passed our conversation to a colleague; a person will reply here shortly "
                          "(Monday–Sunday 8:00–22:00; the 24/7 hotline is 400-820-9588).",
                          "已为您转接人工客服，工作人员会在这里尽快回复您（每天8:00–22:00；24小时热线400-820-9588）。"),
    "handoff_sentiment": ("I'm sorry this has been frustrating. I've asked a colleague to look at our conversation "
                          "and reply here as soon as possible.",
                          "非常抱歉给您带来不好的体验。我已请同事查看我们的对话，会尽快在这里回复您。"),
    "handoff_failures": ("I'm clearly not getting this right. I've asked a colleague to take over; they will "
                         "reply here shortly.", "看来我没能帮上忙，已请人工同事接手，他们会尽快在这里回复您。"),
    "handoff_already": ("A colleague already has our conversation and will reply here.",
                        "人工同事已经在处理您的对话，会在这里回复您。"),
    "no_model": ("I can't read requests right now. Please try again in a few minutes, or call 400-820-9588.",
                 "我暂时无法处理请求，请几分钟后再试，或致电400-820-9588。"),
    # Accounts
    "balances": ("Your balances:", "您的账户余额："),
    "balance_line": ("{account}: {balance}", "{account}：{balance}"),
    "card_line": ("{account}: {balance} owed, {available} of {limit} available",
                  "{account}：欠款 {balance}，可用额度 {available}（总额度 {limit}）"),
    "no_accounts": ("You have no open accounts with us.", "您在本行没有开立中的账户。"),
    "no_such_account": ("I couldn't find {reference} among your accounts.", "在您的账户中没有找到{reference}。"),
    "transactions": ("Your transactions {period}:", "您{period}的交易："),
    "transactions_latest": ("Your latest transactions:", "您最近的交易："),
    "transactions_none": ("No transactions {period}.", "{period}没有交易。"),
    "transactions_total": ("Money in {money_in}, money out {money_out}.", "收入 {money_in}，支出 {money_out}。"),
    "period": ("from {since} to {until}", "{since}至{until}"),
    # Cards and transfers
    "which_card": ("Which card? {options}", "请问是哪张卡？{options}"),
    "no_card": ("You have no card with us that I can {verb}.", "您在本行没有可以{verb}的卡。"),
    "verb_freeze": ("freeze", "冻结"),
    "verb_unfreeze": ("unfreeze", "解冻"),
    "already_frozen": ("{card} is already frozen.", "{card}已经是冻结状态。"),
    "not_frozen": ("{card} is not frozen.", "{card}没有被冻结。"),
    "confirm_freeze": ("Freeze {card}? No new payments will go through until you unfreeze it.",
                       "确认冻结{card}吗？冻结后将无法进行新的支付，直到您解冻。"),
    "confirm_unfreeze": ("Unfreeze {card}? Payments will work again at once.",
                         "确认解冻{card}吗？解冻后即可正常支付。"),
    "confirm_transfer": ("Move {amount} from {source} to {target}?", "确认从{source}转{amount}到{target}吗？"),
    "confirm_hint": ("Reply yes to confirm or no to cancel.", "回复“确认”执行，或“取消”放弃。"),
    "ask_amount": ("How much would you like to move?", "请问要转多少钱？"),
    "ask_source": ("From which account? {options}", "从哪个账户转出？{options}"),
    "ask_target": ("To which account? {options}", "转入哪个账户？{options}"),
    "need_two_accounts": ("You need two current or savings accounts in one currency to move money between them.",
                          "需要两个同币种的活期或储蓄账户才能在它们之间转账。"),
    "done_freeze": ("Done: {card} is frozen. Ask me to unfreeze it any time.",
                    "已完成：{card}已冻结，随时可以让我解冻。"),
    "done_unfreeze": ("Done: {card} is active again.", "已完成：{card}已恢复使用。"),
    "done_transfer": ("Done: {amount} moved from {source} to {target}. {source} now holds {source_balance}.",
                      "已完成：已从{source}转{amount}到{target}。{source}现有余额{source_balance}。"),
    "cancelled": ("Cancelled: nothing was changed.", "已取消，没有做任何更改。"),
    "confirm_apply": ("Apply for {product}?", "确认申请{product}吗？"),
    "confirm_apply_amount": (" Amount: {amount}.", "金额：{amount}。"),
    "apply_ask_amount": ("How much would you like for {product}? Say it with the product, e.g. \"apply for "
                         "{product} 50000\".",
                         "请问{product}需要多少金额？请连同产品一起告诉我，例如“申请{product} 50000元”。"),
    "done_apply": ("Your application for {product} is submitted. We are checking it now; follow it at {link}.",
                   "您的{product}申请已提交，正在审核中，可在{link}查看进度。"),
    "expired": ("That request has expired, so I didn't carry it out. Ask again if you still want it.",
                "该请求已过期，未执行。如仍需要，请重新发起。"),
    "action_failed": ("I couldn't do that: {reason}", "无法完成：{reason}"),
    "still_pending": ("You still have a request waiting: {summary} Reply yes to confirm or no to cancel.",
                      "您还有一个待确认的请求：{summary}回复“确认”执行，或“取消”放弃。"),
    "back_to_task": ("Back to your request: {prompt}", "回到您刚才的请求：{prompt}"),
    "nothing_to_confirm": ("There is nothing waiting for your confirmation.", "目前没有需要您确认的请求。"),
    # Products
    "products_intro": ("These suit you (only products within your risk level R{risk} and eligibility):",
                       "以下产品适合您（只包含符合您风险等级R{risk}和申请资格的产品）："),
    "products_understood": ("I understood: {needs}.", "我理解您的需求是：{needs}。"),
    "products_none": ("I found nothing suitable for that right now. Try asking more broadly, or talk to a person.",
                      "暂时没有找到符合条件的合适产品。您可以放宽条件，或转人工咨询。"),
    "product_facts": ("{name}: {returns}, {term}, minimum {minimum}, risk R{risk}.",
                      "{name}：{returns}，{term}，起购金额{minimum}，风险等级R{risk}。"),
    "product_suitable": ("It is within your risk level and eligibility.", "该产品符合您的风险等级和申请资格。"),
    "product_unsuitable": ("It isn't suitable for you: {reasons}.", "该产品不适合您：{reasons}。"),
    "return_range": ("expected return {low}–{high} % a year", "预期年化收益{low}%–{high}%"),
    "return_single": ("expected return {value} % a year", "预期年化收益{value}%"),
    "return_none": ("no stated return", "无预期收益"),
    "term_months": ("{months}-month term", "期限{months}个月"),
    "term_open": ("open-ended", "无固定期限"),
}

LANGUAGES = ("en", "zh")


def say(key: str, language: str, **values: Any) -> str:
    """The phrase `key` in `language` ("en" or "zh"), with `values` filled in."""
    en, zh = _PHRASES[key]
    return (zh if language == "zh" else en).format(**values)


def money(amount: Any, currency: str, language: str) -> str:
    symbol = {"CNY": "¥", "USD": "US$"}.get(currency)
    text = f"{amount:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


# Intents the assistant performs itself, as a customer would ask for them (clarifying questions and quick
# replies); knowledge-base intents use their article's title.
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "check_balance": ("checking your balance", "查询余额"),
    "recent_transactions": ("your recent transactions", "查看近期交易"),
    "freeze_card": ("freezing a card", "冻结卡片"),
    "unfreeze_card": ("unfreezing a card", "解冻卡片"),
    "transfer_own_accounts": ("moving money between your accounts", "本人账户间转账"),
    "product_advice": ("finding a product that suits you", "推荐适合您的产品"),
    "talk_to_human": ("talking to a person", "转人工客服"),
}
