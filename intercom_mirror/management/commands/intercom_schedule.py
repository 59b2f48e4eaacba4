from __future__ import annotations

from django.core.management.base import BaseCommand

from intercom_mirror.tasks import ensure_schedules


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules for the incremental and nightly full syncs."

    def handle(self, *args, **options) -> None:
        for schedule in ensure_schedules():
            self.stdout.write(f"{schedule.name}: {schedule.func} next run {schedule.next_run:%Y-%m-%d %H:%M %Z}")
