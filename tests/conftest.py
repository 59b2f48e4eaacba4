from __future__ import annotations

import os

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in the test thread; the browser tests
# still need the ORM (live_server fixtures, creating users).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

TEST_TOKEN = "tok_test_0123456789abcdef"


@pytest.fixture(autouse=True)
def _test_settings(settings, monkeypatch):
    """Run django-q2 tasks inline, give the client a known token and hash passwords cheaply."""
    from django_q.conf import Conf

    # PBKDF2's million rounds cost ~0.5 s per create_user and per login on this machine; no test is about the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    # django-q2 reads Q_CLUSTER once, at import: override its parsed value too.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.INTERCOM_ACCESS_TOKEN = TEST_TOKEN
    settings.INTERCOM_API_BASE = "http://sandbox.test"
    settings.INTERCOM_CLIENT_SECRET = "whsec_test_secret"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Drive Debian's chromium: Playwright cannot download its own browser here."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "password-alice", is_staff=True)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def sandbox():
    """A small generated workspace behind the sandbox, and a client on it (in-process, fake clock)."""
    from tests.sandbox_fixtures import make_sandbox

    sandbox = make_sandbox()
    yield sandbox
    sandbox.client.close()


assert settings.configured


@pytest.fixture
def live_sandbox(settings):
    """A sandbox served over real HTTP on a loopback port; settings point the app at it."""
    from intercom_mirror.sandbox import SandboxApp, generate_workspace
    from tests.helpers import served

    app = SandboxApp(generate_workspace(seed=11, users=80, leads=20, conversations=25), token=TEST_TOKEN)
    with served(app) as base_url:
        settings.INTERCOM_API_BASE = base_url
        yield app


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """Under `pytest -n N`: hand out tests in pytest-django's order, one at a time, keeping two queued per worker.

    pytest-django runs the transactional tests (browsers, crash and lock subprocesses: the slowest) after the
    others, because they flush the database, migration data included ("Support staff"); each worker must keep
    that order, which xdist's load scheduling does (a worker only ever gets tests from further down the list) and
    worksteal does not. But load scheduling lets a worker's queue grow to dozens of tests, and one worker was left
    running the crash tests while the other idled for 40-60 s. With queues of two, the end is even.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScheduling

    class InOrderShortQueues(LoadScheduling):
        QUEUED = 2

        def __init__(self, config, log=None):
            super().__init__(config, log)
            self.maxschedchunk = self.QUEUED  # the first batch per worker

        def check_schedule(self, node, duration=0):
            if node.shutting_down:
                return
            if self.pending:
                self._send_tests(node, max(0, self.QUEUED - len(self.node2pending[node])))
            else:
                node.shutdown()

    return InOrderShortQueues(config, log)
