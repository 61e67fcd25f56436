"""Every change to an application, one function per transition. Each is atomic on the locked application row,
checks the move against the state machine (models.TRANSITIONS) and writes an ApplicationEvent (who, when, why);
an illegal move raises IllegalTransition and changes nothing.

The decision (`decide_application`) reads the customer's reason with the language model first, outside any
transaction (seconds on a CPU, and a pure read), then runs every check and stores the outcome in ONE transaction:
if anything fails mid-way, the application is still `submitted`, with no checks, no events and no credit score
written, and the error is kept on the row (in its own small update) for staff.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from advisor.applications import checks
from advisor.applications.checks import CheckResult, CreditFacts, ProductFacts
from advisor.applications.models import (
    TRANSITIONS,
    Application,
    ApplicationEvent,
    ApplicationSource,
    ApplicationState,
)
from advisor.applications.reading import read_needs
from advisor.models import Recommendation
from advisor.services import IdempotencyConflict
from advisor.suitability import CustomerFacts, SuitabilityGate, catalogue_rules
from bank import audit, request_keys
from customers.models import (
    Account,
    AccountType,
    Channel,
    Customer,
    Holding,
    InteractionEvent,
    ProductInteraction,
    ProfileSnapshot,
    SpendingCategory,
    Transaction,
)
from products.models import Liquidity, Product, ProductType

logger = logging.getLogger(__name__)
S = ApplicationState

__all__ = [
    "ApplicationError", "IdempotencyConflict", "IllegalTransition", "SubmitResult", "activate_application",
    "decide_application", "decide_referred", "expire_offers", "submit_application", "withdraw_application",
]

ACCOUNT_PREFIX = {AccountType.CREDIT_CARD: "62586", AccountType.LOAN: "88010"}
# Where an application came from -> the interaction channel the recommender reads. Keyed by str: an
# application's `source` is read back from the database as a plain string.
_INTERACTION_CHANNEL: dict[str, Channel] = {
    ApplicationSource.API: Channel.ONLINE, ApplicationSource.PRODUCT_PAGE: Channel.ONLINE,
    ApplicationSource.RECOMMENDATION: Channel.ONLINE, ApplicationSource.CHAT: Channel.APP,
    ApplicationSource.BRANCH: Channel.BRANCH,
}
MAX_REASON_LENGTH = 500


class ApplicationError(Exception):
    """The request cannot be done; `code` is machine-readable, the message is for the customer (or staff)."""

    status = 400

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class IllegalTransition(ApplicationError):
    """The application is not in a state this move starts from (or another rule of the move says no)."""

    status = 409


@dataclass(frozen=True)
class SubmitResult:
    application: Application
    created: bool


# --- the one place a state changes ------------------------------------------------------------------------

def _move(app: Application, to: str, *, actor_label: str, actor_user: Any = None, reason_codes: list[str] | None = None,
          note: str = "", at: datetime | None = None) -> ApplicationEvent:
    """Move a LOCKED application to `to` and record the event. The caller holds the transaction."""
    if to not in TRANSITIONS[app.state]:
        raise IllegalTransition(_("An application that is %(state)s cannot become %(to)s.") % {
            "state": app.get_state_display(), "to": S(to).label},
                                code="illegal_transition")
    event = ApplicationEvent.objects.create(
        application=app, from_state=app.state, to_state=to, actor_label=actor_label[:120],
        actor=_user(actor_user), reason_codes=reason_codes or [], note=note, at=at or timezone.now(),
    )
    if to != S.CHECKING:  # every decision and every move a person makes; "checking" is a step, not a decision
        _audit(app, f"application.{to}", actor_label=actor_label, actor_user=actor_user,
               detail={"from": app.state, "to": to, "reason_codes": reason_codes or []})
    app.state = to
    return event


def _audit(app: Application, action: str, *, actor_label: str, actor_user: Any, detail: dict[str, Any]) -> None:
    user = _user(actor_user)
    channel = "worker" if actor_label == "system" else "admin" if getattr(user, "is_staff", False) else app.source
    audit.record(action=action, actor=user, label=actor_label, channel=channel,
                 subject=f"application:{app.public_id}", customer_ref=app.customer.external_ref,
                 detail={"product": app.product.code, **detail})


def _user(actor: Any) -> Any:
    """The user row behind an actor, if any (a partner's principal is not a user)."""
    return actor if isinstance(actor, AbstractBaseUser) and actor.is_authenticated else None


def _locked(application: Application) -> Application:
    # of=self: lock the application only, not the joined product and customer (every decision on a product would
    # otherwise queue behind every other).
    return (Application.objects.select_for_update(of=("self",)).select_related("product", "customer")
            .get(pk=application.pk))


# --- submitting -------------------------------------------------------------------------------------------

def submit_application(
    *, customer: Customer, product: Product, source: str, actor_label: str, actor_user: Any = None,
    reason_text: str = "", requested_amount: Decimal | None = None, recommendation: Recommendation | None = None,
    language: str = "en", idempotency_key: str = "", caller: str = "", decide_now: bool | None = None,
    llm: Any = "configured",
) -> SubmitResult:
    """Submit an application and have it decided: on a worker after commit, or in-process when `decide_now`
    (default: settings.APPLICATION_DECIDE_SYNC), reading the reason with `llm` (see decide_application).

    Raises ApplicationError for bad input (amount missing or below the product's minimum, reason too long, a
    recommendation of someone else's) and IllegalTransition when the customer already has an open application
    for the product; nothing is written then. With an `idempotency_key` (scoped to `caller`), a retry with the
    same body returns the first application (created False) and writes nothing; the same key with another body
    raises IdempotencyConflict.
    """
    reason_text = (reason_text or "").strip()
    if len(reason_text) > MAX_REASON_LENGTH:
        raise ApplicationError(_("The reason is limited to %(n)d characters.") % {"n": MAX_REASON_LENGTH},
                               code="reason_too_long")
    if recommendation is not None and recommendation.customer_id != customer.pk:
        raise ApplicationError(_("That recommendation was made for another customer."), code="invalid_recommendation")
    body = {"product": product.pk, "reason": reason_text,
            "amount": str(requested_amount) if requested_amount is not None else None,
            "recommendation": recommendation.pk if recommendation else None, "source": source}
    stored_key = request_keys.stored_key(scope=caller or f"customer:{customer.pk}", key=idempotency_key, body=body) \
        if idempotency_key else None
    if stored_key is not None and (replay := _replay(stored_key)) is not None:
        return replay
    _validate_amount(product, requested_amount)
    sync = settings.APPLICATION_DECIDE_SYNC if decide_now is None else decide_now
    try:
        with transaction.atomic():
            # Lock the customer so two concurrent submissions for one product cannot both pass the check below.
            Customer.objects.select_for_update().filter(pk=customer.pk).first()
            if Application.objects.filter(customer=customer, product=product,
                                          state__in=[S.SUBMITTED, S.CHECKING, S.REFERRED, S.APPROVED]).exists():
                raise IllegalTransition(_("You already have an application for this product in progress."),
                                        code="application_in_progress")
            now = timezone.now()
            app = Application.objects.create(
                customer=customer, product=product, source=source, recommendation=recommendation,
                reason_text=reason_text, language="zh" if language.startswith("zh") else "en",
                requested_amount=requested_amount, idempotency_key=stored_key,
            )
            ApplicationEvent.objects.create(application=app, from_state="", to_state=S.SUBMITTED,
                                            actor_label=actor_label[:120], at=now, actor=_user(actor_user))
            _audit(app, "application.submitted", actor_label=actor_label, actor_user=actor_user,
                   detail={"from": "", "to": S.SUBMITTED, "reason_codes": []})
            # Applying is a strong positive signal for the recommender (a purchase follows on activation).
            ProductInteraction.objects.create(customer=customer, product=product, event=InteractionEvent.CLICK,
                                              timestamp=now, channel=_INTERACTION_CHANNEL.get(source, Channel.ONLINE),
                                              idempotency_key=f"application:{app.public_id}:apply")
            if not sync:
                from bank.tasks import enqueue

                enqueue("advisor.applications.tasks.decide_application_task", app.pk)
    except IntegrityError:
        replay = _replay(stored_key) if stored_key else None
        if replay is None:
            raise
        return replay
    if sync:
        try:
            app = decide_application(application_id=app.pk, llm=llm)
        except Exception:  # noqa: BLE001 -- the submission stands; the error is on the row for staff
            logger.exception("deciding application %s failed", app.pk)
            app.refresh_from_db()
    return SubmitResult(application=app, created=True)


def _validate_amount(product: Product, amount: Decimal | None) -> None:
    needs_amount = product.type == ProductType.LOAN or product.type in checks.FUNDED_TYPES
    if amount is None:
        if needs_amount:
            raise ApplicationError(_("Please say how much you want."), code="amount_required")
        return
    if amount <= 0:
        raise ApplicationError(_("The amount must be positive."), code="amount_not_positive")
    if needs_amount and amount < product.min_amount:
        raise ApplicationError(_("The minimum for this product is CNY %(amount)s.")
                               % {"amount": f"{product.min_amount:,.2f}"},
                               code="amount_below_minimum")


def _replay(stored_key: str) -> SubmitResult | None:
    earlier = Application.objects.filter(idempotency_key__startswith=request_keys.same_key(stored_key)).first()
    if earlier is None:
        return None
    if earlier.idempotency_key != stored_key:
        raise IdempotencyConflict("This Idempotency-Key was already used with a different request.")
    return SubmitResult(application=earlier, created=False)


# --- deciding ---------------------------------------------------------------------------------------------

def decide_application(*, application_id: int, llm: Any = "configured") -> Application:
    """Read the reason, run every check and move the application to approved, declined or referred.

    Safe to run twice (a redelivered task): an application no longer `submitted` is returned untouched. Gives
    up (returns it still submitted) after settings.APPLICATION_MAX_DECISION_ATTEMPTS failed tries. `llm` is the
    model for reading the reason (see reading.read_needs). Re-raises what made a decision fail, after rolling it
    back and noting the error on the row.
    """
    app = Application.objects.select_related("product", "customer").get(pk=application_id)
    if app.state != S.SUBMITTED:
        return app
    attempts = Application.objects.filter(pk=app.pk, state=S.SUBMITTED).update(
        decision_attempts=F("decision_attempts") + 1)
    app.refresh_from_db(fields=["decision_attempts"])
    if not attempts or app.decision_attempts > settings.APPLICATION_MAX_DECISION_ATTEMPTS:
        return app
    reading = read_needs(text=app.reason_text, model=llm)
    try:
        with transaction.atomic():
            app = _locked(app)
            if app.state != S.SUBMITTED:
                return app
            started = timezone.now()
            _move(app, S.CHECKING, actor_label="system", at=started)
            results, approved_amount, score_id = run_checks(app=app, labels=reading.labels)
            to, codes = checks.outcome(results)
            now = timezone.now()
            app.needs, app.needs_source, app.needs_detail = reading.labels, reading.source, reading.detail
            app.checks = [r.as_json() for r in results]
            app.reason_codes = codes
            app.credit_score_id = score_id
            app.approved_amount = approved_amount if to != S.DECLINED else None
            app.decided_at = now if to != S.REFERRED else None
            if to == S.REFERRED:
                hours = settings.APPLICATION_SLA_HOURS
                app.sla_due_at = now + timedelta(hours=hours.get(app.product.type, hours["default"]))
            if to == S.APPROVED:
                app.offer_expires_at = now + timedelta(days=settings.APPLICATION_OFFER_DAYS)
            app.last_error = ""
            _move(app, to, actor_label="system", reason_codes=codes, at=now)
            app.save()
    except Exception as error:
        Application.objects.filter(pk=app.pk).update(last_error=f"{type(error).__name__}: {error}"[:2000])
        raise
    return app


def run_checks(*, app: Application, labels: list[str]) -> tuple[list[CheckResult], Decimal | None, int | None]:
    """Every check for `app` (inside the decision's transaction): the results, the amount the bank offers, and
    the credit score used (a customer never scored is scored now, if a credit model is active)."""
    customer, product = app.customer, app.product
    now = timezone.now()
    facts = CustomerFacts.of(customer)
    rules = catalogue_rules()
    gate = SuitabilityGate(facts, rules)
    pf = _product_facts(product)
    results = [checks.check_kyc(kyc_status=customer.kyc_status, verified_at=customer.kyc_verified_at, now=now,
                                valid_days=settings.KYC_VALID_DAYS)]
    index = rules.index[product.pk]
    results += checks.check_suitability(blocked=gate.reasons(index), product=pf, facts=checks.GateFacts(
        age=facts.age, annual_income=facts.annual_income, residency=facts.residency,
        risk_tolerance=facts.risk_tolerance, liquid_assets=facts.liquid_assets, min_age=product.min_age,
        max_age=product.max_age, min_income=product.min_annual_income, residencies=tuple(product.residency or ())))
    amount = app.requested_amount
    score_id = None
    if product.type in checks.CREDIT_TYPES:
        credit, score_id = _credit_facts(customer)
        results.append(checks.check_credit(credit))
        income, spend = _monthly_income_and_spend(customer)
        existing = _existing_payments(customer, now)
        if product.type == ProductType.CREDIT_CARD:
            affordable = checks.affordable_card_limit(
                monthly_income=income, monthly_spend=spend, existing_payments=existing,
                refer_pct=settings.APPLICATION_DSR_REFER_PCT, min_payment_pct=settings.APPLICATION_CARD_MIN_PAYMENT_PCT)
            offered = checks.card_limit(annual_income=customer.declared_annual_income, credit=credit,
                                        student="student" in (product.tags or []), affordable=affordable)
            results.append(checks.check_limit(offered=offered, requested=amount,
                                              annual_income=customer.declared_annual_income, credit=credit))
            amount = min(amount, offered) if amount is not None else offered
            new_payment = (amount * settings.APPLICATION_CARD_MIN_PAYMENT_PCT / 100).quantize(Decimal("0.01"))
        else:
            if amount is None:  # required for loans at submission; an assert would vanish under python -O
                raise ValueError(f"application {app.pk}: a loan without a requested amount")
            apr = product.expected_return_max or product.expected_return_min or Decimal("0")
            new_payment = checks.monthly_payment(principal=amount, apr_pct=apr, months=product.term_months or 12)
        results.append(checks.check_affordability(
            monthly_income=income, monthly_spend=spend, existing_payments=existing,
            new_payment=new_payment, refer_pct=settings.APPLICATION_DSR_REFER_PCT,
            decline_pct=settings.APPLICATION_DSR_DECLINE_PCT))
    elif product.type in checks.FUNDED_TYPES and amount is not None:
        results.append(checks.check_amount(amount=amount, liquid_assets=facts.liquid_assets))
    results += checks.check_needs_fit(labels=labels, product=pf, alternatives=_alternatives(product, labels, gate))
    return results, amount, score_id


def _product_facts(product: Product) -> ProductFacts:
    return ProductFacts(
        code=product.code, type=product.type, name_en=product.name_en, name_zh=product.name_zh,
        risk_level=product.risk_level, tags=tuple(product.tags or ()), liquidity=product.liquidity,
        term_months=product.term_months, return_min=product.expected_return_min,
        return_max=product.expected_return_max, annual_fee=product.annual_fee,
        management_fee_pct=product.management_fee_pct, subscription_fee_pct=product.subscription_fee_pct,
        min_amount=product.min_amount,
    )


def _credit_facts(customer: Customer) -> tuple[CreditFacts | None, int | None]:
    from risk.selectors import latest_credit_score
    from risk.services.credit import NoActiveCreditModel, credit_policy, score_customer

    score = latest_credit_score(customer=customer)
    if score is None:
        try:
            score = score_customer(customer=customer)
        except NoActiveCreditModel:
            return None, None
    # The policy in force now decides, not the one the score was stored under.
    policy = credit_policy()
    return CreditFacts(pd=score.pd, points=score.points, model_label=score.model_version.label,
                       approve_below=policy.approve_below, decline_from=policy.decline_from,
                       reasons_en=tuple(score.reasons_en), reasons_zh=tuple(score.reasons_zh)), score.pk


def _monthly_income_and_spend(customer: Customer) -> tuple[Decimal, Decimal]:
    """Monthly income: the lower of what the customer declared and what their accounts show coming in (when we
    see both), as lenders do; spend from the latest profile snapshot."""
    declared = (customer.declared_annual_income / 12).quantize(Decimal("0.01"))
    profile = ProfileSnapshot.objects.filter(customer=customer).order_by("-as_of").first()
    if profile is None:
        return declared, Decimal("0")
    observed = profile.income_estimate_monthly
    income = min(declared, observed) if declared > 0 and observed > 0 else max(declared, observed)
    return income, profile.spend_monthly


def _existing_payments(customer: Customer, now: datetime) -> Decimal:
    """What the customer already repays a month: each card's minimum payment on what is owed, and each loan's
    level payment of the remaining balance over its remaining term."""
    total = Decimal("0")
    today = timezone.localdate(now)
    accounts = Account.objects.filter(customer=customer, type__in=[AccountType.CREDIT_CARD, AccountType.LOAN]) \
        .exclude(status=Account.Status.CLOSED).select_related("product")
    for account in accounts:
        owed = max(account.balance, Decimal("0"))
        if not owed:
            continue
        if account.type == AccountType.CREDIT_CARD:
            total += owed * settings.APPLICATION_CARD_MIN_PAYMENT_PCT / 100
            continue
        term = (account.product.term_months if account.product and account.product.term_months else 60)
        end = account.opened_on + relativedelta(months=term)
        left = max(1, (end.year - today.year) * 12 + end.month - today.month)
        total += checks.monthly_payment(principal=owed, apr_pct=account.interest_rate or Decimal("0"), months=left)
    return total.quantize(Decimal("0.01"))


def _alternatives(product: Product, labels: list[str], gate: SuitabilityGate) -> dict[str, checks.Alternative]:
    """For each need, the product of the same type the customer could get that meets it best (never this one)."""
    found: dict[str, checks.Alternative] = {}
    same = [p for p in Product.objects.filter(type=product.type, is_active=True).exclude(pk=product.pk)
            if gate.allows(p.pk)]
    if not same:
        return found
    tagged = {"no_fx_fees": ("no-fx-fee",), "travel": ("travel",), "cashback": ("cash-back",),
              "rewards": ("points", "miles"), "lounge": ("lounge",), "esg": ("esg", "green")}
    for label in labels:
        pick: Product | None = None
        figure = None
        if label in tagged:
            matching = [p for p in same if set(tagged[label]) & set(p.tags or ())]
            pick = min(matching, key=lambda p: (p.annual_fee, p.code), default=None)
        elif label == "liquidity":
            pick = next((p for p in same if p.liquidity in (Liquidity.DAILY, Liquidity.WEEKLY)), None)
        elif label == "high_yield":
            pick = max((p for p in same if p.expected_return_max is not None),
                       key=lambda p: p.expected_return_max or 0, default=None)
            figure = pick.expected_return_max if pick else None
        elif label == "low_rate":
            pick = min((p for p in same if p.expected_return_min is not None),
                       key=lambda p: p.expected_return_min or 0, default=None)
            figure = pick.expected_return_min if pick else None
        if pick is not None:
            found[label] = checks.Alternative(name_en=pick.name_en, name_zh=pick.name_zh, figure=figure)
    return found


# --- staff, customer and time -----------------------------------------------------------------------------

def decide_referred(*, application: Application, approve: bool, note: str, by: Any) -> Application:
    """A member of staff approves or declines a referred application. Needs the `advisor.decide_application`
    permission and a note (the customer's reason on a decline). Raises ApplicationError / IllegalTransition."""
    if not by.has_perm("advisor.decide_application"):
        raise ApplicationError(_("You may not decide applications."), code="permission_denied")
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("A note is required: say why."), code="note_required")
    with transaction.atomic():
        app = _locked(application)
        if app.state != S.REFERRED:
            raise IllegalTransition(_("Only referred applications are decided by staff (this one is %(state)s).")
                                    % {"state": app.get_state_display()}, code="illegal_transition")
        now = timezone.now()
        to = S.APPROVED if approve else S.DECLINED
        _move(app, to, actor_label=by.get_username(), actor_user=by,
              reason_codes=["staff_approved" if approve else "staff_declined"], note=note, at=now)
        app.decided_at, app.decided_by, app.decision_note = now, by, note
        if approve:
            app.offer_expires_at = now + timedelta(days=settings.APPLICATION_OFFER_DAYS)
            if app.approved_amount is None:
                app.approved_amount = app.requested_amount
        else:
            app.approved_amount = None
        app.save()
    return app


def withdraw_application(*, application: Application, actor_label: str, actor_user: Any = None,
                         note: str = "") -> Application:
    """The customer withdraws an application that is not final. Raises IllegalTransition."""
    with transaction.atomic():
        app = _locked(application)
        _move(app, S.WITHDRAWN, actor_label=actor_label, actor_user=actor_user, reason_codes=["customer_withdrew"],
              note=note[:500])
        app.save()
    return app


def activate_application(*, application: Application, actor_label: str, actor_user: Any = None) -> Application:
    """The customer takes up an approved offer: the product is opened in the same transaction -- a card account
    with the decided limit, a loan account paid out to their current account, or a holding funded from their
    current or savings account -- and a purchase is recorded for the recommender. Raises IllegalTransition (not
    approved, offer expired) or ApplicationError (no account to pay out to or fund from, too little money)."""
    with transaction.atomic():
        app = _locked(application)
        now = timezone.now()
        if app.state == S.APPROVED and app.offer_expires_at and app.offer_expires_at < now:
            raise IllegalTransition(_("This offer has expired; please apply again."), code="offer_expired")
        if S.ACTIVATED not in TRANSITIONS[app.state]:
            raise IllegalTransition(_("Only an approved application can be activated (this one is %(state)s).")
                                    % {"state": app.get_state_display()}, code="illegal_transition")
        account, holding = _open_product(app, now)
        _move(app, S.ACTIVATED, actor_label=actor_label, actor_user=actor_user, at=now)
        app.activated_at, app.account, app.holding = now, account, holding
        app.save()
        ProductInteraction.objects.create(
            customer=app.customer, product=app.product, event=InteractionEvent.PURCHASE, timestamp=now,
            channel=_INTERACTION_CHANNEL.get(app.source, Channel.ONLINE),
            idempotency_key=f"application:{app.public_id}:purchase")
    return app


def _open_product(app: Application, now: datetime) -> tuple[Account | None, Holding]:
    product, customer = app.product, app.customer
    today = timezone.localdate(now)
    amount = app.approved_amount or app.requested_amount or Decimal("0")
    maturity = today + relativedelta(months=product.term_months) if product.term_months else None
    if product.type == ProductType.CREDIT_CARD:
        account = Account.objects.create(
            customer=customer, number=_new_number(AccountType.CREDIT_CARD), type=AccountType.CREDIT_CARD,
            credit_limit=amount, balance=Decimal("0"), interest_rate=product.expected_return_max, product=product,
            opened_on=today)
        return account, Holding.objects.create(customer=customer, product=product, account=account, amount=amount,
                                               opened_on=today)
    if product.type == ProductType.LOAN:
        payout = _liquid_account(customer, kinds=(AccountType.CURRENT,))
        if payout is None:
            raise ApplicationError(_("A loan is paid out to a current account, and you have none open."),
                                   code="no_current_account")
        account = Account.objects.create(
            customer=customer, number=_new_number(AccountType.LOAN), type=AccountType.LOAN, balance=amount,
            interest_rate=product.expected_return_min, product=product, opened_on=today)
        Account.objects.filter(pk=payout.pk).update(balance=F("balance") + amount)
        Transaction.objects.create(account=payout, customer=customer, amount=amount, timestamp=now,
                                   category=SpendingCategory.TRANSFER, channel=Channel.ONLINE,
                                   counterparty=product.name_en, description=f"Loan payout {product.code}")
        return account, Holding.objects.create(customer=customer, product=product, account=account, amount=amount,
                                               opened_on=today, maturity_date=maturity)
    source = _liquid_account(customer, kinds=(AccountType.CURRENT, AccountType.SAVINGS))
    if source is None or source.balance < amount:
        raise ApplicationError(_("Your current and savings accounts do not hold the CNY %(amount)s needed.")
                               % {"amount": f"{amount:,.2f}"},
                               code="insufficient_funds")
    Account.objects.filter(pk=source.pk).update(balance=F("balance") - amount)
    Transaction.objects.create(account=source, customer=customer, amount=-amount, timestamp=now,
                               category=(SpendingCategory.INSURANCE if product.type == ProductType.INSURANCE
                                         else SpendingCategory.INVESTMENT),
                               channel=Channel.ONLINE, counterparty=product.name_en,
                               description=f"Subscription {product.code}")
    return None, Holding.objects.create(customer=customer, product=product, account=source, amount=amount,
                                        opened_on=today, maturity_date=maturity)


def _liquid_account(customer: Customer, *, kinds: tuple[str, ...]) -> Account | None:
    """The customer's active account of `kinds` with the most money, locked."""
    return (Account.objects.select_for_update().filter(customer=customer, type__in=kinds,
                                                       status=Account.Status.ACTIVE)
            .order_by("-balance", "id").first())


def _new_number(kind: AccountType) -> str:
    while True:
        number = ACCOUNT_PREFIX[kind] + f"{secrets.randbelow(10 ** 11):011d}"
        if not Account.objects.filter(number=number).exists():
            return number


def expire_offers(*, now: datetime | None = None) -> int:
    """Approved offers not taken up by their expiry become expired (by the system). Returns how many."""
    now = now or timezone.now()
    done = 0
    for pk in Application.objects.filter(state=S.APPROVED, offer_expires_at__lt=now).values_list("pk", flat=True):
        with transaction.atomic():
            app = Application.objects.select_for_update().get(pk=pk)
            if app.state != S.APPROVED or not app.offer_expires_at or app.offer_expires_at >= now:
                continue  # taken up or withdrawn meanwhile
            _move(app, S.EXPIRED, actor_label="system", reason_codes=["offer_expired"], at=now)
            app.save()
            done += 1
    return done

