"""The tag autocomplete: existing tags by prefix in any case, and "Create tag 'x'" when none is exactly x."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from intercom_mirror.models import Tag


@pytest.fixture
def sam_client(client, django_user_model, db):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    client.force_login(user)
    return client


@pytest.fixture
def tags(db):
    for n, name in enumerate(["VIP", "vip", "Vipers", "Very important", "Churned", "<b>bold</b>"]):
        Tag.objects.create(intercom_id=f"t{n}", name=name)
    Tag.objects.create(intercom_id="t9", name="Viper gone", deleted_at=timezone.now())


def options(response) -> list[str]:
    return re.findall(r'data-tag="([^"]*)"', response.content.decode())


@pytest.mark.django_db
def test_it_lists_tags_starting_with_the_prefix_in_any_case_once_per_name(sam_client, tags):
    response = sam_client.get("/tags/autocomplete/", {"q": "vI"}, HTTP_HX_REQUEST="true")
    # "vip" is the same tag as "VIP"; the deleted one is gone; no tag is called "vI": it can be created.
    assert options(response) == ["VIP", "Vipers", "vI"]
    assert response.content.decode().lstrip().startswith('<ul class="tag-options"')


@pytest.mark.django_db
def test_an_exact_match_in_any_case_comes_first_and_offers_no_creation(sam_client, tags):
    response = sam_client.get("/tags/autocomplete/", {"q": "vip"}, HTTP_HX_REQUEST="true")
    assert options(response)[0] in ("VIP", "vip") and "Create tag" not in response.content.decode()


@pytest.mark.django_db
def test_it_offers_to_create_a_tag_when_none_has_that_name(sam_client, tags):
    response = sam_client.get("/tags/autocomplete/", {"q": "  Vip   gold "}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert options(response) == ["Vip gold"] and "Create tag “Vip gold”" in html
    response = sam_client.get("/tags/autocomplete/", {"q": "Ve"}, HTTP_HX_REQUEST="true")
    assert options(response) == ["Very important", "Ve"]  # matches, then the new one


@pytest.mark.django_db
def test_it_reads_the_fields_own_name_and_escapes_names(sam_client, tags):
    response = sam_client.get("/tags/autocomplete/", {"name": "<b"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert options(response) == ["&lt;b&gt;bold&lt;/b&gt;", "&lt;b"] and "<b>bold" not in html


@pytest.mark.django_db
def test_an_empty_prefix_lists_the_first_tags_and_a_plain_request_gets_a_page(sam_client, tags):
    response = sam_client.get("/tags/autocomplete/", HTTP_HX_REQUEST="true")
    assert len(options(response)) == 5 and "Create tag" not in response.content.decode()
    page = sam_client.get("/tags/autocomplete/?q=ch").content.decode()
    assert "<html" in page and 'data-tag="Churned"' in page


@pytest.mark.django_db
def test_it_is_for_staff_only(client, django_user_model, db):
    assert client.get("/tags/autocomplete/?q=v").status_code == 302
    client.force_login(django_user_model.objects.create_user("visitor", "v@example.com", "pw"))
    assert client.get("/tags/autocomplete/?q=v").status_code == 302
