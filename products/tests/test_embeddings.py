import numpy as np
import pytest
from django.db import connection

from bank.embeddings import (
    MULTILINGUAL_MODEL_NAME,
    TEXT_MODEL_NAME,
    cjk_bigrams,
    embed_documents,
    embed_query,
    has_cjk,
    text_model_path,
    without_cjk,
)
from bank.models import ModelVersion
from products.models import Product
from products.services import embed_products, refresh_search_documents
from products.tasks import embed_products_task
from products.tests.factories import ProductFactory


def test_has_cjk_routes_chinese_text():
    assert has_cjk("出国旅行信用卡") is True
    assert has_cjk("QDII基金") is True
    assert has_cjk("travel card, no FX fee") is False


def test_cjk_bigrams_overlap_within_each_run():
    assert cjk_bigrams("外汇手续费 QDII 卡") == ["外汇", "汇手", "手续", "续费", "卡"]
    assert without_cjk("QDII基金 fund") == "QDII  fund"


@pytest.mark.model
def test_vectors_equal_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    texts = [
        "Pay abroad with no foreign exchange fee.",
        "How do I top up my card?",
        "A twelve-month fixed deposit with a guaranteed interest rate; principal and interest are protected. "
        * 8,
    ]
    reference = SentenceTransformer(str(text_model_path()), device="cpu").encode(
        texts, normalize_embeddings=True
    )

    ours = embed_documents(texts)

    assert ours.shape == (3, 384)
    assert ours.dtype == np.float32
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() > 0.999


@pytest.mark.model
def test_query_vectors_are_memoised_read_only_and_equal_to_the_document_path():
    from bank.embeddings import multilingual_embedder, text_embedder

    text = "How do I top up my card abroad?"
    for model in (text_embedder(), multilingual_embedder()):
        first = model.embed_query(text)
        again = model.embed_query(text)
        assert again is first  # the second embedding of the same message costs nothing
        assert not first.flags.writeable  # shared by every caller: nobody may change it
        with pytest.raises(ValueError):
            first[0] = 1.0
    # MiniLM is symmetric: a memoised query vector is the document vector of the same text.
    assert np.allclose(text_embedder().embed_query(text), embed_documents([text])[0], atol=1e-6)
    assert np.allclose(multilingual_embedder().embed_query(text), multilingual_embedder().embed_queries([text])[0],
                       atol=1e-6)


def test_query_memo_keeps_the_most_recent_texts_only(monkeypatch):
    from bank import embeddings

    calls = []
    memo = embeddings._QueryMemo(lambda text: calls.append(text) or np.ones(3, np.float32))
    monkeypatch.setattr(embeddings, "QUERY_CACHE_SIZE", 2)
    for text in ("a", "b", "a", "c", "b"):
        memo(text)
    # "a" was used again before "c" arrived, so "b" was the one dropped, and had to be embedded again.
    assert calls == ["a", "b", "c", "b"]


@pytest.mark.model
def test_multilingual_query_and_passage_are_unit_vectors_and_match_across_languages():
    passages = embed_documents(
        ["境外消费免收外汇兑换手续费的信用卡", "一年期定期存款，保证利率"], multilingual=True
    )
    query = embed_query("credit card without foreign exchange fees", multilingual=True)

    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert float(passages[0] @ query) > float(passages[1] @ query)


@pytest.mark.django_db
@pytest.mark.model
def test_embedding_task_stores_unit_vectors_with_model_versions():
    product = ProductFactory(name_en="Travel card", description_en="No foreign exchange fee abroad.")

    assert embed_products_task([product.pk]) == 1

    product.refresh_from_db()
    vector = np.asarray(product.embedding)
    vector_ml = np.asarray(product.embedding_ml)
    assert vector.shape == (384,) and vector_ml.shape == (384,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert abs(float(np.linalg.norm(vector_ml)) - 1.0) < 1e-5
    assert np.allclose(vector, embed_documents([product.embedding_text()])[0], atol=1e-5)
    assert product.embedding_model.name == TEXT_MODEL_NAME
    assert product.embedding_model.status == ModelVersion.Status.ACTIVE
    assert product.embedding_model.artifact_path == str(text_model_path())
    assert product.embedding_ml_model.name == MULTILINGUAL_MODEL_NAME
    assert len(product.embedded_text_hash) == 64


@pytest.mark.django_db
@pytest.mark.model
def test_embedding_is_idempotent_and_redoes_only_changed_text():
    first, second = ProductFactory(), ProductFactory()
    assert embed_products() == 2
    stored_hash = Product.objects.get(pk=first.pk).embedded_text_hash

    assert embed_products() == 0

    Product.objects.filter(pk=second.pk).update(description_en="Now with a bonus rate for new money.")
    assert embed_products() == 1
    assert Product.objects.get(pk=first.pk).embedded_text_hash == stored_hash
    assert embed_products(force=True) == 2
    assert ModelVersion.objects.filter(name=TEXT_MODEL_NAME).count() == 1


@pytest.mark.django_db
def test_search_document_weights_english_words_and_chinese_bigrams():
    product = ProductFactory(
        name_en="Travel Card",
        description_en="No foreign exchange fee.",
        tags=["lounge"],
        name_zh="旅行卡",
        description_zh="免外汇费",
    )
    other = ProductFactory()

    assert refresh_search_documents(product_ids=[product.pk]) == 1

    with connection.cursor() as cursor:
        cursor.execute("SELECT search_document::text FROM products_product WHERE id = %s", [product.pk])
        document = cursor.fetchone()[0]
        cursor.execute("SELECT search_document FROM products_product WHERE id = %s", [other.pk])
        assert cursor.fetchone()[0] is None
    assert document == (
        "'card':2A 'exchang':5B 'fee':6B 'foreign':4B 'loung':7B 'travel':1A "
        "'免外':10B '外汇':11B '旅行':8A '汇费':12B '行卡':9A"
    )
