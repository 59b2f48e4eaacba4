"""Helpers for tests that drive the sandbox: a controllable clock and an in-process client."""

from __future__ import annotations

import httpx

from .app import SandboxApp
from .generate import generate_workspace

BASE_URL = "http://sandbox.test"


class FakeClock:
    """A clock tests move by hand; use it for both the app (`clock=`) and the workspace (`now=`)."""

    def __init__(self, start: float = 1_569_510_000.0) -> None:
        self.t = float(start)
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def now(self) -> int:
        """Return the time as integer UNIX seconds, as `Workspace(now=...)` wants."""
        return int(self.t)

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def sleep(self, seconds: float) -> None:
        """Record a sleep and let the time pass, without blocking."""
        self.slept.append(seconds)
        self.t += seconds


def make_app(clock: FakeClock | None = None, *, seed: int = 1, **kwargs: object) -> SandboxApp:
    """Return a small generated sandbox whose every clock is `clock`; kwargs go to generate/SandboxApp."""
    clock = clock or FakeClock()
    sizes = {
        k: kwargs.pop(k) for k in list(kwargs) if k in ("users", "leads", "companies", "conversations", "visitors")
    }
    sizes.setdefault("users", 60)
    sizes.setdefault("leads", 20)
    sizes.setdefault("conversations", 30)
    workspace = generate_workspace(seed=seed, now=clock.now, **sizes)  # type: ignore[arg-type]
    kwargs.setdefault("clock", clock)
    kwargs.setdefault("sleep", clock.sleep)
    return SandboxApp(workspace, **kwargs)  # type: ignore[arg-type]


def make_client(app: SandboxApp, token: str | None = None, **headers: str) -> httpx.Client:
    """Return an httpx client wired to the app in-process, authenticated with a Bearer token."""
    defaults = {"Authorization": f"Bearer {token or app.token}", "Accept": "application/json"}
    return httpx.Client(transport=app.transport(), base_url=BASE_URL, headers={**defaults, **headers})
