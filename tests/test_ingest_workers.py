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
