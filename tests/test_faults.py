"""Faults: an import or export killed mid-run leaves nothing half-written, and a full disk or
an unwritable folder gives a clear error naming the folder."""

import errno
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from curation import exporter, seedfile
from curation.exporter import TEMP_PREFIX
from curation.models import Article

from .conftest import PROJECT_DIR

FILES = 3000
POLL_SECONDS = 120  # the bound on every polling loop below; normally they end in seconds


def seed_text(number: int) -> str:
    """A seed whose topic, image and related counts vary with its number (0 to 6 each)."""
    topics = "".join(f"  - Topic {(number + i) % 40}\n" for i in range(number % 4))
    images = "".join(
        f'  - url: "https://img.example/{number}/{i}.jpg"\n    width: {100 + i}\n    height: 50\n'
        for i in range(number % 3)
    )
    related = "".join(
        f'  - title: "Related {number}.{i}"\n    webUrl: "https://rel.example/{number}/{i}"\n'
        f"    provider:\n      name: Outlet {i}\n      domain: outlet{i}.example\n"
        for i in range(number % 7)
    )
    return (
        f'---\ncategory: news\ntitle: "Article {number}"\nexcerpt: "{"Words " * 40}"\n'
        f"publishedDateTime: 2024-01-{1 + number % 28:02d}T10:00:00Z\n"
        f'webUrl: "https://news.example/{number}"\nquality: {number % 100}\nheat: -1\n'
        f"published: {'true' if number % 2 else 'false'}\n\n"
        f"provider:\n  name: Provider {number % 30}\n  domain: p{number % 30}.example\n\n"
        + (f"topics:\n{topics}\n" if topics else "")
        + (f"images:\n{images}\n" if images else "")
        + (f"related:\n{related}\n" if related else "")
        + "---\n"
        + "Body paragraph.\n" * (number % 5)
    )


def write_seeds(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        (folder / f"fault_{number:05d}.txt").write_text(seed_text(number))
    return folder


def env_for(database: Path) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DJANGO_DEBUG": "true"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(database: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env_for(database),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def start(database: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env_for(database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill reaches any worker it starts
    )


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def poll(condition, process: subprocess.Popen) -> bool:
    """Wait until ``condition()`` holds; False if the process ended first."""
    deadline = time.monotonic() + POLL_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.005)
    pytest.fail(f"nothing happened within {POLL_SECONDS} s")


def article_count(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
            return connection.execute("SELECT COUNT(*) FROM curation_article").fetchone()[0]
    except sqlite3.OperationalError:  # locked for a moment, or not created yet
        return 0


def assert_every_article_is_whole(database: Path) -> int:
    """Each article has exactly the topics, images and related items its source text lists."""
    with sqlite3.connect(database, timeout=30) as connection:
        rows = connection.execute(
            "SELECT a.id, a.key, a.title, a.source_text,"
            " (SELECT COUNT(*) FROM curation_articletopic t WHERE t.article_id = a.id),"
            " (SELECT COUNT(*) FROM curation_articleimage i WHERE i.article_id = a.id),"
            " (SELECT COUNT(*) FROM curation_relateditem r WHERE r.article_id = a.id)"
            " FROM curation_article a"
        ).fetchall()
    for _, key, title, source, topics, images, related in rows:
        document = seedfile.parse(source.encode("utf-8"), key)
        assert (title, topics, images, related) == (
            document.title,
            len(document.topics),
            len(document.images),
            len(document.related),
        ), f"{key} is half-written"
    return len(rows)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_seeds(tmp_path_factory.mktemp("fault-seeds"), FILES)


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("fault-db") / "empty.sqlite3"
    manage(database, "migrate", "--verbosity=0")
    return database


@pytest.fixture
def database(empty_database, tmp_path) -> Path:
    copy = tmp_path / "db.sqlite3"
    shutil.copy(empty_database, copy)
    return copy


def test_import_killed_mid_run_leaves_no_half_article_and_the_next_run_completes(corpus, database):
    process = start(database, "import_seeds", str(corpus), "--workers=1", "--verbosity=0")
    try:
        poll(lambda: article_count(database) > 0, process)
    finally:
        kill(process)
    landed = assert_every_article_is_whole(database)
    assert 0 < landed < FILES, "the import was not caught mid-run"

    manage(database, "import_seeds", str(corpus), "--verbosity=0")
    assert assert_every_article_is_whole(database) == FILES


def stories_in(database: Path) -> set[frozenset[str]]:
    with sqlite3.connect(database, timeout=30) as connection:
        rows = connection.execute(
            "SELECT story_id, key FROM curation_article WHERE story_id IS NOT NULL"
        ).fetchall()
    found: dict[int, set[str]] = {}
    for story_id, key in rows:
        found.setdefault(story_id, set()).add(key)
    return {frozenset(keys) for keys in found.values()}


def unplaced_count(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as connection:
        return connection.execute("SELECT COUNT(*) FROM curation_unplacedarticle").fetchone()[0]


def test_a_large_import_killed_before_placing_its_stories_leaves_them_to_the_next_run(
    database, empty_database, tmp_path
):
    """A large import places its articles in stories after its last file: killed before
    that, its articles are marked, and the next run places them as one clean run would."""
    from benchmarks.stories import labelled_corpus
    from curation.importer import PLACE_AFTER_FILES

    corpus = tmp_path / "stories"
    labelled_corpus(corpus, events=400, seed=7)
    files = len(list(corpus.iterdir()))
    assert files >= PLACE_AFTER_FILES
    process = start(database, "import_seeds", str(corpus), "--workers=1", "--verbosity=0")
    try:
        poll(lambda: article_count(database) > files // 3, process)
    finally:
        kill(process)
    landed = assert_every_article_is_whole(database)
    assert 0 < landed < files, "the import was not caught mid-run"
    assert unplaced_count(database) == landed and not stories_in(database)

    manage(database, "import_seeds", str(corpus), "--verbosity=0")
    clean = tmp_path / "clean.sqlite3"
    shutil.copy(empty_database, clean)
    manage(clean, "import_seeds", str(corpus), "--verbosity=0")
    assert unplaced_count(database) == 0
    assert len(stories_in(clean)) > 300
    assert stories_in(database) == stories_in(clean)


@pytest.fixture(scope="module")
def exported(corpus, empty_database, tmp_path_factory) -> tuple[Path, Path]:
    """A database holding the corpus, and a full export of it to compare with."""
    database = tmp_path_factory.mktemp("export-db") / "db.sqlite3"
    shutil.copy(empty_database, database)
    manage(database, "import_seeds", str(corpus), "--verbosity=0")
    reference = tmp_path_factory.mktemp("export-reference")
    manage(database, "export_seeds", str(reference), "--verbosity=0")
    assert len(list(reference.iterdir())) == FILES
    return database, reference


def test_export_killed_mid_run_leaves_no_truncated_file(exported, tmp_path):
    database, reference = exported
    outdir = tmp_path / "out"
    process = start(database, "export_seeds", str(outdir), "--verbosity=0")
    try:
        poll(lambda: outdir.is_dir() and len(os.listdir(outdir)) > 10, process)
    finally:
        kill(process)
    written = [path for path in outdir.iterdir() if not path.name.startswith(TEMP_PREFIX)]
    assert 0 < len(written) < FILES, "the export was not caught mid-run"
    for path in written:
        assert path.read_bytes() == (reference / path.name).read_bytes(), f"{path} is truncated"

    manage(database, "export_seeds", str(outdir), "--verbosity=0")
    assert sorted(os.listdir(outdir)) == sorted(os.listdir(reference))  # temporaries cleaned
    for path in reference.iterdir():
        assert (outdir / path.name).read_bytes() == path.read_bytes()


# --- Full disk and unwritable folders (in-process, on the test database) ---------------------


@pytest.fixture
def two_articles(db, tmp_path):
    seeds = write_seeds(tmp_path / "seeds", 2)
    call_command("import_seeds", str(seeds), stdout=io.StringIO())
    assert Article.objects.count() == 2


def export(outdir: Path) -> tuple[CommandError, str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("export_seeds", str(outdir), stdout=io.StringIO(), stderr=err)
    return caught.value, err.getvalue()


def test_full_disk_is_a_clear_error_naming_the_folder_and_leaves_old_files_intact(
    two_articles, tmp_path, monkeypatch
):
    outdir = tmp_path / "out"
    call_command("export_seeds", str(outdir), stdout=io.StringIO())
    before = {path.name: path.read_bytes() for path in outdir.iterdir()}
    Article.objects.update(title="Changed", version=99)  # every file would change

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(exporter.os, "replace", disk_full)
    error, err = export(outdir)
    assert "could not be written" in str(error)
    failures = [line for line in err.splitlines() if line.startswith("FAILED ")]
    assert len(failures) == 2
    for line in failures:
        assert line.startswith(f"FAILED {outdir}{os.sep}")
        assert line.endswith("No space left on device")
    after = {path.name: path.read_bytes() for path in outdir.iterdir()}
    assert after == before  # no temporary left behind, no file half-replaced


def test_full_disk_command_error_names_the_folder(two_articles, tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(exporter.os, "replace", disk_full)
    error, _ = export(tmp_path / "out")
    assert str(tmp_path / "out") in str(error)


def test_full_disk_while_writing_the_temporary_file(two_articles, tmp_path, monkeypatch):
    outdir = tmp_path / "out"
    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):
        def __init__(self, handle):
            self.stream = real_fdopen(handle, "wb")

        def writable(self):
            return True

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def close(self):
            self.stream.close()
            super().close()

    monkeypatch.setattr(exporter.os, "fdopen", lambda handle, mode: FullDisk(handle))
    error, err = export(outdir)
    assert "could not be written" in str(error)
    assert err.count(f"FAILED {outdir}{os.sep}") == 2
    assert err.count("No space left on device") == 2
    assert os.listdir(outdir) == []  # every temporary file was removed


def test_outdir_under_a_regular_file_is_a_clear_error_naming_the_folder(two_articles, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    outdir = blocker / "export"
    error, _ = export(outdir)
    assert str(outdir) in str(error)
    assert "cannot write there" in str(error)


def test_unwritable_outdir_is_a_clear_error_naming_the_folder(two_articles, tmp_path, monkeypatch):
    # Tests run as root, where chmod does not stop writes: refuse the probe file instead.
    outdir = tmp_path / "readonly"
    outdir.mkdir()

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(exporter.tempfile, "NamedTemporaryFile", read_only)
    error, _ = export(outdir)
    assert str(outdir) in str(error)
    assert "Permission denied" in str(error)
    assert os.listdir(outdir) == []
