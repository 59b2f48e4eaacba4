"""Edge cases of the mirror: races with webhooks, partial items, odd payloads, clocks that disagree."""

from __future__ import annotations

import itertools
import json

import pytest

from intercom_mirror import sync
from intercom_mirror.models import Company, Contact, Conversation, ref_id, unwrap
from intercom_mirror.sync import resources
from intercom_mirror.webhooks import handle_notification
from tests.sandbox_fixtures import make_sandbox

_ids = itertools.count(1)


def full(sb, **kwargs):
    return sync.sync_all(full=True, client=sb.client, sleep=sb.clock.sleep, **kwargs)


@pytest.fixture(autouse=True)
def _sandbox_clock_notifications(settings):
    """The sandbox's fake clock is in 2019: its notifications must not be refused as replays."""
    settings.WEBHOOK_MAX_AGE_HOURS = 24 * 365 * 100


def apply_notification(notification: dict) -> str:
    status, outcome = handle_notification(json.dumps(notification).encode())
    assert status == 200, outcome
    return outcome


def deliver(topic: str, item: dict) -> str:
    return apply_notification(
        {"type": "notification_event", "id": f"notif_review_{next(_ids)}", "topic": topic, "data": {"item": item}}
    )


def hooked_sandbox(**kwargs):
    """A sandbox whose webhook notifications are captured, to be applied with deliver_outbox()."""
    sb = make_sandbox(webhook_url="http://mirror.test/webhooks/intercom/", webhook_secret="s", **kwargs)
    sb.sent = []
    sb.app.webhook_sender = lambda url, body, headers: sb.sent.append(json.loads(body))
    return sb


def deliver_outbox(sb) -> list[str]:
    sent, sb.sent[:] = list(sb.sent), []
    return [apply_notification(n) for n in sent]


def an_admin(api) -> str:
    return next(a["id"] for a in api.list_admins()["admins"] if a["type"] == "admin")


@pytest.mark.django_db
def test_it_does_not_flag_a_conversation_updated_mid_pass_as_deleted(monkeypatch):
    """Newest-first paging: a conversation not yet read that gets a reply jumps to page 1, which this
    pass has already read. It is missing from the pass but alive, so it must not be flagged deleted."""
    sb = make_sandbox(users=40, leads=10, conversations=420)
    full(sb)
    sb.clock.advance(600)
    listed = [str(c["id"]) for c in sb.client.iter_items("list_conversations", "conversations", per_page=60)]
    oldest = listed[-1]  # on page 7; the read-ahead is at most ~3 pages ahead
    staff = sb.new_client()
    admin_id = an_admin(staff)
    real_write = resources.write_conversations
    calls = {"n": 0}

    def write(ctx, items):
        calls["n"] += 1
        if calls["n"] == 1:  # a staff member replies while the nightly full pass runs
            sb.clock.advance(1)
            staff.post_reply(oldest, {"type": "admin", "admin_id": admin_id, "message_type": "comment", "body": "hi"})
        real_write(ctx, items)

    monkeypatch.setattr(resources, "write_conversations", write)
    run = sync.sync("conversations", full=True, client=sb.client, sleep=sb.clock.sleep)
    assert run.status == "ok", run.errors
    assert run.deleted == 0
    assert Conversation.objects.get(intercom_id=oldest).deleted_at is None


@pytest.mark.django_db
def test_it_records_the_parts_fetched_when_a_webhook_got_there_first():
    sandbox = hooked_sandbox()
    """A webhook wrote the conversation first, so the detail fetched later is unchanged: the parts
    bookkeeping (parts_total, parts_fetched_for) must still be recorded."""
    full(sandbox)
    sandbox.clock.advance(600)
    api = sandbox.client
    conv_id = str(api.list_conversations(per_page=1)["conversations"][0]["id"])
    sandbox.sent.clear()
    api.post_reply(conv_id, {"type": "admin", "admin_id": an_admin(api), "message_type": "comment", "body": "yo"})
    assert deliver_outbox(sandbox) == ["applied"]
    sandbox.clock.advance(60)

    run = sync.sync("conversations", client=api, sleep=sandbox.clock.sleep)
    assert run.status == "ok", run.errors
    conversation = Conversation.objects.get(intercom_id=conv_id)
    detail = api.get_conversation(conv_id)
    assert conversation.parts_total == detail["conversation_parts"]["total_count"]
    assert conversation.parts_fetched_for == conversation.updated_at

    # Consequence: every later pass fetches this conversation's details again.
    sandbox.clock.advance(60)
    run = sync.sync("conversations", client=api, sleep=sandbox.clock.sleep)
    assert run.api_requests == 1, "the detail was fetched again although nothing changed"


@pytest.mark.django_db
def test_it_records_the_parts_of_a_conversation_a_webhook_created():
    sandbox = hooked_sandbox()
    full(sandbox)
    sandbox.clock.advance(600)
    api = sandbox.client
    user = next(u for page in api.iter_scroll("users") for u in page)
    sandbox.clock.advance(120)  # let the scroll expire
    sandbox.sent.clear()
    message = api.post_message({"from": {"type": "user", "id": user["id"]}, "body": "help please"})
    outcomes = deliver_outbox(sandbox)
    assert "applied" in outcomes, outcomes
    sandbox.clock.advance(60)
    run = sync.sync("conversations", client=api, sleep=sandbox.clock.sleep)
    assert run.status == "ok", run.errors
    conv = Conversation.objects.order_by("-created_at").first()
    assert conv.parts_fetched_for is not None, f"{message}: parts never marked fetched, refetched on every full pass"


@pytest.mark.django_db
def test_it_does_not_let_a_partial_webhook_item_wipe_a_contact(sandbox):
    """§8.1 of the API reference: webhook items can be partial ({type, id, email, created_at, updated_at}).
    The fields and links the item leaves out must keep their mirrored values."""
    full(sandbox)
    contact = next(
        c
        for c in Contact.objects.filter(role="user").exclude(name="").prefetch_related("tags", "companies")
        if c.tags.exists() and c.companies.exists()
    )
    tags = set(contact.tags.values_list("intercom_id", flat=True))
    companies = set(contact.companies.values_list("intercom_id", flat=True))
    item = {
        "type": "user",
        "id": contact.intercom_id,
        "email": "changed@example.com",
        "created_at": str(int(contact.created_at.timestamp())),
        "updated_at": str(int(contact.updated_at.timestamp()) + 5),
    }
    deliver("user.email.updated", item)
    contact.refresh_from_db()
    assert contact.email == "changed@example.com"
    assert contact.name != ""
    assert set(contact.tags.values_list("intercom_id", flat=True)) == tags
    assert set(contact.companies.values_list("intercom_id", flat=True)) == companies


@pytest.mark.django_db
def test_it_mirrors_company_tags_and_segments(sandbox):
    """The API serves company tags and segments; the mirror links them."""
    api = sandbox.client
    company = next(c for page in api.iter_scroll("companies") for c in page)
    sandbox.clock.advance(120)
    tag = api.create_tag({"name": "Key account", "companies": [{"id": company["id"]}]})
    full(sandbox)
    served = {ref_id(t) for t in unwrap(api.get_company(company["id"]).get("tags"), "tags")}
    assert str(tag["id"]) in served
    mirrored = Company.objects.get(intercom_id=str(company["id"]))
    assert set(mirrored.tags.values_list("intercom_id", flat=True)) == served


def test_it_stores_integers_beyond_64_bits():
    """orjson refuses ints beyond 64 bits, which json.loads (httpx) produces: one such record must not
    fail its page (and with it the resource, on every run)."""
    payload = {"type": "user", "id": "u1", "email": "a@example.com", "custom_attributes": {"account": 10**20}}
    Contact.from_payload(payload)


@pytest.mark.django_db
def test_it_does_not_resurrect_a_contact_deleted_after_its_page_was_read(monkeypatch):
    sandbox = hooked_sandbox()
    """A page read before a user.deleted webhook and written after it must not un-delete the user."""
    full(sandbox)
    sandbox.clock.advance(600)
    api = sandbox.client
    users = [u for page in api.iter_scroll("users") for u in page]
    sandbox.clock.advance(120)
    victim = users[0]["id"]
    api.create_user({"id": victim, "name": "Touched"})  # in the incremental window
    sandbox.clock.advance(5)
    real_write = resources.write_contacts
    calls = {"n": 0}

    def write(ctx, page):
        calls["n"] += 1
        if calls["n"] == 1 and any(str(p["id"]) == victim for p in page):
            sandbox.sent.clear()
            sandbox.new_client().archive_user(id=victim)
            assert deliver_outbox(sandbox) == ["flagged deleted"]
        return real_write(ctx, page)

    monkeypatch.setattr(resources, "write_contacts", write)
    run = sync.sync("users", client=api, sleep=sandbox.clock.sleep)
    assert run.status == "ok", run.errors
    assert calls["n"] >= 1
    assert Contact.objects.get(intercom_id=victim).deleted_at is not None


@pytest.mark.django_db
def test_it_loses_no_update_when_the_api_clock_is_behind_ours():
    """Incremental cutoffs compare the watermark with Intercom's updated_at, so the watermark must be on
    Intercom's clock (its Date headers), even when ours runs more than the overlap ahead."""
    import time

    from intercom_mirror.api import IntercomClient
    from intercom_mirror.sandbox import SandboxApp, generate_workspace
    from intercom_mirror.sandbox.testing import FakeClock
    from tests.conftest import TEST_TOKEN

    clock = FakeClock(start=time.time() - 900)  # Intercom's clock 15 min behind the worker's
    app = SandboxApp(
        generate_workspace(seed=3, users=30, leads=5, conversations=5, now=clock.now),
        token=TEST_TOKEN,
        clock=clock,
        sleep=clock.sleep,
    )
    api = IntercomClient(TEST_TOKEN, "http://sandbox.test", transport=app.transport(), sleep=clock.sleep, clock=clock)
    sync.sync("users", full=True, client=api, sleep=clock.sleep)
    user = next(u for page in api.iter_scroll("users") for u in page)
    clock.advance(120)
    api.create_user({"id": user["id"], "name": "Renamed after the full pass"})
    clock.advance(60)
    run = sync.sync("users", client=api, sleep=clock.sleep)
    assert run.kind == "incremental" and run.status == "ok", run.errors
    assert Contact.objects.get(intercom_id=user["id"]).name == "Renamed after the full pass"
