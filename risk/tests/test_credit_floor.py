"""A credit model that does not reach its quality floor is registered, readable by staff, and never activated by
training: on a bank too small to learn from it would otherwise serve decisions worse than chance."""

from io import StringIO

import pytest
from django.core.management import call_command

from bank.models import ModelVersion
from bank.registry import active_version
from risk.ml.training import MIN_CREDIT_AUC

pytestmark = [pytest.mark.django_db]


def test_a_credit_model_below_its_floor_is_registered_but_not_activated(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    call_command("seed_demo", customers=500, seed=7, quiet=True)  # 500 customers: about 14 defaults
    out = StringIO()

    call_command("train_credit", activate=True, stdout=out)

    version = ModelVersion.objects.get(name="risk.credit")
    quality = version.metrics["quality"]
    assert version.status == ModelVersion.Status.READY
    assert active_version("risk.credit") is None
    assert quality["passed"] is False
    assert {row["metric"] for row in quality["checks"]} == {"auc_gbm", "auc_scorecard"}
    assert all(row["floor"] == MIN_CREDIT_AUC for row in quality["checks"])
    missed = [f"{row['metric']} {row['value']} < {row['floor']}" for row in quality["checks"] if not row["passed"]]
    assert missed
    assert f"not activated: below its quality floor ({'; '.join(missed)})" in out.getvalue()
