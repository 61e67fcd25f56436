"""Recommending products and recording what customers did with them. The one entry point for every path
(API, portal, batch, chat): the suitability gate is applied here, so no caller can skip it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from advisor.ml import scoring
from advisor.models import BlockedCandidate, Channel, Recommendation, RecommendationSet
from advisor.reasons import ReasonFacts, reasons_for
from advisor.suitability import CatalogueRules, CustomerFacts, SuitabilityGate, catalogue_rules
from bank import request_keys
from bank.models import ModelVersion
from customers.models import Customer, InteractionEvent, ProductInteraction, ProfileSnapshot
from products.models import Product
from products.needs import Needs, parse_needs

# A dismissed product stays out of the customer's recommendations this long: they said no.
DISMISS_QUIET_PERIOD = timedelta(days=30)
# MMR trade-off between relevance and novelty (Carbonell & Goldstein, 1998); 1.0 is pure relevance.
MMR_LAMBDA = 0.75
MAX_K = 50
SEARCH_FIELDS = ("search_document", "embedding", "embedding_ml")
# The lists a customer may be shown again: those they did not ask in words for, wherever they were made.
REUSABLE_CHANNELS = (Channel.PORTAL, Channel.API, Channel.BATCH)


class NoActiveRecommender(Exception):
    """No recommender model is active yet (train one: `python manage.py train_recommender`)."""


@dataclass(frozen=True)
class Ranked:
    index: int  # position in the catalogue arrays
    score: float


def current_recommendations(
    *, customer: Customer, k: int = 10, channel: str = Channel.API, query: str = ""
) -> RecommendationSet:
    """The customer's current list of `k`: the stored one while it still holds (`stored_set`), else a new one
    (`recommend_products`, stored). The portal and the API answer with it, so a customer, their app and a partner
    see one list, which does not reshuffle on every visit; a list made by the nightly batch is served the same way.
    With a `query` (a need in words) the list is always made anew. Raises as recommend_products does."""
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be from 1 to {MAX_K}, got {k}.")
    if query.strip():
        return recommend_products(customer=customer, k=k, channel=channel, query=query)
    rules = catalogue_rules()
    stored = stored_set(customer=customer, k=k, rules=rules)
    if stored is not None:
        return stored
    return recommend_products(customer=customer, k=k, channel=channel, rules=rules)


def stored_set(
    *, customer: Customer, k: int, rules: CatalogueRules | None = None, now: datetime | None = None
) -> RecommendationSet | None:
    """The customer's latest list without a need in words, if it may be shown again now, with its first `k` items
    handed over (products attached); None when a new list is due.

    It may while all of these hold: it was made by the active recommender within RECOMMENDATIONS_FRESH_HOURS; it has
    at least `k` items; the customer did nothing with a product since (a click, a dismissal, a purchase: only being
    shown it does not count); the catalogue is the one it was made from (`rules`: the catalogue rules as the
    caller just read them; their version is stored with every list); and every item still passes the suitability
    gate with the customer's facts and the catalogue of now -- a lowered risk tolerance or a product bought
    elsewhere meanwhile ends it. Three small queries (with `rules`); nothing is written.
    """
    hours = settings.RECOMMENDATIONS_FRESH_HOURS
    if hours <= 0:
        return None
    now = now or timezone.now()
    acted = ProductInteraction.objects.filter(
        customer_id=OuterRef("customer_id"), timestamp__gt=OuterRef("created_at")
    ).exclude(event=InteractionEvent.IMPRESSION)
    latest = (
        RecommendationSet.objects.filter(
            customer=customer, query="", channel__in=REUSABLE_CHANNELS, created_at__gte=now - timedelta(hours=hours),
            model_version__name=scoring.MODEL_NAME, model_version__status=ModelVersion.Status.ACTIVE,
        )
        .select_related("model_version")
        .annotate(acted=Exists(acted))
        .order_by("-created_at")
        .first()
    )
    if latest is None or latest.acted:
        return None
    rules = rules or catalogue_rules()
    if latest.context.get("catalogue") != _catalogue_mark(rules):
        return None
    # The items without what showing them does not read (the staff view's contributions, the products' search
    # columns: parsing two 384-d vectors per product cost more than the rest of the read).
    items = list(
        latest.items.select_related("product").defer("contributions", *(f"product__{f}" for f in SEARCH_FIELDS))
        .order_by("rank")[:k]
    )
    if len(items) < k:
        return None
    gate = SuitabilityGate(CustomerFacts.of(customer), rules)
    if not all(gate.allows(item.product_id) for item in items):
        return None
    latest.customer = customer
    _hand_over_items(latest, items)
    return latest


def recommend_products(
    *,
    customer: Customer,
    k: int = 10,
    channel: str = Channel.API,
    query: str = "",
    rules: CatalogueRules | None = None,
) -> RecommendationSet:
    """Rank the catalogue for `customer`, keep only what the suitability gate allows, store and return the set.

    Guarantees: every stored item passed the gate for this customer at this moment; every candidate the model
    would have shown but the gate refused is stored as a BlockedCandidate with its reasons; every row records
    the model version. Raises ValueError for a bad `k` or an unreadable `query` (the callers' 400), and
    NoActiveRecommender when no model is active. `rules`: the catalogue rules as the caller just read them
    (`catalogue_rules()`), else read here.
    """
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be from 1 to {MAX_K}, got {k}.")
    needs = parse_needs(query) if query.strip() else None
    now = timezone.now()

    rules = rules or catalogue_rules()
    gate = SuitabilityGate(CustomerFacts.of(customer), rules)
    scored = scoring.score_customer(customer=customer, catalogue_ids=rules.ids, catalogue_stamp=rules.stamp)
    if scored is None:
        raise NoActiveRecommender("No recommender model is active.")
    scores = scored.scores

    wanted = np.ones(len(rules.ids), dtype=bool)
    if needs is not None and not needs.is_empty:
        wanted = _matching(needs, rules.ids)
        if needs.tags and not (wanted & gate.allowed()).any():
            # Features ("travel", "capital-protected") are how products are tagged, which customers cannot
            # know; when they rule out everything suitable, the harder constraints (type, risk, term, amount)
            # still stand and the features are dropped, which the stored needs then show.
            needs = needs.without_features()
            wanted = _matching(needs, rules.ids)
    for product_id in scored.dismissed_since(now - DISMISS_QUIET_PERIOD):
        i = rules.index.get(product_id)
        if i is not None:
            wanted[i] = False

    allowed = gate.allowed() & wanted
    chosen = _diversify(scores=scores, allowed=allowed, vectors_at=scored.vectors_at, k=k)
    blocked = _blocked_above_cutoff(scores=scores, gate_allowed=gate.allowed(), wanted=wanted, chosen=chosen, k=k)

    # The items' products, for the reasons and the answer: everything but the search columns (two 384-d
    # vectors and a tsvector per product, which nothing downstream reads and which cost more to parse).
    products = Product.objects.defer(*SEARCH_FIELDS).in_bulk([int(rules.ids[r.index]) for r in chosen + blocked])
    facts = _reason_facts(customer)
    scored.explanations([ranked.index for ranked in chosen])  # one call into the ranker for the whole list
    with transaction.atomic():
        recommendation_set = RecommendationSet.objects.create(
            customer=customer, model_version=scored.model_version, channel=channel, query=query.strip(),
            needs=needs.to_json() if needs is not None else {},
            context={**scored.context, "catalogue": _catalogue_mark(rules)},
            candidates_considered=int(wanted.sum()), candidates_blocked=len(blocked),
        )
        items = []
        for rank, ranked in enumerate(chosen, start=1):
            product = products[int(rules.ids[ranked.index])]
            driver, contributions = scored.explain(ranked.index)
            reasons = reasons_for(product=product, driver=driver, facts=facts, needs=needs)
            items.append(Recommendation(
                recommendation_set=recommendation_set, customer=customer, product=product,
                model_version=scored.model_version, rank=rank, score=round(ranked.score, 6), driver=driver,
                reasons_en=reasons.en, reasons_zh=reasons.zh, contributions=contributions,
            ))
        Recommendation.objects.bulk_create(items)
        BlockedCandidate.objects.bulk_create(
            BlockedCandidate(
                recommendation_set=recommendation_set, customer=customer,
                product=products[int(rules.ids[ranked.index])], model_version=scored.model_version,
                score=round(ranked.score, 6), reasons=gate.reasons(ranked.index), detail=gate.detail(ranked.index),
            )
            for ranked in blocked
        )
    _hand_over_items(recommendation_set, items)
    return recommendation_set


def _catalogue_mark(rules: CatalogueRules) -> list[Any] | None:
    """The catalogue a list was made from, as stored in its context: (version, when it changed) of the rules."""
    if rules.stamp is None:
        return None
    version, changed = rules.stamp
    return [version, changed.isoformat() if isinstance(changed, datetime) else None]


def _hand_over_items(recommendation_set: RecommendationSet, items: list[Recommendation]) -> None:
    """Make `recommendation_set.items.all()` the items just stored (rank order, products attached) without a
    query, as `prefetch_related` leaves it: callers show the list at once. Filtering or re-ordering it still
    queries."""
    prefetched = recommendation_set.items.all()
    prefetched._result_cache = items
    prefetched._prefetch_done = True  # type: ignore[attr-defined]  # private QuerySet state, not in django-stubs
    # Django's per-instance prefetch cache (set by prefetch_related_objects), not in django-stubs either.
    recommendation_set._prefetched_objects_cache = {"items": prefetched}  # type: ignore[attr-defined]


def _matching(needs: Needs, ids: np.ndarray) -> np.ndarray:
    matching = list(Product.objects.filter(needs.as_q()).values_list("id", flat=True))
    return np.isin(ids, matching)


def _diversify(
    *,
    scores: np.ndarray,
    allowed: np.ndarray,
    vectors_at: Callable[[np.ndarray], np.ndarray] | None,
    k: int,
) -> list[Ranked]:
    """Maximal marginal relevance over the product embeddings among the best allowed candidates
    (`vectors_at(positions)`: their unit vectors).

    Scores are rescaled to [0, 1] within the candidate pool so that λ trades relevance against similarity on
    comparable scales. Without vectors the order is by score alone.
    """
    pool = _best(np.flatnonzero(allowed), scores, max(4 * k, 40))
    if pool.size == 0:
        return []
    if vectors_at is None or pool.size <= 1:
        return [Ranked(int(i), float(scores[i])) for i in pool[:k]]
    relevance = scores[pool]
    span = float(relevance.max() - relevance.min()) or 1.0
    relevance = (relevance - relevance.min()) / span
    pool_vectors = vectors_at(pool)
    similarity = pool_vectors @ pool_vectors.T
    picked: list[int] = [0]
    max_similarity = similarity[0].copy()
    while len(picked) < min(k, pool.size):
        mmr = MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * max_similarity
        mmr[picked] = -np.inf
        best = int(np.argmax(mmr))
        picked.append(best)
        max_similarity = np.maximum(max_similarity, similarity[best])
    return [Ranked(int(pool[j]), float(scores[pool[j]])) for j in picked]


def _best(positions: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """The `n` positions (ascending) with the highest scores, best first, ties in position order: exactly
    `positions[np.argsort(-scores[positions], kind="stable")][:n]`, without sorting the whole catalogue --
    only the candidates at or above the n-th best score are sorted."""
    values = scores[positions]
    if positions.size > n and not np.isnan(values).any():
        nth_best = np.partition(values, positions.size - n)[positions.size - n]
        keep = values >= nth_best
        positions, values = positions[keep], values[keep]
    return positions[np.argsort(-values, kind="stable")][:n]


def _blocked_above_cutoff(
    *, scores: np.ndarray, gate_allowed: np.ndarray, wanted: np.ndarray, chosen: list[Ranked], k: int
) -> list[Ranked]:
    """The candidates the gate refused that scored at least as high as the last one shown (at most k).

    These are the refusals that changed what the customer saw; logging every unsuitable product in the
    catalogue on every request would bury them.
    """
    refused = np.flatnonzero(wanted & ~gate_allowed)
    if refused.size == 0:
        return []
    cutoff = min((r.score for r in chosen), default=-np.inf)
    refused = refused[scores[refused] >= cutoff]
    refused = refused[np.argsort(-scores[refused], kind="stable")][:k]
    return [Ranked(int(i), float(scores[i])) for i in refused]


def _reason_facts(customer: Customer) -> ReasonFacts:
    profile = ProfileSnapshot.objects.filter(customer=customer).order_by("-as_of").only("spend_mix").first()
    spend_mix: dict[str, float] = profile.spend_mix if profile is not None else {}
    top = max(spend_mix.items(), key=lambda kv: kv[1])[0] if spend_mix else ""
    return ReasonFacts(risk_tolerance=customer.risk_tolerance, life_stage=customer.life_stage, top_spend_category=top)


# --- feedback -----------------------------------------------------------------------------------------------

FEEDBACK_EVENTS = (
    InteractionEvent.IMPRESSION, InteractionEvent.CLICK, InteractionEvent.DISMISS, InteractionEvent.PURCHASE,
)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


@dataclass(frozen=True)
class FeedbackResult:
    interaction: ProductInteraction
    created: bool  # False when an identical earlier request (same key, same body) is replayed


def record_feedback(
    *,
    customer: Customer,
    product: Product,
    event: str,
    channel: str,
    recommendation_set: RecommendationSet | None = None,
    idempotency_key: str = "",
) -> FeedbackResult:
    """Record that `customer` saw, clicked, dismissed or bought `product`.

    With an `idempotency_key`, the same key and the same body return the first result and write nothing;
    the same key with a different body raises IdempotencyConflict. The key is scoped to the customer, so two
    callers cannot collide. The customer's next recommendations reflect the event at once (the scorer folds
    the current history in; a dismissal keeps the product out for DISMISS_QUIET_PERIOD).
    """
    if event not in FEEDBACK_EVENTS:
        raise ValueError(f"Unknown event {event!r}; expected one of {', '.join(FEEDBACK_EVENTS)}.")
    if recommendation_set is not None and recommendation_set.customer_id != customer.pk:
        raise ValueError("That recommendation was made for another customer.")
    body = {"product": product.pk, "event": event, "set": recommendation_set.pk if recommendation_set else None}
    stored_key = request_keys.stored_key(scope=str(customer.pk), key=idempotency_key, body=body) \
        if idempotency_key else None
    if stored_key is not None:
        replay = _replay(stored_key)
        if replay is not None:
            return replay
    try:
        with transaction.atomic():
            interaction = ProductInteraction.objects.create(
                customer=customer, product=product, event=event, timestamp=timezone.now(), channel=channel,
                model_version_id=recommendation_set.model_version_id if recommendation_set else None,
                idempotency_key=stored_key,
            )
    except IntegrityError:
        # A concurrent request with the same key won the race; answer as it did.
        replay = _replay(stored_key) if stored_key else None
        if replay is None:
            raise
        return replay
    return FeedbackResult(interaction=interaction, created=True)


def _replay(stored_key: str) -> FeedbackResult | None:
    earlier = ProductInteraction.objects.filter(idempotency_key__startswith=request_keys.same_key(stored_key)).first()
    if earlier is None:
        return None
    if earlier.idempotency_key != stored_key:
        raise IdempotencyConflict("This Idempotency-Key was already used with a different request.")
    return FeedbackResult(interaction=earlier, created=False)


def record_impressions(*, recommendation_set: RecommendationSet, channel: str) -> None:
    """Record that the items of `recommendation_set` were shown: once per set and product, however often the
    page is reloaded (the key makes a repeat a no-op)."""
    now = timezone.now()
    rows = [
        ProductInteraction(
            customer_id=item.customer_id, product_id=item.product_id, event=InteractionEvent.IMPRESSION,
            timestamp=now, channel=channel, model_version_id=item.model_version_id,
            idempotency_key=f"impression:{recommendation_set.public_id}:{item.product_id}",
        )
        for item in recommendation_set.items.all()
    ]
    ProductInteraction.objects.bulk_create(rows, ignore_conflicts=True)
