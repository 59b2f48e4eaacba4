"""The sandbox workspace used directly, without HTTP: hand-built state and its rules."""

from __future__ import annotations

import pytest

from intercom_mirror.sandbox import SandboxApp, SandboxError, Workspace
from intercom_mirror.sandbox.testing import make_client


@pytest.fixture
def ws(clock):
    return Workspace(now=clock.now)


def test_it_serves_an_empty_workspace(ws, clock):
    with make_client(SandboxApp(ws, clock=clock)) as client:
        assert client.get("/me").json()["name"] == "Workspace Owner"
        client.post("/users", json={"user_id": "a", "email": "a@example.com"})
        note = client.post("/notes", json={"body": "hi", "user": {"user_id": "a"}})
        assert note.json()["author"]["name"] == "Workspace Owner"
        assert client.get("/users").json()["total_count"] == 1
        assert client.get("/users/scroll").json()["users"][0]["user_id"] == "a"


def test_it_raises_api_errors_without_http(ws):
    with pytest.raises(SandboxError) as exc:
        ws.get_user("missing")
    assert (exc.value.status, exc.value.code) == (404, "not_found")
    with pytest.raises(SandboxError) as exc:
        ws.upsert_user({"name": "no identifier"})
    assert exc.value.status == 400


def test_it_applies_rules_as_methods(ws, clock):
    admin = ws.add_admin("Ada", "ada@example.com")
    team = ws.add_team("Support", [admin.id])
    user = ws.upsert_user({"user_id": "u1", "email": "u1@example.com"})
    message = ws.post_message({"from": {"type": "user", "id": user.id}, "body": "Help"})
    conv = next(c for c in ws.conversations.values() if c.message.id == message["id"])
    clock.advance(10)
    ws.reply(conv.id, {"type": "admin", "admin_id": admin.id, "message_type": "assignment", "assignee_id": team.id})
    assert conv.assignee == ("team", team.id)
    assert conv.updated_at == clock.now()
    assert admin.team_ids == [team.id]
    assert [topic for topic, _, _ in ws.drain_outbox()] == [
        "user.created",
        "conversation.user.created",
        "conversation.admin.assigned",
    ]
