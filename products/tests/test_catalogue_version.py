"""The catalogue's version (products.CatalogueVersion), raised by PostgreSQL triggers on every change to the product
table, whatever wrote it -- the stamp the suitability rules and the recommender are cached under."""

import pytest
from django.db import connection

from advisor.suitability import catalogue_rules, catalogue_stamp
from products import catalogue_triggers
from products.models import Product
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_every_way_of_changing_a_product_raises_the_version():
    product = ProductFactory(risk_level=2)
    versions = [catalogue_stamp()]

    product.name_en = "Renamed"
    product.save()  # the admin, a form
    versions.append(catalogue_stamp())
    Product.objects.filter(pk=product.pk).update(risk_level=3)  # a queryset update: no updated_at, no signals
    versions.append(catalogue_stamp())
    _raw("UPDATE products_product SET is_active = false WHERE id = %s", [product.pk])  # a script, a DBA
    versions.append(catalogue_stamp())
    Product.objects.filter(pk=product.pk).delete()
    versions.append(catalogue_stamp())

    numbers = [version for version, _ in versions]
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    assert all(later[1] >= earlier[1] for earlier, later in zip(versions, versions[1:], strict=False))


def test_one_statement_writing_many_products_raises_it_once():
    ProductFactory.create_batch(3)
    before = catalogue_stamp()

    Product.objects.update(min_age=18)

    assert catalogue_stamp()[0] == before[0] + 1


def test_rewriting_only_search_documents_or_embeddings_leaves_it_alone():
    product = ProductFactory()
    before = catalogue_stamp()

    product.embedded_text_hash = "abc"
    product.embedding = [0.1] * 384
    Product.objects.bulk_update([product], ["embedding", "embedded_text_hash"])  # what the embedding worker writes
    _raw("UPDATE products_product SET search_document = to_tsvector('simple', 'x') WHERE id = %s", [product.pk])

    assert catalogue_stamp() == before


def test_the_cached_rules_see_a_queryset_update_at_once():
    product = ProductFactory(risk_level=2)
    assert catalogue_rules().risk_level[catalogue_rules().index[product.pk]] == 2

    Product.objects.filter(pk=product.pk).update(risk_level=5)

    assert catalogue_rules().risk_level[catalogue_rules().index[product.pk]] == 5


def test_the_update_trigger_watches_every_product_column_but_the_search_ones():
    # A new product column needs a migration that calls products.catalogue_triggers.install again.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_trigger t
            JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr::int2[])
            WHERE t.tgname = %s
            """,
            [catalogue_triggers.ON_UPDATE],
        )
        watched = {name for (name,) in cursor.fetchall()}

    assert watched == set(catalogue_triggers.watched_columns(Product))
    assert "risk_level" in watched and "embedding" not in watched
