from __future__ import annotations

from django.core.management.base import BaseCommand
from rich.console import Console

from intercom_mirror.management.commands.intercom_sync import progress_bars
from intercom_mirror.search.index import rebuild


class Command(BaseCommand):
    help = "Rebuild the search index from the mirror (the apply path keeps it current; this repairs or fills it)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--clear", action="store_true", help="Empty the index first (searches find less until the rebuild ends)."
        )

    def handle(self, *args, **options) -> None:
        console = Console(file=self.stdout, width=max(Console().width, 110))
        with progress_bars(console) as report:
            written = rebuild(report, clear=options["clear"])
        for name, count in written.items():
            self.stdout.write(f"{name}: {count} entries written")
