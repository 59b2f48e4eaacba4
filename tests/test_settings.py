"""Settings come from the environment: check them in a fresh interpreter, as a deployment would."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

from intercom_mirror.apps import check_intercom_settings, check_sync_settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PREFIXES = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "INTERCOM_", "SYNC_", "WEBHOOK_")


def clean_env(env: dict[str, str], *, production: bool = False) -> dict[str, str]:
    """Return a process environment with only `env` configured and no .env file read.

    production: drop PYTEST_VERSION, so the settings behave as on a server rather than under the test suite.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    if production:
        clean.pop("PYTEST_VERSION", None)
    return {**clean, "DJANGO_ENV_FILE": os.devnull, **env}


def settings_in_subprocess(env: dict[str, str], expression: str, *, production: bool = False) -> object:
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'intercom_mirror.settings'; django.setup(); "
        f"from django.conf import settings; print(json.dumps({expression}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(env, production=production),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=clean_env(env, production=True),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def production_env_file(tmp_path: Path) -> Path:
    """Write the .env of a production deployment: DEBUG off, a random key, allowed hosts, Intercom credentials."""
    path = tmp_path / "production.env"
    path.write_text(
        "DJANGO_DEBUG=false\n"
        f"DJANGO_SECRET_KEY='{get_random_secret_key()}'\n"
        "DJANGO_ALLOWED_HOSTS=mirror.example.com\n"
        "INTERCOM_ACCESS_TOKEN=tok_live_0123456789\n"
        "INTERCOM_CLIENT_SECRET=whsec_0123456789\n"
    )
    return path


def test_it_defaults_to_sqlite_with_wal_and_the_orm_broker():
    database, q_cluster = settings_in_subprocess({}, "[settings.DATABASES['default'], settings.Q_CLUSTER]")
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert q_cluster["orm"] == "default" and "redis" not in q_cluster


def test_it_treats_empty_variables_as_unset():
    debug, engine = settings_in_subprocess(
        {"DATABASE_URL": "", "DJANGO_DEBUG": ""}, "[settings.DEBUG, settings.DATABASES['default']['ENGINE']]"
    )
    assert debug is False and engine == "django.db.backends.sqlite3"


def test_it_uses_postgresql_and_redis_when_configured():
    env = {"DATABASE_URL": "postgres://u@db.example:5432/mirror", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    database, q_cluster = settings_in_subprocess(env, "[settings.DATABASES['default'], settings.Q_CLUSTER]")
    assert database["ENGINE"] == "django.db.backends.postgresql" and database["NAME"] == "mirror"
    assert q_cluster["redis"] == "redis://127.0.0.1:6379/0" and "orm" not in q_cluster
    assert "-c jit=off" in database["OPTIONS"]["options"]  # see settings: JIT compiled longer than searches ran


def redis_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_it_reaches_the_redis_broker():
    pong = settings_in_subprocess(
        {"REDIS_URL": "redis://127.0.0.1:6379/0"}, "__import__('django_q.brokers').brokers.get_broker().ping()"
    )
    assert pong is True


@pytest.mark.skipif(not redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_the_web_processes_share_a_redis_cache_when_configured():
    """A bulk run's start (dashboard/once.py) is deduplicated across processes only through a shared cache."""
    expression = (
        "[type(__import__('django.core.cache').core.cache.cache._cache).__name__,"
        " __import__('django.core.cache').core.cache.cache.add('settings-test-' + str(__import__('os').getpid()), 1, 5)]"
    )
    backend, added = settings_in_subprocess({"REDIS_URL": "redis://127.0.0.1:6379/0"}, expression)
    assert backend == "RedisCacheClient" and added is True


def test_it_reads_secrets_from_files(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("tok_from_file\n")
    token = settings_in_subprocess({"INTERCOM_ACCESS_TOKEN_FILE": str(secret)}, "settings.INTERCOM_ACCESS_TOKEN")
    assert token == "tok_from_file"


def test_it_refuses_to_start_with_debug_off_and_no_secret_key():
    result = manage("check", env={})
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr
    assert "get_random_secret_key" in result.stderr


def test_it_passes_check_deploy_with_a_production_env_file(tmp_path):
    env = {"DJANGO_ENV_FILE": str(production_env_file(tmp_path))}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"\bW\d{3}\b", output), output
    assert "System check identified no issues" in output


def test_it_turns_https_on_when_debug_is_off(tmp_path):
    values = settings_in_subprocess(
        {"DJANGO_ENV_FILE": str(production_env_file(tmp_path))},
        "[settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD, "
        "settings.SECURE_PROXY_SSL_HEADER]",
        production=True,
    )
    assert values == [False, True, True, True, 31536000, True, True, None]


def test_it_lets_the_environment_override_each_https_setting(tmp_path):
    env = {
        "DJANGO_ENV_FILE": str(production_env_file(tmp_path)),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "3600",
        "DJANGO_SECURE_HSTS_PRELOAD": "no",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto,https",
    }
    values = settings_in_subprocess(
        env,
        "[settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_PRELOAD, "
        "settings.SECURE_PROXY_SSL_HEADER]",
        production=True,
    )
    assert values == [False, 3600, False, ["HTTP_X_FORWARDED_PROTO", "https"]]


def test_it_runs_without_a_key_or_https_in_debug_mode():
    values = settings_in_subprocess(
        {"DJANGO_DEBUG": "true"},
        "[bool(settings.SECRET_KEY), settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, "
        "settings.SECURE_HSTS_SECONDS]",
        production=True,
    )
    assert values == [True, False, False, 0]


def test_it_reads_the_env_file_and_the_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nSYNC_LOCK_WAIT_SECONDS=7\nWEBHOOK_MAX_AGE_HOURS=96\nSYNC_NOTES=false\nLOG_LEVEL=DEBUG\n"
    )
    env = {"DJANGO_ENV_FILE": str(dotenv), "WEBHOOK_MAX_AGE_HOURS": "100", "LOG_LEVEL": ""}
    values = settings_in_subprocess(
        env,
        "[settings.SYNC_LOCK_WAIT_SECONDS, settings.WEBHOOK_MAX_AGE_HOURS, settings.SYNC_NOTES, "
        "settings.LOGGING['root']['level']]",
    )
    # Set in the environment, even empty, beats the file; empty then means the default.
    assert values == [7, 100, False, "INFO"]


def test_it_defaults_the_sync_and_webhook_settings():
    values = settings_in_subprocess(
        {},
        "[settings.WEBHOOK_MAX_AGE_HOURS, settings.SYNC_LOCK_WAIT_SECONDS, settings.SYNC_LOCK_HEARTBEAT_SECONDS, "
        "settings.SYNC_LOCK_LEASE_SECONDS, settings.SYNC_NOTES, settings.INTERCOM_WEB_TIMEOUT]",
    )
    assert values == [72, 120, 15, 120, True, 10.0]


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"DJANGO_ENV_FILE": "/nonexistent/.env"},
            "DJANGO_ENV_FILE=/nonexistent/.env names a file that does not exist",
        ),
        ({"SYNC_NOTES": "maybe"}, "SYNC_NOTES='maybe' is not a boolean"),
        ({"SYNC_LOCK_WAIT_SECONDS": "2m"}, "SYNC_LOCK_WAIT_SECONDS='2m' is not a whole number"),
    ],
)
def test_it_refuses_bad_configuration_with_a_clear_message(env, message):
    with pytest.raises(subprocess.CalledProcessError) as failure:
        settings_in_subprocess(env, "settings.DEBUG")
    assert message in failure.value.stderr


def test_it_lists_every_variable_in_env_example():
    source = (ROOT / "intercom_mirror" / "settings.py").read_text()
    read = set(re.findall(r'(?:env\w*|proxy_ssl_header)\(\s*"([A-Z][A-Z0-9_]+)"', source))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert {"WEBHOOK_MAX_AGE_HOURS", "SYNC_NOTES", "DJANGO_SECURE_PROXY_SSL_HEADER"} <= read
    assert read - listed == set()


def test_it_reports_a_lock_lease_shorter_than_two_heartbeats(settings):
    settings.SYNC_LOCK_HEARTBEAT_SECONDS, settings.SYNC_LOCK_LEASE_SECONDS = 15, 20
    assert [m.id for m in check_sync_settings(None)] == ["mirror.E004"]
    settings.SYNC_LOCK_LEASE_SECONDS = 0
    assert [m.id for m in check_sync_settings(None)] == ["mirror.E003"]
    settings.SYNC_LOCK_LEASE_SECONDS = 120
    assert check_sync_settings(None) == []


def test_it_warns_when_webhooks_would_refuse_intercoms_own_retries(settings):
    settings.WEBHOOK_MAX_AGE_HOURS = 24
    assert [m.id for m in check_intercom_settings(None)] == ["mirror.W003"]
