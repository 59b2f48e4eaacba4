"""The team page: admins (away, open assigned, oldest waiting customer), teams (members, open), query count;
setting one's own away mode against the sandbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intercom_mirror import sync
from intercom_mirror.actions import core
from intercom_mirror.models import Admin, Contact, Conversation, StaffAction, StaffProfile, Team
from tests.sandbox_fixtures import make_sandbox

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workspace(db):
    ann = Admin.objects.create(intercom_id="a1", name="Ann Admin", email="ann@corp.test")
    bob = Admin.objects.create(intercom_id="a2", name="Bob Admin", email="bob@corp.test", away_mode_enabled=True)
    Admin.objects.create(intercom_id="a3", name="Gone Admin", deleted_at=T0)
    billing = Team.objects.create(intercom_id="t1", name="Billing")
    billing.admins.add(ann, bob)
    Team.objects.create(intercom_id="t2", name="Tech").admins.add(bob)
    Contact.objects.create(intercom_id="u1", role="user", name="Zoe Customer")
    Contact.objects.create(intercom_id="u2", role="user", name="<b>Yann</b>")
    return ann


@pytest.fixture
def sam(django_user_model, workspace):
    """A staff user, not a superuser, in "Support staff", acting as Ann."""
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    StaffProfile.objects.create(user=user, admin=workspace)
    return user


@pytest.fixture
def sam_client(client, sam):
    client.force_login(sam)
    return client


def conv(n: int, **fields) -> Conversation:
    fields = {"intercom_id": f"c{n}", "state": "open", "customer_id": "u1", "updated_at": T0, **fields}
    return Conversation.objects.create(**fields)


def row_of(html: str, name: str) -> str:
    return next(r for r in re.findall(r"<tr>.*?</tr>", html, re.S) if f'<td class="name">{name}' in r)


# --- access ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_is_for_staff_only(client, django_user_model, workspace):
    for method, url in (("get", "/team/"), ("post", "/team/away/")):
        response = getattr(client, method)(url, {"away": "on"} if method == "post" else None)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    client.force_login(django_user_model.objects.create_user("visitor", "v@example.com", "pw"))
    response = client.get("/team/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post("/team/away/", {"away": "on"}).status_code == 302
    assert not StaffAction.objects.exists()


@pytest.mark.django_db
def test_it_lets_support_staff_in(sam_client, sam):
    assert not sam.is_superuser
    assert sam_client.get("/team/").status_code == 200


# --- the board -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_admin_shows_away_open_count_and_oldest_waiting_customer(sam_client, workspace):
    conv(1, assignee_admin_id="a1", waiting_since=T0 - timedelta(hours=2))
    conv(2, assignee_admin_id="a1", waiting_since=T0 - timedelta(days=3), customer_id="u2")  # the oldest
    conv(3, assignee_admin_id="a1")  # not waiting
    conv(4, assignee_admin_id="a1", state="snoozed", waiting_since=T0 - timedelta(days=9))  # not open
    conv(5, assignee_admin_id="a1", state="closed", waiting_since=T0 - timedelta(days=9))
    conv(6, assignee_admin_id="a1", deleted_at=T0, waiting_since=T0 - timedelta(days=9))  # gone from Intercom
    conv(7, assignee_admin_id="a2")
    html = sam_client.get("/team/").content.decode()
    ann = row_of(html, "Ann Admin")
    assert '<span class="badge">you</span>' in ann and "Available" in ann
    assert '<td class="num">3</td>' in ann
    assert (
        '<a href="/conversations/c2/">&lt;b&gt;Yann&lt;/b&gt;</a>' in ann and "Waiting since 28 Apr 2024, 12:00" in ann
    )
    bob = row_of(html, "Bob Admin")
    assert "badge-away" in bob and '<td class="num">1</td>' in bob and "nobody waiting" in bob
    assert "Billing, Tech" in bob
    assert "Gone Admin" not in html


@pytest.mark.django_db
def test_each_team_shows_its_members_and_open_conversations(sam_client, workspace):
    conv(1, assignee_team_id="t1")
    conv(2, assignee_team_id="t1")
    conv(3, assignee_team_id="t1", state="closed")
    conv(4, assignee_admin_id="a1")  # assigned to a member, not to the team
    conv(5)  # unassigned
    html = sam_client.get("/team/").content.decode()
    billing = row_of(html, "Billing")
    assert "Ann Admin" in billing and "Bob Admin (away)" in billing
    assert '<a href="/inbox/team-t1/">2</a>' in billing
    assert '<a href="/inbox/team-t2/">0</a>' in row_of(html, "Tech")
    assert "4 open conversations, 1" in html and '<a href="/inbox/unassigned/">unassigned</a>' in html


@pytest.mark.django_db
def test_htmx_polls_get_the_board_only(sam_client, workspace):
    html = sam_client.get("/team/", HTTP_HX_TARGET="team-board", **HTMX).content.decode()
    assert "<html" not in html and "away-mode" not in html and "Ann Admin" in html


def fill(admins: int, conversations: int) -> None:
    team = Team.objects.create(intercom_id="tx", name="Crowd")
    for i in range(admins):
        admin = Admin.objects.create(intercom_id=f"ax{i}", name=f"Admin {i:02d}")
        team.admins.add(admin)
        Team.objects.create(intercom_id=f"tx{i}", name=f"Team {i:02d}").admins.add(admin)
    for n in range(conversations):
        conv(
            1000 + n,
            assignee_admin_id=f"ax{n % admins}" if n % 3 else None,
            assignee_team_id=None if n % 3 else f"tx{n % admins}",
            waiting_since=T0 - timedelta(minutes=n),
        )


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_admins_teams_or_conversations(sam_client, django_assert_max_num_queries):
    fill(2, 4)
    with CaptureQueriesContext(connection) as small:
        sam_client.get("/team/")
    Conversation.objects.all().delete()
    Team.objects.all().delete()
    Admin.objects.exclude(intercom_id="a1").delete()
    fill(40, 400)
    with django_assert_max_num_queries(len(small)):
        html = sam_client.get("/team/").content.decode()
    assert html.count('<a href="/conversations/c') >= 40
    assert len(small) <= 12


# --- away mode, against the sandbox -------------------------------------------------------------------


@pytest.fixture
def sb(monkeypatch, db):
    sandbox = make_sandbox(users=40, leads=5, conversations=30)
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    monkeypatch.setattr(core, "web_client", lambda: sandbox.new_client(max_retries=1))
    return sandbox


@pytest.fixture
def linked(django_user_model, sb):
    user = django_user_model.objects.create_user("lin", "lin@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    StaffProfile.objects.create(user=user, admin=Admin.objects.live().order_by("id").first())
    return user


def in_sandbox(sb, user):
    admin = sb.app.workspace.admins[user.staff_profile.admin_id]
    return admin.away_mode_enabled, admin.away_mode_reassign


@pytest.mark.django_db
def test_a_staff_user_sets_their_own_away_mode_against_the_sandbox(client, sb, linked):
    client.force_login(linked)
    response = client.post("/team/away/", {"away": "on", "reassign": "on"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="away-mode"')
    assert "You are away; new replies are reassigned." in html and "team-changed" in response["HX-Trigger"]
    assert in_sandbox(sb, linked) == (True, True)
    admin = Admin.objects.get(intercom_id=linked.staff_profile.admin_id)
    assert (admin.away_mode_enabled, admin.away_mode_reassign) == (True, True)
    assert 'name="reassign" value="on" checked' in html and 'value="off">Back</button>' in html
    board = client.get("/team/", HTTP_HX_TARGET="team-board", **HTMX).content.decode()
    assert "badge-away" in row_of(board, admin.name) and "reassigning replies" in row_of(board, admin.name)

    html = client.post("/team/away/", {"away": "off"}, **HTMX).content.decode()
    assert "You are back." in html and "Back</button>" not in html
    assert in_sandbox(sb, linked) == (False, False)
    assert [a.verb for a in StaffAction.objects.all()] == ["set_away", "set_away"]


@pytest.mark.django_db
def test_away_mode_works_without_javascript(client, sb, linked):
    client.force_login(linked)
    response = client.post("/team/away/", {"away": "on"})
    assert response.status_code == 302 and response["Location"] == "/team/"
    page = client.get("/team/").content.decode()
    assert "You are away." in page and in_sandbox(sb, linked) == (True, False)


@pytest.mark.django_db
def test_away_mode_while_intercom_is_down_is_queued(client, sb, linked):
    client.force_login(linked)
    sb.app.faults.fail_next(10, 503)
    html = client.post("/team/away/", {"away": "on"}, **HTMX).content.decode()
    assert "your away mode will be set when it does (queued, not lost)" in html
    assert StaffAction.objects.get().state == StaffAction.QUEUED
    assert in_sandbox(sb, linked) == (False, False)


@pytest.mark.django_db
def test_away_mode_is_off_with_a_reason_for_an_unlinked_user(client, sb, django_user_model):
    loner = django_user_model.objects.create_user("loner", "loner@example.com", "pw", is_staff=True)
    client.force_login(loner)
    page = client.get("/team/").content.decode()
    assert '<fieldset disabled aria-describedby="away-why">' in page
    assert "not linked to an Intercom admin, so there is no away mode to set" in page
    html = client.post("/team/away/", {"away": "on"}, **HTMX).content.decode()
    assert "not linked to an Intercom admin" in html and "notice-error" in html
    html = client.post("/team/away/", {"away": "sideways"}, **HTMX).content.decode()
    assert "notice-error" in html
    assert not StaffAction.objects.exists()
