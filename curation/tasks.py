"""The ingest jobs, and where they run.

On PostgreSQL they go through Procrastinate's job queue, which lives in the same database:
a push or a folder's changes are queued in the same transaction that records them, jobs that
import the same keys share a lock (``ingest.key_lock``), a push's job imports the pushes waiting
under its lock with its own, folders are polled by a periodic task (no cron), and the jobs of a
worker that stopped sending heartbeats are handed to another.
``manage.py ingest_worker`` runs a worker; any number of them, on any number of machines.

On SQLite (the demo) there is no queue: the same functions run in-process, right after the
transaction that asked for them commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from procrastinate import RetryStrategy
from procrastinate import jobs as queue_jobs
from procrastinate import manager as queue_manager
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from . import ingest
from .models import Delivery, Source

logger = logging.getLogger(__name__)

QUEUE = "ingest"
# A job that raises (the database went away, a deadlock) is tried again: after 1, 2, 4 …
# seconds, eleven times in all, about half an hour.
RETRY = RetryStrategy(max_attempts=10, exponential_wait=2)
# How long a worker may go without a heartbeat before its running jobs go to another worker.
STALLED_SECONDS = settings.NEWSROOM_INGEST_STALLED_SECONDS
HEARTBEAT_SECONDS = max(1.0, STALLED_SECONDS / 3)
WORKER_OPTIONS = {
    "queues": [QUEUE],
    "delete_jobs": "successful",
    "update_heartbeat_interval": HEARTBEAT_SECONDS,
    "stalled_worker_timeout": STALLED_SECONDS,
}


@app.task(name="curation.ingest_files", queue=QUEUE, pass_context=True, retry=RETRY)
def ingest_files(context, source_id: int, paths: list[str]) -> dict:
    return ingest.import_folder_files(source_id, paths, job_id=context.job.id)


@app.task(name="curation.ingest_delivery", queue=QUEUE, pass_context=True, retry=RETRY)
def ingest_delivery(context, delivery_id: int) -> dict:
    # A retried job (its worker died, or the import raised) imports its own delivery alone:
    # whatever went wrong, the others it had taken go back to their own jobs instead of
    # waiting out its retries with it.
    batch_size = 1 if context.job.attempts else None
    return ingest.import_delivery(
        delivery_id, job_id=context.job.id, batch_size=batch_size, drop_jobs=drop_jobs
    )


@app.periodic(cron=f"* * * * * */{settings.NEWSROOM_INGEST_POLL_SECONDS}")
@app.task(
    name="curation.poll_folders", queue=QUEUE, queueing_lock="poll_folders", lock="poll_folders"
)
def poll_folders_job(timestamp: int) -> int:
    return poll_folders()


@app.periodic(cron=f"* * * * * */{int(HEARTBEAT_SECONDS)}")
@app.task(name="curation.retry_stalled_jobs", queue=QUEUE, queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> int:
    """Procrastinate's recipe for crashed workers: a job still "doing" whose worker stopped
    sending heartbeats goes back to "todo" (same id, so its run record finds it)."""
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS)
    for job in stalled:
        await app.job_manager.retry_job(job)
    return len(stalled)


# Jobs queued through Django's own connection: inside a worker the app talks to the queue
# through a pool of its own, and a job queued there would be visible (and run) before the
# transaction that records its files committed.
_TRANSACTIONAL = queue_manager.JobManager(DjangoConnector())


def defer_in_transaction(task, lock: str, **arguments) -> int:
    """Queue ``task`` with ``lock`` in the caller's transaction: it exists if that commits."""
    job = task.configure(lock=lock).job
    return queue_jobs.JobDeferrer(_TRANSACTIONAL, job).defer(**arguments)


def drop_jobs(job_ids: list[int]) -> set[int]:
    """Delete those of these jobs still waiting, in the caller's transaction, and return them:
    the jobs of deliveries a batch took would only find them done, and every job waiting in the
    queue makes each fetch of a job slower. Procrastinate's own cancel
    (``cancel_job_by_id(delete_job=True)``), for all of them in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT procrastinate_cancel_job_v1(id, false, true) FROM unnest(%s::bigint[]) AS id",
            [job_ids],
        )
        return {row[0] for row in cursor.fetchall() if row[0] is not None}


def poll_folders() -> int:
    """Look into every enabled watched folder and import what is new or changed: queue it (on
    PostgreSQL, in the transaction that marks the files queued) or import it now (SQLite).
    Returns how many files were found changed."""
    queued = ingest.uses_queue()
    total = 0
    for source in Source.objects.filter(kind=Source.Kind.FOLDER, enabled=True):
        with transaction.atomic():
            changed = ingest.scan_folder(source, include_queued=not queued)
            work = ingest.batches(changed)
            if queued:
                for lock, paths in work:
                    defer_in_transaction(ingest_files, lock, source_id=source.pk, paths=paths)
        if not queued:
            for _, paths in work:
                ingest.import_folder_files(source.pk, paths)
        total += len(changed)
    return total


def push(source: Source, name: str, data: bytes) -> tuple[Delivery, bool]:
    """Keep a pushed file and have it imported; ``(delivery, new)``. The same bytes pushed
    again are the delivery already kept, imported once."""
    with transaction.atomic():
        delivery, new = ingest.store_delivery(source, name, data)
        if new and ingest.uses_queue():
            delivery.queue_job_id = defer_in_transaction(
                ingest_delivery, delivery.queue_lock, delivery_id=delivery.pk
            )
            delivery.save(update_fields=["queue_job_id"])
    if new and not ingest.uses_queue():
        ingest.import_delivery(delivery.pk)
        delivery.refresh_from_db()
    return delivery, new


def watch_in_process(stop: threading.Event, interval: float | None = None) -> None:
    """Poll the watched folders until ``stop`` is set: the queue-less path (SQLite), for the
    demo's server thread and ``ingest_worker`` on SQLite."""
    interval = interval or settings.NEWSROOM_INGEST_POLL_SECONDS
    while not stop.is_set():
        close_old_connections()
        try:
            poll_folders()
        except Exception:  # a bad poll (the database busy) must not end the watching
            logger.exception("polling the watched folders failed; trying again")
        finally:
            close_old_connections()
        stop.wait(interval)


# -- the worker process ----------------------------------------------------------------------

# Pauses before starting a worker that stopped by itself again: 1, 2, 4 … seconds, at most 30.
RESTART_PAUSE_MAX = 30.0


def run_worker(concurrency: int = 1) -> None:
    """Take jobs from the queue until SIGTERM or SIGINT (``manage.py ingest_worker``)."""
    with app.replace_connector(app.connector.get_worker_connector()):
        asyncio.run(_work_until_stopped(concurrency))


async def _work_until_stopped(concurrency: int) -> None:
    """Run the queue's worker until SIGTERM or SIGINT, and start it again whenever it stops by
    itself: Procrastinate's worker ends, as if asked to, as soon as one of its connections
    fails (PostgreSQL restarted), and a worker process that exits 0 is one nobody restarts."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal() -> None:
        stop.set()
        for number in (signal.SIGINT, signal.SIGTERM):  # a second signal ends us at once
            loop.remove_signal_handler(number)

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, on_signal)
    pause = 1.0
    while not stop.is_set():
        started = loop.time()
        run = asyncio.create_task(_run_worker(concurrency))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        run.cancel()  # when asked to stop: the worker finishes its running jobs first
        try:
            await run
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("the ingest worker failed")
        if stop.is_set():
            break
        if loop.time() - started > 60:
            pause = 1.0  # it ran a while: this is a new outage, not the same one
        logger.warning("the ingest worker stopped; starting it again in %.0f s", pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        pause = min(pause * 2, RESTART_PAUSE_MAX)


async def _run_worker(concurrency: int) -> None:
    # A fresh pool each time: the old one's connections died with the server.
    try:
        await app.open_async()
        await app.run_worker_async(
            **WORKER_OPTIONS, concurrency=concurrency, install_signal_handlers=False
        )
    finally:
        await app.close_async()
