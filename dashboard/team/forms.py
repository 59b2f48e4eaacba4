"""Validate the away-mode form."""

from __future__ import annotations

from django import forms


class AwayForm(forms.Form):
    """Set the staff user's own admin away ("Away", optionally reassigning replies) or back ("Back")."""

    away = forms.ChoiceField(
        choices=[("on", "Away"), ("off", "Back")], error_messages={"required": "Choose Away or Back."}
    )
    reassign = forms.BooleanField(required=False)
