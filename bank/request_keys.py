"""Idempotency-Keys kept on the rows a request wrote (a product interaction, an application, a chat message).

A key is stored as "<hash of scope and key>:<hash of body>", the scope being whose key it is (a customer, a
caller, a conversation), so two callers never collide. A retry (same key, same body) finds the row it wrote by
the first half; the key reused with another body finds a row whose second half differs: a conflict. The API's
own Idempotency-Key records (bank.api.idempotency) keep whole answers; these keep only the row.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stored_key(*, scope: str, key: str, body: str | dict[str, Any]) -> str:
    """The value stored in the row's idempotency_key column (72 characters). A dict body is hashed as canonical
    JSON (sorted keys), a text as itself."""
    key_hash = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:48]
    text = body if isinstance(body, str) else json.dumps(body, sort_keys=True)
    return f"{key_hash}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def same_key(stored: str) -> str:
    """The prefix every row written with the same scope and key starts with, whatever its body."""
    return f"{stored.partition(':')[0]}:"
