"""Bulk runs start once: the same request again soon after (a double click, a resent form) joins the first run.

A bulk form has no composer key to carry, and a key rendered into the page would be
reused by the next, deliberate, bulk action on the same page. So the request itself
is the key: the same user asking the same verb, options and records within a minute
gets the first run's id, and the page shows that run's progress. The cache is shared
between processes when REDIS_URL is set (settings.CACHES), per process otherwise.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.core.cache import cache

DUPLICATE_WINDOW_SECONDS = 60


def run_for(user, *request: Any) -> tuple[str, bool]:
    """Return the id of the run this request starts, and whether it is new (False: the same request just ran)."""
    digest = hashlib.sha256(json.dumps([user.pk, *request], sort_keys=True, default=str).encode()).hexdigest()
    key, run = f"bulk-run:{digest}", uuid.uuid4().hex
    if cache.add(key, run, DUPLICATE_WINDOW_SECONDS):
        return run, True
    earlier = cache.get(key)
    return (earlier, False) if earlier else (run, True)
