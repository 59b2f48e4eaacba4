"""Conversations in the sandbox: the reply state machine, read marks, customers and messages (§7.5, §9.10)."""

from __future__ import annotations

import pytest

from intercom_mirror.sandbox.testing import FakeClock, make_app, make_client


@pytest.fixture
def admin_id(app):
    # The generator puts the fifth admin in away mode; use the first, who is present.
    return next(iter(app.workspace.admins))


@pytest.fixture
def user(client):
    return client.post("/users", json={"user_id": "conv-user", "email": "conv@example.com", "name": "Chloé"}).json()


@pytest.fixture
def conv(client, user):
    message = client.post("/messages", json={"from": {"type": "user", "id": user["id"]}, "body": "My invoice is wrong"})
    assert message.json()["type"] == "user_message"
    listed = client.get("/conversations", params={"type": "user", "intercom_user_id": user["id"]}).json()
    return listed["conversations"][0]


def reply(client, conv_id, **body):
    response = client.post(f"/conversations/{conv_id}/reply", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_it_starts_a_conversation_from_a_user_message(conv, user, clock):
    assert conv["conversation_message"]["body"] == "<p>My invoice is wrong</p>"
    assert conv["conversation_message"]["author"] == {"type": "user", "id": user["id"]}
    assert conv["state"] == "open"
    assert conv["waiting_since"] == int(clock.t)
    assert conv["read"] is False
    assert conv["assignee"] == {"type": "nobody_admin", "id": None}


def test_it_adds_an_admin_comment_and_moves_updated_at(client, conv, admin_id, clock):
    clock.advance(60)
    body = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="comment", body="Looking now")
    parts = body["conversation_parts"]
    assert parts["total_count"] == 1
    part = parts["conversation_parts"][-1]
    assert part["part_type"] == "comment"
    assert part["body"] == "<p>Looking now</p>"
    assert part["author"] == {"type": "admin", "id": admin_id}
    assert body["updated_at"] == conv["updated_at"] + 60
    assert body["waiting_since"] is None
    fetched = client.get(f"/conversations/{conv['id']}").json()
    assert fetched["conversation_parts"]["conversation_parts"][-1]["id"] == part["id"]
    assert fetched["updated_at"] == body["updated_at"]


def test_it_adds_notes_without_touching_waiting_since(client, conv, admin_id):
    body = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="note", body="Internal only")
    assert body["conversation_parts"]["conversation_parts"][-1]["part_type"] == "note"
    assert body["waiting_since"] == conv["waiting_since"]


def test_it_assigns_to_admins_teams_and_nobody(client, conv, admin_id, app):
    team_id = next(iter(app.workspace.teams))
    body = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="assignment", assignee_id=admin_id)
    assert body["assignee"] == {"type": "admin", "id": admin_id}
    part = body["conversation_parts"]["conversation_parts"][-1]
    assert part["part_type"] == "assignment"
    assert part["assigned_to"] == {"type": "admin", "id": admin_id}
    body = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="assignment", assignee_id=team_id)
    assert body["assignee"] == {"type": "team", "id": team_id}
    body = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="assignment", assignee_id="0")
    assert body["assignee"] == {"type": "nobody_admin", "id": None}
    mine = client.get("/conversations", params={"type": "admin", "admin_id": "nobody", "per_page": 60}).json()
    assert conv["id"] in [c["id"] for c in mine["conversations"]]


def test_it_closes_opens_and_snoozes(client, conv, admin_id, clock):
    closed = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="close")
    assert (closed["state"], closed["open"]) == ("closed", False)
    opened = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="open")
    assert (opened["state"], opened["open"]) == ("open", True)
    until = int(clock.t) + 3600
    snoozed = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="snoozed", snoozed_until=until)
    assert (snoozed["state"], snoozed["open"], snoozed["snoozed_until"]) == ("snoozed", True, until)
    unsnoozed = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="open")
    assert (unsnoozed["state"], unsnoozed["snoozed_until"]) == ("open", None)
    alias = reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="snoozed", snooze_until=until)
    assert alias["snoozed_until"] == until
    kinds = [p["part_type"] for p in alias["conversation_parts"]["conversation_parts"]]
    assert kinds == ["close", "open", "snoozed", "open", "snoozed"]


def test_it_wakes_a_snoozed_conversation_when_the_timer_runs_out(client, conv, admin_id, clock):
    reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="snoozed", snoozed_until=int(clock.t) + 60)
    clock.advance(61)
    body = client.get(f"/conversations/{conv['id']}").json()
    assert body["state"] == "open"
    assert body["snoozed_until"] is None


def test_it_reopens_on_a_user_comment(client, conv, user, admin_id, clock):
    reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="comment", body="Fixed!")
    reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="close")
    client.put(f"/conversations/{conv['id']}", json={"read": True})
    clock.advance(30)
    body = reply(client, conv["id"], type="user", user_id="conv-user", body="Actually, not fixed")
    assert body["state"] == "open"
    assert body["read"] is False
    assert body["waiting_since"] == int(clock.t)
    assert body["conversation_parts"]["conversation_parts"][-1]["author"] == {"type": "user", "id": user["id"]}


def test_it_refuses_users_doing_admin_things(client, conv):
    response = client.post(
        f"/conversations/{conv['id']}/reply", json={"type": "user", "user_id": "conv-user", "message_type": "close"}
    )
    assert response.status_code == 400
    assert (
        client.post(
            f"/conversations/{conv['id']}/reply", json={"type": "admin", "message_type": "comment", "body": "x"}
        ).status_code
        == 400
    )


def test_it_needs_a_body_for_comments(client, conv, admin_id):
    response = client.post(
        f"/conversations/{conv['id']}/reply", json={"type": "admin", "admin_id": admin_id, "message_type": "comment"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parameter_not_found"


def test_it_marks_conversations_read_both_ways(client, conv):
    assert client.put(f"/conversations/{conv['id']}", json={"read": True}).json()["read"] is True
    client.post(f"/conversations/{conv['id']}/reply", json={"type": "user", "user_id": "conv-user", "body": "hello?"})
    assert client.put(f"/conversations/{conv['id']}/reply", json={"read": True}).json()["read"] is True


def test_it_replies_to_the_last_conversation(client, conv, user):
    body = client.post(
        "/conversations/last/reply", json={"type": "user", "email": "conv@example.com", "body": "One more thing"}
    )
    assert body.status_code == 200
    assert body.json()["id"] == conv["id"]


def test_it_keeps_group_conversation_customers(client, conv, admin_id, user):
    other = client.post("/users", json={"user_id": "friend", "email": "friend@example.com"}).json()
    added = client.post(
        f"/conversations/{conv['id']}/customers", json={"admin_id": admin_id, "customer": {"user_id": "friend"}}
    )
    assert added.json() == {"customers": [{"type": "user", "id": user["id"]}, {"type": "user", "id": other["id"]}]}
    assert len(client.get(f"/conversations/{conv['id']}").json()["customers"]) == 2
    removed = client.request(
        "DELETE", f"/conversations/{conv['id']}/customers/{other['id']}", json={"admin_id": admin_id}
    )
    assert removed.json() == {"customers": [{"type": "user", "id": user["id"]}]}


def test_it_starts_admin_conversations_from_messages(client, user, admin_id):
    message = client.post(
        "/messages",
        json={
            "message_type": "email",
            "subject": "Hello",
            "body": "Welcome!",
            "template": "plain",
            "from": {"type": "admin", "id": admin_id},
            "to": {"type": "user", "user_id": "conv-user"},
        },
    ).json()
    assert message["type"] == "admin_message"
    assert message["owner"]["id"] == admin_id
    listed = client.get("/conversations", params={"type": "user", "user_id": "conv-user"}).json()["conversations"]
    started = next(c for c in listed if c["conversation_message"]["id"] == message["id"])
    assert started["conversation_message"]["author"] == {"type": "admin", "id": admin_id}
    assert started["conversation_message"]["delivered_as"] == "admin_initiated"


def test_it_needs_a_subject_for_email_messages(client, user, admin_id):
    response = client.post(
        "/messages",
        json={
            "message_type": "email",
            "body": "x",
            "from": {"type": "admin", "id": admin_id},
            "to": {"type": "user", "id": user["id"]},
        },
    )
    assert response.status_code == 400


def test_it_strips_html_with_display_as_plaintext(client, conv, admin_id):
    reply(
        client,
        conv["id"],
        type="admin",
        admin_id=admin_id,
        body="<p>Hi <b>there</b> &amp; welcome<script>alert(1)</script></p>",
    )
    body = client.get(f"/conversations/{conv['id']}", params={"display_as": "plaintext"}).json()
    assert body["conversation_parts"]["conversation_parts"][-1]["body"] == "Hi there & welcome"
    assert body["conversation_message"]["body"] == "My invoice is wrong"


def test_it_caps_parts_at_500_with_the_true_total():
    app = make_app(FakeClock(), users=20, leads=5, conversations=100)
    big = max(app.workspace.conversations.values(), key=lambda c: len(c.parts))
    assert len(big.parts) > 500
    with make_client(app) as client:
        body = client.get(f"/conversations/{big.id}").json()
    parts = body["conversation_parts"]
    assert len(parts["conversation_parts"]) == 500
    assert parts["total_count"] == len(big.parts)
    assert parts["conversation_parts"][-1]["id"] == big.parts[-1].id  # the 500 most recent


def test_it_sends_away_admins_replies_back_to_the_inbox(client, conv, app):
    away_admin = next(a for a in app.workspace.admins.values() if a.away_mode_enabled and a.away_mode_reassign)
    reply(
        client, conv["id"], type="admin", admin_id=away_admin.id, message_type="assignment", assignee_id=away_admin.id
    )
    body = reply(client, conv["id"], type="user", intercom_user_id=conv["user"]["id"], body="Anyone?")
    assert body["assignee"] == {"type": "nobody_admin", "id": None}
    assert body["conversation_parts"]["conversation_parts"][-1]["part_type"] == "away_mode_assignment"


def test_it_counts_conversations_from_state(client, conv, admin_id):
    before = client.get("/counts", params={"type": "conversation"}).json()["conversation"]
    reply(client, conv["id"], type="admin", admin_id=admin_id, message_type="close")
    after = client.get("/counts", params={"type": "conversation"}).json()["conversation"]
    assert after["open"] == before["open"] - 1
    assert after["closed"] == before["closed"] + 1
