"""Hostile seed files: each is refused with one clear line naming the file and the problem, or
accepted in a documented, safe way; none runs code, none takes long, and none spoils a run.

The corpus is ``tests/hostile/`` (one file per case, named for it). Cases that are too big to
commit or that the file system may refuse (a 5 MB excerpt, odd file names) are made at runtime.
"""

import io
import os
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from curation import seedfile
from curation.models import Article

HOSTILE = Path(__file__).resolve().parent / "hostile"
PWNED = Path("/tmp/newsroom-hostile-pwned")  # what the code-execution payloads try to create

# file -> a fragment of the one-line error (the file name is checked separately).
REFUSED = {
    "alias_bomb_billion_laughs.txt": "aliases of lists or mappings are not allowed",
    "alias_bomb_recursive_list.txt": "aliases of lists or mappings are not allowed",
    "alias_bomb_scalar_expansion.txt": "aliases expand the front matter",
    "custom_local_tag.txt": ":3: invalid YAML front matter: YAML tags that construct objects",
    "deep_nesting.txt": ":3: invalid YAML front matter: exceeded maximum nesting depth",
    "deep_nesting_below_the_parser_limit.txt": ":3: lists and mappings nest more than 64 levels",
    "duplicate_key_nested.txt": ":5: name: the key appears twice",
    "duplicate_key_title.txt": ":4: title: the key appears twice",
    "empty_file.txt": "the file is empty",
    "empty_title.txt": ":2: title: must not be empty",
    "front_matter_is_a_list.txt": "must be a mapping of keys to values, not a list",
    "front_matter_is_a_scalar.txt": "must be a mapping of keys to values, not text",
    "huge_number.txt": "a number longer than 1000 characters is not allowed",
    "huge_sexagesimal_number.txt": "a number longer than 1000 characters is not allowed",
    "key_that_is_not_text.txt": "the key 123 is not text",
    "malformed_yaml_bad_indentation.txt": ":5: invalid YAML front matter",
    "malformed_yaml_tab_indentation.txt": ":4: invalid YAML front matter",
    "malformed_yaml_unclosed_bracket.txt": ":4: invalid YAML front matter",
    "missing_title.txt": "title: is required",
    "not_a_number_value.txt": ":3: score: infinite or not-a-number values are not supported",
    "not_utf8_latin1.txt": ":2: the file is not UTF-8 text (byte 0xe9",
    "not_utf8_utf16.txt": "NUL bytes",
    "nul_byte_in_title.txt": "the file contains NUL bytes",
    "nul_escape_in_yaml_string.txt": "contains a NUL character",
    "only_three_dashes.txt": ":1: front matter opened by '---' on line 1 is never closed",
    "only_two_dash_lines.txt": "title: is required",
    "python_name_tag.txt": ":3: invalid YAML front matter: YAML tags that construct objects",
    "python_object_apply_os_system.txt": ":2: invalid YAML front matter: YAML tags that construct",
    "python_object_new_subprocess.txt": ":3: invalid YAML front matter: YAML tags that construct",
    "unterminated_front_matter.txt": ":1: front matter opened by '---' on line 1 is never closed",
    "whitespace_only.txt": "the file is empty",
    "wrong_type_date_impossible_day.txt": ":3: invalid YAML front matter: cannot read "
    "'2023-02-30T10:00:00Z' as !!timestamp: day is out of range for month",
    "explicit_tag_that_cannot_read_its_value.txt": ":3: invalid YAML front matter: cannot read "
    "'maybe' as !!bool",
    "explicit_tag_set_on_a_list.txt": ":3: invalid YAML front matter: !!set needs a mapping",
    "wrong_type_date_is_not_a_date.txt": ":3: publishedDateTime: 'last Tuesday' is not a date-time",
    "wrong_type_date_out_of_range_in_utc.txt": ":3: publishedDateTime: '0001-01-01 00:00:00+01:00'"
    " is outside the years 1 to 9999",
    "wrong_type_heat_is_decimal.txt": ":3: heat: must be a whole number, got a decimal number 1.5",
    "wrong_type_provider_is_a_list.txt": ":3: provider: must be a mapping, got a list",
    "wrong_type_published_is_maybe.txt": ":3: published: must be true or false, got text 'maybe'",
    "wrong_type_quality_is_text.txt": ":3: quality: must be a whole number, got text 'high'",
    "wrong_type_quality_out_of_range.txt": ":3: quality: 99999999999 is out of range",
    "quality_above_the_editorial_range.txt": ":3: quality: 1001 is out of range (0 to 1000)",
    "heat_below_the_editorial_range.txt": ":3: heat: -2 is out of range (-1 to 1000)",
    "too_many_topics.txt": ":3: topics: 101 entries; the limit is 100",
    "wrong_type_title_is_a_number.txt": ":2: title: must be text, got a whole number 42",
    "yaml_merge_key.txt": ":4: invalid YAML front matter: YAML merge keys (<<) are not allowed",
}

# file -> the title it is accepted with. RELIABILITY.md documents why each is safe.
ACCEPTED = {
    "accepted_crlf_line_endings.txt": "CRLF article",
    "accepted_html_in_text.txt": "<script>alert(1)</script>",  # shown as text, never as HTML
    "accepted_javascript_and_data_urls.txt": "Dangerous URLs are stored, never linked",
    "accepted_scalar_alias.txt": "Aliased title",
    "accepted_utf8_bom_front_matter.txt": "BOM article",
    "accepted_utf8_bom_plain_text.txt": "A plain-text article after a BOM",
}

# Every case parses in well under this on a slow machine; the worst real seed takes milliseconds.
TIME_LIMIT = 2.0


def test_the_table_covers_every_file_in_the_corpus():
    assert sorted(REFUSED.keys() | ACCEPTED.keys()) == sorted(p.name for p in HOSTILE.iterdir())


@pytest.mark.parametrize("name, fragment", sorted(REFUSED.items()))
def test_hostile_file_is_refused_with_one_line_naming_file_and_problem(name, fragment):
    path = HOSTILE / name
    PWNED.unlink(missing_ok=True)
    started = time.perf_counter()
    with pytest.raises(seedfile.SeedError) as caught:
        seedfile.parse(path.read_bytes(), str(path))
    elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert message.startswith(f"{path}:"), message
    assert fragment in message, message
    assert "\n" not in message and "\r" not in message
    assert elapsed < TIME_LIMIT
    assert not PWNED.exists(), "a YAML tag ran code"


@pytest.mark.parametrize("name, title", sorted(ACCEPTED.items()))
def test_documented_acceptance_parses_safely(name, title):
    document = seedfile.parse((HOSTILE / name).read_bytes(), name)
    assert document.title == title


def test_crlf_and_bom_files_export_byte_for_byte():
    for name in ("accepted_crlf_line_endings.txt", "accepted_utf8_bom_front_matter.txt"):
        text = (HOSTILE / name).read_bytes().decode("utf-8")
        assert seedfile.render(seedfile.parse(text.encode("utf-8")), text) == text


def test_dangerous_urls_are_stored_verbatim_and_never_safe():
    from curation.models import safe_url

    document = seedfile.parse((HOSTILE / "accepted_javascript_and_data_urls.txt").read_bytes())
    assert document.web_url == "javascript:alert(1)"
    assert document.original_url.startswith("data:")
    assert document.images[0].url.startswith("data:")
    for url in (document.web_url, document.original_url, document.images[0].url):
        assert safe_url(url) == ""
    assert safe_url(" JAVASCRIPT:alert(1)") == ""
    assert safe_url("HTTPS://example.com/") == "HTTPS://example.com/"


def five_megabyte_excerpt(path: Path) -> Path:
    excerpt = "A" * (5 * 1024 * 1024)
    path.write_text(f'---\ntitle: "Huge excerpt"\nexcerpt: "{excerpt}"\n---\n')
    return path


def test_five_megabyte_excerpt_is_refused_quickly_without_reading_it_into_yaml(tmp_path):
    path = five_megabyte_excerpt(tmp_path / "five_megabyte_excerpt.txt")
    data = path.read_bytes()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(seedfile.SeedError, match="over the 2,097,152-byte limit"):
            seedfile.parse(data, str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < TIME_LIMIT
    assert peak < 1024 * 1024  # nothing was decoded or copied


def test_a_file_is_read_whole_even_when_it_is_longer_than_its_stated_size():
    """Files are read by their stated size; one that grew since (or, like /proc's, states 0)
    must still be read to the end, up to the limit."""
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.fail("needs Linux's /proc (CI runs on Linux)")
    assert status.stat().st_size == 0
    data = seedfile._read_regular_file(str(status), 1_000_000)
    assert b"\nPid:" in data and data.endswith(b"\n")
    assert len(seedfile._read_regular_file(str(status), 10)) == 10


def too_many_values(path: Path) -> Path:
    """Just under 2 MiB of "[{}, {}, ...]": most YAML values per byte, ~500 MB if loaded."""
    path.write_text('---\ntitle: "Many values"\nmany: [' + "{}," * 690_000 + "{}]\n---\n")
    return path


def test_front_matter_with_a_million_values_is_refused_in_bounded_time_and_memory(tmp_path):
    path = too_many_values(tmp_path / "too_many_yaml_values.txt")
    data = path.read_bytes()
    assert len(data) < seedfile.MAX_FILE_BYTES
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(seedfile.SeedError, match=r":3: the front matter holds more than"):
            seedfile.parse(data, str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < TIME_LIMIT
    assert peak < 64 * 1024 * 1024


def make_odd_names(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Files with odd names, where the file system allows them: (accepted, refused fragments)."""
    good = '---\ntitle: "Odd name"\n---\n'
    accepted, refused = {}, {}
    candidates = {
        "name with spaces.txt": None,
        "unicodé ñame 日本語.txt": None,
        ".leading_dot.txt": "starts with a dot",
        ("x" * 200) + ".txt": "longer than 150 characters",
        "new\nline.txt": "control character",
    }
    for name, fragment in candidates.items():
        try:
            (folder / name).write_text(good)
        except OSError:  # pragma: no cover - a file system that refuses the name
            continue
        (refused if fragment else accepted)[name] = fragment or ""
    return accepted, refused


def make_special_files(folder: Path) -> dict[str, str]:
    """A named pipe and a link to /dev/zero with seed names: reading either could hang (links
    are refused before reading; a pipe when its type is seen)."""
    made = {}
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "named_pipe.txt")
        made["named_pipe.txt"] = "not a regular file"
    if Path("/dev/zero").exists():
        (folder / "link_to_dev_zero.txt").symlink_to("/dev/zero")
        made["link_to_dev_zero.txt"] = "is a symbolic link; not imported"
    return made


def run_import(*paths):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_seeds", *map(str, paths), stdout=out, stderr=err)
    return caught.value, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_whole_hostile_folder_with_good_files_imports_the_good_and_names_the_bad(
    tmp_path, real_seed_files
):
    hostile = tmp_path / "hostile"
    shutil.copytree(HOSTILE, hostile)
    five_megabyte_excerpt(hostile / "five_megabyte_excerpt.txt")
    too_many_values(hostile / "too_many_yaml_values.txt")
    odd_accepted, odd_refused = make_odd_names(hostile)
    special = make_special_files(hostile)
    good = tmp_path / "good"
    good.mkdir()
    for path in real_seed_files:
        shutil.copy(path, good)
    PWNED.unlink(missing_ok=True)

    started = time.perf_counter()
    error, out, err = run_import(hostile, good)
    elapsed = time.perf_counter() - started

    refused = {
        **REFUSED,
        "five_megabyte_excerpt.txt": "over the",
        "too_many_yaml_values.txt": "holds more than",
        **odd_refused,
        **special,
    }
    assert f"{len(refused)} file(s) failed to import" in str(error)
    failed_lines = [line for line in err.splitlines() if line.startswith("FAILED ")]
    for name, fragment in refused.items():
        # A name with a newline is one file but two lines of output: match on its first part.
        first_part = f"FAILED {hostile / name}".split("\n")[0]
        matching = [line for line in failed_lines if line.startswith(first_part)]
        assert matching, f"{name} is not reported"
        if "\n" not in name:
            assert fragment in matching[0]
    accepted_keys = {Path(n).stem for n in [*ACCEPTED, *odd_accepted]}
    good_keys = {path.stem for path in real_seed_files}
    assert set(Article.objects.values_list("key", flat=True)) == accepted_keys | good_keys
    assert f"{len(accepted_keys | good_keys)} created" in out
    assert not PWNED.exists()
    assert elapsed < 60


@pytest.mark.django_db
def test_hostile_files_alone_leave_the_database_untouched_and_exit_with_an_error(tmp_path):
    hostile = tmp_path / "refused"
    hostile.mkdir()
    for name in REFUSED:
        shutil.copy(HOSTILE / name, hostile)
    error, _, err = run_import(hostile)
    assert f"{len(REFUSED)} file(s) failed to import" in str(error)
    assert err.count("FAILED ") == len(REFUSED)
    assert Article.objects.count() == 0


@pytest.mark.django_db
def test_accepted_dangerous_urls_are_stored_exactly(tmp_path):
    shutil.copy(HOSTILE / "accepted_javascript_and_data_urls.txt", tmp_path)
    call_command("import_seeds", str(tmp_path), stdout=io.StringIO())
    article = Article.objects.get(key="accepted_javascript_and_data_urls")
    assert article.web_url == "javascript:alert(1)"
    assert article.link == ""
    assert article.images.get().safe_url == ""
    assert article.related_items.get().link == ""


def test_hostile_corpus_files_are_small():
    # The corpus stays cheap to commit; big cases are generated at runtime.
    assert sum(path.stat().st_size for path in HOSTILE.iterdir()) < 64 * 1024
