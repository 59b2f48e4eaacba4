"""Search over the whole mirror: the index (kept current by the apply path), the query language, the searches.

Importing this package registers the index's listener with the apply path, so
every writer (sync, webhooks, resyncs, staff actions) keeps the index current
in its own transaction. `intercom_mirror/apps.py` imports it in `ready()`.
"""

from __future__ import annotations

from intercom_mirror.apply import listeners, on_applied
from intercom_mirror.search.index import index_applied

if index_applied not in listeners:
    on_applied(index_applied)

from intercom_mirror.search.queries import conversation_filter  # noqa: E402  (for the inbox's search box)

__all__ = ["conversation_filter", "index_applied"]
