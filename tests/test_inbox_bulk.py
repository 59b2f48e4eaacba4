"""Bulk actions from the inbox, sent through the action functions to the sandbox by a django-q2 task."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone

from dashboard.inbox import bulk
from intercom_mirror import sync
from intercom_mirror.actions import core
from intercom_mirror.models import Admin, Conversation, StaffAction, StaffProfile, Team
from tests.sandbox_fixtures import make_sandbox


@pytest.fixture
def sb(monkeypatch):
    """A mirrored sandbox; the actions' clients talk to it in-process."""
    cache.clear()
    sandbox = make_sandbox(users=20, leads=5, conversations=12)
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    monkeypatch.setattr(core, "web_client", lambda: sandbox.new_client(max_retries=1))
    monkeypatch.setattr(core, "worker_client", lambda: sandbox.new_client(max_retries=1))
    yield sandbox
    cache.clear()


@pytest.fixture
def sam(django_user_model, sb):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    StaffProfile.objects.create(user=user, admin=Admin.objects.live().order_by("id").first())
    return user


@pytest.fixture
def sam_client(client, sam):
    client.force_login(sam)
    return client


def open_ids(n: int) -> list[str]:
    return list(
        Conversation.objects.live().filter(state="open").order_by("id").values_list("intercom_id", flat=True)[:n]
    )


def post_bulk(client, capture, data: dict, **headers):
    body = {"folder": "all", "state": "open", "sort": "latest", "q": "", **data}
    with capture(execute=True):  # the task is queued on commit; Q_CLUSTER sync runs it inline
        return client.post("/inbox/bulk/", body, **headers)


@pytest.mark.django_db
def test_bulk_close_closes_them_in_the_sandbox_and_summarises(sam_client, sb, django_capture_on_commit_callbacks):
    chosen = open_ids(3)
    response = post_bulk(sam_client, django_capture_on_commit_callbacks, {"verb": "close", "ids": chosen})
    assert response.status_code == 302
    progress_url = response["Location"]
    assert re.match(r"^/inbox/bulk/[0-9a-f]{32}/\?verb=close&total=3&back=", progress_url)
    for cid in chosen:
        assert sb.app.workspace.conversations[cid].state == "closed"  # the sandbox's own state
    assert set(Conversation.objects.filter(intercom_id__in=chosen).values_list("state", flat=True)) == {"closed"}
    html = sam_client.get(progress_url).content.decode()
    assert "3 closed" in html and "hx-trigger" not in html.split('class="bulk-progress')[1].split(">")[0]
    actions = StaffAction.objects.filter(verb="close")
    assert actions.count() == 3 and all(a.idempotency_key.startswith("bulk-") for a in actions)


@pytest.mark.django_db
def test_a_bulk_form_sent_twice_starts_one_run(sam_client, sb, django_capture_on_commit_callbacks):
    """A double click, or the browser resending the form: the second request joins the first run."""
    data = {"verb": "close", "ids": open_ids(2)}
    first = post_bulk(sam_client, django_capture_on_commit_callbacks, data)
    again = post_bulk(sam_client, django_capture_on_commit_callbacks, data)
    assert again["Location"] == first["Location"]
    assert StaffAction.objects.filter(verb="close").count() == 2  # one run: one action per conversation


@pytest.mark.django_db
def test_bulk_assign_assigns_every_match_across_pages(sam_client, sb, django_capture_on_commit_callbacks):
    team = Team.objects.live().order_by("id").first()
    matching = Conversation.objects.live().filter(state="open")
    total = matching.count()
    response = post_bulk(
        sam_client, django_capture_on_commit_callbacks, {"verb": "assign", "all": "1", "assignee": team.intercom_id}
    )
    assert f"total={total}&" in response["Location"]
    for cid in matching.values_list("intercom_id", flat=True):
        assignee = sb.app.workspace.conversations[cid].assignee
        assert assignee == ("team", team.intercom_id), cid
    assert f"{total} assigned" in sam_client.get(response["Location"]).content.decode()


def summary_of(html: str) -> str:
    return re.search(r'<p class="summary"><strong>([^<]+)</strong>', html).group(1).replace("&#x27;", "'")


@pytest.mark.django_db
def test_bulk_with_failures_says_what_failed_and_why(sam_client, sb, django_capture_on_commit_callbacks):
    ok, gone = open_ids(2)
    del sb.app.workspace.conversations[gone]  # Intercom answers 404 for it
    response = post_bulk(sam_client, django_capture_on_commit_callbacks, {"verb": "close", "ids": [ok, gone]})
    html = sam_client.get(response["Location"]).content.decode()
    failed = StaffAction.objects.get(target_intercom_id=gone)
    assert failed.state == "failed" and failed.http_status == 404
    assert summary_of(html) == f"1 closed, 1 failed: {failed.error_message}"
    assert f"Conversation {gone}</a>: failed" in html


@pytest.mark.django_db
def test_bulk_refusals_are_summarised_with_their_reason(sam_client, sb, django_capture_on_commit_callbacks):
    ok, no_customer = open_ids(2)
    Conversation.objects.filter(intercom_id=no_customer).update(customer_id=None)  # refused before sending
    data = {"verb": "tag", "tag": "churn-risk", "ids": [ok, no_customer]}
    response = post_bulk(sam_client, django_capture_on_commit_callbacks, data)
    html = sam_client.get(response["Location"]).content.decode()
    assert summary_of(html) == "1 tagged, 1 refused: This conversation has no customer in the mirror to tag."


@pytest.mark.django_db
def test_bulk_queued_when_intercom_is_down_and_stops_after_a_few(
    sam_client, sb, monkeypatch, django_capture_on_commit_callbacks
):
    import httpx

    from intercom_mirror.api import IntercomClient

    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setattr(core, "web_client", lambda: IntercomClient("tok", "http://down", transport=httpx.MockTransport(refuse), max_retries=0, sleep=lambda s: None))  # fmt: skip
    chosen = open_ids(8)
    response = post_bulk(sam_client, django_capture_on_commit_callbacks, {"verb": "close", "ids": chosen})
    html = sam_client.get(response["Location"]).content.decode()
    assert "0 closed, 5 queued, 3 not sent" in html
    assert StaffAction.objects.filter(state="queued").count() == bulk.UNREACHABLE_STOP


@pytest.mark.django_db
def test_bulk_snooze_with_htmx_answers_the_progress_fragment(sam_client, sb, django_capture_on_commit_callbacks):
    chosen = open_ids(2)
    response = post_bulk(
        sam_client, django_capture_on_commit_callbacks, {"verb": "snooze", "until": "tomorrow", "ids": chosen},
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="bulk-status",
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'hx-trigger="every 1s"' in html
    poll = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    response = sam_client.get(poll, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="bulk-status")  # the task ran meanwhile
    html = response.content.decode()
    assert "2 snoozed" in html and "hx-trigger" not in html and "Back to the list" not in html
    assert "inbox-changed" in response["HX-Trigger"]  # the list refreshes
    tomorrow = (timezone.localtime() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    for cid in chosen:
        assert sb.app.workspace.conversations[cid].state == "snoozed"
        assert sb.app.workspace.conversations[cid].snoozed_until == int(tomorrow.timestamp())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, message",
    [
        ({"verb": "close"}, "Select some conversations first"),
        ({"verb": "assign", "ids": ["x"]}, "Choose an admin, a team, or Unassigned."),
        ({"verb": "tag", "ids": ["x"], "tag": ""}, "Give the tag a name."),
        ({"verb": "snooze", "ids": ["x"], "until": "custom"}, "Choose a time in the future."),
        ({"verb": "close", "ids": ["nope"]}, "None of the selected conversations is in the mirror"),
        ({"verb": "explode", "ids": ["x"]}, "Select a valid choice"),
    ],
)
def test_bulk_refuses_junk_and_says_why(sam_client, sb, django_capture_on_commit_callbacks, data, message):
    data = {**data, "ids": [open_ids(1)[0] if i == "x" else i for i in data.get("ids", [])]}
    response = post_bulk(sam_client, django_capture_on_commit_callbacks, data)
    assert response.status_code == 302 and response["Location"] == "/inbox/all/"
    html = sam_client.get("/inbox/all/").content.decode()
    assert message in html.replace("&#x27;", "'").replace("&quot;", '"')
    assert not StaffAction.objects.exists()


@pytest.mark.django_db
def test_bulk_is_refused_without_a_linked_admin(client, staff_user, sb, django_capture_on_commit_callbacks):
    client.force_login(staff_user)
    html = client.get("/inbox/all/").content.decode()
    assert "bulk actions are off" in html and "<fieldset disabled>" in html
    response = post_bulk(client, django_capture_on_commit_callbacks, {"verb": "close", "ids": open_ids(1)})
    assert response.status_code == 302 and not StaffAction.objects.exists()


@pytest.mark.django_db
def test_a_rate_limited_action_pauses_the_run_until_the_next_window(monkeypatch, sam):
    answers = iter(["done", "rate", "done", "done"])
    paused: list[float] = []

    def send_one(verb, conversation_id, options, user, key):
        state = next(answers)
        return SimpleNamespace(
            state="queued" if state == "rate" else "done", error_code="rate_limit_budget" if state == "rate" else ""
        )

    monkeypatch.setattr(bulk, "send_one", send_one)
    monkeypatch.setattr(bulk, "pause", paused.append)
    result = bulk.run_bulk("0" * 32, sam.pk, "close", ["1", "2", "3", "4"], {})
    assert paused == [bulk.PAUSE_SECONDS] and result == {"total": 4, "refused": {}, "not_sent": 0}


@pytest.mark.django_db
def test_running_a_bulk_task_twice_sends_nothing_twice(sam, sb):
    chosen = open_ids(2)
    bulk.run_bulk("a" * 32, sam.pk, "close", chosen, {})
    bulk.run_bulk("a" * 32, sam.pk, "close", chosen, {})  # a redelivered task: same one-time keys
    assert StaffAction.objects.count() == 2


@pytest.mark.django_db
def test_progress_before_the_worker_ran(sam_client, sb):
    html = sam_client.get(f"/inbox/bulk/{'b' * 32}/?verb=close&total=4&back=https://evil.test/").content.decode()
    assert "0 of 4 done" in html and "Waiting for the background worker" in html
    assert 'hx-trigger="every 1s"' in html and '<a href="/inbox/">Back to the list</a>' in html
    assert '<meta http-equiv="refresh" content="3">' in html  # inside <noscript>
