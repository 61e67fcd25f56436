"""Partner API tokens: issuing, revoking and recognising them.

A token reads `bpk_<prefix>_<secret>`. The prefix is stored in clear so that a token can be found (and
recognised by a person in logs and the back office); only the SHA-256 of the whole token is stored, so a copy
of the database does not give anyone a working token. The secret is returned once, by `issue_partner_token`,
and never again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Partner, PartnerScope, PartnerToken

TOKEN_KIND = "bpk"  # nosec B105  # the public token prefix ("bpk_<prefix>_<secret>"), not a secret
# 10 hex characters (40 bits) make a collision between two prefixes practically impossible at partner scale;
# the column is unique, so a collision would fail loudly rather than mix two partners up.
PREFIX_CHARS = 10
# 32 bytes of randomness: the secret is never guessable even with the prefix known.
SECRET_BYTES = 32
# last_used_at is for people ("is this token still used?"), so minute precision is plenty and saves a write
# on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenRejected(Exception):
    """A presented token cannot be used. `code` says why, for the API's error body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _validated_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(scopes))  # keep the order given, drop repeats
    unknown = [scope for scope in wanted if scope not in PartnerScope.values]
    if unknown:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(PartnerScope.values)}.")
    if not wanted:
        raise ValueError("A token needs at least one scope.")
    return wanted


def issue_partner_token(
    *, partner: Partner, name: str, scopes: Iterable[str], expires_at: datetime | None = None
) -> tuple[PartnerToken, str]:
    """Create a token for `partner`; return it with its secret, which is not stored and cannot be shown again.

    Raises ValueError for an inactive partner, a blank name, unknown or no scopes, or an expiry that is naive
    or already past.
    """
    if not partner.is_active:
        raise ValueError(f"Partner {partner.name!r} is inactive; activate it before issuing tokens.")
    if not name.strip():
        raise ValueError("A token needs a name (what it is for), so that it can be recognised and revoked.")
    scope_list = _validated_scopes(scopes)
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise ValueError("expires_at must be timezone-aware.")
        if expires_at <= timezone.now():
            raise ValueError("expires_at is in the past.")
    prefix = secrets.token_hex(PREFIX_CHARS // 2)
    raw = f"{TOKEN_KIND}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token = PartnerToken.objects.create(
        partner=partner,
        name=name.strip(),
        prefix=prefix,
        token_hash=hash_token(raw),
        scopes=scope_list,
        expires_at=expires_at,
    )
    return token, raw


def revoke_partner_token(*, token: PartnerToken) -> PartnerToken:
    """Revoke `token` from now on. Idempotent: revoking twice keeps the first revocation time."""
    with transaction.atomic():
        locked = PartnerToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
    token.revoked_at = locked.revoked_at
    return token


def token_from_secret(*, raw: str) -> PartnerToken:
    """The usable token whose secret is `raw`.

    Raises TokenRejected with code invalid_token (malformed, unknown or wrong secret -- deliberately one
    answer, so that a prober learns nothing about which prefixes exist), token_revoked, token_expired or
    partner_inactive.
    """
    kind, _, rest = raw.partition("_")
    prefix, _, secret = rest.partition("_")
    if kind != TOKEN_KIND or len(prefix) != PREFIX_CHARS or not secret:
        raise TokenRejected("invalid_token", "The API token is not valid.")
    token = PartnerToken.objects.select_related("partner").filter(prefix=prefix).first()
    # compare_digest is constant-time, so the hash cannot be learnt byte by byte from response timings.
    if token is None or not hmac.compare_digest(token.token_hash, hash_token(raw)):
        raise TokenRejected("invalid_token", "The API token is not valid.")
    now = timezone.now()
    if token.revoked_at is not None and token.revoked_at <= now:
        raise TokenRejected("token_revoked", "The API token has been revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRejected("token_expired", "The API token has expired.")
    if not token.partner.is_active:
        raise TokenRejected("partner_inactive", "The partner of this API token is inactive.")
    return token


def record_token_use(*, token: PartnerToken) -> None:
    """Set last_used_at to now unless it was set within the last minute.

    A conditional UPDATE rather than read-then-save: concurrent requests of one partner never overwrite each
    other or wait on a row lock, and most requests write nothing at all.
    """
    now = timezone.now()
    updated = (
        PartnerToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION))
        .update(last_used_at=now)
    )
    if updated:
        token.last_used_at = now
