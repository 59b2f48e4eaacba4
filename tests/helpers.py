"""Small shared test helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "intercom"


def fixture(name: str) -> Any:
    """Return a real Intercom v1 response sample (copied from ../shared/fixtures)."""
    return json.loads((FIXTURES / name).read_text())


def sign(body: bytes, secret: str) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


class FakeClock:
    """A clock shared by the sandbox and the client: sleeping moves time on, instantly."""

    def __init__(self, start: float | None = None) -> None:
        # Start at the real time: the sync's watermark after a full pass is the local
        # time the pass started, which must agree with the API's clock (as it does in
        # production, up to the overlap).
        self.now = time.time() if start is None else start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0)

    def advance(self, seconds: float) -> None:
        self.now += seconds
