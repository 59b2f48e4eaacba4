"""The conversation page's forms: the composer (Reply / Note) and the named-button actions."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from intercom_mirror.actions import (
    ActionRefused,
    do_assign_conversation,
    do_close_conversation,
    do_mark_conversation_read,
    do_note_conversation,
    do_reopen_conversation,
    do_reply_conversation,
    do_snooze_conversation,
    do_tag_conversation,
    do_unsnooze_conversation,
    do_untag_conversation,
)
from intercom_mirror.models import Admin, Conversation, StaffAction, Team

MODES = [("reply", "Reply"), ("note", "Note")]


class ComposerForm(forms.Form):
    """One textarea, two modes. `key` makes a double click or a resend post once; `opened_at` dates what was seen."""

    mode = forms.ChoiceField(choices=MODES)
    body = forms.CharField(strip=False, error_messages={"required": "Type a message first."})
    key = forms.CharField(max_length=64)
    opened_at = forms.FloatField(required=False)
    confirm = forms.BooleanField(required=False)

    @classmethod
    def fresh(cls, mode: str = "reply") -> ComposerForm:
        """Return an empty composer with a new one-time key, opened now."""
        return cls(initial={"mode": mode, "key": new_key(), "opened_at": now_stamp(), "body": ""})

    def kept(self, *, key: str | None = None) -> ComposerForm:
        """Return a composer holding what was typed, opened now (the thread shown with it is current)."""
        data = {name: self.data.get(name, "") for name in ("mode", "body", "key")}
        data.update(key=key or data["key"], opened_at=now_stamp())
        return ComposerForm(data)

    def needs_confirmation(self, conversation: Conversation) -> bool:
        """Return True when a customer message arrived after the composer opened (and this is not a resend)."""
        opened, last = self.cleaned_data.get("opened_at"), conversation.last_customer_part_at
        if self.cleaned_data.get("confirm") or opened is None or last is None or last.timestamp() <= opened:
            return False
        return not StaffAction.objects.filter(idempotency_key=self.cleaned_data["key"]).exists()

    def send(self, conversation: Conversation, user) -> StaffAction:
        do = do_note_conversation if self.cleaned_data["mode"] == "note" else do_reply_conversation
        data = self.cleaned_data
        return do(conversation.intercom_id, data["body"], acting_user=user, idempotency_key=data["key"])


def new_key() -> str:
    return uuid.uuid4().hex


def now_stamp() -> str:
    return f"{time.time():.3f}"


class AssignForm(forms.Form):
    assignee = forms.CharField(max_length=64, error_messages={"required": "Choose an admin, a team, or Unassigned."})

    def clean_assignee(self) -> str:
        wanted = self.cleaned_data["assignee"]
        known = (
            wanted == "0"
            or Admin.objects.live().filter(intercom_id=wanted).exists()
            or Team.objects.live().filter(intercom_id=wanted).exists()
        )
        if not known:
            raise forms.ValidationError("Choose an admin, a team, or Unassigned.")
        return wanted


SNOOZE_CHOICES = [("later", "Later today"), ("tomorrow", "Tomorrow"), ("next_week", "Next week"), ("custom", "Until")]


class SnoozeForm(forms.Form):
    until = forms.ChoiceField(choices=SNOOZE_CHOICES)
    custom = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("until") == "custom" and not data.get("custom"):
            raise forms.ValidationError("Pick a date and time to snooze until.")
        return data

    def moment(self, now: datetime | None = None) -> datetime:
        data = self.cleaned_data
        return data["custom"] if data["until"] == "custom" else snooze_until(data["until"], now)


def snooze_until(choice: str, now: datetime | None = None) -> datetime:
    """Return when "later" (+3 h), "tomorrow" (9:00) or "next_week" (next Monday 9:00) is, in TIME_ZONE."""
    now = timezone.localtime(now)
    if choice == "later":
        return now + timedelta(hours=3)
    days = 1 if choice == "tomorrow" else 7 - now.weekday()  # on a Monday, the Monday after
    day = (now + timedelta(days=days)).date()
    return timezone.make_aware(datetime(day.year, day.month, day.day, 9, 0))


class TagForm(forms.Form):
    name = forms.CharField(max_length=255, error_messages={"required": "Give the tag a name."})


# Named buttons of the conversation's controls: name → how to send it. Each returns a StaffAction.
def _assign(conversation: Conversation, data, user) -> StaffAction:
    form = valid(AssignForm(data))
    return do_assign_conversation(conversation.intercom_id, form.cleaned_data["assignee"], acting_user=user)


def _snooze(conversation: Conversation, data, user) -> StaffAction:
    form = valid(SnoozeForm(data))
    return do_snooze_conversation(conversation.intercom_id, form.moment(), acting_user=user)


def _tagger(do):
    def send(conversation: Conversation, data, user) -> StaffAction:
        return do(conversation.intercom_id, valid(TagForm(data)).cleaned_data["name"], acting_user=user)

    return send


def _plain(do):
    return lambda conversation, data, user: do(conversation.intercom_id, acting_user=user)


CONTROLS = {
    "assign": _assign,
    "close": _plain(do_close_conversation),
    "reopen": _plain(do_reopen_conversation),
    "snooze": _snooze,
    "unsnooze": _plain(do_unsnooze_conversation),
    "mark_read": _plain(do_mark_conversation_read),
    "tag": _tagger(do_tag_conversation),
    "untag": _tagger(do_untag_conversation),
}


def perform_control(name: str, conversation: Conversation, data, user) -> StaffAction:
    """Validate the POST of a named button and send its action; ActionRefused says what is wrong."""
    control = CONTROLS.get(name)
    if control is None:
        raise ActionRefused("Unknown action.")
    return control(conversation, data, user)


def valid(form: forms.Form) -> forms.Form:
    if not form.is_valid():
        raise ActionRefused(" ".join(str(e) for errors in form.errors.values() for e in errors))
    return form
