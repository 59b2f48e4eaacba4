"""Validate the contacts list's GET filters and the contact pages' POST bodies."""

from __future__ import annotations

import uuid

from django import forms

from dashboard.contacts.queries import DEFAULT_PAGE_SIZE, PAGE_SIZES, ROLES, SEEN, SORTS, Filters

SEEN_CHOICES = [
    ("", "Any time"),
    ("7", "In the last 7 days"),
    ("30", "In the last 30 days"),
    ("90", "In the last 90 days"),
    ("never", "Never"),
]
MAX_BULK = 10_000  # contacts in one bulk run: 200 requests of 50
IDS_MAX = 64


class ListForm(forms.Form):
    """The list's query parameters; anything invalid falls back to its default."""

    role = forms.ChoiceField(choices=[(r, r) for r in ROLES], required=False)
    q = forms.CharField(max_length=100, required=False, strip=True)
    tag = forms.CharField(max_length=IDS_MAX, required=False, strip=True)
    segment = forms.CharField(max_length=IDS_MAX, required=False, strip=True)
    company = forms.CharField(max_length=255, required=False, strip=True)
    seen = forms.ChoiceField(choices=[(v, v) for v in ["", *SEEN, "never"]], required=False)
    sort = forms.ChoiceField(choices=[(s, s) for s in SORTS], required=False)
    size = forms.TypedChoiceField(choices=[(str(n), n) for n in PAGE_SIZES], coerce=int, required=False)
    cursor = forms.CharField(max_length=1000, required=False)

    def filters(self) -> Filters:
        """Return the filters, each valid or its default (a bad value never errors the page)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        for name in self.errors:  # drop only the bad field, keep the rest
            data.pop(name, None)
        return Filters(
            role=data.get("role") or "all",
            q=data.get("q") or "",
            tag=data.get("tag") or "",
            segment=data.get("segment") or "",
            company=data.get("company") or "",
            seen=data.get("seen") or "",
            sort=data.get("sort") or "last_seen",
            size=data.get("size") or DEFAULT_PAGE_SIZE,
            cursor=data.get("cursor") or "",
        )


class IdsField(forms.Field):
    """Contact ids from checkboxes that share one name."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        ids = [str(v).strip() for v in value or [] if str(v).strip()]
        if any(len(v) > IDS_MAX for v in ids):
            raise forms.ValidationError("Not a contact id.")
        return list(dict.fromkeys(ids))


class BulkTagForm(forms.Form):
    """Tag or untag the checked contacts, or every contact matching the list's filters."""

    verb = forms.ChoiceField(choices=[("tag", "Tag"), ("untag", "Untag")])
    name = forms.CharField(max_length=255, strip=True, error_messages={"required": "Give the tag a name."})
    ids = IdsField(required=False)
    all = forms.BooleanField(required=False)

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("all") and not data.get("ids"):
            raise forms.ValidationError("Select some contacts first, or “Select all matching”.")
        if len(data.get("ids") or []) > MAX_BULK:
            raise forms.ValidationError(f"At most {MAX_BULK:,} contacts at once.")
        return data


class TagForm(forms.Form):
    action = forms.ChoiceField(choices=[("tag", "Tag"), ("untag", "Untag")])
    name = forms.CharField(max_length=255, strip=True, error_messages={"required": "Give the tag a name."})


class NoteForm(forms.Form):
    body = forms.CharField(
        max_length=20_000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Type the note first."},
    )
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)  # one per form shown: a double submit posts once

    @classmethod
    def fresh(cls) -> NoteForm:
        return cls(initial={"key": new_key()})

    def kept(self, key: str | None = None) -> NoteForm:
        """Return the form again with the text typed (and a new one-time key when the old one is spent)."""
        return NoteForm(initial={"body": self.data.get("body", ""), "key": key or self.data.get("key") or new_key()})


def new_key() -> str:
    return f"note-{uuid.uuid4().hex}"


class ConvertForm(forms.Form):
    user_id = forms.CharField(max_length=255, required=False, strip=True, label="user_id")
    email = forms.EmailField(max_length=255, required=False, label="Email")
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("user_id") and not data.get("email") and not self.errors:
            raise forms.ValidationError("Give the new user a user_id or an email.")
        return data


class MergeForm(forms.Form):
    into = forms.CharField(max_length=IDS_MAX, error_messages={"required": "Choose the user to merge the lead into."})
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


def first_error(form: forms.Form) -> str:
    """Return the form's first error as a sentence, naming the field it is about."""
    for field, errors in form.errors.items():
        if field == "__all__":
            return errors[0]
        label = form.fields[field].label or field.replace("_", " ").capitalize()
        return f"{label}: {errors[0]}"
    return "Check the form."
