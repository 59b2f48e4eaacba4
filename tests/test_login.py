from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_it_redirects_anonymous_users_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_it_refuses_non_staff_users(client, django_user_model):
    user = django_user_model.objects.create_user("bob", password="password-bob")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302


@pytest.mark.django_db
def test_it_shows_home_to_staff(staff_client):
    response = staff_client.get("/")
    assert response.status_code == 200
    assert b"Mirror status" in response.content


@pytest.mark.django_db
def test_it_logs_in_with_a_password(client, staff_user):
    response = client.post("/login/", {"username": "alice", "password": "password-alice"})
    assert response.status_code == 302
    assert response["Location"] == "/"
