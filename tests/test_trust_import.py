"""Issue 11, import and codec side: messages tell the truth, nothing to import is not success,
and no input (deep nesting, links, huge lists, unlinkable URLs) breaks a run or goes unsaid; a
killed import leaves no processes behind."""

import concurrent.futures
import concurrent.futures.process
import contextlib
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from benchmarks import corpus
from curation import importer, seedfile
from curation.importer import import_seeds
from curation.models import Article, ArticleChange

from .conftest import PROJECT_DIR, SAMPLE_SEEDS

HOSTILE = Path(__file__).resolve().parent / "hostile"
DEADLINE = 60  # seconds: the bound of every polling loop below; they normally end in < 1 s


def run(*args: object) -> tuple[str, str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_seeds", *map(str, args), stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


def seed(title: str, extra: str = "") -> str:
    return f'---\ntitle: "{title}"\nwebUrl: "https://news.example/{title}"\n{extra}---\nBody.\n'


def write_good(folder: Path, count: int, prefix: str = "good") -> set[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        (folder / f"{prefix}_{number:03d}.txt").write_text(seed(f"Good {number}"))
    return {f"{prefix}_{number:03d}" for number in range(count)}


# --- Point 2: the article's scores have one range, the codec's ----------------------------


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("quality: -1", "quality: -1 is out of range (0 to 1000)"),
        ("quality: 1001", "quality: 1001 is out of range (0 to 1000)"),
        ("quality: 3000000000", "quality: 3000000000 is out of range"),
        ("quality: 9223372036854775807", "quality: 9223372036854775807 is out of range"),
        ("heat: -2", "heat: -2 is out of range (-1 to 1000)"),
        ("heat: 1001", "heat: 1001 is out of range (-1 to 1000)"),
    ],
)
def test_article_scores_outside_their_range_are_refused_naming_key_and_range(line, fragment):
    with pytest.raises(seedfile.SeedError) as caught:
        seedfile.parse(f"---\ntitle: t\n{line}\n---\n".encode(), "x.txt")
    assert str(caught.value).startswith(f"x.txt:3: {fragment}")


def test_article_scores_at_the_ends_of_their_range_are_accepted():
    for quality, heat in [
        (seedfile.QUALITY_MIN, seedfile.HEAT_MIN),
        (seedfile.QUALITY_MAX, seedfile.HEAT_MAX),
    ]:
        document = seedfile.parse(
            f"---\ntitle: t\nquality: {quality}\nheat: {heat}\n---\n".encode()
        )
        assert (document.quality, document.heat) == (quality, heat)


def test_related_items_keep_the_feeds_own_32_bit_scores():
    """Related items' scores are the feed's ratings of other outlets' coverage, not editable:
    any 32-bit value is kept, beyond it is refused."""
    text = "---\ntitle: t\nrelated:\n  - title: r\n    quality: {}\n    heat: -5\n---\n"
    document = seedfile.parse(text.format(seedfile.INT_MAX).encode())
    assert (document.related[0].quality, document.related[0].heat) == (seedfile.INT_MAX, -5)
    with pytest.raises(seedfile.SeedError, match=r"related\[0\]\.quality: .* is out of range"):
        seedfile.parse(text.format(seedfile.INT_MAX + 1).encode())


def test_every_sample_seed_and_generated_corpus_file_is_within_the_ranges(real_seed_files):
    paths = [*SAMPLE_SEEDS.iterdir(), *real_seed_files]
    paths += [HOSTILE / name for name in os.listdir(HOSTILE) if name.startswith("accepted_")]
    documents = [seedfile.parse(path.read_bytes(), str(path)) for path in paths]
    documents += [seedfile.parse(corpus.seed_file(index)[1]) for index in range(500)]
    for document in documents:
        assert document.quality is None or (
            seedfile.QUALITY_MIN <= document.quality <= seedfile.QUALITY_MAX
        )
        assert document.heat is None or seedfile.HEAT_MIN <= document.heat <= seedfile.HEAT_MAX
        assert len(document.topics) <= seedfile.MAX_TOPICS
        assert len(document.images) <= seedfile.MAX_IMAGES
        assert len(document.related) <= seedfile.MAX_RELATED


# --- Point 4: two imports of the same new files; KEPT only for what this run decided ------


@pytest.mark.django_db
def test_an_import_that_finds_its_new_files_written_by_another_run_reports_them_unchanged(
    tmp_path, monkeypatch
):
    """The race, made deterministic: this run looks the files up (none exist), another import
    writes them all, then this run writes. Same bytes: unchanged, version 1, no history."""
    folder = tmp_path / "seeds"
    shutil.copytree(SAMPLE_SEEDS, folder)
    keys = sorted(path.stem for path in folder.iterdir())
    original_plan = importer._Importer.plan
    other_reports = []

    def plan_then_let_the_other_run_write(self, files):
        planned = original_plan(self, files)
        if not other_reports:
            monkeypatch.setattr(importer._Importer, "plan", original_plan)
            other_reports.append(import_seeds([folder], workers=1))
        return planned

    monkeypatch.setattr(importer._Importer, "plan", plan_then_let_the_other_run_write)
    report = import_seeds([folder], workers=1)

    assert sorted(other_reports[0].created) == keys
    assert (report.created, report.updated, report.failed) == ([], [], [])
    assert sorted(report.unchanged) == keys
    assert report.kept == {} and report.conflicts == []
    assert set(Article.objects.values_list("version", "seed_version")) == {(1, 1)}
    assert not ArticleChange.objects.exists()


@pytest.fixture
def shared_database(transactional_db, tmp_path):
    """(DATABASE_URL, query) for a database that other processes share with this test: the test
    database itself on PostgreSQL; on SQLite (in memory for tests) a file copy of it."""
    if connection.vendor == "sqlite":
        path = tmp_path / "shared.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.close()

        def query(sql: str) -> list[tuple]:
            with sqlite3.connect(path, timeout=30) as reader:
                return reader.execute(sql).fetchall()

        return f"sqlite:///{path}", query
    settings = connection.settings_dict
    url = (
        f"postgres://{quote(settings['USER'] or '')}:{quote(settings['PASSWORD'] or '')}@"
        f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )

    def query(sql: str) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    return url, query


def manage(database_url: str, *args: str, **options) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=environment,
        text=True,
        **options,
    )


def test_two_concurrent_imports_of_the_same_new_files_create_each_once_and_update_none(
    shared_database, tmp_path
):
    url, query = shared_database
    folder = tmp_path / "seeds"
    folder.mkdir()
    for index in range(600):
        name, data = corpus.seed_file(index)
        (folder / name).write_bytes(data)
    keys = {path.stem for path in folder.iterdir()}
    runs = [
        manage(url, "import_seeds", str(folder), "--json", "--workers=1", stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    reports = []
    for process in runs:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0
        reports.append(json.loads(out))

    created = [key for report in reports for key in report["created_keys"]]
    assert sorted(created) == sorted(keys), "each file is created by exactly one run"
    for report in reports:
        assert report["updated"] == 0 and report["failed"] == 0 and report["kept"] == {}
        assert report["created"] + report["unchanged"] == len(keys)
    assert query("SELECT DISTINCT version, seed_version FROM curation_article") == [(1, 1)]
    assert query("SELECT COUNT(*) FROM curation_articlechange") == [(0,)]


@pytest.mark.django_db
def test_kept_is_reported_only_by_the_run_that_decided_it():
    import_seeds([SAMPLE_SEEDS])
    key = Article.objects.order_by("key").values_list("key", flat=True)[0]
    # What an editor's save does: change a field and bump the version.
    Article.objects.filter(key=key).update(published=~F("published"), version=F("version") + 1)
    for _ in range(2):
        out, _, error = run(SAMPLE_SEEDS)
        assert error is None
        assert "KEPT" not in out, "an unchanged file decides nothing"
    assert import_seeds([SAMPLE_SEEDS]).kept == {}


# --- Point 6: nothing to import is not success ---------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("contents", [[], ["notes.json", "README", "seed.txt.bak"]])
def test_a_folder_without_seed_files_is_an_error_naming_it(tmp_path, contents):
    folder = tmp_path / "incoming"
    (folder / "sub").mkdir(parents=True)
    for name in contents:
        (folder / name).write_text("---\ntitle: t\n---\n")
    for json_flag in ([], ["--json"]):
        _, _, error = run(folder, *json_flag)
        assert str(error) == f"no seed files found in {folder}"
    with pytest.raises(CommandError):
        call_command("import_seeds", str(folder), verbosity=0)
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_a_folder_with_seed_files_is_still_success(tmp_path):
    write_good(tmp_path, 1)
    _, _, error = run(tmp_path)
    assert error is None


# --- Point 7: nesting of any depth is one file's failure, never the run's ------------------

DEPTHS = [1, 10, 100, 500, 1000, 3000]


def nested(style: str, depth: int) -> str:
    if style == "flow list":
        return "nest: " + "[" * depth + "]" * depth + "\n"
    if style == "flow mapping":
        return "nest: " + "{a: " * depth + "1" + "}" * depth + "\n"
    if style == "block list":
        return "nest:\n  " + "- " * depth + "x\n"
    if style == "related item":
        return "related:\n  - title: r\n    nest: " + "[" * depth + "]" * depth + "\n"
    assert style == "known key"  # topics: [] is an empty list; deeper is not a list of text
    return "topics: " + "[" * depth + "]" * depth + "\n"


STYLES = ["flow list", "flow mapping", "block list", "related item", "known key"]


def nesting_allowed(style: str, depth: int) -> bool:
    # The front matter is level 1; a related item's own keys sit at level 3.
    if style == "known key":
        return depth == 1
    return {"related item": 3}.get(style, 1) + depth <= seedfile.MAX_NESTING_DEPTH


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("depth", DEPTHS)
def test_parse_of_any_nesting_depth_is_a_document_or_one_seed_error(style, depth):
    data = f'---\ntitle: "Deep"\n{nested(style, depth)}---\n'.encode()
    if nesting_allowed(style, depth):
        document = seedfile.parse(data, "deep.txt")
        assert seedfile.parse(seedfile.render(document).encode()) == document
    else:
        with pytest.raises(seedfile.SeedError) as caught:
            seedfile.parse(data, "deep.txt")
        assert str(caught.value).startswith("deep.txt:")


def test_nesting_exactly_at_the_limit_parses_and_one_more_level_is_refused():
    limit = seedfile.MAX_NESTING_DEPTH
    at_limit = f"---\ntitle: t\nnest: {'[' * (limit - 1)}{']' * (limit - 1)}\n---\n"
    assert seedfile.parse(at_limit.encode()).extra[0][0] == "nest"
    for text in [
        f"---\ntitle: t\nnest: {'[' * limit}{']' * limit}\n---\n",
        # Block style, by indentation alone: the front matter and `limit` mappings below it.
        "---\ntitle: t\n" + "".join(f"{' ' * level}k:\n" for level in range(limit + 1)) + "---\n",
        # Block style, compact: "- - - x" on one line.
        f"---\ntitle: t\nnest:\n  {'- ' * limit}x\n---\n",
    ]:
        with pytest.raises(seedfile.SeedError, match=f"nest more than {limit} levels deep"):
            seedfile.parse(text.encode(), "deep.txt")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "options", [["--workers=1"], ["--workers=2"], ["--workers=1", "--dry-run"]]
)
def test_deep_files_among_good_ones_fail_alone_and_the_run_reports(tmp_path, options):
    good = write_good(tmp_path / "seeds", 70)
    accepted, refused = set(), set()
    for style in STYLES:
        for depth in DEPTHS:
            key = f"deep_{style.replace(' ', '_')}_{depth}"
            (tmp_path / "seeds" / f"{key}.txt").write_text(
                f'---\ntitle: "Deep"\n{nested(style, depth)}---\n'
            )
            (accepted if nesting_allowed(style, depth) else refused).add(key)
    assert len(good | accepted | refused) >= importer.PARALLEL_THRESHOLD  # workers do start

    out, err, error = run(tmp_path / "seeds", *options)

    assert str(error) == f"{len(refused)} file(s) failed to import."
    failed = re.findall(r"^FAILED .*/(deep_\w+)\.txt:", err, re.MULTILINE)
    assert sorted(failed) == sorted(refused)
    assert f"{len(good | accepted)} created" in out.splitlines()[-1]
    stored = set(Article.objects.values_list("key", flat=True))
    assert stored == (set() if "--dry-run" in options else good | accepted)


@pytest.mark.django_db
def test_an_unexpected_exception_while_reading_one_file_is_that_files_failure(
    tmp_path, monkeypatch
):
    write_good(tmp_path, 3)
    (tmp_path / "cursed.txt").write_text(seed("Cursed"))
    original = seedfile._document

    def cursed(mapping):
        if mapping.get("title") == "Cursed":
            raise RecursionError("maximum recursion depth exceeded")
        return original(mapping)

    monkeypatch.setattr(seedfile, "_document", cursed)
    _, err, error = run(tmp_path, "--workers=1")
    assert str(error) == "1 file(s) failed to import."
    assert (
        f"FAILED {tmp_path / 'cursed.txt'}: could not be read: unexpected RecursionError: "
        "maximum recursion depth exceeded" in err
    )
    assert Article.objects.count() == 3


@pytest.mark.django_db
def test_an_unexpected_exception_while_writing_one_file_is_that_files_failure(
    tmp_path, monkeypatch
):
    write_good(tmp_path, 3)
    original = importer._Importer._create_children

    def cursed(self, pairs):
        if any(article.key == "good_001" for article, _ in pairs):
            raise ValueError("something nobody foresaw")
        return original(self, pairs)

    monkeypatch.setattr(importer._Importer, "_create_children", cursed)
    report = import_seeds([tmp_path], workers=1)
    assert report.failed == [
        f"{tmp_path / 'good_001.txt'}: could not be imported: unexpected ValueError: "
        "something nobody foresaw"
    ]
    assert sorted(report.created) == ["good_000", "good_002"]
    assert not Article.objects.filter(key="good_001").exists()


def test_a_parsing_worker_that_dies_fails_its_files_by_name():
    broken = concurrent.futures.Future()
    broken.set_exception(concurrent.futures.process.BrokenProcessPool("a worker died"))
    chunk = [("/seeds/a.txt", ""), ("/seeds/b.txt", "")]
    with importer._Loader(2, seedfile.MAX_FILE_BYTES) as loader:
        results = list(loader._results([broken], [chunk]))
    assert [(item.key, item.error) for item in results] == [
        ("a", "/seeds/a.txt: could not be read: unexpected BrokenProcessPool: a worker died"),
        ("b", "/seeds/b.txt: could not be read: unexpected BrokenProcessPool: a worker died"),
    ]


@pytest.mark.parametrize("depth", [100, 1000, 3000])
def test_rendering_a_stored_document_with_deep_values_is_refused_not_a_crash(depth):
    """Parsing no longer builds such values, but rows stored before the limit may hold them."""
    value: list = []
    for _ in range(depth):
        value = [value]
    document = seedfile.SeedDocument(title="Deep", extra=[("nest", value)])
    related = seedfile.SeedDocument(
        title="Deep", related=[seedfile.Related(title="r", extra=[("nest", value)])]
    )
    source = seedfile.render(seedfile.SeedDocument(title="Deep", quality=1))
    for candidate in (document, related):
        with pytest.raises(seedfile.SeedError, match="nest more than"):
            seedfile.render(candidate)
        with pytest.raises(seedfile.SeedError, match="nest more than"):
            seedfile.render(candidate, source)
        with pytest.raises(seedfile.SeedError, match="nest more than"):
            seedfile.render_canonical(candidate)


# --- Point 8: links are refused, by name ---------------------------------------------------


@pytest.mark.django_db
def test_symbolic_links_in_a_seed_folder_are_refused_by_name(tmp_path):
    folder = tmp_path / "seeds"
    write_good(folder, 2)
    outside = tmp_path / "outside"
    write_good(outside, 1, prefix="elsewhere")
    links = {
        "passwd.txt": Path("/etc/passwd"),
        "status.txt": Path("/proc/self/status"),
        "outside.txt": outside / "elsewhere_000.txt",
        "inside.md": folder / "good_000.txt",
        "dangling.txt": tmp_path / "missing.txt",
        "linked_folder": outside,
    }
    for name, target in links.items():
        (folder / name).symlink_to(target)
    (folder / "not_a_seed.json").symlink_to("/etc/passwd")  # not a seed name: ignored

    _, err, error = run(folder)

    assert str(error) == f"{len(links)} file(s) failed to import."
    for name in links:
        assert f"FAILED {folder / name}: is a symbolic link; not imported" in err
    assert set(Article.objects.values_list("key", flat=True)) == {"good_000", "good_001"}
    assert "root:" not in "".join(Article.objects.values_list("source_text", flat=True))


@pytest.mark.django_db
def test_a_symbolic_link_named_on_the_command_line_is_refused(tmp_path):
    (tmp_path / "real.txt").write_text(seed("Real"))
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    (tmp_path / "passwd.txt").symlink_to("/etc/passwd")
    report = import_seeds([tmp_path / "link.txt", tmp_path / "passwd.txt"])
    assert report.failed == [
        f"{tmp_path / 'link.txt'}: is a symbolic link; not imported",
        f"{tmp_path / 'passwd.txt'}: is a symbolic link; not imported",
    ]
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_a_folder_named_on_the_command_line_is_followed_even_if_it_is_a_link(tmp_path):
    """Documented: the folder someone names is theirs to choose; links inside it are not."""
    write_good(tmp_path / "real", 2)
    (tmp_path / "chosen").symlink_to(tmp_path / "real")
    report = import_seeds([tmp_path / "chosen"])
    assert sorted(report.created) == ["good_000", "good_001"] and not report.failed


def test_a_file_swapped_for_a_link_after_listing_is_refused_when_read(tmp_path):
    """Reading uses O_NOFOLLOW: the check cannot be raced by replacing a listed file."""
    (tmp_path / "story.txt").symlink_to("/etc/passwd")
    loaded = seedfile.load(str(tmp_path / "story.txt"))
    assert loaded.error == f"{tmp_path / 'story.txt'}: is a symbolic link; not imported"
    assert loaded.document is None


# --- Point 9: no list is unbounded ---------------------------------------------------------


def listing(key: str, count: int) -> str:
    if key == "topics":
        return "topics:\n" + "".join(f"  - Topic {n}\n" for n in range(count))
    if key == "images":
        return "images:\n" + "".join(f"  - url: https://i.example/{n}.jpg\n" for n in range(count))
    if key == "related":
        return "related:\n" + "".join(f"  - title: Related {n}\n" for n in range(count))
    return "related:\n  - title: r\n    images:\n" + "".join(
        f"      - url: https://i.example/{n}.jpg\n" for n in range(count)
    )


LIMITS = {
    "topics": seedfile.MAX_TOPICS,
    "images": seedfile.MAX_IMAGES,
    "related": seedfile.MAX_RELATED,
    "related[0].images": seedfile.MAX_IMAGES,
}


@pytest.mark.parametrize("key", LIMITS)
def test_lists_up_to_their_limit_are_accepted_and_beyond_it_refused(key):
    limit = LIMITS[key]
    assert limit < 32_767  # positions are small integers
    seedfile.parse(f"---\ntitle: t\n{listing(key, limit)}---\n".encode())
    with pytest.raises(seedfile.SeedError) as caught:
        seedfile.parse(f"---\ntitle: t\n{listing(key, limit + 1)}---\n".encode(), "x.txt")
    assert str(caught.value) == f"x.txt:3: {key}: {limit + 1} entries; the limit is {limit}"


@pytest.mark.django_db
def test_a_file_with_forty_thousand_topics_is_refused_and_the_others_land(tmp_path):
    write_good(tmp_path, 2)
    (tmp_path / "topical.txt").write_text(f"---\ntitle: t\n{listing('topics', 40_000)}---\n")
    report = import_seeds([tmp_path])
    assert report.failed == [
        f"{tmp_path / 'topical.txt'}:3: topics: 40,000 entries; the limit is {seedfile.MAX_TOPICS}"
    ]
    assert sorted(report.created) == ["good_000", "good_001"]


# --- Point 12: URLs that will never be links are reported -------------------------------------

UNLINKABLE = """---
title: "Unlinkable"
webUrl: "javascript:alert(1)"
originalUrl: "https://fine.example/"
images:
  - url: "data:image/png;base64,AAAA"
related:
  - title: r
    webUrl: "/relative/path"
    sourceUrl: "JavaScript:void(0)"
    images:
      - url: "https://fine.example/i.jpg"
      - url: "ftp://old.example/i.jpg"
---
"""


@pytest.mark.django_db
def test_urls_that_will_never_be_links_are_kept_and_warned_about_by_file_and_key(tmp_path):
    path = tmp_path / "unlinkable.txt"
    path.write_text(UNLINKABLE)
    expected = [
        f"{path}: webUrl: javascript: URL is kept but will never be shown as a link",
        f"{path}: images[0].url: data: URL is kept but will never be shown as an image",
        f"{path}: related[0].webUrl: URL without http(s):// is kept but will never be shown "
        "as a link",
        f"{path}: related[0].sourceUrl: javascript: URL is kept but will never be shown as a link",
        f"{path}: related[0].images[1].url: ftp: URL is kept but will never be shown as an image",
    ]
    out, _, error = run(tmp_path)
    assert error is None, "a warning is not a failure"
    assert [line for line in out.splitlines() if line.startswith("WARNING ")] == [
        f"WARNING {line}" for line in expected
    ]
    assert Article.objects.get(key="unlinkable").web_url == "javascript:alert(1)"

    path.write_text(UNLINKABLE.replace("Unlinkable", "Unlinkable, edited"))
    out, _, error = run(tmp_path, "--json")
    assert error is None
    assert json.loads(out)["warnings"] == expected

    out, _, error = run(tmp_path)  # unchanged: nothing was decided, nothing to say
    assert error is None and "WARNING" not in out


# --- Point 13: a killed import leaves no processes behind ----------------------------------


def children_of(pid: int) -> dict[int, str]:
    """Live child processes of ``pid``: process id -> command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry)] = command
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping is left


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {DEADLINE} s")
        time.sleep(0.01)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_parsing_workers_exit_when_the_import_is_killed(shared_database, tmp_path):
    url, _ = shared_database
    folder = tmp_path / "seeds"
    folder.mkdir()
    for index in range(4000):
        name, data = corpus.seed_file(index)
        (folder / name).write_bytes(data)
    process = manage(
        url,
        "import_seeds",
        str(folder),
        "--workers=2",
        "--verbosity=0",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        workers: dict[int, str] = {}

        def workers_started() -> bool:
            assert process.poll() is None, "the import ended before its workers were seen"
            workers.update(
                (pid, command)
                for pid, command in children_of(process.pid).items()
                if "spawn_main" in command
            )
            return len(workers) >= 2

        wait_for(workers_started, "two parsing workers")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=DEADLINE)
        wait_for(lambda: not any(alive(pid) for pid in workers), "workers gone")
    finally:
        # Whatever happened, nothing this test started outlives it (its own process group).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=DEADLINE)


def test_without_prctl_a_worker_still_exits_when_its_parent_is_killed():
    """The fallback for systems without PR_SET_PDEATHSIG: a thread watching the parent id."""
    child = (
        "import os, sys, time; sys.platform = 'elsewhere'; from curation import workers; "
        "workers._exit_with_parent(os.getppid()); print('ready', flush=True); time.sleep(600)"
    )
    parent = (
        "import subprocess, sys; child = subprocess.Popen([sys.executable, '-c', sys.argv[1]]); "
        "print(child.pid, flush=True); child.wait()"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", parent, child],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        worker = int(process.stdout.readline())
        assert process.stdout.readline() == "ready\n"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=DEADLINE)
        wait_for(lambda: not alive(worker), "the orphaned worker gone")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=DEADLINE)
