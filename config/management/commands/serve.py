"""Serve the studio in one process: migrations, the demo project, the ASGI server and, in
embedded mode, a Dramatiq worker on the stub broker inside the same process."""

from __future__ import annotations

import asyncio

import dramatiq
import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from config.asgi import application
from evaluation.scoring.services import evaluation_resume_unfinished
from generation import live
from generation.services import run_resume_unfinished
from studio.demo import ensure_demo


class Command(BaseCommand):
    help = "Run the studio (web server, and in embedded mode the worker) in this process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-demo", action="store_true", help="Skip the demo project (embedded mode only)"
        )

    def handle(self, *args, host: str, port: int, no_demo: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            self.demo_account()
        worker = None
        if settings.EMBEDDED:
            worker = dramatiq.Worker(
                dramatiq.get_broker(),
                worker_threads=settings.STUDIO_EMBEDDED_WORKER_THREADS,
                worker_timeout=100,
            )
            worker.start()
            self.stdout.write("Embedded mode: SQLite, in-process worker, in-memory live updates")
        else:
            self.stdout.write("Services mode: start workers with `make worker`")
        # Embedded: nothing else makes calls, and this process has made none yet.
        resumed = run_resume_unfinished(only_worker=settings.EMBEDDED)
        if resumed:
            self.stdout.write(f"Resumed {resumed} unfinished run(s)")
        if settings.EMBEDDED and (evaluations := evaluation_resume_unfinished()):
            self.stdout.write(f"Resumed {evaluations} unfinished evaluation(s)")
        self.stdout.write(self.style.SUCCESS(f"Dataset Studio is at http://{host}:{port}/"))
        try:
            asyncio.run(self._serve(host, port))
        finally:
            if worker is not None:
                worker.stop()

    def demo_account(self) -> None:
        """Embedded mode only: services mode is a shared install, with no account by default."""
        if not settings.EMBEDDED:
            return
        created, username, password = ensure_demo()
        if password is None:
            self.stdout.write(
                f"Found the demo account '{username}' (its password was printed when it was"
                f" created; `python manage.py changepassword {username}` sets a new one)"
            )
            return
        self.stdout.write(
            ("Created" if created else "Found")
            + f" the demo account: user '{username}', password '{password}'"
        )

    async def _serve(self, host: str, port: int) -> None:
        live.bind_server_loop(asyncio.get_running_loop())
        config = uvicorn.Config(
            application,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
        await uvicorn.Server(config).serve()
