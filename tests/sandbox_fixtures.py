"""A sandbox workspace on a fake clock, and clients wired to it in-process."""

from __future__ import annotations

from dataclasses import dataclass

from intercom_mirror.api import IntercomClient
from intercom_mirror.sandbox import SandboxApp, generate_workspace
from tests.conftest import TEST_TOKEN
from tests.helpers import FakeClock


@dataclass
class Sandbox:
    app: SandboxApp
    client: IntercomClient
    clock: FakeClock

    def new_client(self, **options) -> IntercomClient:
        options = {"transport": self.app.transport(), "sleep": self.clock.sleep, "clock": self.clock, **options}
        return IntercomClient(TEST_TOKEN, "http://sandbox.test", **options)


def make_sandbox(*, users=120, leads=30, conversations=40, seed=7, rate_limit=None, **app_options) -> Sandbox:
    clock = FakeClock()
    workspace = generate_workspace(
        seed=seed, users=users, leads=leads, conversations=conversations, now=lambda: int(clock())
    )
    app = SandboxApp(workspace, token=TEST_TOKEN, rate_limit=rate_limit, clock=clock, sleep=clock.sleep, **app_options)
    sandbox = Sandbox(app=app, client=None, clock=clock)  # type: ignore[arg-type]
    sandbox.client = sandbox.new_client()
    return sandbox
