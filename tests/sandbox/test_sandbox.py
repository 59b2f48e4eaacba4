"""The sandbox's HTTP layer: auth, rate limits, errors, paging, versions, faults and real sockets."""

from __future__ import annotations

import base64

import httpx
import pytest

from intercom_mirror.sandbox import SandboxApp, generate_workspace, serve_in_thread
from intercom_mirror.sandbox.testing import make_app, make_client


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error.list"
    assert body["request_id"]
    assert body["errors"][0]["code"] == code
    return body["errors"][0]


# ------------------------------------------------------------------ auth


def test_it_accepts_a_bearer_token(client):
    assert client.get("/me").status_code == 200


def test_it_accepts_the_token_as_basic_username(app):
    basic = base64.b64encode(b"sandbox-token:").decode()
    with make_client(app, Authorization=f"Basic {basic}") as c:
        assert c.get("/admins").status_code == 200


def test_it_refuses_a_missing_token(app):
    with httpx.Client(transport=app.transport(), base_url="http://sandbox.test") as c:
        error = assert_error(c.get("/users"), 401, "unauthorized")
    assert error["message"] == "Access Token Invalid"


def test_it_refuses_a_wrong_token(app):
    with make_client(app, token="nope") as c:
        assert_error(c.get("/users"), 401, "unauthorized")
    basic = base64.b64encode(b"nope:").decode()
    with make_client(app, Authorization=f"Basic {basic}") as c:
        assert_error(c.get("/users"), 401, "unauthorized")


# ------------------------------------------------------------------ rate limit


def test_it_sends_rate_limit_headers_on_every_response(app, clock):
    app.limiter.limit = 3
    app.rate_limit = 3
    with make_client(app) as c:
        first = c.get("/tags")
        assert first.headers["X-RateLimit-Limit"] == "3"
        assert first.headers["X-RateLimit-Remaining"] == "2"
        assert first.headers["X-RateLimit-Reset"] == str(int(clock.t // 10 * 10 + 10))
        missing = c.get("/nope")
        assert missing.status_code == 404
        assert missing.headers["X-RateLimit-Remaining"] == "1"


def test_it_answers_429_when_the_window_is_spent(clock):
    app = make_app(clock, rate_limit=2)
    with make_client(app) as c:
        assert c.get("/tags").status_code == 200
        assert c.get("/tags").status_code == 200
        limited = c.get("/tags")
        error = assert_error(limited, 429, "rate_limit_exceeded")
        assert error["message"] == "Exceeded rate limit of 2 in 10_seconds"
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert int(limited.headers["X-RateLimit-Reset"]) > clock.t
        clock.advance(10)
        assert c.get("/tags").status_code == 200


def test_it_can_run_without_a_rate_limit(clock):
    app = make_app(clock, rate_limit=None)
    with make_client(app) as c:
        response = c.get("/tags")
    assert "X-RateLimit-Limit" not in response.headers


# ------------------------------------------------------------------ routing, errors, versions


def test_it_answers_404_for_unknown_routes_and_405_for_wrong_methods(client):
    assert_error(client.get("/nothing/here"), 404, "not_found")
    assert_error(client.patch("/users"), 405, "method_not_allowed")


def test_it_answers_404_for_unknown_ids(client):
    for path in ("/users/000000000000000000000000", "/contacts/x", "/companies/x", "/conversations/1", "/tags/9"):
        assert_error(client.get(path), 404, "not_found")


def test_it_refuses_invalid_json(client):
    response = client.post("/users", content=b"{nope", headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_document")


def test_it_refuses_an_unknown_version(client):
    assert_error(client.get("/users", headers={"Intercom-Version": "2.0"}), 400, "intercom_version_invalid")


def test_it_returns_a_list_for_find_by_email_from_version_1_1(client, app):
    user = next(iter(app.workspace.users.values()))
    listed = client.get("/users", params={"email": user.email}).json()
    assert listed["type"] == "user.list"
    assert user.id in [u["id"] for u in listed["users"]]
    single = client.get("/users", params={"email": user.email}, headers={"Intercom-Version": "1.0"}).json()
    assert single["type"] == "user"
    nobody = client.get("/users", params={"email": "nobody@example.invalid"}).json()
    assert nobody["total_count"] == 0


def test_it_validates_custom_attribute_names_from_version_1_4(client):
    body = {"user_id": "dotted", "custom_attributes": {"plan.tier": "gold"}}
    assert_error(client.post("/users", json=body), 400, "parameter_invalid")
    old = client.post("/users", json=body, headers={"Intercom-Version": "1.3"})
    assert old.json()["custom_attributes"] == {"plan.tier": "gold"}


def test_it_serves_data_attributes_at_the_path_of_the_version(client):
    assert client.get("/data_attributes", params={"model": "customer"}).json()["type"] == "data_attribute.list"
    assert_error(client.get("/data_attributes/customer"), 404, "not_found")
    old = client.get("/data_attributes/company", headers={"Intercom-Version": "1.3"}).json()
    assert {a["name"] for a in old["data_attributes"]} >= {"name", "company_id", "region"}
    assert_error(
        client.get("/data_attributes", params={"model": "company"}, headers={"Intercom-Version": "1.3"}),
        404,
        "not_found",
    )


def test_it_accepts_trailing_slashes(client):
    response = client.post("/tags/", json={"name": "slashed"})
    assert response.json()["name"] == "slashed"


# ------------------------------------------------------------------ paging


def test_it_pages_users_without_duplicates_or_skips(client, app):
    seen, url, pages = [], "/users?per_page=7", 0
    while url:
        body = client.get(url).json()
        assert body["type"] == "user.list"
        assert body["total_count"] == len(app.workspace.users)
        assert body["pages"]["per_page"] == 7
        assert body["pages"]["total_pages"] == 9
        seen += [u["id"] for u in body["users"]]
        url = body["pages"]["next"]
        pages += 1
        if url:
            assert url.startswith("http://sandbox.test/users?")
    assert pages == 9
    assert len(seen) == len(set(seen)) == len(app.workspace.users)
    created = [app.workspace.users[i].created_at for i in seen]
    assert created == sorted(created, reverse=True)


def test_it_clamps_per_page(client):
    assert client.get("/users", params={"per_page": 500}).json()["pages"]["per_page"] == 60
    assert client.get("/conversations").json()["pages"]["per_page"] == 20


def test_it_refuses_deep_paging_of_users(client):
    assert_error(client.get("/users", params={"page": 201}), 400, "parameter_invalid")
    assert client.get("/users", params={"page": 200}).status_code == 200


def test_it_sorts_users_ascending_with_stable_ties(client):
    body = client.get("/users", params={"sort": "updated_at", "order": "asc", "per_page": 60}).json()
    keys = [(u["updated_at"], u["id"]) for u in body["users"]]
    assert keys == sorted(keys)


def test_it_lists_companies_with_users_only(client, app):
    ws = app.workspace
    body = client.get("/companies", params={"per_page": 60}).json()
    listed = {c["id"] for c in body["companies"]}
    empty = [co for co in ws.companies.values() if ws.user_count(co) == 0]
    assert empty, "the generator leaves some companies without users"
    assert listed.isdisjoint(co.id for co in empty)
    assert client.get(f"/companies/{empty[0].id}").status_code == 200
    spends = [c["last_request_at"] or 0 for c in body["companies"]]
    assert spends == sorted(spends, reverse=True)


def test_it_lists_conversations_without_parts(client):
    body = client.get("/conversations", params={"per_page": 5}).json()
    assert body["type"] == "conversation.list"
    assert all("conversation_parts" not in c for c in body["conversations"])
    updated = [c["updated_at"] for c in body["conversations"]]
    assert updated == sorted(updated, reverse=True)


def test_it_filters_conversations(client, app):
    ws = app.workspace
    unassigned = client.get("/conversations", params={"type": "admin", "admin_id": "nobody", "per_page": 60}).json()
    assert all(c["assignee"]["type"] == "nobody_admin" for c in unassigned["conversations"])
    closed = client.get("/conversations", params={"open": "false", "per_page": 60}).json()
    assert closed["conversations"] and all(c["state"] == "closed" for c in closed["conversations"])
    conv = next(iter(ws.conversations.values()))
    mine = client.get("/conversations", params={"type": "user", "intercom_user_id": conv.customers[0]}).json()
    assert conv.id in [c["id"] for c in mine["conversations"]]


# ------------------------------------------------------------------ faults


def test_it_fails_the_next_requests_on_demand(app, client):
    app.faults.fail_next(2, status=503)
    assert_error(client.get("/tags"), 503, "service_unavailable")
    assert_error(client.get("/tags"), 503, "service_unavailable")
    assert client.get("/tags").status_code == 200


def test_it_can_fail_like_a_proxy_with_html(app, client):
    app.faults.fail_next(1, status=502, html=True)
    response = client.get("/tags")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")


def test_it_bursts_rate_limit_errors_on_demand(app, client):
    app.faults.rate_limit_burst(1)
    assert_error(client.get("/tags"), 429, "rate_limit_exceeded")
    assert client.get("/tags").status_code == 200


def test_it_slows_responses_with_the_injected_sleep(app, client, clock):
    app.faults.slow_next(1, seconds=4.5)
    assert client.get("/tags").status_code == 200
    assert clock.slept == [4.5]


def test_it_drops_connections_in_process(app, client):
    app.faults.drop_next(1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/tags", json={"name": "dropped"})
    assert "dropped" not in [t["name"] for t in client.get("/tags").json()["tags"]]


def test_it_can_drop_the_response_after_applying_the_write(app, client):
    app.faults.drop_next(1, processed=True)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/tags", json={"name": "lost reply"})
    assert "lost reply" in [t["name"] for t in client.get("/tags").json()["tags"]]


def test_it_times_out_in_process(app, client):
    app.faults.timeout_next(1)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/tags")
    assert client.get("/tags").status_code == 200


def test_it_applies_faults_in_order_and_clears_them(app, client):
    app.faults.fail_next(1)
    app.faults.rate_limit_burst(1)
    app.faults.fail_next(5)
    assert client.get("/tags").status_code == 500
    assert client.get("/tags").status_code == 429
    app.faults.clear()
    assert client.get("/tags").status_code == 200


def test_it_logs_every_request(app, client):
    client.get("/users", params={"per_page": 2})
    client.post("/tags", json={"name": "x"})
    assert app.request_log[-2:] == [("GET", "/users?per_page=2"), ("POST", "/tags")]


# ------------------------------------------------------------------ real HTTP


def test_it_serves_over_real_http_and_drops_connections():
    app = SandboxApp(generate_workspace(seed=3, users=20, leads=5, conversations=5, now=1_569_510_000))
    server, base_url = serve_in_thread(app)
    try:
        with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer sandbox-token"}, timeout=5) as c:
            body = c.get("/users", params={"per_page": 5}).json()
            assert body["pages"]["next"].startswith(f"{base_url}/users?")
            assert c.get(body["pages"]["next"]).status_code == 200
            app.faults.drop_next(1)
            with pytest.raises(httpx.RemoteProtocolError):
                c.get("/users")
            assert c.get("/tags").status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_it_times_out_over_real_http():
    app = SandboxApp(generate_workspace(seed=3, users=5, leads=1, conversations=1, now=1_569_510_000))
    server, base_url = serve_in_thread(app)
    try:
        app.faults.timeout_next(1, seconds=0.6)  # the server holds the socket this long, then closes it
        headers = {"Authorization": "Bearer sandbox-token"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=0.2) as c, pytest.raises(httpx.ReadTimeout):
            c.get("/tags")
    finally:
        server.shutdown()
        server.server_close()


def test_it_reports_no_remaining_budget_on_a_burst(app, client):
    app.faults.rate_limit_burst(1)
    assert client.get("/tags").headers["X-RateLimit-Remaining"] == "0"


def test_it_shapes_objects_by_version(client, app):
    conv_id = next(iter(app.workspace.conversations))
    new = client.get(f"/conversations/{conv_id}").json()
    old = client.get(f"/conversations/{conv_id}", headers={"Intercom-Version": "1.1"}).json()
    assert "delivered_as" in new["conversation_message"] and "sent_at" in new
    assert "delivered_as" not in old["conversation_message"] and "sent_at" not in old
    assert client.get("/me").json()["app"]["region"] == "US"
    assert "region" not in client.get("/me", headers={"Intercom-Version": "1.2"}).json()["app"]


def test_it_serves_activity_logs_from_version_1_3(client):
    logs = client.get("/admins/activity_logs", params={"created_at_after": 0}).json()
    assert logs["type"] == "activity_log.list"
    assert logs["pages"]["per_page"] == 20
    assert client.get("/admins/activity_logs").json()["errors"][0]["code"] == "parameter_not_found"
    old = client.get("/admins/activity_logs", params={"created_at_after": 0}, headers={"Intercom-Version": "1.2"})
    assert old.status_code == 404


def test_it_lists_a_companys_users(client, app):
    ws = app.workspace
    company = next(co for co in ws.companies.values() if ws.user_count(co))
    body = client.get(f"/companies/{company.id}/users").json()
    assert body["type"] == "user.list"
    assert all(company.id in [c["id"] for c in u["companies"]["companies"]] for u in body["users"])
    assert body["total_count"] == ws.user_count(company)


def test_it_drops_a_post_cleanly_over_real_http():
    app = SandboxApp(generate_workspace(seed=3, users=5, leads=1, conversations=1, now=1_569_510_000))
    server, base_url = serve_in_thread(app)
    try:
        app.faults.drop_next(1)
        with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer sandbox-token"}, timeout=5) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                c.post("/tags", json={"name": "x" * 50_000})
            assert "x" * 50_000 not in [t["name"] for t in c.get("/tags").json()["tags"]]
    finally:
        server.shutdown()
        server.server_close()
