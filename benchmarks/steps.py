"""One benchmark step per process: ``python -m benchmarks.steps STEP [options]``, prints JSON.

Each step runs in a fresh process so its peak memory (``ru_maxrss``) is its own, and so the
orchestrator never holds Django state between databases. ``DATABASE_URL`` names the database.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()


def _rss(children: _ChildPeaks | None = None) -> dict[str, float]:
    """Peak resident memory in MB: this process, and the sum of its child processes' peaks."""
    peaks = children.peaks if children else {}
    return {
        "main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_mb": sum(peaks.values()) / 1024,
        "workers": len(peaks),
    }


class _ChildPeaks(threading.Thread):
    """Samples the peak RSS (VmHWM) of this process's children, i.e. the parsing workers.

    ``getrusage(RUSAGE_CHILDREN)`` is no use here: it reports the largest child only, and a
    spawned child is counted with its parent's pages for the moment between fork and exec.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, int] = {}  # pid -> KB
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.25):
            self.sample()

    def sample(self) -> None:
        own = Path("/proc/self/cmdline").read_bytes()
        for pid in self._children():
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes() == own:
                    continue  # forked, not yet exec'd: its pages are still ours
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peaks[pid] = max(self.peaks.get(pid, 0), int(line.split()[1]))

    @staticmethod
    def _children() -> set[int]:
        found: set[int] = set()
        for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
            try:
                found.update(int(pid) for pid in (task / "children").read_text().split())
            except OSError:
                continue
        return found

    def __enter__(self) -> _ChildPeaks:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join()


# -- import side -------------------------------------------------------------------------


def step_migrate(args) -> dict:
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return {}


def step_corpus(args) -> dict:
    from .corpus import write_corpus

    started = time.perf_counter()
    write_corpus(args.folder, args.files)
    return {"seconds": time.perf_counter() - started}


def step_floor(args) -> dict:
    """The parse-only floor: read every file and parse its front matter with libyaml, one process."""
    import yaml

    files = sorted(p for p in Path(args.folder).iterdir() if p.suffix == ".txt")
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        text = path.read_bytes().decode("utf-8")
        if text.startswith("---\n"):
            end = text.find("\n---\n", 3)
            yaml.load(text[4 : end + 1], Loader=yaml.CSafeLoader)
    seconds = time.perf_counter() - started
    return {"files": len(files), "seconds": seconds, "rate": len(files) / seconds,
            "cpu_ms": (time.process_time() - cpu) * 1000 / max(len(files), 1)}  # fmt: skip


def _server_cpu_seconds() -> float:
    """CPU time of every local PostgreSQL process so far (exited ones count in their parent's
    children's time): the database server's share of an import, when it runs on this machine."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
        if name.startswith("postgres"):
            total += sum(int(value) for value in fields.split()[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def step_import(args) -> dict:
    _setup()
    from django.db import connection

    from curation.importer import import_seeds

    gc.collect()
    server = _server_cpu_seconds() if connection.vendor == "postgresql" else None
    started, cpu = time.perf_counter(), time.process_time()
    with _ChildPeaks() as children:
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            report = profiler.runcall(import_seeds, [args.folder])
            pstats.Stats(profiler, stream=sys.stderr).sort_stats(
                os.environ.get("BENCH_PROFILE_SORT", "cumulative")
            ).print_stats(45)
        else:
            report = import_seeds([args.folder])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    child_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    counts = report.counts()
    files = sum(counts[name] for name in ("created", "updated", "unchanged", "failed"))
    return {
        "files": files,
        "seconds": seconds,
        "rate": files / seconds,
        # CPU per file: the main process (database writes, on SQLite in-process) and the
        # workers (read, hash, parse). On a busy machine these are steadier than the rate.
        "main_cpu_ms": cpu * 1000 / max(files, 1),
        "worker_cpu_ms": (child_usage.ru_utime + child_usage.ru_stime) * 1000 / max(files, 1),
        "server_cpu_ms": None
        if server is None
        else (_server_cpu_seconds() - server) * 1000 / max(files, 1),
        **counts,
        **_rss(children),
    }


def step_export(args) -> dict:
    _setup()
    from curation.exporter import export_seeds
    from curation.models import Article

    articles = Article.objects.count()
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-export-") as folder:
        started = time.perf_counter()
        report = export_seeds(folder)
        seconds = time.perf_counter() - started
    return {"articles": articles, "seconds": seconds, "rate": articles / seconds,
            **report.counts(), **_rss()}  # fmt: skip


# -- serving side ------------------------------------------------------------------------


def step_serve_load(args) -> dict:
    """Fill the (empty) database with ``--articles`` rows by bulk SQL, not through the importer."""
    _setup()
    from .rows import load_rows

    started = time.perf_counter()
    load_rows(args.articles)
    return {"articles": args.articles, "seconds": time.perf_counter() - started}


def _time(call, runs: int) -> tuple[float, list[float]]:
    call()  # warm: caches, prepared plans, lazy imports
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), samples


def step_serve(args) -> dict:
    _setup()
    from django.test import Client
    from django.urls import reverse

    from curation.models import Article

    client = Client()
    runs = args.runs
    published = Article.objects.published().count()
    per_page, deep = 25, max(1, int(published / 25 * 0.8))
    results: dict[str, dict] = {"published": published, "per_page": per_page, "deep_page": deep}
    try:
        list_url = reverse("curation:article-list")
        view = getattr(client.get(list_url).resolver_match.func, "view_class", None)
    except Exception as error:  # the public views are someone else's work in progress
        for name in ("list_first", "list_filtered", "list_deep", "json", "search_page"):
            results[name] = {"missing": f"views unavailable: {type(error).__name__}: {error}"}
        list_url = None
    if list_url:
        per_page = getattr(view, "paginate_by", None) or per_page
        deep = max(1, int(published / per_page * 0.8))
        results.update(per_page=per_page, deep_page=deep)
        results.update(_serve_pages(client, list_url, deep, runs))
    _serve_orm(results, per_page, deep, runs)
    return results


def _serve_pages(client, list_url: str, deep: int, runs: int) -> dict[str, dict]:
    from django.urls import NoReverseMatch, reverse

    from curation.models import Topic

    from .rows import SEARCH_TERMS

    topic = Topic.objects.order_by("id").values_list("name", flat=True).first() or ""
    try:
        json_url = reverse("curation:api-articles")
    except NoReverseMatch:
        json_url = _find_json_url()
    pages = {
        "list_first": (list_url, {}),
        "list_filtered": (
            list_url,
            {"topic": topic, "published_after": "2021-01-01", "published_before": "2022-06-30"},
        ),
        "list_deep": (list_url, _deep_params(deep)),
        "json": (json_url, {}) if json_url else None,
        "search_page": (list_url, {"q": SEARCH_TERMS[0]}),
    }
    results: dict[str, dict] = {}
    for name, target in pages.items():
        if target is None:
            results[name] = {"missing": "no JSON view found in curation.urls"}
            continue
        url, params = target
        response = client.get(url, params)
        with _Queries() as queries:
            client.get(url, params)
        second = {**params, "page": 2} if name != "list_deep" else _deep_params(deep - 1)
        with _Queries() as other:
            client.get(url, second)
        median, _ = _time(lambda url=url, params=params: client.get(url, params), runs)
        results[name] = {
            "url": url,
            "params": params,
            "status": response.status_code,
            "median_ms": median,
            "queries": len(queries.timings),
            "queries_other_page": len(other.timings),
            "slowest_query_ms": max((ms for ms, _ in queries.timings), default=0),
            "slowest_query": max(queries.timings, default=(0, ""))[1][:300],
            "query_ms": [(round(ms, 1), sql[:160]) for ms, sql in queries.timings],
        }
    return results


def _deep_params(page: int) -> dict:
    """How the list asks for page ``page``: ``?page=N``, or the keyset cursor of the article
    just before it (``?after=``) when the views paginate by cursor beyond the first pages."""
    from django.db.models import F

    from curation import filters, views
    from curation.models import Article

    encode = getattr(views, "encode_cursor", None)
    orderings = getattr(filters, "ORDERINGS", None)
    if encode is None or not isinstance(orderings, dict) or "newest" not in orderings:
        return {"page": page}
    offset = (page - 1) * 25 - 1
    newest = (F("published_at").desc(nulls_last=True), "-id")
    before = Article.objects.published().order_by(*newest)[offset]
    return {"after": encode("newest", orderings["newest"], before)}


def _serve_orm(results: dict, per_page: int, deep: int, runs: int) -> None:
    from curation.filters import RESULT_COUNT_CAP
    from curation.models import Article

    from .rows import SEARCH_TERMS

    published = results["published"]
    # Free-text search at the ORM level: the first page, and its count as the list counts
    # (up to RESULT_COUNT_CAP + 1; the list caches it too, this does not).
    samples = []
    for term in SEARCH_TERMS:

        def run(term=term):
            found = Article.objects.published().search(term).order_by("-published_at", "-id")
            list(found.values_list("id", flat=True)[:per_page])
            found.order_by().values("pk")[: RESULT_COUNT_CAP + 1].count()

        samples.append(_time(run, max(3, runs // 2))[0])
    results["search_orm"] = {"median_ms": statistics.median(samples), "terms": SEARCH_TERMS,
                             "per_term_ms": samples}  # fmt: skip
    count_ms, _ = _time(lambda: Article.objects.published().count(), runs)
    results["count"] = {"median_ms": count_ms, "rows": published}
    results.update(_what_if(per_page, deep, runs))


def _what_if(per_page: int, deep: int, runs: int) -> dict[str, dict]:
    """Alternatives the views could adopt, timed on the same rows at the ORM level."""
    from django.db.models import Q

    from curation.models import HEAVY_FIELDS, Article

    newest = ("-published_at", "-id")
    rows = Article.objects.published().order_by(*newest).defer(*HEAVY_FIELDS)
    offset = (deep - 1) * per_page
    boundary = rows.values_list("published_at", "id")[offset - 1 : offset]
    results: dict[str, dict] = {}
    if boundary:
        moment, last_id = boundary[0]
        keyset = rows.filter(Q(published_at__lt=moment) | Q(published_at=moment, id__lt=last_id))
        results["offset_deep"] = {
            "median_ms": _time(lambda: list(rows[offset : offset + per_page]), runs)[0]
        }
        results["keyset_deep"] = {
            "median_ms": _time(lambda: list(keyset[:per_page]), runs)[0],
            "same_rows": [a.id for a in keyset[:per_page]]
            == [a.id for a in rows[offset : offset + per_page]],
        }
    limit = 1000
    results["count_bounded"] = {
        "median_ms": _time(lambda: Article.objects.published()[: limit + 1].count(), runs)[0],
        "limit": limit,
    }
    first_page = rows.for_listing(related_count=True)
    results["related_subquery"] = {"median_ms": _time(lambda: list(first_page[:per_page]), runs)[0]}
    return results


class _Queries:
    """Times every query the default connection runs (across reconnects, unlike
    ``CaptureQueriesContext``, whose log a request's start resets)."""

    def __enter__(self) -> _Queries:
        from django.db import connection

        self.timings: list[tuple[float, str]] = []
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wrapper.__exit__(*exc)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timings.append(((time.perf_counter() - started) * 1000, sql))


def _find_json_url() -> str | None:
    """The JSON list view, by name: the public views are still being built."""
    from django.urls import get_resolver, reverse

    for name in get_resolver("curation.urls").reverse_dict:
        if isinstance(name, str) and ("json" in name or "api" in name):
            try:
                return reverse(f"curation:{name}")
            except Exception:
                continue
    return None


STEPS = {
    "migrate": step_migrate,
    "corpus": step_corpus,
    "floor": step_floor,
    "import": step_import,
    "export": step_export,
    "serve-load": step_serve_load,
    "serve": step_serve,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.steps")
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--folder")
    parser.add_argument("--files", type=int, default=0)
    parser.add_argument("--articles", type=int, default=0)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    random.seed(0)
    result = STEPS[args.step](args)
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
