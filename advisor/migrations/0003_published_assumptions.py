"""The first capital-market assumptions: long-term values for a yuan investor, rounded, in the range large asset
managers publish in their 10-year outlooks. Staff replace them in the admin (a new row with a later effective
date) or re-estimate them from price history (`python manage.py estimate_assumptions prices.csv`)."""

from datetime import date
from decimal import Decimal

from django.db import migrations

CLASSES = {  # asset class: (expected return %, volatility %)
    "cash": ("1.80", "0.50"),
    "gov_bond": ("2.40", "3.50"),
    "corp_bond": ("3.20", "5.00"),
    "dom_equity": ("7.00", "24.00"),
    "global_equity": ("6.50", "17.00"),
    "gold": ("4.00", "15.00"),
}
CORRELATIONS = {
    "cash": {"gov_bond": 0.1, "corp_bond": 0.1, "dom_equity": 0.0, "global_equity": 0.0, "gold": 0.0},
    "gov_bond": {"corp_bond": 0.7, "dom_equity": -0.1, "global_equity": -0.05, "gold": 0.2},
    "corp_bond": {"dom_equity": 0.2, "global_equity": 0.15, "gold": 0.1},
    "dom_equity": {"global_equity": 0.55, "gold": 0.05},
    "global_equity": {"gold": 0.1},
}


def seed(apps, schema_editor):
    Assumptions = apps.get_model("advisor", "CapitalMarketAssumptions")
    Row = apps.get_model("advisor", "AssetClassAssumption")
    if Assumptions.objects.exists():
        return
    cma = Assumptions.objects.create(
        name="Long-term assumptions 2026", effective_date=date(2026, 1, 1), source="published",
        description="Rounded long-term (10-year) values for a yuan investor.", correlations=CORRELATIONS,
    )
    Row.objects.bulk_create(
        Row(assumptions=cma, asset_class=key, expected_return=Decimal(ret), volatility=Decimal(vol))
        for key, (ret, vol) in CLASSES.items()
    )


class Migration(migrations.Migration):
    dependencies = [("advisor", "0002_investing")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
