"""Access hardening: login lockout (django-axes), API rate limits (atomic PostgreSQL counters), production
settings (`check --deploy`) and the Content-Security-Policy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from bank.models import AuditEvent, RateLimitWindow
from bank.ratelimits import hit, purge_expired_windows, window_start
from customers.partners import issue_partner_token
from customers.tests.factories import PartnerFactory, UserFactory

PASSWORD = "correct-horse-battery"
PRODUCTS = "/api/v1/products/"
BASE_DIR = Path(django_settings.BASE_DIR)


# --- the counter ---------------------------------------------------------------------------------------------

def test_windows_are_aligned_to_the_epoch():
    now = datetime(2026, 12, 1, 10, 15, 42, 500000, tzinfo=UTC)
    assert window_start(now=now, window_seconds=60) == datetime(2026, 12, 1, 10, 15, tzinfo=UTC)
    assert window_start(now=now, window_seconds=3600) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_hit_allows_up_to_the_limit_then_says_when_the_window_ends():
    now = datetime(2026, 12, 1, 10, 15, 42, 500000, tzinfo=UTC)
    decisions = [hit(key="token:1:read", limit=3, window_seconds=60, now=now) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4]
    assert decisions[3].retry_after == 18  # 10:16:00 − 10:15:42.5, rounded up
    # Another key, and the next window, start from zero.
    assert hit(key="token:2:read", limit=3, window_seconds=60, now=now).count == 1
    assert hit(key="token:1:read", limit=3, window_seconds=60, now=now + timedelta(seconds=18)).count == 1
    assert RateLimitWindow.objects.count() == 3


@pytest.mark.django_db
def test_purge_drops_only_past_windows():
    now = datetime(2026, 12, 1, 10, 15, 42, tzinfo=UTC)
    hit(key="old", limit=1, window_seconds=60, now=now - timedelta(minutes=5))
    hit(key="just-ended", limit=1, window_seconds=60, now=now - timedelta(seconds=60))
    hit(key="current", limit=1, window_seconds=60, now=now)
    assert purge_expired_windows(older_than_seconds=120, now=now) == 1
    assert sorted(RateLimitWindow.objects.values_list("key", flat=True)) == ["current", "just-ended"]


# --- API rate limits -----------------------------------------------------------------------------------------

def _token_client(scopes: list[str] | None = None) -> tuple[APIClient, int]:
    token, secret = issue_partner_token(partner=PartnerFactory(), name="t", scopes=scopes or ["products:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, token.pk


@pytest.mark.django_db
def test_token_over_its_read_limit_gets_429_with_retry_after_and_the_error_shape(settings):
    settings.API_RATE_LIMIT_READS = 3
    client, token_pk = _token_client()
    other, _ = _token_client()

    statuses = [client.get(PRODUCTS).status_code for _ in range(3)]
    refused = client.get(PRODUCTS)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= settings.API_RATE_LIMIT_WINDOW_SECONDS
    body = refused.json()
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["details"] == {}
    assert f"{refused['Retry-After']} second" in body["error"]["message"]
    # Another token is counted on its own.
    assert other.get(PRODUCTS).status_code == 200
    assert RateLimitWindow.objects.get(key=f"token:{token_pk}:read").count == 4


@pytest.mark.django_db
def test_session_users_are_limited_per_user_with_writes_counted_apart_from_reads(settings):
    settings.API_RATE_LIMIT_READS = 100
    settings.API_RATE_LIMIT_WRITES = 1
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)

    # The product list takes no POST (405), but the attempt is a write and is counted before the view runs.
    assert client.post(PRODUCTS, {}, format="json").status_code == 405
    assert client.post(PRODUCTS, {}, format="json").status_code == 429
    assert client.get(PRODUCTS).status_code == 200
    assert RateLimitWindow.objects.filter(key=f"user:{user.pk}:write").get().count == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_concurrent_burst_lets_exactly_the_limit_through(settings):
    settings.API_RATE_LIMIT_READS = 10
    _, secret = issue_partner_token(partner=PartnerFactory(), name="burst", scopes=["products:read"])
    start = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def request() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        try:
            start.wait()
            status = client.get(PRODUCTS).status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * 10 + [429] * 10


# --- login lockout -------------------------------------------------------------------------------------------

def _login(client, url: str, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_portal_login_locks_after_five_failures_even_with_the_right_password(client):
    user = UserFactory(username="alice")
    UserFactory(username="bob")
    url = reverse("portal:login")

    failures = [_login(client, url, "alice", "wrong").status_code for _ in range(4)]
    fifth = _login(client, url, "alice", "wrong")
    sixth = _login(client, url, "alice", PASSWORD)

    assert failures == [200, 200, 200, 200]  # the form again, with its error
    assert fifth.status_code == 429
    assert sixth.status_code == 429
    assert "Logging in is paused" in sixth.content.decode()
    assert "_auth_user_id" not in client.session
    # Other users from the same address, and the same user from another address, are unaffected.
    assert _login(client, url, "bob", PASSWORD).status_code == 302
    client.logout()
    assert _login(client, url, "alice", PASSWORD, ip="10.0.0.2").status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk
    # The lockout is audited once, however often the locked pair tries again.
    _login(client, url, "alice", "wrong")
    events = AuditEvent.objects.filter(action="login.locked_out")
    assert list(events.values_list("subject", "channel", "detail")) == [
        ("login:alice", "portal", {"ip_address": "10.0.0.1", "failures": 5, "cooloff_minutes": 15})
    ]


@pytest.mark.django_db
def test_logins_without_a_request_are_not_throttled(client):
    # The test client's login() and shell sessions authenticate with no HTTP request: nothing to throttle.
    user = UserFactory(username="carol")
    assert client.login(username="carol", password=PASSWORD)
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.login(username="carol", password="wrong") is False


@pytest.mark.django_db
def test_admin_login_locks_too(client):
    UserFactory(username="officer", is_staff=True)
    url = reverse("admin:login")
    for _ in range(5):
        _login(client, url, "officer", "wrong")
    refused = _login(client, url, "officer", PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.get(action="login.locked_out").channel == "admin"


@pytest.mark.django_db
def test_the_lockout_page_is_in_chinese_too(client):
    UserFactory(username="li")
    for _ in range(5):
        _login(client, reverse("portal:login"), "li", "wrong")
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = _login(client, reverse("portal:login"), "li", PASSWORD)
    assert page.status_code == 429
    assert page["Content-Language"] == "zh-hans"


# --- production settings -------------------------------------------------------------------------------------

def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "k7#Qz9!vR2@mW4$pX8^nB6&cL1*hT5(yD3)fG0_jS+eA-uV=oK",
        "DJANGO_ALLOWED_HOSTS": "bank.example",
        "DJANGO_SECURE": "1",
        "DJANGO_DEBUG": "0",
        "PII_ENCRYPTION_KEYS": "X2u6k0VpM2cVqOa8C6TzL1m5Qe3sP0bYgRk7HwJd9Fo=",
        "PII_HASH_KEY": "b7Yt2LqP9sVx4NcW1mZr8KdJ3fHg6QeA",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_development_settings_keep_plain_http_working():
    # Without DJANGO_SECURE the cookies must be sendable over http://127.0.0.1 and nothing redirects.
    assert django_settings.SESSION_COOKIE_SECURE is False
    assert django_settings.CSRF_COOKIE_SECURE is False
    assert django_settings.SECURE_SSL_REDIRECT is False
    assert django_settings.SESSION_COOKIE_HTTPONLY is True
    assert django_settings.CSRF_COOKIE_HTTPONLY is True


# --- Content-Security-Policy ---------------------------------------------------------------------------------

def _directives(header: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.django_db
def test_portal_pages_carry_a_strict_policy(client):
    policy = _directives(client.get(reverse("portal:login"))["Content-Security-Policy"])
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"


@pytest.mark.django_db
def test_admin_may_use_inline_styles_but_not_inline_scripts(client):
    policy = _directives(client.get(reverse("admin:login"))["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style", re.I), "<style> element"),
]


def test_portal_templates_have_nothing_inline_the_policy_would_block():
    portal_templates = [p for p in (BASE_DIR / "templates").rglob("*.html") if "admin" not in p.parts]
    assert len(portal_templates) > 20
    found = [f"{p.relative_to(BASE_DIR)}: {what}" for p in portal_templates for pattern, what in INLINE
             if pattern.search(p.read_text())]
    assert found == []
