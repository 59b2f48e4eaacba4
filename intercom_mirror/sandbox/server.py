"""Serve a `SandboxApp` over real HTTP on a loopback port, with faults acting on the socket."""

from __future__ import annotations

import logging
import socketserver
import sys
import threading
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .app import SandboxApp
from .faults import DroppedConnection, SimulatedTimeout

logger = logging.getLogger(__name__)


class _ServerHandler(ServerHandler):
    def handle_error(self) -> None:
        """Close the socket without a byte for a dropped connection or timeout; else answer 500."""
        if isinstance(sys.exc_info()[1], DroppedConnection | SimulatedTimeout):
            self.request_handler.close_connection = True
            return
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["sandbox.real_server"] = True  # lets timeouts hold the socket instead of failing at once
        return environ

    def handle(self) -> None:
        """Handle one request like wsgiref does, but with a handler that can drop the connection."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True)
        handler.request_handler = self
        handler.run(self.server.get_app())

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> ThreadingWSGIServer:
    """Return a bound, threaded WSGI server for the app (port 0 picks a free port)."""
    server = ThreadingWSGIServer((host, port), _RequestHandler)
    server.set_app(app)
    return server


def serve_in_thread(app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingWSGIServer, str]:
    """Start serving on a daemon thread; return the server (call `shutdown()` to stop) and its base URL."""
    server = make_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, name="intercom-sandbox", daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    return server, f"http://{bound_host}:{bound_port}"


def serve_forever(
    app: SandboxApp, host: str = "127.0.0.1", port: int = 8765, ready: Callable[[str], None] | None = None
) -> None:
    """Serve until interrupted (Ctrl-C); `ready` is called with the base URL once the port is bound."""
    server = make_server(app, host, port)
    if ready is not None:
        bound_host, bound_port = server.server_address[:2]
        ready(f"http://{bound_host}:{bound_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
