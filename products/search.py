"""Hybrid product search: vector kNN and full-text, fused with Reciprocal Rank Fusion.

Why both: embeddings find paraphrases ("trips abroad without currency conversion charges" -> the travel
card whose text says "no foreign-exchange fee"), full text finds exact names and codes the embedding
blurs ("QDII", a fund's name). RRF fuses the two rankings without calibrating their scores against each
other: score = sum over legs of 1 / (k + rank), k = 60 (Cormack et al., 2009).

Routing: a query with Chinese characters uses the multilingual embedding (`embedding_ml`) and the CJK
bigram index; any other query uses the configured text model (`embedding`) and the English index.

A blank query is an error (`SearchError`, code "blank_query"): there is nothing to rank by, and listing
the catalogue is the product list's job, not search's.

Understanding (`search_catalogue`, what the portal and the API call): the query's words are also read for the
constraints a customer means as filters -- "低风险理财" is wealth management at risk R2 or below, "USD deposit
for 3 years" a dollar deposit of about three years -- by the same bilingual parser as the recommendations'
needs (`products.needs`). Ranking by meaning alone put a private-equity product first for "低风险理财". The
constraints are applied in both legs, strictly (a term asked for is that term, where a recommendation also admits
products that can be left any day), and returned, so the page can say what it understood; features ("travel",
"ESG") are left to the ranking, since the legs already match them and a missing tag should not hide a
product. When no product meets the constraints, the words' best matches are returned instead and the result
says so: an empty page teaches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from pgvector.django import CosineDistance

from bank.embeddings import cjk_bigrams, embed_query, has_cjk, without_cjk
from bank.search import reciprocal_rank_fusion, set_hnsw_search
from products.models import Product, ProductType, RiskLevel
from products.needs import Needs, parse_needs

# Each leg contributes this many candidates (or the limit, if larger) to the fusion.
_CANDIDATES = 50


class SearchError(ValueError):
    """Invalid search input; `code` is machine-readable for the API's 400 response."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SearchHit:
    product: Product
    score: float  # the fused RRF score
    vector_score: float | None  # cosine similarity, when the vector leg returned the product
    text_score: float | None  # ts_rank_cd, when the full-text leg matched the product


@dataclass(frozen=True)
class CatalogueSearch:
    hits: list[SearchHit]
    understood: Needs  # the constraints read from the query (empty when none, or when not asked to read)
    applied: bool  # False when no product met them and `hits` are the words' best matches without them


def search_catalogue(
    *,
    query: str,
    types: list[str] | None = None,
    max_risk: int | None = None,
    active_only: bool = True,
    limit: int = 20,
    understand: bool = True,
) -> CatalogueSearch:
    """`search_products`, with the constraints the query's words state applied as filters (see the module's
    docstring); `understand=False` ranks by the words alone. Raises SearchError as `search_products` does."""
    understood = query_constraints(query) if understand else Needs()
    if understood.is_empty:
        hits = search_products(query=query, types=types, max_risk=max_risk, active_only=active_only, limit=limit)
        return CatalogueSearch(hits=hits, understood=understood, applied=False)
    hits = search_products(query=query, types=types, max_risk=max_risk, active_only=active_only, limit=limit,
                           needs=understood)
    if hits:
        return CatalogueSearch(hits=hits, understood=understood, applied=True)
    hits = search_products(query=query, types=types, max_risk=max_risk, active_only=active_only, limit=limit)
    return CatalogueSearch(hits=hits, understood=understood, applied=False)


def query_constraints(query: str) -> Needs:
    """The filters a search query states: its needs less the features (tags), which the ranking matches."""
    try:
        needs = parse_needs(query)
    except ValueError:  # longer than the needs parser reads: rank by the words alone
        return Needs()
    return needs.without_features()


def search_products(
    *,
    query: str,
    types: list[str] | None = None,
    max_risk: int | None = None,
    active_only: bool = True,
    limit: int = 20,
    needs: Needs | None = None,
) -> list[SearchHit]:
    """Products best matching `query`, best first, honouring the filters (and `needs`, as lookups on the
    product) in both legs.

    Raises SearchError (a ValueError) for a blank query, an unknown product type, a max_risk outside 1..5
    or a limit outside 1..100.
    """
    query = (query or "").strip()
    if not query:
        raise SearchError("The search query is empty.", code="blank_query")
    if types:
        unknown = sorted(set(types) - set(ProductType.values))
        if unknown:
            raise SearchError(
                f"Unknown product type(s) {', '.join(unknown)}; "
                f"expected any of {', '.join(ProductType.values)}.",
                code="invalid_type",
            )
    if max_risk is not None and max_risk not in RiskLevel.values:
        raise SearchError(
            f"max_risk must be an integer from 1 to 5, got {max_risk!r}.", code="invalid_max_risk"
        )
    if not 1 <= limit <= 100:
        raise SearchError(f"limit must be from 1 to 100, got {limit}.", code="invalid_limit")

    candidates = Product.objects.all()
    if types:
        candidates = candidates.filter(type__in=types)
    if max_risk is not None:
        candidates = candidates.filter(risk_level__lte=max_risk)
    if active_only:
        candidates = candidates.filter(is_active=True)
    if needs is not None and not needs.is_empty:
        # The strict lookups: a term asked for in a search means that term (`as_q` would also admit products
        # that can be left any day, which a recommendation wants; in search "3 year deposit" then showed demand
        # deposits among the first five).
        candidates = candidates.filter(**needs.as_filters())

    depth = max(limit, _CANDIDATES)
    chinese = has_cjk(query)
    vector_hits = _vector_leg(candidates, query=query, chinese=chinese, depth=depth)
    text_hits = _text_leg(candidates, query=query, chinese=chinese, depth=depth)

    fused = reciprocal_rank_fusion((vector_hits, text_hits))
    # Ties (same fused score) break on the vector score, then the id, so results are deterministic.
    order = sorted(fused, key=lambda pk: (-fused[pk], -(vector_hits.get(pk) or 0.0), pk))[:limit]
    products = Product.objects.in_bulk(order)
    return [
        SearchHit(
            product=products[pk],
            score=fused[pk],
            vector_score=vector_hits.get(pk),
            text_score=text_hits.get(pk),
        )
        for pk in order
    ]


def _vector_leg(candidates: QuerySet[Product], *, query: str, chinese: bool, depth: int) -> dict[int, float]:
    """pk -> cosine similarity, best first."""
    field = "embedding_ml" if chinese else "embedding"
    vector = embed_query(query, multilingual=chinese)
    rows = (
        candidates.filter(**{f"{field}__isnull": False})
        .annotate(distance=CosineDistance(field, vector))
        .order_by("distance")
        .values_list("pk", "distance")[:depth]
    )
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            # Filters on the candidates would starve a plain HNSW scan; this makes it iterative (relaxed order,
            # hence the re-sort below) and widens ef_search past the depth asked for.
            set_hnsw_search(cursor)
        fetched = list(rows)
    fetched.sort(key=lambda row: (row[1], row[0]))
    return {pk: 1.0 - float(distance) for pk, distance in fetched}


def _text_leg(candidates: QuerySet[Product], *, query: str, chinese: bool, depth: int) -> dict[int, float]:
    """pk -> ts_rank_cd, best first."""
    if chinese:
        # Any shared bigram matches (OR); documents sharing more bigrams, closer together, rank higher.
        # Bigrams are CJK characters only, so they need no quoting in to_tsquery. Latin words in a mixed
        # query ("QDII 基金") go through the English parser.
        grams = list(dict.fromkeys(cjk_bigrams(query)))
        latin = without_cjk(query)
        tsquery = "to_tsquery('simple', %s)"
        params: list[object] = [" | ".join(grams)]
        if latin:
            tsquery = f"({tsquery} || plainto_tsquery('english', %s))"
            params.append(latin)
        return _rank(candidates, tsquery=tsquery, params=params, depth=depth)
    # websearch syntax gives users quotes, OR and -exclusions; it ANDs plain words, which a long
    # natural-language query rarely satisfies, so when it matches nothing the query's words are ORed.
    hits = _rank(candidates, tsquery="websearch_to_tsquery('english', %s)", params=[query], depth=depth)
    if hits:
        return hits
    any_word = (
        "to_tsquery('simple', coalesce((SELECT string_agg(quote_literal(lexeme), ' | ') "
        "FROM unnest(tsvector_to_array(to_tsvector('english', %s))) AS lexeme), ''))"
    )
    return _rank(candidates, tsquery=any_word, params=[query], depth=depth)


def _rank(
    candidates: QuerySet[Product], *, tsquery: str, params: list[Any], depth: int
) -> dict[int, float]:
    ids_sql, ids_params = candidates.values("pk").query.sql_with_params()
    table = Product._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.id, ts_rank_cd(p.search_document, q.query) AS rank
            FROM {table} AS p, (SELECT {tsquery} AS query) AS q
            WHERE p.search_document @@ q.query AND p.id IN ({ids_sql})
            ORDER BY rank DESC, p.id
            LIMIT %s
            """,  # nosec B608  # table from the model, tsquery a fixed fragment, ids SQL compiled by Django; values bound
            [*params, *ids_params, depth],
        )
        return {pk: float(rank) for pk, rank in cursor.fetchall()}
