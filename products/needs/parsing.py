"""`parse_needs`: a customer's text read into Needs.

How a text is read: it is normalised (full-width forms, case) without changing its length, so every
constraint can point at the exact phrase the customer typed. Passes then run in a fixed order, each
masking what it used so that later passes cannot read it again: ages, percentages, "better than a
deposit", amounts, terms, explicit risk levels (R1-R5), and finally one bilingual lexicon of words for
product types, features (catalogue tags), risk appetite, liquidity and currency.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

from bank.embeddings import has_cjk
from products.models import ProductType
from products.needs.lexicon import _CUE_START_RE, _CUES, _CUES_BY_FIRST_CHARACTER, _Effect
from products.needs.model import _LIQUIDITY_ORDER, USD_CNY_REFERENCE, Evidence, Needs, _describe_lines
from products.needs.numbers import (
    _AGE_RE,
    _AMOUNT_RE,
    _MAX_TERM_MONTHS,
    _MONEY_VERB_BEFORE,
    _MULTIPLIERS,
    _NOT_A_RETURN,
    _NOT_THE_SUM_BEFORE,
    _NUMBER_START_RE,
    _PER_PERIOD_AFTER,
    _PERCENT_RE,
    _RETURN_CEILING_BEFORE,
    _TERM_AT_LEAST_AFTER,
    _TERM_AT_LEAST_BEFORE,
    _TERM_AT_MOST_AFTER,
    _TERM_AT_MOST_BEFORE,
    _TERM_RE,
    _USD_MARKS,
    _ZH_DIGITS,
    _about,
    _months,
    _number,
    _zh_int,
)

_T = TypeVar("_T")

MAX_NEEDS_LENGTH = 500
# The demo catalogue's standard 12-month time deposit (DEP-12M) pays 1.45-1.55% a year. "Better than a
# deposit" asks for a product whose best case reaches the top of that range.
DEPOSIT_REFERENCE_RATE = Decimal("1.55")

# What "better than a deposit" offers when the customer names no type: products that can beat a deposit.
_BEYOND_DEPOSIT = (ProductType.WEALTH.value, ProductType.BOND.value, ProductType.FUND.value)
_PRICED_AS_A_COST = {ProductType.LOAN.value, ProductType.CREDIT_CARD.value}


# --- Reading a text -------------------------------------------------------------------------------------

# Full-width forms to ASCII, one character for one, so offsets in the normalised text are offsets in the
# customer's own text.
_NORMALISE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: " ", 0xFFE5: "¥", 0x2019: "'", 0x2018: "'"}
_CLAUSE_BREAK = re.compile(r"[,;!?，。；！？、\n]|\.(?!\d)|(?<![a-z])(?:but|however)(?![a-z])|但是?|不过|而是")
_EN_NEGATION = re.compile(
    r"(?<![a-z])(?:no|not|never|without|avoid(?:ing)?|except|other than|rather than|instead of|nothing)\s+"
    r"(?:(?:want|need|like|buy|get|take|have|any|a|an|the|to|on|into|more|interested|in|do|really|too|so|"
    r"consider|of)\s+)*$|(?<![a-z])[a-z]*n't\s+(?:(?:want|need|like|buy|get|take|have|any|a|an|the|to|on|into|more|too|so)\s+)*$")
_ZH_NEGATION = re.compile(r"(?:不要|不想|不需要|不用|不必|不买|不考虑|不是|不做|不碰|别|非|除了|拒绝|无需)"
                          r"(?:要|买|做|是|碰|考虑|选|去|投|存|借|办|太|那么|任何|什么|的|\s)*$")

# Chinese also negates after the thing: "保险就算了", "对美元产品不太感兴趣", "房贷已经还完了" (already paid off).
_ZH_NEGATION_AFTER = re.compile(r"[^,;!?，。；！？、\x00]{0,6}?(?:就?算了|不(?:太|是很)?感兴趣|不考虑"
                                r"|就?不(?:需要|用)了|不要了|免了|没(?:有)?兴趣|已经?(?:还完|还清|有了|买了))")
_DEPOSIT_COMPARISON_RE = re.compile(
    r"(?<![a-z])(?:(?:better|higher|more|greater|bigger)\s+(?:[a-z]+\s+){0,2}?than|beats?|beating|outperforms?"
    r"|above)\s+(?:(?:a|an|the|my|bank|normal|ordinary|regular|usual)\s+)*(?:(?:savings?|time|fixed|term|bank)\s+)?"
    r"(?:deposits?|savings? accounts?|cds?)(?![a-z])(?:\s+(?:rates?|interest|accounts?)(?![a-z]))?"
    r"|(?:收益|利息|回报|利率)?(?:要|能|会)?(?:比|较)(?:银行)?的?(?:存款|定期|储蓄|存银行)的?(?:收益|利息|利率|回报)?"
    r"(?:要|还|更)?(?:高|多|好|强)|(?:收益|利息|回报|利率)?(?:要|能)?(?:高于|超过|跑赢|胜过|强于|好于)(?:银行)?的?"
    r"(?:存款|定期|储蓄)的?(?:收益|利息|利率)?")
_DEPOSIT_WORD = re.compile(r"deposit|saving|cds?(?![a-z])|存款|定期|储蓄|存银行")

_RISK_LEVEL_HINT = re.compile(r"r[1-5]")
_RISK_LEVEL_RE = re.compile(
    r"(?:(?P<at_least>at least|above|more than|higher than|min(?:imum)?|不低于|至少)\s*"
    r"|(?:(?:not|no) (?:more|higher) than|up to|at most|max(?:imum)?|below|under"
    r"|不超过|不高于|最高|最多)\s*)?"
    r"(?:风险(?:等级)?\s*)?(?<![a-z0-9])r(?P<level>[1-5])(?![0-9a-z])"
    r"(?P<post>\s*(?:or (?:above|higher|more)|\+|及以上|以上|or (?:below|lower|less)|及以下|以下|以内))?")


def _normalise(text: str) -> str:
    folded = text.translate(_NORMALISE)
    lowered = folded.lower()
    # A handful of characters lower-case to two ("İ"); keep those as they are rather than shift every offset.
    return lowered if len(lowered) == len(folded) else "".join(c if len(c.lower()) > 1 else c.lower() for c in folded)


class _Reading:
    """What one parse has found so far; `finish` turns it into Needs."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.text = _normalise(text)
        self.number_starts = [m.start() for m in _NUMBER_START_RE.finditer(self.text)]
        self.types: list[str] = []
        self.excluded: list[str] = []
        self.tags: list[str] = []
        self.max_risks: list[int] = []
        self.min_risks: list[int] = []
        self.terms: list[tuple[int | None, int | None]] = []
        self.amount: tuple[Decimal, str | None] | None = None
        self.amount_currency_evidence: Evidence | None = None
        self.currencies: list[str] = []
        self.liquidities: list[str] = []
        self.min_returns: list[Decimal] = []
        self.fallback_types: list[str] = []
        self.fallback_evidence: list[Evidence] = []
        self.evidence: list[Evidence] = []

    def mask(self, start: int, end: int) -> None:
        # \x00 is no letter, digit or CJK character: later passes see a gap, and offsets do not move.
        self.text = self.text[:start] + "\x00" * (end - start) + self.text[end:]

    def matches_at_numbers(self, regex: re.Pattern[str]) -> Iterator[re.Match[str]]:
        """`regex.finditer` over the text, tried only where a number may start: a few places, not every one."""
        end = 0
        for start in self.number_starts:
            if start >= end and (m := regex.match(self.text, start)):
                end = m.end()
                yield m

    def note(self, constraint: str, start: int, end: int, *, into: list[Evidence] | None = None) -> None:
        evidence = Evidence(constraint, self.original[start:end].strip())
        into = self.evidence if into is None else into
        if evidence not in into:
            into.append(evidence)

    def clause_before(self, start: int, width: int = 30) -> str:
        return _CLAUSE_BREAK.split(self.text[max(0, start - width):start])[-1]

    def negation(self, start: int, end: int) -> tuple[int, int] | None:
        """The phrase at start:end with its negation ("not a loan", "不要高风险", "保险就算了"), if it is negated."""
        before = self.clause_before(start)
        if m := _EN_NEGATION.search(before) or _ZH_NEGATION.search(before):
            return start - len(before) + m.start(), end
        if after := _ZH_NEGATION_AFTER.match(self.text, end):
            return start, after.end()
        return None

    def apply(self, effect: _Effect, start: int, end: int) -> None:
        for constraint, found, into in (("types", effect.types, self.types), ("tags", effect.tags, self.tags),
                                        ("excluded_types", effect.excluded_types, self.excluded)):
            if found:
                into.extend(v for v in found if v not in into)
                self.note(constraint, start, end)
        if effect.fallback_types:
            self.fallback_types.extend(t for t in effect.fallback_types if t not in self.fallback_types)
            self.note("types", start, end, into=self.fallback_evidence)
        self.collect("risk", effect.max_risk, self.max_risks, start, end)
        self.collect("risk", effect.min_risk, self.min_risks, start, end)
        self.collect("term", effect.term, self.terms, start, end)
        self.collect("liquidity", effect.liquidity, self.liquidities, start, end)
        self.collect("currency", effect.currency, self.currencies, start, end)

    def collect(self, constraint: str, value: _T | None, into: list[_T], start: int, end: int) -> None:
        """`value`, if the effect sets it, into its list, with the phrase at start:end as evidence."""
        if value is not None:
            into.append(value)
            self.note(constraint, start, end)

    def finish(self) -> Needs:
        excluded = tuple(self.excluded)
        types = tuple(t for t in self.types if t not in excluded)
        evidence = self.evidence
        if not self.types and self.fallback_types:
            types = tuple(t for t in self.fallback_types if t not in excluded)
            evidence = evidence + self.fallback_evidence
        max_risk = min(self.max_risks, default=None)
        min_risk = max(self.min_risks, default=None)
        if max_risk is not None and min_risk is not None and min_risk > max_risk:
            min_risk = None  # contradictory words: honour the cautious one
        low, high = self._term()
        min_return = max(self.min_returns, default=None)
        if types and set(types) <= _PRICED_AS_A_COST:
            min_return = None  # a loan's or card's "return" is the rate the customer pays
        currency = self.currencies[0] if self.currencies else None
        amount = None
        if self.amount is not None:
            amount, amount_currency = self.amount
            if currency is None:
                currency = amount_currency
            if currency == amount_currency and self.amount_currency_evidence is not None:
                evidence = [*evidence, self.amount_currency_evidence]
            elif amount_currency is not None and amount_currency != currency:
                # "a dollar deposit with ¥50,000": keep the amount in the currency the products are in.
                amount = amount / USD_CNY_REFERENCE if currency == "USD" else amount * USD_CNY_REFERENCE
            amount = amount.quantize(Decimal("0.01"))
        liquidity = min(self.liquidities, key=_LIQUIDITY_ORDER.index, default=None)
        needs = Needs(types=types, excluded_types=excluded, max_risk=max_risk, min_risk=min_risk,
                      term_months_min=low, term_months_max=high, amount=amount, currency=currency,
                      liquidity=liquidity, min_return=min_return, tags=tuple(self.tags),
                      language="zh" if has_cjk(self.original) else "en")
        # Keep only the phrases behind constraints that survived (an excluded type, a dropped return).
        present = {constraint for constraint, _ in _describe_lines(needs, zh=False)}
        return replace(needs, matched=tuple(e for e in evidence if e.constraint in present))

    def _term(self) -> tuple[int | None, int | None]:
        if not self.terms:
            return None, None
        # Several horizons narrow each other ("短期" and "6个月"); if they cannot agree, the first one stands.
        low = max((t[0] for t in self.terms if t[0] is not None), default=None)
        high = min((t[1] for t in self.terms if t[1] is not None), default=None)
        if low is not None and high is not None and low > high:
            return self.terms[0]
        return low, high


def _read_ages(reading: _Reading) -> None:
    for m in reading.matches_at_numbers(_AGE_RE):
        reading.mask(*m.span())


def _read_returns(reading: _Reading) -> None:
    for m in reading.matches_at_numbers(_PERCENT_RE):
        reading.mask(*m.span())
        if m["num"]:
            value = Decimal(m["num"])
        else:
            value = Decimal(_zh_int(m["zh"]))
            if m["zh_decimals"]:
                value += Decimal("0." + "".join(str(_ZH_DIGITS[c]) for c in m["zh_decimals"]))
        # A ceiling ("利率低于4%") is a cost the customer wants to stay under, not a return to reach.
        before = reading.clause_before(m.start())
        if m["post"] or _RETURN_CEILING_BEFORE.search(before) or _NOT_A_RETURN.search(before) or not 0 < value <= 30:
            continue
        reading.min_returns.append(value)
        reading.note("min_return", *m.span())


def _read_deposit_comparisons(reading: _Reading) -> None:
    # The long pattern is only tried around the word "deposit" (or 存款...), which most texts do not have.
    end = 0
    for word in _DEPOSIT_WORD.finditer(reading.text):
        m = _DEPOSIT_COMPARISON_RE.search(reading.text, max(end, word.start() - 40), word.end() + 12)
        if m is None:
            continue
        end = m.end()
        reading.mask(*m.span())
        reading.min_returns.append(DEPOSIT_REFERENCE_RATE)
        reading.note("min_return", *m.span())
        reading.apply(_Effect(excluded_types=(ProductType.DEPOSIT.value,), fallback_types=_BEYOND_DEPOSIT), *m.span())


def _read_amounts(reading: _Reading) -> None:
    for m in reading.matches_at_numbers(_AMOUNT_RE):
        number = m["low"] or m["num"]  # of a range ("5-10万"), what the customer surely has
        value = _number(number)
        start, end = m.span()
        marked = bool(m["pre"] or m["cur"] or m["mult"])
        in_words = not number[0].isdigit()
        bare_with_verb = (not in_words and value >= 100
                          and _MONEY_VERB_BEFORE.search(reading.clause_before(start, 12)) is not None)
        if not (marked or (in_words and value >= 1000) or bare_with_verb) or value <= 0:
            continue
        after = _PER_PERIOD_AFTER.match(reading.text, end)
        if after:
            end = after.end()
        reading.mask(start, end)
        if after or _NOT_THE_SUM_BEFORE.search(reading.clause_before(start)) or reading.amount is not None:
            continue
        value *= _MULTIPLIERS.get(m["mult"] or "", 1)
        marks = {m["pre"], m["cur"]} - {None}
        currency = "USD" if marks & _USD_MARKS else "CNY" if marks else None
        reading.amount = (value, currency)
        reading.note("amount", start, end)
        if currency:
            reading.amount_currency_evidence = Evidence("currency", reading.original[start:end].strip())


def _read_terms(reading: _Reading) -> None:
    for m in reading.matches_at_numbers(_TERM_RE):
        start, end = m.span()
        low: Decimal | None  # None: only one bound was said
        if m["a"]:  # "a year or two": the unit comes once
            low, high = _months(m["a"], m["a_unit"]), _months(m["b"], m["a_unit"])
        else:
            high = _months(m["num"], m["unit"]) + (6 if m["half"] and m["unit"].startswith(("y", "年")) else 0)
            low = _months(m["low"], m["low_unit"] or m["unit"]) if m["low"] else None
        if high <= 0 or high > _MAX_TERM_MONTHS or (low is not None and not 0 < low <= high):
            continue
        bounds: tuple[int | None, int | None]
        if low is not None:
            bounds = (int(low), math.ceil(high))
        else:
            before = reading.clause_before(start, 20)
            at_most = _TERM_AT_MOST_BEFORE.search(before), _TERM_AT_MOST_AFTER.match(reading.text, end)
            at_least = _TERM_AT_LEAST_BEFORE.search(before), _TERM_AT_LEAST_AFTER.match(reading.text, end)
            if any(at_most):
                bounds, (said_before, said_after) = (None, math.ceil(high)), at_most
            elif any(at_least):
                bounds, (said_before, said_after) = (int(high), None), at_least
            else:
                bounds, said_before, said_after = _about(high), None, None
            # The phrase shown back includes the qualifier: "一年以内", "at least 3 years".
            start -= len(said_before.group()) if said_before else 0
            end = said_after.end() if said_after else end
        reading.mask(start, end)
        reading.terms.append(bounds)
        reading.note("term", start, end)


def _read_risk_levels(reading: _Reading) -> None:
    if not _RISK_LEVEL_HINT.search(reading.text):
        return
    for m in _RISK_LEVEL_RE.finditer(reading.text):
        reading.mask(*m.span())
        level = int(m["level"])
        post = (m["post"] or "").strip()
        at_least = m["at_least"] or post in ("or above", "or higher", "or more", "+", "及以上", "以上")
        reading.apply(_Effect(min_risk=level) if at_least else _Effect(max_risk=level), *m.span())


def _read_cues(reading: _Reading) -> None:
    text, end = reading.text, 0
    for candidate in _CUE_START_RE.finditer(text):
        start = candidate.start()
        if start < end:
            continue  # inside the phrase just read
        regex, cues = _CUES_BY_FIRST_CHARACTER[text[start]]
        m = regex.match(text, start)
        if m is None:
            continue
        end = m.end()
        _, effect, negated = _CUES[cues[m.lastindex - 1]]  # type: ignore[operator]
        negation = reading.negation(start, end)
        if negation is not None:
            if negated is not None:
                reading.apply(negated, *negation)
        else:
            reading.apply(effect, start, end)


_PASSES = (_read_ages, _read_returns, _read_deposit_comparisons, _read_amounts, _read_terms, _read_risk_levels,
           _read_cues)


def parse_needs(text: str) -> Needs:
    """Read a customer's needs from English or Chinese text. Deterministic and rule-based.

    Blank text gives an empty Needs. Raises ValueError for text longer than MAX_NEEDS_LENGTH characters.
    """
    if len(text) > MAX_NEEDS_LENGTH:
        raise ValueError(f"needs text is {len(text)} characters long; at most {MAX_NEEDS_LENGTH} are accepted")
    if not text.strip():
        return Needs(language="zh" if has_cjk(text) else "en")
    reading = _Reading(text)
    for read in _PASSES:
        read(reading)
    return reading.finish()
