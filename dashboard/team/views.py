"""Admins and teams: who is away, who holds which open conversations, who has waited longest; and your away mode.

Regions of templates/dashboard/team/team.html:
- `team-board`: the admins and teams tables, polled every 30 s (HX-Target "team-board") and
  refreshed when the away mode changes;
- `away-mode`: the away form and what happened, returned after a POST with htmx. It is outside
  the polled region, so a poll never resets a box the user has just ticked.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from dashboard.decorators import staff_required
from dashboard.team.forms import AwayForm
from dashboard.team.queries import board
from intercom_mirror.actions import ActionRefused, do_set_admin_away
from intercom_mirror.models import StaffAction

TEMPLATE = "dashboard/team/team.html"


@staff_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def team(request: HttpRequest) -> HttpResponse:
    template = TEMPLATE + ("#team-board" if request.htmx.target == "team-board" else "")
    return render(request, template, {"board": board()})


@require_POST
@staff_required
def away(request: HttpRequest) -> HttpResponse:
    """Set the user's own admin away or back through Intercom; say what happened."""
    kind, notice = set_away(AwayForm(request.POST), request.user)
    if not request.htmx:
        {"ok": messages.success, "queued": messages.info}.get(kind, messages.error)(request, notice)
        return redirect("dash-team")
    response = render(request, f"{TEMPLATE}#away-mode", {"away_notice": notice, "away_kind": kind})
    if kind != "error":
        trigger_client_event(response, "team-changed")  # the board shows the new state
    return response


def set_away(form: AwayForm, user) -> tuple[str, str]:
    """Run the action; return its outcome ("ok", "queued" or "error") and the sentence that says it."""
    if not form.is_valid():
        return "error", next(iter(form.errors.values()))[0]
    away_on, reassign = form.cleaned_data["away"] == "on", form.cleaned_data["reassign"]
    try:
        action = do_set_admin_away(away=away_on, reassign=reassign, acting_user=user)
    except ActionRefused as exc:
        return "error", str(exc)
    if action.state == StaffAction.FAILED:
        return "error", f"Intercom refused this: {action.error_message or f'HTTP {action.http_status}'}"
    if action.state != StaffAction.DONE:
        return "queued", "Intercom did not answer: your away mode will be set when it does (queued, not lost)."
    if not away_on:
        return "ok", "You are back."
    return "ok", "You are away; new replies are reassigned." if reassign else "You are away."
