"""Personal details and card numbers in the admin: masked by default, unmasked only for roles that may, and every
unmasking in the audit trail. A masked page cannot change what it hides."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from bank.models import AuditEvent
from bank.roles import (
    ADMINISTRATOR,
    COMPLIANCE_OFFICER,
    RELATIONSHIP_MANAGER,
    RISK_OFFICER,
    SUPPORT_AGENT,
)
from customers.models import Customer
from customers.tests.factories import CreditCardFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

NATIONAL_ID = "11010519900517001X"
PHONE = "+8613800138000"
EMAIL = "wang.li@example.com"
ADDRESS = "Room 3, No. 12 Nanjing Road, Shanghai"
CARD = "6258600000004321"
SECRETS = [NATIONAL_ID, PHONE, EMAIL, "Nanjing Road", CARD]


def _staff(role: str, username: str | None = None):
    user = UserFactory(username=username or role.lower().replace(" ", "_"), is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def customer():
    rm = _staff(RELATIONSHIP_MANAGER, "rm_own")
    person = CustomerFactory(national_id=NATIONAL_ID, phone=PHONE, email=EMAIL, address=ADDRESS,
                             relationship_manager=rm)
    CreditCardFactory(customer=person, number=CARD, credit_limit=Decimal("50000.00"))
    return person


def _change_page(client, user, customer, unmask: bool = False) -> str:
    client.force_login(user)
    url = reverse("admin:customers_customer_change", args=[customer.pk]) + ("?_unmask=1" if unmask else "")
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _unmask_events():
    return list(AuditEvent.objects.filter(action="pii.unmasked").values_list("actor_label", "subject",
                                                                            "customer_ref", "detail"))


@pytest.mark.parametrize("role", [RELATIONSHIP_MANAGER, RISK_OFFICER, COMPLIANCE_OFFICER, SUPPORT_AGENT,
                                  ADMINISTRATOR])
def test_every_role_sees_personal_details_masked_by_default(client, customer, role):
    user = customer.relationship_manager if role == RELATIONSHIP_MANAGER else _staff(role)
    page = _change_page(client, user, customer)
    for secret in SECRETS:
        assert secret not in page
    assert "•" * 14 + "001X" in page and "0011" not in page
    assert "w•••@example.com" in page and "••••••, Shanghai" in page
    assert "4321" in page  # the card's last four digits, enough to talk about it
    assert _unmask_events() == []


@pytest.mark.parametrize("role", [RELATIONSHIP_MANAGER, COMPLIANCE_OFFICER, ADMINISTRATOR])
def test_roles_that_may_unmask_see_the_values_and_are_audited(client, customer, role):
    user = customer.relationship_manager if role == RELATIONSHIP_MANAGER else _staff(role)
    masked = _change_page(client, user, customer)
    assert "?_unmask=1" in masked  # the link to unmask is offered
    page = _change_page(client, user, customer, unmask=True)
    for secret in [NATIONAL_ID, PHONE, EMAIL, "Nanjing Road"]:
        assert secret in page
    assert _unmask_events() == [(user.username, f"customer:{customer.public_id}", customer.external_ref,
                                 {"fields": ["address", "email", "national_id", "phone"]})]


@pytest.mark.parametrize("role", [RISK_OFFICER, SUPPORT_AGENT])
def test_roles_that_may_not_unmask_get_the_masked_page_and_no_link(client, customer, role):
    user = _staff(role)
    page = _change_page(client, user, customer, unmask=True)
    assert "?_unmask=1" not in page
    for secret in SECRETS:
        assert secret not in page
    assert _unmask_events() == []


def test_another_managers_customer_is_not_even_found(client, customer):
    other_rm = _staff(RELATIONSHIP_MANAGER, "rm_other")
    client.force_login(other_rm)
    url = reverse("admin:customers_customer_change", args=[customer.pk]) + "?_unmask=1"
    response = client.get(url)
    assert response.status_code == 302  # the admin's "doesn't exist" redirect to its index
    assert _unmask_events() == []


def test_a_masked_form_cannot_change_what_it_hides(client, customer):
    administrator = _staff(ADMINISTRATOR)
    client.force_login(administrator)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    assert not {"national_id", "phone", "email", "address"} & set(form.fields)
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(national_id="999999999999999999", phone="+8610000000000", full_name="Wang Li Renamed")
    for inline in page.context["inline_admin_formsets"]:
        data.update({f"{inline.formset.prefix}-{key}": value
                     for key, value in inline.formset.management_form.initial.items()})
        data.update({f"{inline.formset.prefix}-TOTAL_FORMS": str(inline.formset.initial_form_count())})
        for index, row in enumerate(inline.formset.initial_forms):
            data[f"{inline.formset.prefix}-{index}-id"] = row.instance.pk
    response = client.post(url, data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.full_name == "Wang Li Renamed"  # the visible field changed ...
    assert (customer.national_id, customer.phone) == (NATIONAL_ID, PHONE)  # ... the masked ones did not


def test_the_account_list_and_page_mask_card_numbers(client, customer):
    administrator = _staff(ADMINISTRATOR)
    client.force_login(administrator)
    listing = client.get(reverse("admin:customers_account_changelist")).content.decode()
    assert CARD not in listing and "••••••••••••4321" in listing
    card = customer.accounts.get()
    page = client.get(reverse("admin:customers_account_change", args=[card.pk])).content.decode()
    assert CARD not in page
    unmasked = client.get(reverse("admin:customers_account_change", args=[card.pk]) + "?_unmask=1")
    assert CARD in unmasked.content.decode()
    assert _unmask_events() == [(administrator.username, f"account:{card.public_id}", customer.external_ref,
                                 {"fields": ["number"]})]
    # An exact search by number still finds the account.
    found = client.get(reverse("admin:customers_account_changelist"), {"q": CARD}).content.decode()
    assert "••••••••••••4321" in found


@pytest.mark.parametrize("term", ["13800138000", "WANG.LI@example.com", "11010519900517001x"])
def test_staff_find_a_customer_by_exact_phone_email_or_id(client, customer, term):
    CustomerFactory(full_name="Someone Else")
    client.force_login(_staff(COMPLIANCE_OFFICER))
    response = client.get(reverse("admin:customers_customer_changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == [customer]


def test_a_search_never_leaks_another_managers_customer(client, customer):
    client.force_login(_staff(RELATIONSHIP_MANAGER, "rm_other"))
    response = client.get(reverse("admin:customers_customer_changelist"), {"q": PHONE})
    assert list(response.context["cl"].result_list) == []
    assert Customer.objects.count() == 1


def test_masking_replaces_fields_on_a_line_that_groups_several():
    # A fieldset line may be a group of fields shown side by side; each protected one in it is replaced too.
    from django.contrib import admin

    from customers.admin import CustomerAdmin

    model_admin = CustomerAdmin(Customer, admin.site)
    assert model_admin._masked_line("phone") == "phone_masked"
    assert model_admin._masked_line(["full_name", "phone"]) == ("full_name", "phone_masked")
    assert model_admin._masked_line(("city",)) == ("city",)
