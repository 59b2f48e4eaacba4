"""Validate the inbox's GET filters and its POST bodies."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from dashboard.inbox.queries import SORTS, STATES

SNOOZE_CHOICES = [
    ("later", "Later today (in 3 hours)"),
    ("tomorrow", "Tomorrow 9:00"),
    ("next_week", "Next week (Monday 9:00)"),
    ("custom", "At the date and time below"),
]
BULK_VERBS = [("assign", "Assign"), ("close", "Close"), ("snooze", "Snooze"), ("tag", "Tag")]
MAX_BULK = 5000  # conversations in one bulk run


class IdsField(forms.Field):
    """Conversation ids from checkboxes that share one name."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        ids = [str(v).strip() for v in value or [] if str(v).strip()]
        if any(len(v) > 64 for v in ids):
            raise forms.ValidationError("Not a conversation id.")
        return list(dict.fromkeys(ids))


class ListForm(forms.Form):
    """The list's query parameters; anything invalid falls back to the default."""

    state = forms.ChoiceField(choices=[(s, s) for s in STATES], required=False)
    sort = forms.ChoiceField(choices=[(s, s) for s in SORTS], required=False)
    q = forms.CharField(max_length=100, required=False, strip=True)
    after = forms.CharField(max_length=200, required=False)

    def filters(self) -> dict[str, str]:
        """Return state, sort, q and after, each valid or its default."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "state": data.get("state") or "open",
            "sort": data.get("sort") or "latest",
            "q": data.get("q") or "",
            "after": data.get("after") or "",
        }


class BulkForm(forms.Form):
    """One bulk action over the selected conversations, or over every one matching the list's filters."""

    verb = forms.ChoiceField(choices=BULK_VERBS, error_messages={"required": "Choose Assign, Close, Snooze or Tag."})
    ids = IdsField(required=False)  # checked against the mirror by the view
    all = forms.BooleanField(required=False)
    folder = forms.CharField(max_length=80)
    state = forms.ChoiceField(choices=[(s, s) for s in STATES], required=False)
    sort = forms.ChoiceField(choices=[(s, s) for s in SORTS], required=False)
    q = forms.CharField(max_length=100, required=False)
    assignee = forms.RegexField(r"^[A-Za-z0-9_-]{1,64}$", required=False)
    until = forms.ChoiceField(choices=SNOOZE_CHOICES, required=False)
    until_custom = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Date and time"
    )
    tag = forms.CharField(max_length=255, required=False, strip=True)

    def clean(self) -> dict:
        data = super().clean()
        verb = data.get("verb")
        if not data.get("all") and not data.get("ids"):
            raise forms.ValidationError("Select some conversations first, or “Select all matching”.")
        if len(data.get("ids") or []) > MAX_BULK:
            raise forms.ValidationError(f"At most {MAX_BULK:,} conversations at once.")
        if verb == "assign" and not data.get("assignee"):
            self.add_error("assignee", "Choose an admin, a team, or Unassigned.")
        if verb == "tag" and not data.get("tag"):
            self.add_error("tag", "Give the tag a name.")
        if verb == "snooze":
            data["snooze_until"] = self.snooze_until(data)
        return data

    def snooze_until(self, data: dict) -> datetime | None:
        """Return the moment chosen for a snooze (aware, in the future), or record why there is none."""
        now = timezone.localtime()
        nine = now.replace(hour=9, minute=0, second=0, microsecond=0)
        choice = data.get("until")
        if choice == "later":
            return now + timedelta(hours=3)
        if choice == "tomorrow":
            return nine + timedelta(days=1)
        if choice == "next_week":
            return nine + timedelta(days=7 - now.weekday())
        custom = data.get("until_custom")
        if choice == "custom" and custom and custom > now:
            return custom
        self.add_error("until_custom" if choice == "custom" else "until", "Choose a time in the future.")
        return None


class PreferencesForm(forms.Form):
    keyboard_shortcuts = forms.ChoiceField(choices=[("on", "on"), ("off", "off")])
    next = forms.CharField(max_length=2000, required=False)
