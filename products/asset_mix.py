"""What each kind of catalogue product invests in, read from its type, code and tags.

Staff can edit any product's mix in the admin; these rules give a new or imported product its first mix (and
filled the existing catalogue when the field was added). The shares follow how such products are sold in China:
a money-market fund is cash, a "fixed income +" wealth product holds up to a fifth in equities, a target-date
fund's equity share falls as its year approaches.
"""

from __future__ import annotations

from collections.abc import Iterable

from products.models import AssetClass, ProductType

CASH, GOV, CORP = AssetClass.CASH.value, AssetClass.GOV_BOND.value, AssetClass.CORP_BOND.value
DOM, GLOBAL, GOLD = AssetClass.DOM_EQUITY.value, AssetClass.GLOBAL_EQUITY.value, AssetClass.GOLD.value

# Checked in order: the first rule whose tags are all present (and whose code prefix matches, if given) wins.
_FUND_RULES: tuple[tuple[str, frozenset[str], dict[str, float]], ...] = (
    ("FND-GOLD", frozenset(), {GOLD: 1.0}),
    ("", frozenset({"money-market"}), {CASH: 1.0}),
    ("", frozenset({"convertible"}), {CORP: 0.6, DOM: 0.4}),
    ("", frozenset({"short-duration"}), {GOV: 0.6, CORP: 0.4}),
    ("FND-BOND-02", frozenset(), {GOV: 1.0}),
    ("FND-BOND-03", frozenset(), {CORP: 1.0}),
    ("", frozenset({"bond", "global"}), {CORP: 1.0}),
    ("", frozenset({"bond"}), {GOV: 0.5, CORP: 0.5}),
    ("FND-BAL-CONS", frozenset(), {GOV: 0.3, CORP: 0.4, DOM: 0.3}),
    ("FND-BAL-MOD", frozenset(), {GOV: 0.2, CORP: 0.3, DOM: 0.5}),
    ("FND-BAL-FLEX", frozenset(), {CORP: 0.3, DOM: 0.7}),
    ("FND-TDF-2035", frozenset(), {GOV: 0.3, CORP: 0.3, DOM: 0.25, GLOBAL: 0.15}),
    ("FND-TDF-2045", frozenset(), {GOV: 0.2, CORP: 0.2, DOM: 0.35, GLOBAL: 0.25}),
    ("FND-TDF-2055", frozenset(), {GOV: 0.1, CORP: 0.15, DOM: 0.45, GLOBAL: 0.3}),
    ("", frozenset({"equity", "global"}), {GLOBAL: 1.0}),
    ("", frozenset({"equity", "qdii"}), {GLOBAL: 1.0}),
    ("", frozenset({"equity"}), {DOM: 1.0}),
)
_WEALTH_RULES: tuple[tuple[str, frozenset[str], dict[str, float]], ...] = (
    ("", frozenset({"cash-management"}), {CASH: 1.0}),
    ("", frozenset({"fixed-income-plus"}), {GOV: 0.2, CORP: 0.6, DOM: 0.2}),
    ("", frozenset({"fixed-income"}), {CASH: 0.2, GOV: 0.2, CORP: 0.6}),
    ("", frozenset({"mixed"}), {CASH: 0.1, CORP: 0.5, DOM: 0.4}),
    ("", frozenset({"esg"}), {CORP: 0.6, DOM: 0.4}),
    ("", frozenset({"pension"}), {GOV: 0.3, CORP: 0.5, DOM: 0.2}),
    ("", frozenset({"equity"}), {DOM: 1.0}),
)
_GOVERNMENT_TAGS = frozenset({"government", "local-government", "policy-bank", "savings-bond"})


def default_asset_mix(*, type: str, code: str, tags: Iterable[str]) -> dict[str, float]:  # noqa: A002 -- the field
    """The asset mix the rules give a product; {} for products that are not investments (cards, loans, cover)."""
    tag_set = frozenset(tags)
    if type == ProductType.DEPOSIT:
        return {CASH: 1.0}
    if type == ProductType.BOND:
        return {GOV: 1.0} if tag_set & _GOVERNMENT_TAGS else {CORP: 1.0}
    rules = _FUND_RULES if type == ProductType.FUND else _WEALTH_RULES if type == ProductType.WEALTH else ()
    for prefix, needed, mix in rules:
        if (not prefix or code.startswith(prefix)) and needed <= tag_set:
            return dict(mix)
    return {}
