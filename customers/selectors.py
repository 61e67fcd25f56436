"""Reads of protected customer data. Views, the API and tasks reach customer rows only through here.

The rule, on every surface: a customer sees only themself; a partner sees only customers who consented
to it (and only what its token's scopes allow -- checked by the API's permission classes); staff see
customers according to their role (a relationship manager, their own book).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet

from customers.models import Account, Customer, Holding, Partner, ProfileSnapshot, Transaction


@dataclass(frozen=True)
class Actor:
    """Who is asking: a logged-in user (customer or staff) or a partner holding an API token."""

    user: Any = None
    partner: Partner | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_partner(self) -> bool:
        return self.partner is not None


def visible_customers(*, actor: Actor) -> QuerySet[Customer]:
    """The customers `actor` may see at all. Never raises; an unknown actor sees nobody."""
    customers = Customer.objects.all()
    if actor.partner is not None:
        return customers.filter(
            partner_consents__partner=actor.partner, partner_consents__revoked_at__isnull=True
        )
    user = actor.user
    if user is None or not user.is_authenticated or not user.is_active:
        return customers.none()
    if user.is_superuser:
        return customers
    if user.is_staff:
        from bank.roles import RELATIONSHIP_MANAGER

        names = set(user.groups.values_list("name", flat=True))
        if names == {RELATIONSHIP_MANAGER}:
            # A relationship manager with no other role sees only their own book.
            return customers.filter(relationship_manager=user)
        if names:
            return customers
        return customers.none()
    return customers.filter(user=user)


def personal_data_match(term: str) -> Q:
    """Customers whose e-mail, phone or national ID is exactly `term` (however it is written), through the keyed
    hashes: the values themselves are encrypted and cannot be compared in SQL."""
    from bank.crypto import blind_index

    match = Q(pk__in=[])
    for kind in ("email", "phone", "national_id"):
        digest = blind_index(kind, term)
        if digest:
            match |= Q(**{f"{kind}_hash": digest})
    return match


def customer_for_user(*, user: Any) -> Customer | None:
    """The customer record of a portal user, or None for staff and users without one."""
    if user is None or not user.is_authenticated:
        return None
    return Customer.objects.filter(user=user).first()


def get_customer(*, actor: Actor, public_id: UUID | str) -> Customer:
    """The customer with `public_id` if `actor` may see them.

    Raises Customer.DoesNotExist both when the customer does not exist and when the actor may not see
    them, so that callers answer 404 in both cases and never reveal that an id exists.
    """
    try:
        UUID(str(public_id))
    except ValueError:
        raise Customer.DoesNotExist(public_id) from None
    return visible_customers(actor=actor).get(public_id=public_id)


def accounts_of(*, customer: Customer) -> QuerySet[Account]:
    return Account.objects.filter(customer=customer).exclude(status=Account.Status.CLOSED).select_related("product")


def transactions_of(
    *, customer: Customer, account: Account | None = None, category: str | None = None
) -> QuerySet[Transaction]:
    rows = Transaction.objects.filter(customer=customer).select_related("account")
    if account is not None:
        rows = rows.filter(account=account)
    if category:
        rows = rows.filter(category=category)
    return rows.order_by("-timestamp", "-id")


def holdings_of(*, customer: Customer, include_closed: bool = False) -> QuerySet[Holding]:
    rows = Holding.objects.filter(customer=customer).select_related("product")
    if not include_closed:
        rows = rows.filter(status=Holding.Status.ACTIVE)
    return rows


def latest_profile(*, customer: Customer) -> ProfileSnapshot | None:
    return ProfileSnapshot.objects.filter(customer=customer).order_by("-as_of").first()


def consented_partner_filter(partner: Partner) -> Q:
    return Q(partner_consents__partner=partner, partner_consents__revoked_at__isnull=True)


# --- Segments: aggregate reads for the back office (sizes and history, no customer rows) ----------------------

def segment_sizes() -> dict[int, int]:
    """Customers per segment id, as the memberships stand now."""
    from django.db.models import Count

    rows = Customer.objects.filter(segment__isnull=False).values("segment").annotate(n=Count("id")).order_by()
    return {row["segment"]: row["n"] for row in rows}


def segmentation_history(*, runs: int = 24) -> list[Any]:
    """The latest `runs` segmentation runs, oldest first, each with its snapshots (segment included)."""
    from django.db.models import Prefetch

    from customers.segments.models import SegmentationRun, SegmentSnapshot

    latest = (
        SegmentationRun.objects.order_by("-started_at", "-pk")
        .prefetch_related(Prefetch("snapshots", queryset=SegmentSnapshot.objects.select_related("segment")))[:runs]
    )
    return list(reversed(list(latest)))
