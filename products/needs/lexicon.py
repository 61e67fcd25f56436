"""The bilingual lexicon: English and Chinese words for product types, features (catalogue tags), risk
appetite, liquidity and currency, and the index that matches them quickly."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from django.core.exceptions import ImproperlyConfigured


class _Effect(NamedTuple):
    types: tuple[str, ...] = ()
    fallback_types: tuple[str, ...] = ()  # asked for only when no type is named ("存", "save", "beat a deposit")
    excluded_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    max_risk: int | None = None
    min_risk: int | None = None
    term: tuple[int | None, int | None] | None = None
    liquidity: str | None = None
    currency: str | None = None


def _cue(pattern: str, *types: str, tags: tuple[str, ...] = (), negated: _Effect | None = None,
         **effect: Any) -> tuple[str, _Effect, _Effect | None]:
    # Negating a product type ("not a loan", "不要贷款") excludes it. Other cues, negated, say nothing we can
    # use: not a kind of fund ("不要股票基金") is still a fund, and not a feature is no constraint.
    if negated is None and types and not tags:
        negated = _Effect(excluded_types=types)
    return pattern, _Effect(types=types, tags=tags, **effect), negated


_D, _W, _F, _B = "deposit", "wealth", "fund", "bond"
_C, _L, _I = "credit_card", "loan", "insurance"
_NOT_HIGH = _Effect(max_risk=3)
_FX_FEE = (r"(?:any )?(?:foreign[\s-](?:exchange|transaction|currency)|fx|forex|currency[\s-]conversion)"
           r"[\s-]?(?:fees?|charges?)")
# Patterns, English lower-case. Listed roughly by topic; the matcher tries the longest pattern first.
_CUES = [
    # Risk appetite. "低风险" follows the English "low risk" (R2), as the advisor UI labels R2 cautious/稳健型.
    _cue(r"no risk|risk[\s-]?free|zero risk|without (?:any )?risk|"
         + "|".join(f"{verb} (?:want to |afford to )?lose(?: any)?(?: money| capital)?"
                    for verb in ("don't", "do not", "can't", "cannot", "never"))
         + "".join(f"|{verb} want (?:any |to take (?:any )?)?risks?" for verb in ("don't", "do not"))
         + r"|不(?:想|要|愿意?)(?:冒|承担|担)?(?:任何)?风险|无风险|零风险"
         r"|不(?:能|要|想|愿意?|可以)亏(?:本|钱|损)?|不亏本?", max_risk=1),
    _cue(r"capital[\s-](?:protected|guaranteed|protection|guarantee)|principal[\s-](?:protected|guaranteed|protection"
         r"|guarantee)|guaranteed (?:capital|principal)"
         r"|保本|本金(?:有)?(?:保障|安全|保证)", tags=("capital-protected",), max_risk=1),
    _cue(r"very low[\s-]risk|lowest[\s-]risk|conservative|极低风险|最低风险|保守", max_risk=1),
    _cue(r"low(?:er)?[\s-]risk|safe(?:st|ty)?|secure|cautious|steady|stable"
         r"|低风险|中低风险|稳健|稳定|稳妥|安全", max_risk=2),
    _cue(r"medium[\s-]risk|moderate(?:[\s-]risk)?|中等风险|中风险|平衡", max_risk=3),
    _cue(r"medium[\s-]high[\s-]risk|中高风险", max_risk=4),
    _cue(r"high(?:er)?[\s-]risk|risky|aggressive|高风险|激进|进取", min_risk=4, negated=_NOT_HIGH),
    # Liquidity and horizon.
    _cue(r"any ?time|any day|instant(?:ly)? access|easy access|on demand|flexible|liquid(?:ity)?"
         r"|随时(?:都)?(?:能|可以|可)?(?:取出?|用|支取|取钱|赎回|拿)?|随存随取|随用随取|随取随用|灵活",
         liquidity="daily"),
    _cue(r"weekly access|每周(?:能|可以?)?(?:取|赎回)", liquidity="weekly"),
    _cue(r"monthly access|每月(?:能|可以?)(?:取|赎回)", liquidity="monthly"),
    _cue(r"short[\s-]term|短期|短线", term=(None, 12)),
    _cue(r"medium[\s-]term|中期", term=(12, 36)),
    _cue(r"long[\s-]term|长期|长线", term=(36, None)),
    # Deposits and savings. The bare verb 存 (not 存款/存单/存在) is "put money somewhere safe": a deposit or a
    # cash-management product, both of which take it.
    _cue(r"deposits?|cds?|certificates? of deposit|savings? accounts?|savings"
         r"|存款|储蓄|存单|定期|整存整取|零存整取", _D),
    _cue(r"活期|demand deposits?|current account", _D, liquidity="daily"),
    _cue(r"sav(?:e|ing)|put aside|park(?: my)? (?:money|cash)|存(?![款单在折储])", fallback_types=(_D, _W)),
    _cue(r"large(?:[\s-]denomination)? cds?|大额存单", _D, tags=("large-cd",)),
    _cue(r"notice deposits?|通知存款|七天通知|7天通知", _D, tags=("notice",), liquidity="weekly"),
    _cue(r"wealth[\s-]management(?: products?| plans?)?|wmps?|理财(?:产品)?", _W),
    _cue(r"cash[\s-]management|现金管理", _W, tags=("cash-management",)),
    _cue(r"fixed[\s-]income|固收|固定收益", tags=("fixed-income",)),
    # Funds and bonds.
    _cue(r"mutual funds?|funds?|etfs?|基金|定投", _F),
    _cue(r"index funds?|指数基金", _F, tags=("index",)),
    _cue(r"money[\s-]market(?: funds?)?|货币基金|货基|余额宝", _F, tags=("money-market",)),
    _cue(r"bond funds?|债基|债券基金", _F, tags=("bond",)),
    _cue(r"stock funds?|equity funds?|股票基金|股基", _F, tags=("equity",)),
    _cue(r"stocks?|equit(?:y|ies)|shares|股票", tags=("equity",)),
    _cue(r"bonds?|债券|地方债|企业债|金融债|永续债", _B),
    _cue(r"government bonds?|treasur(?:y|ies)(?: bonds?)?|国债", _B, tags=("government",)),
    _cue(r"savings bonds?|储蓄国债", _B, tags=("savings-bond",)),
    # Cards and loans.
    _cue(r"credit[\s-]cards?|cards?|信用卡", _C),
    _cue(r"loans?|borrow(?:ing)?|贷款|借款|借钱|贷|借(?!记)", _L),
    _cue(r"mortgages?|home loans?|房贷|按揭|住房贷款", _L, tags=("mortgage", "home")),
    _cue(r"car loans?|auto loans?|车贷|汽车贷款", _L, tags=("car",)),
    _cue(r"personal loans?|consumer loans?|消费贷|信用贷", _L, tags=("personal",)),
    _cue(r"business loans?|经营贷", _L, tags=("business", "sme")),
    _cue(r"student loans?|助学贷款", _L, tags=("education", "student")),
    _cue(r"provident fund|公积金", _L, tags=("provident-fund",)),
    # Insurance.
    _cue(r"insurance|insure|保险", _I),
    _cue(r"medical (?:insurance|cover)|health (?:insurance|cover)|医疗险|医疗保险", _I, tags=("medical", "health")),
    _cue(r"critical[\s-]illness|重疾险?|重大疾病", _I, tags=("critical-illness",)),
    _cue(r"life (?:insurance|cover)|寿险|人寿保险", _I, tags=("life",)),
    _cue(r"accident (?:insurance|cover)|意外险", _I, tags=("accident",)),
    _cue(r"annuit(?:y|ies)|年金(?:险|保险)?", _I, tags=("annuity",)),
    # Features: catalogue tags.
    _cue(r"travel(?:l?ing|l?ers?|s)?|trips?|holidays?|vacations?|abroad|overseas|出国|出境|境外|旅行|旅游|出游",
         tags=("travel",)),
    _cue(r"study(?:ing)? abroad|留学", tags=("abroad", "education")),
    _cue("|".join(f"{no} {_FX_FEE}" for no in ("no", "zero", "without", "free of"))
         + r"|foreign[\s-]transaction[\s-]fee[\s-]free|fx[\s-]fee[\s-]free"
         r"|免(?:收)?(?:货币)?(?:转换|外汇|外币兑换|境外)(?:手续)?费|无(?:货币)?(?:转换|外汇)(?:手续)?费",
         tags=("no-fx-fee",)),
    _cue(r"airport lounges?|lounges?|贵宾厅", tags=("lounge",)),
    _cue(r"airmiles|miles|mileage|里程", tags=("miles",)),
    _cue(r"reward points|points|积分", tags=("points",)),
    _cue(r"cash[\s-]?back|返现", tags=("cash-back",)),
    _cue(r"dining|restaurants?|eat(?:ing)? out|餐饮|美食|外卖", tags=("dining",)),
    _cue(r"online shopping|shopping|网购|购物", tags=("shopping",)),
    _cue(r"students?|university|college|大学生|学生|校园", tags=("student",)),
    _cue(r"cars?|vehicles?|汽车|买车|车主|车", tags=("car",)),
    _cue(r"electric (?:cars?|vehicles?)|evs?|新能源车|新能源汽车|电动车", tags=("car", "green")),
    _cue(r"fuel|petrol|加油", tags=("fuel",)),
    _cue(r"esg|green|sustainab\w*|eco[\s-]friendly|绿色|环保|可持续", tags=("esg", "green")),
    _cue(r"homes?|houses?|housing|flat|apartment|房子|住房|买房|购房", tags=("home",)),
    _cue(r"renovat\w*|装修", tags=("renovation", "home")),
    _cue(r"education|tuition|school(?:ing)?|教育|学费|上学", tags=("education",)),
    _cue(r"family|child(?:ren)?|kids?|家庭|孩子|子女|小孩", tags=("family",)),
    _cue(r"retire(?:ment|d)?|pension|养老|退休", tags=("retirement", "pension")),
    # "每月收入一万" is the customer's pay, not a wish: only the receiving forms count, and "my monthly income"
    # is read (and ignored) as a phrase of its own.
    _cue(r"my monthly income|our monthly income"),
    _cue(r"monthly income|income every month|每月(?:都)?有收入|每月领(?:取|钱)|按月(?:领取|领钱|付息)"
         r"|月月有收入",
         tags=("monthly-income", "income", "annuity")),
    _cue(r"dividends?|分红|红利", tags=("dividend", "income")),
    _cue(r"index|指数", tags=("index",)),
    _cue(r"tech(?:nology)?|科技", tags=("technology",)),
    _cue(r"semiconductors?|chips?|芯片|半导体", tags=("semiconductor", "technology")),
    _cue(r"new energy|新能源", tags=("new-energy",)),
    _cue(r"health ?care|pharma\w*|医药", tags=("healthcare",)),
    _cue(r"medical|hospital|医疗|住院|看病", tags=("medical", "health")),
    _cue(r"global|international|us stocks?|qdii|美股|港股|海外|全球", tags=("global", "qdii")),
    _cue(r"business(?:es)?|sme|self[\s-]employed|经营|小微|企业主|个体户|生意", tags=("business", "sme")),
    _cue(r"seniors?|elderly|老年人?|老人|银发", tags=("senior",)),
    _cue(r"protection|保障", tags=("protection",)),
    _cue(r"private[\s-]banking|私人银行|私行", tags=("private-banking",)),
    _cue(r"foreign currency|外币", tags=("foreign-currency",)),
    # Currency.
    _cue(r"usd|us dollars?|dollars?|美元|美金", currency="USD"),
    _cue(r"rmb|cny|yuan|renminbi|人民币", currency="CNY"),
]


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern: "a|b(?:c|d)" -> ["a", "b(?:c|d)"]."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(pattern):
        if ch in "([" and pattern[i - 1:i] != "\\":
            depth += 1
        elif ch in ")]" and pattern[i - 1:i] != "\\":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    return [*parts, pattern[start:]]


def _literal_length(alternative: str) -> int:
    return len(re.sub(r"\(\?<?[!=][^)]*\)|\\[a-z]|[?*+()\[\]|:]", "", alternative))


# Matching the lexicon. One regex of ~250 alternatives would try each of them at every position (ms per
# query); instead every alternative starts with a literal character (checked here), and at each position
# only the alternatives starting with that character are tried, longest first, so "credit card" wins over
# "card" and "车贷" over "贷". English alternatives need word edges, set by hand: \b would not do, as
# Chinese characters count as word characters.
_CUE_ALTERNATIVES = sorted(
    ((alt, index) for index, (pattern, _, _) in enumerate(_CUES) for alt in _alternatives(pattern)),
    key=lambda item: -_literal_length(item[0]))


def _index_cues() -> dict[str, tuple[re.Pattern[str], list[int]]]:
    """First character -> (a regex of the alternatives starting with it, each a group; their cue indices)."""
    index: dict[str, tuple[re.Pattern[str], list[int]]] = {}
    for first in sorted({alt[0] for alt, _ in _CUE_ALTERNATIVES}):
        if not re.fullmatch(r"[a-z0-9\u4e00-\u9fff]", first):
            raise ImproperlyConfigured(f"every cue alternative must start with a literal letter, not {first!r}")
        group = [(alt, cue) for alt, cue in _CUE_ALTERNATIVES if alt[0] == first]
        index[first] = (re.compile("|".join(f"({alt})(?![a-z])" if alt.isascii() else f"({alt})" for alt, _ in group)),
                        [cue for _, cue in group])
    return index


_CUES_BY_FIRST_CHARACTER = _index_cues()
_CUE_START_RE = re.compile(
    "(?<![a-z])[" + "".join(c for c in _CUES_BY_FIRST_CHARACTER if c.isascii()) + "]"
    "|[" + "".join(c for c in _CUES_BY_FIRST_CHARACTER if not c.isascii()) + "]")
