"""Writes through the sandbox API change what later reads return (reference §9.1–9.6, 9.12)."""

from __future__ import annotations


def code(response):
    return response.json()["errors"][0]["code"]


# ------------------------------------------------------------------ users


def test_it_creates_then_updates_a_user(client, clock):
    created = client.post("/users", json={"user_id": "u-1", "email": "ada@example.com", "name": "Ada"}).json()
    assert created["type"] == "user"
    assert created["anonymous"] is False
    assert created["created_at"] == created["updated_at"] == int(clock.t)
    clock.advance(100)
    updated = client.post(
        "/users",
        json={"user_id": "u-1", "name": "Ada Lovelace", "custom_attributes": {"plan": "gold"}, "new_session": True},
    ).json()
    assert updated["id"] == created["id"]
    assert updated["name"] == "Ada Lovelace"
    assert updated["email"] == "ada@example.com"
    assert updated["session_count"] == 1
    assert updated["updated_at"] == created["updated_at"] + 100
    assert client.get(f"/users/{created['id']}").json()["custom_attributes"] == {"plan": "gold"}
    assert client.get("/users", params={"user_id": "u-1"}).json()["id"] == created["id"]


def test_it_merges_custom_attributes_key_by_key(client):
    client.post("/users", json={"user_id": "u-2", "custom_attributes": {"a": 1, "b": "x"}})
    user = client.post("/users", json={"user_id": "u-2", "custom_attributes": {"b": "y"}}).json()
    assert user["custom_attributes"] == {"a": 1, "b": "y"}


def test_it_refuses_nested_custom_attributes(client):
    response = client.post("/users", json={"user_id": "u-3", "custom_attributes": {"a": {"b": 1}}})
    assert response.status_code == 400
    assert code(response) == "parameter_invalid"


def test_it_needs_an_identifier_to_create_a_user(client):
    assert client.post("/users", json={"name": "Nobody"}).status_code == 400


def test_it_answers_409_when_an_email_matches_several_users(client):
    client.post("/users", json={"user_id": "twin-1", "email": "twin@example.com"})
    client.post("/users", json={"user_id": "twin-2", "email": "twin@example.com"})
    response = client.post("/users", json={"email": "twin@example.com", "name": "Which?"})
    assert response.status_code == 409
    assert code(response) == "conflict"
    assert len(client.get("/users", params={"email": "twin@example.com"}).json()["users"]) == 2


def test_it_attaches_and_detaches_companies_and_counts_users(client):
    user = client.post(
        "/users", json={"user_id": "u-4", "companies": [{"company_id": "new-co", "name": "Nouvelle Société"}]}
    ).json()
    company = user["companies"]["companies"][0]
    assert company["name"] == "Nouvelle Société"
    assert client.get(f"/companies/{company['id']}").json()["user_count"] == 1
    listed = client.get("/companies", params={"company_id": "new-co", "type": "user"}).json()
    assert [u["id"] for u in listed["users"]] == [user["id"]]
    user = client.post(
        "/users", json={"user_id": "u-4", "companies": [{"company_id": "new-co", "remove": True}]}
    ).json()
    assert user["companies"]["companies"] == []
    assert client.get(f"/companies/{company['id']}").json()["user_count"] == 0


def test_it_archives_a_user_which_then_404s(client, app):
    user = client.post("/users", json={"user_id": "u-5", "email": "gone@example.com"}).json()
    before = client.get("/counts").json()["user"]["count"]
    archived = client.delete(f"/users/{user['id']}")
    assert archived.status_code == 200
    assert archived.json()["id"] == user["id"]
    assert client.get(f"/users/{user['id']}").status_code == 404
    assert client.get("/users", params={"user_id": "u-5"}).status_code == 404
    assert client.get("/counts").json()["user"]["count"] == before - 1


def test_it_archives_a_user_by_email(client):
    client.post("/users", json={"user_id": "u-6", "email": "bye@example.com"})
    assert client.delete("/users", params={"email": "bye@example.com"}).json()["user_id"] == "u-6"
    assert client.get("/users", params={"user_id": "u-6"}).status_code == 404


def test_it_restores_an_archived_user_on_upsert(client):
    user = client.post("/users", json={"user_id": "u-7"}).json()
    client.delete(f"/users/{user['id']}")
    again = client.post("/users", json={"user_id": "u-7", "name": "Back"}).json()
    assert again["id"] == user["id"]
    assert client.get(f"/users/{user['id']}").json()["name"] == "Back"


# ------------------------------------------------------------------ leads and visitors


def test_it_creates_and_updates_leads(client):
    lead = client.post("/contacts", json={"email": "lead@example.com", "name": "Léa"}).json()
    assert lead["type"] == "contact"
    assert lead["anonymous"] is True
    assert len(lead["user_id"]) == 36
    assert lead["pseudonym"]
    updated = client.put(f"/contacts/{lead['id']}", json={"phone": "+33 1 23 45 67 89"}).json()
    assert updated["phone"] == "+33 1 23 45 67 89"
    posted = client.post("/contacts", json={"user_id": lead["user_id"], "name": "Léa B."}).json()
    assert posted["id"] == lead["id"]
    assert client.get("/contacts", params={"user_id": lead["user_id"]}).json()["name"] == "Léa B."
    assert [c["id"] for c in client.get("/contacts", params={"email": "lead@example.com"}).json()["contacts"]] == [
        lead["id"]
    ]


def test_it_deletes_leads(client):
    lead = client.post("/contacts", json={"name": "Short-lived"}).json()
    assert client.delete("/contacts", params={"user_id": lead["user_id"]}).json()["id"] == lead["id"]
    assert client.get(f"/contacts/{lead['id']}").status_code == 404
    other = client.post("/contacts", json={}).json()
    assert client.delete(f"/contacts/{other['id']}").status_code == 200
    assert client.delete(f"/contacts/{other['id']}").status_code == 404


def test_it_merges_a_lead_into_an_existing_user(client, app):
    user = client.post("/users", json={"user_id": "u-8", "email": "merge@example.com"}).json()
    lead = client.post(
        "/contacts", json={"email": "visitor@example.com", "custom_attributes": {"lead_score": 7}}
    ).json()
    client.post("/tags", json={"name": "from-lead", "users": [{"id": lead["id"]}]})
    message = client.post(
        "/messages", json={"from": {"type": "contact", "id": lead["id"]}, "body": "Hi from a lead"}
    ).json()
    merged = client.post(
        "/contacts/convert", json={"contact": {"user_id": lead["user_id"]}, "user": {"user_id": "u-8"}}
    ).json()
    assert merged["id"] == user["id"]
    assert merged["email"] == "merge@example.com"
    assert merged["custom_attributes"]["lead_score"] == 7
    assert "from-lead" in [t["name"] for t in merged["tags"]["tags"]]
    assert client.get(f"/contacts/{lead['id']}").status_code == 404
    convs = client.get("/conversations", params={"type": "user", "intercom_user_id": user["id"]}).json()
    conv = next(c for c in convs["conversations"] if c["conversation_message"]["id"] == message["id"])
    assert conv["user"] == {"type": "user", "id": user["id"]}


def test_it_turns_a_lead_into_a_new_user(client):
    lead = client.post("/contacts", json={"email": "keep@example.com", "name": "Convertible"}).json()
    user = client.post("/contacts/convert", json={"contact": {"id": lead["id"]}, "user": {"user_id": "u-9"}}).json()
    assert user["type"] == "user"
    assert user["id"] == lead["id"]
    assert user["user_id"] == "u-9"
    assert user["email"] == "keep@example.com"
    assert user["anonymous"] is False
    assert user["pseudonym"] == lead["pseudonym"]
    assert client.get(f"/users/{lead['id']}").json()["user_id"] == "u-9"
    assert client.get(f"/contacts/{lead['id']}").status_code == 404


def test_it_updates_converts_and_deletes_visitors(client, app):
    visitor = next(iter(app.workspace.visitors.values()))
    for method, path in (("PUT", "/visitors"), ("POST", "/visitors"), ("PUT", f"/visitors/{visitor.id}")):
        body = client.request(method, path, json={"id": visitor.id, "name": f"via {method} {path}"}).json()
        assert body["name"] == f"via {method} {path}"
    lead = client.post("/visitors/convert", json={"visitor": {"user_id": visitor.user_id}, "type": "lead"}).json()
    assert lead["type"] == "contact"
    assert client.get(f"/visitors/{visitor.id}").status_code == 404
    other = list(app.workspace.visitors.values())[-1]
    assert client.delete(f"/visitors/{other.id}").json()["type"] == "visitor"
    assert client.get(f"/visitors/{other.id}").status_code == 404


# ------------------------------------------------------------------ companies


def test_it_upserts_companies_by_company_id(client, clock):
    created = client.post("/companies", json={"company_id": "acme-9", "name": "Acme", "plan": "Paid"}).json()
    assert created["plan"]["name"] == "Paid"
    clock.advance(5)
    updated = client.post("/companies", json={"company_id": "acme-9", "monthly_spend": 49}).json()
    assert updated["id"] == created["id"]
    assert updated["monthly_spend"] == 49
    assert updated["updated_at"] == created["updated_at"] + 5
    assert client.get("/companies", params={"company_id": "acme-9"}).json()["name"] == "Acme"


def test_it_deletes_companies_and_detaches_them(client):
    user = client.post("/users", json={"user_id": "u-10", "companies": [{"company_id": "doomed"}]}).json()
    company_id = user["companies"]["companies"][0]["id"]
    assert client.delete(f"/companies/{company_id}").json()["company_id"] == "doomed"
    assert client.get(f"/companies/{company_id}").status_code == 404
    assert client.get(f"/users/{user['id']}").json()["companies"]["companies"] == []
    client.post("/companies", json={"company_id": "doomed-2"})
    assert client.delete("/companies", params={"company_id": "doomed-2"}).status_code == 200


# ------------------------------------------------------------------ tags


def test_it_creates_tags_case_insensitively(client):
    first = client.post("/tags", json={"name": "MyTag"}).json()
    again = client.post("/tags", json={"name": "mytag"}).json()
    assert again == first
    assert [t["name"] for t in client.get("/tags").json()["tags"]].count("MyTag") == 1


def test_it_tags_and_untags_users_and_leads(client, app):
    user = client.post("/users", json={"user_id": "u-11", "email": "tagme@example.com"}).json()
    lead = client.post("/contacts", json={"name": "Tag lead"}).json()
    tag = client.post(
        "/tags", json={"name": "Beta", "users": [{"email": "tagme@example.com"}, {"id": lead["id"]}]}
    ).json()
    assert tag["name"] == "Beta"
    assert "Beta" in [t["name"] for t in client.get(f"/users/{user['id']}").json()["tags"]["tags"]]
    assert "Beta" in [t["name"] for t in client.get(f"/contacts/{lead['id']}").json()["tags"]["tags"]]
    listed = client.get("/users", params={"tag_id": tag["id"]}).json()
    assert user["id"] in [u["id"] for u in listed["users"]]
    client.post("/tags", json={"name": "Beta", "users": [{"user_id": "u-11", "untag": True}]})
    assert client.get(f"/users/{user['id']}").json()["tags"]["tags"] == []


def test_it_tags_companies_but_not_with_users(client):
    client.post("/companies", json={"company_id": "tagged-co"})
    tag = client.post("/tags", json={"name": "Key account", "companies": [{"company_id": "tagged-co"}]}).json()
    assert tag["id"] in client.get("/companies", params={"company_id": "tagged-co"}).json()["tags"]["tags"][0]["id"]
    both = client.post("/tags", json={"name": "x", "users": [], "companies": []})
    assert both.status_code == 400


def test_it_renames_and_deletes_tags_everywhere(client, app):
    user = client.post("/users", json={"user_id": "u-12"}).json()
    tag = client.post("/tags", json={"name": "old name", "users": [{"id": user["id"]}]}).json()
    renamed = client.post("/tags", json={"id": tag["id"], "name": "New name"}).json()
    assert renamed == {"type": "tag", "id": tag["id"], "name": "New name"}
    assert client.get(f"/users/{user['id']}").json()["tags"]["tags"][0]["name"] == "New name"
    deleted = client.delete(f"/tags/{tag['id']}")
    assert deleted.status_code == 200
    assert deleted.content == b""
    assert client.get(f"/users/{user['id']}").json()["tags"]["tags"] == []
    assert tag["id"] not in [t["id"] for t in client.get("/tags").json()["tags"]]
    assert all(tag["id"] not in [t[0] for t in c.tags] for c in app.workspace.conversations.values())


# ------------------------------------------------------------------ notes, events, admins, counts


def test_it_creates_and_lists_notes(client, app):
    user = client.post("/users", json={"user_id": "u-13"}).json()
    admin_id = next(iter(app.workspace.admins))
    note = client.post("/notes", json={"admin_id": admin_id, "body": "Called them", "user": {"user_id": "u-13"}}).json()
    assert note["body"] == "<p>Called them</p>"
    assert note["author"]["id"] == admin_id
    assert note["user"] == {"type": "user", "id": user["id"]}
    assert client.get(f"/notes/{note['id']}").json() == note
    listed = client.get("/notes", params={"user_id": "u-13"}).json()
    assert listed["type"] == "note.list"
    assert [n["id"] for n in listed["notes"]] == [note["id"]]


def test_it_accepts_events_with_202_and_lists_them(client, clock):
    client.post("/users", json={"user_id": "u-14", "email": "events@example.com"})
    for i in range(3):
        response = client.post(
            "/events", json={"event_name": "invited-friend", "created_at": int(clock.t) - i, "user_id": "u-14"}
        )
        assert response.status_code == 202
        assert response.content == b""
    page = client.get("/events", params={"type": "user", "user_id": "u-14", "per_page": 2}).json()
    assert page["type"] == "event.list"
    assert len(page["events"]) == 2
    rest = client.get(page["pages"]["next"]).json()
    assert len(rest["events"]) == 1
    assert rest["pages"]["next"] is None
    summary = client.get("/events", params={"type": "user", "email": "events@example.com", "summary": "true"}).json()
    assert summary["events"][0]["count"] == 3


def test_it_refuses_events_for_unknown_users(client, clock):
    response = client.post("/events", json={"event_name": "x", "created_at": int(clock.t), "user_id": "ghost"})
    assert response.status_code == 404


def test_it_sets_admins_away(client, app):
    admin_id = next(iter(app.workspace.admins))
    away = client.put(f"/admins/{admin_id}/away", json={"away_mode_enabled": True, "away_mode_reassign": True}).json()
    assert away["away_mode_enabled"] is True
    assert client.get(f"/admins/{admin_id}").json()["away_mode_reassign"] is True
    listed = client.get("/admins").json()["admins"]
    assert {a["type"] for a in listed} == {"admin", "team"}


def test_it_computes_counts_from_state(client):
    before = client.get("/counts").json()
    client.post("/users", json={"user_id": "u-15"})
    client.post("/tags", json={"name": "counted"})
    after = client.get("/counts").json()
    assert after["user"]["count"] == before["user"]["count"] + 1
    assert after["tag"]["count"] == before["tag"]["count"] + 1
    tags = client.get("/counts", params={"type": "user", "count": "tag"}).json()["user"]["tag"]
    assert {"counted": 0} in tags


def test_it_serves_segments_with_counts(client, app):
    segments = client.get("/segments", params={"include_count": "true"}).json()["segments"]
    assert segments and all("count" in s for s in segments)
    company_segments = client.get("/segments", params={"type": "company"}).json()["segments"]
    assert {s["person_type"] for s in company_segments} <= {"company"}
    one = client.get(f"/segments/{segments[0]['id']}").json()
    assert one["name"] == segments[0]["name"]


def test_it_leaves_no_trace_of_a_refused_write(client, app):
    ws = app.workspace
    before = (len(ws.users), len(ws.companies), len(ws.tags), len(ws.leads))
    bad_custom = {"custom_attributes": {"nested": {"no": 1}}}
    assert client.post("/users", json={"user_id": "refused", **bad_custom}).status_code == 400
    assert (
        client.post(
            "/users", json={"user_id": "refused", "companies": [{"company_id": "c", "monthly_spend": "lots"}]}
        ).status_code
        == 400
    )
    assert client.post("/contacts", json={"email": " padded@example.com "}).status_code == 400
    assert client.post("/companies", json={"company_id": "refused-co", "size": "big"}).status_code == 400
    assert client.post("/tags", json={"name": "refused-tag", "users": "everyone"}).status_code == 400
    assert (len(ws.users), len(ws.companies), len(ws.tags), len(ws.leads)) == before
    assert client.get("/users", params={"user_id": "refused"}).status_code == 404


def test_it_converts_a_visitor_into_an_existing_user(client, app):
    visitor = next(iter(app.workspace.visitors.values()))
    user = client.post("/users", json={"user_id": "u-16", "email": "known@example.com"}).json()
    merged = client.post(
        "/visitors/convert",
        json={"visitor": {"id": visitor.id}, "user": {"email": "known@example.com"}, "type": "user"},
    )
    assert merged.json()["id"] == user["id"]
    assert client.get(f"/visitors/{visitor.id}").status_code == 404
    assert client.get("/visitors", params={"user_id": visitor.user_id}).status_code == 404


def test_it_deletes_users_for_good_on_request(client):
    user = client.post("/users", json={"user_id": "u-17"}).json()
    response = client.post("/user_delete_requests", json={"intercom_user_id": user["id"]})
    assert isinstance(response.json()["id"], int)
    assert client.get(f"/users/{user['id']}").status_code == 404
    assert client.post("/user_delete_requests", json={"intercom_user_id": user["id"]}).status_code == 404


def test_it_sorts_leads_like_users(client):
    body = client.get("/contacts", params={"sort": "updated_at", "order": "asc", "per_page": 60}).json()
    keys = [(c["updated_at"], c["id"]) for c in body["contacts"]]
    assert keys == sorted(keys)
    assert client.get("/contacts", params={"sort": "nonsense"}).status_code == 400
