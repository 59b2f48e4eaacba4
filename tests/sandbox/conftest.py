"""Fixtures for the sandbox's own tests: a small generated workspace on a fake clock, and an httpx
client on it (in-process). `client` here is that client, not Django's test client."""

from __future__ import annotations

import pytest

from intercom_mirror.sandbox.testing import FakeClock, make_app, make_client


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def app(clock):
    return make_app(clock)


@pytest.fixture
def client(app):
    with make_client(app) as c:
        yield c
