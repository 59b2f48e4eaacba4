"""Webhook notifications from the sandbox: topics, shape and the X-Hub-Signature (§8)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from intercom_mirror.sandbox.testing import FakeClock, make_app

SECRET = "whsec_test_secret"


@pytest.fixture
def deliveries():
    return []


@pytest.fixture
def app(deliveries):
    app = make_app(FakeClock(), webhook_url="https://hooks.example.com/intercom", webhook_secret=SECRET)
    app.webhook_sender = lambda url, body, headers: deliveries.append((url, body, headers))
    return app


def topics(deliveries):
    return [json.loads(body)["topic"] for _, body, _ in deliveries]


def test_it_signs_a_user_created_notification(client, deliveries):
    user = client.post("/users", json={"user_id": "hooked", "email": "hook@example.com"}).json()
    url, body, headers = deliveries[-1]
    assert url == "https://hooks.example.com/intercom"
    expected = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature"], expected)
    assert headers["User-Agent"] == "intercom-parrot-service-client/1.0"
    notification = json.loads(body)
    assert notification["type"] == "notification_event"
    assert notification["id"].startswith("notif_")
    assert notification["topic"] == "user.created"
    assert notification["delivered_at"] == 0
    assert notification["data"]["type"] == "notification_event_data"
    assert notification["data"]["item"]["id"] == user["id"]


def test_it_emits_conversation_topics_with_the_causing_part(client, deliveries, app):
    user = client.post("/users", json={"user_id": "hooked-2"}).json()
    client.post("/messages", json={"from": {"type": "user", "id": user["id"]}, "body": "Hello"})
    conv_id = json.loads(deliveries[-1][1])["data"]["item"]["id"]
    admin_id = next(iter(app.workspace.admins))
    client.post(f"/conversations/{conv_id}/reply", json={"type": "admin", "admin_id": admin_id, "body": "Hi!"})
    client.post(
        f"/conversations/{conv_id}/reply", json={"type": "admin", "admin_id": admin_id, "message_type": "close"}
    )
    client.post(f"/conversations/{conv_id}/reply", json={"type": "user", "user_id": "hooked-2", "body": "Wait"})
    assert topics(deliveries)[-4:] == [
        "conversation.user.created",
        "conversation.admin.replied",
        "conversation.admin.closed",
        "conversation.user.replied",
    ]
    item = json.loads(deliveries[-3][1])["data"]["item"]
    assert [p["body"] for p in item["conversation_parts"]["conversation_parts"]] == ["<p>Hi!</p>"]


def test_it_emits_tag_and_delete_topics(client, deliveries):
    user = client.post("/users", json={"user_id": "hooked-3"}).json()
    client.post("/tags", json={"name": "hooky", "users": [{"id": user["id"]}]})
    client.delete(f"/users/{user['id']}")
    assert topics(deliveries)[-2:] == ["user.tag.created", "user.deleted"]
    user_tag = json.loads(deliveries[-2][1])["data"]["item"]
    assert user_tag["type"] == "user_tag"
    assert user_tag["tag"]["name"] == "hooky"


def test_it_sends_nothing_for_reads_or_failed_writes(client, deliveries):
    client.get("/users")
    client.post("/users", json={"name": "no identifier"})
    assert deliveries == []


def test_it_delivers_to_api_created_subscriptions_by_topic(client, deliveries):
    sub = client.post(
        "/subscriptions/",
        json={
            "service_type": "web",
            "url": "https://sub.example.com/hook",
            "topics": ["company.created"],
            "hub_secret": "s3",
        },
    ).json()
    assert sub["type"] == "notification_subscription"
    assert sub["id"].startswith("nsub_")
    client.post("/companies", json={"company_id": "hooked-co"})
    client.post("/users", json={"user_id": "not-for-sub"})
    to_sub = [(body, headers) for url, body, headers in deliveries if url == "https://sub.example.com/hook"]
    assert [json.loads(b)["topic"] for b, _ in to_sub] == ["company.created"]
    body, headers = to_sub[0]
    assert headers["X-Hub-Signature"] == "sha1=" + hmac.new(b"s3", body, hashlib.sha1).hexdigest()
    assert client.get("/subscriptions").json()["items"][0]["id"] == sub["id"]
    client.post(f"/subscriptions/{sub['id']}/ping")
    assert json.loads(deliveries[-1][1])["topic"] == "ping"
    assert client.delete(f"/subscriptions/{sub['id']}").status_code == 200
    assert client.get(f"/subscriptions/{sub['id']}").status_code == 404


def test_it_never_fails_a_request_because_a_delivery_failed(app, client):
    def broken(url, body, headers):
        raise RuntimeError("receiver down")

    app.webhook_sender = broken
    assert client.post("/users", json={"user_id": "robust"}).status_code == 200
