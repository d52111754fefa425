"""export_seeds: byte for byte where unedited, one-line diffs where edited, never outside OUTDIR."""

import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from curation import seedfile
from curation.exporter import export_seeds
from curation.importer import import_seeds
from curation.models import Article, Provider, Topic
from tests.test_seedfile import changed_lines

pytestmark = pytest.mark.django_db

KEY_000 = "000_05b9351d468b7844"


def export(*args):
    out = StringIO()
    call_command("export_seeds", *map(str, args), stdout=out, stderr=StringIO())
    return out.getvalue()


def test_importing_and_exporting_the_real_seeds_gives_identical_files(real_seeds_dir, tmp_path):
    import_seeds([real_seeds_dir])
    out = export(tmp_path)
    assert "5 written, 0 unchanged, 0 removed, 0 failed" in out
    for original in real_seeds_dir.iterdir():
        assert (tmp_path / original.name).read_bytes() == original.read_bytes()


def test_publishing_000_changes_exactly_one_line_of_its_file(real_seeds_dir, tmp_path):
    import_seeds([real_seeds_dir])
    Article.objects.filter(key=KEY_000).update(published=True, version=F("version") + 1)
    export_seeds(tmp_path)
    before = (real_seeds_dir / f"{KEY_000}.txt").read_text()
    after = (tmp_path / f"{KEY_000}.txt").read_text()
    assert changed_lines(before, after) == ["-published: false", "+published: true"]
    for other in real_seeds_dir.iterdir():
        if other.stem != KEY_000:
            assert (tmp_path / other.name).read_bytes() == other.read_bytes()


def test_exported_edit_reimports_to_the_same_values(real_seeds_dir, tmp_path):
    import_seeds([real_seeds_dir])
    Article.objects.filter(key=KEY_000).update(quality=99, heat=3, version=F("version") + 1)
    export_seeds(tmp_path)
    edited = Article.objects.with_document().get(key=KEY_000).to_document()
    assert seedfile.parse((tmp_path / f"{KEY_000}.txt").read_bytes()) == edited


def test_article_created_here_gets_a_stable_key_and_a_canonical_file(tmp_path):
    provider = Provider.objects.create(name="Gazette", domain="gazette.example")
    article = Article.objects.create(
        title="Harbour bridge reopens", provider=provider, quality=10, published=True
    )
    article.topics.add(Topic.objects.create(name="Transport"), through_defaults={"position": 0})
    assert article.key.startswith("local_")
    export_seeds(tmp_path)
    path = tmp_path / f"{article.key}.txt"
    document = seedfile.parse(path.read_bytes())
    assert document == Article.objects.with_document().get(pk=article.pk).to_document()
    other = tmp_path / "again"
    import_seeds([path])
    export_seeds(other)
    assert (other / path.name).read_bytes() == path.read_bytes()


def test_published_only_skips_unpublished_articles(real_seeds_dir, tmp_path):
    import_seeds([real_seeds_dir])
    Article.objects.filter(key=KEY_000).update(published=True, version=F("version") + 1)
    report = export_seeds(tmp_path, published_only=True)
    assert report.written == [KEY_000]
    assert [p.name for p in tmp_path.iterdir()] == [f"{KEY_000}.txt"]


def test_second_export_reports_unchanged_and_changed_only_leaves_files_alone(
    real_seeds_dir, tmp_path
):
    import_seeds([real_seeds_dir])
    export_seeds(tmp_path)
    target = tmp_path / f"{KEY_000}.txt"
    stamp = target.stat().st_mtime_ns
    report = export_seeds(tmp_path, changed_only=True)
    assert report.counts() == {"written": 0, "unchanged": 5, "removed": 0, "failed": 0}
    assert target.stat().st_mtime_ns == stamp


def test_a_key_that_would_escape_outdir_is_refused(tmp_path):
    Article.objects.create(key="../escape", title="Sneaky")
    with pytest.raises(CommandError):
        export(tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_export_into_a_path_that_is_a_file_names_the_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CommandError, match=r"file/out: cannot write there"):
        export(blocker / "out")


def test_export_leaves_no_temporary_files(real_seeds_dir, tmp_path):
    import_seeds([real_seeds_dir])
    export_seeds(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in real_seeds_dir.iterdir()
    )


def test_sample_corpus_round_trips_through_import_and_export(tmp_path):
    from tests.conftest import SAMPLE_SEEDS

    source = tmp_path / "in"
    shutil.copytree(SAMPLE_SEEDS, source)
    import_seeds([source])
    export_seeds(tmp_path / "out")
    for original in source.iterdir():
        assert (tmp_path / "out" / original.name).read_bytes() == original.read_bytes()
