"""The sandbox generator: deterministic, realistic, consistent data."""

from __future__ import annotations

import json

from intercom_mirror.sandbox import generate_workspace

NOW = 1_569_510_000


def dump(ws):
    """Return the whole workspace as JSON, the way the API would render it."""
    return json.dumps(
        {
            "users": [ws.render_contact(c) for c in ws.users.values()],
            "leads": [ws.render_contact(c) for c in ws.leads.values()],
            "visitors": [ws.render_contact(c) for c in ws.visitors.values()],
            "companies": [ws.render_company(c) for c in ws.companies.values()],
            "conversations": [ws.render_conversation(c) for c in ws.conversations.values()],
            "admins": [ws.render_admin(a) for a in ws.admins.values()],
            "tags": [ws.render_tag(t) for t in ws.tags.values()],
            "notes": [ws.render_note(n) for n in ws.notes.values()],
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def test_it_is_deterministic_for_a_seed():
    assert dump(generate_workspace(seed=5, users=80, leads=20, now=NOW)) == dump(
        generate_workspace(seed=5, users=80, leads=20, now=NOW)
    )


def test_it_differs_between_seeds():
    assert dump(generate_workspace(seed=5, users=80, now=NOW)) != dump(generate_workspace(seed=6, users=80, now=NOW))


def test_it_builds_the_requested_sizes():
    ws = generate_workspace(
        seed=2, users=120, leads=30, companies=9, conversations=40, admins=4, teams=2, tags=5, segments=4, now=NOW
    )
    assert (len(ws.users), len(ws.leads), len(ws.companies), len(ws.conversations)) == (120, 30, 9, 40)
    assert (len(ws.admins), len(ws.teams), len(ws.tags), len(ws.segments)) == (4, 2, 5, 4)


def test_it_uses_the_documented_id_shapes():
    ws = generate_workspace(seed=2, users=30, now=NOW)
    hex_ids = [*ws.users, *ws.leads, *ws.companies, *ws.segments]
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in hex_ids)
    assert len(set(hex_ids)) == len(hex_ids)
    numeric = [*ws.admins, *ws.teams, *ws.tags, *ws.conversations, *ws.notes]
    assert all(i.isdigit() for i in numeric)


def test_it_attaches_companies_tags_and_segments():
    ws = generate_workspace(seed=2, users=300, now=NOW)
    users = list(ws.users.values())
    assert any(len(u.company_ids) > 1 for u in users)
    assert any(u.tag_ids for u in users) and any(u.segment_ids for u in users)
    assert any(u.custom for u in users)
    assert all(ws.render_contact(u)["location_data"]["city_name"] for u in users[:20])


def test_it_mixes_conversation_states_and_assignees():
    ws = generate_workspace(seed=2, users=200, conversations=200, now=NOW)
    convs = list(ws.conversations.values())
    assert {c.state for c in convs} == {"open", "closed", "snoozed"}
    assert {c.assignee[0] for c in convs} == {"admin", "team", "nobody_admin"}
    assert {ws.contact_any(c.customers[0]).type for c in convs} == {"user", "contact"}
    part_types = {p.part_type for c in convs for p in c.parts}
    assert {"comment", "note", "assignment", "close", "snoozed"} <= part_types


def test_it_keeps_times_consistent_with_parts():
    ws = generate_workspace(seed=3, conversations=150, now=NOW)
    for c in ws.conversations.values():
        assert NOW - 91 * 86400 <= c.created_at <= c.updated_at <= NOW
        times = [p.created_at for p in c.parts]
        assert times == sorted(times)
        assert c.updated_at == (times[-1] if times else c.created_at)
        if c.state == "snoozed":
            assert c.snoozed_until > NOW
        talk = [p for p in c.parts if p.part_type in ("comment", "close")]
        if talk and talk[-1].part_type == "comment" and talk[-1].author[0] in ("user", "lead"):
            assert c.waiting_since is not None  # the customer spoke last and nobody closed it since
        comments = [p for p in talk if p.part_type == "comment"]
        if comments and comments[-1].author[0] == "admin":
            assert c.waiting_since is None


def test_it_makes_a_few_conversations_huge():
    ws = generate_workspace(seed=4, users=50, conversations=100, now=NOW)
    assert sum(1 for c in ws.conversations.values() if len(c.parts) > 500) == 2
    ws = generate_workspace(seed=4, users=50, conversations=600, now=NOW)
    assert sum(1 for c in ws.conversations.values() if len(c.parts) > 500) == 3


def test_it_writes_unicode_html_and_hostile_bodies():
    ws = generate_workspace(seed=1, conversations=100, now=NOW)
    bodies = [p.body or "" for c in ws.conversations.values() for p in [c.message, *c.parts]]
    joined = "\n".join(bodies)
    assert "<script>" in joined and "onerror=" in joined
    assert "<a href=" in joined and "<ol>" in joined and "<b>" in joined
    assert any(ord(ch) > 0x3000 for ch in joined)  # CJK
    assert any(ord(ch) > 0x1F000 for ch in joined)  # emoji
