"""The staff inbox: folders with counts, a keyset-paged list, bulk actions, and keyboard preferences."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from dashboard.decorators import staff_required
from dashboard.inbox import bulk as bulk_runs
from dashboard.inbox.forms import BULK_VERBS, MAX_BULK, SNOOZE_CHOICES, BulkForm, ListForm, PreferencesForm
from dashboard.inbox.queries import SORTS, STATES, assignees, folder_filter, folders, matching, page_of
from intercom_mirror.actions import admin_for, profile_for
from intercom_mirror.models import Conversation

FOLDER_SLUG = re.compile(r"[A-Za-z0-9_-]{1,80}")


def list_url(slug: str, filters: dict[str, str], **changes: str) -> str:
    """Return the folder's URL with the list's query parameters (defaults left out)."""
    values = {**filters, **changes}
    defaults = {"state": "open", "sort": "latest", "q": "", "after": ""}
    query = urlencode({k: values[k] for k in defaults if values.get(k, "") != defaults[k]})
    return reverse("dash-inbox-folder", args=[slug]) + (f"?{query}" if query else "")


def safe_next(request: HttpRequest, url: str | None, default: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and allowed else default


@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Open the user's own inbox, or Unassigned when they act as no admin."""
    return redirect("dash-inbox-folder", "mine" if admin_for(request.user) else "unassigned")


@staff_required
@vary_on_headers("HX-Request", "HX-Target")
def folder(request: HttpRequest, slug: str) -> HttpResponse:
    admin = admin_for(request.user)
    if request.htmx.target == "inbox-folders":  # the folders' poll: counts only
        return render(request, "dashboard/inbox/inbox.html#folders", {"folders": folders(admin), "slug": slug})
    name, condition = folder_filter(slug, admin)
    filters = ListForm(request.GET).filters()
    page = page_of(
        matching(condition, filters["state"], filters["q"], user=request.user),
        SORTS[filters["sort"]],
        filters["after"],
        user=request.user,
        folder=matching(condition, filters["state"]) if filters["q"] else None,  # the search box's stretches
    )
    context = {
        "slug": slug,
        "folder_name": name,
        "filters": filters,
        "page": page,
        "list_url": list_url(slug, filters),
        "first_url": list_url(slug, filters, after="") if filters["after"] else "",
        "next_url": list_url(slug, filters, after=page.next_cursor) if page.next_cursor else "",
    }
    if request.htmx.target == "conversation-list":  # the list's poll, or a pager link
        return render(request, "dashboard/inbox/inbox.html#conversation-list", context)
    context |= {
        "folders": folders(admin),
        "states": [(s, list_url(slug, filters, state=s, after="")) for s in STATES],
        "sorts": [(key, sort.label) for key, sort in SORTS.items()],
        "assignees": assignees() if admin else [],
        "snooze_choices": SNOOZE_CHOICES,
        "not_linked": slug == "mine" and admin is None,
    }
    return render(request, "dashboard/inbox/inbox.html", context)


@require_POST
@staff_required
def bulk(request: HttpRequest) -> HttpResponse:
    """Start a bulk action over the selected (or all matching) conversations; show its progress."""
    form = BulkForm(request.POST)
    admin = admin_for(request.user)
    data = form.data
    slug = str(data.get("folder") or "")
    back = list_url(slug if FOLDER_SLUG.fullmatch(slug) else "all", ListForm(data).filters(), after="")
    if admin is None:
        return bulk_refused(request, back, "Your account is not linked to an Intercom admin, so you cannot act.")
    if not form.is_valid():
        return bulk_refused(request, back, first_error(form))
    ids = chosen_conversations(form.cleaned_data, admin, request.user)
    if isinstance(ids, str):
        return bulk_refused(request, back, ids)
    verb = form.cleaned_data["verb"]
    options = {
        "assignee": form.cleaned_data.get("assignee"),
        "until": form.cleaned_data.get("snooze_until"),
        "tag": form.cleaned_data.get("tag"),
    }
    run = bulk_runs.start_bulk(request.user, verb, ids, options)
    url = reverse("dash-inbox-bulk-progress", args=[run])
    query = {"verb": verb, "total": len(ids), "back": back}
    if request.htmx:
        return bulk_progress_response(request, run, verb, len(ids), back, f"{url}?{urlencode(query)}")
    return redirect(f"{url}?{urlencode(query)}")


def chosen_conversations(data: dict, admin, user) -> list[str] | str:
    """Return the ids to act on (the checked ones, or every match of the list's filters), or why there are none."""
    if data.get("all"):
        _, condition = folder_filter(data["folder"], admin)
        qs = matching(condition, data.get("state") or "open", data.get("q") or "", user=user)
        sort = SORTS[data.get("sort") or "latest"]
        ids = list(qs.order_by(*sort.order_by()).values_list("intercom_id", flat=True)[: MAX_BULK + 1])
        if len(ids) > MAX_BULK:
            return f"More than {MAX_BULK:,} conversations match: narrow the list first."
    else:
        live = set(
            Conversation.objects.live().filter(intercom_id__in=data["ids"]).values_list("intercom_id", flat=True)
        )
        ids = [i for i in data["ids"] if i in live]
    return ids or "None of the selected conversations is in the mirror any more."


def first_error(form: BulkForm) -> str:
    for field, errors in form.errors.items():
        if field == "__all__":
            return errors[0]
        return f"{form.fields[field].label or field.replace('_', ' ').capitalize()}: {errors[0]}"
    return "Check the form."


def bulk_refused(request: HttpRequest, back: str, message: str) -> HttpResponse:
    if request.htmx:
        return render(request, "dashboard/inbox/bulk.html#bulk-refused", {"message": message})
    messages.error(request, message)
    return redirect(back)


@staff_required
def bulk_progress(request: HttpRequest, run: str) -> HttpResponse:
    """Show how far a bulk run has got; when it is over, what succeeded and what failed and why."""
    verb = request.GET.get("verb", "")
    verb = verb if verb in dict(BULK_VERBS) else "close"
    try:
        total = max(0, min(int(request.GET.get("total", "0")), MAX_BULK))
    except ValueError:
        total = 0
    back = safe_next(request, request.GET.get("back"), reverse("dash-inbox"))
    return bulk_progress_response(request, run, verb, total, back, request.get_full_path())


def bulk_progress_response(request, run: str, verb: str, total: int, back: str, url: str) -> HttpResponse:
    progress = bulk_runs.progress(run, verb, total)
    # Shown inside the list (htmx), the progress needs no way back to it.
    context = {"run": run, "progress": progress, "back": "" if request.htmx else back, "progress_url": url}
    template = "dashboard/inbox/bulk.html" + ("#bulk-progress" if request.htmx else "")
    response = render(request, template, context)
    if request.htmx and progress.finished:
        trigger_client_event(response, "inbox-changed")  # the list refreshes to show the outcome
    return response


@require_POST
@staff_required
def preferences(request: HttpRequest) -> HttpResponse:
    """Switch single-key shortcuts on or off (WCAG 2.1.4), then go back where the user was."""
    form = PreferencesForm(request.POST)
    if form.is_valid():
        profile = profile_for(request.user)
        profile.keyboard_shortcuts = form.cleaned_data["keyboard_shortcuts"] == "on"
        profile.save(update_fields=["keyboard_shortcuts"])
        state = "on" if profile.keyboard_shortcuts else "off"
        messages.success(request, f"Single-key keyboard shortcuts are {state}.")
    return redirect(safe_next(request, request.POST.get("next"), reverse("dash-inbox")))
