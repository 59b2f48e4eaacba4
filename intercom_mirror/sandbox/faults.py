"""Injectable failures for tests: a queue of one-shot faults applied to the next requests.

Faults apply after authentication and rate limiting, in the order they were
scheduled: `fail_next(2); drop_next(1)` fails two requests, then drops the third.
`random_failures(rate_500=0.02, rate_503=0.02, seed=7)` fails a share of every
request after those, at random but the same way for the same seed.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass


class DroppedConnection(Exception):
    """Raised out of the WSGI app: the server closes the socket without answering."""


class SimulatedTimeout(Exception):
    """Raised out of the WSGI app: the client should see a read timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"simulated timeout after {seconds}s")
        self.seconds = seconds


@dataclass
class Fault:
    kind: str  # "status", "rate_limit", "slow", "drop" or "timeout"
    status: int = 500
    seconds: float = 0.0
    processed: bool = False  # drop/timeout only: apply the request before failing it
    html: bool = False  # status only: answer with a proxy-style HTML page instead of an error.list


class Faults:
    """The fault schedule of one `SandboxApp`."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self.scroll_fail_after: int | None = None
        self._random: random.Random | None = None
        self._rates: tuple[float, float] = (0.0, 0.0)
        self._random_lock = threading.Lock()  # the HTTP server answers on several threads
        self.random_failed: dict[int, int] = {}  # status → requests failed at random so far

    def fail_next(self, n: int = 1, status: int = 500, *, html: bool = False) -> None:
        """Answer the next n requests with this HTTP status (500 server_error, 503 service_unavailable, …)."""
        self._add(n, Fault("status", status=status, html=html))

    def rate_limit_burst(self, n: int = 1) -> None:
        """Answer the next n requests with 429 rate_limit_exceeded, whatever the budget says."""
        self._add(n, Fault("rate_limit", status=429))

    def slow_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """Delay the next n responses by `seconds` (through the app's injectable `sleep`)."""
        self._add(n, Fault("slow", seconds=seconds))

    def drop_next(self, n: int = 1, *, processed: bool = False) -> None:
        """Close the connection without a response for the next n requests.

        With `processed=True` the request is applied first, as when a response is
        lost after the server committed the write.
        """
        self._add(n, Fault("drop", processed=processed))

    def timeout_next(self, n: int = 1, seconds: float = 30.0, *, processed: bool = False) -> None:
        """Make the next n requests time out: in-process at once, over HTTP after holding `seconds`."""
        self._add(n, Fault("timeout", seconds=seconds, processed=processed))

    def fail_scroll_after(self, pages: int) -> None:
        """Break the current (or next) scroll with HTTP 500 once it has served `pages` pages."""
        self.scroll_fail_after = pages

    def random_failures(self, rate_500: float = 0.02, rate_503: float = 0.02, *, seed: int | None = None) -> None:
        """From now on, answer a share of the requests no fault is scheduled for with 500, and another with 503.

        Each request draws once from a generator seeded with `seed`: the same seed
        fails the same positions in the sequence of requests.
        """
        if rate_500 < 0 or rate_503 < 0 or rate_500 + rate_503 > 1:
            raise ValueError("rates must be between 0 and 1, and add up to at most 1")
        with self._random_lock:
            self._random = random.Random(seed)
            self._rates = (rate_500, rate_503)
            self.random_failed = {}

    def clear(self) -> None:
        """Forget every scheduled fault, and stop failing at random."""
        self._queue.clear()
        self.scroll_fail_after = None
        with self._random_lock:
            self._random = None

    def take(self) -> Fault | None:
        """Return the fault for the current request, if one is scheduled or drawn."""
        if self._queue:
            return self._queue.popleft()
        with self._random_lock:
            if self._random is None:
                return None
            draw = self._random.random()
            rate_500, rate_503 = self._rates
            status = 500 if draw < rate_500 else 503 if draw < rate_500 + rate_503 else None
            if status is None:
                return None
            self.random_failed[status] = self.random_failed.get(status, 0) + 1
            return Fault("status", status=status)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _add(self, n: int, fault: Fault) -> None:
        for _ in range(n):
            self._queue.append(Fault(fault.kind, fault.status, fault.seconds, fault.processed, fault.html))
