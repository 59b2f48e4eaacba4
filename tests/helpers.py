"""Small shared test helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "intercom"


def fixture(name: str) -> Any:
    """Return a real Intercom v1 response sample (copied from ../shared/fixtures)."""
    return json.loads((FIXTURES / name).read_text())


def sign(body: bytes, secret: str) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


@contextmanager
def served(app: Callable) -> Iterator[str]:
    """Serve a WSGI app (a sandbox, or a wrapper around one) over real HTTP on a loopback port; yield its base URL.

    Like `intercom_mirror.sandbox.serve_in_thread`, whose server takes half a second to notice a shutdown, but polling
    every 20 ms: the fixtures that serve a sandbox for every test would otherwise spend that half second each time.
    """
    from intercom_mirror.sandbox.server import make_server

    server = make_server(app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="intercom-sandbox", daemon=True
    )
    thread.start()
    try:
        yield "http://{}:{}".format(*server.server_address[:2])
    finally:
        server.shutdown()
        server.server_close()
