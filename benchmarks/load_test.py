"""Load test: the public site under steady load while 10,000 seed files import into the same
SQLite database. A benchmark, not a test: its figures go into RELIABILITY.md.

    uv run python -m benchmarks.load_test                    # 60 s, 10,000 files
    uv run python -m benchmarks.load_test --seconds 5 --files 300 --site-files 200

What it does, all on 127.0.0.1 and inside a temporary folder:

1. prepares a SQLite database (migrate, import ``--site-files`` articles, collectstatic);
2. starts gunicorn on a free port, with production settings (debug off);
3. starts the load generator in a second process: ``--connections`` threads, each with its own
   keep-alive ``http.client`` connection, cycling through the list page, the JSON view and the
   RSS feed for ``--seconds`` (bounded by a request cap too);
4. at the same moment runs ``manage.py import_seeds`` on ``--files`` new seed files into the
   same database;
5. reports requests, errors, p50/p90/p99/max latency per URL, the import's time, and whether
   "database is locked" appeared anywhere (site log or import output).

Exit status 0 when there were no errors and no lock errors, 1 otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PATHS = ["/", "/api/articles/", "/feed/rss/", "/?page=2", "/api/articles/?page=3"]
MAX_REQUESTS = 1_000_000  # a bound even if the clock misbehaves
LOCKED = "database is locked"

SETTINGS_MODULE = """\
from newsroom.settings import *  # noqa: F403

STATIC_ROOT = {static_root!r}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(workdir: Path, database: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loadtest_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(PROJECT_DIR)]),
    }
    return env


def manage(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen:
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "manage.py"), *args],
        cwd=PROJECT_DIR,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def run(env: dict[str, str], *args: str) -> None:
    process = manage(env, *args)
    if process.wait() != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed")


def wait_until_serving(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited while starting; see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not answer within a minute")


# --- The load generator (runs in its own process) ------------------------------------------


def _client(port: int, stop_at: float, budget: list[int], lock: threading.Lock, results: list):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    index = 0
    while time.monotonic() < stop_at:
        with lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        path = PATHS[index % len(PATHS)]
        index += 1
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            ok = response.status == 200
            detail = "" if ok else f"HTTP {response.status}: {body[:200]!r}"
        except (OSError, http.client.HTTPException) as error:
            ok, detail = False, f"{type(error).__name__}: {error}"
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        results.append((path, time.perf_counter() - started, ok, detail))
    connection.close()


def load(port: int, seconds: float, connections: int, queue: multiprocessing.Queue) -> None:
    stop_at = time.monotonic() + seconds
    budget, lock, results = [MAX_REQUESTS], threading.Lock(), []
    threads = [
        threading.Thread(target=_client, args=(port, stop_at, budget, lock, results))
        for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    queue.put(results)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summarise(results: list, seconds: float) -> dict:
    summary: dict = {"requests": len(results), "errors": sum(not ok for *_, ok, _ in results)}
    summary["requests_per_second"] = round(len(results) / seconds, 1)
    summary["error_samples"] = sorted({detail for *_, ok, detail in results if not ok})[:5]
    by_path: dict[str, list[float]] = {}
    for path, elapsed, ok, _ in results:
        if ok:
            by_path.setdefault(path, []).append(elapsed * 1000)
    every = [ms for values in by_path.values() for ms in values]
    for name, values in [("all", every), *sorted(by_path.items())]:
        summary[name] = {
            "n": len(values),
            "p50_ms": round(percentile(values, 0.50), 1),
            "p90_ms": round(percentile(values, 0.90), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "max_ms": round(max(values), 1) if values else None,
            "mean_ms": round(statistics.fmean(values), 1) if values else None,
        }
    return summary


# --- The run --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="How long to load the site.")
    parser.add_argument(
        "--files", type=int, default=10_000, help="Files the concurrent import reads."
    )
    parser.add_argument("--site-files", type=int, default=2_000, help="Articles served before it.")
    parser.add_argument("--connections", type=int, default=8, help="Concurrent client threads.")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--import-workers", type=int, default=1, help="import_seeds --workers.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    parser.add_argument("--json", action="store_true", help="Print only the JSON report.")
    options = parser.parse_args(argv)

    sys.path.insert(0, str(PROJECT_DIR))
    from benchmarks.corpus import write_corpus

    workdir = Path(tempfile.mkdtemp(prefix="newsroom-load-"))
    database = workdir / "db.sqlite3"
    (workdir / "loadtest_settings.py").write_text(
        SETTINGS_MODULE.format(static_root=str(workdir / "static"))
    )
    env = environment(workdir, database)
    say = (lambda *a: None) if options.json else (lambda *a: print(*a, file=sys.stderr))
    server = None
    try:
        say(f"Preparing {workdir} ...")
        site_seeds = write_corpus(workdir / "site-seeds", options.site_files, seed=1)
        new_seeds = write_corpus(workdir / "new-seeds", options.files, seed=2)
        run(env, "migrate", "--verbosity=0")
        run(env, "collectstatic", "--noinput", "--verbosity=0")
        run(env, "import_seeds", str(site_seeds), "--verbosity=0")

        port = free_port()
        server_log = workdir / "gunicorn.log"
        command = [
            sys.executable, "-m", "gunicorn", "newsroom.wsgi",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(options.gunicorn_workers),
            "--threads", str(options.gunicorn_threads),
            "--error-logfile", "-",
            "--timeout", "120",
        ]  # fmt: skip
        server = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=env,
            stdout=open(server_log, "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        wait_until_serving(port, server)
        say(f"Serving on 127.0.0.1:{port}; loading for {options.seconds:g} s while importing "
            f"{options.files:,} files ...")  # fmt: skip

        queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
        generator = multiprocessing.get_context("spawn").Process(
            target=load, args=(port, options.seconds, options.connections, queue)
        )
        started = time.monotonic()
        generator.start()
        import_log = workdir / "import.log"
        importer = manage(
            env, "import_seeds", str(new_seeds), f"--workers={options.import_workers}",
            log=import_log,
        )  # fmt: skip
        import_status = importer.wait(timeout=3600)
        import_seconds = time.monotonic() - started
        results = queue.get(timeout=options.seconds + 120)
        generator.join(60)
        load_seconds = max(options.seconds, 1e-9)

        server.terminate()
        server.wait(30)
        server = None
        site_log = server_log.read_text(errors="replace")
        import_output = import_log.read_text(errors="replace")
        report = {
            "seconds": options.seconds,
            "connections": options.connections,
            "gunicorn": f"{options.gunicorn_workers} workers x {options.gunicorn_threads} threads",
            "site_articles_before": options.site_files,
            "load": summarise(results, load_seconds),
            "import": {
                "files": options.files,
                "exit_status": import_status,
                "seconds": round(import_seconds, 1),
                "files_per_second": round(options.files / import_seconds, 1),
                "summary": import_output.strip().splitlines()[-1:] if import_output else [],
            },
            "database_is_locked": {
                "site_log": site_log.count(LOCKED),
                "import_output": import_output.count(LOCKED),
            },
            "server_errors_in_log": site_log.count("Traceback"),
            "cpu_count": os.cpu_count(),
        }
        print(json.dumps(report, indent=2))
        failed = (
            report["load"]["errors"]
            or import_status != 0
            or any(report["database_is_locked"].values())
            or report["server_errors_in_log"]
        )
        return 1 if failed else 0
    finally:
        if server is not None:
            server.kill()
            server.wait(30)
        if options.keep:
            say(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
