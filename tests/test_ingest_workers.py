"""Real ingest workers: ``manage.py ingest_worker`` processes against a shared database.

On PostgreSQL the workers take jobs from the queue (Procrastinate), on the pytest test
database; on SQLite there is no queue, and the same command watches the folders in-process,
on a database file of its own. The database is chosen by ``DATABASE_URL`` when the tests are
collected (``ENGINE``), so each of CI's two runs tests its own path and nothing is skipped.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum

from curation import tasks
from curation.models import Article, Delivery, IngestFailure, IngestRun, Source
from tests.conftest import PROJECT_DIR

# Committed data, which the worker processes can see (PostgreSQL; unused on SQLite).
pytestmark = pytest.mark.django_db(transaction=True)
ENGINE = "queue" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "in_process"
FILES = 240
SEED = (
    "---\ntitle: Story {n}\ntopics: [Housing, Transport, Topic {n}]\npublished: true\n---\nBody\n"
)
WAIT_SECONDS = 120


class Deployment:
    """A database the test and its worker processes share, and the workers it started."""

    def __init__(self, env: dict[str, str], sqlite_file: Path | None) -> None:
        self.env = env
        self.sqlite_file = sqlite_file
        self.workers: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stderr}"
        return done.stdout

    def start_worker(self, log: Path | None = None) -> subprocess.Popen:
        output = log.open("ab") if log is not None else subprocess.DEVNULL
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "ingest_worker", "--exit-with-parent"],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        if log is not None:
            output.close()  # the worker has its own copy
        self.workers.append(worker)
        return worker

    def query(self, sql: str) -> list[tuple]:
        if self.sqlite_file is not None:
            with sqlite3.connect(self.sqlite_file, timeout=30) as database:
                return database.execute(sql).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def value(self, sql: str):
        return self.query(sql)[0][0]

    def wait_for(self, sql: str, what: str, expected=True, seconds: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while self.value(sql) != expected:
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not after {seconds} s")
            time.sleep(0.05)  # polling a condition, with a deadline

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


QUEUE_TABLES = ("procrastinate_periodic_defers", "procrastinate_jobs", "procrastinate_workers")


def _empty_queue() -> None:
    with connection.cursor() as cursor:
        for table in QUEUE_TABLES:
            cursor.execute(f"DELETE FROM {table}")


def worker_env(database_url: str) -> dict[str, str]:
    """The environment of manage.py and the workers: quick polls and stalled-job sweeps."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NEWSROOM_INGEST_POLL_SECONDS": "1",
        "NEWSROOM_INGEST_STALLED_SECONDS": "3",
        "DATABASE_URL": database_url,
    }


@pytest.fixture
def deployment(tmp_path):
    if ENGINE == "queue":
        settings = connection.settings_dict
        env = worker_env(
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
            f"{settings['NAME']}"
        )
        _empty_queue()
        found = Deployment(env, None)
    else:
        database = tmp_path / "ingest.sqlite3"
        found = Deployment(worker_env(f"sqlite:///{database}"), database)
        found.manage("migrate", "--verbosity", "0")
    yield found
    found.stop()
    if ENGINE == "queue":
        _empty_queue()


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    for number in range(FILES):
        (folder / f"story_{number:04d}.txt").write_text(SEED.format(n=number), encoding="utf-8")
    return folder


ALL_IMPORTED = f"SELECT count(*) = {FILES} FROM curation_sourcefile WHERE state = 'imported'"


def assert_every_file_imported_exactly_once(deployment: Deployment, files: int = FILES) -> None:
    assert deployment.value("SELECT count(*) FROM curation_article") == files
    assert deployment.value("SELECT count(DISTINCT key) FROM curation_article") == files
    # No half article: every one has its three topics, and was written once (version 1).
    assert (
        deployment.value(
            "SELECT count(*) FROM curation_article a WHERE version != 1 OR 3 != "
            "(SELECT count(*) FROM curation_articletopic t WHERE t.article_id = a.id)"
        )
        == 0
    )
    # Each file counted as created by exactly one recorded run.
    assert deployment.value("SELECT sum(created) FROM curation_ingestrun") == files
    assert deployment.value("SELECT count(*) FROM curation_ingestfailure") == 0


@pytest.mark.parametrize("engine", [ENGINE])
def test_a_worker_ingests_a_watched_folder_within_seconds(deployment, inbox, engine):
    assert "Added watched folder" in deployment.manage("sources", "add-folder", "wire", str(inbox))
    deployment.start_worker()
    deployment.wait_for(ALL_IMPORTED, "every file imported")
    assert_every_file_imported_exactly_once(deployment)
    # A new file arrives while the worker runs.
    (inbox / "late.txt").write_text(SEED.format(n="late"), encoding="utf-8")
    deployment.wait_for(
        "SELECT count(*) FROM curation_article WHERE key = 'late'", "the late file", 1
    )


@pytest.mark.parametrize("engine", [ENGINE])
def test_a_worker_killed_mid_batch_leaves_every_file_imported_exactly_once(
    deployment, inbox, engine
):
    deployment.manage("sources", "add-folder", "wire", str(inbox))
    first = deployment.start_worker()
    if engine == "queue":
        running = (
            "SELECT count(*) > 0 FROM procrastinate_jobs WHERE status = 'doing' "
            "AND task_name = 'curation.ingest_files'"
        )
    else:  # files were found and queued, and importing them has begun
        running = (
            "SELECT count(*) > 0 FROM curation_sourcefile WHERE state = 'queued' "
            "AND EXISTS (SELECT 1 FROM curation_ingestrun)"
        )
    deployment.wait_for(running, "the first worker importing")
    killed_jobs = (
        deployment.query(
            "SELECT id FROM procrastinate_jobs WHERE status = 'doing' "
            "AND task_name = 'curation.ingest_files'"
        )
        if engine == "queue"
        else []
    )
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    if engine == "in_process":
        assert not deployment.value(ALL_IMPORTED)  # killed with work left

    deployment.start_worker()
    deployment.wait_for(ALL_IMPORTED, "every file imported after the kill")
    assert_every_file_imported_exactly_once(deployment)
    if engine == "queue":
        # The killed worker's job was handed to the other worker and finished once.
        for (job_id,) in killed_jobs:
            assert (
                deployment.value(f"SELECT count(*) FROM curation_ingestrun WHERE job_id = {job_id}")
                == 1
            )
        assert (
            deployment.value(
                "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                "AND task_name = 'curation.ingest_files'"
            )
            == 0
        )


# -- pushes ------------------------------------------------------------------------------------

CORRECTED = 20
NO_PUSH_QUEUED = "SELECT count(*) = 0 FROM curation_delivery WHERE state = 'queued'"
NO_PUSH_JOB_LEFT = (
    "SELECT count(*) = 0 FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
    "AND task_name = 'curation.ingest_delivery'"
)
# Queued deliveries some job holds locked: more than one is a batch being imported. (A key
# share lock, taken and let go at once, only makes a job skip or wait a moment for a row.)
HELD_IN_A_BATCH = (
    "SELECT (SELECT count(*) FROM curation_delivery WHERE state = 'queued') - "
    "(SELECT count(*) FROM (SELECT id FROM curation_delivery WHERE state = 'queued' "
    "FOR KEY SHARE SKIP LOCKED) AS free) > 1"
)


def push_source() -> Source:
    return Source.objects.create(name="agency", kind=Source.Kind.PUSH)


def push_stories(source: Source, count: int = FILES) -> None:
    for number in range(count):
        tasks.push(source, f"story_{number:04d}.txt", SEED.format(n=number).encode())


@pytest.mark.parametrize("engine", [ENGINE])
def test_pushes_are_imported_in_batches_exactly_once_and_in_order(deployment, engine):
    source = push_source()
    push_stories(source)
    # Corrections pushed while the first versions still wait for a worker.
    for number in range(CORRECTED):
        data = SEED.format(n=f"{number} corrected").encode()
        tasks.push(source, f"story_{number:04d}.txt", data)
    if engine == "queue":
        deployment.start_worker()
        deployment.start_worker()
        deployment.wait_for(NO_PUSH_QUEUED, "every push imported")
        # Nothing left waiting: a batch deletes the jobs of the deliveries it took.
        deployment.wait_for(NO_PUSH_JOB_LEFT, "every push job ended")

    assert Article.objects.count() == FILES
    corrected = Article.objects.filter(title__endswith=" corrected")
    assert corrected.count() == CORRECTED
    assert set(corrected.values_list("version", flat=True)) == {2}
    assert not Article.objects.exclude(title__endswith=" corrected").exclude(version=1).exists()
    totals = IngestRun.objects.aggregate(created=Sum("created"), updated=Sum("updated"))
    assert totals == {"created": FILES, "updated": CORRECTED}
    assert not IngestFailure.objects.exists()
    deliveries = list(Delivery.objects.order_by("pk"))
    assert [delivery.outcome for delivery in deliveries] == (
        ["created"] * FILES + ["updated"] * CORRECTED
    )
    assert all(delivery.run_id for delivery in deliveries)
    runs = IngestRun.objects.count()
    if engine == "queue":
        assert runs <= len(deliveries) // 2  # pushes that waited together went together
    else:
        assert runs == len(deliveries)  # without a queue each push is imported in its request


@pytest.mark.parametrize("engine", [ENGINE])
def test_a_worker_killed_mid_batch_of_pushes_leaves_each_imported_exactly_once(deployment, engine):
    if engine == "queue":
        source = push_source()
        push_stories(source)
        first = deployment.start_worker()
        deployment.wait_for(HELD_IN_A_BATCH, "the first worker importing a batch")
        os.kill(first.pid, signal.SIGKILL)
        killed_jobs = deployment.query(
            "SELECT id FROM procrastinate_jobs WHERE status = 'doing' "
            "AND task_name = 'curation.ingest_delivery'"
        )
        first.wait()
        assert killed_jobs
    else:
        # No queue and no worker for pushes: the process killed is one importing a batch.
        deployment.manage("shell", "-c", STORE_PUSHES)
        importing = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", IMPORT_QUEUED_PUSHES],
            cwd=PROJECT_DIR,
            env=deployment.env,
        )
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while not _writing(deployment.sqlite_file):
                assert importing.poll() is None, "the import ended before it was killed"
                assert time.monotonic() < deadline, "the import never began"
                time.sleep(0.01)  # polling a condition, with a deadline
            os.kill(importing.pid, signal.SIGKILL)
        finally:
            importing.wait()
        killed_jobs = []
        # The batch was one transaction: nothing of it is left, every push still queued.
        assert deployment.value("SELECT count(*) FROM curation_article") == 0
        assert deployment.value("SELECT count(*) FROM curation_ingestrun") == 0
        assert (
            deployment.value("SELECT count(*) FROM curation_delivery WHERE state = 'queued'")
            == FILES
        )

    if engine == "queue":
        deployment.start_worker()
        deployment.wait_for(NO_PUSH_QUEUED, "every push imported after the kill")
        deployment.wait_for(NO_PUSH_JOB_LEFT, "every push job ended")
    else:
        deployment.manage("shell", "-c", IMPORT_QUEUED_PUSHES)
    assert_every_file_imported_exactly_once(deployment)
    assert deployment.value("SELECT count(*) FROM curation_delivery WHERE run_id IS NULL") == 0
    assert deployment.value("SELECT count(*) FROM curation_delivery WHERE outcome = 'created'") == (
        FILES
    )
    for (job_id,) in killed_jobs:  # retried once its worker was found dead, and done once
        assert (
            deployment.value(f"SELECT count(*) FROM curation_ingestrun WHERE job_id = {job_id}")
            == 1
        )


# The SQLite variant's two processes: one keeps the pushes, one imports them in batches.
STORE_PUSHES = f"""
from django.db import transaction
from curation import ingest
from curation.models import Source
source = Source.objects.create(name="agency", kind=Source.Kind.PUSH)
for number in range({FILES}):
    with transaction.atomic():
        ingest.store_delivery(source, f"story_{{number:04d}}.txt", {SEED!r}.format(n=number).encode())
"""
IMPORT_QUEUED_PUSHES = """
from curation import ingest
from curation.models import Delivery
while (queued := Delivery.objects.filter(state="queued").order_by("pk").first()) is not None:
    ingest.import_delivery(queued.pk, batch_size=1000)
"""


def _writing(database: Path) -> bool:
    """Whether another process is inside a write transaction of the SQLite database."""
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()
