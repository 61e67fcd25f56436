"""Scoring customers' credit risk with the active model, and the policy that turns a PD into a decision."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_UP, Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from bank import audit
from bank.jobs import Progress
from customers.models import Account, AccountType, Customer
from risk.ml.dataset import credit_rows, data_end, features_json
from risk.ml.scoring import active_credit_model
from risk.models import CreditPolicy, CreditScore, Intervention
from risk.reasons import credit_reasons

SCORE_BATCH = 2000
CREDIT_RULE = "credit-pd-above-decline"


class NoActiveCreditModel(Exception):
    """No credit model is active yet (train one: `python manage.py train_credit`)."""


def credit_policy() -> CreditPolicy:
    policy, _ = CreditPolicy.objects.get_or_create(pk=1)
    return policy


def decide(pd: float, policy: CreditPolicy) -> str:
    if pd < policy.approve_below:
        return CreditScore.Outcome.APPROVE
    if pd >= policy.decline_from:
        return CreditScore.Outcome.DECLINE
    return CreditScore.Outcome.REFER


def score_customers(
    *, customer_ids: list[int] | None = None, window_end: date | None = None, propose_interventions: bool = True,
    progress: Progress | None = None,
) -> list[CreditScore]:
    """Score `customer_ids` (default: every customer) with the active `risk.credit` version and store a CreditScore
    per customer: both models' PDs, the serving model's decision, its top reasons (codes and words, en/zh), the
    features as scored. Each batch is written in one transaction together with the customers' risk grades.

    A customer whose PD reaches the decline cut-off and who has a credit card gets a proposed (not applied)
    limit reduction from the rule CREDIT_RULE, for a risk officer to approve. Raises NoActiveCreditModel.
    """
    from risk.services.grades import refresh_risk_grades
    from risk.services.interventions import propose_intervention

    loaded = active_credit_model()
    if loaded is None:
        raise NoActiveCreditModel("No credit model is active.")
    policy = credit_policy()
    serving = policy.serving_model
    end = window_end or data_end() or timezone.localdate()
    ids = customer_ids
    if ids is None:
        ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    advance = progress("Scoring customers' credit risk", len(ids)) if progress else None
    stored: list[CreditScore] = []
    for start in range(0, len(ids), SCORE_BATCH):
        chunk = ids[start:start + SCORE_BATCH]
        rows, _ = credit_rows(window_end=end, feature_days=loaded.feature_days, customer_ids=chunk)
        scored = loaded.model.score(rows.table)
        pds = scored.pd_gbm if serving == CreditPolicy.Serving.GBM else scored.pd_scorecard
        points = loaded.model.points_of(pds) if serving == CreditPolicy.Serving.GBM else scored.points
        batch = []
        for i, customer_id in enumerate(rows.customer_ids.tolist()):
            en, zh, codes = credit_reasons(scored.factors(i, serving, top=3))
            pd = float(pds[i])
            batch.append(CreditScore(
                customer_id=customer_id, model_version=loaded.version, serving_model=serving, pd=round(pd, 6),
                pd_gbm=round(float(scored.pd_gbm[i]), 6), pd_scorecard=round(float(scored.pd_scorecard[i]), 6),
                points=int(np.round(points[i])), decision=decide(pd, policy), reason_codes=codes, reasons_en=en,
                reasons_zh=zh, features=features_json(rows.table, i), as_of=end,
            ))
        with transaction.atomic():
            created = CreditScore.objects.bulk_create(batch)
            refs = dict(Customer.objects.filter(pk__in=[s.customer_id for s in created])
                        .values_list("pk", "external_ref"))
            audit.record_many(action="credit.decision", channel="worker", events=[
                (f"credit_score:{score.pk}", refs[score.customer_id],
                 {"decision": score.decision, "pd": score.pd, "model": loaded.version.label,
                  "serving_model": serving, "reason_codes": score.reason_codes})
                for score in created
            ])
            refresh_risk_grades(customer_ids=[s.customer_id for s in created])
            if propose_interventions:
                for score in created:
                    if score.decision == CreditScore.Outcome.DECLINE:
                        _propose_limit_cut(score, propose_intervention)
        stored.extend(created)
        if advance:
            advance(len(chunk))
    return stored


def _propose_limit_cut(score: CreditScore, propose: Any) -> None:
    """Half the limit, never below what is owed (rounded up to 1,000), once per card while one is pending."""
    cards = Account.objects.filter(customer_id=score.customer_id, type=AccountType.CREDIT_CARD,
                                   status=Account.Status.ACTIVE)
    for card in cards:
        if Intervention.objects.filter(account=card, kind=Intervention.Kind.LOWER_CREDIT_LIMIT,
                                       status__in=[Intervention.Status.PROPOSED, Intervention.Status.ACTIVE]).exists():
            continue
        limit = card.credit_limit
        if limit is None:
            # Impossible for a saved card: the account_card_has_credit_limit constraint requires one.
            raise ValueError(f"Credit card account {card.pk} has no credit limit.")
        owed = max(card.balance, Decimal("0"))
        new_limit = max(limit / 2, (owed / 1000).quantize(Decimal("1"), rounding=ROUND_UP) * 1000)
        new_limit = new_limit.quantize(Decimal("1"))
        if new_limit >= limit:
            continue
        propose(
            customer=score.customer, account=card, kind=Intervention.Kind.LOWER_CREDIT_LIMIT,
            reason=Intervention.Reason.REPAYMENT_DIFFICULTY, params={"new_limit": str(new_limit)},
            rationale=(f"PD {score.pd:.1%} at or above the decline cut-off ({score.model_version.label}, "
                       f"{score.serving_model}); top reasons: {'; '.join(score.reasons_en)}."),
            evidence={"credit_score_id": score.pk, "pd": score.pd, "reason_codes": score.reason_codes},
            rule_code=CREDIT_RULE,
        )


def score_customer(*, customer: Customer) -> CreditScore:
    """Score one customer now (see score_customers). Raises NoActiveCreditModel."""
    return score_customers(customer_ids=[customer.pk])[0]
