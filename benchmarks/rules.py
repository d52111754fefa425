"""``uv run python -m benchmarks.rules``: what enabled rules cost an import.

Imports the benchmark corpus (``benchmarks.corpus``) into a fresh database with no rules, then
into another fresh one with ``--rules`` enabled rules (providers, topics, categories, types and
words drawn from the corpus's own vocabulary, so they match), alternating ``--runs`` times, each
import in its own process (``benchmarks.steps import``). Prints the median of each and the ratio,
and how long a preview and an apply to existing articles take on the ruled database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .corpus import _CATEGORIES, _TOPICS, _TYPES, _WORDS, PROVIDERS, write_corpus

ROOT = Path(__file__).resolve().parent.parent


def rule_fields(count: int) -> list[dict]:
    """``count`` rules shaped like a desk's: mostly one or two conditions, a few words, every
    action, a stop here now and then. Deterministic."""
    rng = random.Random("rules")
    rules = []
    for number in range(count):
        fields: dict = {"name": f"bench rule {number}", "position": number}
        kind = number % 5
        if kind == 0:
            fields["providers"] = "\n".join(name for name, _ in rng.sample(PROVIDERS, 5))
        elif kind == 1:
            fields["topics"] = "\n".join(rng.sample(_TOPICS, 2))
            fields["categories"] = rng.choice(_CATEGORIES)
        elif kind == 2:
            fields["words"] = "\n".join(rng.sample(_WORDS, 3))
        elif kind == 3:
            fields["types"] = rng.choice(_TYPES)
            fields["words"] = " ".join(rng.sample(_WORDS, 2))
        else:
            fields["providers"] = rng.choice(PROVIDERS)[1]
            fields["topics"] = rng.choice(_TOPICS)
        fields["set_quality"] = rng.randrange(0, 200)
        if number % 2:
            fields["set_heat"] = rng.randrange(0, 100)
        if number % 3 == 0:
            fields["set_published"] = number % 2 == 0
        fields["mark_for_review"] = number % 7 == 0
        fields["stop_here"] = number % 9 == 8
        rules.append(fields)
    return rules


def _run(url: str, *args: str) -> dict:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
    }
    done = subprocess.run(
        [sys.executable, *args], env=environment, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-4000:]}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def _fresh(url: str | None, folder: str) -> str:
    if url is None:
        return f"sqlite:///{folder}/rules-{time.monotonic_ns()}.sqlite3"
    import psycopg

    name = url.rsplit("/", 1)[1]
    if name in ("", "test", "postgres") or name.startswith("test_"):
        raise SystemExit(f"refusing to benchmark in the database {name!r}; name a bench one")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url


def step_rules(count: int) -> dict:
    """Create the rules (run in the benchmark database's process)."""
    import django

    django.setup()
    from curation.models import Rule

    Rule.objects.bulk_create(Rule(**fields) for fields in rule_fields(count))
    return {"rules": Rule.objects.enabled().count()}


def step_preview() -> dict:
    """Time a preview and an apply to existing articles of a words-only rule (the slowest kind:
    every stored article is read and tested) and of a provider rule (narrowed in the database),
    on the database the ruled import filled."""
    import django

    django.setup()
    from curation import rules
    from curation.models import Article, Rule

    timings: dict = {"articles": Article.objects.count()}
    for kind, fields in (
        ("words", {"words": "\n".join(_WORDS[:3])}),
        ("provider", {"providers": "\n".join(name for name, _ in PROVIDERS[:10])}),
    ):
        rule = Rule.objects.create(name=f"bench {kind}", set_heat=7, **fields)
        started = time.perf_counter()
        plan = rules.preview(rule)
        timings[f"{kind}_preview_s"] = time.perf_counter() - started
        started = time.perf_counter()
        outcome = rules.apply_to_existing(rule)
        timings[f"{kind}_apply_s"] = time.perf_counter() - started
        timings[f"{kind}_changed"] = outcome.changed
        assert outcome.changed == plan.changing
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rules", description=__doc__)
    parser.add_argument("--files", type=int, default=5000, help="Seed files to import.")
    parser.add_argument("--rules", type=int, default=20, help="Enabled rules in the ruled run.")
    parser.add_argument("--runs", type=int, default=3, help="Imports of each kind (median).")
    parser.add_argument("--pg-url", help="A PostgreSQL bench database (dropped and re-created).")
    parser.add_argument("--step-rules", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--step-preview", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step_rules is not None:
        print(json.dumps(step_rules(args.step_rules)))
        return 0
    if args.step_preview:
        print(json.dumps(step_preview()))
        return 0
    corpus = Path(tempfile.gettempdir()) / f"newsroom-bench-corpus-{args.files}"
    write_corpus(corpus, args.files)
    timings: dict[str, list[dict]] = {"none": [], "ruled": []}
    previews: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="newsroom-rules-bench-") as folder:
        for _ in range(args.runs):
            for kind in ("none", "ruled"):
                url = _fresh(args.pg_url, folder)
                _run(url, "-m", "benchmarks.steps", "migrate")
                if kind == "ruled":
                    _run(url, "-m", "benchmarks.rules", "--step-rules", str(args.rules))
                result = _run(url, "-m", "benchmarks.steps", "import", "--folder", str(corpus))
                timings[kind].append(result)
                sys.stderr.write(f"{kind}: {result['rate']:,.0f} files/s\n")
                if kind == "ruled":
                    previews.append(_run(url, "-m", "benchmarks.rules", "--step-preview"))
    summary = {
        kind: {
            "rate": statistics.median(run["rate"] for run in runs),
            "main_cpu_ms": statistics.median(run["main_cpu_ms"] for run in runs),
        }
        for kind, runs in timings.items()
    }
    summary["ratio"] = summary["ruled"]["rate"] / summary["none"]["rate"]
    summary["main_cpu_ratio"] = summary["ruled"]["main_cpu_ms"] / summary["none"]["main_cpu_ms"]
    summary["preview_and_apply"] = previews[-1]
    print(json.dumps({"files": args.files, "rules": args.rules, **summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
