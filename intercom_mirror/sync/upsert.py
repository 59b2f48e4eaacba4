"""Bulk writes of Intercom payloads into mirror rows.

One call writes one page: a single query finds which rows exist and what they
were built from, unchanged rows are only marked as seen, and new or changed rows
go in with one INSERT … ON CONFLICT DO UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models

from intercom_mirror.models import MirrorModel

# Keep IN (...) lists and multi-row inserts under SQLite's variable limit.
BATCH = 500


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Intercom id → primary key of every row written (new or changed), for linking.
    written: dict[str, int] = field(default_factory=dict)


def dedupe(payloads: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return payloads with one entry per id, the last one winning (pages can overlap)."""
    by_id: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        if isinstance(payload, dict) and payload.get("id") not in (None, ""):
            by_id[str(payload["id"])] = payload
    return list(by_id.values())


def upsert(
    model: type[MirrorModel],
    rows: Sequence[MirrorModel],
    now: datetime,
    *,
    update_fields: Sequence[str] | None = None,
    force: bool = False,
) -> UpsertResult:
    """Write rows built by `from_payload`: insert new ones, update changed ones, mark all as seen.

    `force` rewrites rows even when their payload is unchanged (an explicit resync
    repairs typed columns that drifted from the raw JSON).
    """
    result = UpsertResult()
    # One row per id, the last winning: pages can overlap, and PostgreSQL refuses to
    # update the same row twice in one INSERT … ON CONFLICT.
    rows = list({row.intercom_id: row for row in rows}.values())
    if not rows:
        return result
    keys = [row.intercom_id for row in rows]
    dated = has_updated_at(model)
    columns = ["intercom_id", "raw_hash", "deleted_at"] + (["updated_at"] if dated else [])
    existing = {values[0]: values[1:] for values in model.objects.filter(intercom_id__in=keys).values_list(*columns)}
    changed, unchanged = [], []
    for row in rows:
        row.synced_at, row.deleted_at = now, None
        known = existing.get(row.intercom_id)
        if known is None:
            result.created += 1
            changed.append(row)
        elif is_stale(row, known[2] if dated else None) or (
            not force and known[0] == row.raw_hash and known[1] is None
        ):
            result.unchanged += 1
            unchanged.append(row.intercom_id)
        else:
            result.updated += 1
            changed.append(row)
    if changed:
        fields = list(update_fields or model.synced_fields())
        model.objects.bulk_create(
            changed, batch_size=BATCH, update_conflicts=True, unique_fields=["intercom_id"], update_fields=fields
        )
        result.written = dict(
            model.objects.filter(intercom_id__in=[r.intercom_id for r in changed]).values_list("intercom_id", "pk")
        )
    if unchanged:
        # Seen again: this is what lets a full pass tell vanished rows from live ones.
        model.objects.filter(intercom_id__in=unchanged).update(synced_at=now)
    return result


def has_updated_at(model: type[MirrorModel]) -> bool:
    return any(f.name == "updated_at" for f in model._meta.concrete_fields)


def is_stale(row: MirrorModel, stored_updated_at: datetime | None) -> bool:
    """Return True when the mirror already holds a newer version than this payload.

    A webhook can land between the moment a sync page was read and the moment it
    is written; the older page must not overwrite it.
    """
    incoming = getattr(row, "updated_at", None)
    return bool(stored_updated_at and incoming and stored_updated_at > incoming)


def ensure_refs(model: type[MirrorModel], refs: dict[str, MirrorModel]) -> dict[str, int]:
    """Create placeholder rows for referenced objects the mirror lacks; return id → pk for all refs.

    A user's payload names its tags, segments and companies in short form. Rows
    that already exist are left alone (their full sync owns them).
    """
    if not refs:
        return {}
    model.objects.bulk_create(list(refs.values()), batch_size=BATCH, ignore_conflicts=True)
    return dict(model.objects.filter(intercom_id__in=list(refs)).values_list("intercom_id", "pk"))


def replace_links(relation: models.ManyToManyField, links: dict[int, list[int]]) -> None:
    """Make each owner's links exactly the given targets (owner pk → target pks)."""
    if not links:
        return
    through = relation.remote_field.through
    owner_col = relation.m2m_field_name() + "_id"
    target_col = relation.m2m_reverse_field_name() + "_id"
    through.objects.filter(**{f"{owner_col}__in": list(links)}).delete()
    through.objects.bulk_create(
        [
            through(**{owner_col: owner, target_col: target})
            for owner, targets in links.items()
            for target in dict.fromkeys(targets)
        ],
        batch_size=BATCH,
    )
