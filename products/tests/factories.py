from decimal import Decimal

import factory

from products.models import Liquidity, Product, ProductType


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"TEST-{n:04d}")
    type = ProductType.DEPOSIT
    name_en = factory.Sequence(lambda n: f"Test deposit {n}")
    name_zh = factory.Sequence(lambda n: f"测试存款{n}")
    description_en = "A fixed-term deposit with a guaranteed rate."
    description_zh = "保本保息的定期存款。"
    risk_level = 1
    expected_return_min = Decimal("1.500")
    expected_return_max = Decimal("1.800")
    term_months = 12
    min_amount = Decimal("1000.00")
    liquidity = Liquidity.AT_MATURITY
    allows_multiple = True
