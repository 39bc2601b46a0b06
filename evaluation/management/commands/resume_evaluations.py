"""Re-send the unfinished chunks of evaluations left running, e.g. after every worker was
restarted. Safe to run any time: a chunk writes its scores once."""

from django.core.management.base import BaseCommand

from evaluation.scoring.services import evaluation_resume_unfinished


class Command(BaseCommand):
    help = "Re-send the unfinished chunks of running evaluations."

    def handle(self, *args, **options) -> None:
        count = evaluation_resume_unfinished()
        self.stdout.write(f"Resumed {count} unfinished evaluation(s)")
