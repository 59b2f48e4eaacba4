"""Every real v1 response sample in the fixtures parses through IntercomClient.

The samples come from python-intercom 3.1's test data (/work/shared/fixtures). A copy
lives in tests/fixtures/intercom/ so that a clean clone can run this; set
INTERCOM_FIXTURES_DIR to read another directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from intercom_mirror.api import IntercomClient, parse_timestamp

COPY_DIR = Path(__file__).resolve().parent / "fixtures" / "intercom"
SHARED_DIR = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
FIXTURES_DIR = Path(os.environ.get("INTERCOM_FIXTURES_DIR", COPY_DIR))

# Files each test below serves; test_it_covers_every_fixture keeps this list complete.
COVERED = {
    "user.json",
    "user.list.page1.json",
    "user.list.last-page.json",
    "user.scroll.json",
    "user.scroll.end.json",
    "company.json",
    "company.list.json",
    "event.json",
    "event.list.json",
    "tag.json",
    "subscription.json",
    "notification.user.created.json",
    "notification.conversation.json",
}


def load(name: str) -> dict:
    return json.loads((FIXTURES_DIR / name).read_text())


def serve(routes: dict[str, str]) -> tuple[IntercomClient, list[httpx.Request]]:
    """Return a client whose transport answers "METHOD /path?query" keys with fixture files."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        query = request.url.query.decode()
        key = f"{request.method} {request.url.path}" + (f"?{query}" if query else "")
        if key not in routes:
            return httpx.Response(404, json={"type": "error.list", "errors": [{"code": "not_found", "message": key}]})
        return httpx.Response(200, content=(FIXTURES_DIR / routes[key]).read_bytes())

    return IntercomClient("tok", transport=httpx.MockTransport(handler), sleep=lambda s: None), requests


def test_it_covers_every_fixture():
    assert {p.name for p in FIXTURES_DIR.glob("*.json")} == COVERED


@pytest.mark.skipif(not SHARED_DIR.is_dir(), reason="no shared fixtures next to the repository")
def test_it_keeps_the_copy_in_step_with_the_shared_fixtures():
    for path in SHARED_DIR.glob("*.json"):
        assert (COPY_DIR / path.name).read_bytes() == path.read_bytes(), path.name


def test_it_parses_a_user():
    client, _ = serve({"GET /users/aaaaaaaaaaaaaaaaaaaaaaaa": "user.json"})
    user = client.get_user("aaaaaaaaaaaaaaaaaaaaaaaa")
    assert user == load("user.json")
    assert user["type"] == "user"
    assert user["companies"]["companies"][0]["company_id"] == "123"
    assert parse_timestamp(user["created_at"]) == 1401970114


def test_it_pages_through_a_user_list():
    client, requests = serve(
        {"GET /users": "user.list.page1.json", "GET /users?per_page=50&page=2": "user.list.last-page.json"}
    )
    users = list(client.iter_items("list_users", "users"))
    expected = load("user.list.page1.json")["users"] + load("user.list.last-page.json")["users"]
    assert users == expected
    assert len(requests) == 2
    assert str(requests[1].url) == "https://api.intercom.io/users?per_page=50&page=2"


def test_it_scrolls_through_users():
    client, requests = serve(
        {
            "GET /users/scroll": "user.scroll.json",
            "GET /users/scroll?scroll_param=da6bbbac-25f6-4f07-866b-b911082d7": "user.scroll.end.json",
        }
    )
    pages = list(client.iter_scroll("users"))
    assert pages == [load("user.scroll.json")["users"]]
    assert len(requests) == 2


def test_it_parses_a_company():
    client, _ = serve({"GET /companies/531ee472cce572a6ec000006": "company.json"})
    company = client.get_company("531ee472cce572a6ec000006")
    assert company["plan"] == {"type": "plan", "id": "1", "name": "Paid"}
    assert company == load("company.json")


def test_it_parses_a_company_list():
    client, _ = serve({"GET /companies": "company.list.json"})
    page = client.list_companies()
    assert [c["name"] for c in page["companies"]] == [c["name"] for c in load("company.list.json")["companies"]]
    assert client._next_url(page) == "/companies?per_page=50&page=2"


def test_it_follows_an_event_list():
    # The first page's `pages` holds only `next`, with a `before=` cursor (§2.2).
    client, requests = serve(
        {
            "GET /events?type=user&intercom_user_id=55a3b": "event.list.json",
            "GET /events?type=user&intercom_user_id=55a3b&before=144474756550": "user.scroll.end.json",
        }
    )
    pages = list(client.iter_pages("list_events_for_user", intercom_user_id="55a3b"))
    assert [e["event_name"] for e in pages[0]["events"]] == ["invited-friend", "bought-sub"]
    assert len(pages) == 2 and len(requests) == 2


def test_it_parses_an_event():
    # No v1 operation returns a single event; serve it where events come from.
    client, _ = serve({"GET /events?type=user&user_id=314159": "event.json"})
    event = client.list_events_for_user(user_id="314159")
    assert event["event_name"] == "the-event-name"
    assert event["metadata"]["invite_code"] == "ADDAFRIEND"


def test_it_parses_a_legacy_tag_without_type():
    client, requests = serve({"POST /tags": "tag.json"})
    tag = client.create_tag({"name": "Test Tag"})
    assert tag == {"id": "4f73428b5e4dfc000b000112", "name": "Test Tag", "segment": False, "tagged_user_count": 2}
    assert json.loads(requests[0].content) == {"name": "Test Tag"}


def test_it_parses_a_subscription():
    # Subscriptions are outside the 57 operations: the generic request() carries them.
    client, _ = serve({"GET /subscriptions/nsub_123456789": "subscription.json"})
    subscription = client.request("GET", "/subscriptions/nsub_123456789")
    assert subscription["topics"] == ["user.created", "conversation.user.replied", "conversation.admin.replied"]


@pytest.mark.parametrize(
    ("name", "item_type", "created_at"),
    [
        ("notification.user.created.json", "user", 1401970114),
        ("notification.conversation.json", "conversation", 1410335293),
    ],
)
def test_it_parses_notifications_with_string_timestamps(name, item_type, created_at):
    # Webhook payloads are not API responses, but they carry the same objects with
    # string timestamps; the client's body parsing and parse_timestamp handle them.
    client, _ = serve({"GET /notification": name})
    notification = client.request("GET", "/notification")
    item = notification["data"]["item"]
    assert item["type"] == item_type
    assert isinstance(item["created_at"], str)
    assert parse_timestamp(item["created_at"]) == created_at
    assert parse_timestamp(notification["delivered_at"]) == 0
