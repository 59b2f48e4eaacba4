from __future__ import annotations

import os
import re
import socket
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from intercom_mirror import sync
from intercom_mirror.models import Contact, Conversation, SyncRun, SyncState
from intercom_mirror.sync import engine
from tests.mirror_compare import assert_mirror_matches


def run(*args) -> str:
    out = StringIO()
    call_command("intercom_sync", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_mirrors_the_sandbox_over_real_http(live_sandbox):
    output = run("--full")
    assert "Intercom sync" in output and "conversations" in output
    assert SyncRun.objects.filter(status="ok").count() == len(sync.RESOURCES)
    from intercom_mirror.sync import make_client

    live_sandbox.limiter = None  # the check reads the API without a rate limit (it would wait out a 10 s window)
    with make_client() as client:
        assert_mirror_matches(client)


@pytest.mark.django_db
def test_it_limits_the_sync_to_some_resources(live_sandbox):
    run("--full", "--only", "users,leads")
    assert set(SyncRun.objects.values_list("resource", flat=True)) == {"users", "leads"}
    assert Contact.objects.count() == 100
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_it_refuses_an_unknown_resource(live_sandbox):
    with pytest.raises(CommandError, match="unknown resources: widgets"):
        run("--only", "users,widgets")


@pytest.mark.django_db
def test_it_exits_non_zero_when_a_resource_fails(live_sandbox, settings):
    settings.INTERCOM_ACCESS_TOKEN = "not-the-token"
    with pytest.raises(CommandError, match="failed: admins"):
        run("--only", "admins")
    run_row = SyncRun.objects.get(resource="admins")
    assert run_row.status == "failed" and "AuthenticationError" in run_row.errors
    assert "not-the-token" not in run_row.errors


@pytest.mark.django_db
def test_it_resyncs_one_conversation_and_one_contact(live_sandbox):
    conversation_id = next(iter(live_sandbox.workspace.conversations))
    output = run("--conversation", str(conversation_id))
    assert f"conversation {conversation_id}: synced" in output
    assert Conversation.objects.get(intercom_id=str(conversation_id)).parts.exists()
    output = run("--contact", "000000000000000000000000")
    assert "not in Intercom any more" in output


@pytest.mark.django_db
def test_it_shows_a_progress_bar_per_resource_with_totals(live_sandbox):
    output = run("--full", "--only", "users,leads")
    assert "users" in output and "80/80" in output
    assert "leads" in output and "20/20" in output


@pytest.mark.django_db
def test_it_waits_for_a_busy_lock_then_names_the_holder_and_exits_non_zero(live_sandbox, settings):
    settings.SYNC_LOCK_WAIT_SECONDS = 0.2
    assert engine.claim("admins", "another-run")  # held by a live run (this very process)
    holder = f"admins: locked by {socket.gethostname()}:{os.getpid()} since "
    out = StringIO()
    with pytest.raises(CommandError, match=rf"^not run: {re.escape(holder)}.*\(heartbeat 0 s ago\); waited 0.2 s$"):
        call_command("intercom_sync", "--only", "admins,teams", stdout=out)
    assert f"{holder}" in out.getvalue() and "; waiting up to 0.2 s" in out.getvalue()
    statuses = dict(SyncRun.objects.values_list("resource", "status"))
    assert statuses == {"admins": "skipped", "teams": "ok"}


@pytest.mark.django_db
def test_it_prints_the_runs_notes_and_a_takeover(live_sandbox):
    assert engine.claim("admins", "crashed-run")
    SyncState.objects.filter(resource="admins").update(locked_until=timezone.now())
    output = run("--only", "admins")
    assert "admins: took over the lock of " in output and ": its lease ran out" in output
    run_row = SyncRun.objects.get(resource="admins")
    assert run_row.status == "ok" and run_row.took_over_from and not run_row.errors
