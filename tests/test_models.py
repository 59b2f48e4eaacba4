from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from intercom_mirror.apply import Source, link_refs, upsert
from intercom_mirror.models import Company, Contact, Conversation, Tag, from_unix, payload_hash, unwrap
from tests.helpers import fixture


def test_it_reads_int_and_string_timestamps():
    assert from_unix(1401970114) == datetime(2014, 6, 5, 12, 8, 34, tzinfo=UTC)
    assert from_unix("1401970114") == from_unix(1401970114)
    assert from_unix(None) is None and from_unix(0) is None and from_unix("junk") is None


def test_it_unwraps_nested_lists_in_either_form():
    assert unwrap({"type": "tag.list", "tags": [{"id": "1"}]}, "tags") == [{"id": "1"}]
    assert unwrap([{"id": "1"}], "tags") == [{"id": "1"}]
    assert unwrap(None, "tags") == []


def test_it_hashes_payloads_independently_of_key_order():
    assert payload_hash({"a": 1, "b": 2}) == payload_hash({"b": 2, "a": 1})
    assert payload_hash({"a": 1}) != payload_hash({"a": 2})


@pytest.mark.django_db
def test_it_loads_the_user_fixture_with_its_companies_and_tags():
    payload = fixture("user.json")
    result = upsert(Contact, [Contact.from_payload(payload)], Source.LIST, timezone.now())
    link_refs(Contact, [payload], result)
    contact = Contact.objects.get(intercom_id=payload["id"])
    assert (contact.role, contact.email, contact.name) == ("user", "bob@example.com", "Joe Schmoe")
    assert contact.custom_attributes == {"a": "b", "b": 2}
    assert contact.raw == payload
    assert [c.intercom_id for c in contact.companies.all()] == [
        c["id"] for c in unwrap(payload["companies"], "companies")
    ]
    assert contact.tags.count() == 0  # the fixture has no tags envelope at all
    assert contact.city == "Dublin"


@pytest.mark.django_db
def test_it_links_tags_and_segments_from_their_envelopes():
    payload = {
        **fixture("user.json"),
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "202", "name": "vip"}]},
        "segments": {"type": "segment.list", "segments": [{"type": "segment", "id": "5310d8e8598c9a0b24000005"}]},
    }
    result = upsert(Contact, [Contact.from_payload(payload)], Source.LIST, timezone.now())
    link_refs(Contact, [payload], result)
    contact = Contact.objects.get()
    assert list(contact.tags.values_list("name", flat=True)) == ["vip"]
    assert list(contact.segments.values_list("intercom_id", flat=True)) == ["5310d8e8598c9a0b24000005"]
    assert Tag.objects.get().raw_hash == ""  # a placeholder: the tags sync fills it in


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["user.list.page1.json", "user.list.last-page.json", "user.scroll.json"])
def test_it_loads_every_user_of_a_list_fixture(name):
    users = fixture(name)["users"]
    result = upsert(Contact, [Contact.from_payload(u) for u in users], Source.LIST, timezone.now())
    distinct = {u["id"] for u in users}  # the SDK's samples repeat one id
    assert result.created == len(distinct) > 0
    assert Contact.objects.filter(role="user").count() == len(distinct)


@pytest.mark.django_db
def test_it_loads_companies_with_their_plan_name():
    companies = fixture("company.list.json")["companies"]
    upsert(Company, [Company.from_payload(c) for c in companies], Source.LIST, timezone.now())
    # The sample repeats one id with three names: the last one on the page wins.
    acme = Company.objects.get(intercom_id="531ee472cce572a6ec000006")
    assert (acme.plan, acme.name) == ("Paid", companies[-1]["name"])


@pytest.mark.django_db
def test_it_counts_created_updated_and_unchanged_rows():
    payload = fixture("user.json")
    now = timezone.now()
    assert upsert(Contact, [Contact.from_payload(payload)], Source.LIST, now).created == 1
    again = upsert(Contact, [Contact.from_payload(payload)], Source.LIST, now)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = {**payload, "name": "Renamed", "updated_at": payload["updated_at"] + 1}
    assert upsert(Contact, [Contact.from_payload(changed)], Source.LIST, now).updated == 1
    assert Contact.objects.get().name == "Renamed"


@pytest.mark.django_db
def test_it_reads_a_conversation_with_nobody_assigned():
    item = fixture("notification.conversation.json")["data"]["item"]
    row = Conversation.from_payload(Conversation.without_parts(item))
    assert row.assignee_admin_id is None and row.assignee_team_id is None
    assert "conversation_parts" not in row.raw
    assert row.customer_id == "540f1de7112d3d1d51001637"
