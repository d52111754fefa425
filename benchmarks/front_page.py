"""The front page served at scale (issue 15): under gunicorn, a cached list page against a
trivial Django view on the same server, and pages nothing has cached.

    uv run python -m benchmarks.front_page --articles 20000 --seconds 10
    uv run python -m benchmarks.front_page --articles 1000000 --seconds 30 \\
        --database postgres --redis redis://127.0.0.1:6379/5

What it does, on 127.0.0.1 and inside a temporary folder:

1. fills a fresh database (a SQLite file, or the dedicated PostgreSQL database
   ``newsroom_bench``) with ``--articles`` rows by bulk SQL (``benchmarks.rows``);
2. starts gunicorn with production settings (debug off), the project's URLs plus one trivial
   view (``/bench/trivial/``: a plain ``HttpResponse``, no query), and Django's cache in Redis
   when ``--redis`` is given (as production runs with ``REDIS_URL``), else in each worker's
   memory;
3. for each measured address, ``--connections`` keep-alive clients request it for
   ``--seconds``: requests per second and latency percentiles;
4. "uncached" addresses carry a parameter that changes on every request (``&n=<counter>``), so
   the whole-page cache never answers them and every request builds its page (the facets and
   the bounded count stay cached, as on a live site); "first visit" addresses are timed one
   request each, with every cache empty.

Prints one table and, with ``--json``, the raw figures. The goal (issue 15, point 6): a cached
list page at >= 0.5 x the trivial view's requests per second; uncached pages within the page
targets of BENCHMARKS.md (50 ms for a list page at 1M articles).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from django.http import HttpResponse

from .load_test import PROJECT_DIR, free_port, percentile

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/newsroom_bench"


def trivial(request):
    """The floor: what Django itself costs per request on this server."""
    return HttpResponse("ok", content_type="text/plain")


SETTINGS_MODULE = """\
from benchmarks.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.front_page"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
"""

# (label, address, kind): "load" is requested for --seconds by every client; "uncached" the
# same with a parameter that changes every request; "first" once, with the caches empty.
MEASURES = [
    ("trivial Django view", "/bench/trivial/", "load"),
    ("list, Top stories (cached)", "/", "load"),
    ("list, topic + provider (cached)", "/?topic=Energy&provider=3", "load"),
    ("JSON view (cached)", "/api/articles/", "load"),
    ("list, Top stories (uncached)", "/?n=", "uncached"),
    ("list, Latest (uncached)", "/?ordering=newest&n=", "uncached"),
    ("topic section (uncached)", "/topics/Energy/?n=", "uncached"),
    ("list, provider, facets follow (uncached)", "/?provider=3&n=", "uncached"),
    ("list, Top stories, first visit", "/?first=1", "first"),
    ("list, provider, first visit (facets counted)", "/?provider=5&first=1", "first"),
    ("topic section, first visit", "/topics/Health/?first=1", "first"),
]


def _step(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.steps", *args],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"benchmark step {args[0]} failed:\n{done.stderr[-4000:]}")


def _fresh_postgres(url: str) -> None:
    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


# What every browser and CDN sends (and so gets the compressed page): the trivial view is asked
# the same way.
BROWSER_HEADERS = {"Accept-Encoding": "gzip, deflate, br"}


def _get(connection: http.client.HTTPConnection, address: str) -> tuple[int, float]:
    started = time.perf_counter()
    connection.request("GET", address, headers=BROWSER_HEADERS)
    response = connection.getresponse()
    response.read()
    return response.status, time.perf_counter() - started


def _hammer(port: int, address: str, seconds: float, connections: int, fresh: bool) -> dict:
    """``connections`` keep-alive clients on one address for ``seconds``."""
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop_at:
            target = f"{address}{next(counter)}" if fresh else address
            try:
                status, elapsed = _get(connection, target)
            except (OSError, http.client.HTTPException):
                status, elapsed = 0, 0.0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                if status == 200:
                    latencies.append(elapsed * 1000)
                else:
                    errors[0] += 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    return {
        "requests_per_second": round(len(latencies) / seconds, 1),
        "requests": len(latencies),
        "errors": errors[0],
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
    }


def _first(port: int, address: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    status, elapsed = _get(connection, address)
    connection.close()
    return {"ms": round(elapsed * 1000, 1), "status": status}


def _wait(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited while starting; see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if _get(connection, "/bench/trivial/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within two minutes")


def _clear_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000, help="Rows to serve from.")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSROOM_BENCH_PG", DEFAULT_PG_URL))
    parser.add_argument("--redis", help="Django's cache in Redis at this URL (a db of its own).")
    parser.add_argument("--seconds", type=float, default=10, help="Per loaded address.")
    parser.add_argument("--connections", type=int, default=8, help="Concurrent clients.")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--json", help="Also write the raw results to this file.")
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="newsroom-front-") as folder:
        workdir = Path(folder)
        (workdir / "front_page_settings.py").write_text(SETTINGS_MODULE)
        if options.database == "postgres":
            _fresh_postgres(options.pg_url)
            url = options.pg_url
        else:
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "PYTHONPATH": os.pathsep.join([str(workdir), str(PROJECT_DIR)]),
        }
        env.pop("REDIS_URL", None)
        if options.redis:
            env["REDIS_URL"] = options.redis
            _clear_redis(options.redis)
        started = time.monotonic()
        _step(env, "migrate")
        _step(env, "serve-load", "--articles", str(options.articles))
        print(f"loaded {options.articles:,} rows in {time.monotonic() - started:.0f}s")

        port = free_port()
        log = workdir / "gunicorn.log"
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "benchmarks.front_page:application",
                "--bind", f"127.0.0.1:{port}",
                "--workers", str(options.gunicorn_workers),
                "--threads", str(options.gunicorn_threads),
                "--log-level", "warning",
            ],
            cwd=PROJECT_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "front_page_settings"},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        results: dict[str, dict] = {}
        try:
            _wait(port, server)
            for label, address, kind in MEASURES:
                if kind == "first":
                    results[label] = _first(port, address)
                    continue
                for _ in range(options.gunicorn_workers * 4):  # warm every worker's caches
                    _first(port, address + ("0" if kind == "uncached" else ""))
                results[label] = _hammer(
                    port, address, options.seconds, options.connections, kind == "uncached"
                )
        finally:
            server.terminate()
            server.wait(30)
            if any(figures.get("errors") for figures in results.values()):
                sys.stderr.write(f"errors; the server's log ends:\n{log.read_text()[-8000:]}\n")

    floor = results["trivial Django view"]["requests_per_second"]
    print(
        f"\n{options.database}, {options.articles:,} articles, cache "
        f"{'redis' if options.redis else 'locmem'}, gunicorn {options.gunicorn_workers} x "
        f"{options.gunicorn_threads}, {options.connections} clients, {options.seconds:g} s each\n"
    )
    print(f"{'measure':48} {'req/s':>9} {'x trivial':>10} {'p50 ms':>8} {'p99 ms':>8} errors")
    for label, figures in results.items():
        if "ms" in figures:
            print(f"{label:48} {'':>9} {'':>10} {figures['ms']:>8.1f} {'':>8} "
                  f"HTTP {figures['status']}")  # fmt: skip
            continue
        ratio = figures["requests_per_second"] / floor if floor else 0
        print(
            f"{label:48} {figures['requests_per_second']:>9,.0f} {ratio:>9.2f}x "
            f"{figures['p50_ms']:>8.1f} {figures['p99_ms']:>8.1f} {figures['errors']}"
        )
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=2))
    return 0


def __getattr__(name: str):
    # Made on first use, so running this module needs no configured Django: gunicorn loads
    # ``benchmarks.front_page:application``, and the server's ROOT_URLCONF reads
    # ``urlpatterns`` (the trivial view and the project's own URLs).
    if name == "application":
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
    if name == "urlpatterns":
        from django.urls import include, path

        return [path("bench/trivial/", trivial), path("", include("newsroom.urls"))]
    raise AttributeError(name)


if __name__ == "__main__":
    raise SystemExit(main())
