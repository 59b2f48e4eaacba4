"""Each staff page's server time and query count on the `make demo` workspace.

    make demo            # in another terminal: generates the workspace and mirrors it into db.sqlite3
    python bench/demo_pages.py [--database sqlite:///path/db.sqlite3] [--requests 50]

Requests every dashboard page in-process with Django's test client (server time: middleware,
view, template; production settings), as a staff user who is not a superuser, belongs to
"Support staff" and is linked to a mirrored admin, the way a new teammate would be. Each page is
warmed up, then requested --requests times with the cache cleared before each, and its answer is
checked (status 200 and a name the page must show). Prints p50 / p95 ms and the SQL queries per
request. It reads the demo's mirror and writes only what a visit writes (the staff user, its
profile, and "who is viewing" rows), never calls Intercom.

`bench/pages.py` measures the same pages at a million contacts.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import pages  # noqa: E402  (sets production settings for an in-process client; see its header)

BENCH_USER = "demo-bench-staff"


def staff_client():
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from intercom_mirror.actions.staff import profile_for
    from intercom_mirror.models import Admin

    admin = Admin.objects.live().exclude(email="").order_by("intercom_id").first()
    if admin is None:
        raise SystemExit("No mirrored admin: run `make demo` first (it syncs the sandbox into db.sqlite3).")
    user, _ = User.objects.get_or_create(username=BENCH_USER, defaults={"email": admin.email})
    user.is_staff, user.is_superuser = True, False
    user.save()
    user.groups.add(Group.objects.get(name="Support staff"))
    profile = profile_for(user)
    profile.admin = admin
    profile.save()
    client = Client()
    client.force_login(user)
    return client


def shows(text: str):
    """A check that the page's body holds this (escaped) text."""
    import html

    escaped = html.escape(text)
    return lambda i, body: None if escaped in body else f"{text!r} not shown"


def cases() -> list[pages.Case]:
    from intercom_mirror.models import Company, Contact, Conversation, Tag

    Case = pages.Case
    conv = Conversation.objects.live().order_by("-updated_at", "-id").first()
    longest = Conversation.objects.live().order_by("-parts_total", "-id").first()
    user = Contact.objects.live().filter(role="user").exclude(name="").order_by("-updated_at", "-id").first()
    lead = Contact.objects.live().filter(role="lead").order_by("-updated_at", "-id").first()
    company = Company.objects.live().order_by("-user_count", "-id").first()
    tag = Tag.objects.live().order_by("name").first()
    found = [
        Case("inbox, Your inbox", lambda i: "/inbox/mine/", shows("Your inbox"), inbox=True),
        Case("inbox, All, closed", lambda i: "/inbox/all/?state=closed", shows("All"), inbox=True),
        Case("conversation page", lambda i: f"/conversations/{conv.intercom_id}/", shows("Reply")),
        Case(
            f"conversation page, longest thread ({longest.parts_total} parts)",
            lambda i: f"/conversations/{longest.intercom_id}/",
            shows("Reply"),
        ),
        Case("contacts list", lambda i: "/contacts/", shows("Contacts")),
        Case("contacts list, by tag", lambda i: f"/contacts/?tag={tag.intercom_id}", shows(tag.name)),
        Case("contacts list, search", lambda i: f"/contacts/?q={user.name[:4]}", shows(user.name)),
        Case("contact page, a user", lambda i: f"/contacts/{user.intercom_id}/", shows(user.name)),
        Case("contact page, a lead", lambda i: f"/contacts/{lead.intercom_id}/", shows("Convert to user")),
        Case("companies list", lambda i: "/companies/", shows(company.name)),
        Case("company page", lambda i: f"/companies/{company.intercom_id}/", shows(company.name)),
        Case("tag autocomplete", lambda i: f"/tags/autocomplete/?q={tag.name[:2]}", shows(tag.name)),
        Case("admins and teams", lambda i: "/team/", shows("Away")),
        Case("search, a word", lambda i: "/search/?q=invoice", shows("Conversations"), search=True),
        Case("search, the 300th-part word", lambda i: "/search/?q=QX", shows("Conversations"), search=True),
    ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=f"sqlite:///{ROOT / 'db.sqlite3'}")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    options = parser.parse_args()
    if options.database.startswith("sqlite:///") and not Path(options.database[len("sqlite:///") :]).exists():
        raise SystemExit(f"{options.database} does not exist: run `make demo` first.")

    os.environ["DATABASE_URL"] = options.database
    os.environ["DJANGO_SETTINGS_MODULE"] = "intercom_mirror.settings"
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic needed here
    django.setup()
    from django.db import connection
    from rich.console import Console
    from rich.table import Table

    from intercom_mirror.models import Contact, Conversation

    console = Console(width=160)
    console.print(
        f"{connection.vendor} · {options.database} · {Contact.objects.live().count():,} contacts, "
        f"{Conversation.objects.live().count():,} conversations · load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    client = staff_client()
    table = Table(title="The demo workspace: server time per request (Django test client, in-process)")
    for column in ("page", "requests", "p50 ms", "p95 ms", "queries/request", "check"):
        table.add_column(column, justify="left" if column in ("page", "check") else "right")
    failed = False
    for case in cases():
        result = pages.measure(case, client, options.requests, options.warmup, budget=60.0)
        qs = sorted(set(result.queries))
        queries = str(qs[0]) if len(qs) == 1 else f"{qs[0]}-{qs[-1]}"
        check = "ok" if not result.failures else "FAILED: " + result.failures[0]
        failed = failed or bool(result.failures)
        table.add_row(
            case.name, str(len(result.times)), f"{result.pct(50):.1f}", f"{result.pct(95):.1f}", queries, check
        )
    console.print(table)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
