import os
import threading

from django.core.management.base import BaseCommand

from curation import ingest, tasks, workers


class Command(BaseCommand):
    help = (
        "Run an ingest worker: import pushed files and watched folders from the job queue "
        "(PostgreSQL); on SQLite, watch the folders in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency",
            type=int,
            default=1,
            help="Jobs this worker runs at once (default 1; start more workers for more cores).",
        )
        parser.add_argument(
            "--exit-with-parent",
            action="store_true",
            help="Stop when the process that started this one dies (tests, benchmarks).",
        )

    def handle(self, *args, **options):
        if options["exit_with_parent"]:
            workers.init_worker(os.getppid(), 0)
        if not ingest.uses_queue():
            self.stdout.write("No job queue on SQLite: watching the folders in this process.")
            stop = threading.Event()
            try:
                tasks.watch_in_process(stop)
            except KeyboardInterrupt:
                stop.set()
            return
        self.stdout.write(f"Ingest worker {os.getpid()} taking jobs from queue {tasks.QUEUE!r}.")
        tasks.run_worker(options["concurrency"])
