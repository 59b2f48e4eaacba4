"""Settings for Intercom Mirror.

Every value comes from an environment variable with a default that is safe for
development; `.env.example` lists them all. Bad values surface as system checks
(see `intercom_mirror/apps.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """Return an environment variable; set-but-empty counts as unset (as in a copied .env.example)."""
    return os.environ.get(name, "").strip() or default


def envbool(name: str, default: str) -> bool:
    return env(name, default).lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    return int(env(name, str(default)))


def envsecret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return env(name, default)


DEBUG = envbool("DJANGO_DEBUG", "False")
SECRET_KEY = envsecret("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
ALLOWED_HOSTS = [h.strip() for h in env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("DJANGO_CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]

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
INTERCOM_TIMEOUT = float(env("INTERCOM_TIMEOUT", "30"))
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
