"""Settings shared by every environment. Everything that differs comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "config.apps.PlatformConfig",  # first: its ready() sets the admin's form-field defaults before admin registers
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "csp",
    "drf_spectacular_sidecar",
    "accounts",
    "market",
    "brokers",
    "baskets",
    "strategies",
    "allocations",
    "execution",
    "limits",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "config.middleware.ExchangeTimeZoneMiddleware",
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default runs web, worker, beat and feed against one file: WAL lets readers and one
    # writer proceed together, IMMEDIATE transactions queue writers instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)  # persistent connections in production
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # stored in UTC; schedules are read in EXCHANGE_TIME_ZONE
EXCHANGE_TIME_ZONE = "Asia/Kolkata"  # pages render every time in it (config.middleware.ExchangeTimeZoneMiddleware)
FORMAT_MODULE_PATH = ["config.formats"]  # Indian number grouping

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []

# Broker credentials are encrypted with these keys (MultiFernet: first key encrypts, all decrypt),
# deliberately separate from SECRET_KEY so that either can be rotated on its own.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.VersionedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env("LOGIN_THROTTLE_RATE", default="10/min")},
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_PARSER_CLASSES": ["config.api.JSONParser"],
    # Reverse proxies in front of the app whose X-Forwarded-For is trusted; 0 = use the peer address only, so
    # a client cannot pick its own identity for the login throttle (django-axes reads the same setting).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SIMPLE_JWT = {
    # Short: logout and revocation end refresh tokens at once, a stolen access token lives at most this long
    # (revocation through the token version also ends access tokens at once).
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "TOKEN_OBTAIN_SERIALIZER": "accounts.api.serializers.VersionedTokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.api.serializers.VersionedTokenRefreshSerializer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Options platform API",
    "DESCRIPTION": "Multi-broker options strategies: baskets, strategies, legs, allocations, executions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Every operation documents its 400/401/403/404/409 answers with the error body the API returns.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.schema.add_error_responses"],
    # Swagger UI from this site's static files (drf-spectacular-sidecar): no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "WeekdayEnum": "strategies.models.WEEKDAYS",
        "StrikeMethodEnum": "strategies.models.Leg.EntryBy",
        "LifecycleStatusEnum": "strategies.models.Strategy.Status",
        "BrokerAccountStatusEnum": "brokers.models.BrokerAccount.Status",
        "ExecutionStatusEnum": "execution.models.Execution.Status",
        "OrderStatusEnum": "execution.models.Order.Status",
        "ExecutionTypeEnum": "execution.models.Execution.Type",
        "ManualExecutionTypeEnum": "execution.api.serializers.MANUAL_TYPES",
        "SideEnum": "execution.models.Side",
    },
}

# django-axes: lock out a username+IP after repeated failed logins (pages, admin and the token API).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "config.auth.client_ip"

# The login throttle counts in this cache. The embedded default runs one web process: a per-process cache
# will do. Production must share it between every web process: production.py uses Redis from REDIS_URL.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Content-Security-Policy (django-csp) on every response: scripts and styles from this site only (no CDN);
# inline style attributes are allowed, inline scripts are not. CSP_REPORT_ONLY=true to try a change first.
_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_QUEUE_DIR = env("CELERY_QUEUE_DIR", default=str(BASE_DIR / "var" / "celery-queue"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Embedded default: a file-backed queue, no extra service to run.
    Path(CELERY_QUEUE_DIR).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": CELERY_QUEUE_DIR,
        "data_folder_out": CELERY_QUEUE_DIR,
        "control_folder": str(Path(CELERY_QUEUE_DIR) / "control"),
    }

# Size limits per account (limits app): ops override them per account or per user in the admin.
TRADING_LIMITS = {
    "max_lots_per_leg": env.int("LIMIT_MAX_LOTS_PER_LEG", default=100),
    "max_lots_per_execution": env.int("LIMIT_MAX_LOTS_PER_EXECUTION", default=400),
    "max_orders_per_execution": env.int("LIMIT_MAX_ORDERS_PER_EXECUTION", default=100),
    "max_margin_percent": env.float("LIMIT_MAX_MARGIN_PERCENT", default=90.0),
}

# Execution engine knobs (seconds).
EXECUTION_LATENESS_BUDGET_SECONDS = env.int("EXECUTION_LATENESS_BUDGET_SECONDS", default=30)
EXECUTION_LOOKAHEAD_MINUTES = env.int("EXECUTION_LOOKAHEAD_MINUTES", default=3)
QUOTE_STALE_SECONDS = env.int("QUOTE_STALE_SECONDS", default=5)
EXECUTION_LEASE_SECONDS = env.int("EXECUTION_LEASE_SECONDS", default=30)
# Every broker call runs under this deadline (shorter than the lease, so a worker gives up on a stalled call
# while it still holds its executions); a call past it is a timeout: the orders are UNKNOWN.
BROKER_CALL_TIMEOUT_SECONDS = env.float("BROKER_CALL_TIMEOUT_SECONDS", default=10)
# A SENT order is looked up by tag, and sent again only if the broker has no order with that tag, once this
# much has passed since it was sent (longer than the broker timeout: a call that slow has given up).
ORDER_SENT_GRACE_SECONDS = env.float("ORDER_SENT_GRACE_SECONDS", default=20)
# Executions due at the same instant are run in messages of up to this many (the first ones smaller).
EXECUTION_BATCH_SIZE = env.int("EXECUTION_BATCH_SIZE", default=50)
# The first batch of an instant starts on time; the others this much later, so the first orders go out at once.
EXECUTION_BATCH_STAGGER_MS = env.int("EXECUTION_BATCH_STAGGER_MS", default=100)
EXECUTION_ACCOUNT_THREADS = env.int("EXECUTION_ACCOUNT_THREADS", default=8)
EXECUTION_PARALLEL_ACCOUNTS = env.bool("EXECUTION_PARALLEL_ACCOUNTS", default=True)
# The worker's and the feed's cyclic garbage collector: its first generation is collected after this many new
# objects (Python's default is 700; a batch of placements allocates hundreds of thousands, and collecting every
# 700 cost about a tenth of the worker's CPU). Reference counting still frees almost everything at once. 0
# keeps Python's defaults.
PROCESS_GC_THRESHOLD = env.int("PROCESS_GC_THRESHOLD", default=50_000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# Live brokers (Zerodha Kite Connect, Angel One SmartAPI).
# Redis for limits shared by every worker process (empty: per-process limits, fine for one embedded process).
REDIS_URL = env("REDIS_URL", default="")
# Seconds a broker HTTP call may take before its outcome counts as unknown (shorter than the execution lease).
BROKER_HTTP_TIMEOUT = env.float("BROKER_HTTP_TIMEOUT", default=5.0)
# Seconds an order waits for a rate-limit slot before it is reported not sent.
BROKER_RATE_LIMIT_WAIT = env.float("BROKER_RATE_LIMIT_WAIT", default=10.0)
# How often a 429 answer (request not processed) is resent after waiting for a slot.
BROKER_429_RETRIES = env.int("BROKER_429_RETRIES", default=3)
# API roots: empty means the SDK's production endpoint; the sandbox points them at the loopback fakes.
KITE_API_ROOT = env("KITE_API_ROOT", default="")
KITE_LOGIN_URL = env("KITE_LOGIN_URL", default="")
KITE_TICKER_ROOT = env("KITE_TICKER_ROOT", default="")
SMARTAPI_ROOT = env("SMARTAPI_ROOT", default="")
# SmartAPI wants the client's public IP in a header; the SDK would look it up on import (we never let it).
SMARTAPI_CLIENT_PUBLIC_IP = env("SMARTAPI_CLIENT_PUBLIC_IP", default="127.0.0.1")
# Kite market orders carry market protection: -1 lets the exchange apply its automatic band.
KITE_MARKET_PROTECTION = env.int("KITE_MARKET_PROTECTION", default=-1)
# BROKER_SANDBOX=1: `make run` starts the loopback Kite and SmartAPI fakes on these ports and points the
# platform at them (brokers/sandbox.py), so the whole live path can be tried without a broker account.
BROKER_SANDBOX = env.bool("BROKER_SANDBOX", default=False)
SANDBOX_KITE_PORT = env.int("SANDBOX_KITE_PORT", default=8701)
SANDBOX_ANGEL_PORT = env.int("SANDBOX_ANGEL_PORT", default=8702)
if BROKER_SANDBOX:
    KITE_API_ROOT = KITE_API_ROOT or f"http://127.0.0.1:{SANDBOX_KITE_PORT}"
    KITE_LOGIN_URL = KITE_LOGIN_URL or f"http://127.0.0.1:{SANDBOX_KITE_PORT}/connect/login"
    SMARTAPI_ROOT = SMARTAPI_ROOT or f"http://127.0.0.1:{SANDBOX_ANGEL_PORT}"

# Estimated charges per executed option order (execution.charges): NSE F&O options rates, as fractions of the
# premium turnover unless named per order. Every P&L figure is shown gross and net of these.
CHARGES_BROKERAGE_PER_ORDER = env("CHARGES_BROKERAGE_PER_ORDER", default="20")
CHARGES_STT_SELL_RATE = env("CHARGES_STT_SELL_RATE", default="0.001")
CHARGES_EXCHANGE_RATE = env("CHARGES_EXCHANGE_RATE", default="0.0003503")
CHARGES_SEBI_RATE = env("CHARGES_SEBI_RATE", default="0.000001")
CHARGES_GST_RATE = env("CHARGES_GST_RATE", default="0.18")
CHARGES_STAMP_BUY_RATE = env("CHARGES_STAMP_BUY_RATE", default="0.00003")
# Annual risk-free rate for the Sharpe ratio (a fraction: 0.065 is 6.5 %, about the 91-day T-bill yield).
RISK_FREE_RATE = env.float("RISK_FREE_RATE", default=0.065)
# Angel One's instrument master (ScripMaster JSON); the sandbox serves one from the SmartAPI fake.
SMARTAPI_SCRIP_MASTER_URL = env(
    "SMARTAPI_SCRIP_MASTER_URL",
    default=f"http://127.0.0.1:{SANDBOX_ANGEL_PORT}/OpenAPI_File/files/OpenAPIScripMaster.json"
    if BROKER_SANDBOX
    else "https://margincalculator.angelbroking.com/OpenAPI_File/files/OpenAPIScripMaster.json",
)
