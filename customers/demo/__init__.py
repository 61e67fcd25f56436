"""The demo bank: a generated catalogue and population with a known latent truth (see customers.demo.truth).

Entry point: `customers.demo.generator.seed_demo_bank` (CLI: `manage.py seed_demo`).
"""

from __future__ import annotations

SHOWCASE_CUSTOMER_REF = "C00000001"


def demo_customer_refs() -> dict[str, str]:
    """External refs of the customers worth showing. The showcase is customer 1: a well-off young professional
    in Shanghai (R5, KYC verified, consents given) who travels and eats out, with a travel card, a deposit,
    cash management, funds and travel cover. Their login username is the ref in lower case."""
    return {"showcase": SHOWCASE_CUSTOMER_REF}
