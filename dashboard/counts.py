"""Counts for list headings that stop at a cap: an exact count reads every matching row, however many."""

from __future__ import annotations

from django.db.models import QuerySet


def count_capped(qs: QuerySet, cap: int) -> tuple[int, bool]:
    """Return (count, more): the exact count up to cap, and whether more match (at most cap + 1 ids are read)."""
    n = qs.order_by().values("pk")[: cap + 1].count()
    return min(n, cap), n > cap
