from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from intercom_mirror import sync
from intercom_mirror.models import SyncRun
from intercom_mirror.sync import engine, locks


class Command(BaseCommand):
    help = "Mirror the Intercom workspace: incremental by default, --full for everything, or one record."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--full", action="store_true", help="Read every record and flag the ones deleted.")
        parser.add_argument("--only", default="", help=f"Comma-separated resources: {','.join(sync.RESOURCES)}")
        parser.add_argument("--contact", metavar="ID", help="Resync one user or lead by Intercom id.")
        parser.add_argument("--company", metavar="ID", help="Resync one company by Intercom id.")
        parser.add_argument("--conversation", metavar="ID", help="Resync one conversation by Intercom id.")

    def handle(self, *args, **options) -> None:
        # Wide enough for the summary table when stdout is a pipe or a log file.
        console = Console(file=self.stdout, width=max(Console().width, 110))
        records = {k: options[k] for k in ("contact", "company", "conversation") if options.get(k)}
        if records:
            self.resync_records(records)
            return
        only = [r.strip() for r in options["only"].split(",") if r.strip()] or None
        # Someone typed this and is watching: wait for a busy lock (saying so) rather than skip.
        wait = locks.wait_seconds()

        def waiting(resource: str, busy: str) -> None:
            console.print(f"{busy}; waiting up to {wait:g} s", markup=False, highlight=False)

        try:
            with progress_bars(console) as report, engine.waiting_for_locks(wait, waiting):
                runs = sync.sync_all(full=options["full"], only=only, progress=report)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        console.print(summary_table(runs))
        for run in runs:
            if run.status == SyncRun.SKIPPED:
                continue  # its note is the error raised below
            for note in run.notes.splitlines():
                self.stdout.write(note if note.startswith(f"{run.resource}:") else f"{run.resource}: {note}")
        problems = not_run(runs)
        if problems:
            raise CommandError(problems)

    def resync_records(self, records: dict[str, str]) -> None:
        with sync.make_client() as client:
            for kind, intercom_id in records.items():
                try:
                    row = sync.RESYNCERS[kind](client, intercom_id)
                except Exception as exc:
                    raise CommandError(f"{kind} {intercom_id}: {exc}") from exc
                outcome = "not in Intercom any more: flagged deleted" if row is None else f"synced ({row})"
                self.stdout.write(f"{kind} {intercom_id}: {outcome}")


def not_run(runs: list[SyncRun]) -> str:
    """Return why some of the resources asked for did not sync, one line each, or "" when all did."""
    failed = [f"{r.resource}: {r.errors}" for r in runs if r.status == SyncRun.FAILED]
    lines = ["failed: " + "; ".join(failed)] if failed else []
    return "\n".join(lines + [f"not run: {r.notes}" for r in runs if r.status == SyncRun.SKIPPED])


class progress_bars:
    """A rich progress bar per resource, fed by the sync's progress callback."""

    def __init__(self, console: Console) -> None:
        self.bars = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.bars.start()
        return self.report

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    def report(self, resource: str, done: int, total: int | None) -> None:
        if resource not in self.tasks:
            self.tasks[resource] = self.bars.add_task(resource, total=total)
        self.bars.update(self.tasks[resource], completed=done, total=max(total or 0, done) or None)


def summary_table(runs: list[SyncRun]) -> Table:
    table = Table(title="Intercom sync")
    for column in (
        "resource",
        "kind",
        "status",
        "fetched",
        "created",
        "updated",
        "deleted",
        "requests",
        "drift",
        "time",
    ):
        table.add_column(column, justify="left" if column in ("resource", "kind", "status") else "right")
    for run in runs:
        seconds = f"{run.duration.total_seconds():.1f}s" if run.duration else "-"
        table.add_row(
            run.resource, run.kind, run.status, *(str(v) for v in (
                run.fetched, run.created, run.updated, run.deleted, run.api_requests, run.drift)), seconds,
        )  # fmt: skip
    return table
