"""Fixtures of the risk tests: a fresh monitor per test, partners and staff, and a seeded demo bank with trained
credit and anomaly models built once per module (inside one outer transaction rolled back at the module's end,
the way the advisor's tests do it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from bank.models import ModelVersion
from bank.roles import RISK_OFFICER

AS_OF = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _fresh_monitor_and_model():
    from risk.ml.scoring import forget_loaded_model
    from risk.monitoring.engine import reset_monitor

    reset_monitor()
    forget_loaded_model()
    yield
    reset_monitor()
    forget_loaded_model()


@pytest.fixture
def risk_officer(db):
    from customers.tests.factories import UserFactory

    user = UserFactory(username="officer1", is_staff=True)
    user.groups.add(Group.objects.get(name=RISK_OFFICER))
    return user


@pytest.fixture
def second_officer(db):
    from customers.tests.factories import UserFactory

    user = UserFactory(username="officer2", is_staff=True)
    user.groups.add(Group.objects.get(name=RISK_OFFICER))
    return user


@dataclass(frozen=True)
class RiskBank:
    credit: ModelVersion
    anomaly: ModelVersion


@pytest.fixture(scope="module")
def risk_bank(django_db_setup, django_db_blocker, tmp_path_factory):
    from risk.ml.scoring import forget_loaded_model
    from risk.ml.training import train_anomaly_model, train_credit_model
    from risk.monitoring.engine import reset_monitor
    from risk.services.credit import score_customers

    folder = tmp_path_factory.mktemp("riskbank")
    with django_db_blocker.unblock(), override_settings(VAR_DIR=folder, MODEL_ARTIFACT_DIR=folder / "models"):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", customers=1200, seed=3, months=6, as_of=AS_OF, quiet=True)
            credit = train_credit_model(activate=True, folds=3).version
            anomaly = train_anomaly_model(activate=True, max_customers=150, max_rows=20_000).version
            score_customers()
            yield RiskBank(credit=credit, anomaly=anomaly)
        finally:
            forget_loaded_model()
            reset_monitor()
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
