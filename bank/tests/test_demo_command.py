import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer

pytestmark = pytest.mark.django_db


def test_demo_refuses_a_bank_too_small_for_the_credit_model_before_seeding_anything():
    with pytest.raises(CommandError, match=r"--customers 300: the demo bank needs at least 1,000 customers"):
        call_command("demo", customers=300, no_serve=True)

    assert not Customer.objects.exists()
