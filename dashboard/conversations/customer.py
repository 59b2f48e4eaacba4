"""The customer sidebar: who the customer is, and their other conversations."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Prefetch, prefetch_related_objects

from intercom_mirror.models import Company, Conversation, Segment, Tag

OTHER_CONVERSATIONS = 20


def sidebar_context(conversation: Conversation) -> dict[str, Any]:
    """Return the customer (companies, tags, segments read in one query each) and their other conversations."""
    customer = conversation.customer
    if customer is None:
        return {"customer": None}
    prefetch_related_objects(
        [customer],
        Prefetch("companies", queryset=Company.objects.only("intercom_id", "name", "company_id").order_by("name")),
        Prefetch("tags", queryset=Tag.objects.only("intercom_id", "name").order_by("name")),
        Prefetch("segments", queryset=Segment.objects.only("intercom_id", "name").order_by("name")),
    )
    others = (
        Conversation.objects.filter(customer_id=customer.intercom_id)
        .exclude(pk=conversation.pk)
        .only("intercom_id", "subject", "body", "state", "updated_at", "created_at")
        .order_by("-updated_at", "-id")[:OTHER_CONVERSATIONS]
    )
    return {
        "customer": customer,
        "custom_attributes": attribute_rows(customer.custom_attributes),
        "other_conversations": list(others),
    }


def attribute_rows(attributes: Any) -> list[tuple[str, str]]:
    """Return custom attributes as (name, text) pairs, sorted; nested values as JSON (escaped by the template)."""
    if not isinstance(attributes, dict):
        return []
    rows = []
    for name, value in sorted(attributes.items(), key=lambda item: str(item[0]).lower()):
        if value is None or value == "":
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
        rows.append((str(name), text))
    return rows
