"""Each of the 57 operations sends the method, path, query and body of the reference (§7)."""

from __future__ import annotations

import json

import httpx
import pytest

from intercom_mirror.api import OPERATIONS, IntercomClient

REPLY = {"type": "admin", "admin_id": "25", "message_type": "comment", "body": "Hi"}
CUSTOMER = {"admin_id": "25", "customer": {"email": "a@example.com"}}

# operation -> (args, kwargs, method, path, query, body)
CASES = {
    "add_customer_to_conversation": (("147", CUSTOMER), {}, "POST", "/conversations/147/customers", {}, CUSTOMER),
    "archive_user": ((), {"user_id": "25"}, "DELETE", "/users", {"user_id": "25"}, None),
    "convert_lead": (
        ({"contact": {"user_id": "L1"}, "user": {"email": "w@example.com"}},),
        {},
        "POST",
        "/contacts/convert",
        {},
        {"contact": {"user_id": "L1"}, "user": {"email": "w@example.com"}},
    ),
    "convert_visitor": (
        ({"visitor": {"user_id": "V1"}, "type": "lead"},),
        {},
        "POST",
        "/visitors/convert",
        {},
        {"visitor": {"user_id": "V1"}, "type": "lead"},
    ),
    "create_company": (
        ({"company_id": "6", "name": "Acme"},),
        {},
        "POST",
        "/companies",
        {},
        {"company_id": "6", "name": "Acme"},
    ),
    "create_event": (
        ({"event_name": "e", "created_at": 1, "user_id": "25"},),
        {},
        "POST",
        "/events",
        {},
        {"event_name": "e", "created_at": 1, "user_id": "25"},
    ),
    "create_lead": (({"email": "l@example.com"},), {}, "POST", "/contacts", {}, {"email": "l@example.com"}),
    "create_note": (({"admin_id": "25", "body": "x", "user": {"id": "u1"}},), {}, "POST", "/notes", {}, None),
    "create_tag": (({"name": "vip"},), {}, "POST", "/tags", {}, {"name": "vip"}),
    "create_update_user": (({"user_id": "25"},), {}, "POST", "/users", {}, {"user_id": "25"}),
    "create_user": (({"email": "a@example.com"},), {}, "POST", "/users", {}, {"email": "a@example.com"}),
    "delete_company": ((), {"company_id": "6"}, "DELETE", "/companies", {"company_id": "6"}, None),
    "delete_company_by_id": (("c 1",), {}, "DELETE", "/companies/c%201", {}, None),
    "delete_customer_to_conversation": (
        ("147", "u1"),
        {"admin_id": "25"},
        "DELETE",
        "/conversations/147/customers/u1",
        {},
        {"admin_id": "25"},
    ),
    "delete_lead": (("L1",), {}, "DELETE", "/contacts", {"user_id": "L1"}, None),
    "delete_lead_by_id": (("l1",), {}, "DELETE", "/contacts/l1", {}, None),
    "delete_tag": (("17",), {}, "DELETE", "/tags/17", {}, None),
    "delete_visitor": (("V1",), {}, "DELETE", "/visitors", {"user_id": "V1"}, None),
    "delete_visitor_by_id": (("v1",), {}, "DELETE", "/visitors/v1", {}, None),
    "find_user": ((), {"email": "a+b@example.com"}, "GET", "/users", {"email": "a+b@example.com"}, None),
    "get_admin": (("25",), {}, "GET", "/admins/25", {}, None),
    "get_company": (("c1",), {}, "GET", "/companies/c1", {}, None),
    "get_conversation": (
        ("147",),
        {"display_as": "plaintext"},
        "GET",
        "/conversations/147",
        {"display_as": "plaintext"},
        None,
    ),
    "get_count": (
        (),
        {"type": "conversation", "count": "admin"},
        "GET",
        "/counts",
        {"type": "conversation", "count": "admin"},
        None,
    ),
    "get_current_admin_and_app": ((), {}, "GET", "/me", {}, None),
    "get_lead": (("l1",), {}, "GET", "/contacts/l1", {}, None),
    "get_note": (("16",), {}, "GET", "/notes/16", {}, None),
    "get_segment": (("s1",), {"include_count": True}, "GET", "/segments/s1", {"include_count": "true"}, None),
    "get_team": (("814865",), {}, "GET", "/teams/814865", {}, None),
    "get_user": (("u1",), {}, "GET", "/users/u1", {}, None),
    "get_visitor": (("v1",), {}, "GET", "/visitors/v1", {}, None),
    "list_activity_logs_for_admin": (
        (1564000000,),
        {"created_at_before": 1564100000},
        "GET",
        "/admins/activity_logs",
        {"created_at_after": "1564000000", "created_at_before": "1564100000"},
        None,
    ),
    "list_admins": ((), {}, "GET", "/admins", {}, None),
    "list_companies": ((), {"order": "asc", "tag_id": "9"}, "GET", "/companies", {"order": "asc", "tag_id": "9"}, None),
    "list_conversations": (
        (),
        {"type": "admin", "admin_id": "nobody", "open": False, "sort": "waiting_since"},
        "GET",
        "/conversations",
        {"type": "admin", "admin_id": "nobody", "open": "false", "sort": "waiting_since"},
        None,
    ),
    "list_data_attributes_for_companies": ((), {}, "GET", "/data_attributes", {"model": "company"}, None),
    "list_data_attributes_for_customers": (
        (),
        {"include_archived": True},
        "GET",
        "/data_attributes",
        {"model": "customer", "include_archived": "true"},
        None,
    ),
    "list_events_for_user": ((), {"user_id": "25"}, "GET", "/events", {"type": "user", "user_id": "25"}, None),
    "list_leads": ((), {"email": "l@example.com"}, "GET", "/contacts", {"email": "l@example.com"}, None),
    "list_notes_for_user": ((), {"id": "u1"}, "GET", "/notes", {"id": "u1"}, None),
    "list_segments": ((), {"type": "company"}, "GET", "/segments", {"type": "company"}, None),
    "list_tags": ((), {}, "GET", "/tags", {}, None),
    "list_teams": ((), {}, "GET", "/teams", {}, None),
    "list_users": (
        (),
        {"page": 2, "per_page": 60, "order": "asc", "sort": "updated_at", "created_since": 7},
        "GET",
        "/users",
        {"page": "2", "per_page": "60", "order": "asc", "sort": "updated_at", "created_since": "7"},
        None,
    ),
    "list_users_for_company": (("c1",), {"per_page": 10}, "GET", "/companies/c1/users", {"per_page": "10"}, None),
    "mark_conversation_as_read": (("147",), {}, "PUT", "/conversations/147", {}, {"read": True}),
    "post_message": (
        (
            {
                "message_type": "inapp",
                "body": "Hi",
                "from": {"type": "admin", "id": "25"},
                "to": {"type": "user", "id": "u1"},
            },
        ),
        {},
        "POST",
        "/messages",
        {},
        None,
    ),
    "post_reply": (("147", REPLY), {}, "POST", "/conversations/147/reply", {}, REPLY),
    "post_reply_to_last_conversation": (
        ({"type": "user", "user_id": "25", "message_type": "comment", "body": "Hi"},),
        {},
        "POST",
        "/conversations/last/reply",
        {},
        None,
    ),
    "scroll_companies": ((), {"scroll_param": "abc"}, "GET", "/companies/scroll", {"scroll_param": "abc"}, None),
    "scroll_leads": ((), {}, "GET", "/contacts/scroll", {}, None),
    "scroll_users": ((), {"scroll_param": "abc"}, "GET", "/users/scroll", {"scroll_param": "abc"}, None),
    "set_admin_away": (
        ("25", True, False),
        {},
        "PUT",
        "/admins/25/away",
        {},
        {"away_mode_enabled": True, "away_mode_reassign": False},
    ),
    "update_company": (
        ({"company_id": "6", "plan": "Paid"},),
        {},
        "POST",
        "/companies",
        {},
        {"company_id": "6", "plan": "Paid"},
    ),
    "update_lead": (({"user_id": "L1", "name": "W"},), {}, "POST", "/contacts", {}, {"user_id": "L1", "name": "W"}),
    "update_tag": (({"id": "17", "name": "new"},), {}, "POST", "/tags", {}, {"id": "17", "name": "new"}),
    "update_visitor": (({"user_id": "V1", "name": "V"},), {}, "PUT", "/visitors", {}, {"user_id": "V1", "name": "V"}),
}


def test_it_covers_every_seed_operation():
    assert sorted(CASES) == sorted(OPERATIONS)
    assert len(OPERATIONS) == 57


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_sends_each_operation_as_the_reference_says(name):
    args, kwargs, method, path, query, body = CASES[name]
    requests: list[httpx.Request] = []

    def handler(request):
        requests.append(request)
        if request.url.path == "/events" and request.method == "POST":
            return httpx.Response(202)
        return httpx.Response(200, json={"type": "ok"})

    client = IntercomClient("tok", transport=httpx.MockTransport(handler), sleep=lambda s: None)
    result = getattr(client, name)(*args, **kwargs)
    (request,) = requests
    assert request.method == method
    assert request.url.raw_path.split(b"?")[0].decode() == path
    assert dict(request.url.params) == query
    if body is not None:
        assert json.loads(request.content) == body
    if method in ("POST", "PUT"):
        assert request.headers["Content-Type"] == "application/json"
    assert result is None if name == "create_event" else result == {"type": "ok"}


def test_it_sends_snooze_until_as_snoozed_until():
    requests = []
    client = IntercomClient(
        "tok", transport=httpx.MockTransport(lambda r: requests.append(r) or httpx.Response(200, json={}))
    )
    client.post_reply("1", {"type": "admin", "admin_id": "25", "message_type": "snoozed", "snooze_until": 1567000000})
    assert json.loads(requests[0].content) == {
        "type": "admin",
        "admin_id": "25",
        "message_type": "snoozed",
        "snoozed_until": 1567000000,
    }


def test_it_sends_delete_company_user_id_as_company_id():
    requests = []
    client = IntercomClient(
        "tok", transport=httpx.MockTransport(lambda r: requests.append(r) or httpx.Response(200, json={}))
    )
    client.delete_company(user_id="6")
    assert dict(requests[0].url.params) == {"company_id": "6"}


def test_it_archives_a_user_by_intercom_id():
    requests = []
    client = IntercomClient(
        "tok", transport=httpx.MockTransport(lambda r: requests.append(r) or httpx.Response(200, json={}))
    )
    client.archive_user(id="u/1")
    assert requests[0].method == "DELETE"
    assert requests[0].url.raw_path == b"/users/u%2F1"
