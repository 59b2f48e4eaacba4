"""Data attributes: the standard ones, custom ones created on first write, the list."""

from __future__ import annotations

from typing import Any

from ..records import DataAttribute
from .base import SandboxError, WorkspaceBase, invalid

CUSTOM_ATTRIBUTE_LIMIT = 250
STANDARD_ATTRIBUTES = {
    "customer": (
        ("name", "string", "Name"),
        ("email", "string", "Email"),
        ("user_id", "string", "User ID"),
        ("phone", "string", "Phone"),
        ("signed_up_at", "date", "Signed up"),
        ("last_request_at", "date", "Last seen"),
        ("session_count", "integer", "Web sessions"),
        ("unsubscribed_from_emails", "boolean", "Unsubscribed from emails"),
        ("created_at", "date", "First seen"),
        ("updated_at", "date", "Last updated"),
    ),
    "company": (
        ("name", "string", "Company name"),
        ("company_id", "string", "Company ID"),
        ("monthly_spend", "float", "Monthly spend"),
        ("plan", "string", "Plan"),
        ("size", "integer", "Company size"),
        ("website", "string", "Website"),
        ("industry", "string", "Industry"),
        ("session_count", "integer", "Company web sessions"),
        ("user_count", "integer", "People"),
        ("created_at", "date", "Company first seen"),
    ),
}


class DataAttributesMixin(WorkspaceBase):
    """Data attributes: the standard ones, custom ones created on first write, the list."""

    def render_data_attribute(self, a: DataAttribute, version: str = "1.4") -> dict[str, Any]:
        d = {
            "type": "data_attribute",
            "name": a.name,
            "full_name": f"custom_attributes.{a.name}" if a.custom else a.name,
            "label": a.label,
            "description": a.description,
            "data_type": a.data_type,
            "options": a.options,
            "api_writable": a.api_writable,
            "ui_writable": a.ui_writable,
            "messenger_writable": False,
            "custom": a.custom,
            "archived": a.archived,
            "admin_id": a.admin_id,
            "created_at": a.created_at,
            "updated_at": a.created_at,
        }
        if version >= "1.4":
            d["model"] = a.model
        return d

    def check_custom(self, model: str, incoming: Any) -> None:
        """Raise for custom attributes the API refuses: nested values, bad names, too many attributes."""
        if not isinstance(incoming, dict):
            raise invalid("custom_attributes", "custom_attributes must be an object")
        new = 0
        for key, value in incoming.items():
            # 1.4's changelog: "Custom attribute names are validated"; earlier versions took any name.
            if not key or (self.api_version >= "1.4" and ("." in key or "$" in key)):
                raise invalid("custom_attributes", f"Custom attribute name '{key}' is not valid")
            if isinstance(value, dict | list):
                raise invalid(
                    "custom_attributes", f"Custom attribute '{key}' must be a string, number, boolean or null"
                )
            if isinstance(value, str) and len(value) > 255:
                raise invalid("custom_attributes", f"Custom attribute '{key}' is longer than 255 characters")
            new += value is not None and (model, key) not in self.data_attributes
        live = sum(1 for a in self.data_attributes.values() if a.custom and not a.archived)
        if new and live + new > CUSTOM_ATTRIBUTE_LIMIT:
            raise SandboxError(400, "custom_data_limit_reached", "Custom attribute limit reached", "custom_attributes")

    def merge_custom(self, model: str, current: dict[str, Any], incoming: Any) -> dict[str, Any]:
        """Return current custom attributes merged key by key with incoming (checked first)."""
        self.check_custom(model, incoming)
        for key, value in incoming.items():
            if value is not None:
                self.ensure_attribute(model, key, value)
        return {**current, **incoming}

    def ensure_attribute(self, model: str, name: str, value: Any, admin_id: str | None = None) -> None:
        """Register a custom data attribute the first time it is written."""
        if (model, name) in self.data_attributes:
            return
        self.data_attributes[(model, name)] = DataAttribute(
            name=name,
            model=model,
            data_type=data_type_of(name, value),
            label=name,
            description="",
            custom=True,
            created_at=self.now(),
            admin_id=admin_id,
        )

    def _install_standard_attributes(self) -> None:
        for model, rows in STANDARD_ATTRIBUTES.items():
            for name, data_type, label in rows:
                self.data_attributes[(model, name)] = DataAttribute(
                    name=name,
                    model=model,
                    data_type=data_type,
                    label=label,
                    description=f"The {label.lower()} of the {'company' if model == 'company' else 'user or lead'}",
                    custom=False,
                    created_at=self.app_created_at,
                    api_writable=name not in ("created_at", "updated_at", "session_count", "user_count"),
                    ui_writable=False,
                )

    def list_data_attributes(self, model: str, include_archived: bool = False) -> list[DataAttribute]:
        if model not in ("customer", "company"):
            raise invalid("model", "model must be customer or company")
        return [a for a in self.data_attributes.values() if a.model == model and (include_archived or not a.archived)]


def data_type_of(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "date" if key.endswith("_at") else "integer"
    if isinstance(value, float):
        return "float"
    return "string"
