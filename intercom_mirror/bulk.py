"""Bulk SQL for the mirror: multi-row upserts, column updates and link tables.

No policy lives here: which rows may be written, and over what, is decided by
`intercom_mirror.apply`, which passes its guard down as the upsert's WHERE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction

from intercom_mirror.models import MirrorModel, json_text

# Keep IN (...) lists under SQLite's variable limit (999 on old builds).
BATCH = 500
# Multi-row INSERTs: SQLite ≥ 3.32 allows 32,766 parameters, PostgreSQL 65,535.
PARAMETER_LIMIT = 30_000
BATCH_ROWS = 1_000
ZERO = timedelta(0)


def insert_or_update(
    model: type[MirrorModel], rows: Sequence[MirrorModel], update_fields: Sequence[str], where: str = ""
) -> dict[str, int]:
    """INSERT … ON CONFLICT (intercom_id) DO UPDATE [WHERE …] in large batches; return intercom id → pk.

    `where` may refer to the stored row by the table's name and to the incoming one
    as EXCLUDED; a row it refuses is neither written nor returned.

    Django's bulk_create prepares every value through the generic field machinery
    and, on SQLite, sends at most 999 parameters per statement; on a full sync that
    was most of the write time (bench/sync.py). This converts values with one
    precomputed function per column and lets each statement carry thousands.
    """
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    updated = {model._meta.get_field(name).column for name in update_fields}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    assignments = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in (f.column for f in fields) if c in updated)
    converters = [row_converter(f) for f in fields]
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
    guard = f" WHERE {where}" if where else ""
    tail = (
        f" ON CONFLICT ({quote('intercom_id')}) DO UPDATE SET {assignments}{guard}"
        f" RETURNING {quote('intercom_id')}, {quote('id')}"
    )
    written: dict[str, int] = {}
    if connection.vendor == "postgresql":
        # One array parameter per column: the statement stays short, so psycopg
        # parses it once and PostgreSQL plans it once, whatever the batch size.
        arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)  # %b: binary, no escaping
        sql = head + f"SELECT * FROM unnest({arrays})" + tail
        with server_bound_cursor() as cursor:
            for start in range(0, len(rows), BATCH_ROWS):
                batch = rows[start : start + BATCH_ROWS]
                cursor.execute(sql, [[convert(row) for row in batch] for convert in converters])
                written.update(cursor.fetchall())
        return written
    with connection.cursor() as cursor:
        one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        per_statement = max(1, min(BATCH_ROWS, PARAMETER_LIMIT // len(fields)))
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            # Identifiers come from model metadata, quoted; every value is a parameter.
            sql = head + f"VALUES {', '.join([one_row] * len(batch))}" + tail
            cursor.execute(sql, [convert(row) for row in batch for convert in converters])
            written.update(cursor.fetchall())
    return written


def update_columns(model: type[models.Model], values: dict[int, dict[str, Any]], fields: Sequence[str]) -> None:
    """Set some columns of many rows by primary key (pk → {field: value}), in one statement per batch.

    Django's bulk_update builds a CASE expression per column and row; for the few
    bookkeeping columns the sync sets on every page, that was most of the cost.
    """
    if not values:
        return
    columns = [model._meta.get_field(name) for name in fields]
    converters = [column_converter(f) for f in columns]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    rows = [
        (pk, *(convert(v[f.name]) for f, convert in zip(columns, converters, strict=True))) for pk, v in values.items()
    ]
    if connection.vendor == "postgresql":
        arrays = ", ".join(["%b::bigint[]"] + [f"%b::{f.db_type(connection)}[]" for f in columns])
        names = ", ".join(["pk"] + [f"c{i}" for i in range(len(columns))])
        assignments = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(columns))
        sql = f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) WHERE {table}.{quote('id')} = v.pk"
        with server_bound_cursor() as cursor:
            for start in range(0, len(rows), BATCH_ROWS):
                cursor.execute(sql, [list(column) for column in zip(*rows[start : start + BATCH_ROWS], strict=True)])
        return
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s", [(*row[1:], row[0]) for row in rows]
        )


def row_converter(field: models.Field) -> Callable[[MirrorModel], Any]:
    """Return a function that reads one column's database value off a row."""
    attname = field.attname
    if attname == "raw":
        return raw_json_param
    convert = column_converter(field)
    return lambda row: convert(getattr(row, attname))


def raw_json_param(row: MirrorModel) -> Any:
    """Return the raw payload as a parameter, reusing the JSON text from_payload already made."""
    encoded = getattr(row, "raw_json", None)
    if encoded is None:
        return connection.ops.adapt_json_value(row.raw, None)
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return Jsonb(row.raw, dumps=lambda _obj: encoded)
    return encoded


def column_converter(field: models.Field) -> Callable[[Any], Any]:
    """Return a fast value → database value function for one column."""
    if isinstance(field, models.JSONField):
        if connection.vendor == "sqlite":
            return lambda value: None if value is None else json_text(value)
        return lambda value: None if value is None else connection.ops.adapt_json_value(value, field.encoder)
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite" and str(connection.timezone) == "UTC":
            # What Django's SQLite adapter produces for an aware UTC datetime, minus its overhead.
            return lambda v: None if v is None else str(v.replace(tzinfo=None)) if v.utcoffset() == ZERO else adapt(v)
        return connection.ops.adapt_datetimefield_value
    return lambda value: value


def adapt(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def ensure_refs(
    model: type[MirrorModel], refs: dict[str, dict[str, Any]], known: dict[str, int] | None = None
) -> dict[str, int]:
    """Create placeholder rows for referenced objects the mirror lacks; return id → pk for all refs.

    A user's payload names its tags, segments and companies in short form (`refs`,
    id → reference). Rows that already exist are left alone: their own sync owns
    them. `known` caches id → pk across the pages of one pass.
    """
    known = {} if known is None else known
    wanted = [i for i in refs if i not in known]
    for start in range(0, len(wanted), BATCH):
        ids = wanted[start : start + BATCH]
        known.update(model.objects.filter(intercom_id__in=ids).values_list("intercom_id", "pk"))
        missing = [model.placeholder(refs[i]) for i in ids if i not in known]
        if missing:
            model.objects.bulk_create(missing, ignore_conflicts=True)
            created = model.objects.filter(intercom_id__in=[m.intercom_id for m in missing])
            known.update(created.values_list("intercom_id", "pk"))
    return {i: known[i] for i in refs if i in known}


def replace_links(relation: models.ManyToManyField, links: dict[int, list[int]], fresh: Iterable[int] = ()) -> None:
    """Make each owner's links exactly the given targets (owner pk → target pks).

    Owners in `fresh` were just created and have no links to delete.
    """
    if not links:
        return
    # Inside the page's transaction when there is one (no savepoint per relation).
    with transaction.atomic(savepoint=False):
        relink(relation, links, set(fresh))


def relink(relation: models.ManyToManyField, links: dict[int, list[int]], fresh: set[int]) -> None:
    through = relation.remote_field.through
    owner_col = relation.m2m_field_name() + "_id"
    target_col = relation.m2m_reverse_field_name() + "_id"
    old_owners = [owner for owner in links if owner not in fresh]
    owners = relation.model._default_manager
    for start in range(0, len(old_owners), BATCH):
        batch = old_owners[start : start + BATCH]
        # A webhook and a sync may relink the same row at once: the row lock makes
        # the second wait for the first (PostgreSQL; SQLite locks the whole database).
        list(owners.select_for_update().filter(pk__in=batch).values_list("pk", flat=True))
        through.objects.filter(**{f"{owner_col}__in": batch}).delete()
    pairs = [(owner, target) for owner, targets in links.items() for target in dict.fromkeys(targets)]
    if not pairs:
        return
    quote = connection.ops.quote_name
    insert = f"INSERT INTO {quote(through._meta.db_table)} ({quote(owner_col)}, {quote(target_col)}) "
    if connection.vendor == "postgresql":
        owner_ids, target_ids = zip(*pairs, strict=True)
        with server_bound_cursor() as cursor:
            cursor.execute(
                insert + "SELECT * FROM unnest(%b::bigint[], %b::bigint[]) ON CONFLICT DO NOTHING",
                [list(owner_ids), list(target_ids)],
            )
    else:
        with connection.cursor() as cursor:
            cursor.executemany(insert + "VALUES (%s, %s) ON CONFLICT DO NOTHING", pairs)


def server_bound_cursor():
    """Return a psycopg cursor that sends parameters apart from the SQL.

    Django's default psycopg cursor quotes every value into the statement text on
    the client; for arrays of JSON that escaping cost more than the write itself.
    The cursor shares Django's connection, hence its transaction.
    """
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)
