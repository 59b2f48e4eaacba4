"""Untrusted HTML from Intercom (message and part bodies): the one place it is sanitised and marked safe.

Bodies are cleaned with nh3 at render time against a small allow-list, so a body
synced before a rule changed is never rendered with the old rules. Remote images
are never loaded on page view (they may be tracking pixels): each one becomes a
link to the image, "Load image from <host>", which opens it in a new tab, or
which static/js/thread.js swaps for the image when clicked.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

TAGS = {"p", "br", "a", "b", "strong", "i", "em", "ul", "ol", "li", "code", "pre", "blockquote", "img"}
ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}, "*": set()}  # "*": none of nh3's default title/lang
URL_SCHEMES = {"http", "https", "mailto"}
# Links leave the dashboard in a new tab, tell nobody where they came from, and earn no search credit.
LINK_REL = "noopener noreferrer nofollow"

# nh3's output is serialised by html5ever: every attribute value is double-quoted with `"`, `&`,
# `<` and `>` escaped, so an <img> tag in it ends at the first ">" and its attributes are exactly
# name="value" pairs. (Text that looked like a tag in the input is escaped as &lt;img.)
IMG_TAG = re.compile(r"<img\b([^>]*)>")
ATTRIBUTE = re.compile(r'([a-z][a-z0-9-]*)="([^"]*)"')
# Where a block ends, plain text needs a space: "<p>Hi</p><p>there</p>" reads "Hi there".
BLOCK_END = re.compile(r"<(?:br|/p|/div|/li|/h\d|/blockquote|/pre)\b[^>]*>", re.IGNORECASE)


def sanitise(body: str | None) -> SafeString:
    """Return Intercom HTML reduced to the allow-list, with remote images behind a click."""
    cleaned = nh3.clean(
        body or "",
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        url_relative="deny",  # "/admin/…" or "x" would point at this site
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return mark_safe(IMG_TAG.sub(image_placeholder, cleaned))  # noqa: S308 - nh3 output, images rewritten


def image_placeholder(match: re.Match[str]) -> str:
    """Return the link that stands for a remote image until it is clicked."""
    attrs = {name: html.unescape(value) for name, value in ATTRIBUTE.findall(match.group(1))}
    src = attrs.get("src", "")
    host = urlsplit(src).hostname if src.lower().startswith(("http://", "https://")) else None
    if not host:
        return format_html(
            '<span class="image-removed">[image{}]</span>', f": {attrs['alt']}" if attrs.get("alt") else ""
        )
    return format_html(
        '<a class="remote-image" href="{}" data-src="{}" data-alt="{}" target="_blank" rel="{}">Load image from {}</a>',
        src,
        src,
        attrs.get("alt", ""),
        LINK_REL,
        host,
    )


def plain_text(body: str | None, limit: int | None = None) -> str:
    """Return the visible text of Intercom HTML, whitespace collapsed (cut at limit characters)."""
    text = " ".join(html.unescape(nh3.clean(BLOCK_END.sub(" ", body or ""), tags=set())).split())
    if limit is not None and len(text) > limit:
        return text[: limit - 1].rstrip() + "…"
    return text


def safe_url(url: str | None) -> str:
    """Return url if it is an http(s) address (attachments come from the API), else ""."""
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else ""
