"""Companies: the searchable, keyset-paged list, and a company's page with its users and their open conversations.

Regions of the templates (htmx asks for one by its id in HX-Target):
- list.html `company-list`: the table and its pager (the search form and the pager links);
- detail.html `company-users`: the users table and its pager;
- detail.html `company-tags`: the tags and the Tag form, returned after a tag or untag.
Without JavaScript every link and form works as plain HTML: GETs render the page, the
tag form posts and redirects back with a message.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.companies.forms import ListForm, TagForm
from dashboard.companies.queries import (
    SORTS,
    company_page,
    company_tags,
    filter_choices,
    get_company,
    open_conversations,
    pending_tag_actions,
    typed_attributes,
    users_page,
)
from dashboard.decorators import staff_required
from intercom_mirror.actions import ActionRefused, do_tag_company
from intercom_mirror.models import Company, StaffAction, Tag

LIST = "dashboard/companies/list.html"
DETAIL = "dashboard/companies/detail.html"


def list_url(filters: dict[str, str], **changes: str) -> str:
    """Return the list's URL with its query parameters (defaults left out)."""
    values = {**filters, **changes}
    query = urlencode({k: values[k] for k, default in ListForm.DEFAULTS.items() if values.get(k, "") != default})
    return reverse("dash-companies") + (f"?{query}" if query else "")


@staff_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def companies(request: HttpRequest) -> HttpResponse:
    filters = ListForm(request.GET).filters()
    page = company_page(filters)
    context = {
        "filters": filters,
        "page": page,
        "sorts": [(key, sort.label) for key, sort in SORTS.items()],
        "sort_urls": {key: list_url(filters, sort=key, after="") for key in SORTS},
        "first_url": list_url(filters, after="") if filters["after"] else "",
        "next_url": list_url(filters, after=page.next_cursor) if page.next_cursor else "",
        "clear_url": list_url({}, sort=filters["sort"]),
        "filtered": any(filters[k] for k in ("q", "tag", "segment", "plan")),
        **filter_choices(),
    }
    template = LIST + ("#company-list" if request.htmx.target == "company-list" else "")
    return render(request, template, context)


@staff_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def company(request: HttpRequest, intercom_id: str) -> HttpResponse:
    found = get_company(intercom_id)
    cursor = request.GET.get("users_after", "")[:2000]
    if request.htmx.target == "company-users":  # a pager link of the users table
        return render(request, f"{DETAIL}#company-users", users_context(found, cursor))
    return render(request, DETAIL, page_context(found, cursor))


@require_POST
@staff_required
def tags(request: HttpRequest, intercom_id: str) -> HttpResponse:
    """Tag or untag the company through Intercom; say what happened, and keep the name typed when it failed."""
    form = TagForm(request.POST)
    kind, notice = tag_company(form, intercom_id, request.user)
    found = get_company(intercom_id)
    kept = form.data.get("name", "")[:255] if kind == "error" and form.data.get("action") == "tag" else ""
    outcome = {"notice": notice, "notice_kind": kind, "kept": kept}
    if request.htmx:
        return render(request, f"{DETAIL}#company-tags", {**tags_context(found, company_tags(found)), **outcome})
    if kind == "error":  # the page again, with the name typed still in the field
        return render(request, DETAIL, {**page_context(found), **outcome})
    (messages.success if kind == "ok" else messages.info)(request, notice)
    return redirect(reverse("dash-company", args=[found.intercom_id]) + "#company-tags")


def tag_company(form: TagForm, intercom_id: str, user) -> tuple[str, str]:
    """Run the tag action; return its outcome ("ok", "queued" or "error") and the sentence that says it."""
    if not form.is_valid():
        return "error", next(iter(form.errors.values()))[0]
    name, untag = form.cleaned_data["name"], form.cleaned_data["action"] == "untag"
    try:
        action = do_tag_company(intercom_id, name, acting_user=user, untag=untag)
    except ActionRefused as exc:
        return "error", str(exc)
    if action.state == StaffAction.DONE:
        return "ok", f"Removed the tag “{name}”." if untag else f"Tagged “{name}”."
    if action.state == StaffAction.FAILED:
        return "error", f"Intercom refused this: {action.error_message or f'HTTP {action.http_status}'}"
    change = "removed" if untag else "added"
    return "queued", f"Intercom did not answer: the tag “{name}” will be {change} when it does (queued, not lost)."


def users_context(found: Company, cursor: str) -> dict:
    """Return a page of the company's users and the links to the first and next pages."""
    users = users_page(found, cursor)
    here = reverse("dash-company", args=[found.intercom_id])
    return {
        "company": found,
        "users": users,
        "users_first_url": here if cursor else "",
        "users_next_url": f"{here}?{urlencode({'users_after': users.next_cursor})}" if users.next_cursor else "",
    }


def page_context(found: Company, cursor: str = "") -> dict:
    conversations, open_total = open_conversations(found)
    return {
        **users_context(found, cursor),
        **tags_context(found, list(found.tags.all())),
        "attributes": typed_attributes(found.custom_attributes),
        "conversations": conversations,
        "open_total": open_total,
    }


def tags_context(found: Company, current: list[Tag]) -> dict:
    return {
        "company": found,
        "tags": current,
        "pending": pending_tag_actions(found),
    }
