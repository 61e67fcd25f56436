"""Demo logins: one customer, one user per staff role, and a partner with an API token.

Only for the demo bank (`manage.py demo`): the passwords are printed on the console and are the same on
every machine, so a deployment never runs this.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from bank import roles

DEMO_PASSWORD = "demo-bank-2026"  # nosec B105  # the demo bank's published password (printed by `manage.py demo`)
STAFF_LOGINS = {
    "rm": roles.RELATIONSHIP_MANAGER,
    "risk": roles.RISK_OFFICER,
    "compliance": roles.COMPLIANCE_OFFICER,
    "support": roles.SUPPORT_AGENT,
    "admin": roles.ADMINISTRATOR,
}
DEMO_PARTNER = "Demo Fintech"


@dataclass(frozen=True)
class DemoLogins:
    customer_username: str
    customer_name: str
    staff: dict[str, str]
    partner_token: str
    partner_scopes: list[str]


@transaction.atomic
def ensure_demo_logins(*, book_size: int = 200, consenting_customers: int = 500) -> DemoLogins:
    """Create (or reset) the demo logins and issue a fresh partner token (the previous one is revoked)."""
    from customers.models import Customer, Partner, PartnerConsent, PartnerScope, PartnerToken
    from customers.partners import issue_partner_token, revoke_partner_token

    user_model = get_user_model()
    showcase = Customer.objects.order_by("id").select_related("user").first()
    if showcase is None:
        raise RuntimeError("the demo bank has no customers; run seed_demo first")
    if showcase.user is None:
        showcase.user = user_model.objects.create(username=showcase.external_ref.lower())
        showcase.save(update_fields=["user"])
    customer_user = showcase.user
    customer_user.set_password(DEMO_PASSWORD)
    customer_user.is_active = True
    customer_user.save()

    for username, group_name in STAFF_LOGINS.items():
        user, _ = user_model.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = username == "admin"
        user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set([Group.objects.get(name=group_name)])

    # The relationship manager looks after a book of customers, the showcase customer among them.
    rm = user_model.objects.get(username="rm")
    if not Customer.objects.filter(relationship_manager=rm).exists():
        book = list(Customer.objects.order_by("id").values_list("id", flat=True)[:book_size])
        Customer.objects.filter(id__in=book).update(relationship_manager=rm)

    partner, _ = Partner.objects.get_or_create(name=DEMO_PARTNER)
    consenting = Customer.objects.order_by("id").values_list("id", flat=True)[:consenting_customers]
    PartnerConsent.objects.bulk_create(
        [PartnerConsent(customer_id=cid, partner=partner) for cid in consenting], ignore_conflicts=True
    )
    for old in PartnerToken.objects.filter(partner=partner, name="demo", revoked_at__isnull=True):
        revoke_partner_token(token=old)
    scopes = [PartnerScope.PRODUCTS_READ, PartnerScope.PROFILE_READ, PartnerScope.ACCOUNTS_READ,
              PartnerScope.TRANSACTIONS_READ, PartnerScope.RECOMMENDATIONS_READ, PartnerScope.FEEDBACK_WRITE,
              PartnerScope.CHAT_WRITE, PartnerScope.RISK_READ, PartnerScope.TRANSACTIONS_WRITE,
              PartnerScope.INVESTMENTS_READ, PartnerScope.INVESTMENTS_WRITE, PartnerScope.APPLICATIONS_READ,
              PartnerScope.APPLICATIONS_WRITE, PartnerScope.MESSAGES_READ, PartnerScope.MESSAGES_WRITE]
    _, secret = issue_partner_token(partner=partner, name="demo", scopes=[str(s) for s in scopes])
    return DemoLogins(
        customer_username=customer_user.username,
        customer_name=showcase.full_name,
        staff=STAFF_LOGINS,
        partner_token=secret,
        partner_scopes=[str(s) for s in scopes],
    )
