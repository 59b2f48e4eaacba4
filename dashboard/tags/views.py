"""Tag autocomplete, shared by every tag field (contacts, companies, bulk tagging).

`GET /tags/autocomplete/?q=vi` answers with the existing tags whose name starts with
"vi" (any case), and a "Create tag “vi”" option when no tag has exactly that name
(any case: Intercom treats "VIP" and "vip" as one tag). An htmx request gets the
`tag-options` region alone (a <ul> of buttons carrying `data-tag`); a plain request
gets a page listing them.

To use it, include templates/dashboard/tags/tag_input.html in a form and load
static/js/contacts.js: a click on an option puts its name in the field (and submits
the form when the field says `data-submit-on-pick`). The field may be named q, name
or tag: htmx sends it under its own name.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard.decorators import staff_required
from intercom_mirror.models import Tag

SHOWN = 10
PARAMS = ("q", "name", "tag")  # the field's own name, as htmx sends it


def matching_tags(prefix: str, limit: int = SHOWN) -> tuple[list[str], bool]:
    """Return the names of live tags starting with prefix (case-insensitive, one per name in any case),
    and whether one of them is exactly the prefix (in any case)."""
    prefix = " ".join(prefix.split())
    names = Tag.objects.live().order_by("name", "id").values_list("name", flat=True)
    if prefix:
        names = names.filter(name__istartswith=prefix)
    found: dict[str, str] = {}
    for name in names[: limit * 3]:  # a few spare for names that differ only in case
        found.setdefault(name.lower(), name)
    exact = prefix.lower() in found
    if exact:  # the exact match first, then the rest
        found = {prefix.lower(): found[prefix.lower()], **found}
    return list(found.values())[:limit], exact


@staff_required
@require_GET
@vary_on_headers("HX-Request")
def autocomplete(request: HttpRequest) -> HttpResponse:
    q = next((request.GET[p] for p in PARAMS if request.GET.get(p, "").strip()), "")
    q = " ".join(q.split())[:255]
    names, exact = matching_tags(q)
    context = {"q": q, "names": names, "create": q if q and not exact else ""}
    template = "dashboard/tags/autocomplete.html" + ("#tag-options" if request.htmx else "")
    return render(request, template, context)
