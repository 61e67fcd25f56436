"""The knowledge base: articles in, passages indexed, passages retrieved for a question.

Articles are split into passages (paragraphs, short ones merged, each prefixed with the article's title so a
passage read alone still says what it is about). English passages get the configured text model's vector
and an English full-text document; Chinese passages the multilingual model's vector and CJK bigrams.
Retrieval is hybrid like product search (vector kNN + full text, fused by RRF), in the question's language,
with a third leg for articles tagged with the intent the classifier read: three rankings, one fusion.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from pgvector.django import CosineDistance

from bank.embeddings import cjk_bigrams, embedder, has_cjk, without_cjk
from bank.search import reciprocal_rank_fusion, set_hnsw_search
from chat.models import KnowledgeArticle, KnowledgePassage, Language

SEED_FILE = Path(__file__).resolve().parent / "data" / "knowledge_base.json"
_MIN_PASSAGE = 160  # characters: shorter paragraphs join the next one
_MAX_PASSAGE = 900
_DEPTH = 30


def seed_knowledge_base(*, path: Path = SEED_FILE, update: bool = False) -> tuple[int, int]:
    """Create the articles of `path` that are missing (by slug); with `update`, overwrite existing ones too
    (staff edits are kept otherwise). Returns (created, updated). One transaction: all or nothing."""
    articles = json.loads(path.read_text(encoding="utf-8"))
    fields = ("title_en", "title_zh", "body_en", "body_zh", "intents", "tags")
    created = updated = 0
    with transaction.atomic():
        existing = {a.slug: a for a in KnowledgeArticle.objects.select_for_update()}
        for row in articles:
            values = {name: row.get(name) or ([] if name in ("intents", "tags") else "") for name in fields}
            article = existing.get(row["slug"])
            if article is None:
                KnowledgeArticle.objects.create(slug=row["slug"], **values)
                created += 1
            elif update and any(getattr(article, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(article, name, value)
                article.save()
                updated += 1
    return created, updated


def split_passages(title: str, body: str) -> list[str]:
    """The body's paragraphs, short ones merged with the next, long ones cut at sentence ends; each starts
    with the title."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n(?=\d+\.\s)", body) if p.strip()]
    merged: list[str] = []
    current = ""
    for paragraph in paragraphs:
        current = f"{current}\n{paragraph}".strip() if current else paragraph
        if len(current) >= _MIN_PASSAGE:
            merged.extend(_cut(current))
            current = ""
    if current:
        if merged and len(merged[-1]) + len(current) <= _MAX_PASSAGE:
            merged[-1] = f"{merged[-1]}\n{current}"
        else:
            merged.append(current)
    return [f"{title}. {text}" if not title.endswith((".", "。", "?", "？")) else f"{title} {text}"
            for text in merged] or [title]


def _cut(text: str) -> list[str]:
    if len(text) <= _MAX_PASSAGE:
        return [text]
    sentences = re.split(r"(?<=[.!?。！？])\s*", text)
    parts, current = [], ""
    for sentence in sentences:
        if current and len(current) + len(sentence) > _MAX_PASSAGE:
            parts.append(current.strip())
            current = ""
        current += sentence + ("" if has_cjk(sentence) else " ")
    if current.strip():
        parts.append(current.strip())
    return parts


def _index_hash(article: KnowledgeArticle, text_sha: str, ml_sha: str) -> str:
    digest = hashlib.sha256()
    for part in (article.title_en, article.body_en, article.title_zh, article.body_zh, text_sha, ml_sha):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def index_articles(*, article_ids: list[int] | None = None, force: bool = False, progress: bool = False) -> int:
    """(Re)build the passages of articles whose text or embedding models changed; returns articles indexed.

    Idempotent: an article whose stored hash matches is skipped. Each article's passages are replaced in one
    transaction, so retrieval never sees half an article. Unpublished articles keep no passages.
    """
    english, chinese = embedder(), embedder(multilingual=True)
    english_version, chinese_version = english.model_version(), chinese.model_version()
    rows = KnowledgeArticle.objects.order_by("pk")
    if article_ids is not None:
        rows = rows.filter(pk__in=article_ids)
    articles = list(rows)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(articles), desc="Indexing knowledge base", unit="article")
    written = 0
    for article in articles:
        wanted = _index_hash(article, english_version.sha256, chinese_version.sha256) if article.is_published else ""
        if not force and article.indexed_hash == wanted:
            if bar is not None:
                bar.update(1)
            continue
        passages: list[KnowledgePassage] = []
        if article.is_published:
            en = split_passages(article.title_en, article.body_en)
            zh = split_passages(article.title_zh, article.body_zh)
            # Models run outside the transaction: no lock is held while they compute.
            en_vectors, zh_vectors = english.embed_documents(en), chinese.embed_documents(zh)
            for language, texts, vectors, version in ((Language.EN, en, en_vectors, english_version),
                                                      (Language.ZH, zh, zh_vectors, chinese_version)):
                passages.extend(
                    KnowledgePassage(article=article, language=language, position=i, text=text, embedding=vector,
                                     embedding_model=version)
                    for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
                )
        with transaction.atomic():
            KnowledgePassage.objects.filter(article=article).delete()
            KnowledgePassage.objects.bulk_create(passages)
            _refresh_search_documents(article.pk)
            KnowledgeArticle.objects.filter(pk=article.pk).update(indexed_hash=wanted)
        written += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return written


def _refresh_search_documents(article_id: int) -> None:
    table = KnowledgePassage._meta.db_table
    zh = list(KnowledgePassage.objects.filter(article_id=article_id, language=Language.ZH).values_list("pk", "text"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET search_document = to_tsvector('english', text) "  # nosec B608  # table name from the model; the text is a bound parameter
            "WHERE article_id = %s AND language = 'en'", [article_id])
        if zh:
            cursor.execute(
                f"""UPDATE {table} AS p SET search_document = to_tsvector('simple', b.grams)
                    FROM unnest(%s::bigint[], %s::text[]) AS b(id, grams) WHERE p.id = b.id""",  # nosec B608  # table name from the model; the text is a bound parameter
                [[pk for pk, _ in zh], [" ".join(cjk_bigrams(text)) for _, text in zh]])


@dataclass(frozen=True)
class PassageHit:
    passage: KnowledgePassage
    score: float  # fused RRF score
    similarity: float | None  # cosine similarity to the question, when the vector leg found it

    @property
    def article(self) -> KnowledgeArticle:
        return self.passage.article


def retrieve(question: str, *, intent: str | None = None, limit: int = 4) -> list[PassageHit]:
    """The passages best answering `question`, in its language, best first (at most one per article)."""
    language = Language.ZH if has_cjk(question) else Language.EN
    candidates = KnowledgePassage.objects.filter(language=language, article__is_published=True)
    vector = embedder(multilingual=language == Language.ZH).embed_query(question)
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            set_hnsw_search(cursor)
        nearest = list(candidates.annotate(distance=CosineDistance("embedding", vector))
                       .order_by("distance").values_list("pk", "article_id", "distance")[:_DEPTH])
    nearest.sort(key=lambda row: (row[2], row[0]))
    similarity = {pk: 1.0 - float(distance) for pk, _, distance in nearest}
    # Each leg says which article a passage belongs to, so that only the passages kept (one per article, at
    # most `limit`) are read in full below, not the whole depth of every leg with its article's body.
    article_of = {pk: article_id for pk, article_id, _ in nearest}
    text_leg = _text_leg(question, language)
    article_of.update(text_leg)
    rankings: list[list[int]] = [list(similarity), [pk for pk, _ in text_leg]]
    if intent:
        tagged = list(candidates.filter(article__intents__contains=[intent]).order_by("article_id", "position")
                      .values_list("pk", "article_id")[:_DEPTH])
        article_of.update(tagged)
        # Passages of the tagged article, in the order the vector leg put them (else article order).
        rankings.append(sorted((pk for pk, _ in tagged), key=lambda pk: -similarity.get(pk, -1.0)))
    # Questions are full sentences: their meaning (the vector leg) is a better guide than the words they share
    # with a passage, so the text leg counts half; the classifier's intent, when given, counts fully.
    fused = reciprocal_rank_fusion(rankings, weights=[1.0, 0.5, 1.0][: len(rankings)])
    order = sorted(fused, key=lambda pk: (-fused[pk], -similarity.get(pk, -1.0), pk))
    best: list[int] = []
    seen: set[int] = set()
    for pk in order:
        if article_of[pk] not in seen:
            seen.add(article_of[pk])
            best.append(pk)
            if len(best) == limit:
                break
    # The hits' text and article, not their search columns (a 384-d vector parsed per row costs more than the
    # rest of the read; nothing downstream of a hit reads it).
    passages = KnowledgePassage.objects.select_related("article").defer("embedding", "search_document").in_bulk(
        best)
    # A passage deleted since the legs ran (an article re-indexed at that moment) is left out.
    return [PassageHit(passage=passages[pk], score=fused[pk], similarity=similarity.get(pk))
            for pk in best if pk in passages]


def _text_leg(question: str, language: str) -> list[tuple[int, int]]:
    """(passage, article) of the passages sharing words with `question`, best first."""
    table = KnowledgePassage._meta.db_table
    if language == Language.ZH:
        grams = list(dict.fromkeys(cjk_bigrams(question)))
        if not grams:
            return []
        tsquery, params = "to_tsquery('simple', %s)", [" | ".join(grams)]
        latin = without_cjk(question)
        if latin:
            tsquery, params = f"({tsquery} || plainto_tsquery('english', %s))", [*params, latin]
    else:
        # Questions are sentences: any of their words may match (ORed lexemes), ranked by cover density.
        tsquery = ("to_tsquery('simple', coalesce((SELECT string_agg(quote_literal(lexeme), ' | ') "
                   "FROM unnest(tsvector_to_array(to_tsvector('english', %s))) AS lexeme), ''))")
        params = [question]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.id, p.article_id FROM {table} AS p JOIN chat_knowledgearticle a ON a.id = p.article_id,
                       (SELECT {tsquery} AS query) AS q
                WHERE p.language = %s AND a.is_published AND p.search_document @@ q.query
                ORDER BY ts_rank_cd(p.search_document, q.query) DESC, p.id LIMIT %s""",  # nosec B608  # table name from the model; the text is a bound parameter
            [*params, language, _DEPTH])
        return [(row[0], row[1]) for row in cursor.fetchall()]
