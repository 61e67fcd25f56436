"""Demo applications: a realistic handful across outcomes for demo customers, so the staff queue, the funnel and
the showcase customer's "My applications" page are not empty. Run by `manage.py demo`; does nothing when there
are applications already."""

from __future__ import annotations

from decimal import Decimal

from advisor.applications import services
from advisor.applications.models import Application, ApplicationSource, ApplicationState
from advisor.suitability import CustomerFacts, SuitabilityGate, catalogue_rules
from customers.models import Customer
from products.models import Product, ProductType

REASONS = [
    ("CC-TRAVEL", None, "I travel a lot and want no foreign-exchange fees"),
    ("CC-CLASSIC", None, "An everyday card with cash back for groceries"),
    ("CC-GOLD", Decimal("60000"), "I want reward points and a higher limit"),
    ("LN-PERSONAL-E", Decimal("50000"), "Renovating the flat, I want a low interest rate"),
    ("LN-CAR-EV", Decimal("120000"), "我想买一辆新能源车，希望利率低一些"),
    ("CC-PLATINUM", None, "出国旅行多，想要机场贵宾厅"),
    ("LN-PERSONAL-E", Decimal("20000"), ""),
    ("CC-CLASSIC", Decimal("10000"), "我想要一张免年费的信用卡"),
]


def run_demo_applications(*, showcase_username: str = "", customers: int = 48) -> str:
    """Submit applications for `customers` demo customers (the showcase customer first), decided at once with the
    rule-based reading (the demo does not wait for a language model); take up some approved offers and withdraw
    one. Returns a one-line summary."""
    if Application.objects.exists():
        return f"{Application.objects.count()} applications already there"
    products = {p.code: p for p in Product.objects.filter(code__in=[code for code, _, _ in REASONS], is_active=True)}
    people = list(Customer.objects.filter(credit_scores__isnull=False).distinct().order_by("id")[:customers])
    showcase = Customer.objects.filter(user__username=showcase_username).first() if showcase_username else None
    if showcase is not None:
        people = [showcase, *[c for c in people if c.pk != showcase.pk]]
    made: list[Application] = []
    rules = catalogue_rules()
    for i, customer in enumerate(people):
        # Most customers apply for something they were shown, so it suits them (the first fitting product of the
        # list); every fourth picks regardless, as people do from the catalogue, so the demo has suitability
        # declines too. Credit, affordability and identity decide the rest.
        gate = SuitabilityGate(CustomerFacts.of(customer), rules)
        choices = [REASONS[(i + k) % len(REASONS)] for k in range(len(REASONS))]
        fitting = [c for c in choices if c[0] in products and gate.allows(products[c[0]].pk)]
        code, amount, reason = fitting[0] if fitting and i % 4 else choices[0]
        product = products.get(code)
        if product is None:
            continue
        if product.type == ProductType.LOAN and amount is not None:
            amount = max(amount, product.min_amount)
        try:
            made.append(services.submit_application(
                customer=customer, product=product, source=ApplicationSource.PRODUCT_PAGE if i % 3
                else ApplicationSource.RECOMMENDATION, actor_label="customer", actor_user=customer.user,
                reason_text=reason, requested_amount=amount, language="zh" if any(
                    "\u4e00" <= ch <= "\u9fff" for ch in reason) else "en", decide_now=True, llm=None,
            ).application)
        except services.ApplicationError:
            continue
    approved = [a for a in made if a.state == ApplicationState.APPROVED]
    for app in approved[1::2]:  # every other approved offer is taken up; the showcase's first stays open
        try:
            services.activate_application(application=app, actor_label="customer", actor_user=app.customer.user)
        except services.ApplicationError:
            continue
    if approved[2:3]:
        services.withdraw_application(application=approved[2], actor_label="customer",
                                      actor_user=approved[2].customer.user)
    states: dict[str, int] = {}
    for state in Application.objects.values_list("state", flat=True):
        states[state] = states.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
