"""The search page: everything in the mirror, grouped into conversations, contacts and companies."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from dashboard.decorators import staff_required
from intercom_mirror.models import Company, Contact
from intercom_mirror.search.queries import Cursor, Page, Search, search_conversations, search_people
from intercom_mirror.search.query import MAX_LENGTH, parse

GROUPS = {"conversations": "Conversations", "contacts": "Contacts", "companies": "Companies"}
# Rows per group on the first page of results, and on a group's own pages ("More conversations").
PREVIEW = {"conversations": 10, "contacts": 5, "companies": 5}
PAGE_SIZE = 25


@dataclass
class Section:
    key: str
    title: str
    page: Page
    more_url: str


def find(key: str, search: Search, after: Cursor | None, size: int) -> Page:
    if key == "conversations":
        return search_conversations(search.query, user=search.user, after=after, size=size, search=search)
    model = Contact if key == "contacts" else Company
    return search_people(model, search.query, after=after, size=size, search=search)


def results_url(text: str, key: str, after: str = "") -> str:
    return reverse("dash-search") + "?" + urlencode({"q": text, "in": key, **({"after": after} if after else {})})


@staff_required
def search(request: HttpRequest) -> HttpResponse:
    """Show the records a query matches: each group's best first, or one group's pages by keyset."""
    text = request.GET.get("q", "").strip()[:MAX_LENGTH]
    only = request.GET.get("in", "") if request.GET.get("in", "") in GROUPS else ""
    query = parse(text)
    sections = []
    search = Search(query, request.user)  # one for every group: the tag names are read once
    if not query.is_empty:
        after = Cursor.parse(request.GET.get("after")) if only else None
        for key in [only] if only else GROUPS:
            if key != "conversations" and query.conversation_filters:
                continue  # from:, assignee:, state:, before: and after: describe conversations only
            page = find(key, search, after, PAGE_SIZE if only else PREVIEW[key])
            more = results_url(text, key, page.next_cursor) if page.next_cursor else ""
            sections.append(Section(key, GROUPS[key], page, more))
    context = {
        "text": text,
        "query": query,
        "only": GROUPS.get(only, ""),
        "paged": bool(request.GET.get("after")),
        "all_url": reverse("dash-search") + "?" + urlencode({"q": text}),
        "first_url": results_url(text, only) if only else "",
        "sections": sections,
    }
    return render(request, "dashboard/search/search.html", context)
