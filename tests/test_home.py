from __future__ import annotations

import os
import socket

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intercom_mirror import sync
from intercom_mirror.models import Contact, SyncRun
from intercom_mirror.sync import engine


@pytest.mark.django_db
def test_it_shows_what_the_mirror_holds_and_the_last_runs(sandbox, staff_client):
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    page = staff_client.get("/").content.decode()
    users = Contact.objects.live().filter(role="user").count()
    assert f'<span class="n">{users:,}</span><span class="label">users</span>' in page
    for resource in ("admins", "users", "leads", "conversations"):
        assert f"<td>{resource}</td>" in page
    assert "failed on the last run" not in page


@pytest.mark.django_db
def test_it_points_at_failed_runs(staff_client):
    SyncRun.objects.create(resource="users", kind="full", status="failed", errors="AuthenticationError: 401")
    page = staff_client.get("/").content.decode()
    assert "1 resource failed on the last run" in page
    assert "AuthenticationError: 401" in page


@pytest.mark.django_db
def test_it_tells_a_new_install_how_to_start(staff_client):
    assert "intercom_sync --full" in staff_client.get("/").content.decode()


@pytest.mark.django_db
def test_it_returns_only_the_status_region_to_htmx(staff_client):
    response = staff_client.get("/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'class="figures"' in body
    assert "<html" not in body and "hx-trigger" not in body


@pytest.mark.django_db
def test_it_keeps_the_query_count_flat(sandbox, staff_client):
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    with CaptureQueriesContext(connection) as queries:
        staff_client.get("/")
    assert len(queries) <= 15, [q["sql"] for q in queries]


@pytest.mark.django_db
def test_it_shows_notes_apart_from_errors_and_not_as_failures(staff_client):
    SyncRun.objects.create(resource="companies", kind="incremental", status="ok", notes="companies: not due yet")
    SyncRun.objects.create(resource="users", kind="full", status="failed", errors="ServerError: 500", notes="restarted")
    page = staff_client.get("/").content.decode()
    assert '<td colspan="10" class="muted">Notes: companies: not due yet</td>' in page
    assert "<strong>Errors:</strong> ServerError: 500" in page and "Notes: restarted" in page
    assert "1 resource failed on the last run" in page


@pytest.mark.django_db
def test_it_shows_who_holds_the_lock_of_a_running_sync(staff_client):
    SyncRun.objects.create(resource="users", kind="full")
    assert engine.claim("users", "the-running-one")
    page = staff_client.get("/").content.decode()
    assert f'running… <span class="muted">on {socket.gethostname()}:{os.getpid()} since ' in page
    engine.release("users", "the-running-one")
