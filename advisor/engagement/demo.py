"""Demo campaigns, so the inbox and the campaign admin are not empty: a winter deposit offer with an A/B test and
a holdout, a birthday greeting, a maturity notice (a service message) and an idle-balance nudge toward wealth
products. Idempotent: campaigns are found by code, and sending again adds nothing for customers already decided."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from advisor.engagement.models import Campaign, CampaignVariant, TriggerKind
from products.models import ProductType

CAMPAIGNS: list[dict[str, Any]] = [
    {
        "code": "winter-deposit", "name": "Winter deposit offer (A/B)", "kind": Campaign.Kind.SCHEDULED,
        "product_type": ProductType.DEPOSIT, "holdout_pct": 10, "variant_b_pct": 50, "conversion_days": 30,
        "audience": {"balance_min": "20000"},
        "variants": {
            "a": ("A better home for your savings, {{ first_name }}",
                  "You keep {{ balance }} in your current and savings accounts. {{ product_name }} pays "
                  "{{ product_rate }} a year: have a look.",
                  "{{ first_name }}，给您的存款找个更好的去处",
                  "您的活期及储蓄账户余额为{{ balance }}。{{ product_name }}年化收益{{ product_rate }}，欢迎了解。"),
            "b": ("{{ first_name }}, lock in {{ product_rate }} before the year ends",
                  "Rates change. {{ product_name }} gives you {{ product_rate }} a year, fixed.",
                  "{{ first_name }}，年底前锁定{{ product_rate }}收益",
                  "利率会变，{{ product_name }}为您锁定年化{{ product_rate }}。"),
        },
    },
    {
        "code": "birthday", "name": "Birthday greeting", "kind": Campaign.Kind.TRIGGER,
        "trigger": TriggerKind.BIRTHDAY, "holdout_pct": 0,
        "variants": {"a": ("Happy birthday, {{ first_name }}!",
                           "Everyone at the bank wishes you a happy birthday and a wonderful year ahead.",
                           "{{ first_name }}，生日快乐！", "祝您{{ age }}岁生日快乐，新的一年万事如意！")},
    },
    {
        "code": "deposit-maturing", "name": "Deposit maturity notice", "kind": Campaign.Kind.TRIGGER,
        "trigger": TriggerKind.DEPOSIT_MATURING, "purpose": Campaign.Purpose.SERVICE, "holdout_pct": 0,
        "trigger_params": {"days": 14},
        "variants": {"a": ("Your deposit matures on {{ maturity_date }}",
                           "Your deposit of {{ amount }} matures on {{ maturity_date }}. Unless you tell us "
                           "otherwise, the money is paid into your current account.",
                           "您的定期存款将于{{ maturity_date }}到期",
                           "您的{{ amount }}定期存款将于{{ maturity_date }}到期。"
                           "如无其他安排，本息将转入您的活期账户。")},
    },
    {
        "code": "idle-balance", "name": "Idle balance: consider a wealth product", "kind": Campaign.Kind.TRIGGER,
        "trigger": TriggerKind.IDLE_BALANCE, "product_type": ProductType.WEALTH, "holdout_pct": 20,
        "trigger_params": {"threshold": "100000", "days": 30, "max_outflow": "2000"},
        "variants": {"a": ("Your {{ balance }} could be working harder",
                           "{{ first_name }}, your balance has been resting for a month. {{ product_name }} "
                           "({{ product_rate }} a year) suits your risk profile.",
                           "您的{{ balance }}可以更好地增值",
                           "{{ first_name }}，您的余额已闲置一个月。{{ product_name }}（年化{{ product_rate }}）"
                           "符合您的风险承受能力。")},
    },
]


def install_demo_campaigns() -> list[Campaign]:
    """Create (or find) the demo campaigns, active, each with its variants validated like the admin does."""
    campaigns = []
    with transaction.atomic():
        for spec in CAMPAIGNS:
            spec = dict(spec)
            variants = spec.pop("variants")
            campaign, created = Campaign.objects.get_or_create(
                code=spec.pop("code"), defaults={**spec, "status": Campaign.Status.ACTIVE})
            if created:
                campaign.full_clean()
                for arm, (subject_en, body_en, subject_zh, body_zh) in variants.items():
                    variant = CampaignVariant(campaign=campaign, arm=arm, subject_en=subject_en, body_en=body_en,
                                              subject_zh=subject_zh, body_zh=body_zh)
                    variant.full_clean()
                    variant.save()
            campaigns.append(campaign)
    return campaigns


def last_sending_time(now: datetime) -> datetime:
    """`now`, or when it falls in quiet hours the last minute before they began.

    The demo bank's history ends now; a demo set up at night would otherwise leave every message waiting for the
    morning and the inbox empty, so the demo's campaigns are run as of the evening before instead.
    """
    from django.conf import settings

    from advisor.engagement.rules import in_quiet_hours
    from advisor.engagement.services import bank_tz

    start, end, tz = settings.MESSAGE_QUIET_START, settings.MESSAGE_QUIET_END, bank_tz()
    if not in_quiet_hours(now, start=start, end=end, tz=tz):
        return now
    local = now.astimezone(tz)
    evening = local.replace(hour=start, minute=0, second=0, microsecond=0) - timedelta(minutes=1)
    if evening > local:  # after midnight: quiet hours began the evening before
        evening -= timedelta(days=1)
    return evening


def run_demo_campaigns(*, now: datetime | None = None) -> dict[str, Any]:
    """Install the campaigns, send the scheduled one, scan the triggers once, deliver what is due."""
    from advisor.engagement.services import deliver_due_messages, launch_campaign
    from advisor.engagement.triggers import scan_triggers

    now = now or last_sending_time(timezone.now())
    results: dict[str, Any] = {}
    for campaign in install_demo_campaigns():
        if campaign.kind == Campaign.Kind.SCHEDULED:
            results[campaign.code] = launch_campaign(campaign=campaign, now=now).by_status
    results.update(scan_triggers(now=now))
    results["delivered_now"] = deliver_due_messages(now=now)
    return results
