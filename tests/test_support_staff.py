"""The "Support staff" group: staff who are not superusers can read the whole mirror in the admin, and change nothing."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection

from intercom_mirror import sync
from intercom_mirror.models import Contact, Conversation
from tests.test_admin import CHANGELISTS, MODELS, change_url, make_mirror

migration = importlib.import_module("dashboard.migrations.0001_support_staff_group")


@pytest.fixture
def support_user(django_user_model):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    return user


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.mark.django_db
def test_it_creates_the_group_with_view_permission_on_every_mirrored_model():
    group = Group.objects.get(name="Support staff")
    codenames = set(group.permissions.values_list("codename", flat=True))
    log = {"view_staffaction", "view_staffprofile"}  # the staff-action log (0002)
    assert codenames == {f"view_{model._meta.model_name}" for model in MODELS} | log


@pytest.mark.django_db
def test_it_removes_the_group_when_migrated_backwards_and_creates_it_again():
    schema_editor = SimpleNamespace(connection=connection)
    migration.remove_support_staff_group(apps, schema_editor)
    assert not Group.objects.filter(name="Support staff").exists()
    migration.create_support_staff_group(apps, schema_editor)
    assert Group.objects.get(name="Support staff").permissions.count() == len(MODELS)
    assert apps.get_app_config("intercom_mirror").models_module is not True  # restored


@pytest.mark.django_db
def test_it_is_not_a_superuser(support_user):
    assert not support_user.is_superuser
    assert support_user.has_perm("intercom_mirror.view_conversation")
    assert not support_user.has_perm("intercom_mirror.change_conversation")


@pytest.mark.django_db
@pytest.mark.parametrize("url", CHANGELISTS)
def test_it_opens_every_changelist(support_client, url):
    make_mirror()
    page = support_client.get(url)
    assert page.status_code == 200
    assert "addlink" not in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS)
def test_it_opens_every_change_page_without_save_buttons_or_history(support_client, model):
    row = make_mirror()[model]
    response = support_client.get(change_url(row))
    assert response.status_code == 200
    page = response.content.decode()
    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"', "deletelink"):
        assert button not in page
    assert ">Close</a>" in page
    assert not LogEntry.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_post_to_a_change_page(support_client):
    contact = make_mirror()[Contact]
    response = support_client.post(change_url(contact), {"name": "Edited", "_save": "Save"})
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.name == "Carla Contact 0"
    assert not LogEntry.objects.exists()


@pytest.mark.django_db
def test_it_refuses_adding_and_deleting(support_client):
    contact = make_mirror()[Contact]
    assert support_client.get("/admin/intercom_mirror/contact/add/").status_code == 403
    assert support_client.post(f"/admin/intercom_mirror/contact/{contact.pk}/delete/").status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.django_db
def test_it_lets_support_staff_resync_from_intercom(support_client, monkeypatch):
    calls = []
    monkeypatch.setattr(sync, "resync_many", lambda kind, ids: calls.append((kind, ids)) or (len(ids), 0, []))
    conversation = make_mirror()[Conversation]
    response = support_client.post(
        "/admin/intercom_mirror/conversation/",
        {"action": "resync_conversation", "_selected_action": [conversation.pk]},
        follow=True,
    )
    assert "Resynced 1" in response.content.decode()
    assert calls == [("conversation", [conversation.intercom_id])]


@pytest.mark.django_db
def test_it_sanitises_bodies_for_support_staff(support_client):
    page = support_client.get(change_url(make_mirror()[Conversation])).content.decode()
    assert "<p>Hi <b>there</b></p>" in page
    assert "alert(" not in page
    assert "onerror" not in page


@pytest.mark.django_db
def test_it_refuses_staff_outside_the_group(client, django_user_model):
    user = django_user_model.objects.create_user("eve", "eve@example.com", "password-eve", is_staff=True)
    client.force_login(user)
    assert client.get("/admin/intercom_mirror/contact/").status_code == 403


@pytest.mark.django_db
def test_it_lets_support_staff_into_the_dashboard(support_client):
    assert support_client.get("/").status_code == 200


@pytest.mark.django_db
def test_it_keeps_non_staff_out_of_the_dashboard(client, django_user_model):
    user = django_user_model.objects.create_user("mal", "mal@example.com", "password-mal")
    user.groups.add(Group.objects.get(name="Support staff"))
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response.url
