"""PostgreSQL-only edge cases of the bulk writer (skipped on SQLite)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from intercom_mirror.apply import Source, upsert
from intercom_mirror.bulk import replace_links
from intercom_mirror.models import Contact, Tag

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


@pytest.mark.django_db
def test_it_stores_payloads_with_nul_characters():
    """JSON allows \\u0000; PostgreSQL text and jsonb refuse it: the NULs are dropped, the record is kept."""
    payload = {"type": "user", "id": "u-nul", "name": "Ada\u0000Lovelace", "custom_attributes": {}}
    upsert(Contact, [Contact.from_payload(payload)], Source.LIST, timezone.now())
    assert Contact.objects.filter(intercom_id="u-nul").exists()


@pytest.mark.django_db(transaction=True)
def test_it_relinks_one_contact_from_two_transactions_at_once():
    """A webhook and a sync page replacing the same contact's links at once must not fail on the
    through table's unique constraint."""
    now = timezone.now()
    upsert(Contact, [Contact.from_payload({"type": "user", "id": "c1"})], Source.LIST, now)
    upsert(Tag, [Tag.from_payload({"type": "tag", "id": "t1", "name": "vip"})], Source.LIST, now)
    contact = Contact.objects.get(intercom_id="c1").pk
    tag = Tag.objects.get(intercom_id="t1").pk
    relation = Contact._meta.get_field("tags")
    replace_links(relation, {contact: [tag]})

    first_done, errors = threading.Event(), []

    def webhook():
        try:
            with transaction.atomic():
                replace_links(relation, {contact: [tag]})
                first_done.set()
                threading.Event().wait(0.5)  # still inside its transaction
        finally:
            first_done.set()
            connections.close_all()

    def sync_page():
        first_done.wait()
        try:
            with transaction.atomic():
                replace_links(relation, {contact: [tag]})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=webhook), threading.Thread(target=sync_page)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
