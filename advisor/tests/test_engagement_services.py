"""Personalised messages against the database: consent (no consent, no message — also when it is withdrawn between
scheduling and sending), the frequency cap, quiet hours, each trigger, suitability, the holdout, the report."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from advisor.engagement import services
from advisor.engagement.models import Campaign, CampaignVariant, Message, TriggerKind
from advisor.engagement.selectors import campaign_report, inbox_of
from advisor.engagement.triggers import scan_trigger
from customers.models import AccountType, Holding, SpendingCategory
from customers.tests.factories import AccountFactory, CustomerFactory, HoldingFactory, TransactionFactory
from products.models import ProductType
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=False)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 12, 3, 12, 0, tzinfo=SHANGHAI)
NIGHT = datetime(2026, 12, 3, 23, 30, tzinfo=SHANGHAI)
MORNING = datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)


def make_campaign(code: str = "winter", *, variants: int = 1, **fields) -> Campaign:
    defaults = {"name": code, "status": Campaign.Status.ACTIVE, "holdout_pct": 0}
    campaign = Campaign.objects.create(code=code, **{**defaults, **fields})
    texts = {"subject_en": "Hello {{ first_name }}", "body_en": "Your balance is {{ balance }}.",
             "subject_zh": "{{ first_name }}您好", "body_zh": "您的余额为{{ balance }}。"}
    if campaign.offers_product:
        texts["body_en"] += " Try {{ product_name }} ({{ product_rate }})."
        texts["body_zh"] += "推荐{{ product_name }}（{{ product_rate }}）。"
    for arm in "ab"[:variants]:
        variant = CampaignVariant(campaign=campaign, arm=arm, **{k: v + (" [B]" if arm == "b" else "")
                                                                 for k, v in texts.items()})
        variant.full_clean()
        variant.save()
    return campaign


def customer(**fields):
    person = CustomerFactory(**{"email": "someone@example.com", "preferred_language": "en", **fields})
    AccountFactory(customer=person, balance=Decimal("15000.00"))
    return person


def send(campaign: Campaign, person, *, occurrence: str = "campaign", now: datetime = NOON):
    event = services.Event(occurrence=occurrence, detail={"test": True})
    return services.send_message(campaign=campaign, customer=person, event=event, rule={"test": True}, now=now)


def test_a_consenting_customer_gets_the_message_in_their_language_with_their_data(django_capture_on_commit_callbacks):
    person = customer(full_name="王小明", preferred_language="zh-hans")
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        message, created = send(campaign, person)
    assert created and message.status == "delivered" and message.delivered_at == NOON
    assert (message.subject, message.body) == ("小明您好", "您的余额为15,000.00元。")
    assert message.why["campaign"] == "winter" and message.why["arm"] == "a"
    assert message.why["checks"] == {"consent_marketing": True, "marketing": True, "recent_marketing": 0,
                                     "cap": 3, "cap_days": 7}
    assert message.why["rule"] == {"test": True} and message.why["event"] == {"test": True}
    assert list(inbox_of(customer=person)) == [message]
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [(["someone@example.com"], "小明您好",
                                                                 "您的余额为15,000.00元。")]
    # The same occurrence again is the same row: nothing new, no second email.
    with django_capture_on_commit_callbacks(execute=True):
        again, created_again = send(campaign, person)
    assert again.pk == message.pk and not created_again and len(mail.outbox) == 1


def test_no_marketing_consent_means_no_message_and_no_email(django_capture_on_commit_callbacks):
    person = customer(consent_marketing=False)
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = send(make_campaign(), person)
    assert (message.status, message.suppression_reason, message.subject, message.body) == (
        "suppressed", "no_marketing_consent", "", "")
    assert message.why["checks"]["consent_marketing"] is False
    assert list(inbox_of(customer=person)) == [] and mail.outbox == []


def test_consent_withdrawn_between_scheduling_and_sending_stops_the_message(django_capture_on_commit_callbacks):
    person = customer()
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = send(campaign, person, now=NIGHT)
    assert (message.status, message.deliver_at, message.delivered_at) == ("scheduled", MORNING, None)
    assert list(inbox_of(customer=person)) == [] and mail.outbox == []
    person.consent_marketing = False
    person.save(update_fields=["consent_marketing"])
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.deliver_due_messages(now=MORNING + timedelta(minutes=5))
    message.refresh_from_db()
    assert counts == {"delivered": 0, "suppressed": 1}
    assert (message.status, message.suppression_reason, message.delivered_at) == (
        "suppressed", "no_marketing_consent", None)
    assert message.why["at_delivery"]["suppressed"] == "no_marketing_consent"
    assert list(inbox_of(customer=person)) == [] and mail.outbox == []


def test_quiet_hours_hold_portal_and_email_until_the_morning(django_capture_on_commit_callbacks):
    person = customer()
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = send(make_campaign(), person, now=NIGHT)
        assert services.deliver_due_messages(now=MORNING - timedelta(minutes=1)) == {"delivered": 0,
                                                                                     "suppressed": 0}
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_due_messages(now=MORNING) == {"delivered": 1, "suppressed": 0}
    message.refresh_from_db()
    assert (message.status, message.delivered_at) == ("delivered", MORNING)
    assert len(mail.outbox) == 1 and message.emailed_at is not None


def test_the_frequency_cap_counts_marketing_messages_of_the_last_seven_days(settings):
    settings.MESSAGE_FREQUENCY_CAP = 2
    person = customer()
    first, _ = send(make_campaign("one"), person, now=NOON - timedelta(days=8))  # outside the 7-day window
    second, _ = send(make_campaign("two"), person, now=NOON - timedelta(days=2))
    third, _ = send(make_campaign("three"), person, now=NOON)
    fourth, _ = send(make_campaign("four"), person, now=NOON)
    assert [m.status for m in (first, second, third, fourth)] == ["delivered", "delivered", "delivered",
                                                                   "suppressed"]
    assert fourth.suppression_reason == "frequency_cap" and fourth.why["checks"]["recent_marketing"] == 2
    # A service notice is neither blocked by nor counted toward the cap.
    notice, _ = send(make_campaign("notice", purpose=Campaign.Purpose.SERVICE), person, now=NOON)
    assert notice.status == "delivered" and notice.marketing is False


def test_the_holdout_never_receives_the_message(django_capture_on_commit_callbacks):
    campaign = make_campaign(holdout_pct=50)
    people = [customer(email=f"p{i}@example.com") for i in range(16)]
    with django_capture_on_commit_callbacks(execute=True):
        messages = [send(campaign, p, now=NIGHT)[0] for p in people]
        services.deliver_due_messages(now=MORNING)
    held = [m for m in messages if m.arm == "holdout"]
    assert held, "with 16 customers and a 50 % holdout some are held out"
    for m in held:
        m.refresh_from_db()
        assert (m.status, m.delivered_at, m.emailed_at, m.deliver_at) == ("held_out", None, None, None)
        assert list(inbox_of(customer=m.customer)) == []
    treated = len(messages) - len(held)
    assert sorted(e.to[0] for e in mail.outbox) == sorted(m.customer.email for m in messages if m.arm != "holdout")
    assert len(mail.outbox) == treated


def test_an_unsuitable_product_is_never_offered_and_a_type_offer_uses_a_suitable_one():
    risky = ProductFactory(type=ProductType.FUND, residency=["CN"], risk_level=5, min_amount=Decimal("0"))
    safe = ProductFactory(type=ProductType.FUND, residency=["CN"], risk_level=2, min_amount=Decimal("0"),
                          expected_return_max=Decimal("3.000"), expected_return_min=Decimal("2.000"))
    person = customer(risk_tolerance=2)
    refused, _ = send(make_campaign("risky", product=risky), person)
    assert (refused.status, refused.suppression_reason, refused.product) == ("suppressed", "not_suitable", None)
    offered, _ = send(make_campaign("funds", product_type=ProductType.FUND), person)
    assert offered.status == "delivered" and offered.product == safe
    assert offered.why["product"] == {"code": safe.code, "source": "catalogue", "suitability": "passed"}
    assert offered.body == f"Your balance is CNY 15,000.00. Try {safe.name_en} (2.00–3.00%)."


def test_variant_templates_are_validated_on_save():
    campaign = Campaign.objects.create(code="bad", name="bad", status=Campaign.Status.ACTIVE)
    variant = CampaignVariant(campaign=campaign, subject_en="Hi {{ nickname }}", body_en="{{ product_name }}",
                              subject_zh="你好", body_zh="{{ salary_amount }}")
    with pytest.raises(ValidationError) as error:
        variant.full_clean()
    assert set(error.value.message_dict) == {"subject_en", "body_en", "body_zh"}
    service = Campaign(code="svc", name="svc", purpose=Campaign.Purpose.SERVICE, product_type=ProductType.FUND)
    with pytest.raises(ValidationError):
        service.full_clean()


def test_a_launch_reaches_the_audience_once_and_the_report_counts_each_arm():
    campaign = make_campaign(holdout_pct=30, audience={"income_min": "100000"}, kind=Campaign.Kind.SCHEDULED)
    rich = [customer(declared_annual_income=Decimal("240000")) for _ in range(12)]
    customer(declared_annual_income=Decimal("50000"))  # outside the audience
    customer(declared_annual_income=Decimal("300000"), consent_marketing=False)
    result = services.launch_campaign(campaign=campaign, now=NOON)
    assert result.audience == 13 and result.created == 13
    assert result.by_status.get("suppressed") == 1
    assert services.launch_campaign(campaign=campaign, now=NOON).created == 0
    report = campaign_report(campaign=campaign)
    arms = {a.arm: a.customers for a in report.arms}
    assert sum(arms.values()) == 12 and arms["holdout"] == sum(m.arm == "holdout" for m in Message.objects.filter(
        customer__in=rich))
    assert report.suppressed == {"no_marketing_consent": 1} and not report.measurable


def test_the_report_counts_a_purchase_of_the_promoted_product_as_a_conversion():
    product = ProductFactory(min_amount=Decimal("0"))
    campaign = make_campaign(product=product, holdout_pct=50)
    people = [customer() for _ in range(10)]
    messages = [send(campaign, p)[0] for p in people]
    treated = [m for m in messages if m.arm == "a"]
    held = [m for m in messages if m.arm == "holdout"]
    today = date.today()
    HoldingFactory(customer=treated[0].customer, product=product, opened_on=today)
    HoldingFactory(customer=held[0].customer, product=product, opened_on=today)
    HoldingFactory(customer=held[1].customer, product=ProductFactory(), opened_on=today)  # another product
    HoldingFactory(customer=treated[1].customer, product=product, opened_on=today + timedelta(days=30))  # too late
    report = campaign_report(campaign=campaign)
    got = {a.arm: (a.customers, a.conversions) for a in report.arms}
    assert got == {"a": (len(treated), 1), "holdout": (len(held), 1)}
    (lift,) = report.uplifts
    assert lift.absolute == pytest.approx(1 / len(treated) - 1 / len(held))


# --- Triggers ----------------------------------------------------------------------------------------------


def test_birthday_trigger_greets_once_a_year():
    hero = customer(birth_date=date(1990, 12, 3))
    customer(birth_date=date(1990, 12, 4))
    campaign = make_campaign("birthday", kind=Campaign.Kind.TRIGGER, trigger=TriggerKind.BIRTHDAY)
    assert scan_trigger(campaign=campaign, now=NOON) == {"events": 1, "new": 1, "delivered": 1}
    assert scan_trigger(campaign=campaign, now=NOON + timedelta(hours=1)) == {"events": 1, "new": 0}
    message = Message.objects.get(campaign=campaign)
    assert (message.customer, message.occurrence) == (hero, "birthday:2026")
    assert message.why["event"] == {"event": "birthday", "date": "2026-12-03", "age": 36}


def test_salary_trigger_fires_for_new_salary_credits_only():
    person = customer()
    account = person.accounts.get()
    TransactionFactory(account=account, amount=Decimal("18600.00"), category=SpendingCategory.SALARY,
                       timestamp=NOON - timedelta(days=20))  # too old for the first scan
    credit = TransactionFactory(account=account, amount=Decimal("18600.00"), category=SpendingCategory.SALARY,
                                timestamp=NOON - timedelta(hours=3))
    TransactionFactory(account=account, amount=Decimal("-50.00"), timestamp=NOON - timedelta(hours=2))
    campaign = make_campaign("salary", kind=Campaign.Kind.TRIGGER, trigger=TriggerKind.SALARY)
    variant = campaign.variants.get()
    variant.body_en = "{{ salary_amount }} arrived."
    variant.full_clean()
    variant.save()
    assert scan_trigger(campaign=campaign, now=NOON)["new"] == 1
    message = Message.objects.get(campaign=campaign)
    assert (message.occurrence, message.body) == (f"salary:{credit.pk}", "CNY 18,600.00 arrived.")
    assert scan_trigger(campaign=campaign, now=NOON) == {"events": 0, "new": 0}
    TransactionFactory(account=account, amount=Decimal("18700.00"), category=SpendingCategory.SALARY,
                       timestamp=NOON + timedelta(days=30))
    assert scan_trigger(campaign=campaign, now=NOON + timedelta(days=30, hours=1))["new"] == 1


def test_deposit_maturing_notice_is_a_service_message_sent_without_marketing_consent():
    person = customer(consent_marketing=False, preferred_language="zh-hans", full_name="陈静")
    deposit = ProductFactory(type=ProductType.DEPOSIT)
    soon = HoldingFactory(customer=person, product=deposit, amount=Decimal("50000"),
                          maturity_date=date(2026, 12, 10))
    HoldingFactory(customer=person, product=deposit, maturity_date=date(2027, 3, 1))  # too far
    HoldingFactory(customer=person, product=deposit, maturity_date=date(2026, 12, 9), status=Holding.Status.CLOSED)
    campaign = make_campaign("maturity", kind=Campaign.Kind.TRIGGER, trigger=TriggerKind.DEPOSIT_MATURING,
                             purpose=Campaign.Purpose.SERVICE, trigger_params={"days": 14})
    variant = campaign.variants.get()
    variant.body_zh = "{{ first_name }}，您的{{ amount }}定期将于{{ maturity_date }}到期。"
    variant.full_clean()
    variant.save()
    assert scan_trigger(campaign=campaign, now=NOON) == {"events": 1, "new": 1, "delivered": 1}
    message = Message.objects.get(campaign=campaign)
    assert message.occurrence == f"maturity:{soon.pk}:2026-12-10"
    assert message.body == "陈静，您的50,000.00元定期将于2026年12月10日到期。" and not message.marketing


def test_idle_balance_trigger_finds_large_balances_with_little_outflow():
    idle = customer()
    idle.accounts.update(balance=Decimal("250000"))
    busy = customer()
    busy.accounts.update(balance=Decimal("250000"))
    TransactionFactory(account=busy.accounts.get(), amount=Decimal("-9000"), timestamp=NOON - timedelta(days=3))
    small = customer()  # 15,000: below the threshold
    AccountFactory(customer=idle, type=AccountType.SAVINGS, balance=Decimal("1000"))
    TransactionFactory(account=idle.accounts.filter(type=AccountType.CURRENT).get(), amount=Decimal("-500"),
                       timestamp=NOON - timedelta(days=3))
    campaign = make_campaign("idle", kind=Campaign.Kind.TRIGGER, trigger=TriggerKind.IDLE_BALANCE,
                             trigger_params={"threshold": "100000", "days": 30, "max_outflow": "2000"})
    assert scan_trigger(campaign=campaign, now=NOON)["new"] == 1
    message = Message.objects.get(campaign=campaign)
    assert message.customer == idle and message.occurrence == "idle:2026-12"
    assert message.why["event"]["balance"] == "251000.00" and message.why["event"]["outflow"] == "500.00"
    assert message.body == "Your balance is CNY 251,000.00."
    assert not Message.objects.filter(customer__in=[busy, small]).exists()


def test_the_demo_campaigns_install_validly_send_once_and_rerun_idempotently():
    from advisor.engagement.demo import CAMPAIGNS, run_demo_campaigns

    ProductFactory(type=ProductType.DEPOSIT, min_amount=Decimal("0"))
    rich = customer(birth_date=date(1985, 12, 3))
    rich.accounts.update(balance=Decimal("150000"))
    HoldingFactory(customer=rich, product=ProductFactory(type=ProductType.DEPOSIT), maturity_date=date(2026, 12, 9))
    first = run_demo_campaigns(now=NOON)
    assert Campaign.objects.filter(status="active").count() == len(CAMPAIGNS)
    assert first["birthday"] == {"events": 1, "new": 1, "delivered": 1}
    assert first["deposit-maturing"] == {"events": 1, "new": 1, "delivered": 1}
    assert sum(first["winter-deposit"].values()) == 1
    count = Message.objects.count()
    again = run_demo_campaigns(now=NOON)
    assert Message.objects.count() == count and again["birthday"] == {"events": 1, "new": 0}


# --- Batches -------------------------------------------------------------------------------------------------


def mixed_audience():
    """Customers who between them meet every rule: no consent, at or near the cap, unsuitable or suitable
    products, recommendation sets (the latest one counts), no money, both languages."""
    from advisor.models import Recommendation, RecommendationSet
    from bank.models import ModelVersion

    risky = ProductFactory(type=ProductType.FUND, residency=["CN"], risk_level=5, min_amount=Decimal("0"),
                           expected_return_max=Decimal("9.000"))
    safe = ProductFactory(type=ProductType.FUND, residency=["CN"], risk_level=2, min_amount=Decimal("0"),
                          expected_return_max=Decimal("3.000"), expected_return_min=Decimal("2.000"))
    humble = ProductFactory(type=ProductType.FUND, residency=["CN"], risk_level=1, min_amount=Decimal("0"),
                            expected_return_max=Decimal("2.000"), expected_return_min=Decimal("1.000"))
    dear = ProductFactory(type=ProductType.FUND, residency=["CN"], risk_level=1, min_amount=Decimal("50000"),
                          expected_return_max=Decimal("4.000"))
    version = ModelVersion.objects.create(name="recommender", version=1)
    earlier = [make_campaign(f"earlier-{i}") for i in range(2)]
    people = []
    for i in range(24):
        person = customer(consent_marketing=i % 5 != 0, risk_tolerance=1 + i % 5, full_name=f"王小{i}" if i % 2 else
                          f"Ann {i}", preferred_language="zh-hans" if i % 2 else "en")
        if i % 7 == 3:
            person.accounts.update(balance=Decimal("80000"))
        for campaign in earlier[:i % 3]:  # 0, 1 or 2 recent marketing messages
            send(campaign, person, now=NOON - timedelta(days=1))
        if i % 4 == 1:
            for ranked in ([humble], [risky, dear, safe]):  # the second set is the latest
                rec_set = RecommendationSet.objects.create(customer=person, model_version=version, channel="batch")
                for rank, product in enumerate(ranked, start=1):
                    Recommendation.objects.create(recommendation_set=rec_set, customer=person, product=product,
                                                  model_version=version, rank=rank, score=1.0, driver="test")
        people.append(person)
    # No account, and resident where no fund is sold: nothing suitable.
    people.append(CustomerFactory(email="", preferred_language="en", consent_marketing=True, residency="US"))
    return people, risky


def outcome(message: Message, created: bool) -> tuple:
    return (message.customer_id, message.occurrence, created, message.status, message.suppression_reason,
            message.arm, message.product_id, message.language, message.subject, message.body, message.deliver_at,
            message.delivered_at, message.why)


@pytest.mark.parametrize(("offer", "now"), [("type", NOON), ("product", NIGHT), ("service", NOON)])
def test_a_batch_decides_exactly_what_one_at_a_time_sends_decide(settings, offer, now, django_assert_max_num_queries):
    settings.MESSAGE_FREQUENCY_CAP = 2
    people, risky = mixed_audience()
    fields = {"type": {"product_type": ProductType.FUND}, "product": {"product": risky},
              "service": {"purpose": Campaign.Purpose.SERVICE}}[offer]
    first, second = services.Event(occurrence="x:1", detail={"n": 1}), services.Event(occurrence="x:2", detail={})
    # Everyone once; some twice (the second message meets the cap the first one filled); one item repeated.
    items = sorted([(p.pk, first) for p in people] + [(p.pk, second) for p in people[::3]] + [(people[9].pk, first)],
                   key=lambda item: item[0])
    rule = {"test": "batch"}
    by_id = {p.pk: p for p in people}
    # Arms hash the campaign's and the customer's ids, which depend on what ran before: take the first campaign
    # whose arms put someone eligible in the holdout and someone in treatment, so every path below is exercised.
    for attempt in range(20):
        campaign = make_campaign(f"mixed-{attempt}", variants=2, holdout_pct=30, variant_b_pct=50, **fields)
        send(campaign, people[6], occurrence="x:1", now=now - timedelta(hours=1))  # already decided: kept as is
        one_by_one = [services.send_message(campaign=campaign, customer=by_id[pk], event=event, rule=rule, now=now)
                      for pk, event in items]
        expected = [outcome(m, created) for m, created in one_by_one]
        statuses = {status for _, _, _, status, *_ in expected}
        if "held_out" in statuses and statuses & {"delivered", "scheduled"}:
            break
        Message.objects.filter(campaign=campaign).delete()
    Message.objects.filter(pk__in=[m.pk for m, created in one_by_one if created]).delete()
    with django_assert_max_num_queries(16):
        batch = services.send_messages(campaign=campaign, items=items, rule=rule, now=now)
    assert [outcome(m, created) for m, created in batch] == expected
    stored = {(m.customer_id, m.occurrence): m for m in Message.objects.filter(campaign=campaign)}
    assert [outcome(stored[(m.customer_id, m.occurrence)], created) for m, created in batch] == expected

    outcomes = {(status, reason) for _, _, _, status, reason, *_ in expected}
    assert ("held_out", "") in outcomes and any(created is False for _, _, created, *_ in expected)
    if offer == "service":
        assert outcomes == {("delivered", ""), ("held_out", "")}
    else:
        assert {("suppressed", "no_marketing_consent"), ("suppressed", "frequency_cap")} <= outcomes
        assert (("scheduled", "") if now == NIGHT else ("delivered", "")) in outcomes
        assert ("suppressed", "no_suitable_product" if offer == "type" else "not_suitable") in outcomes
    if offer == "type":
        sources = {why["product"]["source"].partition(":")[0] for *_, why in expected if why["product"]}
        assert sources == {"recommendation", "catalogue"}
