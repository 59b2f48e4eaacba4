"""Staff dashboard views: thin functions over the mirror's models and services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.decorators import staff_required
from intercom_mirror.status import mirror_status


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    template = "dashboard/home.html"
    if request.htmx:
        template += "#mirror-status"  # the polled region only
    return render(request, template, {"status": mirror_status()})
