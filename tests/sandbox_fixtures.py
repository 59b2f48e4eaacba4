"""A sandbox workspace on a fake clock, and clients wired to it in-process."""

from __future__ import annotations

import time
from dataclasses import dataclass

from intercom_mirror.api import IntercomClient
from intercom_mirror.sandbox import SandboxApp, generate_workspace
from intercom_mirror.sandbox.testing import FakeClock
from tests.conftest import TEST_TOKEN


@dataclass
class Sandbox:
    app: SandboxApp
    client: IntercomClient
    clock: FakeClock

    def new_client(self, **options) -> IntercomClient:
        options = {"transport": self.app.transport(), "sleep": self.clock.sleep, "clock": self.clock, **options}
        return IntercomClient(TEST_TOKEN, "http://sandbox.test", **options)


def make_sandbox(*, users=120, leads=30, conversations=40, seed=7, rate_limit=None, **app_options) -> Sandbox:
    # Start at the real time: the watermark after a full pass is the local time the
    # pass started, which must agree with the API's clock (as it does in production).
    clock = FakeClock(start=time.time())
    workspace = generate_workspace(seed=seed, users=users, leads=leads, conversations=conversations, now=clock.now)
    app = SandboxApp(workspace, token=TEST_TOKEN, rate_limit=rate_limit, clock=clock, sleep=clock.sleep, **app_options)
    sandbox = Sandbox(app=app, client=None, clock=clock)  # type: ignore[arg-type]
    sandbox.client = sandbox.new_client()
    return sandbox
