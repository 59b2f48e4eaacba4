"""The `intercom_sandbox` management command: generate, announce, serve."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from intercom_mirror.management.commands import intercom_sandbox


def test_it_generates_and_announces_the_sandbox(monkeypatch):
    served = {}

    def fake_serve_forever(app, host, port, ready):
        served.update(app=app, host=host, port=port)
        ready(f"http://{host}:{port}")

    monkeypatch.setattr(intercom_sandbox, "serve_forever", fake_serve_forever)
    out = StringIO()
    call_command(
        "intercom_sandbox", "--port", "8799", "--users", "40", "--leads", "5", "--conversations", "3",
        "--token", "tok", "--rate-limit", "0", "--webhook-url", "http://127.0.0.1:1/hook", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "Sandbox serving http://127.0.0.1:8799  token: tok" in text
    assert "40 users, 5 leads" in text
    app = served["app"]
    assert (app.token, app.limiter, app.webhook_url) == ("tok", None, "http://127.0.0.1:1/hook")
    assert len(app.workspace.companies) == 4


def test_it_sets_the_default_api_version(monkeypatch):
    served = {}
    monkeypatch.setattr(intercom_sandbox, "serve_forever", lambda app, host, port, ready: served.update(app=app))
    call_command("intercom_sandbox", "--users", "5", "--leads", "1", "--conversations", "1", stdout=StringIO())
    assert served["app"].api_version_default == "1.4"
    call_command(
        "intercom_sandbox", "--users", "5", "--leads", "1", "--conversations", "1", "--api-version", "1.0",
        stdout=StringIO(),
    )  # fmt: skip
    assert served["app"].api_version_default == "1.0"


def test_it_refuses_an_unknown_api_version():
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("intercom_sandbox", "--api-version", "2.0", stdout=StringIO())
