"""IntercomClient against the sandbox: every operation, faults, rate limits, scroll restarts, real HTTP.

The assertions follow the reference (/work/shared/intercom-v1-api.md), not the sandbox's
code: where the two disagree the test states the reference's behaviour.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from intercom_mirror.api import (
    OPERATIONS,
    AuthenticationError,
    ConnectionFailed,
    IntercomClient,
    NotFound,
    ScrollExists,
    ScrollFailed,
    ServerError,
)
from intercom_mirror.sandbox import SandboxApp, generate_workspace, serve_in_thread

TOKEN = "sbx_token_5f4e3d2c1b0a"
BASE_URL = "http://sandbox.test"


class FakeTime:
    """One clock for the sandbox and the client; only the client's sleeps move it."""

    def __init__(self, start: float = 1_569_510_003.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def ws_now(self) -> int:
        return int(self.now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RecordingTransport(httpx.BaseTransport):
    """Wrap a transport and keep the status of every response it returns."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.log: list[tuple[float, str, str, int]] = []
        self.clock = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.log.append((self.clock() if self.clock else 0.0, request.method, request.url.path, response.status_code))
        return response


def make_sandbox(
    *, users=60, leads=20, visitors=5, conversations=30, rate_limit=166, rate_window=10, version="1.4", **client_kw
):
    fake = FakeTime()
    sizes = {"users": users, "leads": leads, "visitors": visitors, "conversations": conversations}
    ws = generate_workspace(seed=1, now=fake.ws_now, **sizes)
    app = SandboxApp(
        ws, token=TOKEN, rate_limit=rate_limit, rate_window=rate_window, clock=fake.clock, sleep=fake.sleep
    )
    transport = RecordingTransport(app.transport())
    transport.clock = fake.clock
    client = IntercomClient(
        TOKEN, BASE_URL, transport=transport, sleep=fake.sleep, clock=fake.clock, version=version, **client_kw
    )
    return SimpleNamespace(fake=fake, ws=ws, app=app, client=client, transport=transport)


@pytest.fixture
def sbx():
    sandbox = make_sandbox()
    yield sandbox
    sandbox.client.close()


def a_user(ws):
    return next(u for u in ws.users.values() if u.email and u.user_id)


def test_it_calls_every_operation_somewhere_in_this_file():
    source = Path(__file__).read_text()
    missing = [op for op in OPERATIONS if not re.search(rf"\.{op}\(", source)]
    assert missing == []


# --- Users ---------------------------------------------------------------------------


def test_it_creates_updates_finds_and_archives_users(sbx):
    client = sbx.client
    created = client.create_user({"user_id": "u-new-1", "email": "new.one@example.com", "name": "New One"})
    assert created["type"] == "user" and created["user_id"] == "u-new-1"
    assert client.get_user(created["id"])["email"] == "new.one@example.com"

    updated = client.create_update_user(
        {"user_id": "u-new-1", "name": "Renamed", "custom_attributes": {"tier": "gold"}}
    )
    assert updated["id"] == created["id"]
    fetched = client.get_user(created["id"])
    assert fetched["name"] == "Renamed" and fetched["custom_attributes"]["tier"] == "gold"

    assert client.find_user(user_id="u-new-1")["id"] == created["id"]
    by_email = client.find_user(email="new.one@example.com")
    assert by_email["type"] == "user.list"  # 1.1+ answers a list (§0)
    assert [u["id"] for u in client.find_users(email="new.one@example.com")] == [created["id"]]

    archived = client.archive_user(user_id="u-new-1")
    assert archived["id"] == created["id"]
    with pytest.raises(NotFound):
        client.get_user(created["id"])
    assert client.find_users(user_id="u-new-1") == []


def test_it_finds_a_user_by_email_under_1_0_as_a_single_user():
    sandbox = make_sandbox(version="1.0")
    user = a_user(sandbox.ws)
    found = sandbox.client.find_user(email=user.email)
    assert found["type"] == "user" and found["id"] == user.id
    assert [u["id"] for u in sandbox.client.find_users(email=user.email)] == [user.id]


def test_it_lists_every_user_across_pages(sbx):
    page = sbx.client.list_users(per_page=25, sort="created_at", order="asc")
    assert page["type"] == "user.list" and page["total_count"] == len(sbx.ws.users)
    assert len(page["users"]) == 25
    ids = [u["id"] for u in sbx.client.iter_items("list_users", "users", per_page=25)]
    assert len(ids) == len(set(ids)) == len(sbx.ws.users)


def test_it_scrolls_users_leads_and_companies(sbx):
    for resource, table in (("users", sbx.ws.users), ("leads", sbx.ws.leads), ("companies", sbx.ws.companies)):
        ids = [item["id"] for page in sbx.client.iter_scroll(resource) for item in page]
        assert sorted(ids) == sorted(table), resource


def test_it_scrolls_page_by_page_with_scroll_param(sbx):
    first = sbx.client.scroll_users()
    assert len(first["users"]) == 60 and first["scroll_param"]
    end = sbx.client.scroll_users(scroll_param=first["scroll_param"])
    assert end["users"] == []
    leads = sbx.client.scroll_leads()
    key = next(k for k in ("contacts", "leads", "users") if k in leads)
    assert len(leads[key]) == len(sbx.ws.leads)
    assert sbx.client.scroll_leads(scroll_param=leads["scroll_param"])[key] == []
    companies = sbx.client.scroll_companies()
    assert len(companies["companies"]) == len(sbx.ws.companies)
    assert sbx.client.scroll_companies(scroll_param=companies["scroll_param"])["companies"] == []


def test_it_records_and_lists_events(sbx):
    user = a_user(sbx.ws)
    created_at = sbx.fake.ws_now() - 60
    assert (
        sbx.client.create_event({"event_name": "ordered-pizza", "created_at": created_at, "user_id": user.user_id})
        is None
    )
    events = list(sbx.client.iter_items("list_events_for_user", "events", user_id=user.user_id))
    assert "ordered-pizza" in [e["event_name"] for e in events]
    summary = sbx.client.list_events_for_user(user_id=user.user_id, summary=True)
    assert summary["type"] == "event.summary"
    assert "ordered-pizza" in [e["name"] for e in summary["events"]]


def test_it_creates_gets_and_lists_notes(sbx):
    user = a_user(sbx.ws)
    admin_id = next(iter(sbx.ws.admins))
    note = sbx.client.create_note({"admin_id": admin_id, "body": "Called about renewal", "user": {"id": user.id}})
    assert note["type"] == "note" and note["body"] == "<p>Called about renewal</p>"
    assert sbx.client.get_note(note["id"])["id"] == note["id"]
    listed = sbx.client.list_notes_for_user(id=user.id)
    assert note["id"] in [n["id"] for n in listed["notes"]]


# --- Leads and visitors ------------------------------------------------------------------


def test_it_creates_updates_converts_and_deletes_leads(sbx):
    client = sbx.client
    lead = client.create_lead({"email": "lead.one@example.com", "name": "Lead One"})
    assert lead["type"] == "contact" and lead["anonymous"] is True and lead["user_id"]
    assert client.get_lead(lead["id"])["email"] == "lead.one@example.com"

    client.update_lead({"id": lead["id"], "name": "Lead Renamed"})
    assert client.get_lead(lead["id"])["name"] == "Lead Renamed"
    assert lead["id"] in [c["id"] for c in client.list_leads(email="lead.one@example.com")["contacts"]]

    user = client.convert_lead({"contact": {"user_id": lead["user_id"]}, "user": {"user_id": "converted-1"}})
    assert user["type"] == "user" and user["user_id"] == "converted-1" and user["email"] == "lead.one@example.com"
    with pytest.raises(NotFound):
        client.get_lead(lead["id"])

    doomed = client.create_lead({"name": "Doomed"})
    assert client.delete_lead(doomed["user_id"])["id"] == doomed["id"]
    with pytest.raises(NotFound):
        client.get_lead(doomed["id"])
    doomed2 = client.create_lead({"name": "Doomed 2"})
    assert client.delete_lead_by_id(doomed2["id"])["id"] == doomed2["id"]
    with pytest.raises(NotFound):
        client.get_lead(doomed2["id"])


def test_it_reads_updates_converts_and_deletes_visitors(sbx):
    client = sbx.client
    v1, v2, v3 = list(sbx.ws.visitors.values())[:3]
    got = client.get_visitor(v1.id)
    assert got["type"] == "visitor" and got["id"] == v1.id

    client.update_visitor({"id": v1.id, "name": "Visiting Vera"})
    assert client.get_visitor(v1.id)["name"] == "Visiting Vera"

    assert client.delete_visitor(v2.user_id)["id"] == v2.id
    with pytest.raises(NotFound):
        client.get_visitor(v2.id)
    assert client.delete_visitor_by_id(v3.id)["id"] == v3.id
    with pytest.raises(NotFound):
        client.get_visitor(v3.id)

    lead = client.convert_visitor({"visitor": {"user_id": v1.user_id}, "type": "lead"})
    assert lead["type"] == "contact"
    assert client.get_lead(lead["id"])["name"] == "Visiting Vera"


# --- Companies ---------------------------------------------------------------------------


def test_it_creates_updates_lists_and_deletes_companies(sbx):
    client = sbx.client
    company = client.create_company({"company_id": "acme-9", "name": "Acme 9", "plan": "Paid"})
    assert company["type"] == "company" and company["company_id"] == "acme-9"
    assert company["plan"]["name"] == "Paid"
    client.update_company({"company_id": "acme-9", "monthly_spend": 49})
    assert client.get_company(company["id"])["monthly_spend"] == 49

    # Companies without users are left out of GET /companies (§2.2): attach one.
    user = a_user(sbx.ws)
    client.create_update_user({"user_id": user.user_id, "companies": [{"company_id": "acme-9"}]})
    members = client.list_users_for_company(company["id"])
    assert [u["id"] for u in members["users"]] == [user.id]
    listed = [c["id"] for c in client.iter_items("list_companies", "companies")]
    assert client.list_companies(per_page=5)["type"] == "company.list"
    assert client.list_companies(company_id="acme-9")["id"] == company["id"]  # a single company (§7.4)
    assert company["id"] in listed and len(listed) == len(set(listed))

    gone = client.delete_company(company_id="acme-9")
    assert gone["id"] == company["id"]
    with pytest.raises(NotFound):
        client.get_company(company["id"])

    other = client.create_company({"company_id": "acme-10", "name": "Acme 10"})
    assert client.delete_company_by_id(other["id"])["id"] == other["id"]
    with pytest.raises(NotFound):
        client.get_company(other["id"])


# --- Conversations and messages ----------------------------------------------------------


def test_it_replies_marks_read_and_manages_customers(sbx):
    client = sbx.client
    admin_id = next(iter(sbx.ws.admins))
    listed = client.list_conversations(per_page=5)
    assert listed["type"] == "conversation.list" and len(listed["conversations"]) == 5
    conv_id = listed["conversations"][0]["id"]
    conv = client.get_conversation(conv_id)
    parts_before = conv["conversation_parts"]["total_count"]

    replied = client.post_reply(
        conv_id, {"type": "admin", "admin_id": admin_id, "message_type": "comment", "body": "On it"}
    )
    assert replied["conversation_parts"]["total_count"] == parts_before + 1
    closed = client.post_reply(conv_id, {"type": "admin", "admin_id": admin_id, "message_type": "close"})
    assert closed["state"] == "closed" and closed["open"] is False

    marked = client.mark_conversation_as_read(conv_id)
    assert marked["read"] is True and client.get_conversation(conv_id)["read"] is True

    present = {c["id"] for c in client.get_conversation(conv_id)["customers"]}
    newcomer = next(u for u in sbx.ws.users.values() if u.email and u.id not in present)
    added = client.add_customer_to_conversation(conv_id, {"admin_id": admin_id, "customer": {"id": newcomer.id}})
    assert newcomer.id in [c["id"] for c in added["customers"]]
    removed = client.delete_customer_to_conversation(conv_id, newcomer.id, admin_id=admin_id)
    assert newcomer.id not in [c["id"] for c in removed["customers"]]
    assert newcomer.id not in [c["id"] for c in client.get_conversation(conv_id)["customers"]]


def test_it_posts_messages_and_user_replies(sbx):
    client = sbx.client
    admin_id = next(iter(sbx.ws.admins))
    user = a_user(sbx.ws)
    message = client.post_message(
        {
            "message_type": "inapp",
            "body": "Welcome aboard",
            "from": {"type": "admin", "id": admin_id},
            "to": {"type": "user", "id": user.id},
        }
    )
    assert message["type"] == "admin_message"
    mine = client.list_conversations(type="user", intercom_user_id=user.id)["conversations"]
    assert message["id"] in [c["conversation_message"]["id"] for c in mine]

    reply = client.post_reply_to_last_conversation(
        {"type": "user", "user_id": user.user_id, "message_type": "comment", "body": "Thanks!"}
    )
    assert reply["type"] == "conversation"
    assert reply["conversation_parts"]["conversation_parts"][-1]["body"] == "<p>Thanks!</p>"
    assert reply["read"] is False


# --- Tags, segments ---------------------------------------------------------------------


def test_it_creates_renames_applies_and_deletes_tags(sbx):
    client = sbx.client
    user = a_user(sbx.ws)
    tag = client.create_tag({"name": "VIP-x"})
    assert tag["type"] == "tag" and tag["name"] == "VIP-x"
    assert client.create_tag({"name": "vip-X"})["id"] == tag["id"]  # case-insensitive, idempotent

    client.create_tag({"name": "VIP-x", "users": [{"id": user.id}]})
    assert tag["id"] in [t["id"] for t in client.get_user(user.id)["tags"]["tags"]]

    renamed = client.update_tag({"id": tag["id"], "name": "Very Important"})
    assert renamed["name"] == "Very Important"
    assert "Very Important" in [t["name"] for t in client.list_tags()["tags"]]

    assert client.delete_tag(tag["id"]) is None
    assert tag["id"] not in [t["id"] for t in client.list_tags()["tags"]]
    assert tag["id"] not in [t["id"] for t in client.get_user(user.id)["tags"]["tags"]]


def test_it_lists_and_gets_segments(sbx):
    segments = sbx.client.list_segments(include_count=True)["segments"]
    assert segments and all("count" in s for s in segments)
    one = sbx.client.get_segment(segments[0]["id"], include_count=True)
    assert one["id"] == segments[0]["id"] and isinstance(one["count"], int)


# --- Admins, teams, counts, app, data attributes ----------------------------------------


def test_it_reads_admins_teams_and_sets_away(sbx):
    client = sbx.client
    admins = client.list_admins()["admins"]
    admin = next(a for a in admins if a["type"] == "admin")
    assert client.get_admin(admin["id"])["email"] == admin["email"]
    away = client.set_admin_away(admin["id"], True, True)
    assert away["away_mode_enabled"] is True and away["away_mode_reassign"] is True
    assert client.get_admin(admin["id"])["away_mode_enabled"] is True

    teams = client.list_teams()["teams"]
    assert teams and client.get_team(teams[0]["id"])["name"] == teams[0]["name"]
    me = client.get_current_admin_and_app()
    assert me["type"] == "admin" and me["app"]["type"] == "app"

    logs = client.list_activity_logs_for_admin(0)
    assert logs["type"] == "activity_log.list"


def test_it_counts_from_state(sbx):
    counts = sbx.client.get_count()
    assert counts["type"] == "count.hash"
    assert counts["user"]["count"] == len(sbx.ws.users)
    sbx.client.create_user({"user_id": "count-me", "email": "count.me@example.com"})
    assert sbx.client.get_count()["user"]["count"] == len(sbx.ws.users)
    by_admin = sbx.client.get_count(type="conversation", count="admin")
    assert isinstance(by_admin["conversation"]["admin"], list)


@pytest.mark.parametrize("version", ["1.4", "1.3"])
def test_it_lists_data_attributes_under_each_version(version):
    sandbox = make_sandbox(version=version)
    customer = sandbox.client.list_data_attributes_for_customers()
    company = sandbox.client.list_data_attributes_for_companies(include_archived=True)
    assert customer["type"] == company["type"] == "data_attribute.list"
    assert customer["data_attributes"] and company["data_attributes"]
    expected = "/data_attributes" if version == "1.4" else "/data_attributes/customer"
    assert sandbox.transport.log[0][2] == expected
    assert all(status == 200 for *_, status in sandbox.transport.log)


# --- Faults ---------------------------------------------------------------------------


def test_it_raises_authentication_error_for_a_bad_token(sbx):
    bad = IntercomClient("wrong", BASE_URL, transport=sbx.app.transport(), sleep=sbx.fake.sleep, clock=sbx.fake.clock)
    with pytest.raises(AuthenticationError) as info:
        bad.list_admins()
    assert info.value.status == 401 and info.value.code == "unauthorized"


def test_it_rides_out_server_errors_drops_and_timeouts_on_reads(sbx):
    sbx.app.faults.fail_next(2, 503)
    sbx.app.faults.drop_next(1)
    sbx.app.faults.timeout_next(1)
    assert sbx.client.list_tags()["type"] == "tag.list"
    assert sbx.client.request_count == 5
    assert len(sbx.fake.sleeps) == 4


def test_it_rides_out_a_rate_limit_burst(sbx):
    sbx.app.faults.rate_limit_burst(2)
    assert sbx.client.list_admins()["type"] == "admin.list"
    assert [s for *_, s in sbx.transport.log] == [429, 429, 200]


def test_it_does_not_repeat_a_post_after_a_500(sbx):
    sbx.app.faults.fail_next(1, 500)
    with pytest.raises(ServerError):
        sbx.client.create_user({"user_id": "once", "email": "once@example.com"})
    assert len(sbx.transport.log) == 1
    assert sbx.client.find_users(user_id="once") == []


def test_it_does_not_repeat_a_post_whose_response_was_lost(sbx):
    # The server applied the write, then the connection dropped: a retry would write twice.
    user = a_user(sbx.ws)
    sbx.app.faults.drop_next(1, processed=True)
    with pytest.raises(ConnectionFailed):
        sbx.client.post_message(
            {
                "from": {"type": "admin", "id": next(iter(sbx.ws.admins))},
                "to": {"type": "user", "id": user.id},
                "body": "Only once",
            }
        )
    assert sbx.client.request_count == 1
    mine = sbx.client.iter_items("list_conversations", "conversations", type="user", intercom_user_id=user.id)
    bodies = [c["conversation_message"]["body"] for c in mine]
    assert bodies.count("<p>Only once</p>") == 1


def test_it_restarts_a_scroll_after_a_mid_scroll_failure():
    sandbox = make_sandbox(users=450)
    client, app = sandbox.client, sandbox.app
    app.faults.fail_scroll_after(2)
    seen = []
    with pytest.raises(ScrollFailed) as info:
        for page in client.iter_scroll("users"):
            seen.extend(u["id"] for u in page)
    assert len(seen) == 200
    assert info.value.status == 500
    scroll_requests = [entry for entry in sandbox.transport.log if entry[2] == "/users/scroll"]
    assert [s for *_, s in scroll_requests] == [200, 200, 500]  # the failed page was not retried

    # The broken scroll holds the app's one scroll slot until it expires (§3).
    with pytest.raises(ScrollExists):
        next(client.iter_scroll("users"))
    sandbox.fake.sleep(60)
    ids = [u["id"] for page in client.iter_scroll("users") for u in page]
    assert sorted(ids) == sorted(sandbox.ws.users)


def test_it_reads_2000_users_under_a_tight_rate_limit_without_a_429():
    sandbox = make_sandbox(users=2000, leads=0, conversations=0, rate_limit=20, rate_window=10)
    client = sandbox.client
    listed = [u["id"] for u in client.iter_items("list_users", "users", per_page=60)]
    scrolled = [u["id"] for page in client.iter_scroll("users") for u in page]

    assert len(set(listed)) == len(listed) == 2000
    assert sorted(scrolled) == sorted(listed)
    statuses = [s for *_, s in sandbox.transport.log]
    assert 429 not in statuses
    assert len(statuses) == 34 + 21 == client.request_count
    assert len(sandbox.app.request_log) == len(statuses)
    # The budget forced waits for the next window rather than 429s.
    assert sandbox.fake.sleeps and all(0 < s <= 11 for s in sandbox.fake.sleeps)
    windows: dict[int, int] = {}
    for at, *_ in sandbox.transport.log:
        windows[int(at // 10)] = windows.get(int(at // 10), 0) + 1
    assert max(windows.values()) <= 20


def test_it_leaves_the_reserve_untouched():
    sandbox = make_sandbox(users=300, leads=0, conversations=0, rate_limit=20, rate_window=10, reserve=5)
    list(sandbox.client.iter_items("list_users", "users", per_page=10))
    windows: dict[int, int] = {}
    for at, *_ in sandbox.transport.log:
        windows[int(at // 10)] = windows.get(int(at // 10), 0) + 1
    assert len(sandbox.transport.log) == 30
    assert max(windows.values()) <= 15


# --- Real HTTP ------------------------------------------------------------------------


def test_it_works_over_real_http():
    ws = generate_workspace(seed=2, users=130, leads=5, conversations=5)
    app = SandboxApp(ws, token=TOKEN)
    server, base_url = serve_in_thread(app)
    try:
        with IntercomClient(TOKEN, base_url, timeout=5.0, max_retries=2) as client:
            assert client.get_current_admin_and_app()["type"] == "admin"
            ids = [u["id"] for u in client.iter_items("list_users", "users", per_page=50)]
            assert len(set(ids)) == 130
            scrolled = [u["id"] for page in client.iter_scroll("users") for u in page]
            assert sorted(scrolled) == sorted(ids)
            user = client.create_user({"user_id": "http-1", "email": "http.one@example.com"})
            assert client.get_user(user["id"])["user_id"] == "http-1"
            app.faults.drop_next(1)
            assert client.list_tags()["type"] == "tag.list"  # a dropped socket, retried
            assert client.rate_limit.limit == 166 and client.rate_limit.remaining is not None
            assert client.request_count == 1 + 3 + 3 + 2 + 2
    finally:
        server.shutdown()
        server.server_close()
