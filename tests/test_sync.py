from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from intercom_mirror import sync
from intercom_mirror.models import Contact, Conversation, SyncRun, SyncState
from intercom_mirror.sync import engine
from tests.mirror_compare import assert_mirror_matches
from tests.sandbox_fixtures import make_sandbox


def full(sb, **kwargs) -> list[SyncRun]:
    return sync.sync_all(full=True, client=sb.client, sleep=sb.clock.sleep, **kwargs)


def incremental(sb, **kwargs) -> list[SyncRun]:
    return sync.sync_all(full=False, client=sb.client, sleep=sb.clock.sleep, **kwargs)


def by_resource(runs: list[SyncRun]) -> dict[str, SyncRun]:
    return {r.resource: r for r in runs}


@pytest.mark.django_db
def test_it_mirrors_the_workspace_with_a_full_then_an_incremental_sync(sandbox):
    runs = by_resource(full(sandbox))
    assert {r.status for r in runs.values()} == {"ok"}, [r.errors for r in runs.values()]
    assert runs["users"].created == 120 and runs["leads"].created == 30
    assert runs["users"].api_requests >= 2  # 100 per scroll page, plus the empty last page
    assert_mirror_matches(sandbox.client)

    sandbox.clock.advance(60)
    runs = by_resource(incremental(sandbox))
    assert {r.kind for r in runs.values() if r.resource in ("users", "leads", "conversations")} == {"incremental"}
    assert sum(r.created + r.updated for r in runs.values()) == 0
    assert_mirror_matches(sandbox.client)


@pytest.mark.django_db
def test_it_changes_nothing_when_run_twice(sandbox):
    full(sandbox)
    before = {c.intercom_id: (c.raw, c.updated_at) for c in Contact.objects.all()}
    runs = full(sandbox)
    assert sum(r.created + r.updated + r.deleted for r in runs) == 0
    assert {c.intercom_id: (c.raw, c.updated_at) for c in Contact.objects.all()} == before


@pytest.mark.django_db
def test_it_follows_changes_made_on_the_sandbox_side(sandbox):
    full(sandbox)
    api = sandbox.client
    sandbox.clock.advance(600)
    users = [u for page in api.iter_scroll("users") for u in page]
    leads = [u for page in api.iter_scroll("leads") for u in page]
    api.create_user({"user_id": "new-1", "email": "new@example.com", "name": "New Person"})
    api.create_user({"id": users[0]["id"], "name": "Renamed Person"})
    api.archive_user(id=users[1]["id"])
    # A lead with a conversation, merged into a user with another email: found by the
    # conversations that user now holds (a lead with neither waits for the full pass).
    with_conversation = Conversation.objects.filter(customer__role="lead").values_list("customer_id", flat=True)
    merged_lead = next(lead for lead in leads if lead["id"] in set(with_conversation))
    converted_lead = next(lead for lead in leads if lead["id"] != merged_lead["id"])
    api.convert_lead({"contact": {"user_id": converted_lead["user_id"]}, "user": {"user_id": "from-lead-1"}})
    api.convert_lead({"contact": {"user_id": merged_lead["user_id"]}, "user": {"id": users[2]["id"]}})
    api.create_tag({"name": "Escalated", "users": [{"id": users[3]["id"]}]})
    conversation = api.list_conversations(per_page=1)["conversations"][0]
    admin = next(a for a in api.list_admins()["admins"] if a["type"] == "admin")
    api.post_reply(conversation["id"], {"type": "admin", "admin_id": admin["id"], "message_type": "close"})
    sandbox.clock.advance(60)

    runs = by_resource(incremental(sandbox))
    assert {r.status for r in runs.values()} == {"ok"}, [r.errors for r in runs.values()]
    assert_mirror_matches(api)
    assert Contact.objects.get(intercom_id=users[1]["id"]).deleted_at is not None
    assert Contact.objects.get(intercom_id=users[0]["id"]).name == "Renamed Person"
    assert Contact.objects.get(intercom_id=converted_lead["id"]).role == "user"
    merged = Contact.objects.get(intercom_id=merged_lead["id"])
    assert merged.deleted_at is not None and merged.merged_into_id == users[2]["id"]
    assert Conversation.objects.live().filter(customer_id=users[2]["id"]).exists()
    # Neither conversion made the leads pass rescroll every lead.
    assert runs["leads"].kind == "incremental" and "full pass" not in runs["leads"].notes
    assert not Conversation.objects.live().filter(customer_id=merged.intercom_id).exists()
    assert Conversation.objects.get(intercom_id=str(conversation["id"])).state == "closed"


@pytest.mark.django_db
def test_it_reads_only_what_changed_in_an_incremental_pass():
    sb = make_sandbox(users=400, leads=10, conversations=10)
    full(sb)
    sb.clock.advance(600)
    users = [u for page in sb.client.iter_scroll("users") for u in page]
    for user in users[:7]:
        sb.client.create_user({"id": user["id"], "name": f"Changed {user['id']}"})
    sb.clock.advance(60)
    run = sync.sync("users", client=sb.client, sleep=sb.clock.sleep)
    assert run.kind == "incremental" and run.status == "ok"
    assert run.updated == 7
    companies = {c["id"] for user in users[:7] for c in user["companies"]["companies"]}
    # ceil(7 / 60) + 1 page to see the watermark, and one read per company the changed users name
    assert run.api_requests <= 2 + len(companies)
    assert f"companies of changed contacts re-read: {len(companies)}" in run.notes


@pytest.mark.django_db
@pytest.mark.parametrize(
    "inject",
    [
        lambda f: f.rate_limit_burst(3),
        lambda f: f.fail_next(2, status=500),
        lambda f: f.fail_next(1, status=503),
        lambda f: f.timeout_next(2),
        lambda f: f.drop_next(1),
    ],
    ids=["429-burst", "500", "503", "timeouts", "dropped-connection"],
)
def test_it_loses_and_duplicates_nothing_under_faults(sandbox, inject):
    full(sandbox, only=["admins", "teams", "tags", "segments", "companies"])
    inject(sandbox.app.faults)
    runs = full(sandbox, only=["users", "leads", "conversations", "notes"])
    assert {r.status for r in runs} == {"ok"}, [r.errors for r in runs]
    assert_mirror_matches(sandbox.client)


@pytest.mark.django_db
def test_it_restarts_a_scroll_that_breaks(sandbox):
    sandbox.app.faults.fail_scroll_after(1)
    run = sync.sync("users", full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "ok", run.errors
    assert "scroll failed" in run.notes
    assert Contact.objects.filter(role="user").count() == 120


@pytest.mark.django_db
def test_it_waits_out_an_expired_scroll_param():
    sb = make_sandbox(users=250)
    original = sb.client.iter_scroll
    calls = {"n": 0}

    def slow_scroll(resource):
        for page in original(resource):
            calls["n"] += 1
            if calls["n"] == 1:
                sb.clock.advance(120)  # the scroll_param dies while we are away
            yield page

    sb.client.iter_scroll = slow_scroll
    run = sync.sync("users", full=True, client=sb.client, sleep=sb.clock.sleep)
    assert run.status == "ok", run.errors
    assert Contact.objects.filter(role="user").count() == 250


@pytest.mark.django_db
def test_it_resumes_after_a_crash_between_pages(sandbox, monkeypatch):
    from intercom_mirror.sync import resources

    written = {"pages": 0}
    real_write = resources.write_contacts

    def crash_on_second_page(ctx, page):
        written["pages"] += 1
        if written["pages"] == 2:
            raise KeyboardInterrupt  # stands for a killed worker: nothing after this point runs
        real_write(ctx, page)

    monkeypatch.setattr(resources, "write_contacts", crash_on_second_page)
    with pytest.raises(KeyboardInterrupt):
        sync.sync("users", full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert Contact.objects.count() == 100  # the first page was committed
    assert SyncState.objects.get(resource="users").watermark is None  # and the watermark did not move

    monkeypatch.setattr(resources, "write_contacts", real_write)
    SyncState.objects.filter(resource="users").update(locked_until=timezone.now() - timedelta(seconds=1))
    sandbox.clock.advance(120)  # the dead scroll expires
    run = sync.sync("users", full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "ok", run.errors
    assert Contact.objects.filter(role="user").count() == 120
    assert SyncRun.objects.filter(resource="users", status="abandoned").count() == 1


@pytest.mark.django_db
def test_it_fails_an_incremental_pass_without_moving_the_watermark(sandbox, monkeypatch):
    full(sandbox)
    watermark = SyncState.objects.get(resource="users").watermark
    sandbox.clock.advance(600)
    for page in sandbox.client.iter_scroll("users"):
        for user in page[:3]:
            sandbox.client.create_user({"id": user["id"], "name": "Changed"})
        break
    sandbox.app.faults.fail_next(1 + sandbox.client.max_retries, status=500)  # outlasts the retries once
    run = sync.sync("users", client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "failed" and "ServerError" in run.errors
    assert SyncState.objects.get(resource="users").watermark == watermark
    run = sync.sync("users", client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "ok" and run.updated == 3


@pytest.mark.django_db
def test_it_never_runs_two_syncs_of_a_resource_at_once(sandbox):
    assert engine.claim("users", "someone-else")
    run = sync.sync("users", full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "skipped"
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_it_takes_over_the_lock_of_a_crashed_worker(sandbox):
    assert engine.claim("users", "crashed-worker")
    SyncState.objects.filter(resource="users").update(locked_until=timezone.now() - timedelta(seconds=1))
    run = sync.sync("users", full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "ok"
    assert not SyncState.objects.get(resource="users").is_locked


@pytest.mark.django_db
def test_it_records_conversations_with_more_parts_than_the_api_returns():
    sb = make_sandbox(users=50, leads=10, conversations=200)
    run = by_resource(sync.sync_all(full=True, client=sb.client, sleep=sb.clock.sleep))["conversations"]
    assert run.status == "ok"
    long = Conversation.objects.filter(parts_total__gt=500)
    assert long.exists()
    for conversation in long:
        assert conversation.parts_synced == 500
        assert conversation.parts_drift == conversation.parts_total - 500
    assert run.drift == sum(c.parts_drift for c in long)


@pytest.mark.django_db
def test_it_leaves_rate_limit_budget_for_staff_writes(settings):
    settings.INTERCOM_SYNC_RESERVE = 5
    sb = make_sandbox(users=400, leads=50, conversations=40, rate_limit=20)
    sync_client = sb.new_client(reserve=5)
    staff = sb.new_client(max_retries=0)  # a dashboard write that must not meet a 429
    admin_id = next(a["id"] for a in staff.list_admins()["admins"] if a["type"] == "admin")
    staff_calls = []

    def staff_write(resource, done, total):
        staff_calls.append(staff.get_admin(admin_id))

    runs = sync.sync_all(full=True, client=sync_client, progress=staff_write, sleep=sb.clock.sleep)
    assert {r.status for r in runs} == {"ok"}, [r.errors for r in runs]
    assert len(staff_calls) > 10


@pytest.mark.django_db
def test_it_scrolls_when_more_changed_than_the_api_pages_through(sandbox, monkeypatch):
    full(sandbox)
    sandbox.clock.advance(600)
    api = sandbox.client
    users = [u for page in api.iter_scroll("users") for u in page]
    api.create_user({"id": users[5]["id"], "name": "Changed"})
    real_list = api.list_users

    def deep_paging_refused(**params):
        if params.get("page", 1) not in (None, 1) or params.get("sort") == "updated_at":
            from intercom_mirror.api import BadRequest

            raise BadRequest(400, "parameter_invalid", "Paging is limited to 10,000 records", "req-1", "page")
        return real_list(**params)

    monkeypatch.setattr(api, "list_users", deep_paging_refused)
    run = sync.sync("users", client=api, sleep=sandbox.clock.sleep)
    assert run.status == "ok" and "fell back to a full pass" in run.notes
    assert Contact.objects.get(intercom_id=users[5]["id"]).name == "Changed"


@pytest.mark.django_db
def test_it_rereads_companies_whole_only_when_due(sandbox, settings):
    settings.SYNC_COMPANIES_MINUTES = 60
    sync.sync("companies", full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    run = sync.sync("companies", client=sandbox.client, sleep=sandbox.clock.sleep)
    assert (run.status, run.api_requests) == ("ok", 0)
    assert "not due yet" in run.notes
    SyncState.objects.filter(resource="companies").update(last_full_at=timezone.now() - timedelta(hours=2))
    run = sync.sync("companies", client=sandbox.client, sleep=sandbox.clock.sleep)
    assert run.status == "ok" and run.api_requests >= 2 and run.fetched > 0
    assert SyncState.objects.get(resource="companies").last_full_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.django_db
def test_it_provokes_no_429_while_fetching_details_in_parallel():
    sb = make_sandbox(users=10, leads=2, conversations=120, rate_limit=20)
    sync.sync_all(full=True, client=sb.client, sleep=sb.clock.sleep, only=["admins", "teams"])
    run = sync.sync("conversations", full=True, client=sb.client, sleep=sb.clock.sleep)
    assert run.status == "ok", run.errors
    # Two list pages and one detail per conversation: a refused (429) request would be sent again.
    assert run.api_requests == 2 + 120
