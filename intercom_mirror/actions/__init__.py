"""Staff writes: one action function per write, `do_<verb>_<noun>(…, *, acting_user)`.

Every action
1. records a `StaffAction` (who, what, which record, the request body; state pending);
2. calls the API client (a web client: short timeouts, at most one retry, never
   sleeping for a rate-limit window);
3. applies the object the API returns through the mirror's one apply path, so the
   change shows at once;
4. records the outcome: HTTP status, Intercom error code and message, duration.

When Intercom is unreachable, slow or out of budget the action stays `queued`
and `process_queued_actions` (a django-q2 task) sends it later, in order; a 4xx
marks it `failed` with the API's message, to be retried or discarded. Views,
tasks and commands call these functions, never the client.
"""

from intercom_mirror.actions.conversations import (
    do_assign_conversation,
    do_close_conversation,
    do_mark_conversation_read,
    do_note_conversation,
    do_reopen_conversation,
    do_reply_conversation,
    do_snooze_conversation,
    do_unsnooze_conversation,
)
from intercom_mirror.actions.core import (
    ActionRefused,
    discard_action,
    open_actions_for,
    process_queued_actions,
    retry_action,
)
from intercom_mirror.actions.people import (
    do_add_note_contact,
    do_convert_lead,
    do_merge_lead,
    do_set_admin_away,
    do_tag_company,
    do_tag_contact,
    do_tag_contacts,
    do_tag_conversation,
    do_untag_conversation,
)
from intercom_mirror.actions.staff import admin_for, profile_for

__all__ = [
    "ActionRefused",
    "admin_for",
    "do_add_note_contact",
    "do_convert_lead",
    "do_merge_lead",
    "do_set_admin_away",
    "do_tag_company",
    "do_tag_contact",
    "do_tag_contacts",
    "discard_action",
    "do_assign_conversation",
    "do_close_conversation",
    "do_mark_conversation_read",
    "do_note_conversation",
    "do_reopen_conversation",
    "do_reply_conversation",
    "do_snooze_conversation",
    "do_tag_conversation",
    "do_unsnooze_conversation",
    "do_untag_conversation",
    "open_actions_for",
    "process_queued_actions",
    "profile_for",
    "retry_action",
]
