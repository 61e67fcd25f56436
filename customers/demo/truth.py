"""The latent truth behind the demo bank, kept outside the database so recommendations can be scored on it.

Each demo customer has hidden preferences (affinity per product type, a true risk appetite, a need for
liquidity, a spending persona). The generator draws holdings and the impression → click → purchase funnel from
`true_utility`, and writes the preferences to VAR_DIR/demo/latent_preferences.csv (one row per customer,
keyed by external_ref). An evaluation loads that file with `load_latent_preferences` and calls `true_utility`
with the catalogue (Product rows or the catalogue specs: the same attribute names) to get the ground truth.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

PRODUCT_TYPES = ["deposit", "wealth", "fund", "bond", "credit_card", "loan", "insurance"]
SPEND_CATEGORIES = [
    "groceries",
    "dining",
    "travel",
    "transport",
    "shopping",
    "health",
    "education",
    "entertainment",
]
PERSONAS = ["saver", "traveller", "foodie", "family", "shopper", "homebody"]
# Tags a persona or life stage is drawn to (added to the utility of products carrying them).
PERSONA_TAGS = {
    "saver": {"capital-protected": 0.8, "regular-saving": 0.8, "cash-back": 0.4},
    "traveller": {"travel": 1.6, "no-fx-fee": 1.2, "usd": 0.6, "lounge": 0.6, "miles": 0.8, "global": 0.4},
    "foodie": {"dining": 1.6, "lifestyle": 0.8, "points": 0.3},
    "family": {"family": 1.2, "education": 1.2, "home": 0.8, "protection": 0.5},
    "shopper": {"shopping": 1.4, "cash-back": 1.0, "instalments": 0.8, "online": 0.4},
    "homebody": {"home": 0.6, "cash-back": 0.4, "medical": 0.3},
}
STAGE_TAGS = {
    "student": {"student": 2.0, "starter": 1.0, "young": 0.6},
    "young_professional": {"young": 1.0, "online": 0.4, "car": 0.3},
    "young_family": {"family": 0.8, "mortgage": 0.8, "education": 0.5, "life": 0.6},
    "established": {"education": 0.4, "wealth": 0.2, "premium": 0.4},
    "pre_retirement": {"pension": 1.0, "retirement": 1.0, "annuity": 0.6},
    "retired": {"senior": 1.4, "retirement": 1.0, "income": 0.8, "monthly-income": 0.8},
}
_ILLIQUIDITY = {"daily": 0.0, "weekly": 0.15, "monthly": 0.35, "at_maturity": 0.5, "n/a": 0.0}


@dataclass
class LatentPreferences:
    """Hidden preferences of a set of customers, as parallel arrays (row i is customer external_refs[i])."""

    external_refs: np.ndarray  # str
    life_stage: np.ndarray  # str
    persona: np.ndarray  # str
    risk_tolerance: np.ndarray  # int, as assessed and stored on the customer
    risk_appetite: np.ndarray  # float, the true appetite (may differ from the assessment)
    liquidity_need: np.ndarray  # float in [0, 1]
    liquid_wealth: np.ndarray  # float, CNY the customer could invest
    type_affinity: np.ndarray  # (n, len(PRODUCT_TYPES)), rows sum to 1
    spend_mix: np.ndarray  # (n, len(SPEND_CATEGORIES)), rows sum to 1
    legacy_unsuitable: (
        np.ndarray
    )  # bool: may hold products above their tolerance (sold before a re-assessment)

    def __len__(self) -> int:
        return len(self.external_refs)


@dataclass(frozen=True)
class ProductMatrix:
    codes: list[str]
    type_index: np.ndarray
    risk_level: np.ndarray
    illiquidity: np.ndarray
    min_amount: np.ndarray
    tags: list[set[str]]


def product_matrix(products: list[Any]) -> ProductMatrix:
    """Features of catalogue rows; accepts products.Product instances or catalogue ProductSpec objects."""
    illiquidity = []
    for p in products:
        base = _ILLIQUIDITY[str(p.liquidity)]
        if str(p.liquidity) == "at_maturity" and p.term_months:
            base += min(0.5, p.term_months / 120)
        illiquidity.append(base)
    return ProductMatrix(
        codes=[p.code for p in products],
        type_index=np.array([PRODUCT_TYPES.index(str(p.type)) for p in products]),
        risk_level=np.array([int(p.risk_level) for p in products]),
        illiquidity=np.array(illiquidity),
        min_amount=np.array([float(p.min_amount) for p in products]),
        tags=[set(p.tags) for p in products],
    )


def true_utility(latent: LatentPreferences, products: ProductMatrix) -> np.ndarray:
    """How much each customer would value each product, (customers × products); higher is better.

    Eligibility and suitability are deliberately not in here: the truth is what the customer wants; whether
    the bank may sell it is the advisor's question (and the generator's, when it draws holdings).
    """
    affinity = np.log(np.maximum(latent.type_affinity[:, products.type_index], 1e-4))
    over = np.maximum(0.0, products.risk_level[None, :] - latent.risk_appetite[:, None])
    under = np.maximum(0.0, latent.risk_appetite[:, None] - products.risk_level[None, :])
    risk_fit = -0.7 * over**2 - 0.2 * under
    liquidity_fit = -1.5 * latent.liquidity_need[:, None] * products.illiquidity[None, :]
    # Products with a minimum the customer cannot afford are of little use to them.
    unaffordable = products.min_amount[None, :] > 0.6 * latent.liquid_wealth[:, None]
    tag_fit = np.zeros_like(affinity)
    for group, lookup in ((latent.persona, PERSONA_TAGS), (latent.life_stage, STAGE_TAGS)):
        for name, weights in lookup.items():
            rows = group == name
            if not rows.any():
                continue
            bonus = np.array([sum(w for tag, w in weights.items() if tag in tags) for tags in products.tags])
            tag_fit[rows] += bonus[None, :]
    return affinity + risk_fit + liquidity_fit + tag_fit - 2.0 * unaffordable


def latent_preferences_path() -> Path:
    return Path(settings.VAR_DIR) / "demo" / "latent_preferences.csv"


def latent_header() -> list[str]:
    return (
        [
            "external_ref",
            "life_stage",
            "persona",
            "risk_tolerance",
            "risk_appetite",
            "liquidity_need",
            "liquid_wealth",
            "legacy_unsuitable",
        ]
        + [f"affinity_{t}" for t in PRODUCT_TYPES]
        + [f"spend_{c}" for c in SPEND_CATEGORIES]
    )


def latent_rows(latent: LatentPreferences) -> list[list[str]]:
    rows = []
    for i in range(len(latent)):
        rows.append(
            [
                str(latent.external_refs[i]),
                str(latent.life_stage[i]),
                str(latent.persona[i]),
                str(int(latent.risk_tolerance[i])),
                f"{latent.risk_appetite[i]:.4f}",
                f"{latent.liquidity_need[i]:.4f}",
                f"{latent.liquid_wealth[i]:.2f}",
                "1" if latent.legacy_unsuitable[i] else "0",
            ]
            + [f"{v:.5f}" for v in latent.type_affinity[i]]
            + [f"{v:.5f}" for v in latent.spend_mix[i]]
        )
    return rows


def load_latent_preferences(path: Path | None = None) -> LatentPreferences:
    """Read the file the last `seed_demo` wrote. Raises FileNotFoundError when no demo bank was seeded."""
    path = path or latent_preferences_path()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    cols = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    return LatentPreferences(
        external_refs=np.array(cols["external_ref"]),
        life_stage=np.array(cols["life_stage"]),
        persona=np.array(cols["persona"]),
        risk_tolerance=np.array(cols["risk_tolerance"], dtype=int),
        risk_appetite=np.array(cols["risk_appetite"], dtype=float),
        liquidity_need=np.array(cols["liquidity_need"], dtype=float),
        liquid_wealth=np.array(cols["liquid_wealth"], dtype=float),
        type_affinity=np.array([cols[f"affinity_{t}"] for t in PRODUCT_TYPES], dtype=float).T.reshape(-1, 7),
        spend_mix=np.array([cols[f"spend_{c}"] for c in SPEND_CATEGORIES], dtype=float).T.reshape(-1, 8),
        legacy_unsuitable=np.array(cols["legacy_unsuitable"]) == "1",
    )
