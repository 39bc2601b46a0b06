"""Re-enqueue the pending rows of runs left running, e.g. after every worker was restarted.
Safe to run any time: rows are written only while pending, so duplicates change nothing."""

from django.core.management.base import BaseCommand

from generation.services import run_resume_unfinished


class Command(BaseCommand):
    help = "Re-enqueue unfinished runs (their pending rows)."

    def handle(self, *args, **options) -> None:
        count = run_resume_unfinished()
        self.stdout.write(f"Re-enqueued {count} unfinished run(s)")
