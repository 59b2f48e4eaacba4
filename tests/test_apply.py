"""The one apply path: its precedence rules, in order and under races."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from intercom_mirror.apply import (
    Source,
    apply_contacts,
    apply_conversation_items,
    apply_deletion,
    apply_partial,
)
from intercom_mirror.models import Contact, Conversation

T0 = 1_700_000_000


def user(name: str, updated_at: int = T0, **extra) -> dict:
    return {"type": "user", "id": "u1", "email": "ada@example.com", "name": name, "updated_at": updated_at, **extra}


def name() -> str:
    return Contact.objects.get(intercom_id="u1").name


@pytest.mark.django_db
def test_it_lets_the_newer_updated_at_win_whatever_the_source():
    apply_contacts([user("new", T0 + 10)], Source.WEBHOOK)
    result = apply_contacts([user("old", T0)], Source.DIRECT)
    assert name() == "new" and not result.written and result.unchanged == 1
    apply_contacts([user("newer", T0 + 11)], Source.WEBHOOK)
    assert name() == "newer"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "stored, incoming, wins",
    [
        (Source.WEBHOOK, Source.LIST, True),
        (Source.WEBHOOK, Source.DIRECT, True),
        (Source.LIST, Source.DIRECT, True),
        (Source.LIST, Source.WEBHOOK, False),
        (Source.DIRECT, Source.LIST, False),
        (Source.DIRECT, Source.WEBHOOK, False),
        (Source.LIST, Source.LIST, True),  # same source, same second: the later write
    ],
)
def test_it_orders_payloads_of_the_same_second_by_source(stored, incoming, wins):
    apply_contacts([user("stored")], stored)
    apply_contacts([user("incoming")], incoming)
    assert name() == ("incoming" if wins else "stored")


@pytest.mark.django_db
def test_it_keeps_a_delete_until_a_direct_read_says_otherwise():
    apply_contacts([user("ada")], Source.LIST)
    apply_deletion(Contact, ["u1"])
    apply_contacts([user("from a list", T0 + 5)], Source.LIST)
    apply_contacts([user("from a webhook", T0 + 6)], Source.WEBHOOK)
    assert Contact.objects.get(intercom_id="u1").deleted_at is not None
    apply_contacts([user("read by id", T0 + 7)], Source.DIRECT)
    row = Contact.objects.get(intercom_id="u1")
    assert (row.deleted_at, row.name) == (None, "read by id")


@pytest.mark.django_db
def test_it_merges_a_partial_item_over_the_stored_payload():
    apply_contacts([user("Ada", custom_attributes={"plan": "pro"}, phone="+1 555")], Source.LIST)
    apply_partial(Contact, {"type": "user", "id": "u1", "email": "ada@new.example.com", "updated_at": T0 + 1})
    row = Contact.objects.get(intercom_id="u1")
    assert (row.name, row.phone, row.email, row.custom_attributes) == (
        "Ada",
        "+1 555",
        "ada@new.example.com",
        {"plan": "pro"},
    )


@pytest.mark.django_db
def test_it_reports_two_different_webhooks_of_the_same_second_as_ambiguous():
    conversation = {"type": "conversation", "id": "c1", "updated_at": T0, "open": True, "state": "open"}
    apply_conversation_items([{**conversation, "state": "closed", "open": False}], Source.WEBHOOK)
    result = apply_partial(Conversation, {**conversation, "assignee": {"type": "admin", "id": "7"}})
    assert result.ambiguous == {"c1"}
    same_again = apply_partial(Conversation, {**conversation, "assignee": {"type": "admin", "id": "7"}})
    assert same_again.ambiguous == set()  # identical content: nothing to settle


# --- races (PostgreSQL: SQLite serialises writers on the whole database) --------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level races need PostgreSQL")


def in_thread(target, *args):
    """Run target in a thread with its own database connection; return (thread, errors)."""
    errors: list[BaseException] = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_never_lets_an_older_write_replace_a_newer_one_committed_meanwhile():
    """The writer of the older payload read the row before the newer one was committed; the
    guard in ON CONFLICT … WHERE, evaluated against the committed row, still refuses it."""
    apply_contacts([user("original", T0)], Source.LIST)
    newer_written, older_read = threading.Event(), threading.Event()

    def newer_writer():
        with transaction.atomic():
            apply_contacts([user("newer", T0 + 60)], Source.WEBHOOK)
            newer_written.set()
            older_read.wait(5)  # the older writer has read the stale row and is about to write
            threading.Event().wait(0.3)

    def older_writer():
        newer_written.wait(5)
        from intercom_mirror import apply as apply_module

        real_insert = apply_module.insert_or_update

        def insert_after_reading(*args, **kwargs):
            older_read.set()  # the pre-read saw "original" (the newer write is not committed yet)
            return real_insert(*args, **kwargs)

        apply_module.insert_or_update = insert_after_reading
        try:
            apply_contacts([user("older", T0 + 30)], Source.LIST)
        finally:
            apply_module.insert_or_update = real_insert

    threads = [in_thread(newer_writer), in_thread(older_writer)]
    for thread, errors in threads:
        thread.join(10)
        assert errors == []
    assert name() == "newer"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_loses_no_field_when_two_partial_items_race():
    apply_contacts([user("Ada", T0, phone="")], Source.LIST)
    first_locked = threading.Event()

    def phone_item():
        with transaction.atomic():
            apply_partial(Contact, {"type": "user", "id": "u1", "phone": "+1 555"})
            first_locked.set()
            threading.Event().wait(0.3)  # still holding the row lock

    def email_item():
        first_locked.wait(5)
        apply_partial(Contact, {"type": "user", "id": "u1", "email": "ada@new.example.com"})

    threads = [in_thread(phone_item), in_thread(email_item)]
    for thread, errors in threads:
        thread.join(10)
        assert errors == []
    row = Contact.objects.get(intercom_id="u1")
    assert (row.phone, row.email) == ("+1 555", "ada@new.example.com")


def test_the_precedence_table_is_in_the_module_docstring():
    from intercom_mirror import apply

    doc = apply.__doc__
    for rule in ("newer `updated_at`", "direct read (3)", "list item (2)", "webhook item (1)", "under a row"):
        assert rule in doc


def part(pid: str, at: int, author: str, part_type: str = "comment") -> dict:
    return {"type": "conversation_part", "id": pid, "part_type": part_type, "body": "x", "created_at": at,
            "updated_at": at, "author": {"type": author, "id": f"{author}-1"}}  # fmt: skip


def conversation(parts: list[dict], state: str = "open", updated_at: int = T0 + 100) -> dict:
    return {
        "type": "conversation", "id": "c1", "created_at": T0, "updated_at": updated_at, "state": state,
        "open": state != "closed", "conversation_message": {"author": {"type": "user", "id": "u1"}, "body": "help"},
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": parts, "total_count": len(parts)},
    }  # fmt: skip


@pytest.mark.django_db
def test_it_keeps_waiting_since_from_the_first_unanswered_customer_message():
    from intercom_mirror.apply import apply_conversation_details

    history = [part("p1", T0 + 10, "admin", "note"), part("p2", T0 + 20, "user"), part("p3", T0 + 25, "bot")]
    apply_conversation_details([conversation(history)])
    row = Conversation.objects.get(intercom_id="c1")
    # A note and a bot do not answer the customer, and the follow-up does not move the start.
    assert (row.waiting_since.timestamp(), row.last_customer_part_at.timestamp()) == (T0, T0 + 20)
    assert row.last_admin_reply_at is None

    history += [part("p4", T0 + 30, "admin"), part("p5", T0 + 40, "user"), part("p6", T0 + 50, "user")]
    apply_conversation_details([conversation(history, updated_at=T0 + 200)])
    row.refresh_from_db()
    assert (row.waiting_since.timestamp(), row.last_admin_reply_at.timestamp()) == (T0 + 40, T0 + 30)
    assert row.last_customer_part_at.timestamp() == T0 + 50

    apply_conversation_items([{**conversation([], "closed", T0 + 300), "conversation_parts": None}], Source.WEBHOOK)
    row.refresh_from_db()
    assert row.waiting_since is None and row.last_customer_part_at.timestamp() == T0 + 50
