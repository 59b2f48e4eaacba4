"""Settings for Intercom Mirror.

Every value comes from an environment variable, or from a `.env` file at the project root (another file with
DJANGO_ENV_FILE=/path; DJANGO_ENV_FILE=/dev/null reads none). A variable set in the real environment wins over the
file, even when empty. Defaults are safe for development; `.env.example` lists every variable. With DEBUG off the
settings are production ones: a secret key is required and HTTPS is enforced. Bad values either stop the start
with ImproperlyConfigured here or surface as system checks (see `intercom_mirror/apps.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

BASE_DIR = Path(__file__).resolve().parent.parent

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def read_env_file() -> dict[str, str]:
    """Return the variables of DJANGO_ENV_FILE, or of BASE_DIR/.env when that file exists."""
    named = os.environ.get("DJANGO_ENV_FILE", "").strip()
    path = Path(named) if named else BASE_DIR / ".env"
    if not path.exists():
        if named:
            raise ImproperlyConfigured(f"DJANGO_ENV_FILE={named} names a file that does not exist.")
        return {}
    # Values are taken literally (no ${VAR} expansion): generated secret keys may contain "$".
    return {name: value or "" for name, value in dotenv_values(path, interpolate=False).items()}


ENV_FILE = read_env_file()


def env(name: str, default: str = "") -> str:
    """Return a variable from the environment, else from the .env file; empty counts as unset (as in .env.example)."""
    value = os.environ[name] if name in os.environ else ENV_FILE.get(name, "")
    return value.strip() or default


def envbool(name: str, default: bool | str) -> bool:
    value = env(name, str(default)).lower()
    if value not in TRUE_WORDS + FALSE_WORDS:
        raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")
    return value in TRUE_WORDS


def envint(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def envfloat(name: str, default: float) -> float:
    value = env(name, str(default))
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None


def envsecret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE."""
    path = env(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return env(name, default)


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """Parse "X-Forwarded-Proto,https" (or "HTTP_X_FORWARDED_PROTO,https") into SECURE_PROXY_SSL_HEADER."""
    parts = envlist(name)
    if not parts:
        return None
    if len(parts) != 2:
        raise ImproperlyConfigured(f"{name} must be a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https.")
    header = parts[0].upper().replace("-", "_")
    return (header if header.startswith("HTTP_") else f"HTTP_{header}", parts[1])


DEBUG = envbool("DJANGO_DEBUG", False)
# pytest (8.2+) sets PYTEST_VERSION for its whole run: the suite runs with DEBUG off, as in production, but with
# a throwaway key and without the HTTPS redirect (the test client and live_server speak plain HTTP).
TESTING = "PYTEST_VERSION" in os.environ
SECRET_KEY = envsecret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set and DJANGO_DEBUG is off. Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) "
            "to a long random value, e.g. the output of: python -c 'from django.core.management.utils import "
            "get_random_secret_key; print(get_random_secret_key())'"
        )
    SECRET_KEY = "dev-only-insecure-key-change-me"
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS: on by default whenever DEBUG is off (`manage.py check --deploy` is then clean); each can be overridden.
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = envbool("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("DJANGO_CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
# TLS terminated by a proxy in front of the app: the header (and value) it sets on HTTPS requests.
SECURE_PROXY_SSL_HEADER = proxy_ssl_header("DJANGO_SECURE_PROXY_SSL_HEADER")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_q",
    "intercom_mirror.apps.IntercomMirrorConfig",
    "dashboard.apps.DashboardConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dashboard.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "intercom_mirror.urls"
WSGI_APPLICATION = "intercom_mirror.wsgi.application"

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
                "dashboard.context_processors.staff",
            ],
        },
    }
]

# SQLite by default. WAL, a busy timeout and IMMEDIATE transactions let the web
# server and a background sync (the q2 cluster) write at the same time without
# "database is locked" errors (measured in ../shared/STACK.md).
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000; "
        "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000;"
    ),
}
DATABASES = {
    "default": dj_database_url.parse(env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: a search over millions of entries is estimated costly, and PostgreSQL then spent 0.77 s compiling a
    # query that ran in 6 ms (bench/pages.py). Pages run short queries; compiling them never pays. PGOPTIONS kept.
    server_options = " ".join(filter(None, [os.environ.get("PGOPTIONS", ""), "-c jit=off"]))
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = server_options
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "dash-login"
LOGIN_REDIRECT_URL = "dash-home"
LOGOUT_REDIRECT_URL = "dash-login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Intercom -----------------------------------------------------------------
INTERCOM_ACCESS_TOKEN = envsecret("INTERCOM_ACCESS_TOKEN", "")
INTERCOM_API_BASE = env("INTERCOM_API_BASE", "https://api.intercom.io")
INTERCOM_CLIENT_SECRET = envsecret("INTERCOM_CLIENT_SECRET", "")
INTERCOM_API_VERSION = env("INTERCOM_API_VERSION", "1.4")
INTERCOM_TIMEOUT = envfloat("INTERCOM_TIMEOUT", 30)
# Client timeout for calls made inside a web request (staff actions): a slow Intercom must not hang a page.
INTERCOM_WEB_TIMEOUT = envfloat("INTERCOM_WEB_TIMEOUT", 10)
INTERCOM_MAX_RETRIES = envint("INTERCOM_MAX_RETRIES", 4)
# Requests the sync leaves unused in every rate-limit window, so that staff
# writes from the dashboard still go through during a full sync.
INTERCOM_SYNC_RESERVE = envint("INTERCOM_SYNC_RESERVE", 20)
# Minutes between incremental syncs; the full sync runs nightly at this hour (UTC).
SYNC_INTERVAL_MINUTES = envint("SYNC_INTERVAL_MINUTES", 5)
SYNC_FULL_HOUR = envint("SYNC_FULL_HOUR", 3)
# Incremental passes re-read companies whole at most this often (v1 cannot list them by updated_at).
SYNC_COMPANIES_MINUTES = envint("SYNC_COMPANIES_MINUTES", 60)
# Seconds of overlap below the watermark re-read by every incremental pass.
SYNC_OVERLAP_SECONDS = envint("SYNC_OVERLAP_SECONDS", 300)
# How long a full pass or an operator-typed sync waits for a resource's lock before giving up (scheduled
# incremental passes skip a locked resource at once).
SYNC_LOCK_WAIT_SECONDS = envint("SYNC_LOCK_WAIT_SECONDS", 120)
# A lock holder renews its lease this often; on SQLite a lease not renewed for SYNC_LOCK_LEASE_SECONDS is free
# (its holder died). The lease must be several heartbeats long.
SYNC_LOCK_HEARTBEAT_SECONDS = envint("SYNC_LOCK_HEARTBEAT_SECONDS", 15)
SYNC_LOCK_LEASE_SECONDS = envint("SYNC_LOCK_LEASE_SECONDS", 120)
# Read conversation notes during syncs; false turns the notes pass off.
SYNC_NOTES = envbool("SYNC_NOTES", True)

# --- Webhooks ------------------------------------------------------------------
# Notifications older than this are refused as replays. Intercom retries a failed delivery with a back-off that
# grows to 2 hours between attempts; we assume it gives up on one notification within 48 hours (its docs give no
# exact cut-off), so the default is longer than that and a late genuine retry is still applied. A value under
# 48 draws a system-check warning.
WEBHOOK_MAX_AGE_HOURS = envint("WEBHOOK_MAX_AGE_HOURS", 72)

# --- django-q2 ------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
Q_CLUSTER = {
    "name": "intercom_mirror",
    "workers": envint("Q_WORKERS", 2),
    "timeout": 3600,
    "retry": 3700,
    "max_attempts": 1,
    "catch_up": False,
    "label": "Django Q2",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# With Redis, the web processes share one cache (folder counts, a bulk run's start: dashboard/once.py); without it,
# each process has its own.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "im"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "intercom_mirror.logutil.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"
