"""Fuzzing: the codec on arbitrary and mutated bytes, render/parse round trips over generated
documents with awkward text, and the import command on files of arbitrary bytes."""

import datetime as dt
import io
import tempfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from curation import seedfile
from curation.models import Article

from .conftest import REAL_SEEDS

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
awkward_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
tricky_words = st.sampled_from(
    [
        "---",
        "...",
        "- item",
        "key: value",
        "# not a comment",
        "yes",
        "no",
        "null",
        "~",
        "1.5",
        "2023-05-03",
        "2023-05-03T13:13:00Z",
        "0x1F",
        "1:30",
        "@at",
        "`tick`",
        "!tag",
        "&anchor",
        "*alias",
        "'quoted'",
        '"double"',
        "a\nb",
        "trailing ",
        " leading",
        "\t",
        "\r\n",
        "\u2028",
        "\x85",
        "\ufeff",
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        "",
        "%",
    ]
)
field_text = awkward_text | tricky_words
title_text = field_text.filter(lambda value: value.strip() != "")
number = st.none() | st.integers(seedfile.INT_MIN, seedfile.INT_MAX)
moment = st.none() | st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | field_text,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), children, max_size=3)
    ),
    max_leaves=5,
)


def extras(known):
    return st.lists(
        st.tuples(st.from_regex(r"[a-z][A-Za-z_]{0,8}", fullmatch=True), json_value).filter(
            lambda pair: pair[0] not in known
        ),
        max_size=2,
        unique_by=lambda pair: pair[0],
    )


providers = st.none() | st.builds(
    seedfile.Provider, name=field_text, domain=field_text, extra=extras(seedfile.PROVIDER_KEYS)
)
images = st.builds(
    seedfile.Image,
    url=field_text,
    width=st.none() | st.integers(0, seedfile.INT_MAX),
    height=st.none() | st.integers(0, 5000),
    title=field_text,
    is_cached=st.none() | st.booleans(),
    attribution=field_text,
    extra=extras(seedfile.IMAGE_KEYS),
)
related = st.builds(
    seedfile.Related,
    title=field_text,
    excerpt=field_text,
    published_at=moment,
    web_url=field_text,
    type=field_text,
    provider=providers,
    quality=number,
    heat=number,
    images=st.lists(images, max_size=2),
    extra=extras(seedfile.RELATED_KEYS),
)
documents = st.builds(
    seedfile.SeedDocument,
    title=title_text,
    category=field_text,
    excerpt=field_text,
    published_at=moment,
    web_url=field_text,
    original_url=field_text,
    type=field_text,
    quality=number,
    heat=number,
    published=st.booleans(),
    provider=providers,
    topics=st.lists(title_text.filter(lambda t: len(t) <= 100), max_size=3),
    images=st.lists(images, max_size=2),
    related=st.lists(related, max_size=2),
    secured=field_text,
    extra=extras(seedfile.ARTICLE_KEYS),
    body=field_text,
)


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
