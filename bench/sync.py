"""Sync benchmark: the mirror against the sandbox over real HTTP on loopback.

    python bench/sync.py --contacts 20000 --conversations 2000 [--changes 50] [--rate-limit 0]

Starts the sandbox as its own process (so its memory is not counted) with Intercom's default rate
limit (166 requests / 10 s; --rate-limit 0 lifts it, which makes it a CPU test), then runs,
each in a fresh child process on a fresh SQLite database:
  1. fetch-only: the client reads exactly the pages a full sync reads, with the
     same read-ahead and parallel detail fetches, and writes nothing;
  2. full sync of every resource;
  3. an incremental pass after --changes updates to users, leads and conversations.
Prints records/s, API requests, wall time, the full/fetch ratio and peak RSS of each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
sys.path.insert(0, str(ROOT))
# A benchmark is a development run: no production secret key needed (inherited by the children).
os.environ.setdefault("DJANGO_DEBUG", "true")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(database: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intercom_mirror.settings")
    import django

    django.setup()


def make_client(base_url: str):
    from intercom_mirror.api import IntercomClient

    return IntercomClient(TOKEN, base_url, timeout=120)


# --- phases (each runs in its own child process) -------------------------------------


def phase_fetch(base_url: str) -> dict:
    """Read what a full sync reads, the way it reads it (read-ahead, parallel details), and discard it."""
    from intercom_mirror.sync.pipeline import prefetch
    from intercom_mirror.sync.resources import PER_PAGE, fetch_conversations

    client = make_client(base_url)
    started, records = time.perf_counter(), 0
    for resource_name in ("users", "leads", "companies"):
        for page in prefetch(client.iter_scroll(resource_name)):
            records += len(page)
    records += len(client.list_admins()["admins"]) + len(client.list_teams()["teams"])
    records += len(client.list_tags()["tags"])
    records += len(client.list_segments()["segments"]) + len(client.list_segments(type="company")["segments"])
    pages = client.iter_pages("list_conversations", sort="updated_at", order="desc", per_page=PER_PAGE)
    for page in prefetch(pages):
        records += len(fetch_conversations(client, [str(i["id"]) for i in page["conversations"]]))
    return {"seconds": time.perf_counter() - started, "records": records, "requests": client.request_count}


def phase_sync(base_url: str, full: bool) -> dict:
    from django.core.management import call_command

    from intercom_mirror import sync

    call_command("migrate", verbosity=0)
    client = make_client(base_url)
    started = time.perf_counter()
    runs = sync.sync_all(full=full, client=client)
    seconds = time.perf_counter() - started
    failed = [f"{r.resource}: {r.errors}" for r in runs if r.status != "ok"]
    return {
        "seconds": seconds,
        "records": sum(r.fetched for r in runs),
        "requests": client.request_count,
        "per_resource": {
            r.resource: {
                "requests": r.api_requests,
                "fetched": r.fetched,
                "kind": r.kind,
                "seconds": r.duration.total_seconds() if r.duration else 0.0,
            }
            for r in runs
        },
        "contacts": contacts_mirrored(),
        "failed": failed,
    }


def contacts_mirrored() -> int:
    from intercom_mirror.models import Contact

    return Contact.objects.live().count()


def run_child(args: list[str]) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- orchestration ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(contacts: int, conversations: int, port: int, rate_limit: int) -> subprocess.Popen:
    leads = contacts // 5
    command = [
        sys.executable, "manage.py", "intercom_sandbox", "--port", str(port), "--seed", "1",
        "--users", str(contacts - leads), "--leads", str(leads), "--conversations", str(conversations),
        "--token", TOKEN, "--rate-limit", str(rate_limit),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"sandbox exited: {process.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.5)
    raise SystemExit("sandbox did not start in 5 minutes")


def fresh_window(rate_limit: int) -> None:
    """Start the next pass in a fresh rate-limit window, so passes don't pay for each other."""
    if rate_limit:
        time.sleep(11)


def make_changes(base_url: str, k: int) -> None:
    """Update k users, k leads and k conversations through the API."""
    client = make_client(base_url)
    users = client.list_users(per_page=k, sort="created_at")["users"][:k]
    for user in users:
        client.create_user({"id": user["id"], "name": f"{user.get('name') or ''} (changed)"})
    leads = client.list_leads(per_page=k)["contacts"][:k]
    for lead in leads:
        client.update_lead({"id": lead["id"], "name": f"{lead.get('name') or ''} (changed)"})
    admin = next(a for a in client.list_admins()["admins"] if a["type"] == "admin")
    conversations = client.list_conversations(per_page=k, sort="created_at", order="asc")["conversations"][:k]
    for conversation in conversations:
        body = {"type": "admin", "admin_id": admin["id"], "message_type": "note", "body": "bench note"}
        client.post_reply(str(conversation["id"]), body)


def orchestrate(options: argparse.Namespace) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    limit = f"{options.rate_limit} requests / 10 s" if options.rate_limit else "no rate limit"
    print(f"Sandbox: {options.contacts:,} contacts, {options.conversations:,} conversations, {limit}, on {base_url}")

    generated = time.perf_counter()
    sandbox = start_sandbox(options.contacts, options.conversations, port, options.rate_limit)
    print(f"  ready in {time.perf_counter() - generated:.1f} s", flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            database = options.database or f"sqlite:///{tmp}/bench.sqlite3"
            fetch = run_child(["--phase", "fetch", "--base-url", base_url, "--database", database])
            fresh_window(options.rate_limit)
            full = run_child(["--phase", "full", "--base-url", base_url, "--database", database])
            time.sleep(1.1)  # let updated_at move past the full sync's start
            make_changes(base_url, options.changes)
            time.sleep(1.1)
            fresh_window(options.rate_limit)
            incremental = run_child(["--phase", "incremental", "--base-url", base_url, "--database", database])
    finally:
        sandbox.terminate()
        sandbox.wait()
    report(options, fetch, full, incremental)


def report(options: argparse.Namespace, fetch: dict, full: dict, incremental: dict) -> None:
    print()
    print(f"{'pass':<13}{'records':>10}{'requests':>10}{'wall s':>10}{'records/s':>11}{'peak RSS MB':>13}")
    for name, figures in (("fetch-only", fetch), ("full sync", full), ("incremental", incremental)):
        rate = figures["records"] / figures["seconds"] if figures["seconds"] else 0
        print(
            f"{name:<13}{figures['records']:>10,}{figures['requests']:>10,}{figures['seconds']:>10.2f}"
            f"{rate:>11,.0f}{figures['peak_rss_mb']:>13.1f}"
        )
    notes = full["per_resource"].get("notes", {"seconds": 0.0, "requests": 0, "fetched": 0})
    without_notes = full["seconds"] - notes["seconds"]
    print(f"\nfull sync without the notes pass / fetch-only wall time: {without_notes / fetch['seconds']:.2f}")
    print("full sync, per resource:")
    for name, figures in full["per_resource"].items():
        print(
            f"  {name:<14}{figures['requests']:>8,} requests{figures['seconds']:>9.2f} s  {figures['fetched']:>8,} records"
        )
    per_contact = notes["requests"] / full["contacts"] if full["contacts"] else 0
    print(
        f"notes pass: {notes['requests']:,} requests for {full['contacts']:,} contacts "
        f"({per_contact:.3f} per contact, {notes['fetched']:,} notes); at 1,000 requests/min that is "
        f"{per_contact * 1_000_000 / 1000 / 60:.1f} h per million contacts"
    )
    k, page = options.changes, 60
    bound = -(-k // page) + 2
    print(f"incremental after {k} changes per resource (bound ⌈k/{page}⌉ + 2 = {bound} list requests):")
    for name, figures in incremental["per_resource"].items():
        print(f"  {name:<14}{figures['requests']:>5} requests  ({figures['kind']}, {figures['fetched']} records)")
    for failed in full["failed"] + incremental["failed"]:
        print(f"FAILED {failed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=2_000)
    parser.add_argument("--changes", type=int, default=50, help="k: changes per resource before the incremental pass")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=166,
        help="sandbox requests per 10 s: Intercom's default (166) unless set; 0 removes the limit (a CPU stress test)",
    )
    parser.add_argument("--phase", choices=["fetch", "full", "incremental"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--database", help="an empty database URL (default: a temporary SQLite file)")
    options = parser.parse_args()
    if not options.phase:
        orchestrate(options)
        return
    setup_django(options.database)
    if options.phase == "fetch":
        figures = phase_fetch(options.base_url)
    else:
        figures = phase_sync(options.base_url, full=options.phase == "full")
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
