"""Personalised messages, the pure parts: templates and formatting in both languages, quiet hours, the send
decision, the A/B/holdout split and the uplift statistics (exact numbers), birthdays, audience specs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from advisor.engagement import rendering
from advisor.engagement.audience import birth_date_bounds, validate_audience
from advisor.engagement.experiment import ArmResult, assign_arm, uplift
from advisor.engagement.rules import Decision, decide, in_quiet_hours, next_allowed_time
from advisor.engagement.triggers import birthday_matches

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_templates_render_the_customers_data_in_english_and_chinese():
    facts = rendering.MessageFacts(full_name="李小龙", age=41, balance=Decimal("123456.785"),
                                   product_name_en="12-month deposit", product_name_zh="一年期定期存款",
                                   rate_min=Decimal("1.8"), rate_max=Decimal("2.1"),
                                   maturity_date=date(2026, 12, 5), amount=Decimal("50000"))
    en = rendering.render("Dear {{ first_name }}, {{product_name}} pays {{ product_rate }}; you hold {{ balance }}; "
                          "{{ amount }} matures on {{ maturity_date }}.", rendering.values_for(facts, "en"))
    zh = rendering.render("{{ first_name }}您好：{{ product_name }}年化{{ product_rate }}，您的余额{{ balance }}，"
                          "{{ amount }}将于{{ maturity_date }}到期。", rendering.values_for(facts, "zh-hans"))
    assert en == ("Dear 小龙, 12-month deposit pays 1.80–2.10%; you hold CNY 123,456.79; CNY 50,000.00 matures on "
                  "5 December 2026.")
    assert zh == "小龙您好：一年期定期存款年化1.80–2.10%，您的余额123,456.79元，50,000.00元将于2026年12月5日到期。"
    assert rendering.first_name("Emily Carter") == "Emily"
    assert rendering.first_name("王芳") == "王芳"


def test_templates_allow_only_known_placeholders_and_no_tags():
    with pytest.raises(rendering.TemplateError) as unknown:
        rendering.placeholders_in("Hi {{ customer.national_id }}")
    assert unknown.value.code == "template_syntax"
    with pytest.raises(rendering.TemplateError) as unknown_name:
        rendering.placeholders_in("Hi {{ password }}")
    assert unknown_name.value.code == "unknown_placeholder"
    for bad in ("{% load static %}", "{{ first_name|upper }}", "{# note #}"):
        with pytest.raises(rendering.TemplateError):
            rendering.placeholders_in(bad)
    # A missing value fails loudly instead of printing a blank.
    with pytest.raises(rendering.TemplateError) as missing:
        rendering.render("{{ salary_amount }}", {"first_name": "A"})
    assert missing.value.code == "missing_value"
    assert rendering.placeholders_in("{{ first_name }} {{ balance }}") == {"first_name", "balance"}


def test_quiet_hours_move_a_message_to_eight_in_the_morning_bank_time():
    def at(hour: int, minute: int = 0, day: int = 3) -> datetime:
        return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)

    rules = {"start": 21, "end": 8, "tz": SHANGHAI}
    assert not in_quiet_hours(at(20, 59), **rules)
    assert in_quiet_hours(at(21), **rules) and in_quiet_hours(at(2), **rules)
    assert next_allowed_time(at(14), **rules) == at(14)
    assert next_allowed_time(at(22, 30), **rules) == at(8, day=4)
    assert next_allowed_time(at(6, 15), **rules) == at(8)
    utc = datetime(2026, 12, 3, 14, 0, tzinfo=ZoneInfo("UTC"))  # 22:00 in Shanghai
    assert next_allowed_time(utc, **rules) == at(8, day=4)
    assert not in_quiet_hours(at(23), start=8, end=8, tz=SHANGHAI)


def test_the_send_decision_applies_consent_then_cap_then_holdout_then_quiet_hours():
    noon, night = datetime(2026, 12, 3, 12, tzinfo=SHANGHAI), datetime(2026, 12, 3, 23, tzinfo=SHANGHAI)
    base = {"marketing": True, "consented": True, "recent_marketing": 0, "cap": 3, "arm": "a", "now": noon,
            "quiet_start": 21, "quiet_end": 8, "tz": SHANGHAI}
    assert decide(**{**base, "consented": False}) == Decision("suppressed", "no_marketing_consent")
    assert decide(**{**base, "consented": False, "arm": "holdout"}).reason == "no_marketing_consent"
    assert decide(**{**base, "recent_marketing": 3}).reason == "frequency_cap"
    assert decide(**{**base, "recent_marketing": 2}).status == "delivered"
    assert decide(**{**base, "arm": "holdout"}).status == "held_out"
    assert decide(**{**base, "now": night}) == Decision("scheduled", "", datetime(2026, 12, 4, 8, tzinfo=SHANGHAI))
    # A service notice needs no marketing consent and ignores the cap, but still waits for the morning.
    service = {**base, "marketing": False, "consented": False, "recent_marketing": 9}
    assert decide(**service).status == "delivered"
    assert decide(**{**service, "now": night}).status == "scheduled"


def test_arm_assignment_is_deterministic_and_splits_by_the_shares():
    arms = [assign_arm(campaign_id=7, customer_id=c, holdout_pct=10, b_pct=50) for c in range(20_000)]
    assert arms == [assign_arm(campaign_id=7, customer_id=c, holdout_pct=10, b_pct=50) for c in range(20_000)]
    share = {arm: arms.count(arm) / len(arms) for arm in ("a", "b", "holdout")}
    assert share["holdout"] == pytest.approx(0.10, abs=0.01)
    assert share["a"] == pytest.approx(0.45, abs=0.015) and share["b"] == pytest.approx(0.45, abs=0.015)
    assert {assign_arm(campaign_id=7, customer_id=c, holdout_pct=0, b_pct=0) for c in range(500)} == {"a"}
    other = [assign_arm(campaign_id=8, customer_id=c, holdout_pct=10, b_pct=50) for c in range(20_000)]
    assert other != arms  # campaigns split independently
    with pytest.raises(ValueError):
        assign_arm(campaign_id=1, customer_id=1, holdout_pct=120, b_pct=0)


def test_uplift_exact_numbers():
    result = uplift(ArmResult("a", customers=1000, conversions=60), ArmResult("holdout", customers=1000,
                                                                              conversions=40))
    assert result is not None
    assert (result.rate, result.control_rate) == (0.06, 0.04)
    assert result.absolute == pytest.approx(0.02, abs=1e-12)
    assert result.relative == pytest.approx(0.5, abs=1e-12)
    # pooled p = 0.05, se = sqrt(0.05 * 0.95 * 2 / 1000) = 0.0097468, z = 0.02 / se
    assert result.z == pytest.approx(2.0519567, abs=1e-6)
    assert result.p_value == pytest.approx(0.0401739, abs=1e-6)
    assert (result.ci_low, result.ci_high) == (pytest.approx(0.0009168, abs=1e-6), pytest.approx(0.0390832,
                                                                                                 abs=1e-6))
    assert result.significant
    flat = uplift(ArmResult("b", 200, 10), ArmResult("holdout", 100, 5))
    assert flat is not None and flat.absolute == 0 and flat.z == 0 and flat.p_value == 1.0 and not flat.significant
    nobody = uplift(ArmResult("a", 50, 0), ArmResult("holdout", 50, 0))
    assert nobody is not None and nobody.z is None and nobody.relative is None
    assert uplift(ArmResult("a", 10, 1), ArmResult("holdout", 0, 0)) is None


def test_birthdays_including_the_29th_of_february():
    assert birthday_matches(date(1990, 12, 3), date(2026, 12, 3))
    assert not birthday_matches(date(1990, 12, 4), date(2026, 12, 3))
    assert birthday_matches(date(1992, 2, 29), date(2027, 2, 28))
    assert not birthday_matches(date(1992, 2, 29), date(2028, 2, 28))
    assert birthday_matches(date(1992, 2, 29), date(2028, 2, 29))


def test_audience_specs_are_validated_and_ages_become_birth_dates():
    spec = validate_audience({"age_min": 30, "age_max": 40, "income_min": 100000, "life_stages": ["retired"],
                              "holds_types": ["credit_card"]})
    assert spec == {"age_min": 30, "age_max": 40, "income_min": "100000", "life_stages": ["retired"],
                    "holds_types": ["credit_card"]}
    with pytest.raises(ValidationError) as bad:
        validate_audience({"age_min": 50, "age_max": 40, "colour": "red", "risk_max": 9,
                           "holds_types": ["loan"], "not_holds_types": ["loan"], "life_stages": ["pirate"]})
    assert len(bad.value.messages) == 5
    assert birth_date_bounds(age_min=30, age_max=40, today=date(2026, 12, 3)) == (date(1985, 12, 4),
                                                                                 date(1996, 12, 3))


@pytest.mark.parametrize(("local", "expected"), [
    (datetime(2026, 12, 2, 3, 51), datetime(2026, 12, 1, 20, 59)),  # after midnight: the evening before
    (datetime(2026, 12, 1, 22, 30), datetime(2026, 12, 1, 20, 59)),  # late evening: this evening
    (datetime(2026, 12, 1, 10, 15), datetime(2026, 12, 1, 10, 15)),  # daytime: now
])
def test_the_demo_sends_as_of_the_last_minute_outside_quiet_hours(settings, local, expected):
    from advisor.engagement.demo import last_sending_time

    settings.MESSAGE_QUIET_START, settings.MESSAGE_QUIET_END = 21, 8
    tz = ZoneInfo(settings.TIME_ZONE)
    assert last_sending_time(local.replace(tzinfo=tz)) == expected.replace(tzinfo=tz)
