"""The contacts pages: the list (filters, search, keyset pages, bulk tagging) and one contact's page.

Regions of templates/dashboard/contacts/list.html: `contact-list` (the table, its pager and
"select all"), returned alone for htmx requests aimed at it. Regions of detail.html:
`contact-tags`, `notes`, `events`, `merge-candidates` and `confirm` (what a conversion will
do). Without JavaScript every form posts and redirects (or renders a page saying why it
did not); with htmx each answers with its region only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event

from dashboard.contacts import bulk as bulk_runs
from dashboard.contacts import page as contact_page
from dashboard.contacts.events import recent_events
from dashboard.contacts.forms import (
    MAX_BULK,
    SEEN_CHOICES,
    BulkTagForm,
    ConvertForm,
    ListForm,
    MergeForm,
    NoteForm,
    TagForm,
    first_error,
)
from dashboard.contacts.queries import PAGE_SIZES, SORTS, Filters, matching, matching_ids, page_of, resolve_company
from dashboard.decorators import staff_required
from intercom_mirror.actions import (
    ActionRefused,
    admin_for,
    discard_action,
    do_add_note_contact,
    do_tag_contact,
    open_actions_for,
    retry_action,
)
from intercom_mirror.api import IntercomError
from intercom_mirror.models import Contact, Segment, StaffAction, Tag

DETAIL = "dashboard/contacts/detail.html"
NOT_LINKED = (
    "Your account is not linked to an Intercom admin, so Intercom would not know who did this. "
    "Ask an administrator to link it (Django admin → Staff profiles)."
)


def list_url(filters: Filters, **changes: Any) -> str:
    query = urlencode(filters.query(**changes))
    return reverse("dash-contacts") + (f"?{query}" if query else "")


def safe_next(request: HttpRequest, url: str | None, default: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and allowed else default


def list_filters(data) -> Filters:
    filters = ListForm(data).filters()
    filters.company_row = resolve_company(filters.company) if filters.company else None
    return filters


# --- the list ---------------------------------------------------------------------------------


@staff_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def contacts(request: HttpRequest) -> HttpResponse:
    filters = list_filters(request.GET)
    page = page_of(matching(filters), SORTS[filters.sort], filters.cursor, filters.size)
    context = {
        "filters": filters,
        "page": page,
        "list_url": list_url(filters),
        "first_url": list_url(filters, cursor="") if filters.cursor else "",
        "next_url": list_url(filters, cursor=page.next_cursor) if page.next_cursor else "",
        "max_bulk": MAX_BULK,
    }
    if request.htmx.target == "contact-list":  # a pager link, or the filters applied by htmx
        return render(request, "dashboard/contacts/list.html#contact-list", context)
    context |= {
        "roles": [(r, label, list_url(filters, role=r, cursor="")) for r, label in ROLE_TABS],
        "tags": Tag.objects.live().only("intercom_id", "name").order_by("name"),
        "segments": Segment.objects.live().only("intercom_id", "name").order_by("name"),
        "sorts": [(key, sort.label) for key, sort in SORTS.items()],
        "seen_choices": SEEN_CHOICES,
        "page_sizes": PAGE_SIZES,
    }
    return render(request, "dashboard/contacts/list.html", context)


ROLE_TABS = [("all", "All"), ("user", "Users"), ("lead", "Leads")]


@staff_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Start tagging (or untagging) the checked contacts, or all matching the filters; show the progress."""
    form = BulkTagForm(request.POST)
    filters = list_filters(request.POST)
    back = list_url(filters, cursor="")
    if admin_for(request.user) is None:
        return bulk_refused(request, back, NOT_LINKED)
    if not form.is_valid():
        return bulk_refused(request, back, first_error(form))
    ids = chosen_contacts(form.cleaned_data, filters)
    if isinstance(ids, str):
        return bulk_refused(request, back, ids)
    verb, name = form.cleaned_data["verb"], " ".join(form.cleaned_data["name"].split())
    run = bulk_runs.start_bulk(request.user, ids, name, untag=verb == "untag")
    query = urlencode({"verb": verb, "name": name, "n": len(ids), "back": back})
    url = f"{reverse('dash-contacts-bulk-progress', args=[run])}?{query}"
    if request.htmx:
        return bulk_progress_response(request, run, verb, name, len(ids), back, url)
    return redirect(url)


def chosen_contacts(data: dict, filters: Filters) -> list[str] | str:
    """Return the ids to tag (the checked ones, or every match of the filters), or why there are none."""
    if data.get("all"):
        ids = matching_ids(matching(filters), SORTS[filters.sort], MAX_BULK + 1)
        if len(ids) > MAX_BULK:
            return f"More than {MAX_BULK:,} contacts match: narrow the list first."
    else:
        live = set(Contact.objects.live().filter(intercom_id__in=data["ids"]).values_list("intercom_id", flat=True))
        ids = [i for i in data["ids"] if i in live]
    return ids or "None of the selected contacts is in the mirror any more."


def bulk_refused(request: HttpRequest, back: str, message: str) -> HttpResponse:
    if request.htmx:
        return render(request, "dashboard/contacts/bulk.html#bulk-refused", {"message": message})
    messages.error(request, message)
    return redirect(back)


@staff_required
@require_GET
def bulk_progress(request: HttpRequest, run: str) -> HttpResponse:
    """Show how far a bulk run has got; once over, how many contacts succeeded and which failed and why."""
    verb = "untag" if request.GET.get("verb") == "untag" else "tag"
    name = " ".join(request.GET.get("name", "").split())[:255]
    try:
        n = max(0, min(int(request.GET.get("n", "0")), MAX_BULK))
    except ValueError:
        n = 0
    back = safe_next(request, request.GET.get("back"), reverse("dash-contacts"))
    return bulk_progress_response(request, run, verb, name, n, back, request.get_full_path())


def bulk_progress_response(request, run: str, verb: str, name: str, n: int, back: str, url: str) -> HttpResponse:
    progress = bulk_runs.progress(run, verb, name, n)
    context = {"progress": progress, "back": "" if request.htmx else back, "progress_url": url}
    template = "dashboard/contacts/bulk.html" + ("#bulk-progress" if request.htmx else "")
    response = render(request, template, context)
    if request.htmx and progress.finished:
        trigger_client_event(response, "contacts-changed")  # the list refreshes to show the new tags
    return response


# --- one contact --------------------------------------------------------------------------------


def region(request: HttpRequest, name: str, context: dict[str, Any]) -> HttpResponse:
    """Render one region of the contact page (without the context processors: the caller passes can_write)."""
    return HttpResponse(render_to_string(f"{DETAIL}#{name}", {**context, "csrf_token": get_token(request)}))


def live_contact_or_404(intercom_id: str) -> Contact:
    contact = Contact.objects.live().filter(intercom_id=intercom_id).first()
    if contact is None:
        raise Http404("No such contact in the mirror.")
    return contact


@staff_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def contact(request: HttpRequest, intercom_id: str) -> HttpResponse:
    found = contact_page.get_contact(intercom_id)
    if found is None:
        raise Http404("No such contact in the mirror.")
    if found.intercom_id != intercom_id:  # a merged lead: its records are the user's now
        return redirect("dash-contact", found.intercom_id)
    can_write = admin_for(request.user) is not None and found.deleted_at is None
    if request.htmx.target == "merge-candidates":
        context = {"contact": found, **contact_page.merge_context(found, request.GET.get("merge_q", ""))}
        return region(request, "merge-candidates", {**context, "can_write": can_write})
    context = contact_page.page_context(found, merge_q=request.GET.get("merge_q", ""))
    context |= {"can_write": can_write, "note_form": NoteForm.fresh(), "convert_form": convert_form(found)}
    return render(request, DETAIL, context)


def convert_form(contact: Contact) -> ConvertForm:
    # A lead's own user_id is an anonymous id Intercom made up; the new user gets it unless the staff changes it.
    return ConvertForm(initial={"user_id": contact.user_id, "email": contact.email})


@staff_required
@require_POST
def tags(request: HttpRequest, intercom_id: str) -> HttpResponse:
    """Tag or untag the contact (named button "action"); htmx gets the tags region back."""
    found = live_contact_or_404(intercom_id)
    form, notice = TagForm(request.POST), ""
    if not form.is_valid():
        notice = first_error(form)
    else:
        untag = form.cleaned_data["action"] == "untag"
        try:
            action = do_tag_contact(found.intercom_id, form.cleaned_data["name"], acting_user=request.user, untag=untag)
        except ActionRefused as exc:
            notice = str(exc)
        else:
            notice = action_notice(action)
    if not request.htmx:
        if notice:
            messages.error(request, notice)
        return redirect(reverse("dash-contact", args=[found.intercom_id]) + "#tags")
    context = contact_page.tags_context(found)
    kept = request.POST.get("name", "") if notice else ""
    return region(request, "contact-tags", {**context, "notice": notice, "kept": kept, "can_write": True})


@staff_required
@require_POST
def staff_action(request: HttpRequest, intercom_id: str, pk: int) -> HttpResponse:
    """Retry or discard a failed (or queued) change to this contact; htmx gets the list of open changes back."""
    found = live_contact_or_404(intercom_id)
    action = StaffAction.objects.filter(pk=pk, target_type="contact", target_intercom_id=found.intercom_id).first()
    if action is None:
        raise Http404("No such change to this contact.")
    if admin_for(request.user) is None:
        notice = "Your account is not linked to an Intercom admin, so you cannot act."
    elif request.POST.get("action") == "discard":
        notice = action_notice(discard_action(action, acting_user=request.user))
    else:
        notice = action_notice(retry_action(action, acting_user=request.user))
    if not request.htmx:
        if notice:
            messages.error(request, notice)
        return redirect(reverse("dash-contact", args=[found.intercom_id]))
    context = {
        "contact": found,
        "open_actions": list(open_actions_for("contact", found.intercom_id).select_related("user")),
        "action_notice": notice,
        "can_write": True,
    }
    if action.state == StaffAction.DONE:  # a retry went through: tags, notes or the contact itself changed
        return HttpResponseClientRefresh()
    return region(request, "open-actions", context)


def action_notice(action: StaffAction) -> str:
    """Return what to tell the user about an action that is not done ("" when it is)."""
    if action.state == StaffAction.FAILED:
        return f"Intercom refused this: {action.error_message or f'HTTP {action.http_status}'}"
    if action.state == StaffAction.QUEUED:
        return "Intercom did not answer in time: this is queued and will be sent automatically, in order."
    return ""


@staff_required
def notes(request: HttpRequest, intercom_id: str) -> HttpResponse:
    """GET (htmx, on load): read the notes again from Intercom. POST: add a note; on trouble keep the text."""
    found = live_contact_or_404(intercom_id)
    can_write = admin_for(request.user) is not None
    if request.method == "GET":
        if not request.htmx:
            return redirect(reverse("dash-contact", args=[found.intercom_id]) + "#notes")
        refreshed = contact_page.refresh_notes_now(found)
        context = {**contact_page.notes_context(found), "refresh_failed": not refreshed}
        return region(request, "notes", context)
    if request.method != "POST":
        return HttpResponse(status=405)
    form, notice = add_note(request, found)
    if not request.htmx:
        if not notice:
            return redirect(reverse("dash-contact", args=[found.intercom_id]) + "#notes")
        context = contact_page.page_context(found)
        context |= {"can_write": can_write, "note_form": form, "note_notice": notice}
        return render(request, DETAIL, {**context, "convert_form": convert_form(found)})
    context = {**contact_page.notes_context(found), "note_form": form, "note_notice": notice, "can_write": can_write}
    both = region(request, "note-form", context).content + region(request, "notes", {**context, "oob": True}).content
    return HttpResponse(both)


def add_note(request: HttpRequest, found: Contact) -> tuple[NoteForm, str]:
    """Send the note; return the form to show next (empty, or with the text kept) and what went wrong."""
    form = NoteForm(request.POST)
    if not form.is_valid():
        return form.kept(), first_error(form)
    try:
        action = do_add_note_contact(
            found.intercom_id,
            form.cleaned_data["body"],
            acting_user=request.user,
            idempotency_key=form.cleaned_data["key"],
        )
    except ActionRefused as exc:
        return form.kept(), str(exc)
    if action.state == StaffAction.FAILED:  # its key is spent: a new one for the text kept
        return form.kept(key=NoteForm.fresh().initial["key"]), action_notice(action)
    return NoteForm.fresh(), action_notice(action)


@staff_required
@require_GET
def events(request: HttpRequest, intercom_id: str) -> HttpResponse:
    """The contact's recent events from Intercom (loaded by the page on its own; never blocks it)."""
    found = live_contact_or_404(intercom_id)
    try:
        events = [] if found.role == Contact.LEAD else recent_events(found.intercom_id)  # users only have events
        context = {"events": events, "events_loaded": True}
    except IntercomError:
        context = {"events_error": True, "events_loaded": True}
    context["contact"] = found
    if request.htmx:
        return region(request, "events", context)
    return render(request, "dashboard/contacts/events.html", context)


# --- lead conversion -------------------------------------------------------------------------------


@staff_required
@require_POST
def convert(request: HttpRequest, intercom_id: str) -> HttpResponse:
    """Convert a lead into a user: first say what will happen (dialog or page), then do it once confirmed."""
    lead = live_contact_or_404(intercom_id)
    form = ConvertForm(request.POST)
    if not lead.is_lead:
        return back_to(request, lead, "This contact is a user already.")
    if not form.is_valid():
        return back_to(request, lead, first_error(form))
    data = form.cleaned_data
    if not data.get("confirmed"):
        context = contact_page.convert_confirmation(lead, data["user_id"], data["email"] or "")
        return confirm(request, lead, context)
    return after_conversion(request, lead, "convert", user_id=data["user_id"], email=data["email"] or "")


@staff_required
@require_POST
def merge(request: HttpRequest, intercom_id: str) -> HttpResponse:
    """Merge a lead into an existing user, once confirmed."""
    lead = live_contact_or_404(intercom_id)
    form = MergeForm(request.POST)
    if not lead.is_lead:
        return back_to(request, lead, "This contact is a user already.")
    if not form.is_valid():
        return back_to(request, lead, first_error(form))
    user = Contact.objects.live().filter(intercom_id=form.cleaned_data["into"], role=Contact.USER).first()
    if user is None:
        return back_to(request, lead, "That user is not in the mirror (or no longer in Intercom).")
    if not form.cleaned_data.get("confirmed"):
        return confirm(request, lead, contact_page.merge_confirmation(lead, user))
    return after_conversion(request, lead, "merge", into=user.intercom_id)


def confirm(request: HttpRequest, lead: Contact, context: dict[str, Any]) -> HttpResponse:
    """Say what the conversion will do: in the page's dialog (htmx), or on a page of its own."""
    context = {"contact": lead, **context, "can_write": admin_for(request.user) is not None}
    if request.htmx:
        return region(request, "confirm", context)
    return render(request, "dashboard/contacts/confirm.html", context)


def after_conversion(request: HttpRequest, lead: Contact, verb: str, **target: str) -> HttpResponse:
    """Send the conversion; go to the user it became (or merged into), or back to the lead saying why not."""
    try:
        action = contact_page.send_conversion(lead, verb, request.user, **target)
    except ActionRefused as exc:
        return back_to(request, lead, str(exc), redirect_always=True)
    notice = action_notice(action)
    if notice:
        return back_to(request, lead, notice, redirect_always=True)
    lead.refresh_from_db()
    user_id = lead.merged_into_id or lead.intercom_id
    messages.success(request, contact_page.conversion_done(lead, verb))
    url = reverse("dash-contact", args=[user_id])
    return HttpResponse(headers={"HX-Redirect": url}) if request.htmx else redirect(url)


def back_to(request: HttpRequest, lead: Contact, message: str, *, redirect_always: bool = False) -> HttpResponse:
    url = reverse("dash-contact", args=[lead.intercom_id])
    if request.htmx and not redirect_always:
        return region(request, "confirm", {"contact": lead, "error": message, "can_write": True})
    messages.error(request, message)
    return HttpResponse(headers={"HX-Redirect": url}) if request.htmx else redirect(url)
