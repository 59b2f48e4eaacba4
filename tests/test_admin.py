from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intercom_mirror import sync
from intercom_mirror.models import Contact, Conversation


@pytest.fixture
def synced(sandbox, settings):
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    return sandbox


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "password-root")
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/intercom_mirror/contact/",
        "/admin/intercom_mirror/company/",
        "/admin/intercom_mirror/conversation/",
        "/admin/intercom_mirror/conversationpart/",
        "/admin/intercom_mirror/admin/",
        "/admin/intercom_mirror/team/",
        "/admin/intercom_mirror/tag/",
        "/admin/intercom_mirror/segment/",
        "/admin/intercom_mirror/note/",
        "/admin/intercom_mirror/syncrun/",
        "/admin/intercom_mirror/syncstate/",
        "/admin/intercom_mirror/webhookdelivery/",
    ],
)
def test_it_lists_every_mirrored_model(synced, superuser_client, url):
    assert superuser_client.get(url).status_code == 200


@pytest.mark.django_db
def test_it_searches_contacts_by_email(synced, superuser_client):
    contact = Contact.objects.exclude(email="").first()
    response = superuser_client.get("/admin/intercom_mirror/contact/", {"q": contact.email})
    assert contact.intercom_id in response.content.decode()


@pytest.mark.django_db
def test_it_lists_conversations_without_a_query_per_row(synced, superuser_client):
    with CaptureQueriesContext(connection) as queries:
        superuser_client.get("/admin/intercom_mirror/conversation/")
    assert len(queries) < 15, [q["sql"] for q in queries]


@pytest.mark.django_db
def test_it_keeps_synced_fields_read_only(synced, superuser_client):
    contact = Contact.objects.first()
    url = f"/admin/intercom_mirror/contact/{contact.pk}/change/"
    page = superuser_client.get(url).content.decode()
    assert 'name="email"' not in page
    superuser_client.post(url, {"email": "edited@example.com", "name": "Edited"})
    contact.refresh_from_db()
    assert contact.email != "edited@example.com"
    assert superuser_client.get("/admin/intercom_mirror/contact/add/").status_code == 403


@pytest.mark.django_db
def test_it_resyncs_selected_conversations_from_intercom(synced, superuser_client, monkeypatch):
    monkeypatch.setattr(sync, "make_client", lambda **kw: synced.new_client())
    conversation = Conversation.objects.first()
    Conversation.objects.filter(pk=conversation.pk).update(subject="stale")
    response = superuser_client.post(
        "/admin/intercom_mirror/conversation/",
        {"action": "resync_conversation", "_selected_action": [conversation.pk]},
        follow=True,
    )
    assert "Resynced 1" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.subject != "stale"
