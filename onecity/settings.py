"""OneCity settings: one module, every knob from the environment (12-factor).

Environment variables (all optional on a developer machine):

ONECITY_SECRET_KEY      Django secret key (a development key is derived under var/ when unset)
ONECITY_DEBUG           "1" for debug pages (never in production)
ONECITY_ALLOWED_HOSTS   comma-separated host names
ONECITY_BASE_URL        public origin, e.g. https://city.example.gov.cn (OIDC issuer, QR URLs)
DATABASE_URL            e.g. postgres://user@host:5432/onecity; default: SQLite file under var/
ONECITY_DB_CONN_MAX_AGE seconds a database connection is kept between requests (default 300; 0: one per request)
REDIS_URL               e.g. redis://127.0.0.1:6379/0; switches the task queue and the cache to Redis
ONECITY_QUEUE_BATCH_LINGER_MS  how long a batch job (payment notifications, smart dispatch) gathers work
    before its run (default 100; 0: at once)
ONECITY_VAR_DIR         where the SQLite database, keys, uploads and the queue live (default ./var)
ONECITY_FIELD_KEYS      comma-separated Fernet keys for personal data; the first encrypts, all decrypt
ONECITY_HASH_KEY        secret for the keyed lookup hashes of personal data
ONECITY_OIDC_KEY_FILE   PEM file with the OIDC RSA signing key (default: generated under var/keys/)
ONECITY_OIDC_PREVIOUS_KEY_FILES  comma-separated PEM files of earlier OIDC keys still published
ONECITY_OIDC_PAIRWISE_KEY  secret for the pairwise subject identifiers given to OIDC clients
ONECITY_DEV_INBOX       "1" shows the development SMS inbox (default: on in the demo, off otherwise)
ONECITY_SMS_GATEWAY     dotted path of the SMS gateway class
ONECITY_POPULATION_REGISTRY  dotted path of the population-registry adapter
ONECITY_PAYMENTS_SANDBOX  "1" for the payment-channel sandbox (default: on in debug and the demo); see also
    ONECITY_PAYMENTS_CHANNEL_KEY_DIR, ONECITY_PAYMENTS_CHANNEL_CLIENT, ONECITY_PAYMENTS_QUERY_AFTER_MINUTES,
    ONECITY_PAYMENTS_REFUND_QUERY_AFTER_MINUTES, ONECITY_PAYMENTS_SANDBOX_REFUND_PROCESSING,
    ONECITY_PAYMENTS_REFUND_RESOLVE_AFTER_HOURS
ONECITY_OPEN311_JURISDICTION  the Open311 jurisdiction_id (default "fuzhou"); ONECITY_RATE_OPEN311 requests per key per hour
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from onecity.core.keys import dev_secret

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


VAR_DIR = Path(env("ONECITY_VAR_DIR", str(PROJECT_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("ONECITY_DEBUG")
SECRET_KEY = env("ONECITY_SECRET_KEY") or dev_secret(VAR_DIR, "django-secret", 50)
ALLOWED_HOSTS = [h.strip() for h in env("ONECITY_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h]
BASE_URL = env("ONECITY_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [BASE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "oauth2_provider",
    "axes",
    "ninja",
    "onecity.core",
    "onecity.notifications",
    "onecity.identity",
    "onecity.hotline",
    "onecity.ledger",
    "onecity.payments",
    "onecity.analytics",
    "onecity.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "onecity.identity.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "onecity.core.middleware.ElderlyModeMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "onecity.urls"
# paths that other systems call on their own, served without the browser middleware above
# (onecity.core.callbacks): the payment channels' notifications
CALLBACK_PATH_PREFIXES = ["/pay/notify/"]
WSGI_APPLICATION = "onecity.wsgi.application"

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
                "onecity.core.context_processors.site",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "onecity.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_health_checks=True,
        # each web thread and worker keeps its connection between requests (opening one costs a
        # PostgreSQL handshake, or SQLite's file open and PRAGMAs, on every request otherwise)
        conn_max_age=int(env("ONECITY_DB_CONN_MAX_AGE", "300")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL mode, a busy timeout and immediate transactions make SQLite safe for web + worker.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 10,
    }
    DATABASES["default"]["TEST"] = {"NAME": env("ONECITY_TEST_SQLITE", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, rate limits, task queue ------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "onecity_cache",
        }
    }

HUEY_IMMEDIATE = env_bool("ONECITY_HUEY_IMMEDIATE")
# the batch jobs (payment notifications, smart dispatch) gather what arrives in this window
# into one run (core.queue.run_starting); 0 starts each run at once
QUEUE_BATCH_LINGER_MS = int(env("ONECITY_QUEUE_BATCH_LINGER_MS", "100"))
# an idle consumer looks for work every half second at most (huey's default backs off to 10 s):
# a paid notification is applied, and a resident's message sent, within about a second
_HUEY_CONSUMER = {"workers": 2, "worker_type": "thread", "initial_delay": 0.05, "max_delay": 0.5}
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "onecity",
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": _HUEY_CONSUMER,
    }
else:
    HUEY = {
        "huey_class": "onecity.core.queue.OneCitySqliteHuey",  # WAL, synchronous=NORMAL
        "name": "onecity",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": _HUEY_CONSUMER,
    }

# --- auth ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "onecity.identity.backends.PhoneOrUsernameBackend",
]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "identity:home"
LOGOUT_REDIRECT_URL = "identity:home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "onecity.core.hashers.ClientSecretHasher",  # OAuth client secrets only (CLIENT_SECRET_HASHER)
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Sign-in lockout (django-axes): 5 failures per account lock it for 15 minutes.
AXES_FAILURE_LIMIT = int(env("ONECITY_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username", ["ip_address", "user_agent"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "onecity.identity.views.accounts.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "code", "id_number"]

# Per-IP rate limits (requests per window) on sign-in and one-time codes.
ONECITY_RATE_LIMITS = {
    "login": (int(env("ONECITY_RATE_LOGIN", "20")), 300),
    "otp_send": (int(env("ONECITY_RATE_OTP_SEND", "5")), 600),
    "otp_phone": (1, 60),  # one code per phone number per minute
    "otp_verify": (10, 600),
    "idcode_verify": (120, 60),
    "realname": (10, 3600),  # registry look-ups per account per hour
    "open311_post": (int(env("ONECITY_RATE_OPEN311", "120")), 3600),  # requests filed per API key per hour
}
# Open311 GeoReport v2: the jurisdiction_id this endpoint answers for
OPEN311_JURISDICTION = env("ONECITY_OPEN311_JURISDICTION", "fuzhou")
OTP_TTL_SECONDS = 300
OTP_MAX_ATTEMPTS = 5
# 12345 smart dispatch: requests classified at or above this confidence are dispatched to the matrix
# unit automatically (docs/decisions/0010-smart-dispatch.md); weekly retraining waits for this many new
# labelled cases
HOTLINE_AUTO_DISPATCH_THRESHOLD = float(env("ONECITY_HOTLINE_THRESHOLD", "0.85"))
HOTLINE_RETRAIN_MIN_NEW = int(env("ONECITY_HOTLINE_RETRAIN_MIN_NEW", "200"))
# Duplicate suggestions: open requests of the same district filed within this many days, whose text is at
# least this similar (character bigram TF-IDF cosine, 0..1; docs/decisions/0012-hotline-duplicates-and-hotspots.md)
HOTLINE_SIMILAR_DAYS = int(env("ONECITY_HOTLINE_SIMILAR_DAYS", "30"))
HOTLINE_SIMILAR_THRESHOLD = float(env("ONECITY_HOTLINE_SIMILAR_THRESHOLD", "0.2"))
# Knowledge-base search (docs/decisions/0021-knowledge-search-relevance.md): an entry is shown only when it matches
# at least this fraction of the best entry's words (0 keeps every match), and residents see at most this many
HOTLINE_KB_MIN_RELATIVE_SCORE = float(env("ONECITY_HOTLINE_KB_MIN_RELATIVE_SCORE", "0.5"))
HOTLINE_KB_PUBLIC_MAX_RESULTS = int(env("ONECITY_HOTLINE_KB_PUBLIC_MAX_RESULTS", "10"))
# 福码 payments (docs/decisions/0017-payment-notifications.md). The sandbox plays Alipay, WeChat Pay,
# UnionPay and the city wallet offline (a cashier page, signed notifications, trade queries): on in
# debug and the demo, off otherwise. Its keys live under PAYMENTS_CHANNEL_KEY_DIR/<channel>/, made on
# first use. Production sets PAYMENTS_CHANNEL_CLIENT to a factory giving clients that hold the real
# channels' public keys and certificates.
PAYMENTS_SANDBOX = env_bool("ONECITY_PAYMENTS_SANDBOX", DEBUG or env_bool("ONECITY_DEV_INBOX"))
PAYMENTS_CHANNEL_KEY_DIR = Path(env("ONECITY_PAYMENTS_CHANNEL_KEY_DIR", str(VAR_DIR / "channels")))
PAYMENTS_CHANNEL_CLIENT = env("ONECITY_PAYMENTS_CHANNEL_CLIENT", "onecity.payments.gateways.sandbox_client")
# attempts pending this long without a notification are queried at their channel
PAYMENTS_QUERY_AFTER_MINUTES = int(env("ONECITY_PAYMENTS_QUERY_AFTER_MINUTES", "3"))
# refunds a channel accepted "for later" (processing) this long without a result are queried at the channel
# (docs/decisions/0019-refunds.md); the sandbox channels named here (comma-separated, e.g. "wechat,unionpay")
# answer refunds "processing" instead of at once
PAYMENTS_REFUND_QUERY_AFTER_MINUTES = int(env("ONECITY_PAYMENTS_REFUND_QUERY_AFTER_MINUTES", "10"))
PAYMENTS_SANDBOX_REFUND_PROCESSING = frozenset(
    c.strip() for c in env("ONECITY_PAYMENTS_SANDBOX_REFUND_PROCESSING").split(",") if c.strip())
# refunds still processing this long may be settled by hand by an administrator who confirmed the
# result with the channel (/pay/clearing/refunds/)
PAYMENTS_REFUND_RESOLVE_AFTER_HOURS = int(env("ONECITY_PAYMENTS_REFUND_RESOLVE_AFTER_HOURS", "24"))

# --- personal data protection ----------------------------------------------------------------
FIELD_ENCRYPTION_KEYS = [k.strip() for k in env("ONECITY_FIELD_KEYS").split(",") if k.strip()] or [
    dev_secret(VAR_DIR, "field-key", kind="fernet")
]
LOOKUP_HASH_KEY = env("ONECITY_HASH_KEY") or dev_secret(VAR_DIR, "hash-key", 64)
SIGNING_KEY_DIR = VAR_DIR / "keys"
OIDC_KEY_FILE = env("ONECITY_OIDC_KEY_FILE")
OIDC_PREVIOUS_KEY_FILES = [p.strip() for p in env("ONECITY_OIDC_PREVIOUS_KEY_FILES").split(",") if p.strip()]
# Secret behind the pairwise `sub` of OIDC clients: changing it changes every subject.
OIDC_PAIRWISE_KEY = env("ONECITY_OIDC_PAIRWISE_KEY") or dev_secret(VAR_DIR, "oidc-pairwise-key", 64)

# --- identity --------------------------------------------------------------------------------
POPULATION_REGISTRY = env(
    "ONECITY_POPULATION_REGISTRY", "onecity.identity.registry.DemoPopulationRegistry"
)
SMS_GATEWAY = env("ONECITY_SMS_GATEWAY", "onecity.notifications.gateways.DevInboxGateway")
DEV_INBOX = env_bool("ONECITY_DEV_INBOX", DEBUG)
IDCODE_TTL_SECONDS = 60

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": "",  # filled in by onecity.identity.oidc_keys at start-up
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [],  # the previous key during a rotation (oidc_keys)
    "OIDC_SUBJECT_TYPES_SUPPORTED": ["pairwise"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207 `iss` on authorization responses
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_ISS_ENDPOINT": BASE_URL,
    "PKCE_REQUIRED": True,
    "CLIENT_SECRET_HASHER": "pbkdf2_sha256_client_secret",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "OAUTH2_VALIDATOR_CLASS": "onecity.identity.oidc.OneCityValidator",
    "SCOPES": {
        "openid": _("Sign you in with your OneCity account"),
        "profile": _("Your display name"),
        "phone": _("Your mobile number (masked)"),
        "realname": _("Your verified legal name and masked ID number"),
        "api": _("Call the OneCity partner API"),
        "introspection": _("Inspect tokens"),
    },
    "DEFAULT_SCOPES": ["openid"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REQUEST_APPROVAL_PROMPT": "auto",
}

# --- i18n ------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "onecity_language"

# --- static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise scans it at start-up; collectstatic fills it
STATICFILES_DIRS = [BASE_DIR / "static"]  # project CSS/JS and vendor/ (built by `make assets`)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(VAR_DIR / "media")}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not env_bool("ONECITY_PLAIN_STATIC") else
                    "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- logging ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_personal_data": {"()": "onecity.core.masking.PersonalDataLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": env("ONECITY_LOG_LEVEL", "INFO")},
    # huey gets the masking console handler itself: run_huey adds its own unfiltered handler
    # to a "huey" logger that has none (and every line would print twice).
    "loggers": {"axes": {"level": "WARNING"},
                "huey": {"level": env("ONECITY_HUEY_LOG_LEVEL", "INFO"), "handlers": ["console"],
                         "propagate": False}},
}
