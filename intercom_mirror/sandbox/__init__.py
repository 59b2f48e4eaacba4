"""An in-memory emulator of the Intercom REST API v1.x (the "sandbox").

    ws = generate_workspace(seed=1, users=200)
    app = SandboxApp(ws, token="sandbox-token")
    client = httpx.Client(transport=app.transport(), base_url="http://sandbox.test")

or over real HTTP with `serve_in_thread(app)`. The spec is
/work/shared/intercom-v1-api.md.
"""

from __future__ import annotations

from .app import SandboxApp, SandboxTransport
from .faults import Faults
from .generate import generate_workspace
from .server import serve_forever, serve_in_thread
from .state import SandboxError, Workspace

__all__ = [
    "Faults",
    "SandboxApp",
    "SandboxError",
    "SandboxTransport",
    "Workspace",
    "generate_workspace",
    "serve_forever",
    "serve_in_thread",
]
