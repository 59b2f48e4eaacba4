"""The sandbox answers the requests of python-intercom 3.1.0, the official v1 SDK, as the real API did.

The SDK is not a dependency: each test rebuilds by hand the exact request one SDK call sends (method,
path, query or JSON body, headers) and cites the SDK file that builds it. `sdk()` mirrors the transport,
`intercom/request.py::Request.send_request_to_path`: Basic auth with the token as username
(`intercom/client.py::Client._auth`), `Accept: application/json`, no `Intercom-Version` header, GET
parameters in the query string (None dropped, booleans as "True"/"False" as `requests` writes them),
and a JSON body on POST, PUT and DELETE (`{}` when there is nothing to send).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from intercom_mirror.sandbox import SandboxApp
from intercom_mirror.sandbox.testing import BASE_URL, make_app


def sdk_client(app: SandboxApp) -> httpx.Client:
    """Return an in-process client carrying the headers `intercom/request.py` sends on every request."""
    headers = {
        "User-Agent": "python-intercom/3.1.0",
        "AcceptEncoding": "gzip, deflate",  # sic
        "Accept": "application/json",
        "Authorization": "Basic " + base64.b64encode(f"{app.token}:".encode()).decode(),
    }
    return httpx.Client(transport=app.transport(), base_url=BASE_URL, headers=headers)


@pytest.fixture
def http(app):
    with sdk_client(app) as c:
        yield c


def sdk(http: httpx.Client, method: str, path: str, params: dict[str, Any] | None = None, **headers: str):
    """Send what `intercom/request.py` sends for `client.<method>(path, params)` and return the response."""
    params = params or {}
    if method == "GET":
        query = {k: str(v) if isinstance(v, bool) else v for k, v in params.items() if v is not None}
        # requests appends params to a query already in the path (by_tag and paging put one there).
        if query:
            path += ("&" if "?" in path else "?") + urlencode(query)
        return http.request(method, path, headers=headers)
    headers = {**headers, "content-type": "application/json"}
    return http.request(method, path, content=json.dumps(params).encode(), headers=headers)


def body(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 202), response.text
    return response.json()


def walk(http: httpx.Client, path: str, key: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Page like `intercom/collection_proxy.py`: follow `pages.next` (its path and query) while `pages.type` is set."""
    items, url, params = [], path, params or {}
    while url:
        page = body(sdk(http, "GET", url, params))
        items += page[key]
        pages = page.get("pages") or {}
        url, params = None, {}
        if "type" in pages and pages.get("next"):
            parts = urlsplit(pages["next"])
            url = f"{parts.path}?{parts.query}"
    return items


def first(table: dict[str, Any], test=lambda r: True) -> Any:
    return next(r for r in table.values() if test(r))


# ------------------------------------------------------------------ the forms the issue names
# (admins' conversations by `id` and flat note owners were refused before; find-by-email per version was not)


def test_it_lists_an_admins_conversations_by_type_admin_and_id(http, app):
    # intercom/api_operations/find_all.py: find_all(type='admin', id=X) keeps `id` in the query when `type` is given.
    ws = app.workspace
    admin = first(ws.admins, lambda a: any(c.assignee == ("admin", a.id) for c in ws.conversations.values()))
    listed = walk(http, "/conversations", "conversations", {"type": "admin", "id": admin.id})
    mine = {c.id for c in ws.conversations.values() if c.assignee == ("admin", admin.id)}
    documented = walk(http, "/conversations", "conversations", {"type": "admin", "admin_id": admin.id})
    assert {c["id"] for c in listed} == {c["id"] for c in documented} == mine


def test_it_filters_an_admins_conversations_by_open_as_the_sdk_writes_it(http, app):
    # README of python-intercom 3.1.0: find_all(type='admin', id=7, open=True|False[, before=…]).
    ws = app.workspace
    admin = first(ws.admins, lambda a: any(c.assignee == ("admin", a.id) for c in ws.conversations.values()))
    mine = [c for c in ws.conversations.values() if c.assignee == ("admin", admin.id)]
    opened = walk(http, "/conversations", "conversations", {"type": "admin", "id": admin.id, "open": True})
    closed = walk(
        http, "/conversations", "conversations", {"type": "admin", "id": admin.id, "open": False, "before": 1374844930}
    )
    assert {c["id"] for c in opened} == {c.id for c in mine if c.state != "closed"}
    assert {c["id"] for c in closed} == {c.id for c in mine if c.state == "closed"}


def test_it_creates_notes_named_by_top_level_email_user_id_or_id(http, app):
    # intercom/api_operations/save.py::create: notes.create(body=…, email=…) posts its kwargs flat to /notes/.
    ws = app.workspace
    user = first(ws.users, lambda u: u.email and len(ws.by_email(u.email)) == 1 and u.user_id)
    lead = first(ws.leads)
    by_email = body(sdk(http, "POST", "/notes/", {"body": "<p>Text for the note</p>", "email": user.email}))
    by_user_id = body(sdk(http, "POST", "/notes/", {"body": "Called", "user_id": user.user_id}))
    for_lead = body(sdk(http, "POST", "/notes/", {"body": "Lead note", "id": lead.id}))
    nested = body(sdk(http, "POST", "/notes/", {"body": "Nested", "user": {"id": user.id}, "admin_id": ws.me().id}))
    assert by_email["user"] == by_user_id["user"] == nested["user"] == {"type": "user", "id": user.id}
    assert for_lead["user"] == {"type": "contact", "id": lead.id}
    assert by_email["body"] == "<p>Text for the note</p>"
    assert by_user_id["body"] == "<p>Called</p>"


def test_it_lists_the_notes_of_a_lead_by_id_user_id_or_email(http, app):
    # api.py::list_notes_for_user sends GET /notes?id=… (or user_id/email); the mirror reads leads' notes with it.
    ws = app.workspace
    lead = first(ws.leads, lambda c: c.email and not ws.by_email(c.email))
    note = body(sdk(http, "POST", "/notes", {"body": "Lead note", "user": {"id": lead.id}}))
    for params in ({"id": lead.id}, {"user_id": lead.user_id}, {"email": lead.email}):
        listed = walk(http, "/notes", "notes", params)
        assert [n["id"] for n in listed] == [note["id"]], params


def test_it_finds_a_user_by_email_as_a_user_under_1_0_and_a_list_later(http, app):
    # intercom/api_operations/find.py: users.find(email=…) → GET /users?email=…, read as a single user.
    user = first(app.workspace.users, lambda u: u.email and len(app.workspace.by_email(u.email)) == 1)
    old = body(sdk(http, "GET", "/users", {"email": user.email}, **{"Intercom-Version": "1.0"}))
    assert (old["type"], old["id"]) == ("user", user.id)
    new = body(sdk(http, "GET", "/users", {"email": user.email}, **{"Intercom-Version": "1.1"}))
    assert new["type"] == "user.list"
    assert [u["id"] for u in new["users"]] == [user.id]


def test_it_answers_versionless_requests_in_its_default_version(clock):
    # The SDK sends no Intercom-Version: the app's own setting decides, here the sandbox's api_version_default.
    app = make_app(clock, api_version_default="1.0")
    user = first(app.workspace.users, lambda u: u.email and len(app.workspace.by_email(u.email)) == 1)
    with sdk_client(app) as http:
        found = body(sdk(http, "GET", "/users", {"email": user.email}))
        assert (found["type"], found["id"]) == ("user", user.id)
        assert (
            body(sdk(http, "GET", "/users", {"email": user.email}, **{"Intercom-Version": "1.4"}))["type"]
            == "user.list"
        )


# ------------------------------------------------------------------ users: intercom/service/user.py


def test_it_creates_saves_increments_and_deletes_a_user(http, app):
    # save.py::create posts to /users/; save.py::save posts changed attributes + custom_attributes + identity_hash
    # (id, email, user_id) to /users; delete.py sends DELETE /users/{id} with a `{}` body.
    created = body(sdk(http, "POST", "/users/", {"email": "bob@example.com", "name": "Bob Smith"}))
    assert (created["type"], created["name"]) == ("user", "Bob Smith")
    identity = {"id": created["id"], "email": "bob@example.com"}
    saved = body(sdk(http, "POST", "/users", {"name": "Bob", "custom_attributes": {"karma": 1}, **identity}))
    assert (saved["id"], saved["name"], saved["custom_attributes"]) == (created["id"], "Bob", {"karma": 1})
    incremented = body(sdk(http, "POST", "/users", {"custom_attributes": {"karma": 2}, **identity}))
    assert incremented["custom_attributes"] == {"karma": 2}
    assert body(sdk(http, "DELETE", f"/users/{created['id']}", {}))["id"] == created["id"]
    assert sdk(http, "GET", f"/users/{created['id']}").status_code == 404


def test_it_finds_a_user_by_id_and_by_user_id(http, app):
    # find.py: find(id=…) → GET /users/{id}; find(user_id=…) → GET /users?user_id=…
    user = first(app.workspace.users, lambda u: u.user_id)
    assert body(sdk(http, "GET", f"/users/{user.id}", {}))["user_id"] == user.user_id
    assert body(sdk(http, "GET", "/users", {"user_id": user.user_id}))["id"] == user.id


def test_it_pages_all_users_and_users_by_tag(http, app):
    # all.py and tags.py (by_tag builds "/users?tag_id=…" itself) page with collection_proxy.py.
    ws = app.workspace
    everyone = walk(http, "/users", "users")
    assert sorted(u["id"] for u in everyone) == sorted(ws.users)
    tag = first(ws.tags, lambda t: any(t.id in u.tag_ids for u in ws.users.values()))
    tagged = walk(http, f"/users?tag_id={tag.id}", "users")
    assert {u["id"] for u in tagged} == {u.id for u in ws.users.values() if tag.id in u.tag_ids}


def test_it_scrolls_users_like_the_scroll_proxy(http, app):
    # scroll.py + scroll_collection_proxy.py: GET /users/scroll, then ?scroll_param=… until an empty page.
    page = body(sdk(http, "GET", "/users/scroll", {}))
    seen = [u["id"] for u in page["users"]]
    while page["users"]:
        page = body(sdk(http, "GET", "/users/scroll", {"scroll_param": page["scroll_param"]}))
        seen += [u["id"] for u in page["users"]]
    assert sorted(seen) == sorted(app.workspace.users)


def test_it_runs_a_bulk_user_job_and_serves_it_and_its_error_feed(http, app):
    # api_operations/bulk.py::Submit: POST /bulk/users {"items": [{method, data_type, data}], "job"?};
    # service/job.py: GET /jobs/{id} and LoadErrorFeed GET /jobs/{id}/error.
    doomed = first(app.workspace.users, lambda u: u.user_id)
    items = [
        {"method": "post", "data_type": "user", "data": {"user_id": "25", "email": "alice@example.com"}},
        {"method": "delete", "data_type": "user", "data": {"user_id": doomed.user_id}},
    ]
    job = body(sdk(http, "POST", "/bulk/users", {"items": items}))
    assert (job["name"], job["tasks"][0]["item_count"]) == ("api_bulk_job", 2)
    assert body(sdk(http, "GET", "/users", {"user_id": "25"}))["email"] == "alice@example.com"
    assert doomed.id in app.workspace.archived
    bad = [{"method": "post", "data_type": "user", "data": {"name": "No identifier"}}]
    again = body(sdk(http, "POST", "/bulk/users", {"items": bad, "job": {"id": job["id"]}}))
    assert (again["id"], len(again["tasks"])) == (job["id"], 2)
    assert body(sdk(http, "GET", f"/jobs/{job['id']}", {}))["id"] == job["id"]
    feed = body(sdk(http, "GET", f"/jobs/{job['id']}/error", {}))
    assert feed["job_id"] == job["id"]
    assert [e["data"] for e in feed["items"]] == [{"name": "No identifier"}]


# ------------------------------------------------------------------ leads: intercom/service/lead.py (collection "contacts")


def test_it_creates_saves_finds_and_deletes_a_lead(http, app):
    # save.py::create → POST /contacts/; Lead.update_verb is 'put', so save() → PUT /contacts/{id};
    # find(user_id=…) → GET /contacts?user_id=…; find_all(email=…) → GET /contacts?email=…; delete → DELETE /contacts/{id}.
    lead = body(sdk(http, "POST", "/contacts/", {"email": "some_contact@example.com"}))
    assert lead["type"] == "contact"
    saved = body(sdk(http, "PUT", f"/contacts/{lead['id']}", {"custom_attributes": {"foo": "bar"}}))
    assert saved["custom_attributes"] == {"foo": "bar"}
    assert body(sdk(http, "GET", "/contacts", {"user_id": lead["user_id"]}))["id"] == lead["id"]
    assert [c["id"] for c in walk(http, "/contacts", "contacts", {"email": "some_contact@example.com"})] == [lead["id"]]
    assert body(sdk(http, "DELETE", f"/contacts/{lead['id']}", {}))["id"] == lead["id"]
    assert sdk(http, "GET", f"/contacts/{lead['id']}").status_code == 404


def test_it_converts_a_lead_into_a_user_named_by_its_identity_hash(http, app):
    # api_operations/convert.py: {"contact": {"user_id": …}, "user": identity_hash(user)} (id, email, user_id).
    ws = app.workspace
    lead, user = first(ws.leads), first(ws.users, lambda u: u.user_id and u.email)
    sent = {"contact": {"user_id": lead.user_id}, "user": {"id": user.id, "email": user.email, "user_id": user.user_id}}
    assert body(sdk(http, "POST", "/contacts/convert", sent))["id"] == user.id
    assert lead.id not in ws.leads


# ------------------------------------------------------------------ companies: intercom/service/company.py


def test_it_creates_finds_saves_and_deletes_a_company(http, app):
    # save.py: create → POST /companies/; save → POST /companies with identity_hash (id, company_id);
    # find.py: company_id / name in the query, id in the path; delete.py: DELETE /companies/{id}.
    created = body(sdk(http, "POST", "/companies/", {"company_id": "6", "name": "Intercom", "plan": "Paid"}))
    assert created["plan"]["name"] == "Paid"
    assert body(sdk(http, "GET", "/companies", {"company_id": "6"}))["id"] == created["id"]
    assert body(sdk(http, "GET", "/companies", {"name": "Intercom"}))["id"] == created["id"]
    assert body(sdk(http, "GET", f"/companies/{created['id']}", {}))["company_id"] == "6"
    saved = body(
        sdk(http, "POST", "/companies", {"name": "Updated company name", "id": created["id"], "company_id": "6"})
    )
    assert (saved["id"], saved["name"]) == (created["id"], "Updated company name")
    assert body(sdk(http, "DELETE", f"/companies/{created['id']}", {}))["id"] == created["id"]
    assert sdk(http, "GET", f"/companies/{created['id']}").status_code == 404


def test_it_pages_a_companys_users_and_attaches_users_through_save(http, app):
    # extended_api_operations/users.py: GET /companies/{id}/users read under "users"; README: user.companies = […]; save.
    ws = app.workspace
    user = first(ws.users, lambda u: u.user_id and not u.company_ids)
    company = first(ws.companies, lambda co: any(m in ws.users for m in co.members))
    sent = {"companies": [{"id": company.id, "name": company.name, "custom_attributes": {"referral_source": "Google"}}]}
    body(sdk(http, "POST", "/users", {**sent, "id": user.id, "user_id": user.user_id}))
    members = walk(http, f"/companies/{company.id}/users", "users")
    assert user.id in {u["id"] for u in members}


# ------------------------------------------------------------------ conversations: intercom/service/conversation.py


def test_it_lists_a_users_unread_conversations_by_email(http, app):
    # find_all(email=…, type='user', unread=True|False) → GET /conversations?email=…&type=user&unread=True
    ws = app.workspace
    conv = first(ws.conversations, lambda c: len(c.customers) == 1 and ws.contact_any(c.customers[0]).type == "user")
    customer = ws.contact_any(conv.customers[0])
    assert len(ws.by_email(customer.email, ("user", "contact"))) == 1
    theirs = {c.id for c in ws.conversations.values() if customer.id in c.customers}
    every = walk(http, "/conversations", "conversations", {"email": customer.email, "type": "user", "unread": False})
    unread = walk(http, "/conversations", "conversations", {"email": customer.email, "type": "user", "unread": True})
    assert {c["id"] for c in every} == theirs
    assert {c["id"] for c in unread} == {i for i in theirs if not ws.conversations[i].read}


def test_it_replies_assigns_closes_opens_and_marks_read_like_the_sdk(http, app):
    # __reply pops `id` and posts the rest plus conversation_id to /conversations/{id}/reply; assign/open/close preset
    # type 'admin' and message_type; mark_read sends PUT /conversations/{id}/reply {"read": true} (an SDK bug).
    ws = app.workspace
    conv = first(ws.conversations)
    admin, other = list(ws.admins)[:2]
    path = f"/conversations/{conv.id}/reply"

    def reply(**fields: Any) -> dict[str, Any]:
        return body(sdk(http, "POST", path, {**fields, "conversation_id": conv.id}))

    replied = reply(type="admin", admin_id=admin, message_type="comment", body="bar")
    assert replied["conversation_parts"]["conversation_parts"][-1]["body"] == "<p>bar</p>"
    assigned = reply(admin_id=admin, assignee_id=other, type="admin", message_type="assignment")
    assert assigned["assignee"] == {"type": "admin", "id": other}
    assert reply(admin_id=admin, type="admin", message_type="close")["state"] == "closed"
    assert reply(admin_id=admin, type="admin", message_type="open")["state"] == "open"
    assert body(sdk(http, "PUT", path, {"read": True}))["read"] is True
    assert body(sdk(http, "GET", f"/conversations/{conv.id}", {}))["id"] == conv.id


def test_it_takes_a_user_reply_with_attachments(http, app):
    # README: reply(id=…, type='user', email=…, message_type='comment', body='foo', attachment_urls=[…])
    ws = app.workspace
    conv = first(ws.conversations, lambda c: ws.contact_any(c.customers[0]).type == "user")
    customer = ws.contact_any(conv.customers[0])
    sent = {
        "type": "user",
        "intercom_user_id": customer.id,
        "message_type": "comment",
        "body": "foo",
        "attachment_urls": ["http://www.example.com/attachment.jpg"],
        "conversation_id": conv.id,
    }
    replied = body(sdk(http, "POST", f"/conversations/{conv.id}/reply", sent))
    part = replied["conversation_parts"]["conversation_parts"][-1]
    assert (part["author"]["id"], part["attachments"][0]["name"]) == (customer.id, "attachment.jpg")


# ------------------------------------------------------------------ notes: intercom/service/note.py


def test_it_finds_notes_by_id_and_pages_a_users_notes(http, app):
    # find.py: find(id=…) → GET /notes/{id}; find_all(email=…|user_id=…) → GET /notes?… paged by collection_proxy.py.
    ws = app.workspace
    user = first(ws.users, lambda u: u.email and len(ws.by_email(u.email)) == 1 and u.user_id)
    ids = [body(sdk(http, "POST", "/notes/", {"body": f"n{i}", "email": user.email}))["id"] for i in range(3)]
    assert body(sdk(http, "GET", f"/notes/{ids[0]}", {}))["body"] == "<p>n0</p>"
    for params in ({"email": user.email}, {"user_id": user.user_id}):
        assert sorted(n["id"] for n in walk(http, "/notes", "notes", params)) == sorted(ids)


# ------------------------------------------------------------------ tags and segments: intercom/service/tag.py, segment.py


def test_it_tags_and_untags_users_and_companies(http, app):
    # tag() / untag() post to /tags/ with tag_or_untag; untag() sets "untag": True on every entry.
    ws = app.workspace
    user = first(ws.users, lambda u: u.email and len(ws.by_email(u.email)) == 1)
    company = first(ws.companies)
    tag = body(sdk(http, "POST", "/tags/", {"name": "blue", "users": [{"email": user.email}], "tag_or_untag": "tag"}))
    assert tag["name"] == "blue"
    assert tag["id"] in user.tag_ids
    untagged = {"name": "blue", "users": [{"id": user.id, "untag": True}], "tag_or_untag": "untag"}
    assert body(sdk(http, "POST", "/tags/", untagged))["id"] == tag["id"]
    assert tag["id"] not in user.tag_ids
    body(sdk(http, "POST", "/tags/", {"name": "blue", "companies": [{"id": company.id}], "tag_or_untag": "tag"}))
    assert tag["id"] in company.tag_ids


def test_it_lists_and_finds_tags_and_segments(http, app):
    # all.py: GET /tags, GET /segments (read under "tags"/"segments", no paging); find.py: GET /tags/{id}, /segments/{id}.
    ws = app.workspace
    assert {t["id"] for t in walk(http, "/tags", "tags")} == set(ws.tags)
    tag, segment = first(ws.tags), first(ws.segments)
    assert body(sdk(http, "GET", f"/tags/{tag.id}", {}))["name"] == tag.name
    assert {s["id"] for s in walk(http, "/segments", "segments")} >= {segment.id}
    assert body(sdk(http, "GET", f"/segments/{segment.id}", {}))["name"] == segment.name


# ------------------------------------------------------------------ events: intercom/service/event.py


def test_it_accepts_events_and_lists_them_with_the_event_proxy(http, app, clock):
    # save.py::create posts to /events/ (202, no body; the SDK returns None); find_all(type='user', …) is paged by
    # EventCollectionProxy, which follows pages.next whenever it is present.
    ws = app.workspace
    user = first(ws.users, lambda u: u.email and len(ws.by_email(u.email)) == 1)
    metadata = {"invitee_email": "pi@example.org", "price": {"currency": "usd", "amount": 2999}}
    sent = {"event_name": "invited-friend", "created_at": clock.now(), "email": user.email, "metadata": metadata}
    created = sdk(http, "POST", "/events/", sent)
    assert (created.status_code, created.content) == (202, b"")
    page = body(sdk(http, "GET", "/events", {"type": "user", "intercom_user_id": user.id}))
    assert "next" in page["pages"]
    assert [e["event_name"] for e in page["events"]][0] == "invited-friend"


def test_it_runs_a_bulk_event_job(http, app, clock):
    # api_operations/bulk.py: POST /bulk/events with data_type "event" (the SDK refuses event deletes itself).
    user = first(app.workspace.users, lambda u: u.user_id)
    items = [
        {
            "method": "post",
            "data_type": "event",
            "data": {"event_name": "ordered-item", "created_at": clock.now(), "user_id": user.user_id},
        }
    ]
    job = body(sdk(http, "POST", "/bulk/events", {"items": items}))
    assert job["tasks"][0]["item_count"] == 1
    assert [e.event_name for e in app.workspace.events_by_contact[user.id]][-1] == "ordered-item"


# ------------------------------------------------------------------ counts, admins, messages, subscriptions


def test_it_answers_the_sdks_counts(http, app):
    # service/count.py: for_app() → GET /counts; for_type(type, count=None) drops the None.
    ws = app.workspace
    assert body(sdk(http, "GET", "/counts", {}))["user"] == {"count": len(ws.users)}
    assert "segment" in body(sdk(http, "GET", "/counts", {"type": "user", "count": "segment"}))["user"]
    assert "open" in body(sdk(http, "GET", "/counts", {"type": "conversation", "count": None}))["conversation"]
    assert "admin" in body(sdk(http, "GET", "/counts", {"type": "conversation", "count": "admin"}))["conversation"]
    assert "user" in body(sdk(http, "GET", "/counts", {"type": "company", "count": "user"}))["company"]


def test_it_lists_admins_for_the_admin_proxy(http, app):
    # service/admin.py: all() → GET /admins read under "admins" (no pages.type, so one page).
    listed = walk(http, "/admins", "admins")
    assert {a["id"] for a in listed if a["type"] == "admin"} == set(app.workspace.admins)


def test_it_sends_messages_from_admins_users_and_contacts(http, app):
    # service/message.py: save.py::create posts the README's bodies to /messages/.
    ws = app.workspace
    admin, user, lead = first(ws.admins), first(ws.users, lambda u: not u.unsubscribed), first(ws.leads)
    sent = [
        {
            "message_type": "inapp",
            "body": "What's up :)",
            "from": {"type": "admin", "id": admin.id},
            "to": {"type": "user", "id": user.id},
        },
        {
            "message_type": "email",
            "subject": "Hey there",
            "body": "What's up :)",
            "template": "plain",
            "from": {"type": "admin", "id": admin.id},
            "to": {"type": "user", "id": user.id},
        },
        {
            "body": "How can I help :)",
            "from": {"type": "admin", "id": admin.id},
            "to": {"type": "contact", "id": lead.id},
        },
        {"from": {"type": "user", "id": user.id}, "body": "halp"},
        {"from": {"type": "contact", "id": lead.id}, "body": "halp"},
    ]
    types = [body(sdk(http, "POST", "/messages/", b))["type"] for b in sent]
    assert types == ["admin_message"] * 3 + ["user_message"] * 2


def test_it_creates_finds_and_deletes_a_subscription(http, app):
    # service/subscription.py: create → POST /subscriptions/; find → GET /subscriptions/{id}; delete → DELETE …/{id}.
    sub = body(sdk(http, "POST", "/subscriptions/", {"url": "http://example.com", "topics": ["user.created"]}))
    assert body(sdk(http, "GET", f"/subscriptions/{sub['id']}", {}))["topics"] == ["user.created"]
    assert body(sdk(http, "DELETE", f"/subscriptions/{sub['id']}", {}))["id"] == sub["id"]
    assert sdk(http, "GET", f"/subscriptions/{sub['id']}").status_code == 404
