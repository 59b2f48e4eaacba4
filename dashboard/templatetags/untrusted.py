"""Template filters for text that comes from Intercom (untrusted): `{{ part.body|untrusted_html }}`."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from dashboard import html

register = template.Library()


@register.filter
def untrusted_html(body: str | None) -> SafeString:
    """Render an Intercom HTML body through the sanitiser (the only way such HTML reaches a page)."""
    return html.sanitise(body)


@register.filter
def plain_text(body: str | None, limit: int | None = None) -> str:
    """Return the visible text of an Intercom HTML body (auto-escaped by the template)."""
    return html.plain_text(body, limit)


@register.filter
def safe_url(url: str | None) -> str:
    """Return an http(s) URL from the API, or "" for anything else (javascript:, data:, …)."""
    return html.safe_url(url)
