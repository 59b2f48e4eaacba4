from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from intercom_mirror.models import Company, Contact, Conversation, ConversationPart, WebhookDelivery
from intercom_mirror.webhooks import prune_deliveries
from tests.helpers import fixture, sign

SECRET = "whsec_test_secret"  # the INTERCOM_CLIENT_SECRET set in conftest


def fresh(payload):
    """Return the notification as if Intercom had just sent it (the fixtures are years old)."""
    if isinstance(payload, dict):
        payload = {**payload, "created_at": int(time.time())}
    return payload


def post(client, payload, *, secret: str | None = SECRET, raw: bytes | None = None, stamp: bool = True):
    body = raw if raw is not None else json.dumps(fresh(payload) if stamp else payload).encode()
    headers = {"HTTP_X_HUB_SIGNATURE": sign(body, secret)} if secret else {}
    return client.post("/webhooks/intercom/", body, content_type="application/json", **headers)


def notification(topic: str, item: dict, notif_id: str = "notif_1") -> dict:
    return {"type": "notification_event", "id": notif_id, "topic": topic, "data": {"item": item}}


@pytest.mark.django_db
def test_it_upserts_the_user_of_a_user_created_notification(client):
    response = post(client, fixture("notification.user.created.json"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"
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
    assert post(client, payload).json()["outcome"] == "applied"
    assert post(client, payload).json()["outcome"] == "duplicate: applied"
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
    assert response.json()["outcome"] == "applied"
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


@pytest.mark.django_db
def test_it_does_not_bring_back_a_deleted_user_when_user_created_is_redelivered(client):
    created = fixture("notification.user.created.json")
    post(client, created)
    item = {"type": "user", "id": "aaaaaaaaaaaaaaaaaaaaaaaa"}
    post(client, notification("user.deleted", item, notif_id="notif_del"))
    # Intercom redelivers user.created under a new notification id (a retry of a lost ack).
    post(client, {**created, "id": "notif_again"})
    assert Contact.objects.get(intercom_id=item["id"]).deleted_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b"[1, 2]", b'"text"', json.dumps({"type": "notification_event"}).encode()],
    ids=["empty", "not-json", "a-list", "a-string", "no-id"],
)
def test_it_answers_signed_junk_400_and_records_it(client, raw):
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    assert WebhookDelivery.objects.get().status_code == 400
    # A retry of the same body gets the same answer, and is recorded once.
    assert post(client, None, raw=raw).status_code == 400
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("topic", ["user.created", "conversation.admin.closed", "company.created", "user.deleted"])
def test_it_answers_400_not_500_for_a_signed_item_without_id(client, topic):
    response = post(client, notification(topic, {"type": "user", "email": "x@example.com"}))
    assert response.status_code == 400
    assert "no id" in response.json()["error"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status_code, delivery.topic) == (400, topic)


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["sha1=ünïcödé", "sha1=" + "é" * 40, "garbage", "sha1=" + "0" * 39, "md5=abc"])
def test_it_answers_401_for_a_malformed_or_non_ascii_signature(client, header):
    body = json.dumps(fresh(fixture("notification.user.created.json"))).encode()
    response = client.post(
        "/webhooks/intercom/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=header.encode().decode("latin-1"),
    )
    assert response.status_code == 401
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_notification_older_than_the_replay_window(client, settings):
    settings.WEBHOOK_MAX_AGE_HOURS = 72
    old = {**fixture("notification.user.created.json"), "created_at": int(time.time()) - 73 * 3600}
    response = post(client, old, stamp=False)
    assert response.status_code == 400
    assert "replay" in response.json()["error"]
    assert not Contact.objects.exists()
    recent = {**old, "id": "notif_recent", "created_at": int(time.time()) - 71 * 3600}
    assert post(client, recent, stamp=False).status_code == 200


@pytest.mark.django_db
def test_it_prunes_payloads_after_the_window_and_keeps_the_outcome(client, settings):
    settings.WEBHOOK_MAX_AGE_HOURS = 72
    post(client, fixture("notification.user.created.json"))
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload["data"]["item"]["email"] == "joe@example.com"
    assert prune_deliveries(now=timezone.now() + timedelta(hours=71)) == 0
    assert prune_deliveries(now=timezone.now() + timedelta(hours=73)) == 1
    delivery.refresh_from_db()
    assert delivery.payload is None
    assert (delivery.notification_id, delivery.topic, delivery.outcome) == (
        "notif_123456-56465-546546",
        "user.created",
        "applied",
    )
