"""Issue 11, points 3 and 5: export never rewrites a file behind your back, and the export
folder mirrors the selection (removals reported, umask respected, leftovers survived)."""

import dataclasses
import json
import os
import stat
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from hypothesis import given, settings
from hypothesis import strategies as st

from curation import exporter, seedfile
from curation.exporter import TEMP_PREFIX, export_seeds
from curation.importer import import_seeds
from curation.models import Article
from curation.seedfile import RenderError, parse, render
from tests.conftest import SAMPLE_SEEDS
from tests.test_seedfile import changed_lines

KEY_000 = "000_05b9351d468b7844"


def export(*args: object) -> tuple[str, str]:
    """Run the command; (stdout, stderr). Raises CommandError when a file failed."""
    out, err = StringIO(), StringIO()
    call_command("export_seeds", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def export_failing(*args: object) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="could not be written or removed"):
        call_command("export_seeds", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def edit(key: str, **values: object) -> None:
    """What an editor's save does: new values and a new version."""
    assert Article.objects.filter(key=key).update(**values, version=F("version") + 1) == 1


# --- Point 3: an edit changes only the edited key's lines ----------------------------------

# Layouts that fell back to a whole-file re-render before (the key could not be located by
# guessing from the text), and the exact diff a one-field edit must give now.
TRICKY = [
    pytest.param(
        '---\ntitle: T\n"quality": 8\npublished: false\n---\nBody\n',
        {"quality": 12},
        ['-"quality": 8', '+"quality": 12'],
        id="quoted-key",
    ),
    pytest.param(
        '---\ntitle: T\n"quality": 8\npublished: false\n---\nBody\n',
        {"published": True},
        ["-published: false", "+published: true"],
        id="quoted-key-elsewhere",
    ),
    pytest.param(
        "---\ntitle: T\nquality : 8\npublished: false\n---\nBody\n",
        {"quality": 12},
        ["-quality : 8", "+quality : 12"],
        id="space-before-colon",
    ),
    pytest.param(
        "---\ntitle: T\nquality: 8   # the desk's score\npublished: false\n---\nBody\n",
        {"quality": 12},
        ["-quality: 8   # the desk's score", "+quality: 12   # the desk's score"],
        id="trailing-comment-kept",
    ),
    pytest.param(
        "---\n  title: T\n  quality: 8\n  published: false\n---\nBody\n",
        {"published": True},
        ["-  published: false", "+  published: true"],
        id="indented-mapping",
    ),
    pytest.param(
        "---\n  title: T\n  published: false\n---\nBody\n",
        {"heat": 40},
        ["+  heat: 40"],
        id="indented-mapping-added-key",
    ),
    pytest.param(
        "---\ntitle: T\npublished: false\n...\n---\nBody\n",
        {"heat": 40},
        ["+heat: 40"],
        id="document-end-marker",
    ),
    pytest.param(
        "---\ntitle: T\n? quality\n: 8\npublished: false\n---\nBody\n",
        {"published": True},
        ["-published: false", "+published: true"],
        id="explicit-key-elsewhere",
    ),
    pytest.param(
        "---\ntitle: T\nc#: 1\nhttp://x: 2\nquality: 8\npublished: false\n---\nBody\n",
        {"quality": 9},
        ["-quality: 8", "+quality: 9"],
        id="unknown-keys-with-hash-and-colon",
    ),
    pytest.param(
        "---\ntitle: T\ntopics: [AI, Vision]\nquality: 8\npublished: false\n---\nBody\n",
        {"topics": ["AI", "Privacy"]},
        ["-topics: [AI, Vision]", "+topics: [AI, Privacy]"],
        id="flow-list-stays-flow",
    ),
    pytest.param(
        "---\ntitle: T\nquality: !!int 8\npublished: false\n---\nBody\n",
        {"quality": 12},
        ["-quality: !!int 8", "+quality: 12"],
        id="tagged-value",
    ),
    pytest.param(
        "---\ntitle: T\nexcerpt: |\n  one\n\n  # not a comment\nquality: 8\npublished: false\n---\n",
        {"quality": 12},
        ["-quality: 8", "+quality: 12"],
        id="block-scalar-neighbour",
    ),
    pytest.param(
        "---\ntitle: T\nexcerpt: |\n  one\n\n  two\n\n# the desk\nquality: 8\npublished: false\n---\n",
        {"excerpt": "three"},
        ["-excerpt: |", "-  one", "-", "-  two", "+excerpt: three"],
        id="block-scalar-replaced-comment-kept",
    ),
    pytest.param(
        "---\ntitle: A long\n  folded title\nquality: 8\npublished: false\n---\n",
        {"quality": 12},
        ["-quality: 8", "+quality: 12"],
        id="multi-line-neighbour",
    ),
    pytest.param(
        "---\ntitle: &t Same\nexcerpt: *t\nquality: 8\npublished: false\n---\n",
        {"published": True},
        ["-published: false", "+published: true"],
        id="anchors-elsewhere",
    ),
    pytest.param(
        "\ufeff---\r\ntitle: T\r\nquality: 8\r\npublished: no\r\n---\r\nBody\r\n",
        {"published": True, "heat": 3},
        ["-published: no", "+published: true", "+heat: 3"],
        id="bom-crlf-yaml11-boolean",
    ),
    pytest.param(
        "---\ntitle: T\nquality: 8\n---\nBody\n",
        {"published": True},
        ["+published: true"],
        id="published-absent",
    ),
    pytest.param(
        "---\nquality: 8  # the desk\ntitle: T\nextra: null\npublished: false\n---\n",
        {"extra": []},
        ["-extra: null"],
        id="unknown-key-holding-null-removed",
    ),
]


@pytest.mark.parametrize(("source", "changes", "diff"), TRICKY)
def test_an_edit_changes_only_the_edited_keys_lines(source, changes, diff):
    document = parse(source.encode())
    edited = render(dataclasses.replace(document, **changes), source)
    assert changed_lines(source, edited) == diff
    assert parse(edited.encode()) == dataclasses.replace(document, **changes)


def seed_sources() -> list[tuple[str, str]]:
    return [
        (path.name, path.read_text(encoding="utf-8"))
        for path in sorted(SAMPLE_SEEDS.iterdir())
        if path.suffix in (".txt", ".md")
    ]


editorial_edit = st.one_of(
    st.builds(dict, published=st.booleans()),
    st.builds(dict, quality=st.none() | st.integers(seedfile.QUALITY_MIN, seedfile.QUALITY_MAX)),
    st.builds(dict, heat=st.none() | st.integers(seedfile.HEAT_MIN, seedfile.HEAT_MAX)),
)


@settings(max_examples=150, deadline=None)
@given(seed=st.sampled_from(seed_sources()), changes=editorial_edit)
def test_an_editorial_edit_of_any_sample_seed_is_that_keys_line_alone(seed, changes):
    name, source = seed
    document = parse(source.encode())
    [(key, value)] = changes.items()
    wanted = dataclasses.replace(document, **changes)
    edited = render(wanted, source)
    assert parse(edited.encode()) == wanted
    if not document.has_front_matter:
        # Documented: a plain-text article that gains editorial values gets front matter
        # above its unchanged body.
        assert edited.endswith(document.body)
        return
    lines = changed_lines(source, edited)
    removed = [line for line in lines if line.startswith("-")]
    added = [line for line in lines if line.startswith("+")]
    spelled = "published" if key == "published" else key
    assert len(removed) <= 1 and len(added) <= 1, (name, lines)
    assert all(line[1:].lstrip().startswith(f"{spelled}:") for line in lines), (name, lines)
    if value is None or (key == "published" and value is False):
        assert not added or added == ["+published: false"]


def test_a_plain_text_title_edit_changes_only_the_title_line():
    source = "\n\n  Old headline  \nThe body,\nuntouched.\n"
    edited = render(dataclasses.replace(parse(source.encode()), title="New headline"), source)
    assert edited == "\n\n  New headline  \nThe body,\nuntouched.\n"


def test_a_plain_text_article_gains_front_matter_above_its_unchanged_body():
    source = "Headline\r\nThe body\r\n\r\nends here.\r\n"
    document = dataclasses.replace(parse(source.encode()), published=True, quality=5)
    edited = render(document, source)
    assert edited.endswith("\r\nThe body\r\n\r\nends here.\r\n")
    assert edited.startswith("---\r\ntitle: Headline\r\n")
    assert "\n" not in edited.replace("\r\n", "")  # the file's line endings throughout
    assert parse(edited.encode()) == document


@pytest.mark.parametrize(
    ("source", "changes", "reason"),
    [
        pytest.param(
            "---\n{title: T, quality: 8, published: false}\n---\n",
            {"quality": 12},
            "cannot change only the quality line: the front matter is not written one key per line",
            id="flow-front-matter",
        ),
        pytest.param(
            "---\ntitle: &t Same\nexcerpt: *t\npublished: false\n---\n",
            {"title": "Other"},
            "cannot change only the title line: other keys repeat its value as the YAML alias *t",
            id="anchored-value",
        ),
        pytest.param(
            "---\ntitle: T\nquality: 8\npublished: false\n---\n",
            {"quality": seedfile.QUALITY_MAX + 1},
            "cannot change only the quality line: the result would not read back: ",
            id="out-of-range",
        ),
        pytest.param(
            "---\ntitle: T\nheat: 8\npublished: false\n---\n",
            {"heat": seedfile.HEAT_MIN - 1},
            "cannot change only the heat line: the result would not read back: ",
            id="out-of-range-heat",
        ),
    ],
)
def test_an_edit_that_cannot_be_one_keys_lines_is_refused_with_the_reason(source, changes, reason):
    document = parse(source.encode())
    with pytest.raises(RenderError) as refused:
        render(dataclasses.replace(document, **changes), source)
    assert refused.value.message.startswith(reason)


def test_a_document_that_cannot_be_written_faithfully_is_refused_even_without_a_source():
    document = seedfile.SeedDocument(title="Made here", quality=seedfile.QUALITY_MAX + 1)
    with pytest.raises(RenderError, match="cannot write the article: the result would not"):
        render(document)


def seed_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    return folder


FLOW = "---\n{title: Flow, quality: 8, published: false}\n---\nBody\n"
ORDINARY = "---\ntitle: Ordinary\nquality: 8\npublished: false\n---\nBody\n"


@pytest.mark.django_db
def test_export_reports_a_file_it_cannot_edit_minimally_and_keeps_the_old_one(tmp_path):
    import_seeds([seed_folder(tmp_path, {"flow.txt": FLOW, "ordinary.txt": ORDINARY})])
    out = tmp_path / "out"
    export(out)
    edit("flow", quality=12)
    edit("ordinary", quality=12)
    stdout, stderr = export_failing(out)
    assert (
        "FAILED flow.txt: cannot change only the quality line: the front matter is not "
        "written one key per line"
    ) in stderr
    assert "1 written, 0 unchanged, 0 removed, 1 failed" in stdout
    assert (out / "flow.txt").read_text() == FLOW  # the old file, untouched
    assert changed_lines(ORDINARY, (out / "ordinary.txt").read_text()) == [
        "-quality: 8",
        "+quality: 12",
    ]


@pytest.mark.django_db
def test_export_refuses_to_rewrite_a_file_whose_stored_source_no_longer_reads(tmp_path):
    import_seeds([seed_folder(tmp_path, {"old.txt": ORDINARY})])
    # A source the codec has since come to refuse (here: stored before the score ranges).
    stale = ORDINARY.replace("quality: 8", f"quality: {seedfile.QUALITY_MAX + 1}")
    Article.objects.filter(key="old").update(source_text=stale)
    edit("old", published=True)
    _, stderr = export_failing(tmp_path / "out")
    assert (
        "FAILED old.txt: cannot change only the edited lines: the stored file no longer reads:"
        " line 3: quality:"
    ) in stderr
    assert not (tmp_path / "out" / "old.txt").exists()


@pytest.mark.django_db
def test_an_unexpected_error_for_one_article_is_that_files_failure(tmp_path, monkeypatch):
    import_seeds([seed_folder(tmp_path, {"a.txt": ORDINARY, "b.txt": ORDINARY})])
    edit("a", quality=1)
    edit("b", quality=2)
    real_render = seedfile.render

    def deep(document, source=None):
        if document.quality == 1:
            raise RecursionError("maximum recursion depth exceeded")
        return real_render(document, source)

    monkeypatch.setattr(seedfile, "render", deep)
    _, stderr = export_failing(tmp_path / "out")
    assert "FAILED a.txt: could not be exported: unexpected RecursionError" in stderr
    assert parse((tmp_path / "out" / "b.txt").read_bytes()).quality == 2


@pytest.mark.django_db
def test_editorial_edits_of_the_sample_corpus_export_as_one_line_each(tmp_path):
    import_seeds([SAMPLE_SEEDS])
    keys = sorted(Article.objects.values_list("key", flat=True))
    for number, key in enumerate(keys):
        edit(key, quality=number % (seedfile.QUALITY_MAX + 1), heat=number % 50)
    out = tmp_path / "out"
    export(out)
    for key in keys:
        [original] = SAMPLE_SEEDS.glob(f"{key}.*")
        before = original.read_text(encoding="utf-8")
        after = (out / original.name).read_text(encoding="utf-8")
        document = parse(original.read_bytes())
        lines = changed_lines(before, after)
        if not document.has_front_matter:
            assert after.endswith(document.body)
            continue
        assert all(line[1:].startswith(("quality:", "heat:")) for line in lines), (key, lines)
        assert len(lines) <= 4, (key, lines)


# --- Point 5: the export folder mirrors the selection --------------------------------------


@pytest.mark.django_db
def test_published_only_removes_the_file_of_an_article_unpublished_since(real_seeds_dir, tmp_path):
    import_seeds([real_seeds_dir])
    out = tmp_path / "out"
    Article.objects.filter(key=KEY_000).update(published=True)
    export(out, "--published-only")
    assert (out / f"{KEY_000}.txt").exists()
    Article.objects.filter(key=KEY_000).update(published=False)
    stdout, _ = export(out, "--published-only")
    assert f"removed {KEY_000}.txt: no longer published" in stdout
    assert "0 written, 0 unchanged, 1 removed, 0 failed" in stdout
    assert list(out.iterdir()) == []


@pytest.mark.django_db
def test_the_file_of_a_deleted_article_is_removed_and_everything_else_left_alone(tmp_path):
    import_seeds([seed_folder(tmp_path, {"kept.txt": ORDINARY, "gone.md": ORDINARY})])
    out = tmp_path / "out"
    export(out)
    Article.objects.filter(key="gone").delete()
    others = {
        "notes.rst": "mine",
        "README": "mine",
        ".profile.txt": "hidden, not a key",
        "what?.txt": "not a valid key",
        f"{TEMP_PREFIX}keep": None,  # a folder with our prefix: never ours
        "folder.txt": None,  # a folder named like an article: not a file
    }
    for name, text in others.items():
        if text is None:
            (out / name).mkdir()
        else:
            (out / name).write_text(text)
    stdout, stderr = export(out)
    assert "removed gone.md: not in the database" in stdout
    assert "1 removed" in stdout
    assert f"WARNING {TEMP_PREFIX}keep: left alone" in stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([*others, "kept.txt"])


@pytest.mark.django_db
def test_keep_others_leaves_the_files_of_articles_no_longer_selected(tmp_path):
    import_seeds([seed_folder(tmp_path, {"a.txt": ORDINARY, "b.txt": ORDINARY})])
    out = tmp_path / "out"
    export(out)
    Article.objects.filter(key="b").delete()
    stdout, _ = export(out, "--keep-others")
    assert "0 removed" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]


@pytest.mark.django_db
def test_a_file_the_article_is_no_longer_exported_as_is_removed(tmp_path):
    import_seeds([seed_folder(tmp_path, {"a.txt": ORDINARY})])
    out = tmp_path / "out"
    (out).mkdir()
    (out / "a.md").write_text(ORDINARY)  # the same article, once exported under .md
    report = export_seeds(out)
    assert report.removed == ["a.md: the article is now exported as a.txt"]
    assert json.loads(export(out, "--json")[0])["removed"] == 0


@pytest.mark.django_db
def test_a_file_that_failed_is_not_removed(tmp_path):
    import_seeds([seed_folder(tmp_path, {"flow.txt": FLOW})])
    out = tmp_path / "out"
    export(out)
    edit("flow", published=True)
    report = export_seeds(out, published_only=True)
    assert report.failed and not report.removed
    assert (out / "flow.txt").read_text() == FLOW


@pytest.mark.django_db
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_exported_files_get_the_permissions_the_umask_allows(tmp_path, umask):
    import_seeds([seed_folder(tmp_path, {"a.txt": ORDINARY, "b.txt": ORDINARY})])
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.txt").write_text("an older version")
    os.chmod(out / "b.txt", 0o600)
    previous = os.umask(umask)
    try:
        export_seeds(out)
    finally:
        os.umask(previous)
    for name in ("a.txt", "b.txt"):  # new and replaced alike
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~umask, name


@pytest.mark.django_db
def test_replacing_a_read_only_file_is_reported(tmp_path):
    import_seeds([seed_folder(tmp_path, {"a.txt": ORDINARY})])
    out = tmp_path / "out"
    export(out)
    edit("a", quality=3)
    os.chmod(out / "a.txt", 0o444)
    _, stderr = export(out)
    assert "WARNING a.txt: was read-only; replaced" in stderr
    assert parse((out / "a.txt").read_bytes()).quality == 3


@pytest.mark.django_db
def test_leftovers_of_a_killed_export_do_not_stop_the_next_one(tmp_path):
    import_seeds([seed_folder(tmp_path, {"a.txt": ORDINARY})])
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{TEMP_PREFIX}x1y2z3").write_text("half a fi")
    (out / f"{TEMP_PREFIX}stuck").mkdir()  # a folder: reported and left, never fatal
    (out / f"{TEMP_PREFIX}stuck" / "inside").write_text("x")
    stdout, stderr = export(out)
    assert "1 written" in stdout
    assert not (out / f"{TEMP_PREFIX}x1y2z3").exists()
    assert (out / f"{TEMP_PREFIX}stuck" / "inside").exists()
    assert f"WARNING {TEMP_PREFIX}stuck: left alone" in stderr


@pytest.mark.django_db
def test_a_write_helper_used_alone_also_respects_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        exporter.write_atomically(tmp_path / "x.txt", b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "x.txt").stat().st_mode) == 0o640
