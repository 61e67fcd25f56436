"""The Idempotency-Keys kept on written rows: the stored form (unchanged since the services each hashed their own,
so a retry across the upgrade still finds its row) and what tells a retry from a reused key."""

import hashlib

from bank.request_keys import same_key, stored_key


def test_the_stored_form_is_the_scope_and_key_hash_then_the_body_hash():
    scope_and_key = hashlib.sha256(b"customer:7:abc").hexdigest()[:48]
    canonical = b'{"a": 1, "b": 2}'

    assert stored_key(scope="customer:7", key="abc", body={"b": 2, "a": 1}) == \
        f"{scope_and_key}:{hashlib.sha256(canonical).hexdigest()[:24]}"
    assert stored_key(scope="customer:7", key="abc", body="Freeze my card") == \
        f"{scope_and_key}:{hashlib.sha256(b'Freeze my card').hexdigest()[:24]}"


def test_a_retry_matches_a_reuse_shares_only_the_prefix_and_scopes_never_meet():
    first = stored_key(scope="12", key="k-1", body={"amount": "10.00"})

    assert stored_key(scope="12", key="k-1", body={"amount": "10.00"}) == first
    reused = stored_key(scope="12", key="k-1", body={"amount": "99.00"})
    assert reused != first and reused.startswith(same_key(first))
    assert not stored_key(scope="13", key="k-1", body={"amount": "10.00"}).startswith(same_key(first))
    assert len(first) == 73 and same_key(first) == first[:49]
