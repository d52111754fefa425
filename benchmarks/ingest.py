"""``uv run python -m benchmarks.ingest``: continuous ingest on PostgreSQL, with real workers.

1. Throughput of a watched folder with 1, 2 and 4 ``ingest_worker`` processes: the same corpus
   each time, into an emptied database, timed from enabling the source (workers already
   running) until every file is imported.
2. Pushes: ``--pushes`` files POSTed to ``/api/ingest/`` by ``--clients`` concurrent clients
   (gunicorn, two workers importing), a share of them pushed twice; then checked: every push
   answered 202, every file imported exactly once (nothing lost, nothing doubled), with the
   push latency's p50 and p99, the files imported a second and the files per run (pushes
   waiting together are imported in one batch).
3. A push backlog: the same pushes while no worker runs (a burst, or workers down), then the
   workers started: files imported a second from then, to compare with a folder's.

Everything runs on this machine, against the database in ``--pg-url`` (emptied first: never
the development or the test database). Numbers: docs/ingest.md and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from .corpus import seed_file, write_corpus
from .load_test import free_port, percentile

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/newsroom_bench"
QUEUE_TABLES = ("procrastinate_periodic_defers", "procrastinate_jobs", "procrastinate_workers")


def environment(pg_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": pg_url,
        "NEWSROOM_INGEST_POLL_SECONDS": "1",
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def empty(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as database:
        tables = [
            row[0]
            for row in database.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND "
                "(tablename LIKE 'curation_%%' AND tablename NOT LIKE 'curation_article_fts%%')"
            )
        ]
        database.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        for table in QUEUE_TABLES:
            database.execute(f"DELETE FROM {table}")


def value(pg_url: str, sql: str, *params):
    with psycopg.connect(pg_url, autocommit=True) as database:
        return database.execute(sql, params).fetchone()[0]


def wait_for(pg_url: str, sql: str, timeout: float, *params) -> None:
    deadline = time.monotonic() + timeout
    while not value(pg_url, sql, *params):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for: {sql}")
        time.sleep(0.1)


def start_workers(env: dict[str, str], count: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "manage.py", "ingest_worker", "--exit-with-parent"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def folder_throughput(pg_url: str, corpus: Path, files: int, workers: int) -> dict:
    env = environment(pg_url)
    empty(pg_url)
    manage(env, "sources", "add-folder", "bench", str(corpus))
    with psycopg.connect(pg_url, autocommit=True) as database:
        database.execute("UPDATE curation_source SET enabled = false")
    processes = start_workers(env, workers)
    try:
        wait_for(pg_url, "SELECT count(*) >= %s FROM procrastinate_workers", 120, workers)
        started = time.perf_counter()
        with psycopg.connect(pg_url, autocommit=True) as database:
            database.execute("UPDATE curation_source SET enabled = true")
        wait_for(
            pg_url,
            "SELECT count(*) = %s FROM curation_sourcefile WHERE state <> 'queued'",
            3600,
            files,
        )
        seconds = time.perf_counter() - started
    finally:
        stop(processes)
    created = value(pg_url, "SELECT count(*) FROM curation_article")
    failed = value(pg_url, "SELECT count(*) FROM curation_ingestfailure")
    return {
        "workers": workers,
        "files": files,
        "seconds": round(seconds, 2),
        "files_per_second": round(files / seconds, 1),
        "articles": created,
        "failed": failed,
    }


def _pusher(port, token, jobs, results, lock):
    connection = http.client.HTTPConnection("localhost", port, timeout=60)
    while True:
        with lock:
            if not jobs:
                return
            name, data = jobs.pop()
        started = time.perf_counter()
        connection.request(
            "POST",
            "/api/ingest/",
            body=data,
            headers={
                "Authorization": f"Bearer {token}",
                "X-Seed-Name": name,
                "Content-Type": "application/octet-stream",
            },
        )
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        job = json.loads(body).get("job") if response.status == 202 else None
        with lock:
            results.append((name, response.status, job, elapsed))


def push_load(
    pg_url: str,
    pushes: int,
    clients: int,
    repeat_share: float,
    workers: int,
    backlog: bool = False,
) -> dict:
    """Push the files and wait until every one is imported. ``backlog``: no worker runs
    during the pushes; they start after the last one, and the import is timed from then."""
    env = environment(pg_url)
    empty(pg_url)
    token = manage(env, "sources", "add-push", "bench").strip().splitlines()[-1]
    with psycopg.connect(pg_url, autocommit=True) as database:
        database.execute("UPDATE curation_source SET max_pushes_per_minute = 100000000")
    port = free_port()
    web_env = {**env, "DJANGO_ALLOWED_HOSTS": "localhost"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "newsroom.wsgi", "--workers", "3",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=PROJECT_DIR, env=web_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    processes = [] if backlog else start_workers(env, workers)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                probe = http.client.HTTPConnection("localhost", port, timeout=5)
                probe.request("GET", "/api/ingest/")
                probe.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.1)
        files = [seed_file(index, seed=7) for index in range(pushes)]
        repeats = files[: int(pushes * repeat_share)]
        jobs = list(reversed(files + repeats))
        results: list[tuple] = []
        lock = threading.Lock()
        started = time.perf_counter()
        threads = [
            threading.Thread(target=_pusher, args=(port, token, jobs, results, lock))
            for _ in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pushed_seconds = time.perf_counter() - started
        if backlog:
            processes = start_workers(env, workers)
            wait_for(pg_url, "SELECT count(*) >= %s FROM procrastinate_workers", 120, workers)
            started = time.perf_counter()
        wait_for(pg_url, "SELECT count(*) = 0 FROM curation_delivery WHERE state = 'queued'", 3600)
        drained_seconds = time.perf_counter() - started
    finally:
        stop(processes)
        stop([server])
    statuses: dict[int, int] = {}
    jobs_by_name: dict[str, set] = {}
    for name, status, job, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
        jobs_by_name.setdefault(name, set()).add(job)
    latencies = [elapsed for *_, elapsed in results]
    articles = value(pg_url, "SELECT count(*) FROM curation_article")
    deliveries = value(pg_url, "SELECT count(*) FROM curation_delivery")
    created = value(pg_url, "SELECT coalesce(sum(created), 0) FROM curation_ingestrun")
    runs = value(pg_url, "SELECT count(*) FROM curation_ingestrun")
    if backlog:
        return {
            "backlog": pushes,
            "lost": pushes - articles,
            "doubled": created - articles,
            "seconds_until_all_imported": round(drained_seconds, 1),
            "files_per_second": round(pushes / drained_seconds, 1),
            "runs": runs,
            "files_per_run": round(deliveries / runs, 1) if runs else 0,
        }
    return {
        "pushes": len(results),
        "distinct_files": pushes,
        "clients": clients,
        "statuses": statuses,
        "one_job_per_file": all(len(found) == 1 for found in jobs_by_name.values()),
        "deliveries": deliveries,
        "articles": articles,
        "created_by_runs": created,
        "lost": pushes - articles,
        "doubled": created - articles,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "pushes_per_second": round(len(results) / pushed_seconds, 1),
        "seconds_until_all_imported": round(drained_seconds, 1),
        # Imported files a second, from the first push until the last file was imported.
        "files_per_second": round(pushes / drained_seconds, 1),
        # Pushes that waited together are imported together: one run per batch.
        "runs": runs,
        "files_per_run": round(deliveries / runs, 1) if runs else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__)
    parser.add_argument("--pg-url", default=os.environ.get("NEWSROOM_BENCH_PG", DEFAULT_PG_URL))
    parser.add_argument("--files", type=int, default=5000, help="Files in the watched folder.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts to time, e.g. 1,2,4.")
    parser.add_argument("--pushes", type=int, default=10_000, help="Distinct files to push.")
    parser.add_argument("--clients", type=int, default=20, help="Concurrent push clients.")
    parser.add_argument("--push-workers", type=int, default=2, help="Workers during pushes.")
    parser.add_argument("--skip-folder", action="store_true")
    parser.add_argument("--skip-push", action="store_true")
    parser.add_argument(
        "--skip-backlog",
        action="store_true",
        help="Skip the pushes pushed while no worker runs, then imported as a backlog.",
    )
    parser.add_argument("--corpus-dir", help="Where to keep the generated corpus (reused).")
    parser.add_argument("--json", help="Also write the results to this file.")
    args = parser.parse_args(argv)
    manage(environment(args.pg_url), "migrate", "--verbosity", "0")
    results: dict[str, object] = {"database": args.pg_url.rsplit("@", 1)[-1]}
    if not args.skip_folder:
        corpus = Path(args.corpus_dir or tempfile.mkdtemp(prefix="ingest-corpus-"))
        write_corpus(corpus, args.files)
        results["folder"] = []
        for count in (int(part) for part in args.workers.split(",")):
            row = folder_throughput(args.pg_url, corpus, args.files, count)
            results["folder"].append(row)
            print(json.dumps(row), flush=True)
    if not args.skip_push:
        row = push_load(args.pg_url, args.pushes, args.clients, 0.05, args.push_workers)
        results["push"] = row
        print(json.dumps(row), flush=True)
    if not args.skip_push and not args.skip_backlog:
        row = push_load(
            args.pg_url, args.pushes, args.clients, 0.05, args.push_workers, backlog=True
        )
        results["push_backlog"] = row
        print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
