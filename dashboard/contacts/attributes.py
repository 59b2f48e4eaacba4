"""Typed display of untrusted values from Intercom: custom attributes and event metadata.

Every value is data, never markup: the templates escape it. Its type decides how it
reads: integer unix timestamps under keys ending in `_at` or `_date` as dates, http(s)
strings (and Intercom's rich links, `{"url": …}`) as links, `{"amount", "currency"}` as
money (amounts are in cents), booleans as Yes/No, anything nested as compact JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DATE_SUFFIXES = ("_at", "_date")
EARLIEST, LATEST = 0, 253402300799  # 1970 .. 9999-12-31: beyond that it is not a timestamp


@dataclass(frozen=True)
class Value:
    name: str
    kind: str  # "date" | "url" | "bool" | "number" | "money" | "text" | "json"
    value: Any
    label: str = ""  # a link's text

    @property
    def text(self) -> str:
        """Return the value as plain text (dates and links are formatted by the template)."""
        if self.kind == "bool":
            return "Yes" if self.value else "No"
        return str(self.value)


def typed(name: str, value: Any) -> Value:
    """Return one value with the kind it should be shown as."""
    name = str(name)
    if isinstance(value, bool):
        return Value(name, "bool", value)
    if isinstance(value, int | float) and name.lower().endswith(DATE_SUFFIXES) and EARLIEST < value <= LATEST:
        return Value(name, "date", datetime.fromtimestamp(int(value), tz=UTC))
    if isinstance(value, int | float):
        return Value(name, "number", value)
    if isinstance(value, str):
        url = link(value)
        return Value(name, "url", url, label=value) if url else Value(name, "text", value)
    if isinstance(value, dict) and isinstance(value.get("url"), str) and link(value["url"]):
        return Value(name, "url", link(value["url"]), label=value["url"])
    if isinstance(value, dict) and {"amount", "currency"} <= value.keys() and isinstance(value["amount"], int | float):
        return Value(name, "money", f"{value['amount'] / 100:,.2f} {str(value['currency']).upper()}")
    return Value(name, "json", json.dumps(value, ensure_ascii=False, default=str))


def link(text: str) -> str:
    """Return text if it is an http(s) address without spaces, else ""."""
    text = text.strip()
    if text.lower().startswith(("http://", "https://")) and not any(c.isspace() for c in text) and len(text) > 8:
        return text
    return ""


def typed_rows(values: Any) -> list[Value]:
    """Return a dict's entries as typed values, by name; empty values left out."""
    if not isinstance(values, dict):
        return []
    rows = [typed(k, v) for k, v in values.items() if v is not None and v != ""]
    return sorted(rows, key=lambda row: row.name.lower())
