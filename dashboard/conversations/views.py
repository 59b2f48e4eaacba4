"""The conversation page: the thread and its customer, the composer, and every action written back through the API.

Regions of templates/dashboard/conversation/detail.html:
- `conversation-pane`: everything, for the inbox's pane (htmx with HX-Target "conversation-pane");
- `live`: header, controls, thread and action log; polled every 10 s (204 when unchanged), and
  returned after each action;
- `composer`: the Reply / Note form, never polled, so typed text is never lost;
- `customer-tags`: the customer's tags and the Tag form, in the sidebar.
Without JavaScript every form posts and redirects back (or re-renders the page when there is
something to say); with htmx each returns only its region plus the live region out of band.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from dashboard.conversations import presence
from dashboard.conversations.customer import sidebar_context
from dashboard.conversations.forms import ComposerForm, new_key, perform_control
from dashboard.conversations.thread import (
    WINDOW,
    get_conversation,
    matched_part,
    parts_to_show,
    shown_parts,
    thread_context,
)
from dashboard.decorators import staff_required
from intercom_mirror.actions import ActionRefused, admin_for, discard_action, retry_action
from intercom_mirror.models import Conversation, StaffAction

TEMPLATE = "dashboard/conversation/detail.html"
# {% csrf_token %} is masked afresh on every render: left out of the fingerprint of the live region.
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')
TAG_VERBS = ("tag", "untag")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _conversation_or_404(intercom_id: str) -> Conversation:
    conversation = get_conversation(intercom_id)
    if conversation is None:
        raise Http404("No such conversation in the mirror.")
    return conversation


@staff_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def conversation(request: HtmxHttpRequest, intercom_id: str) -> HttpResponse:
    conv = _conversation_or_404(intercom_id)
    if "match" in request.GET:  # from a search result: the page opened at the part that matched
        return HttpResponseRedirect(match_url(conv, request.GET["match"]))
    context = page_context(request, conv, ComposerForm.fresh())
    if request.htmx and request.htmx.target == "conversation-pane":  # the inbox hosts <div id="conversation-pane">
        return render(request, TEMPLATE + "#conversation-pane", {**context, "pane_only": True})
    return render(request, TEMPLATE, context)


def match_url(conv: Conversation, part_pk: str) -> str:
    """Return the page's URL with enough parts to include this one, scrolled to it (the page alone if it is not there)."""
    url = reverse("dash-conversation", args=[conv.intercom_id])
    part = matched_part(conv, part_pk)
    if part is None:
        return url
    shown = parts_to_show(conv, part)
    return f"{url}{f'?parts={shown}' if shown > WINDOW else ''}#part-{quote(part.intercom_id)}"


@staff_required
@require_GET
def live(request: HtmxHttpRequest, intercom_id: str) -> HttpResponse:
    """The polled region; 204 (htmx keeps what it has) when nothing changed since `v`."""
    conv = get_conversation(intercom_id)
    if conv is None:
        return HttpResponseStopPolling()
    html, digest = live_region(request, conv)
    if request.GET.get("v") == digest:
        return HttpResponse(status=204)
    return HttpResponse(html)


@staff_required
@require_POST
def send(request: HtmxHttpRequest, intercom_id: str) -> HttpResponse:
    """Send the composer as a reply or a note; on trouble keep the text and say why."""
    conv = _conversation_or_404(intercom_id)
    form, warning, error = ComposerForm(request.POST), "", ""
    if not form.is_valid():
        error = " ".join(e for errors in form.errors.values() for e in errors)
    elif form.needs_confirmation(conv):
        form, warning = form.kept(), "A new customer message arrived while you were typing — Send anyway?"
    else:
        try:
            action = form.send(conv, request.user)
        except ActionRefused as exc:
            error = str(exc)
        else:
            if action.state == StaffAction.FAILED:  # its key is spent: a new one for the text kept
                form, error = form.kept(key=new_key()), f"Intercom refused this: {action.error_message}"
            else:
                form = ComposerForm.fresh(form.cleaned_data["mode"])
    if not request.htmx:
        if error or warning:
            return render(request, TEMPLATE, page_context(request, conv, form, warning=warning, error=error))
        return HttpResponseRedirect(reverse("dash-conversation", args=[conv.intercom_id]) + "#composer")
    composer = region(request, "composer", composer_context(request, conv, form, warning, error))
    return HttpResponse(composer + live_region(request, conv, oob=True)[0])


@staff_required
@require_POST
def act(request: HtmxHttpRequest, intercom_id: str) -> HttpResponse:
    """Run the named button pressed: assign, close, reopen, snooze, unsnooze, mark_read, tag, untag."""
    conv = _conversation_or_404(intercom_id)
    name = request.POST.get("action", "")
    try:
        notice = failure_notice(perform_control(name, conv, request.POST, request.user))
    except ActionRefused as exc:
        notice = str(exc)
    return after_action(request, intercom_id, notice, tags=name in TAG_VERBS, kept=request.POST.get("name", ""))


@staff_required
@require_POST
def staff_action(request: HtmxHttpRequest, intercom_id: str, pk: int) -> HttpResponse:
    """Retry or discard a failed (or queued) action on this conversation."""
    conv = _conversation_or_404(intercom_id)
    action = get_object_or_404(StaffAction, pk=pk, target_type="conversation", target_intercom_id=conv.intercom_id)
    if admin_for(request.user) is None:
        notice = NOT_LINKED
    elif request.POST.get("action") == "discard":
        notice = failure_notice(discard_action(action, acting_user=request.user))
    else:
        notice = failure_notice(retry_action(action, acting_user=request.user))
    return after_action(request, intercom_id, notice, tags=action.verb in TAG_VERBS)


NOT_LINKED = (
    "Your account is not linked to an Intercom admin, so Intercom would not know who wrote this. "
    "Ask an administrator to link it (Django admin → Staff profiles)."
)


def failure_notice(action: StaffAction) -> str:
    if action.state == StaffAction.FAILED:
        return f"Intercom refused this: {action.error_message or f'HTTP {action.http_status}'}"
    return ""


def after_action(
    request: HtmxHttpRequest, intercom_id: str, notice: str, *, tags: bool = False, kept: str = ""
) -> HttpResponse:
    """Redirect a plain form back to the page; answer htmx with the live region (and the tags, for tag actions)."""
    if not request.htmx:
        if notice:
            messages.error(request, notice)
        return HttpResponseRedirect(reverse("dash-conversation", args=[intercom_id]))
    conv = _conversation_or_404(intercom_id)  # read again: the action has updated the mirror
    if not tags:
        return HttpResponse(live_region(request, conv, notice=notice)[0])
    context = {
        **sidebar_context(conv),
        **writer_context(request),
        "tag_notice": notice,
        "tag_kept": kept if notice else "",
    }
    html = region(request, "customer-tags", {"conversation": conv, **context})
    return HttpResponse(html + live_region(request, conv, oob=True)[0])


# --- contexts ----------------------------------------------------------------------------


def region(request: HtmxHttpRequest, name: str, context: dict[str, Any]) -> str:
    """Render one region of the page.

    Without the request, so that the context processors (the staff profile) do not run again for each
    region; `{% csrf_token %}` only needs the token.
    """
    return render_to_string(f"{TEMPLATE}#{name}", {**context, "csrf_token": get_token(request)})


def writer_context(request: HtmxHttpRequest) -> dict[str, Any]:
    """Say whether the user may write (is linked to an Intercom admin); asked once per request."""
    if not hasattr(request, "can_write"):
        request.can_write = admin_for(request.user) is not None
    return {"can_write": request.can_write}


def live_region(
    request: HtmxHttpRequest, conv: Conversation, *, notice: str = "", oob: bool = False
) -> tuple[str, str]:
    """Render the polled region; return it and the fingerprint of its content (the poll's `v`)."""
    presence.mark_viewing(request.user, conv.intercom_id)
    context = {
        **thread_context(conv, shown_parts(request.GET.get("parts"))),
        **writer_context(request),
        "viewers": presence.other_viewers(request.user, conv.intercom_id),
    }
    inner = region(request, "live-inner", context)
    digest = hashlib.blake2b(CSRF_INPUT.sub("", inner).encode(), digest_size=8).hexdigest()
    # The notice is outside the fingerprint: the next poll answers 204 and leaves it on screen.
    wrapper = {
        "conversation": conv,
        "live_inner": inner,
        "digest": digest,
        "notice": notice,
        "oob": oob,
        # The poll asks for as many parts as the reader has opened.
        "poll_parts": context["shown"] if context["shown"] > WINDOW else None,
    }
    return region(request, "live", wrapper), digest


def composer_context(
    request: HtmxHttpRequest, conv: Conversation, form: ComposerForm, warning: str = "", error: str = ""
):
    return {"conversation": conv, "form": form, "warning": warning, "error": error, **writer_context(request)}


def page_context(
    request: HtmxHttpRequest, conv: Conversation, form: ComposerForm, *, warning: str = "", error: str = ""
):
    return {
        **composer_context(request, conv, form, warning, error),
        **sidebar_context(conv),
        "live_html": live_region(request, conv)[0],
    }
