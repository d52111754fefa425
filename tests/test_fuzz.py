"""Fuzzing: the codec on arbitrary and mutated bytes, render/parse round trips over generated
documents with awkward text, and the import command on files of arbitrary bytes."""

import datetime as dt
import io
import tempfile
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from curation import seedfile
from curation.models import Article, Tombstone

from .conftest import REAL_SEEDS
from .strategies import documents

HOSTILE = Path(__file__).resolve().parent / "hostile"
FUZZ = settings(max_examples=200, deadline=None)
SEEDS = [path.read_bytes() for path in sorted(REAL_SEEDS.glob("*.txt"))] or [
    b'---\ntitle: "A seed"\nquality: 3\n---\nbody\n'
]


def parse_or_refuse(data: bytes) -> seedfile.SeedDocument | None:
    """Parse; a ``SeedError`` is a fine answer, any other exception fails the test."""
    try:
        return seedfile.parse(data, "fuzz.txt")
    except seedfile.SeedError as error:
        message = str(error)
        assert message.startswith("fuzz.txt"), message
        assert "\n" not in message
        return None


# --- The strict YAML loader builds what PyYAML builds ----------------------------------------

yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.dates()
    | st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers(0, 9), children, max_size=4)
    ),
    max_leaves=12,
)


def strict_load(text: str):
    return yaml.load(text, Loader=seedfile._StrictLoader)


@FUZZ
@given(yaml_values, st.sampled_from([None, False, True]))
def test_strict_loader_builds_what_pyyaml_builds(value, flow_style):
    """The loader builds text, lists and text-keyed mappings itself, for speed; whatever the
    document, it must be what PyYAML's safe loader gives."""
    text = yaml.safe_dump({"value": value}, default_flow_style=flow_style, allow_unicode=True)
    assert strict_load(text) == yaml.load(text, Loader=yaml.SafeLoader)


@pytest.mark.parametrize(
    "text",
    [
        "a: !!str 12\nb: !!int '7'\nc: !!float '1.5'\n",
        "a: !!set {x, y}\nb: !!omap [x: 1, y: 2]\nc: !!pairs [x: 1, x: 2]\n",
        "a: {1: x, 2.5: y, null: z, false: w}\n",
        "a: !!map {x: [1, !!seq [2]]}\n",
        "a: &text hello\nb: *text\nc: [*text, *text]\n",
        "a: 2024-02-29T10:00:00Z\nb: 2024-02-29\nc: 0x1f\nd: 1_000\n",
    ],
)
def test_strict_loader_matches_pyyaml_on_tags_and_keys(text):
    assert strict_load(text) == yaml.load(text, Loader=yaml.SafeLoader)


def test_strict_loader_shares_aliased_collections_so_they_can_be_refused():
    loaded = strict_load("a: &list [1, 2]\nb: *list\nc: &map {x: 1}\nd: [*map]\n")
    assert loaded["a"] is loaded["b"]
    assert loaded["c"] is loaded["d"][0]
    with pytest.raises(seedfile.SeedError, match="aliases of lists or mappings are not allowed"):
        seedfile.parse(b"---\ntitle: t\nloop: &a {x: *a}\n---\n")


# --- The codec on arbitrary bytes -----------------------------------------------------------


@FUZZ
@given(st.binary(max_size=2000))
@example(b"---\n---\n")
@example(b"---\ntitle: !!python/object/apply:os.system [ls]\n---\n")
@example(b"---\ntitle: x\npublishedDateTime: 2023-02-30\n---\n")
def test_parse_of_arbitrary_bytes_raises_only_seed_error(data):
    parse_or_refuse(data)


YAMLISH = st.sampled_from(
    [
        b"---\n",
        b": ",
        b"\n",
        b"\r\n",
        b"- ",
        b"&a ",
        b"*a",
        b"!!",
        b"[",
        b"]",
        b"{",
        b"}",
        b'"',
        b"'",
        b"#",
        b"|\n",
        b">\n",
        b"  ",
        b"\t",
        b"\xef\xbb\xbf",
        b"\xff",
        b"\x00",
        b"1:2",
        b"~",
        b"2023-02-30",
        b"<<: ",
        b"? ",
        b"%YAML 1.1\n",
        b"...\n",
        b"\\",
        b"0x1F",
        b".inf",
        b"9" * 30,
    ]
)


@st.composite
def mutated_seeds(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "cut_line", "dup_line"]))
        if action == "insert":
            data[position:position] = draw(YAMLISH | st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        elif action == "flip" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        else:
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            if action == "cut_line":
                del lines[index]
            else:
                lines.insert(index, lines[index])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@FUZZ
@given(mutated_seeds())
def test_parse_of_mutated_real_seeds_raises_only_seed_error(data):
    document = parse_or_refuse(data)
    if document is not None:
        # Whatever was accepted can be written back out and read again as the same article.
        source = data.decode("utf-8")
        assert seedfile.render(document, source) == source
        assert seedfile.parse(seedfile.render(document).encode("utf-8")) == document


# --- Round trips of generated documents -----------------------------------------------------


# Any character a UTF-8 file and a database can hold: everything but NUL and lone surrogates.
@FUZZ
@given(documents)
@example(seedfile.SeedDocument(title="x", published_at=dt.datetime(999, 1, 1, tzinfo=dt.UTC)))
def test_render_then_parse_gives_the_same_document(document):
    text = seedfile.render(document)
    parsed = seedfile.parse(text.encode("utf-8"), "generated.txt")
    assert parsed == document
    # And an untouched document renders back byte for byte from its own source.
    assert seedfile.render(parsed, text) == text


@FUZZ
@given(documents, documents)
def test_editing_a_rendered_document_gives_exactly_the_edit(before, after):
    source = seedfile.render(before)
    edited = seedfile.render(after, source)
    assert seedfile.parse(edited.encode("utf-8")) == after


# --- The import command on arbitrary files --------------------------------------------------


file_bytes = st.binary(max_size=300) | mutated_seeds() | st.sampled_from(SEEDS)


@pytest.mark.django_db
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(file_bytes, min_size=1, max_size=6))
def test_import_of_arbitrary_files_never_crashes_and_names_each_failure(files):
    Article.objects.all().delete()
    Tombstone.objects.all().delete()  # a fresh start: the deleted keys may come back
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number, data in enumerate(files):
            path = Path(folder) / f"fuzz_{number:02d}.txt"
            path.write_bytes(data)
            paths.append(path)
        expected_good = set()
        for path, data in zip(paths, files, strict=True):
            if parse_or_refuse(data) is not None:
                expected_good.add(path.stem)
        assume(True)
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import_seeds", folder, "--workers=1", stdout=out, stderr=err)
            failed = 0
        except CommandError as error:
            failed = int(str(error).split()[0])
        failures = [line for line in err.getvalue().splitlines() if line.startswith("FAILED ")]
        assert failed == len(failures) == len(files) - len(expected_good)
        for path in paths:
            named = any(line.startswith(f"FAILED {path}") for line in failures)
            assert named == (path.stem not in expected_good)
        assert set(Article.objects.values_list("key", flat=True)) == expected_good
