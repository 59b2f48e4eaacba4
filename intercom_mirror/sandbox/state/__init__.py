"""The sandbox workspace: in-memory Intercom v1 state and every rule that changes it.

Nothing here knows about HTTP. Methods take request bodies (dicts) or plain
arguments, return records, and raise `SandboxError` for what the API would answer
with an `error.list`. `render_*` methods turn records into the JSON objects of the
v1 API (see /work/shared/intercom-v1-api.md §6). Writes queue webhook topics in
`outbox`; the app drains it after each request.

`Workspace` is composed of one mixin per resource, each in a module named for it
(`notes.py` holds what `POST /notes` does); `base.py` holds the storage, the
bookkeeping and the error helpers they all use.
"""

from __future__ import annotations

from ..records import EMPTY
from .admins import AdminsMixin
from .base import SandboxError, WorkspaceBase, flag, invalid, lookup, missing, not_found
from .bulk import BulkMixin
from .companies import CompaniesMixin
from .contacts import ContactsMixin
from .conversations import ConversationsMixin
from .counts import CountsMixin
from .data_attributes import DataAttributesMixin
from .events import EventsMixin, event_cursor
from .leads import LeadsMixin
from .messages import MessagesMixin
from .notes import NotesMixin
from .segments import SegmentsMixin
from .subscriptions import SubscriptionsMixin
from .tags import TagsMixin
from .users import UsersMixin
from .visitors import VisitorsMixin


class Workspace(
    ContactsMixin,
    UsersMixin,
    LeadsMixin,
    VisitorsMixin,
    CompaniesMixin,
    TagsMixin,
    SegmentsMixin,
    NotesMixin,
    EventsMixin,
    AdminsMixin,
    CountsMixin,
    ConversationsMixin,
    MessagesMixin,
    DataAttributesMixin,
    SubscriptionsMixin,
    BulkMixin,
    WorkspaceBase,
):
    """One Intercom app's data, held in memory, with the v1 API's rules as methods."""


__all__ = [
    "EMPTY",
    "SandboxError",
    "Workspace",
    "event_cursor",
    "flag",
    "invalid",
    "lookup",
    "missing",
    "not_found",
]
