"""``uv run python -m benchmarks``: import, export and serving at scale, as one table.

Every figure is printed beside its floor or target and the ratio between them. Each step runs in
its own process (``benchmarks.steps``) against a temporary SQLite file or the dedicated
PostgreSQL database ``newsroom_bench`` (never the development or the test database).
See BENCHMARKS.md for the targets, the last numbers and what they mean.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .corpus import write_corpus

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/newsroom_bench"
ROWS = [  # (key, label): the rows of the table, in order; the smoke test checks every one
    ("floor", "parse-only floor (libyaml, 1 process)"),
    ("import", "import_seeds, empty database"),
    ("import_rss", "import peak memory (main + workers)"),
    ("reimport", "re-import, nothing changed"),
    ("export", "export_seeds, every article"),
    ("list_first", "list, first page"),
    ("list_filtered", "list, topic + date range"),
    ("list_deep", "list, deep page (80 %)"),
    ("json", "JSON view, first page"),
    ("search_page", "list, free-text search"),
    ("search_orm", "search(): first page + capped count"),
    ("count", "COUNT(*) of published articles"),
    # What the views could do instead (ORM level, same rows); see BENCHMARKS.md.
    ("offset_deep", "what-if: OFFSET deep page, rows only"),
    ("keyset_deep", "what-if: keyset deep page, rows only"),
    ("count_bounded", "what-if: count bounded at 1,001"),
    ("related_subquery", "what-if: page with related count subquery"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--files", type=int, default=100_000, help="Seed files to import.")
    parser.add_argument("--articles", type=int, default=1_000_000, help="Rows to serve from.")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSROOM_BENCH_PG", DEFAULT_PG_URL))
    parser.add_argument("--runs", type=int, default=15, help="Timed requests per page (median).")
    parser.add_argument("--corpus-dir", help="Where to keep the generated corpus (reused).")
    parser.add_argument("--skip-import", action="store_true", help="Serving rows only.")
    parser.add_argument("--skip-serve", action="store_true", help="Import and export only.")
    parser.add_argument("--json", help="Also write the raw results to this file.")
    parser.add_argument(
        "--smoke", action="store_true", help="A small, quick run (300 files, 10k rows, 3 runs)."
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.files, args.articles, args.runs = 300, 10_000, 3
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    corpus = Path(
        args.corpus_dir or Path(tempfile.gettempdir()) / f"newsroom-bench-corpus-{args.files}"
    )
    results: dict[str, dict] = {}
    if not args.skip_import:
        started = time.perf_counter()
        write_corpus(corpus, args.files)
        _log(f"corpus: {args.files:,} files in {corpus} ({time.perf_counter() - started:.1f}s)")
    for database in databases:
        with _database(database, args.pg_url) as fresh:
            results[database] = _run(database, fresh, corpus, args)
    sys.stdout.write(format_table(results, args) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


def _log(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


class _database:
    """A fresh, empty database for the run; removed (SQLite) or left for inspection (PG)."""

    def __init__(self, vendor: str, pg_url: str) -> None:
        self.vendor, self.pg_url, self.folder = vendor, pg_url, None

    def __enter__(self) -> _database:
        if self.vendor == "sqlite":
            self.folder = tempfile.mkdtemp(prefix="newsroom-bench-")
        return self

    def fresh(self) -> str:
        if self.vendor == "sqlite":
            path = Path(self.folder) / f"bench-{time.monotonic_ns()}.sqlite3"
            for old in Path(self.folder).glob("bench-*"):
                old.unlink()
            return f"sqlite:///{path}"
        import psycopg

        name = self.pg_url.rsplit("/", 1)[1]
        if name in ("", "test", "postgres") or name.startswith("test_"):
            raise SystemExit(f"refusing to benchmark in the database {name!r}; name a bench one")
        admin = self.pg_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.pg_url

    def __exit__(self, *exc: object) -> None:
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def _step(url: str, step: str, *options: str) -> dict:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.steps", step, *options],
        env=environment,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode:
        raise SystemExit(f"benchmark step {step} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run(vendor: str, database: _database, corpus: Path, args) -> dict:
    results: dict = {}
    if not args.skip_import:
        url = database.fresh()
        _step(url, "migrate")
        results["floor"] = _step(url, "floor", "--folder", str(corpus))
        _log(f"{vendor}: floor {results['floor']['rate']:,.0f} files/s")
        results["import"] = _step(url, "import", "--folder", str(corpus))
        _log(f"{vendor}: import {results['import']['rate']:,.0f} files/s")
        results["reimport"] = _step(url, "import", "--folder", str(corpus))
        _log(f"{vendor}: re-import {results['reimport']['seconds']:.1f}s")
        results["export"] = _step(url, "export")
        _log(f"{vendor}: export {results['export']['rate']:,.0f} articles/s")
    if not args.skip_serve:
        url = database.fresh()
        _step(url, "migrate")
        results["serve_load"] = _step(url, "serve-load", "--articles", str(args.articles))
        _log(f"{vendor}: loaded {args.articles:,} rows in {results['serve_load']['seconds']:.0f}s")
        results["serve"] = _step(url, "serve", "--runs", str(args.runs))
        _log(f"{vendor}: served")
    return results


def _ratio(value: float, target: float) -> str:
    return f"{value / target:.2f}x" if target else "-"


def format_table(results: dict[str, dict], args) -> str:
    """One line per measure and database: value, floor/target, ratio (>= 1.00x meets it)."""
    lines = [
        f"{'database':<9} {'measure':<40} {'value':>16} {'floor / target':>22} {'ratio':>7}  notes",
        "-" * 120,
    ]
    for vendor, result in results.items():
        for key, label in ROWS:
            row = _row(key, result, args)
            if row is None:
                continue
            value, target, ratio, note = row
            lines.append(f"{vendor:<9} {label:<40} {value:>16} {target:>22} {ratio:>7}  {note}")
    return "\n".join(lines)


def _row(key: str, result: dict, args):
    if key in ("floor", "import", "import_rss", "reimport", "export") and "import" not in result:
        return None
    if key == "floor":
        floor = result["floor"]
        return f"{floor['rate']:,.0f} files/s", "(the floor)", "-", f"{floor['files']:,} files"
    if key == "import":
        rate, floor = result["import"]["rate"], result["floor"]["rate"]
        run = result["import"]
        cpu = f"main {run['main_cpu_ms']:.2f} + workers {run['worker_cpu_ms']:.2f}"
        if run.get("server_cpu_ms") is not None:
            cpu += f" + server {run['server_cpu_ms']:.2f}"
        note = f"{run['seconds']:.1f}s, created {run['created']:,}, failed {run['failed']}; CPU ms/file {cpu}"
        return f"{rate:,.0f} files/s", f">= 0.7 x {floor:,.0f}", _ratio(rate, 0.7 * floor), note
    if key == "import_rss":
        run = result["import"]
        total = run["main_mb"] + run["worker_mb"]
        note = f"main {run['main_mb']:.0f} MB + {run['workers']} child processes {run['worker_mb']:.0f} MB (peaks)"
        return f"{total:,.0f} MB", "<= 300 MB", _ratio(300, total), note
    if key == "reimport":
        again, first = result["reimport"]["seconds"], result["import"]["seconds"]
        note = f"{again / first:.1%} of the first import; unchanged {result['reimport']['unchanged']:,}"
        return f"{again:.1f} s", f"<= {0.1 * first:.1f} s", _ratio(0.1 * first, again), note
    if key == "export":
        rate, target = result["export"]["rate"], result["import"]["rate"]
        note = f"{result['export']['seconds']:.1f}s, {result['export']['articles']:,} articles"
        return f"{rate:,.0f} art/s", f">= {target:,.0f} art/s", _ratio(rate, target), note
    if "serve" not in result:
        return None
    serve = result["serve"].get(key)
    if serve is None:
        return "n/a", "", "-", "not measured (too few rows)"
    if "missing" in serve:
        return "n/a", "", "-", serve["missing"]
    target = 200 if key.startswith("search") else 50
    if key in ("offset_deep", "keyset_deep", "count_bounded", "related_subquery"):
        # Alternatives, for comparison with what the views do: not targets of their own.
        note = {
            "offset_deep": "what ?page=N would cost this deep; the views use cursors",
            "keyset_deep": f"a naive OR cursor condition; same rows as OFFSET: {serve.get('same_rows')}",
            "count_bounded": "shows '1,000+ results' past the bound",
            "related_subquery": "how the list counts related items",
        }[key]
        return f"{serve['median_ms']:.1f} ms", "(comparison)", "-", note
    if key == "count":
        return (
            f"{serve['median_ms']:.1f} ms",
            "(no target)",
            "-",
            f"{serve['rows']:,} published rows",
        )
    note = ""
    if "queries" in serve:
        same = "constant" if serve["queries"] == serve["queries_other_page"] else "VARIES"
        note = f"{serve['queries']} queries ({same}), HTTP {serve['status']}"
    if key == "search_orm":
        note = "terms: " + ", ".join(
            f"{term!r} {ms:.0f}"
            for term, ms in zip(serve["terms"], serve["per_term_ms"], strict=True)
        )
    rows = result["serve_load"]["articles"]
    return (
        f"{serve['median_ms']:.1f} ms",
        f"<= {target} ms",
        _ratio(target, serve["median_ms"]),
        f"{rows:,} rows; {note}",
    )


if __name__ == "__main__":
    raise SystemExit(main())
