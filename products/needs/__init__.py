"""A customer's needs, typed in plain English or Chinese, read into constraints on the product catalogue.

"I want a low-risk product for about a year with better yield than a deposit" becomes: risk at most R2, a
term of 9-15 months, wealth/bond/fund rather than a deposit, a return above the deposit rate. The
recommendation service filters by these constraints and shows them back, each with the phrase it came
from, so the customer can see (and correct) what we understood.

Rule-based on purpose: this runs on every request, must answer in well under a millisecond, and has to be
explainable phrase by phrase. Nothing here is a model.

The package: `model` (Needs, Evidence and how they are described and turned into Product lookups), `parsing`
(`parse_needs` and its passes), `numbers` (numerals, and how ages, percentages, amounts and terms are
written) and `lexicon` (the bilingual words for types, features, risk, liquidity and currency).
"""

from products.needs.model import CONSTRAINTS, USD_CNY_REFERENCE, Evidence, Language, Needs
from products.needs.parsing import DEPOSIT_REFERENCE_RATE, MAX_NEEDS_LENGTH, parse_needs

__all__ = [
    "CONSTRAINTS",
    "DEPOSIT_REFERENCE_RATE",
    "MAX_NEEDS_LENGTH",
    "USD_CNY_REFERENCE",
    "Evidence",
    "Language",
    "Needs",
    "parse_needs",
]
