"""Validate the companies list's GET filters and the tag form's POST body."""

from __future__ import annotations

from django import forms

from dashboard.companies.queries import SORTS

INTERCOM_ID = r"^[A-Za-z0-9_-]{1,64}$"


class ListForm(forms.Form):
    """The list's query parameters; anything invalid falls back to its default."""

    q = forms.CharField(max_length=100, required=False, strip=True)
    tag = forms.RegexField(INTERCOM_ID, required=False)
    segment = forms.RegexField(INTERCOM_ID, required=False)
    plan = forms.CharField(max_length=255, required=False)
    sort = forms.ChoiceField(choices=[(s, s) for s in SORTS], required=False)
    after = forms.CharField(max_length=2000, required=False)

    DEFAULTS = {"q": "", "tag": "", "segment": "", "plan": "", "sort": "name", "after": ""}

    def filters(self) -> dict[str, str]:
        """Return every parameter, each valid or its default."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {key: data.get(key) or default for key, default in self.DEFAULTS.items()}


class TagForm(forms.Form):
    """Tag or untag a company with a tag named by the staff user."""

    action = forms.ChoiceField(choices=[("tag", "Tag"), ("untag", "Untag")])
    name = forms.CharField(
        max_length=255,
        strip=True,
        error_messages={"required": "Give the tag a name.", "max_length": "At most 255 characters."},
    )
