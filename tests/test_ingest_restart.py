"""PostgreSQL restarted during ingest: the workers reconnect and finish, and every file ends
imported exactly once, with no half article.

The shared server (127.0.0.1:5432) serves the rest of the suite and must not be restarted, so
this test runs a private PostgreSQL of its own, in a temporary directory, on a free port. It
needs neither pytest-django's test database nor ``DATABASE_URL``: it runs, the same way, in
both of CI's runs (SQLite and PostgreSQL).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.test_ingest_workers import (
    SEED,
    Deployment,
    assert_every_file_imported_exactly_once,
    worker_env,
)

FILES = 400
WORKERS = 2
# A passing run waits about 10 s after the restart (psycopg_pool's reconnect back-off); a
# failing one stops waiting well inside the test's time budget.
WAIT_SECONDS = 40
DATABASE = "newsroom_restart"
ALL_IMPORTED = f"SELECT count(*) = {FILES} FROM curation_sourcefile WHERE state = 'imported'"
# Restart while files are still to import and a job is at work, so the restart cuts one off.
MID_INGEST = (
    f"SELECT count(*) FILTER (WHERE state = 'imported') BETWEEN 1 AND {FILES // 2} "
    "AND EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status = 'doing' "
    "AND task_name = 'curation.ingest_files') FROM curation_sourcefile"
)
INGEST_JOBS_LEFT = (
    "SELECT status, count(*) FROM procrastinate_jobs "
    "WHERE task_name = 'curation.ingest_files' GROUP BY status"
)
INGEST_JOBS_FAILED = (
    "SELECT job_id, attempts FROM restart_audit "
    "WHERE task_name = 'curation.ingest_files' AND new_status = 'failed'"
)
INGEST_JOBS_NOT_DELETED = (
    "SELECT count(DISTINCT job_id) FROM restart_audit "
    "WHERE task_name = 'curation.ingest_files' AND job_id NOT IN "
    "(SELECT job_id FROM restart_audit WHERE new_status = 'deleted')"
)
INGEST_JOBS_RETRIED = (
    "SELECT count(DISTINCT job_id) FROM restart_audit "
    "WHERE task_name = 'curation.ingest_files' AND old_status = 'doing' AND new_status = 'todo'"
)
# Successful jobs are deleted (``delete_jobs="successful"``) and their events go with them, so
# the test keeps its own record of every job's status changes.
AUDIT = """
CREATE TABLE restart_audit (
    job_id bigint, task_name text, old_status text, new_status text, attempts int,
    at timestamptz DEFAULT clock_timestamp()
);
CREATE FUNCTION restart_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO restart_audit (job_id, task_name, old_status, new_status, attempts)
        VALUES (OLD.id, OLD.task_name, OLD.status, 'deleted', OLD.attempts);
        RETURN OLD;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO restart_audit (job_id, task_name, old_status, new_status, attempts)
        VALUES (NEW.id, NEW.task_name, OLD.status, NEW.status, NEW.attempts);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER restart_audit AFTER UPDATE OR DELETE ON procrastinate_jobs
    FOR EACH ROW EXECUTE FUNCTION restart_audit();
"""


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian's layout)."""
    found = [
        Path(folder)
        for folder in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(Path(folder) / "initdb", os.X_OK)
        and os.access(Path(folder) / "pg_ctl", os.X_OK)
    ]
    if not found:
        pytest.fail(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: this test runs a "
            "private server (apt-get install postgresql)"
        )
    return max(found, key=lambda folder: int(folder.parent.name.split(".")[0]))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateServer:
    """A throwaway PostgreSQL cluster, trust auth, listening on 127.0.0.1 only."""

    def __init__(self, root: Path) -> None:
        self.bin = postgres_bin()
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            if shutil.which("runuser") is None:
                pytest.fail(
                    "running as root, and runuser (util-linux) is missing to drop to postgres"
                )
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root, and there is no postgres user to run the server")
            os.chown(root, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]

    def pg(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self.prefix, str(self.bin / program), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            pytest.fail(f"{program} {' '.join(args)}: {done.stdout}{done.stderr}\n{log}")

    def ctl(self, *args: str) -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", *args)

    def start(self) -> None:
        self.pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")
        options = (
            f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        self.ctl("-o", options, "start")

    def stop(self) -> None:
        """Stop at once, whatever state the test left the server in (a finalizer: no fail)."""
        if (self.data / "postmaster.pid").exists():
            stop = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
            subprocess.run([*self.prefix, *stop], capture_output=True, timeout=60)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        with psycopg.connect(self.url(database), autocommit=True) as db:
            cursor = db.execute(sql)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    root = Path(tempfile.mkdtemp(prefix="newsroom-pg-"))
    server = None
    try:
        server = PrivateServer(root)
        server.start()
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


class PrivateDeployment(Deployment):
    """The workers' deployment on the private server; the test reads it with psycopg."""

    def __init__(self, server: PrivateServer) -> None:
        super().__init__(worker_env(server.url(DATABASE)), None)
        self.server = server

    def query(self, sql: str) -> list[tuple]:
        return self.server.execute(sql, DATABASE)


@pytest.fixture
def deployment(private_server: PrivateServer) -> Iterator[PrivateDeployment]:
    private_server.execute(f"CREATE DATABASE {DATABASE}")
    found = PrivateDeployment(private_server)
    found.manage("migrate", "--verbosity", "0")
    found.query(AUDIT)
    yield found
    found.stop()  # before the server goes (fixtures end in reverse order)


def test_postgresql_restarted_during_ingest(deployment: PrivateDeployment, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for number in range(FILES):
        (inbox / f"story_{number:04d}.txt").write_text(SEED.format(n=number), encoding="utf-8")
    deployment.manage("sources", "add-folder", "wire", str(inbox))
    logs = [tmp_path / f"worker{n}.log" for n in range(WORKERS)]
    workers = [deployment.start_worker(log=log) for log in logs]

    def diagnosis() -> str:
        return "\n".join(
            f"--- worker {n} (exit code {worker.poll()}):\n{log.read_text()[-4000:]}"
            for n, (worker, log) in enumerate(zip(workers, logs, strict=True))
        )

    def wait_for(sql: str, what: str, expected: object = True) -> None:
        try:
            deployment.wait_for(sql, what, expected, seconds=WAIT_SECONDS)
        except pytest.fail.Exception as failure:
            pytest.fail(f"{failure}\n{diagnosis()}")

    wait_for(MID_INGEST, "some files imported, a job at work")
    imported_before = deployment.value(
        "SELECT count(*) FROM curation_sourcefile WHERE state = 'imported'"
    )
    restarted = time.time()
    deployment.server.ctl("-m", "fast", "restart")
    up = time.time()

    wait_for(ALL_IMPORTED, "every file imported after the restart")
    finished = time.time()
    # Both workers are back at work: alive, each with a fresh heartbeat (a worker that
    # restarted registered again; its old row has a stale one).
    wait_for(
        "SELECT count(*) FROM procrastinate_workers "
        "WHERE last_heartbeat > now() - interval '3 seconds'",
        "every worker sending heartbeats again",
        expected=WORKERS,
    )
    assert [worker.poll() for worker in workers] == [None] * WORKERS, diagnosis()

    assert 0 < imported_before < FILES
    assert_every_file_imported_exactly_once(deployment, FILES)
    # Every ingest job succeeded in the end: none is left in the queue (a successful job is
    # deleted), none failed for good, and every one the audit saw was deleted on success.
    assert deployment.query(INGEST_JOBS_LEFT) == [], diagnosis()
    assert deployment.query(INGEST_JOBS_FAILED) == [], diagnosis()
    assert deployment.value(INGEST_JOBS_NOT_DELETED) == 0, diagnosis()

    # The restart cut at least one job off: at work when it began, done only after it.
    interrupted = deployment.value(
        "SELECT count(DISTINCT job_id) FROM restart_audit WHERE task_name = "
        "'curation.ingest_files' AND old_status = 'doing' AND new_status IN ('todo', 'deleted') "
        f"AND at > to_timestamp({restarted}) AND job_id IN (SELECT job_id FROM restart_audit "
        f"WHERE new_status = 'doing' AND at < to_timestamp({restarted}))"
    )
    assert interrupted >= 1, diagnosis()
    retried = deployment.value(INGEST_JOBS_RETRIED)
    retried_after_commit = deployment.value(
        f"{INGEST_JOBS_RETRIED} AND job_id IN (SELECT job_id FROM curation_ingestrun "
        f"WHERE finished_at < to_timestamp({up}))"
    )
    jobs = deployment.value(
        "SELECT count(DISTINCT job_id) FROM restart_audit WHERE task_name = 'curation.ingest_files'"
    )
    resumed = float(
        deployment.value(
            "SELECT extract(epoch FROM min(finished_at)) FROM curation_ingestrun "
            f"WHERE finished_at > to_timestamp({up})"
        )
    )
    others_failed = deployment.query(
        "SELECT task_name, count(DISTINCT job_id) FROM restart_audit "
        "WHERE new_status = 'failed' GROUP BY task_name ORDER BY task_name"
    )
    # The figures RELIABILITY.md quotes (run with -s to see them).
    print(
        f"\nrestart (pg_ctl restart -m fast) {up - restarted:.2f} s; "
        f"first import committed {resumed - up:.2f} s after the server was back "
        f"({resumed - restarted:.2f} s after the restart began); "
        f"all {FILES} files {finished - up:.2f} s after; "
        f"{imported_before} imported before the restart; ingest jobs {jobs}, "
        f"{interrupted} at work when it began, "
        f"retried {retried} (of which {retried_after_commit} had committed their import); "
        f"other jobs failed for good: {others_failed or 'none'}"
    )
