"""A small demo bank with a trained, active recommender, built once per test module.

Seeding and training take seconds, so the bank is built inside one outer transaction for the whole module and
rolled back at its end (the way Django's setUpTestData works); each test still runs in its own savepoint, so
what a test writes is gone before the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from bank.models import ModelVersion
from customers.models import Customer


@dataclass(frozen=True)
class TrainedBank:
    model: ModelVersion
    customer: Customer  # a customer with a login, history and a suitable product or more


@pytest.fixture(scope="module")
def trained_bank(django_db_setup, django_db_blocker, tmp_path_factory):
    from advisor.ml import scoring
    from advisor.ml.training import train_recommender

    folder = tmp_path_factory.mktemp("bank")
    with django_db_blocker.unblock(), override_settings(VAR_DIR=folder, MODEL_ARTIFACT_DIR=folder / "models"):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", customers=200, seed=5, months=2, quiet=True)
            model = train_recommender(activate=True, evaluate_first=False).version
            customer = (
                Customer.objects.filter(user__isnull=False, kyc_status="verified", risk_tolerance__gte=3)
                .order_by("external_ref")
                .first()
            )
            yield TrainedBank(model=model, customer=customer)
        finally:
            scoring.forget_loaded_model()
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
