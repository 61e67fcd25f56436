"""Numbers as customers write them: digits, Chinese numerals and English number words, and the patterns
around them that say an age, a percentage, an amount or a term."""

from __future__ import annotations

import math
import re
from decimal import Decimal

# --- Numbers: digits, Chinese numerals and English number words -----------------------------------------

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_EN_SMALL = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())} | {w: 10 * n for n, w in enumerate(
        "twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_EN_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}

_EN_WORD = "(?:" + "|".join(sorted([*_EN_SMALL, *_EN_SCALES], key=len, reverse=True)) + ")(?![a-z])"
# A Chinese numeral starts with a digit or 十, so "万一" (just in case) or "千万" (by no means) are not numbers.
# Only ever tried where a number starts (see _NUMBER_START_RE), so digits need no edge of their own.
_NUM = (r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
        r"|[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千万亿]*"
        rf"|(?<![a-z])(?:an?(?![a-z])|{_EN_WORD})(?:[\s-]+(?:and[\s-]+)?{_EN_WORD})*)")


# Where the number-reading passes are tried: numbers, and the currency marks and words that may open one.
# The look-ahead names every character one can start with, which lets re skip the rest of the text quickly.
_NUMBER_FIRST_LETTERS = "".join(sorted({w[0] for w in [*_EN_SMALL, *_EN_SCALES, "a", "half", "rmb", "cny", "usd"]}))
_NUMBER_START_RE = re.compile(
    rf"(?=[\d零〇一二两三四五六七八九十半百$¥人美{_NUMBER_FIRST_LETTERS}])(?<![a-z])"
    rf"(?:{_NUM}|half(?![a-z])|半|百分之|(?:rmb|cny|usd|us\$)|[$¥]|人民币|美元)")


def _zh_int(numeral: str) -> int:
    total = section = digit = unit = 0
    for ch in numeral:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
            continue
        unit = _ZH_UNITS[ch]
        if unit >= 10_000:
            total, section = total + (section + digit) * unit, 0
        else:
            section += (digit or 1) * unit  # "十五": a leading 十 is one ten
        digit = 0
    if digit and unit >= 100 and numeral[-2] in _ZH_UNITS:
        digit *= unit // 10  # "一万五" is 15,000 and "三千五" 3,500: a bare last digit counts one unit down
    return total + section + digit


def _number(token: str) -> Decimal:
    token = token.strip()
    if token[0].isdigit():
        return Decimal(token.replace(",", ""))
    if token[0] in _ZH_DIGITS or token[0] == "十":
        return Decimal(_zh_int(token))
    total = current = 0
    for word in re.split(r"[\s-]+", token):
        if word in ("a", "an"):
            current += 1
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _EN_SCALES:
            total, current = total + (current or 1) * _EN_SCALES[word], 0
        elif word != "and":
            current += _EN_SMALL[word]
    return Decimal(total + current)


# --- Ages, percentages, amounts and terms ---------------------------------------------------------------

_AGE_RE = re.compile(rf"{_NUM}\s*(?:-\s*)?(?:(?:years?|yrs?)[\s-]old|y/?o(?![a-z])|周岁|岁)")
_PERCENT_RE = re.compile(
    r"(?:(?P<num>(?<![\d.])\d+(?:\.\d+)?)\s*(?:%|percent(?![a-z])|个点)|百分之(?P<zh>[零〇一二两三四五六七八九十]+)"
    r"(?:点(?P<zh_decimals>[零〇一二三四五六七八九]+))?)(?P<post>\s*(?:以下|以内|or less|or below))?"
    r"(?:\s*(?:a|per|each)\s+(?:year|annum)|\s*p\.?a\.?(?![a-z])|\s*annual(?:ly)?)?")
_RETURN_CEILING_BEFORE = re.compile(r"(?:below|under|less than|at most|no more than|not more than|up to"
                                    r"|低于|不超过|少于|最多)\s*$")
_NOT_A_RETURN = re.compile(r"(?:fee|charge|commission|down[\s-]?payment|deposit of|手续费|费率|费|首付)\W{0,3}$")
_AMOUNT_RE = re.compile(
    r"(?:(?P<pre>(?<![a-z])(?:rmb|cny|usd|us\$)|\$|¥|人民币|美元)\s*)?"
    rf"(?:(?P<low>{_NUM})\s*(?:-|–|~|to|到|至)\s*)?(?P<num>{_NUM})\s*"
    r"(?P<mult>(?:k|thousand|m|mn|million|w)(?![a-z])|百万|千万|万|千|亿)?\s*"
    r"(?P<cur>(?:rmb|cny|yuan|usd|dollars?|bucks)(?![a-z])|块钱|块|元|美元|美金|人民币)?")
_MULTIPLIERS = {"k": 1000, "thousand": 1000, "千": 1000, "w": 10_000, "万": 10_000, "m": 10**6, "mn": 10**6,
                "million": 10**6, "百万": 10**6, "千万": 10**7, "亿": 10**8}
_USD_MARKS = {"usd", "us$", "$", "美元", "dollar", "dollars", "bucks", "美金"}
# "earn 20k a month", "首付30万", "月供5000", "每月存1000": income, repayments and instalments, not the sum to
# place or borrow.
_NOT_THE_SUM_BEFORE = re.compile(r"(?:income|salary|earn\w*|make|making|paid|repay\w*|instal?ments?|down payment"
                                 r"|monthly|(?:every|each) (?:month|year)|收入|工资|薪|月入|年入|挣|赚|月供|首付|还款"
                                 r"|每个?月|每年)[^,;!?，。；！？]{0,8}$")
_PER_PERIOD_AFTER = re.compile(r"\s*(?:(?:a|per|each|every)\s+(?:year|month|annum)(?![a-z])"
                               r"|/\s*(?:year|yr|month|mo|年|月)|每(?:年|个?月)|(?:p\.?a\.?|annually|monthly)(?![a-z]))")
_MONEY_VERB_BEFORE = re.compile(r"(?:(?<![a-z])(?:invest|deposit|save|put|park|borrow|spend|have|lend|need)(?![a-z])"
                                r"|存|投资?|借|贷|买|放|拿出?|有)\s*(?:in|about|around|roughly|only|大概|大约|约|了)?\s*$")

_UNIT = r"(?:years?|yrs?|months?|mos?|mths?)(?![a-z])|年|个月|個月"
_TERM_RE = re.compile(
    rf"(?P<a>{_NUM})\s*(?P<a_unit>{_UNIT})\s*(?:or|to|-|或者?|到)\s*(?P<b>{_NUM})(?!\s*(?:{_NUM}|{_UNIT}))"
    rf"|(?:(?P<low>{_NUM})\s*(?P<low_unit>{_UNIT})?\s*(?:-|–|—|~|to|or|到|至|或者?)\s*)?"
    rf"(?P<num>{_NUM}|half\s+an?(?![a-z])|半)\s*-?\s*(?P<unit>{_UNIT})(?P<half>半|\s+and\s+a\s+half)?期?")
# "over 3 years" is how long a loan runs, not a minimum, so "over" is not among these.
_TERM_AT_MOST_BEFORE = re.compile(r"(?:within|up to|at most|no more than|not more than|less than|under|no longer than"
                                  r"|shorter than|max(?:imum)?|不超过|最多|最长|少于|不到|短于)"
                                  r"\s*(?:about|around|大概|大约|约)?\s*$")
_TERM_AT_MOST_AFTER = re.compile(r"\s*(?:or (?:less|shorter|under)|max(?:imum)?|at most|以内|之内|以下|内)")
_TERM_AT_LEAST_BEFORE = re.compile(r"(?:at least|more than|longer than|min(?:imum)?|no less than|not less than"
                                   r"|至少|最少|起码|超过|多于|长于|不少于|不低于|不短于)\s*(?:about|around|大概|大约|约)?\s*$")
_TERM_AT_LEAST_AFTER = re.compile(r"\s*(?:or (?:more|longer|above)|\+|plus(?![a-z])|以上|或以上|起|或更长)")
# Terms are sold in steps (3, 6, 9, 12, 18 months...): a horizon of "a year" means about a year, not exactly.
_TERM_TOLERANCE = Decimal("0.25")
_MAX_TERM_MONTHS = 600  # "2030年" is a date, not a fifty-year term


def _months(number: str, unit: str) -> Decimal:
    value = Decimal("0.5") if number == "半" or number.startswith("half") else _number(number)
    return value * 12 if unit.startswith(("y", "年")) else value


def _about(months: Decimal) -> tuple[int, int]:
    return math.floor(months * (1 - _TERM_TOLERANCE)), math.ceil(months * (1 + _TERM_TOLERANCE))


def read_amount(text: str) -> tuple[Decimal, str | None, tuple[int, int]] | None:
    """The first sum of money in `text` (lower-cased, half-width), for a request that is about moving money.

    Unlike the needs parser, which must not mistake an age or an income for the sum to invest, this reads
    any positive number as an amount ("move 500 to savings", "转1000", "1.5万", "¥3,000"): the caller already
    knows a sum is being asked about, and strips account and card references first. Returns (amount,
    currency or None, span) or None.
    """
    for start in _NUMBER_START_RE.finditer(text):
        m = _AMOUNT_RE.match(text, start.start())
        if m is None or m["num"] is None or m["num"].strip() in ("a", "an"):
            continue  # "make a transfer" names no sum; "a thousand" does
        try:
            value = _number(m["num"]) * _MULTIPLIERS.get(m["mult"] or "", 1)
        except (ArithmeticError, KeyError, ValueError):
            continue
        if value <= 0:
            continue
        marks = {m["pre"], m["cur"]} - {None}
        currency = "USD" if marks & _USD_MARKS else "CNY" if marks else None
        return value, currency, m.span()
    return None
