from __future__ import annotations

import json

import pytest

from intercom_mirror.models import Company, Contact, Conversation, ConversationPart, WebhookDelivery
from tests.helpers import fixture, sign

SECRET = "whsec_test_secret"  # the INTERCOM_CLIENT_SECRET set in conftest


def post(client, payload, *, secret: str | None = SECRET, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"HTTP_X_HUB_SIGNATURE": sign(body, secret)} if secret else {}
    return client.post("/webhooks/intercom/", body, content_type="application/json", **headers)


def notification(topic: str, item: dict, notif_id: str = "notif_1") -> dict:
    return {"type": "notification_event", "id": notif_id, "topic": topic, "data": {"item": item}}


@pytest.mark.django_db
def test_it_upserts_the_user_of_a_user_created_notification(client):
    response = post(client, fixture("notification.user.created.json"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "upserted"
    contact = Contact.objects.get(intercom_id="aaaaaaaaaaaaaaaaaaaaaaaa")
    assert (contact.role, contact.email, contact.name) == ("user", "joe@example.com", "Joe Schmoe")
    # String timestamps in webhook items become real datetimes.
    assert contact.created_at.timestamp() == 1401970114


@pytest.mark.django_db
def test_it_upserts_the_conversation_and_its_new_part(client):
    response = post(client, fixture("notification.conversation.json"))
    assert response.status_code == 200
    conversation = Conversation.objects.get(intercom_id="123456789")
    assert conversation.state == "open"  # "open": null with no state is not a closed conversation
    assert conversation.customer_id == "540f1de7112d3d1d51001637"
    assert conversation.assignee_admin_id is None
    assert conversation.body == "<p>An important message</p>"
    part = ConversationPart.objects.get(intercom_id="4412")
    assert part.conversation == conversation and part.author_type == "user"
    assert conversation.parts_fetched_for is None  # the next sync fetches the whole history


@pytest.mark.django_db
def test_it_rejects_a_missing_signature(client):
    response = post(client, fixture("notification.user.created.json"), secret=None)
    assert response.status_code == 401
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_forged_signature(client):
    response = post(client, fixture("notification.user.created.json"), secret="someone-elses-secret")
    assert response.status_code == 401
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_body_changed_after_signing(client):
    body = json.dumps(fixture("notification.user.created.json")).encode()
    response = client.post(
        "/webhooks/intercom/",
        body.replace(b"joe@example.com", b"eve@example.com"),
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=sign(body, SECRET),
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_it_refuses_get(client):
    assert client.get("/webhooks/intercom/").status_code == 405


@pytest.mark.django_db
def test_it_answers_ping(client):
    response = post(client, notification("ping", {"type": "ping", "message": "hello"}))
    assert response.json()["outcome"] == "pong"


@pytest.mark.django_db
def test_it_applies_a_redelivered_notification_once(client):
    payload = fixture("notification.user.created.json")
    assert post(client, payload).json()["outcome"] == "upserted"
    assert post(client, payload).json()["outcome"] == "duplicate"
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
def test_it_logs_unknown_topics_without_failing(client, caplog):
    response = post(client, notification("visitor.teleported", {"type": "visitor", "id": "v1"}))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored: unknown topic"
    assert "visitor.teleported" in caplog.text


@pytest.mark.django_db
def test_it_rejects_signed_junk(client):
    assert post(client, None, raw=b"{not json").status_code == 400
    assert post(client, {"type": "something_else"}).status_code == 400


@pytest.mark.django_db
def test_it_flags_a_deleted_user(client):
    post(client, fixture("notification.user.created.json"))
    item = {"type": "user", "id": "aaaaaaaaaaaaaaaaaaaaaaaa"}
    response = post(client, notification("user.deleted", item, notif_id="notif_2"))
    assert response.json()["outcome"] == "flagged deleted"
    assert Contact.objects.get(intercom_id=item["id"]).deleted_at is not None


@pytest.mark.django_db
def test_it_upserts_a_created_company(client):
    company = fixture("company.json")
    response = post(client, notification("company.created", company))
    assert response.json()["outcome"] == "upserted"
    row = Company.objects.get(intercom_id=company["id"])
    assert row.name == company["name"]


@pytest.mark.django_db
def test_it_does_not_let_an_older_item_overwrite_a_newer_one(client):
    payload = fixture("notification.user.created.json")
    newer = json.loads(json.dumps(payload))
    newer["id"], newer["data"]["item"]["updated_at"], newer["data"]["item"]["name"] = "notif_new", "1401970200", "New"
    post(client, newer)
    post(client, payload)  # older, delivered late
    assert Contact.objects.get(intercom_id="aaaaaaaaaaaaaaaaaaaaaaaa").name == "New"
