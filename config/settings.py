"""Quillpost settings: one file, every deployment knob read from the environment.

Each variable is documented in docs/deploy.md ("Configuration") and .env.example.
Defaults give a working quick start (SQLite, console email, eager tasks); production
must set DJANGO_SECRET_KEY (we fail fast without it when DJANGO_DEBUG is off).
"""

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)

# Absolute base for links that leave the site (confirmation emails).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Quillpost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "csp",
    "django_guid",
    "django_ratelimit",
    "axes",
    # Officials and areas from spreadsheets in the admin (campaign/resources.py).
    "import_export",
    "letters",
    "campaign",
]

MIDDLEWARE = [
    # First, so that every log line of the request (redirects too) carries its id.
    "django_guid.middleware.guid_middleware",
    "config.logs.RequestLineMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as its docs require: turns a locked-out admin login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "campaign.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that needs no round trip.
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    # Behind PgBouncer in transaction mode: no server-side cursors (Django's
    # docs) and no prepared statements (campaign/services/signature_insert.py).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_TRANSACTION_POOLING", default=False
    )
    # Fail a request (and /healthz) quickly instead of hanging on a lost database.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The signature counter is cached here; Redis when CACHE_URL is set, so every web
# process shares one count instead of each running COUNT(*).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Redis going away must not take the site with it (docs/deploy.md, "When Redis is
# down"): connections to it fail fast, and after a failure a process leaves it alone for
# REDIS_RETRY_SECONDS, serving from memory (config/cache.py) and leaving letters in
# the outbox for the sweeper (campaign/services/delivery/queueing.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.05)
REDIS_RETRY_SECONDS = env.float("REDIS_RETRY_SECONDS", default=5)
# A command to a Redis that accepted the connection but does not answer.
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.5)
BROKER_SOCKET_TIMEOUT = env.float("BROKER_SOCKET_TIMEOUT", default=2)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "config.cache.FallbackRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=CACHE_SOCKET_TIMEOUT,
    )

# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Uploaded and generated files (hand-in packs): never under STATIC_ROOT, so
# whitenoise never serves them; each is downloaded through a staff-only view.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = env.str("MEDIA_URL", default="media/")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"

# --- HTTPS, cookies and security headers ------------------------------------------
# Production runs behind ONE trusted TLS-terminating proxy that overwrites
# X-Forwarded-Proto, and gunicorn is reachable only through it (docs/deploy.md,
# "The proxy in front"). The defaults are the production values; DEBUG (`make demo`) and
# the test suite, which speak plain http, turn the https-only ones off by env.
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# How many proxies append to X-Forwarded-For: the client is the address this many
# entries from its right (config/client_ip.py). 0: the header is ignored.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=int(BEHIND_PROXY))
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# The orchestrator probes over plain http inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool(
    "DJANGO_SECURE_COOKIES", default=not DEBUG
)
SECURE_HSTS_SECONDS = env.int(
    "DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Confirmation and thank-you URLs carry a token: never hand them to share targets.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
_site = urlsplit(SITE_URL)
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", default=[f"{_site.scheme}://{_site.netloc}"]
)
# Only our own files: no inline script or style, no third-party origin. Pages and
# the admin follow this (tests/deploy/test_csp.py loads them in Chromium under it).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Bootstrap's CSS draws checkbox ticks and select arrows as data: SVGs.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [NONE],
    }
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Reject oversized bodies before a view sees them (a sign form is a few kB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=262_144)

# --- Email -------------------------------------------------------------------
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
EMAIL_BACKEND = (
    "campaign.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="letters@quillpost.example.org"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Hosts that only catch mail (a letter "sent" there never reaches an official).
# With DEBUG off, sending to one of them, or to the console, is a system check
# error (quillpost.E001, campaign/checks.py) unless EMAIL_ALLOW_TEST_SINK says so.
EMAIL_TEST_SINK_HOSTS = env.list("EMAIL_TEST_SINK_HOSTS", default=["mailpit"])
EMAIL_ALLOW_TEST_SINK = env.bool("EMAIL_ALLOW_TEST_SINK", default=False)

# --- Data protection (the /privacy/ page; campaign/services/retention.py) ------
# Who runs the site and how supporters reach them about their data.
SITE_OPERATOR_NAME = env.str("SITE_OPERATOR_NAME", default=SITE_NAME)
SITE_OPERATOR_CONTACT = env.str("SITE_OPERATOR_CONTACT", default=DEFAULT_FROM_EMAIL)
# Days after a campaign closes before its supporters are anonymised (UK
# e-petitions: six months).
SIGNER_DATA_RETENTION_DAYS = env.int("SIGNER_DATA_RETENTION_DAYS", default=183)

# Emails to officials go out with a per-message envelope sender (VERP,
# campaign/verp.py) at this domain, where bounces come back; blank: the domain of
# DEFAULT_FROM_EMAIL. Its MX must pipe bounces+* to `manage.py process_bounce`,
# and its SPF record must allow the sending server (docs/deploy.md,
# "Bounces and receipts").
BOUNCE_DOMAIN = env.str("BOUNCE_DOMAIN", default="")

# --- Celery ------------------------------------------------------------------
# Unset broker -> tasks run eagerly in-process (quick start only); they are still
# enqueued on commit, so behaviour matches a real worker apart from concurrency.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing from a request while Redis is down: fail within a few tens of
# milliseconds (the row stays in the outbox and the sweeper re-queues it), not
# Celery's default 3 retries 0.2 s apart. One retry still rides out a pooled
# connection that Redis closed on a restart.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.05,
    "interval_max": 0.05,
}

# --- Signing and delivery -----------------------------------------------------
CONFIRMATION_TOKEN_MAX_AGE_DAYS = env.int("CONFIRMATION_TOKEN_MAX_AGE_DAYS", default=7)
SIGNATURE_COUNT_CACHE_SECONDS = env.int("SIGNATURE_COUNT_CACHE_SECONDS", default=10)
# The rendered campaign page is kept this long at most (campaign/page_cache.py);
# admin edits replace it at once. 0: not cached.
CAMPAIGN_PAGE_CACHE_SECONDS = env.int("CAMPAIGN_PAGE_CACHE_SECONDS", default=300)
# Own words that make a letter personal: sent on its own under the default
# delivery mode (campaign/services/routing.py).
PERSONAL_LETTER_MIN_WORDS = env.int("PERSONAL_LETTER_MIN_WORDS", default=25)
# Days after a letter reached its official on its own before its supporter is
# asked "did they reply?" (campaign/services/questionnaires.py); 0: never asked.
REPLY_QUESTIONNAIRE_AFTER_DAYS = env.int("REPLY_QUESTIONNAIRE_AFTER_DAYS", default=14)

# --- Abuse limits (campaign/limits.py, campaign/bot_traps.py, django-axes) ----------
# Off only for tests and benchmarks: the per-IP limits, the sign form's minimum fill
# time and the admin lockout (not the honeypot).
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# Per client IP, count/period in django-ratelimit's fixed windows ("5/300s": 5 in
# each 300-second window). A repeat signing re-sends the confirmation: covered too.
SIGN_RATE_LIMIT = env.str("SIGN_RATE_LIMIT", default="5/300s")  # per campaign
SIGN_RATE_LIMIT_ALL = env.str("SIGN_RATE_LIMIT_ALL", default="20/3600s")
PREVIEW_RATE_LIMIT = env.str("PREVIEW_RATE_LIMIT", default="120/60s")
for _name in ("SIGN_RATE_LIMIT", "SIGN_RATE_LIMIT_ALL", "PREVIEW_RATE_LIMIT"):
    if not re.fullmatch(r"[1-9]\d*/(?:[1-9]\d*)?[smhd]", _rate := globals()[_name]):
        raise ImproperlyConfigured(f"{_name} must be like 5/300s or 20/h: {_rate!r}")
RATELIMIT_IP_META_KEY = AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
# Seconds between showing the sign form and a submission that is taken; 0: none.
SIGN_MIN_SECONDS = env.float("SIGN_MIN_SECONDS", default=3)
# Admin logins: after this many failures from one IP, or for one username, that IP
# or username is refused for a while (lockouts are listed in the admin, under Axes).
AXES_ENABLED = RATELIMIT_ENABLE
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(
    minutes=env.int("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15)
)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# Tries while locked out don't restart the clock: a staff member who keeps trying
# is still let in when the lock ends (and one try per few minutes can't prolong it).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True  # a few typos before a good login are forgotten
# django-ratelimit names only django-redis among Redis backends. Django's own (ours,
# config/cache.py, is a subclass) works too: its incr() is two steps (exists,
# INCR), but a counter's key is named after its window and unused once that ends,
# 5 s before the key expires.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if DEBUG or not RATELIMIT_ENABLE:
    # The quick start's in-process cache counts per process: right for a single
    # runserver (and unused with the limits off). In production the error stands:
    # without a shared cache (CACHE_URL) each process would keep its own counts.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# JSON lines on stdout in production (config/logs.py); readable text in DEBUG.
LOGGING = logging_config(
    level=env.str("LOG_LEVEL", default="INFO"),
    as_json=env.bool("LOG_JSON", default=not DEBUG),
)
# Celery would otherwise replace the handler above with its own plain-text one.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Request ids: the proxy's X-Request-ID if it is a UUID (nginx's $request_id is),
# else a new one, echoed in the response and carried into the tasks a request
# queues. The integration connects its Celery receivers when Django's apps are
# ready, not here. Eager tasks (no broker) run inside the request and keep its id
# without it; its receivers would give them a new one and clear it on the way out.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "EXPOSE_HEADER": False,  # no cross-origin script reads it
    "INTEGRATIONS": [] if CELERY_TASK_ALWAYS_EAGER else [CeleryIntegration()],
}

# --- Delivery (campaign/services/delivery/) -------------------------------------
# Retries of transient SMTP failures back off exponentially (with jitter) from BASE
# up to MAX seconds between tries, and give up after GIVE_UP_AFTER_HOURS.
DELIVERY_RETRY_BASE_SECONDS = env.float("DELIVERY_RETRY_BASE_SECONDS", default=30)
DELIVERY_RETRY_MAX_SECONDS = env.float("DELIVERY_RETRY_MAX_SECONDS", default=3600)
DELIVERY_GIVE_UP_AFTER_HOURS = env.float("DELIVERY_GIVE_UP_AFTER_HOURS", default=24)
# A row "sending" for longer than this is presumed orphaned by a dead worker.
DELIVERY_STUCK_AFTER_SECONDS = env.float("DELIVERY_STUCK_AFTER_SECONDS", default=600)
# The sweeper leaves rows younger than this alone: their on-commit message is
# normally still on its way.
DELIVERY_SWEEP_GRACE_SECONDS = env.float("DELIVERY_SWEEP_GRACE_SECONDS", default=60)
DELIVERY_SWEEP_INTERVAL_SECONDS = env.float(
    "DELIVERY_SWEEP_INTERVAL_SECONDS", default=60
)
# Never flood one inbox: letters over the cap wait for the next free slot.
# 0 turns the throttle off.
LETTERS_PER_OFFICIAL_PER_HOUR = env.int("LETTERS_PER_OFFICIAL_PER_HOUR", default=60)
# Rows of each kind one sweep re-queues at most (a backlog drains over sweeps).
DELIVERY_SWEEP_BATCH = env.int("DELIVERY_SWEEP_BATCH", default=1000)
# Rows one task claims and sends over one SMTP connection.
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=100)
# A web process's confirmation emails of this many seconds go to the worker as one
# task (campaign/services/delivery/coalescing.py); 0: each at once.
DELIVERY_PUBLISH_WINDOW_SECONDS = env.float(
    "DELIVERY_PUBLISH_WINDOW_SECONDS", default=0.2
)
# Campaign updates to supporters (campaign/services/updates/) go out at most this
# fast (per update being sent), so a mailshot does not trip the mail provider's
# limits or crowd out letters. 0: as fast as the worker sends.
UPDATE_SEND_RATE_PER_MINUTE = env.int("UPDATE_SEND_RATE_PER_MINUTE", default=1000)
if UPDATE_SEND_RATE_PER_MINUTE < 0:
    raise ImproperlyConfigured(
        "UPDATE_SEND_RATE_PER_MINUTE must be 0 (no limit) or more, "
        f"not {UPDATE_SEND_RATE_PER_MINUTE}."
    )

# The daily digests (campaign/services/digests.py) go out at this local time;
# config/celery.py puts them on beat's schedule.
DIGEST_SEND_TIME = env.str("DIGEST_SEND_TIME", default="09:00")
try:
    DIGEST_SEND_HOUR, DIGEST_SEND_MINUTE = map(int, DIGEST_SEND_TIME.split(":"))
    assert 0 <= DIGEST_SEND_HOUR < 24 and 0 <= DIGEST_SEND_MINUTE < 60  # noqa: S101
except (ValueError, AssertionError):
    raise ImproperlyConfigured(
        f"DIGEST_SEND_TIME must be HH:MM (24-hour), not {DIGEST_SEND_TIME!r}."
    ) from None
# How often beat rebuilds the dashboards' tallies (campaign/services/tallies.py):
# how old the organiser's daily charts may be.
DASHBOARD_REFRESH_SECONDS = env.float("DASHBOARD_REFRESH_SECONDS", default=300)
# Hand-in packs (campaign/handin/): the build task's own time limit (it may run far
# longer than CELERY_TASK_TIME_LIMIT), how long a "building" pack may go without
# a progress report before the sweep builds it again, and the fonts it embeds, in
# order of preference per glyph (TrueType outlines: Latin, Greek, Cyrillic, CJK).
HANDIN_TIME_LIMIT_SECONDS = env.int("HANDIN_TIME_LIMIT_SECONDS", default=1800)
HANDIN_STALE_AFTER_SECONDS = env.int("HANDIN_STALE_AFTER_SECONDS", default=300)
HANDIN_FONTS = env.list(
    "HANDIN_FONTS",
    default=[
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    ],
)
CELERY_TIMEZONE = TIME_ZONE  # so beat reads DIGEST_SEND_TIME in the site's time
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "campaign.tasks.outbox_sweep_task",
        "schedule": DELIVERY_SWEEP_INTERVAL_SECONDS,
        # A sweep that waited longer than an interval is superseded by the next.
        "options": {"expires": DELIVERY_SWEEP_INTERVAL_SECONDS},
    },
    # Receipts owed to supporters (campaign/services/receipts.py), as often.
    "receipts": {
        "task": "campaign.tasks.receipts_create_due_task",
        "schedule": DELIVERY_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": DELIVERY_SWEEP_INTERVAL_SECONDS},
    },
    # Campaign updates: hand the worker the next few minutes of each one's copies.
    "update-pacing": {
        "task": "campaign.tasks.updates_pace_task",
        "schedule": DELIVERY_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": DELIVERY_SWEEP_INTERVAL_SECONDS},
    },
    # Hand-in packs whose build stopped (campaign/services/handin.py).
    "handin-sweep": {
        "task": "campaign.tasks.handin_packs_sweep_task",
        "schedule": DELIVERY_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": DELIVERY_SWEEP_INTERVAL_SECONDS},
    },
    "dashboard-tallies": {
        "task": "campaign.tasks.tallies_refresh_task",
        "schedule": DASHBOARD_REFRESH_SECONDS,
        "options": {"expires": DASHBOARD_REFRESH_SECONDS},
    },
}
# The longest countdown a delivery task is given (the longest retry backoff, or
# the throttle's hour), and a Redis visibility timeout an hour above it. Why, and
# what happens to letters due later: countdown() in
# campaign/services/delivery/policy.py.
DELIVERY_COUNTDOWN_MAX_SECONDS = max(DELIVERY_RETRY_MAX_SECONDS, 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(DELIVERY_COUNTDOWN_MAX_SECONDS + 3600),
    # Unset, an unreachable host would hold a request for the OS's TCP timeout,
    # and a hung one (or a network partition) for ever.
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    # Above the 1 s that a worker's BRPOP blocks in Redis.
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
}
