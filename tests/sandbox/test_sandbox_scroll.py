"""The sandbox's scroll API: 100 per page, one scroll per app, expiry, the empty last page, failures."""

from __future__ import annotations

import pytest

from intercom_mirror.sandbox.testing import make_app


@pytest.fixture
def app(clock):
    return make_app(clock, users=250, leads=130, companies=40, conversations=2)


def scroll_all(client, path, key):
    """Return every page of a scroll, the empty last page included."""
    pages = [client.get(path).json()]
    while pages[-1][key]:
        pages.append(client.get(path, params={"scroll_param": pages[-1]["scroll_param"]}).json())
    return pages


def test_it_scrolls_users_100_a_page_to_an_empty_end(client, app):
    pages = scroll_all(client, "/users/scroll", "users")
    assert [len(p["users"]) for p in pages] == [100, 100, 50, 0]
    assert all(p["type"] == "user.list" and p["scroll_param"] for p in pages)
    assert "pages" not in pages[0] and "total_count" not in pages[0]
    ids = [u["id"] for p in pages for u in p["users"]]
    assert len(ids) == len(set(ids)) == len(app.workspace.users)


def test_it_scrolls_leads_under_contacts(client, app):
    pages = scroll_all(client, "/contacts/scroll", "contacts")
    assert pages[0]["type"] == "contact.list"
    assert sum(len(p["contacts"]) for p in pages) == len(app.workspace.leads)


def test_it_scrolls_companies(client, app):
    pages = scroll_all(client, "/companies/scroll", "companies")
    assert pages[0]["type"] == "company.list"
    assert sum(len(p["companies"]) for p in pages) == len(app.workspace.companies)


def test_it_allows_one_scroll_per_app(client):
    client.get("/users/scroll")
    response = client.get("/companies/scroll")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "scroll_exists"
    assert error["message"] == "scroll already exists for this app"


def test_it_frees_the_scroll_once_finished(client):
    scroll_all(client, "/contacts/scroll", "contacts")
    assert client.get("/users/scroll").status_code == 200


def test_it_expires_a_scroll_a_minute_after_its_last_use(client, clock):
    first = client.get("/users/scroll").json()
    clock.advance(59)
    assert client.get("/users/scroll", params={"scroll_param": first["scroll_param"]}).status_code == 200
    clock.advance(59)
    assert client.get("/users/scroll", params={"scroll_param": first["scroll_param"]}).status_code == 200
    clock.advance(60)
    expired = client.get("/users/scroll", params={"scroll_param": first["scroll_param"]})
    assert expired.status_code == 404
    assert expired.json()["errors"][0]["code"] == "not_found"
    assert client.get("/users/scroll").status_code == 200


def test_it_refuses_a_scroll_param_of_another_resource(client):
    first = client.get("/users/scroll").json()
    assert client.get("/contacts/scroll", params={"scroll_param": first["scroll_param"]}).status_code == 404


def test_it_neither_skips_nor_repeats_when_users_change_mid_scroll(client, app):
    first = client.get("/users/scroll").json()
    for i in range(30):
        client.post("/users", json={"user_id": f"mid-scroll-{i}", "email": f"mid{i}@example.com"})
    seen = [u["id"] for u in first["users"]]
    param = first["scroll_param"]
    while True:
        page = client.get("/users/scroll", params={"scroll_param": param}).json()
        if not page["users"]:
            break
        seen += [u["id"] for u in page["users"]]
    assert len(seen) == len(set(seen))
    assert len(seen) >= 250


def test_it_breaks_a_scroll_on_demand_and_holds_the_lock_until_expiry(client, app, clock):
    app.faults.fail_scroll_after(2)
    first = client.get("/users/scroll").json()
    client.get("/users/scroll", params={"scroll_param": first["scroll_param"]})
    broken = client.get("/users/scroll", params={"scroll_param": first["scroll_param"]})
    assert broken.status_code == 500
    error = broken.json()["errors"][0]
    assert error["code"] == "server_error"
    assert "Please restart the scroll operation." in error["message"]
    assert client.get("/users/scroll", params={"scroll_param": first["scroll_param"]}).status_code == 404
    assert client.get("/users/scroll").json()["errors"][0]["code"] == "scroll_exists"
    clock.advance(60)
    restarted = client.get("/users/scroll")
    assert restarted.status_code == 200
    assert len(restarted.json()["users"]) == 100
