"""The HNSW search settings every vector leg uses: applied inside the transaction, gone after it."""

import pytest
from django.db import connection, transaction

from bank.search import HNSW_EF_SEARCH, set_hnsw_search


def _settings() -> tuple[str | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.ef_search', true), current_setting('hnsw.iterative_scan', true)")
        return cursor.fetchone()


@pytest.mark.django_db
def test_vector_queries_in_the_transaction_search_wider_and_iteratively():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT '[1,2]'::vector")  # loads pgvector, which defines its hnsw.* settings on load
        set_hnsw_search(cursor)
        assert _settings() == (str(HNSW_EF_SEARCH), "relaxed_order")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_settings_end_with_the_transaction():
    # SET LOCAL, not SET: a pooled connection must not carry one request's search settings into the next.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT '[1,2]'::vector")
        set_hnsw_search(cursor)
    assert _settings() == ("40", "off")  # pgvector's defaults
