"""Settings come from the environment: check them in a fresh interpreter, as a deployment would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def settings_in_subprocess(env: dict[str, str], expression: str) -> object:
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'intercom_mirror.settings'; django.setup(); "
        f"from django.conf import settings; print(json.dumps({expression}, default=str))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    result = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


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


def test_it_reads_secrets_from_files(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("tok_from_file\n")
    token = settings_in_subprocess({"INTERCOM_ACCESS_TOKEN_FILE": str(secret)}, "settings.INTERCOM_ACCESS_TOKEN")
    assert token == "tok_from_file"
