"""Serve the Intercom v1 sandbox: `python manage.py intercom_sandbox --port 8765`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from intercom_mirror.sandbox import SandboxApp, generate_workspace
from intercom_mirror.sandbox.app import VERSIONS
from intercom_mirror.sandbox.server import serve_forever


class Command(BaseCommand):
    help = "Generate a sandbox Intercom workspace and serve the v1 API emulator until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--users", type=int, default=2000)
        parser.add_argument("--leads", type=int, default=500)
        parser.add_argument("--companies", type=int, default=None, help="default: users // 10")
        parser.add_argument("--conversations", type=int, default=800)
        parser.add_argument("--token", default="sandbox-token")
        parser.add_argument("--rate-limit", type=int, default=166, help="requests per 10 s window; 0 disables")
        parser.add_argument(
            "--api-version",
            default="1.4",
            choices=VERSIONS,
            help="the version answered when a request sends no Intercom-Version (the app's setting on the real API)",
        )
        parser.add_argument("--webhook-url", default=None)
        parser.add_argument("--webhook-secret", default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.perf_counter()
        workspace = generate_workspace(
            seed=opts["seed"],
            users=opts["users"],
            leads=opts["leads"],
            companies=opts["companies"],
            conversations=opts["conversations"],
        )
        elapsed = time.perf_counter() - started
        app = SandboxApp(
            workspace,
            token=opts["token"],
            rate_limit=opts["rate_limit"] or None,
            webhook_url=opts["webhook_url"],
            webhook_secret=opts["webhook_secret"],
            api_version_default=opts["api_version"],
        )

        def ready(base_url: str) -> None:
            self.stdout.write(f"Sandbox serving {base_url}  token: {opts['token']}")
            self.stdout.write(
                f"Workspace (seed {opts['seed']}): {len(workspace.users)} users, {len(workspace.leads)} leads, "
                f"{len(workspace.visitors)} visitors, {len(workspace.companies)} companies, "
                f"{len(workspace.conversations)} conversations; generated in {elapsed:.2f}s"
            )
            self.stdout.write("Press Ctrl-C to stop.")
            self.stdout.flush()

        serve_forever(app, opts["host"], opts["port"], ready=ready)
