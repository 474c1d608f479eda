"""Settings, read from the environment. See .env.example for every variable."""
from __future__ import annotations

import decimal
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from celery.schedules import crontab

from . import devservices

BASE_DIR = Path(__file__).resolve().parent.parent

# Share and cash amounts can carry 38 significant digits (NUMERIC(38, 18)); Python's default decimal context
# keeps 28 and would round silently. Raise it for this thread and every thread started later.
decimal.DefaultContext.prec = 100
decimal.getcontext().prec = 100


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ("dev-only-insecure-key" if DEBUG or env_bool("SHARELEDGER_DEV", True) else "")
if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set in production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "console.apps.ConsoleAdminConfig",  # django.contrib.admin with the console's site (console/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "ledger",
    "custody",
    "partners",
    "issuance",
    "reconciliation",
    "corporate_actions",
    "ops",
    "api",
    "console",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from the app server (gunicorn or runserver)
    "ops.middleware.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise RuntimeError(f"DATABASE_URL must be a PostgreSQL URL, got scheme {parsed.scheme!r}")
    options = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
    host = unquote(parsed.hostname or "") or options.pop("host", "")
    # Server-side prepared statements for hot queries (the ledger's append path). Set DB_PREPARE_THRESHOLD
    # empty when connecting through a transaction-pooling proxy that cannot keep them.
    threshold = os.environ.get("DB_PREPARE_THRESHOLD", "5")
    options["prepare_threshold"] = int(threshold) if threshold else None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": parsed.port or "",
        "CONN_MAX_AGE": int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        "OPTIONS": options,
        "TEST": {"NAME": os.environ.get("TEST_DATABASE_NAME") or None},
    }


DATABASES = {"default": _database_from_url(devservices.database_url())}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Production runs `manage.py collectstatic` into STATIC_ROOT; in development and tests WhiteNoise serves straight
# from the apps (and needs no STATIC_ROOT).
WHITENOISE_USE_FINDERS = DEBUG or env_bool("SHARELEDGER_DEV", True)
STATIC_ROOT = os.environ.get("STATIC_ROOT") or (None if WHITENOISE_USE_FINDERS else str(BASE_DIR / "staticfiles"))

# --- Security (production passes `manage.py check --deploy` with DJANGO_DEBUG=0 and HTTPS on) ---
SECURE_HTTPS = env_bool("DJANGO_SECURE_HTTPS", False)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_HSTS_SECONDS = 31536000 if SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_HTTPS else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Celery ---
CELERY_BROKER_URL = devservices.redis_url()
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task whose worker died unacknowledged is redelivered after this long (Redis' default is an hour). Tasks are
# short and idempotent, and the beat sweeps (issuance, payouts) recover work sooner anyway.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "600"))}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    "nightly-reconciliation": {
        "task": "reconciliation.tasks.run_nightly_reconciliation",
        "schedule": crontab(
            hour=os.environ.get("RECONCILIATION_CRON_HOUR", "2"),
            minute=os.environ.get("RECONCILIATION_CRON_MINUTE", "0"),
        ),
        # A run not picked up within 6 hours is dropped: the next night's run covers it, runs never pile up.
        "options": {"expires": 6 * 3600},
    },
}

# --- Ledger ---
# Anchoring the hash chain's head on chain (console.tasks.anchor_ledger; verified by verify_ledger).
# LEDGER_ANCHOR_CONTRACT is a LedgerAnchor deployment (`manage.py deploy_anchor_contract` prints one).
LEDGER_ANCHOR_RPC_URL = os.environ.get("LEDGER_ANCHOR_RPC_URL", "http://127.0.0.1:8545")
LEDGER_ANCHOR_CONTRACT = os.environ.get("LEDGER_ANCHOR_CONTRACT") or None
LEDGER_ANCHOR_NETWORK = os.environ.get("LEDGER_ANCHOR_NETWORK", "anvil")
LEDGER_ANCHOR_SIGNER_KEY = os.environ.get("LEDGER_ANCHOR_SIGNER_KEY") or (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public dev key 0: local only
    if DEBUG or env_bool("SHARELEDGER_DEV", True) else None)
CELERY_BEAT_SCHEDULE["anchor-ledger-head"] = {
    "task": "console.tasks.anchor_ledger",
    "schedule": int(os.environ.get("LEDGER_ANCHOR_EVERY_SECONDS", "3600")),
}
CELERY_BEAT_SCHEDULE["verify-ledger-chain"] = {
    "task": "console.tasks.verify_ledger_chain",
    "schedule": int(os.environ.get("LEDGER_VERIFY_EVERY_SECONDS", "300")),
}
CELERY_BEAT_SCHEDULE["take-balance-snapshots"] = {
    "task": "ledger.tasks.take_balance_snapshots",
    "schedule": int(os.environ.get("LEDGER_SNAPSHOT_EVERY_SECONDS", "60")),
}
LEDGER_MAX_BATCH = int(os.environ.get("LEDGER_MAX_BATCH", "50000"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "ops.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ops.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"],
                             "formatter": os.environ.get("LOG_FORMAT", "plain")}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
# Bearer token required on /metrics when set (scrapers on an internal network may leave it empty).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- custody (owned by the custody app; environment variables documented in .env.example) ---
# Broker calls: request timeout, attempts before BrokerUnavailable, exponential backoff (doubling from
# CUSTODY_BROKER_BACKOFF_SECONDS) and the cap on any pause, Retry-After included.
CUSTODY_BROKER_TIMEOUT_SECONDS = float(os.environ.get("CUSTODY_BROKER_TIMEOUT_SECONDS", "10"))
CUSTODY_BROKER_MAX_ATTEMPTS = int(os.environ.get("CUSTODY_BROKER_MAX_ATTEMPTS", "4"))
CUSTODY_BROKER_BACKOFF_SECONDS = float(os.environ.get("CUSTODY_BROKER_BACKOFF_SECONDS", "0.5"))
CUSTODY_BROKER_MAX_BACKOFF_SECONDS = float(os.environ.get("CUSTODY_BROKER_MAX_BACKOFF_SECONDS", "8"))
CUSTODY_SYNC_PAGE_SIZE = int(os.environ.get("CUSTODY_SYNC_PAGE_SIZE", "100"))  # activities per page (Alpaca max 100)
# Largest custodian statement file imported, in bytes (StatementTooLarge beyond); imports read at most one byte
# past it. A statement is parsed whole in memory: 8 MiB is about 10,000 fully broken-down semt.002 holdings (some
# 250 MB while parsing), twice the 5,000 instruments of docs/performance.md; a larger file is a wrong one.
CUSTODY_STATEMENT_MAX_BYTES = int(os.environ.get("CUSTODY_STATEMENT_MAX_BYTES", str(8 * 1024 * 1024)))
CELERY_BEAT_SCHEDULE["sync-custody-accounts"] = {
    "task": "custody.tasks.sync_custody_accounts",
    "schedule": float(os.environ.get("CUSTODY_SYNC_INTERVAL_SECONDS", "300")),
}

# --- issuance and chains (owned by the issuance app) ---
# Networks: env JSON {"name": {"chain_id", "rpc_url", "confirmations", "reorg_window"?, "itn_network"?}}.
# `itn_network` is the name the broker's tokenization API uses for that chain (e.g. "ethereum").
import json as _json  # noqa: E402  (only this block parses JSON)

CHAIN_NETWORKS: dict[str, dict] = _json.loads(os.environ.get(
    "SHARELEDGER_NETWORKS",
    '{"anvil": {"chain_id": 31337, "rpc_url": "http://127.0.0.1:8545", "confirmations": 1, "itn_network": "ethereum"}}',
))
# Signer keys (hex). Unset in dev: anvil's PUBLIC dev accounts 0-2 (worthless outside a local node). Production
# leaves them unset and points ISSUER_SIGNER_FACTORY at a KMS/HSM-backed signer (see issuance/signers.py).
_ISSUANCE_DEV = DEBUG or env_bool("SHARELEDGER_DEV", True)
ISSUER_DEPLOYER_KEY = os.environ.get("ISSUER_DEPLOYER_KEY") or (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" if _ISSUANCE_DEV else "")
ISSUER_MINTER_KEY = os.environ.get("ISSUER_MINTER_KEY") or (
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" if _ISSUANCE_DEV else "")
ISSUER_BURNER_KEY = os.environ.get("ISSUER_BURNER_KEY") or (
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a" if _ISSUANCE_DEV else "")
ISSUER_SIGNER_FACTORY = os.environ.get("ISSUER_SIGNER_FACTORY", "issuance.signers.key_from_settings")
# Where partners send tokens to redeem (anvil dev account 4 in dev); the burner burns from it.
REDEMPTION_WALLET = os.environ.get("REDEMPTION_WALLET") or (
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65" if _ISSUANCE_DEV else "")
# Mints of more tokens than this need a second person's approval (approver != requester).
MINT_APPROVAL_THRESHOLD = decimal.Decimal(os.environ.get("MINT_APPROVAL_THRESHOLD", "1000"))
# Custody account (custody.CustodyAccount.name) that receives journaled shares and releases them.
ISSUANCE_CUSTODY_ACCOUNT = os.environ.get("ISSUANCE_CUSTODY_ACCOUNT", "alpaca-main")
# Our name at the broker's tokenization network (the `issuer` field of ITN requests).
ISSUANCE_ITN_ISSUER = os.environ.get("ISSUANCE_ITN_ISSUER", "shareledger")
ISSUANCE_GAS_LIMIT = int(os.environ.get("ISSUANCE_GAS_LIMIT", "200000"))
# How long one process_mint/process_redeem call waits for a receipt before leaving it to the next run.
ISSUANCE_RECEIPT_WAIT_SECONDS = decimal.Decimal(os.environ.get("ISSUANCE_RECEIPT_WAIT_SECONDS", "5"))
# The chain watcher records its cursor at least every this many blocks (and whenever it saw a relevant transfer).
CHAIN_CURSOR_CHECKPOINT_BLOCKS = int(os.environ.get("CHAIN_CURSOR_CHECKPOINT_BLOCKS", "500"))
CELERY_BEAT_SCHEDULE["issuance-watch-chains"] = {
    "task": "issuance.tasks.watch_chains",
    "schedule": int(os.environ.get("CHAIN_WATCH_SECONDS", "5")),
}
CELERY_BEAT_SCHEDULE["issuance-process-pending"] = {
    "task": "issuance.tasks.process_pending",
    "schedule": int(os.environ.get("ISSUANCE_POLL_SECONDS", "2")),
}

# --- reconciliation (owned by the reconciliation app) ---
# Custody observations older than these are stale: the instruments they cover are reported incomplete, never
# clean. Broker positions are refreshed by each current run (RECONCILIATION_REFRESH_BROKER); statements arrive daily.
RECONCILIATION_BROKER_MAX_AGE_SECONDS = int(os.environ.get("RECONCILIATION_BROKER_MAX_AGE_SECONDS", "3600"))
RECONCILIATION_STATEMENT_MAX_AGE_HOURS = int(os.environ.get("RECONCILIATION_STATEMENT_MAX_AGE_HOURS", "48"))
RECONCILIATION_REFRESH_BROKER = env_bool("RECONCILIATION_REFRESH_BROKER", True)
# Dividend cash still in dividends:receivable:<SYM>:* after this many days is a break.
RECONCILIATION_DIVIDEND_GRACE_DAYS = int(os.environ.get("RECONCILIATION_DIVIDEND_GRACE_DAYS", "7"))
# Aggregator (aggregate3, e.g. Multicall3) per network, overriding the ones `manage.py deploy_aggregator` recorded.
RECONCILIATION_AGGREGATORS: dict[str, str] = _json.loads(os.environ.get("RECONCILIATION_AGGREGATORS", "{}"))
# New critical breaks: an email to these addresses and a POST signed with HMAC-SHA256 (X-Shareledger-Signature).
RECONCILIATION_ALERT_EMAILS = env_list("RECONCILIATION_ALERT_EMAILS")
RECONCILIATION_ALERT_WEBHOOK_URL = os.environ.get("RECONCILIATION_ALERT_WEBHOOK_URL", "")
RECONCILIATION_ALERT_WEBHOOK_SECRET = os.environ.get("RECONCILIATION_ALERT_WEBHOOK_SECRET", "")
RECONCILIATION_ALERT_TIMEOUT_SECONDS = float(os.environ.get("RECONCILIATION_ALERT_TIMEOUT_SECONDS", "10"))

# --- partner API (owned by the api app) ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.authentication.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.ExactJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CreatedCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["api.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "DEFAULT_METADATA_CLASS": None,  # no OPTIONS introspection: the OpenAPI document is the contract
    "UNAUTHENTICATED_USER": None,
    # Reverse proxies in front of the app that append to X-Forwarded-For. 0 (default): the client is
    # REMOTE_ADDR and the header is ignored; otherwise a client could name any address it likes and escape
    # the per-address rate limit of public endpoints.
    "NUM_PROXIES": int(os.environ.get("API_NUM_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "shareledger partner API",
    "VERSION": "1.0.0",
    # DESCRIPTION: api/overview.md, set by the schema view (api/docs.py).
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "SWAGGER_UI_DIST": "/api/docs/assets",  # served by the api app from drf-spectacular-sidecar: no CDN
    "SWAGGER_UI_FAVICON_HREF": "/api/docs/assets/favicon-32x32.png",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayOperationId": False},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.openapi.document_retry_after"],
}
# Requests per key (per client IP on public endpoints) and window: "<count>/<s|min|hour>".
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "3000/min")
# Rate-limit counters must be shared by every web worker: Redis (the Celery broker's by default).
API_THROTTLE_REDIS_URL = os.environ.get("API_THROTTLE_REDIS_URL", CELERY_BROKER_URL)
# Webhooks: attempts per delivery before it is marked failed, first retry delay (doubling each time, capped),
# HTTP timeout, and the endpoints one partner may register.
# Largest JSON body the partner API reads (413 body_too_large beyond): DRF reads bodies past Django's own limit.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(64 * 1024)))
API_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("API_WEBHOOK_MAX_ATTEMPTS", "8"))
API_WEBHOOK_BACKOFF_SECONDS = int(os.environ.get("API_WEBHOOK_BACKOFF_SECONDS", "10"))
API_WEBHOOK_MAX_BACKOFF_SECONDS = int(os.environ.get("API_WEBHOOK_MAX_BACKOFF_SECONDS", "3600"))
API_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("API_WEBHOOK_TIMEOUT_SECONDS", "10"))
API_WEBHOOK_MAX_ENDPOINTS = int(os.environ.get("API_WEBHOOK_MAX_ENDPOINTS", "10"))
# Production refuses plain-http and private-network webhook URLs; dev and tests deliver to 127.0.0.1.
API_WEBHOOK_ALLOW_INSECURE = env_bool("API_WEBHOOK_ALLOW_INSECURE", DEBUG or env_bool("SHARELEDGER_DEV", True))


def _webhook_ca_bundle() -> str:
    """The CA bundle (file or directory) partners' certificates are verified with: API_WEBHOOK_CA_BUNDLE, else the
    process's REQUESTS_CA_BUNDLE or SSL_CERT_FILE, else "" (requests' own certifi bundle). The deliverer reads no
    environment itself (api/webhooks/egress.py), so it is settled here, and a path that does not exist stops the
    start: every delivery would fail its TLS handshake."""
    for name in ("API_WEBHOOK_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        path = os.environ.get(name, "")
        if path:
            if not os.path.exists(path):
                raise RuntimeError(f"{name}={path} does not exist: webhook deliveries verify partners' certificates "
                                   f"with it (API_WEBHOOK_CA_BUNDLE, else REQUESTS_CA_BUNDLE, else SSL_CERT_FILE)")
            return path
    return ""


def _webhook_proxy_url() -> str:
    """API_WEBHOOK_PROXY_URL, an http://[user:password@]host:port proxy the deliverer tunnels through (CONNECT), or
    "": webhooks never use HTTPS_PROXY and its kind (see docs/security.md)."""
    url = os.environ.get("API_WEBHOOK_PROXY_URL", "")
    try:
        parsed = urlparse(url)
        well_formed = (parsed.scheme == "http" and bool(parsed.hostname) and parsed.port is not None
                       and parsed.path in {"", "/"})
    except ValueError:  # a port beyond 65535, a bracket left open
        well_formed = False
    if url and not well_formed:
        raise RuntimeError("API_WEBHOOK_PROXY_URL must be http://[user:password@]host:port, the proxy webhook "
                           "deliveries open their CONNECT tunnels through")
    return url


API_WEBHOOK_CA_BUNDLE = _webhook_ca_bundle()
API_WEBHOOK_PROXY_URL = _webhook_proxy_url()
CELERY_BEAT_SCHEDULE["api-webhook-follower"] = {
    "task": "api.tasks.queue_webhook_deliveries",
    "schedule": float(os.environ.get("API_WEBHOOK_POLL_SECONDS", "2")),
}
CELERY_BEAT_SCHEDULE["api-webhook-retries"] = {
    "task": "api.tasks.deliver_due_webhooks",
    "schedule": float(os.environ.get("API_WEBHOOK_RETRY_SWEEP_SECONDS", "15")),
}

# --- corporate actions (owned by the corporate_actions app; variables documented in .env.example) ---
# Who pays airdrops: the Disperser's owner. Unset in dev: anvil's PUBLIC dev account 5 (worthless outside a local
# node). Production leaves it unset and points DIVIDEND_PAYER_SIGNER_FACTORY at a KMS/HSM-backed signer.
DIVIDEND_PAYER_KEY = os.environ.get("DIVIDEND_PAYER_KEY") or (
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba" if DEBUG or env_bool("SHARELEDGER_DEV", True)
    else "")
DIVIDEND_PAYER_SIGNER_FACTORY = os.environ.get("DIVIDEND_PAYER_SIGNER_FACTORY",
                                               "corporate_actions.signers.payer_key_from_settings")
# Per network: the stablecoin airdrops pay in {"address", "symbol", "decimals", "currency"} and the Disperser.
DIVIDEND_STABLECOINS: dict[str, dict] = _json.loads(os.environ.get("DIVIDEND_STABLECOINS", "{}"))
DIVIDEND_DISPERSERS: dict[str, str] = _json.loads(os.environ.get("DIVIDEND_DISPERSERS", "{}"))
# Withholding rate per holder tax category (decimal strings); "unknown" applies to every unclassified wallet.
DIVIDEND_WITHHOLDING_RATES: dict[str, str] = _json.loads(os.environ.get(
    "DIVIDEND_WITHHOLDING_RATES",
    '{"unknown": "0.30", "us_person": "0", "exempt": "0", "treaty_15": "0.15", "treaty_10": "0.10", "treaty_5": "0.05"}',
))
DIVIDEND_WITHHOLDING_COUNTRY = os.environ.get("DIVIDEND_WITHHOLDING_COUNTRY", "US")  # tax:withheld:<country>
# Defaults for instruments without a payout policy: minimum payout (below it: carry | forfeit) and fee rate.
DIVIDEND_MINIMUM_PAYOUT = decimal.Decimal(os.environ.get("DIVIDEND_MINIMUM_PAYOUT", "0.01"))
DIVIDEND_BELOW_MINIMUM = os.environ.get("DIVIDEND_BELOW_MINIMUM", "carry")
DIVIDEND_FEE_RATE = decimal.Decimal(os.environ.get("DIVIDEND_FEE_RATE", "0"))
# Issuer wallets besides REDEMPTION_WALLET (treasury...) that receive no dividend.
DIVIDEND_EXCLUDED_WALLETS = env_list("DIVIDEND_EXCLUDED_WALLETS")
# Record dates end at midnight in this time zone (the US market's).
CORPORATE_ACTIONS_TIME_ZONE = os.environ.get("CORPORATE_ACTIONS_TIME_ZONE", "America/New_York")
# Holders per Disperser transaction (and mints signed per step) and the gas the transactions get.
DIVIDEND_BATCH_SIZE = int(os.environ.get("DIVIDEND_BATCH_SIZE", "300"))
DIVIDEND_DISPERSE_GAS_BASE = int(os.environ.get("DIVIDEND_DISPERSE_GAS_BASE", "100000"))
DIVIDEND_DISPERSE_GAS_PER_RECIPIENT = int(os.environ.get("DIVIDEND_DISPERSE_GAS_PER_RECIPIENT", "40000"))
CORPORATE_ACTIONS_MINT_GAS = int(os.environ.get("CORPORATE_ACTIONS_MINT_GAS", "150000"))  # reinvest and split mints
# How long one run_payout call waits for receipts before leaving the rest to the next call.
DIVIDEND_RECEIPT_WAIT_SECONDS = decimal.Decimal(os.environ.get("DIVIDEND_RECEIPT_WAIT_SECONDS", "30"))
# The Alpaca custody account whose corporate action announcements `import_corporate_actions` reads.
CORPORATE_ACTIONS_IMPORT_ACCOUNT = os.environ.get("CORPORATE_ACTIONS_IMPORT_ACCOUNT", "alpaca-main")
CELERY_BEAT_SCHEDULE["corporate-actions-advance-payouts"] = {
    "task": "corporate_actions.tasks.advance_payouts",
    "schedule": float(os.environ.get("DIVIDEND_PAYOUT_POLL_SECONDS", "30")),
}
