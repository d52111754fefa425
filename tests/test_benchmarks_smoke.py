"""The benchmark runs end to end and prints every row of its table (timings are not asserted).

``python -m benchmarks --smoke``: a few hundred seed files and 10,000 served rows, in its own
temporary SQLite file (and, when the suite runs on PostgreSQL, in a database of its own there).
"""

import os
import subprocess
import sys

import dj_database_url
import pytest

from benchmarks.__main__ import ROWS
from benchmarks.corpus import seed_file, write_corpus
from curation import seedfile
from tests.conftest import PROJECT_DIR


def run_smoke(tmp_path, *options: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--smoke",
            "--corpus-dir",
            str(tmp_path / "corpus"),
            *options,
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def assert_every_row(output: str, database: str) -> None:
    lines = [line for line in output.splitlines() if line.startswith(database)]
    for _, label in ROWS:
        assert any(label in line for line in lines), f"no {label!r} row for {database}:\n{output}"
    assert "HTTP 200" in output
    assert "failed 0" in output


def test_smoke_benchmark_prints_every_row_on_sqlite(tmp_path):
    assert_every_row(run_smoke(tmp_path, "--database", "sqlite"), "sqlite")


def test_smoke_benchmark_prints_every_row_on_postgresql(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("runs when the suite runs on PostgreSQL (DATABASE_URL)")
    name = dj_database_url.parse(url)["NAME"]
    # The benchmark refuses test databases; a name of its own, derived from the suite's.
    bench = url.rsplit("/", 1)[0] + f"/newsroom_bench_smoke_{name}"
    output = run_smoke(tmp_path, "--database", "postgres", "--pg-url", bench)
    assert_every_row(output, "postgres")


def test_corpus_is_deterministic_and_parses(tmp_path):
    assert seed_file(7) == seed_file(7)
    assert seed_file(7) != seed_file(8)
    folder = write_corpus(tmp_path / "corpus", 200)
    files = sorted(folder.glob("*.txt"))
    assert len(files) == 200
    documents = [seedfile.parse(path.read_bytes()) for path in files]
    assert any(not document.has_front_matter for document in documents)
    assert any(document.source_url for document in documents)
    assert any(document.web_url for document in documents)
    assert max(len(document.related) for document in documents) <= 25
    assert all(
        url.split("/")[2].endswith(".example")
        for document in documents
        for url in (document.web_url, document.source_url)
        if url
    )
