"""Sync locks: a dead holder's lock is taken over at once, a live holder's is waited for, then reported.

The crash tests run real `manage.py intercom_sync` processes against a database the
test shares with them (PostgreSQL: the test database; SQLite: a migrated file) and a
sandbox whose conversation list holds its requests until the test lets them go, so a
sync can be caught, and SIGKILLed, while it holds the conversations lock.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from intercom_mirror import sync
from intercom_mirror.models import SyncRun, SyncState
from intercom_mirror.sync import engine, locks
from tests.conftest import TEST_TOKEN
from tests.helpers import served

BASE_DIR = Path(__file__).resolve().parents[1]
HOST = socket.gethostname()
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL advisory locks")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite leases")


class Gate:
    """A WSGI wrapper that holds requests under a path until opened."""

    def __init__(self, app, prefix: str) -> None:
        self.app, self.prefix = app, prefix
        self.reached, self.opened = threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"].startswith(self.prefix):
            self.reached.set()
            self.opened.wait(30)
        return self.app(environ, start_response)


@pytest.fixture
def gated_sandbox():
    """A sandbox over HTTP whose conversation requests wait at a gate; yields (gate, base URL)."""
    from intercom_mirror.sandbox import SandboxApp, generate_workspace

    app = SandboxApp(generate_workspace(seed=11, users=20, leads=5, conversations=10), token=TEST_TOKEN)
    gate = Gate(app, "/conversations")
    with served(gate) as base_url:
        yield gate, base_url
        gate.opened.set()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shared") / "template.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "DJANGO_ENV_FILE": "/dev/null"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=120)
    return path


class SharedDB:
    """A database that this test and the processes it starts both see."""

    def __init__(self, url: str, sqlite_path: Path | None = None) -> None:
        self.url, self.sqlite_path = url, sqlite_path

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.sqlite_path:
            with sqlite3.connect(self.sqlite_path) as db:
                return db.execute(sql, params).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall()

    def runs(self, resource: str) -> list[tuple[str, str, str]]:
        """Return (status, took_over_from, notes) of the resource's runs, oldest first."""
        sql = "SELECT status, took_over_from, notes FROM intercom_mirror_syncrun WHERE resource = ? ORDER BY id"
        return self.query(sql, (resource,))

    def holder_pid(self, resource: str) -> int | None:
        rows = self.query("SELECT locked_pid FROM intercom_mirror_syncstate WHERE resource = ?", (resource,))
        return rows[0][0] if rows else None


@pytest.fixture
def shared_db(request, tmp_path) -> SharedDB:
    if connection.vendor == "postgresql":  # the test is transactional: we see what the processes commit
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")  # nothing this session claimed earlier may linger
        s = connection.settings_dict
        return SharedDB(f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}")
    path = tmp_path / "db.sqlite3"
    shutil.copy(request.getfixturevalue("migrated_sqlite"), path)
    return SharedDB(f"sqlite:///{path}", path)


def intercom_sync(db: SharedDB, api_base: str, *args: str, wait: int) -> tuple[list[str], dict[str, str]]:
    """Return the command line and environment of an `intercom_sync` process on the shared database."""
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "DJANGO_ENV_FILE": "/dev/null",
        "INTERCOM_API_BASE": api_base,
        "INTERCOM_ACCESS_TOKEN": TEST_TOKEN,
        "SYNC_LOCK_WAIT_SECONDS": str(wait),
        "COLUMNS": "200",
    }
    return [sys.executable, "manage.py", "intercom_sync", *args], env


def start_holder(db: SharedDB, api_base: str, gate: Gate) -> subprocess.Popen:
    """Start a full sync of conversations and return once it holds the lock (stuck at the gate)."""
    argv, env = intercom_sync(db, api_base, "--full", "--only", "conversations", wait=0)
    holder = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not gate.reached.wait(30):
        holder.kill()
        pytest.fail(f"the holder never reached the conversation list: {holder.communicate()}")
    assert db.holder_pid("conversations") == holder.pid
    return holder


@pytest.mark.django_db(transaction=True)
def test_it_takes_over_at_once_from_a_sync_killed_while_holding_the_lock(shared_db, gated_sandbox):
    gate, api_base = gated_sandbox
    holder = start_holder(shared_db, api_base, gate)
    holder.kill()  # SIGKILL: no finally, no release
    holder.wait()  # reaped, so its pid is gone
    gate.opened.set()

    # No wait at all: the lock must be free the moment its holder is dead, lease or not.
    argv, env = intercom_sync(shared_db, api_base, "--full", "--only", "conversations", wait=0)
    result = subprocess.run(argv, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"conversations: took over the lock of {HOST}:{holder.pid} since " in result.stdout
    (dead_status, _, _), (status, took_over_from, notes) = shared_db.runs("conversations")
    assert (dead_status, status) == ("abandoned", "ok")
    assert took_over_from.startswith(f"{HOST}:{holder.pid} since ")
    reason = "its database session ended" if connection.vendor == "postgresql" else "its process is gone"
    assert f"took over the lock of {took_over_from}: {reason}; marked its 1 unfinished run abandoned" in notes


@pytest.mark.django_db(transaction=True)
def test_it_waits_for_a_live_holder_then_names_it_and_exits_non_zero(shared_db, gated_sandbox):
    gate, api_base = gated_sandbox
    holder = start_holder(shared_db, api_base, gate)
    try:
        argv, env = intercom_sync(shared_db, api_base, "--only", "conversations", wait=1)
        started = time.monotonic()
        result = subprocess.run(argv, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    blocked = f"conversations: locked by {HOST}:{holder.pid} since "
    assert blocked in result.stdout and "; waiting up to 1 s" in result.stdout
    assert f"CommandError: not run: {blocked}" in result.stderr and "; waited 1 s" in result.stderr
    assert waited >= 1
    assert [status for status, _, _ in shared_db.runs("conversations")] == ["running", "skipped"]


# --- the lock layer, in process --------------------------------------------------


def sleeps() -> tuple[list[float], Callable[[float], None]]:
    """Return a list and a fake `sleep` that records into it."""
    slept: list[float] = []
    return slept, slept.append


@pytest.mark.django_db
def test_it_waits_the_time_asked_then_names_the_holder():
    assert engine.claim("users", "another-run")  # a live holder: this very process, its lease fresh
    slept, sleep = sleeps()
    with pytest.raises(locks.LockBusy) as busy:
        locks.acquire("users", "me", wait=2.5, sleep=sleep)
    assert slept == [1.0, 1.0, 0.5]
    assert str(busy.value).startswith(f"users: locked by {HOST}:{os.getpid()} since ")
    assert str(busy.value).endswith("(heartbeat 0 s ago); waited 2.5 s")
    engine.release("users", "another-run")
    locks.acquire("users", "me").release()


@pytest.mark.django_db
def test_it_skips_a_scheduled_incremental_pass_at_once_but_waits_in_a_full_one(sandbox, settings):
    settings.SYNC_LOCK_WAIT_SECONDS = 3
    assert engine.claim("admins", "another-run")
    slept, sleep = sleeps()
    run = sync.sync("admins", client=sandbox.client, sleep=sleep)
    assert (run.status, slept) == ("skipped", [])
    assert run.notes.startswith("admins: locked by ") and not run.errors
    run = sync.sync("admins", full=True, client=sandbox.client, sleep=sleep)
    assert (run.status, sum(slept)) == ("skipped", 3)
    with engine.waiting_for_locks(1.5):
        slept.clear()
        assert sync.sync("admins", client=sandbox.client, sleep=sleep).status == "skipped"
        assert slept == [1.0, 0.5]
    engine.release("admins", "another-run")


@pytest.mark.django_db
def test_it_records_the_takeover_and_abandons_the_dead_runs(sandbox):
    assert engine.claim("tags", "crashed-run")
    SyncRun.objects.create(resource="tags", kind="full")  # left running by the crashed holder
    SyncState.objects.filter(resource="tags").update(locked_until=timezone.now() - timedelta(seconds=1))
    holder = SyncState.objects.get(resource="tags").holder_since()
    run = sync.sync("tags", full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "ok" and run.took_over_from == holder
    assert run.notes.startswith(f"took over the lock of {holder}: its lease ran out")
    assert run.notes.endswith("marked its 1 unfinished run abandoned") and not run.errors
    assert SyncRun.objects.filter(resource="tags", status="abandoned").count() == 1
    assert SyncState.objects.get(resource="tags").locked_by == ""


@pytest.mark.django_db
def test_it_keeps_notes_apart_from_errors(sandbox):
    def full_pass(ctx):
        ctx.notes.append("admins: nothing to say, said anyway")

    run = engine.run_pass("admins", full_pass, None, full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert (run.status, run.notes, run.errors) == ("ok", "admins: nothing to say, said anyway", "")

    def failing_pass(ctx):
        ctx.notes.append("admins: a note before the failure")
        raise RuntimeError("boom")

    run = engine.run_pass("admins", failing_pass, None, full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert (run.status, run.notes, run.errors) == ("failed", "admins: a note before the failure", "RuntimeError: boom")


@pytest.mark.django_db
def test_it_notices_a_lock_taken_over_before_the_watermark_moves(sandbox):
    def stolen(ctx):
        SyncState.objects.filter(resource="admins").update(locked_by="someone-else")

    run = engine.run_pass("admins", stolen, None, full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "failed" and "LockLost" in run.errors
    assert SyncState.objects.get(resource="admins").watermark is None


@on_sqlite
@pytest.mark.django_db
def test_it_takes_a_lease_over_at_once_when_its_process_is_gone():
    dead = subprocess.Popen(["true"])
    dead.wait()
    fresh = {"locked_host": HOST, "locked_since": timezone.now(), "locked_until": timezone.now() + timedelta(minutes=2)}
    SyncState.objects.create(resource="users", locked_by="dead-run", locked_pid=dead.pid, **fresh)
    lock = locks.acquire("users", "me")
    assert (lock.took_over_from.split(" since ")[0], lock.reason) == (f"{HOST}:{dead.pid}", "its process is gone")
    lock.release()


@on_sqlite
@pytest.mark.django_db
def test_it_leaves_a_fresh_lease_alone_when_its_holder_may_be_alive():
    fresh = {"locked_since": timezone.now(), "locked_until": timezone.now() + timedelta(minutes=2)}
    SyncState.objects.create(resource="users", locked_by="a", locked_host="other-host", locked_pid=1, **fresh)
    SyncState.objects.create(resource="leads", locked_by="b", locked_host=HOST, locked_pid=os.getpid(), **fresh)
    for resource in ("users", "leads"):
        with pytest.raises(locks.LockBusy):
            locks.acquire(resource, "me")
    SyncState.objects.filter(resource="users").update(locked_until=timezone.now())
    locks.acquire("users", "me").release()  # another machine's holder: only its lease running out frees it


@on_sqlite
@pytest.mark.django_db(transaction=True)
def test_it_renews_the_lease_from_a_heartbeat_thread(settings):
    settings.SYNC_LOCK_HEARTBEAT_SECONDS = 0.05
    lock = locks.acquire("users", "me")
    first = SyncState.objects.get(resource="users").heartbeat_at
    time.sleep(0.3)
    state = SyncState.objects.get(resource="users")
    assert state.heartbeat_at > first and state.locked_until > timezone.now()
    lock.release()
    assert not lock.heartbeat.is_alive()
    assert SyncState.objects.get(resource="users").locked_by == ""


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_it_takes_over_when_the_holders_database_session_ends():
    held, done = threading.Event(), threading.Event()

    def other_worker():
        locks.backend().try_claim("users", "other-worker")  # its lease stays fresh: only the session ends
        held.set()
        done.wait(10)
        connections["default"].close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert held.wait(10)
    SyncState.objects.filter(resource="users").update(locked_until=timezone.now())  # a lapsed lease changes nothing
    with pytest.raises(locks.LockBusy, match=f"users: locked by {HOST}:{os.getpid()}"):
        locks.acquire("users", "me")
    done.set()
    worker.join()
    lock = locks.acquire("users", "me", wait=5)
    assert (lock.previous.locked_by, lock.reason) == ("other-worker", "its database session ended")
    lock.release()


@on_postgres
@pytest.mark.django_db
def test_it_derives_a_stable_advisory_key_per_resource():
    assert locks.advisory_key("users") == locks.advisory_key("users") != locks.advisory_key("leads")
    assert locks.advisory_key("conversations") == (int.from_bytes(b"ICMR"), 488267407)
