"""What the search index costs the sync: full syncs with and without its listener.

    python bench/search_cost.py [--contacts 5000] [--conversations 1500] [--runs 3] [--database postgres://…]

Starts the sandbox as its own process (bench/sync.py's way: real HTTP on loopback, no rate
limit, so the sync is as fast as this machine allows and the index's share is as large as
it can be), then runs full syncs, each in a fresh child process on a fresh, migrated
database: alternately with the index's listener registered and with it removed from
`intercom_mirror.apply.listeners`. Prints each run, the median wall and CPU times, their ratios
(the target: at most 1.15), and the time spent inside the listener. On a busy machine wall
times swing between runs: the sync's own CPU time (the child's, without the sandbox's or the
database server's), the median ratio of runs made next to each other, and the listener's share
of its own run (its database statements included) are steadier.

SQLite by default (a temporary file per run); with --database postgres://user@host/name, a
database name_N is created per run next to the one named (which need not exist) and dropped after.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Production settings (DEBUG off: no query log), with a throwaway key; the children and the sandbox inherit them.
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)


def bench_sync():
    """Return bench/sync.py as a module (its sandbox process and client are reused)."""
    spec = importlib.util.spec_from_file_location("bench_sync", ROOT / "bench" / "sync.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_seconds() -> float:
    """Return the CPU time this process has used (the sync's own work, not the sandbox's or the database server's)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- one run (in a child process) --------------------------------------------------------------


def phase_sync(base_url: str, database: str, with_index: bool) -> dict:
    helpers = bench_sync()
    helpers.setup_django(database)
    from django.core.management import call_command

    from intercom_mirror import apply, sync
    from intercom_mirror.search import index_applied
    from intercom_mirror.search.models import SearchEntry

    call_command("migrate", verbosity=0)
    apply.listeners.remove(index_applied)
    spent = [0.0]
    if with_index:

        def timed(model, pks) -> None:
            started = time.perf_counter()
            index_applied(model, pks)
            spent[0] += time.perf_counter() - started

        apply.on_applied(timed)
    client = helpers.make_client(base_url)
    started, cpu = time.perf_counter(), cpu_seconds()
    runs = sync.sync_all(full=True, client=client)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "listener_seconds": spent[0],
        "records": sum(r.fetched for r in runs),
        "entries": SearchEntry.objects.count(),
        "failed": [f"{r.resource}: {r.errors}" for r in runs if r.status != "ok"],
    }


# --- orchestration -----------------------------------------------------------------------------


def fresh_database(base: str, n: int, tmp: str) -> str:
    """Return the URL of an empty database for run n."""
    if not base:
        return f"sqlite:///{tmp}/run{n}.sqlite3"
    import psycopg

    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/') or 'search_cost'}_{n}"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')


def run_child(base_url: str, database: str, with_index: bool) -> dict:
    args = ["--phase", "sync", "--base-url", base_url, "--database", database, "--index", "on" if with_index else "off"]
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def orchestrate(options: argparse.Namespace) -> None:
    helpers = bench_sync()
    port = helpers.free_port()
    base_url = f"http://127.0.0.1:{port}"
    engine = "PostgreSQL" if options.database else "SQLite"
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"Full sync of {options.contacts:,} contacts and {options.conversations:,} conversations"
        f" on {engine}, {options.runs} runs each way, sandbox on {base_url} (no rate limit)"
    )
    sandbox = helpers.start_sandbox(options.contacts, options.conversations, port, 0)
    results: dict[bool, list[dict]] = {True: [], False: []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(options.runs * 2):
                with_index = (n % 2 == 0) == ((n // 2) % 2 == 0)  # pairs: on/off, off/on, on/off, …
                database = fresh_database(options.database, n, tmp)
                try:
                    figures = run_child(base_url, database, with_index)
                finally:
                    drop_database(database)
                results[with_index].append(figures)
                listener = f", listener {figures['listener_seconds']:.2f} s" if with_index else ""
                print(
                    f"  run {n + 1}: index {'on ' if with_index else 'off'} {figures['seconds']:7.2f} s"
                    f" (CPU {figures['cpu_seconds']:6.2f} s),"
                    f" {figures['records']:,} records, {figures['entries']:,} entries{listener}",
                    flush=True,
                )
                for failed in figures["failed"]:
                    print(f"    FAILED {failed}")
    finally:
        sandbox.terminate()
        sandbox.wait()
    report(results)


def report(results: dict[bool, list[dict]]) -> None:
    def median(with_index: bool, key: str) -> float:
        return statistics.median(r[key] for r in results[with_index])

    on, off = median(True, "seconds"), median(False, "seconds")
    cpu_on, cpu_off = median(True, "cpu_seconds"), median(False, "cpu_seconds")
    # Runs go in pairs next to each other in time (on/off, off/on, …): a burst of load from
    # elsewhere hits both runs of a pair more often than both medians.
    paired = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(results[True], results[False], strict=True))
    listener = statistics.median(r["listener_seconds"] / r["seconds"] for r in results[True])
    print(f"median wall time without the index: {off:.2f} s (CPU {cpu_off:.2f} s)")
    print(f"median wall time with the index:    {on:.2f} s (CPU {cpu_on:.2f} s)")
    print(f"ratio with/without: {on / off:.3f} wall, {cpu_on / cpu_off:.3f} CPU, {paired:.3f} median of pairs")
    print(
        f"time inside the listener: {listener:.1%} of a sync with the index, median"
        f" (within each run: {1 / (1 - listener):.3f} × the sync without it)"
    )
    print(f"target: at most 1.15 · load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--conversations", type=int, default=1_500)
    parser.add_argument("--runs", type=int, default=3, help="runs with the index, and as many without")
    parser.add_argument("--database", default="", help="postgres://… (a database per run is made next to it)")
    parser.add_argument("--phase", choices=["sync"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--index", choices=["on", "off"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.phase:
        print(json.dumps(phase_sync(options.base_url, options.database, options.index == "on")))
    else:
        orchestrate(options)


if __name__ == "__main__":
    main()
