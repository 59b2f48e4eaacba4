"""The `intercom_sandbox` management command: generate, announce, serve."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

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
