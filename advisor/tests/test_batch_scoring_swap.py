"""The batch results' swap (`advisor.batch.ResultsTable`), seen from another connection.

Transactional, in its own module: conftest's trained_bank keeps its demo bank in an open outer transaction for
the length of its module, which a test that commits and reads from a second connection must not run inside.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.db import connection, connections
from django.utils import timezone

from advisor.batch import _LOCK_KEY, BatchAlreadyRunning, ResultsTable
from advisor.ml import scoring
from advisor.models import BatchRecommendation
from bank.models import ModelVersion
from customers.tests.factories import CustomerFactory
from products.tests.factories import ProductFactory


def _write(table: ResultsTable, customers: list[int], product: int, version: ModelVersion, at) -> None:
    n = len(customers)
    table.write(customers=np.array(customers, dtype=np.int64), ranks=np.ones(n, dtype=np.int16),
                products=np.full(n, product, dtype=np.int64), scores=np.linspace(0, 1, n), model_version_id=version.pk,
                computed_at=at)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_readers_see_the_previous_run_until_the_swap_and_a_failed_run_changes_nothing():
    customers = [CustomerFactory().pk for _ in range(3)]
    product = ProductFactory().pk
    version = ModelVersion.objects.create(name=scoring.MODEL_NAME, version=1, status=ModelVersion.Status.READY)
    before, after = timezone.now() - timedelta(days=1), timezone.now()
    with ResultsTable() as table:
        _write(table, customers, product, version, before)
        table.swap()
    reader = connections.create_connection("default")
    try:
        def seen() -> list[tuple[int, object]]:
            with reader.cursor() as cursor:
                cursor.execute("SELECT customer_id, computed_at FROM advisor_batchrecommendation ORDER BY customer_id")
                return cursor.fetchall()

        assert seen() == [(pk, before) for pk in customers]
        with ResultsTable() as table:
            _write(table, customers[:2], product, version, after)
            assert seen() == [(pk, before) for pk in customers]  # half written: the previous run, whole
            _write(table, customers[2:], product, version, after)
            assert seen() == [(pk, before) for pk in customers]
            table.swap()
        assert seen() == [(pk, after) for pk in customers]

        with pytest.raises(RuntimeError, match="killed"), ResultsTable() as table:
            _write(table, customers[:1], product, version, before)
            raise RuntimeError("worker killed")
        assert seen() == [(pk, after) for pk in customers]
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('advisor_batchrecommendation_next')")
            assert cursor.fetchone()[0] is None

        with reader.cursor() as cursor:  # another run in progress elsewhere: this one refuses to start
            cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
            with pytest.raises(BatchAlreadyRunning):
                ResultsTable().__enter__()
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
        assert seen() == [(pk, after) for pk in customers]
    finally:
        reader.close()
    assert BatchRecommendation.objects.get(customer_id=customers[0]).product_id == product
