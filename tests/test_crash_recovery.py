"""A full sync SIGKILLed at any moment, then rerun at once, leaves the mirror equal to the API.

Each case starts `manage.py intercom_sync --full` against a sandbox served over
real HTTP and a database this test shares with it (see tests/test_locks.py), and
SIGKILLs it while the sandbox holds the n-th request to a path: the kill lands in
the pass of a chosen resource, at the same place every time. Then `intercom_sync
--full` runs again at once, with no lock wait, and must exit 0 with every
resource ok; the mirror must equal the API record for record, notes included;
the killed resource's new run must name the lock it took over and the dead run
it abandoned. The same on a mirror that was already full and that the API has
moved on from, and with 2 % of answers 500 and 2 % 503, at random.

Waits are scaled down in these processes, not skipped: the sandbox's scroll
expires after SCROLL_TTL s instead of 60 and the sync waits SYNC_SCROLL_WAIT s
for it instead of 61; retries back off from BACKOFF_BASE s instead of 1 s.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from intercom_mirror.api import IntercomClient
from intercom_mirror.models import Contact, Note
from intercom_mirror.sandbox import SandboxApp, generate_workspace
from intercom_mirror.sandbox.server import make_server
from intercom_mirror.sandbox.testing import make_client
from intercom_mirror.sync.resources import RESOURCES
from tests.conftest import TEST_TOKEN
from tests.mirror_compare import assert_mirror_matches
from tests.test_locks import SharedDB

BASE_DIR = Path(__file__).resolve().parents[1]
HOST = socket.gethostname()
SCROLL_TTL = 3.0  # the sandbox's, in seconds: far longer than a sync takes between two pages of a scroll
SYNC_SCROLL_WAIT = 3.5  # the sync's wait for an open scroll to expire (61 s for the API's 60 s)
BACKOFF_BASE = 0.05

# `manage.py <argv>`, with the waits above scaled down.
LAUNCH = f"""
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intercom_mirror.settings")
import django
django.setup()
from intercom_mirror.api import IntercomClient
from intercom_mirror.sync import resources
resources.SCROLL_TTL = {SYNC_SCROLL_WAIT}
IntercomClient.BACKOFF_BASE = {BACKOFF_BASE}
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", *sys.argv[1:]])
"""


@dataclass(frozen=True)
class KillPoint:
    resource: str  # whose pass the kill lands in
    path: str  # the sync is killed while the sandbox holds the n-th request whose path matches this
    nth: int
    says: tuple[str, str] | None = None  # (resource, words) its run must say in the rerun, without faults


# An app has one scroll at a time, of any kind: a scroll the dead run opened (its request held,
# then answered after the kill) is still open when the rerun's first scroll, of companies, starts.
SCROLL_LEFT_OPEN = ("companies", "companies: a scroll was already open (attempt 1); waited for it to expire")
KILL_POINTS = {
    "companies": KillPoint("companies", "/companies/scroll", 1, SCROLL_LEFT_OPEN),
    "users": KillPoint("users", "/users/scroll", 2),  # its first page read, perhaps written
    "leads": KillPoint("leads", "/contacts/scroll", 1, SCROLL_LEFT_OPEN),
    "conversations": KillPoint("conversations", "/conversations/", 12),  # about half the details read
    # Past the first batch of contacts: the rerun reads the notes of the others only.
    "notes": KillPoint("notes", "/notes", 60, ("notes", "notes: resumed the pass begun ")),
}
# On a mirror already full: killed while users are asked for by id (a user vanished from the scroll).
KILLED_FLAGGING_USERS = KillPoint("users", r"/users/(?!scroll)", 1)


class Tripwire:
    """A WSGI wrapper that counts requests and, from the n-th one matching a path, holds every request.

    Once the test has killed the sync (`killed()`), the held requests go through to the
    app, as a server finishes requests whose client has died (a first scroll request
    thus leaves a scroll open), right before the rerun's first scroll request: that one
    finds the dead run's scroll open however long the rerun took to get there (a
    loaded machine can take longer to start it than the scroll lives).
    """

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.point: KillPoint | None = None
        self.lock = threading.Lock()
        self.served = self.hits = self.held = 0
        self.tripped_at: int | None = None  # the number of the request that tripped the wire, all paths counted
        self.tripped, self.released = threading.Event(), threading.Event()
        self.dead = False  # the sync is killed: requests from now on are the rerun's, never held

    def arm(self, point: KillPoint) -> None:
        self.point = point

    def killed(self) -> None:
        with self.lock:
            self.dead = True

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        with self.lock:
            self.served += 1
            point = self.point
            if point and self.tripped_at is None and re.match(point.path, path):
                self.hits += 1
                if self.hits == point.nth:
                    self.tripped_at = self.served
                    self.tripped.set()
            hold = self.tripped.is_set() and not self.dead and not self.released.is_set()
            self.held += hold
            release_first = self.dead and path.endswith("/scroll") and not self.released.is_set()
        if release_first:
            self.release()
        if not hold:
            return self.app(environ, start_response)
        try:
            self.released.wait(30)
            return self.app(environ, start_response)
        finally:
            with self.lock:
                self.held -= 1

    def release(self) -> None:
        """Let the held requests through and return once the app has answered them all."""
        self.released.set()
        deadline = time.monotonic() + 10
        while self.held and time.monotonic() < deadline:
            time.sleep(0.01)


def add_notes(app: SandboxApp) -> None:
    """Give users and leads notes (generated ones are on users only), and one lead over a page of them."""
    ws = app.workspace
    users, leads = sorted(ws.users)[:12], sorted(ws.leads)[:12]
    with make_client(app) as client:
        for i, contact_id in enumerate(users + leads):
            for n in range(1 + i % 3):
                body = {"body": f"Note {n} on {contact_id}", "user": {"id": contact_id}}
                assert client.post("/notes", json=body).status_code == 200
        for n in range(55):  # notes are listed 50 a page
            assert client.post("/notes", json={"body": f"Long story {n}", "user": {"id": leads[0]}}).status_code == 200
    noted = {note.contact_id for note in ws.notes.values()}
    assert noted & set(ws.users) and noted & set(ws.leads)


def change_the_workspace(app: SandboxApp) -> None:
    """Move the API on from what the mirror holds: records changed, added, merged, deleted.

    No deleted contact has notes: the mirror keeps the notes of a deleted contact
    live, which the comparison counts as extra, crash or no crash.
    """
    ws = app.workspace
    users, leads = sorted(ws.users), sorted(ws.leads)
    noted = {note.contact_id for note in ws.notes.values()}
    quiet_user = next(u for u in users[20:] if u not in noted)
    quiet_lead = next(lead for lead in leads[13:] if lead not in noted)
    merged_lead = leads[5]  # has notes: they move to the user
    with make_client(app) as client:
        answers = [
            client.delete(f"/users/{quiet_user}"),
            client.delete(f"/contacts/{quiet_lead}"),
            client.post("/users", json={"id": users[6], "name": "Renamed Person"}),
            client.post("/notes", json={"body": "A new note", "user": {"id": users[7]}}),
            client.post("/notes", json={"body": "A new note on a lead", "user": {"id": leads[3]}}),
            client.post(
                "/contacts/convert",
                json={"contact": {"user_id": ws.leads[merged_lead].user_id}, "user": {"id": users[8]}},
            ),
            client.post("/tags", json={"name": "Escalated", "users": [{"id": users[9]}]}),
        ]
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers]
    del ws.notes[next(n.id for n in ws.notes.values() if n.contact_id == leads[0])]  # deleted in Intercom's UI


@pytest.fixture
def sandbox():
    """The live_sandbox workspace with more notes, over HTTP behind a tripwire, without a rate limit."""
    workspace = generate_workspace(seed=11, users=80, leads=20, conversations=25)
    app = SandboxApp(workspace, token=TEST_TOKEN, rate_limit=None, scroll_ttl=SCROLL_TTL)
    add_notes(app)
    wire = Tripwire(app)
    server = make_server(wire)
    # serve_in_thread's server takes half a second to notice a shutdown: too long for nine tests.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield wire, "http://{}:{}".format(*server.server_address[:2])
    wire.released.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "template.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "DJANGO_ENV_FILE": "/dev/null"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=120)
    return path


@pytest.fixture
def shared_db(request, tmp_path) -> SharedDB:
    """The database this test and its processes share (as in tests/test_locks.py)."""
    if connection.vendor == "postgresql":  # the test is transactional: we see what the processes commit
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")  # nothing this session claimed earlier may linger
        s = connection.settings_dict
        return SharedDB(f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}")
    path = tmp_path / "db.sqlite3"
    shutil.copy(request.getfixturevalue("migrated_template"), path)
    return SharedDB(f"sqlite:///{path}", path)


@pytest.fixture
def env(shared_db, sandbox) -> dict[str, str]:
    """The environment of the processes: the shared database, the sandbox, no wait for a lock."""
    _, api_base = sandbox
    return {
        **os.environ,
        "DATABASE_URL": shared_db.url,
        "DJANGO_ENV_FILE": "/dev/null",
        "INTERCOM_API_BASE": api_base,
        "INTERCOM_ACCESS_TOKEN": TEST_TOKEN,
        "SYNC_LOCK_WAIT_SECONDS": "0",  # rerun at once: a dead holder's lock must be free already
        "COLUMNS": "200",
    }


FULL_SYNC = [sys.executable, "-c", LAUNCH, "intercom_sync", "--full"]


def full_sync(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(FULL_SYNC, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def kill_mid_sync(wire: Tripwire, env: dict[str, str], point: KillPoint, logs: Path) -> int:
    """Start a full sync, SIGKILL it once the tripwire holds its request, reap it; return its pid."""
    wire.arm(point)
    with open(logs / "killed.out", "w") as out, open(logs / "killed.err", "w") as err:
        sync = subprocess.Popen(FULL_SYNC, cwd=BASE_DIR, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + 60
        while not wire.tripped.wait(0.05):
            if sync.poll() is not None or time.monotonic() > deadline:
                sync.kill()
                sync.wait()
                pytest.fail(f"the sync never reached {point}: {(logs / 'killed.err').read_text()[-3000:]}")
        sync.kill()  # SIGKILL: no finally, no lock released, no run finished
        sync.wait()  # reaped: its pid is gone
    wire.killed()  # its held requests are answered before the rerun's first scroll
    return sync.pid


def check_recovery(
    db: SharedDB, wire: Tripwire, env: dict[str, str], point: KillPoint, logs: Path, *, faults: bool = False
) -> tuple[int, int]:
    """Kill a full sync at the point, rerun it at once, check its runs and the mirror; return (contacts, notes)."""
    runs = "SELECT id, resource, status, took_over_from, notes FROM intercom_mirror_syncrun WHERE id > ? ORDER BY id"
    before = db.query("SELECT COALESCE(MAX(id), 0) FROM intercom_mirror_syncrun")[0][0]
    killed_pid = kill_mid_sync(wire, env, point, logs)
    killed = db.query(runs, (before,))

    rerun = full_sync(env)
    wire.release()  # done at the rerun's first scroll, unless it failed before one
    assert rerun.returncode == 0, rerun.stdout[-5000:] + rerun.stderr[-5000:]
    dead = f"{HOST}:{killed_pid} since "
    assert f"{point.resource}: took over the lock of {dead}" in rerun.stdout, rerun.stdout

    # The killed sync: each resource before the one it died in finished; that one is abandoned now.
    order = list(RESOURCES)
    finished = order[: order.index(point.resource)]
    assert [(r, s) for _, r, s, _, _ in killed] == [(r, "ok") for r in finished] + [(point.resource, "running")]
    dead_run = killed[-1][0]
    assert db.query("SELECT status FROM intercom_mirror_syncrun WHERE id = ?", (dead_run,)) == [("abandoned",)]
    rerun_runs = [row[1:] for row in db.query(runs, (dead_run,))]
    # The rerun: every resource once, ok; only the killed one took a lock over, and says whose and why.
    assert [(r, s) for r, s, _, _ in rerun_runs] == [(r, "ok") for r in order], rerun.stdout
    took_over = {r: took for r, _, took, _ in rerun_runs if took}
    notes = {r: text for r, _, _, text in rerun_runs}
    assert list(took_over) == [point.resource] and took_over[point.resource].startswith(dead)
    reason = "its database session ended" if connection.vendor == "postgresql" else "its process is gone"
    said = f"took over the lock of {took_over[point.resource]}: {reason}; marked its 1 unfinished run abandoned"
    assert said in notes[point.resource]
    if point.says and not faults:
        resource, words = point.says
        assert words in notes[resource], notes

    wire.app.faults.clear()  # the comparison reads the API as it is, without faults
    api = IntercomClient(TEST_TOKEN, env["INTERCOM_API_BASE"], max_retries=0)
    with reading(db), api:
        assert_mirror_matches(api, notes=True)
        return Contact.objects.live().count(), Note.objects.live().count()


@contextmanager
def reading(db: SharedDB) -> Iterator[None]:
    """Point this process's ORM at the shared database for the block (on PostgreSQL it is already)."""
    if db.sqlite_path is None:
        yield
        return
    test_db = connections[DEFAULT_DB_ALIAS]
    shared = test_db.__class__({**test_db.settings_dict, "NAME": str(db.sqlite_path)}, DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = shared
    try:
        yield
    finally:
        shared.close()
        connections[DEFAULT_DB_ALIAS] = test_db


def in_the_api(wire: Tripwire) -> tuple[int, int]:
    """Return how many users and leads, and notes, the API holds."""
    ws = wire.app.workspace
    return len(ws.users) + len(ws.leads), len(ws.notes)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("point", KILL_POINTS.values(), ids=KILL_POINTS.keys())
def test_a_full_sync_killed_then_rerun_leaves_the_mirror_equal_to_the_api(shared_db, sandbox, env, point, tmp_path):
    wire, _ = sandbox
    assert check_recovery(shared_db, wire, env, point, tmp_path) == in_the_api(wire) == (100, 107)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("point", [KILLED_FLAGGING_USERS, KILL_POINTS["notes"]], ids=["users", "notes"])
def test_the_same_holds_on_a_mirror_the_api_has_moved_on_from(shared_db, sandbox, env, point, tmp_path):
    wire, _ = sandbox
    first = full_sync(env)
    assert first.returncode == 0, first.stderr[-5000:]
    change_the_workspace(wire.app)
    assert check_recovery(shared_db, wire, env, point, tmp_path) == in_the_api(wire) == (97, 108)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("point, seed", [(KILL_POINTS["users"], 7), (KILL_POINTS["notes"], 8)], ids=["users", "notes"])
def test_the_same_holds_with_2_percent_500_and_2_percent_503(shared_db, sandbox, env, point, seed, tmp_path):
    wire, _ = sandbox
    wire.app.faults.random_failures(rate_500=0.02, rate_503=0.02, seed=seed)
    assert check_recovery(shared_db, wire, env, point, tmp_path, faults=True) == in_the_api(wire)
    assert sum(wire.app.faults.random_failed.values()) >= 4  # about 12 expected: the faults did happen
