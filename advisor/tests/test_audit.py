"""The independent SQL audit agrees with the gate on a real batch, and catches what the gate would refuse."""

import io

import pytest
from django.core.management import call_command

from advisor import services
from advisor.audit import audit_recommendations
from advisor.models import Channel, Recommendation
from products.models import Product

pytestmark = [pytest.mark.django_db, pytest.mark.model]


def test_a_fresh_batch_has_no_violations(trained_bank):
    out = io.StringIO()

    call_command("audit_recommendations", batch=60, quiet=True, stdout=out)

    report = audit_recommendations()
    assert report.items_checked >= 60 * 3
    assert report.violations == []
    assert "break a suitability rule" in out.getvalue()


def test_an_unsuitable_item_slipped_into_a_set_is_reported_with_every_rule_it_breaks(trained_bank):
    customer = trained_bank.customer
    recommendation_set = services.recommend_products(customer=customer, k=3, channel=Channel.API)
    risky = Product.objects.exclude(pk__in=recommendation_set.items.values("product_id")).order_by("pk").first()
    Product.objects.filter(pk=risky.pk).update(
        type="fund", risk_level=1, min_age=110, max_age=None, min_annual_income=0, kyc_required=False,
        residency=[], allows_multiple=True, min_amount=10**9, is_active=True,
    )
    bad = Recommendation.objects.create(
        recommendation_set=recommendation_set, customer=customer, product=risky,
        model_version=trained_bank.model, rank=99, score=0.0, driver="test",
    )

    report = audit_recommendations()

    assert [(v.recommendation_id, v.rules) for v in report.violations] == [
        (bad.pk, ("below_min_age", "amount_out_of_reach"))
    ]
    with pytest.raises(SystemExit):
        call_command("audit_recommendations", stdout=io.StringIO())
