"""Newsroom settings, read from the environment.

The defaults are safe for production: debug is off, a secret key is required and cookies are
secure. ``manage.py`` switches debug on for local development (see README, "Configuration").
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from curation.seedfile import MAX_FILE_BYTES

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use true or false.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: use a whole number, at least {minimum}.")
    return number


def env_site_url(name: str) -> str:
    """``scheme://host[:port]`` the site is reached at, or empty; nothing else is accepted."""
    value = os.environ.get(name, "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port that is not a number
        port_ok = False
    if (
        not port_ok
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
    ):
        raise ImproperlyConfigured(
            f"{name}={value!r}: use the address the public reaches the site at, scheme and "
            "host only, e.g. https://news.example (no path, query or user name)."
        )
    return f"{parts.scheme}://{parts.netloc}"


DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string, or set "
            "DJANGO_DEBUG=true for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "newsroom.apps.NewsroomAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_filters",
    # The ingest job queue (curation/tasks.py): its tables exist on PostgreSQL only.
    "procrastinate.contrib.django",
    "curation",
]
# Procrastinate's migrations are PostgreSQL SQL: on SQLite they are recorded, not run, and the
# ingest jobs run in-process instead of through the queue (docs/ingest.md).
DATABASE_ROUTERS = ["curation.ingest.QueueRouter"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "newsroom.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "newsroom.security.AdminLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "newsroom.urls"

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

WSGI_APPLICATION = "newsroom.wsgi.application"

# SQLite is the embedded default; production sets DATABASE_URL to PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers carry on while an import writes; IMMEDIATE transactions take the
        # write lock up front, so concurrent writers queue (timeout) instead of failing. A page
        # cache of up to 64 MiB instead of 2 (allocated as used): an import's inserts into the
        # hashed story-key index land on random pages, which 2 MiB would read again and again
        # (a large import, which loads its keys at once, goes back to 2: importer.py).
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
            " PRAGMA cache_size=-65536;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "newsroom",
    }
}
if os.environ.get("REDIS_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
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

# Security: secure by default, relaxed only while debugging on plain http://127.0.0.1.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# A client can send X-Forwarded-Proto itself, so it is believed only when the operator says a
# proxy in front sets (overwrites) it: NEWSROOM_TRUST_PROXY=true. The Host header is never taken
# from X-Forwarded-Host; absolute URLs come from NEWSROOM_SITE_URL (see newsroom/security.py).
NEWSROOM_TRUST_PROXY = env_bool("NEWSROOM_TRUST_PROXY", default=False)
if NEWSROOM_TRUST_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The address the public reaches the site at (``https://news.example``). When set, feeds, the
# sitemap and the JSON API write their absolute URLs with it instead of the request's Host.
NEWSROOM_SITE_URL = env_site_url("NEWSROOM_SITE_URL")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Content-Security-Policy: newsroom/middleware.py holds the strict default (own scripts and
# styles only, images from http(s) anywhere); set NEWSROOM_CSP here to replace it.
# Admin login throttle (newsroom/security.py): failures per address+username / per address
# within the window (seconds) before the login form answers 429.
NEWSROOM_LOGIN_FAILURE_LIMIT = env_int("NEWSROOM_LOGIN_FAILURE_LIMIT", 5, minimum=1)
NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int(
    "NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS", 50, minimum=1
)
NEWSROOM_LOGIN_FAILURE_WINDOW = env_int("NEWSROOM_LOGIN_FAILURE_WINDOW", 900, minimum=1)
# Behind a reverse proxy, the header carrying the client's address (``X-Forwarded-For``,
# ``X-Real-IP``; the META form HTTP_X_REAL_IP works too); empty means REMOTE_ADDR. Only the
# entries the trusted proxies appended are believed: the client's address is the
# NEWSROOM_TRUSTED_PROXY_COUNT-th from the right, whatever the client wrote to its left.
NEWSROOM_CLIENT_IP_HEADER = os.environ.get("NEWSROOM_CLIENT_IP_HEADER", "").strip()
NEWSROOM_TRUSTED_PROXY_COUNT = env_int("NEWSROOM_TRUSTED_PROXY_COUNT", 1, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

# Seed files larger than this are refused with a clear error rather than read into memory.
# The default of ``import_seeds --max-bytes``.
NEWSROOM_SEED_MAX_BYTES = env_int("NEWSROOM_SEED_MAX_BYTES", MAX_FILE_BYTES, minimum=1)

# Continuous ingest (docs/ingest.md). How often the workers look into watched folders; how long
# a worker may go without a heartbeat before its running jobs are given to another worker; how
# many files of a folder one job imports (POST /api/ingest/ takes NEWSROOM_SEED_MAX_BYTES).
NEWSROOM_INGEST_POLL_SECONDS = env_int("NEWSROOM_INGEST_POLL_SECONDS", 2, minimum=1)
NEWSROOM_INGEST_STALLED_SECONDS = env_int("NEWSROOM_INGEST_STALLED_SECONDS", 30, minimum=2)
NEWSROOM_INGEST_BATCH_FILES = env_int("NEWSROOM_INGEST_BATCH_FILES", 100, minimum=1)
