"""import_seeds: lossless, idempotent, atomic per file, and never reverting an editor's work."""

import json
import os
import shutil

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.db.models import F

from curation import importer, seedfile
from curation.importer import import_seeds
from curation.models import Article, ArticleChange, Provider, RelatedItem, Topic
from tests.conftest import SAMPLE_SEEDS

pytestmark = pytest.mark.django_db

KEY_000 = "000_05b9351d468b7844"


def run(*args):
    """call_command with captured output; returns (stdout, stderr, CommandError or None)."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("import_seeds", *map(str, args), stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


def editor_sets(key, **values):
    """What an editor's save does: change fields and bump the version."""
    Article.objects.filter(key=key).update(**values, version=F("version") + 1)


@pytest.fixture
def seeds(tmp_path, real_seed_files):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for path in real_seed_files:
        shutil.copy(path, folder / path.name)
    return folder


def test_every_value_of_every_real_seed_reads_back_equal(real_seed_files):
    report = import_seeds([path.parent for path in real_seed_files[:1]])
    assert report.counts()["created"] == 5 and not report.failed
    for path in real_seed_files:
        article = Article.objects.with_document().get(key=path.stem)
        data = path.read_bytes()
        assert article.to_document() == seedfile.parse(data)
        assert article.source_text.encode("utf-8") == data
        assert article.source_name == path.name


def test_real_seed_columns_hold_the_feed_values(real_seeds_dir):
    import_seeds([real_seeds_dir])
    article = Article.objects.get(key="001_d971ad496e5bec1f")
    assert article.provider == Provider.objects.get(name="KnowTechie", domain="knowtechie.com")
    assert [t.name for t in article.topics.order_by("articletopic__position")] == [
        "AI",
        "Computer Vision",
    ]
    assert article.images.get().width == 1528
    related = list(article.related_items.order_by("position"))
    assert len(related) == 23
    assert related[0].provider.name == "Time" and related[0].images[0]["width"] == 1024
    assert related[0].quality == 165
    assert article.secured.endswith(";SMyjPVthamWplObb1xtr8g==")
    plain = Article.objects.get(key="003_3399e1b3719cc0c3")
    assert not plain.has_front_matter and "Big Brother Watch" in plain.body
    assert not plain.published


def test_unknown_keys_survive_in_order(tmp_path):
    (tmp_path / "k.txt").write_text(
        "---\ntitle: T\nlocale: en-GB\ntags: [x, y]\ncontent: Full text\n"
        "images:\n  - url: https://i.example/a.jpg\n    attribution: Photo\n---\n"
    )
    import_seeds([tmp_path])
    article = Article.objects.with_document().get(key="k")
    assert article.extra == [["locale", "en-GB"], ["tags", ["x", "y"]], ["content", "Full text"]]
    assert article.images.get().attribution == "Photo"
    assert article.to_document() == seedfile.parse((tmp_path / "k.txt").read_bytes())


def test_second_import_of_the_same_files_changes_nothing(seeds):
    import_seeds([seeds])
    before = list(Article.objects.values_list("id", "version", "updated_at"))
    report = import_seeds([seeds])
    assert report.counts() == {
        "created": 0,
        "updated": 0,
        "unchanged": 5,
        "conflicts": 0,
        "skipped": 0,
        "failed": 0,
    }
    assert list(Article.objects.values_list("id", "version", "updated_at")) == before


def test_reimport_keeps_editor_published_flag_and_reports_it_kept(seeds):
    """KEPT is what this run decided: said when a changed file met the editor's value, and
    not repeated by runs that found the file unchanged (issue 11, point 4)."""
    import_seeds([seeds])
    editor_sets(KEY_000, published=True)
    path = seeds / f"{KEY_000}.txt"
    path.write_text(path.read_text().replace("quality: 8", "quality: 9"))
    out, _, error = run(seeds)
    assert error is None
    assert Article.objects.get(key=KEY_000).published is True
    assert f"KEPT {KEY_000}: editor's published kept" in out
    out, _, error = run(seeds)
    assert error is None and "KEPT" not in out
    assert Article.objects.get(key=KEY_000).published is True


def test_file_change_is_taken_where_the_editor_did_not_touch_the_field(seeds):
    import_seeds([seeds])
    editor_sets(KEY_000, published=True)
    path = seeds / f"{KEY_000}.txt"
    path.write_text(path.read_text().replace("quality: 8", "quality: 90"))
    report = import_seeds([seeds])
    article = Article.objects.get(key=KEY_000)
    assert (article.published, article.quality) == (True, 90)
    assert report.updated == [KEY_000] and not report.conflicts
    assert article.edited_since_import  # the editor's flag still differs from the file


def test_file_change_is_taken_wholesale_when_nobody_edited(seeds):
    import_seeds([seeds])
    first_seen = Article.objects.get(key=KEY_000).updated_at
    path = seeds / f"{KEY_000}.txt"
    path.write_text(path.read_text().replace("quality: 8", "quality: 90"))
    import_seeds([seeds])
    article = Article.objects.get(key=KEY_000)
    assert article.quality == 90 and not article.edited_since_import
    assert article.updated_at > first_seen
    change = ArticleChange.objects.get(article=article)
    assert (change.field, change.old_value, change.new_value, change.via) == (
        "quality",
        8,
        90,
        "import",
    )


def test_conflict_keeps_the_editor_value_and_names_article_and_field(seeds):
    import_seeds([seeds])
    editor_sets(KEY_000, quality=50)
    path = seeds / f"{KEY_000}.txt"
    path.write_text(path.read_text().replace("quality: 8", "quality: 90"))
    out, _, error = run(seeds)
    assert error is None
    assert Article.objects.get(key=KEY_000).quality == 50
    assert f"CONFLICT {KEY_000}: quality was changed by an editor (50) and by the file (90)" in out
    assert "1 conflicts" in out


def test_prefer_file_takes_the_file_value_in_a_conflict(seeds):
    import_seeds([seeds])
    editor_sets(KEY_000, quality=50)
    path = seeds / f"{KEY_000}.txt"
    path.write_text(path.read_text().replace("quality: 8", "quality: 90"))
    out, _, _ = run(seeds, "--prefer-file")
    article = Article.objects.get(key=KEY_000)
    assert article.quality == 90 and not article.edited_since_import
    assert "took the file's value" in out


def test_broken_file_among_good_ones_is_named_and_the_rest_import(seeds):
    (seeds / "broken.txt").write_text("---\ntitle: Broken\nquality: high\n---\n")
    out, err, error = run(seeds)
    assert Article.objects.count() == 5
    assert f"FAILED {seeds / 'broken.txt'}:3: quality: must be a whole number" in err
    assert error is not None and "1 file(s) failed" in str(error)
    assert "5 created" in out and "1 failed" in out


def test_dry_run_reports_the_same_and_writes_nothing(seeds):
    (seeds / "broken.txt").write_text("---\n- not a mapping\n---\n")
    out, err, error = run(seeds, "--dry-run")
    assert Article.objects.count() == 0 and Provider.objects.count() == 0
    assert "Dry run, nothing written: 5 created" in out and "broken.txt" in err
    assert error is not None


def test_strict_run_is_all_or_nothing(seeds):
    (seeds / "broken.txt").write_text("")
    _, err, error = run(seeds, "--strict")
    assert Article.objects.count() == 0
    assert "the file is empty" in err and "nothing was imported" in str(error)
    _, _, error = run(*sorted(seeds.glob("0*.txt")), "--strict")
    assert error is None and Article.objects.count() == 5


def test_json_report_is_machine_readable(seeds):
    (seeds / "broken.md").write_text("---\ntitle: [\n---\n")
    out, _, _ = run(seeds, "--json")
    report = json.loads(out)
    assert (report["created"], report["failed"]) == (5, 1)
    assert "broken.md" in report["errors"][0] and "invalid YAML" in report["errors"][0]


def test_two_files_with_one_key_fail_the_second(seeds):
    (seeds / "sub").mkdir()
    shutil.copy(seeds / f"{KEY_000}.txt", seeds / "sub" / f"{KEY_000}.md")
    report = import_seeds([seeds])
    assert len(report.created) == 5
    [failure] = report.failed
    assert "already imported from" in failure and KEY_000 in failure


def test_missing_path_is_reported_not_fatal(seeds, tmp_path):
    report = import_seeds([seeds, tmp_path / "nope"])
    assert len(report.created) == 5
    assert report.failed == [f"{tmp_path / 'nope'}: no such file or folder"]


def test_a_file_the_database_refuses_lands_not_at_all_and_the_others_land(seeds, monkeypatch):
    original = importer._Importer._create_children

    def refuse_000(self, pairs):
        if any(article.key == KEY_000 for article, _ in pairs):
            raise IntegrityError("simulated refusal")
        return original(self, pairs)

    monkeypatch.setattr(importer._Importer, "_create_children", refuse_000)
    report = import_seeds([seeds])
    assert sorted(report.created) == sorted(p.stem for p in seeds.iterdir() if p.stem != KEY_000)
    assert not Article.objects.filter(key=KEY_000).exists()
    assert RelatedItem.objects.filter(article__key=KEY_000).count() == 0
    assert any("simulated refusal" in line and KEY_000 in line for line in report.failed)


def test_parallel_parsing_gives_the_same_result_as_serial(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "PARALLEL_THRESHOLD", 2)
    report = import_seeds([SAMPLE_SEEDS], workers=2)
    assert len(report.created) == len(list(SAMPLE_SEEDS.glob("*.*"))) and not report.failed
    for article in Article.objects.with_document():
        data = (SAMPLE_SEEDS / article.source_name).read_bytes()
        assert article.to_document() == seedfile.parse(data)


def test_topics_and_providers_are_shared_between_articles():
    import_seeds([SAMPLE_SEEDS])
    assert Topic.objects.count() == len(set(Topic.objects.values_list("name", flat=True)))
    assert (
        Provider.objects.filter(articles__isnull=False).distinct().count() < Article.objects.count()
    )


def test_a_file_never_overwrites_an_article_made_here_with_the_same_key(tmp_path):
    Article.objects.create(key="local_story", title="Written in the newsroom", quality=70)
    (tmp_path / "local_story.txt").write_text("---\ntitle: From the feed\nquality: 5\n---\n")
    report = import_seeds([tmp_path])
    article = Article.objects.get(key="local_story")
    assert (article.title, article.quality) == ("Written in the newsroom", 70)
    assert {c.field for c in report.conflicts} == {"title", "quality"}


def test_seed_files_are_found_folder_by_folder_and_the_first_of_two_keys_wins(tmp_path):
    """Files are sorted by their path's parts (a folder's files before a sibling folder whose
    name sorts after it), and of two files with one key the first in that order is imported."""
    seed = '---\ntitle: "{}"\n---\nBody.\n'
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "story.txt").write_text(seed.format("In a/b"))
    (tmp_path / "a-b").mkdir()
    (tmp_path / "a-b" / "story.txt").write_text(seed.format("In a-b"))
    (tmp_path / "a" / "notes.json").write_text("{}")

    files, problems = importer.find_seed_files([tmp_path, tmp_path / "missing"])
    assert files == [str(tmp_path / "a" / "b" / "story.txt"), str(tmp_path / "a-b" / "story.txt")]
    assert problems == [f"{tmp_path / 'missing'}: no such file or folder"]

    report = import_seeds([tmp_path], workers=1)
    assert Article.objects.get(key="story").title == "In a/b"
    assert report.failed == [
        f"{tmp_path / 'a-b' / 'story.txt'}: key: the key 'story' was already imported from "
        f"{tmp_path / 'a' / 'b' / 'story.txt'} in this run; file names must be unique"
    ]


def test_parsing_workers_yield_the_cpu_to_the_writer():
    """The import waits on its writer, not on parsing: workers run at a lower priority so they
    use the cores the writer leaves idle instead of taking turns with it."""
    seeds = sorted(str(path) for path in SAMPLE_SEEDS.glob("*.txt"))
    jobs = [(path, "") for path in (seeds * importer.PARALLEL_THRESHOLD)]
    with importer._Loader(2, seedfile.MAX_FILE_BYTES) as loader:
        loaded = list(loader.load(jobs))
        worker_niceness = loader.pool.submit(os.nice, 0).result()
    assert [item.path for item in loaded] == [path for path, _ in jobs]
    assert not any(item.error for item in loaded)
    assert worker_niceness == min(19, os.nice(0) + importer.WORKER_NICENESS)
