"""Staff dashboard views: thin functions over the mirror's models and services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.decorators import staff_required


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html")
