"""The seed codec on its own: no database, no Django."""

import dataclasses
import datetime as dt
import difflib

import pytest

from curation import seedfile
from curation.seedfile import SeedError, parse, render, render_canonical
from tests.conftest import SAMPLE_SEEDS

UTC = dt.UTC


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("---", "+++"))
    ]


def sample_files():
    return sorted(p for p in SAMPLE_SEEDS.iterdir() if p.suffix in (".txt", ".md"))


def test_real_seed_000_parses_every_field(real_seeds_dir):
    document = parse((real_seeds_dir / "000_05b9351d468b7844.txt").read_bytes())
    assert document.category == "news"
    assert document.title.startswith("Facial recognition cameras set to scan crowds")
    assert document.published_at == dt.datetime(2023, 5, 3, 13, 13, tzinfo=UTC)
    assert document.original_url.startswith("https://inews.co.uk/news/facial-recognition")
    assert document.web_url == document.original_url
    assert (document.type, document.quality, document.heat, document.published) == (
        "article",
        8,
        -1,
        False,
    )
    assert document.provider == seedfile.Provider(name="i", domain="inews.co.uk")
    assert document.topics == ["Computer Vision", "AI"]
    assert document.images == []
    [related] = document.related
    assert related.provider == seedfile.Provider(
        name="digitalcameraworld", domain="digitalcameraworld.com"
    )
    assert related.quality == 33
    assert related.images == [
        seedfile.Image(
            url="https://cdn.mos.cms.futurecdn.net/GAwMn7Siq7enS4TXjtDCqg-1200-80.jpg",
            width=1200,
            height=675,
            is_cached=True,
        )
    ]
    assert document.secured.startswith("tDOm/zR5SnoK3tW1") and document.secured.endswith("xaA==")
    assert document.body == "\n"
    assert document.extra == []


def test_real_seed_001_keeps_every_related_item_in_order(real_seeds_dir):
    document = parse((real_seeds_dir / "001_d971ad496e5bec1f.txt").read_bytes())
    assert document.source_url.startswith("https://knowtechie.com/")
    assert document.amp_url.endswith("/amp/")
    assert document.cdn_amp_url.startswith("https://knowtechie-com.cdn.ampproject.org/")
    assert len(document.related) == 23
    assert document.related[0].provider.name == "Time"
    assert document.related[-1].provider.name == "Independent"
    assert [len(item.images) for item in document.related].count(1) == 22
    assert document.images[0].title.startswith("London Police are setting up")


def test_plain_text_seed_takes_first_line_as_title_and_keeps_the_rest_as_body(real_seeds_dir):
    data = (real_seeds_dir / "003_3399e1b3719cc0c3.txt").read_bytes()
    document = parse(data)
    assert not document.has_front_matter
    assert document.title.startswith("Met Police using Coronation")
    assert document.body.startswith("\nThe Met Police are using the Coronation")
    assert document.body.endswith("Met's database.\n\n\n")
    assert document.published is False and document.quality is None


def test_every_real_and_sample_seed_renders_and_reparses_equal(real_seed_files):
    for path in [*real_seed_files, *sample_files()]:
        data = path.read_bytes()
        document = parse(data, str(path))
        assert render(document, data.decode()) == data.decode(), path
        assert parse(render_canonical(document).encode()) == document, path


def test_sample_corpus_covers_the_schema_variants():
    documents = [parse(path.read_bytes(), str(path)) for path in sample_files()]
    assert 20 <= len(documents) <= 40
    assert any(not d.has_front_matter for d in documents)
    assert any(d.source_url for d in documents) and any(d.web_url for d in documents)
    assert any(d.published for d in documents) and any(not d.published for d in documents)
    assert any(any(i.title for i in d.images) for d in documents)
    assert any(any(i.is_cached for i in d.images) for d in documents)
    assert any(any(r.images for r in d.related) for d in documents)
    assert any(any(not r.images for r in d.related) for d in documents)
    assert any(d.extra for d in documents)
    assert any(not d.title.isascii() or not d.excerpt.isascii() for d in documents)


def test_unknown_keys_are_kept_in_file_order_at_every_level():
    data = b"""---
title: T
zeta: 1
tags: [a, b]
provider:
  name: P
  images:
    - url: https://p.example/logo.png
images:
  - url: https://x.example/i.jpg
    focus: center
related:
  - title: R
    cluster: 7
updatedDateTime: 2024-01-02T03:04:05Z
alpha: {nested: true}
---
"""
    document = parse(data)
    assert [key for key, _ in document.extra] == ["zeta", "tags", "updatedDateTime", "alpha"]
    assert dict(document.extra)["updatedDateTime"] == "2024-01-02T03:04:05Z"
    assert document.provider.extra == [("images", [{"url": "https://p.example/logo.png"}])]
    assert document.images[0].extra == [("focus", "center")]
    assert document.related[0].extra == [("cluster", 7)]
    assert parse(render_canonical(document).encode()) == document


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("---\ntitle: T\nquality: high\n---\n", "quality: must be a whole number, got text 'high'"),
        ("---\ntitle: T\nheat: 1.5\n---\n", "heat: must be a whole number"),
        ("---\ntitle: T\npublished: maybe\n---\n", "published: must be true or false"),
        (
            "---\ntitle: T\npublishedDateTime: soon\n---\n",
            "publishedDateTime: 'soon' is not a date-time",
        ),
        ("---\ncategory: news\n---\n", "title: is required"),
        ("---\n- a\n- b\n---\n", "must be a mapping of keys to values, not a list"),
        ("---\njust words\n---\n", "must be a mapping of keys to values, not text"),
        ("---\ntitle: T\ntitle: U\n---\n", "title: the key appears twice"),
        ("---\ntitle: [unclosed\n---\n", "invalid YAML front matter"),
        ("---\ntitle: T\n", "never closed"),
        ("---\ntitle: !!python/object/apply:os.system [ls]\n---\n", "tags that construct objects"),
        ("---\ntitle: T\ntopics: AI\n---\n", "topics: must be a list"),
        ("---\ntitle: T\nprovider: BBC\n---\n", "provider: must be a mapping"),
        ("", "the file is empty"),
    ],
)
def test_bad_files_get_one_line_errors_naming_file_and_key(text, fragment):
    with pytest.raises(SeedError) as caught:
        parse(text.encode(), "feed/bad.txt")
    message = str(caught.value)
    assert message.startswith("feed/bad.txt")
    assert fragment in message
    assert "\n" not in message


def test_errors_give_the_line_of_the_offending_key():
    with pytest.raises(SeedError) as caught:
        parse(b"---\ntitle: T\ncategory: news\nquality: high\n---\n", "a.txt")
    assert str(caught.value).startswith("a.txt:4: quality:")


def test_non_utf8_bytes_are_refused_with_their_position():
    with pytest.raises(SeedError, match=r"not UTF-8 text \(byte 0xff at offset 11\)"):
        parse(b"---\ntitle: \xff\n---\n", "x.txt")


def test_billion_laughs_is_refused_quickly():
    bomb = "---\ntitle: T\na: &a [x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        bomb += (
            f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
        )
    bomb += "---\n"
    with pytest.raises(SeedError, match="aliases"):
        parse(bomb.encode())


def test_editing_an_editorial_field_changes_exactly_that_line(real_seeds_dir):
    source = (real_seeds_dir / "000_05b9351d468b7844.txt").read_text()
    document = parse(source.encode())
    edited = render(dataclasses.replace(document, published=True), source)
    assert changed_lines(source, edited) == ["-published: false", "+published: true"]
    edited = render(dataclasses.replace(document, quality=12, heat=40), source)
    assert changed_lines(source, edited) == [
        "-quality: 8",
        "-heat: -1",
        "+quality: 12",
        "+heat: 40",
    ]


def test_editing_a_quoted_title_keeps_its_quoting_style(real_seeds_dir):
    source = (real_seeds_dir / "004_83fee048e6910c4b.txt").read_text()
    document = parse(source.encode())
    edited = render(dataclasses.replace(document, title="A new headline"), source)
    assert changed_lines(source, edited) == [
        '-title: "London is buying heaps of facial recognition tech"',
        '+title: "A new headline"',
    ]


def test_setting_an_absent_field_adds_one_line_and_clearing_removes_it():
    source = "---\ntitle: T\npublished: false\n---\nBody\n"
    document = parse(source.encode())
    added = render(dataclasses.replace(document, heat=5), source)
    assert changed_lines(source, added) == ["+heat: 5"]
    assert parse(added.encode()).heat == 5
    cleared = render(dataclasses.replace(parse(added.encode()), heat=None), added)
    assert cleared == source


def test_crlf_files_keep_their_line_endings_when_edited():
    source = "---\r\ntitle: T\r\npublished: false\r\n---\r\nBody\r\n"
    document = parse(source.encode())
    assert document.body == "Body\r\n"
    assert render(document, source) == source
    edited = render(dataclasses.replace(document, published=True), source)
    assert edited == source.replace("published: false", "published: true")


def test_publishing_a_plain_text_article_gives_it_front_matter_with_the_same_values(real_seeds_dir):
    source = (real_seeds_dir / "003_3399e1b3719cc0c3.txt").read_text()
    document = dataclasses.replace(parse(source.encode()), published=True)
    rendered = render(document, source)
    assert rendered.startswith("---\ntitle: Met Police using Coronation")
    assert parse(rendered.encode()) == document


def test_canonical_rendering_uses_the_feed_layout():
    document = seedfile.SeedDocument(
        title="Bridge reopens",
        published_at=dt.datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
        web_url="https://news.example/bridge",
        quality=40,
        provider=seedfile.Provider(name="Gazette", domain="gazette.example"),
        topics=["Transport"],
    )
    text = render(document)
    assert text == (
        "---\n"
        "title: Bridge reopens\n"
        "publishedDateTime: 2025-03-01T08:30:00Z\n"
        "webUrl: https://news.example/bridge\n"
        "quality: 40\n"
        "published: false\n"
        "\n"
        "provider:\n"
        "  name: Gazette\n"
        "  domain: gazette.example\n"
        "\n"
        "topics:\n"
        "  - Transport\n"
        "---\n"
    )
    assert parse(text.encode()) == document


@pytest.mark.parametrize("key", ["", " padded", ".hidden", "a/b", "a\\b", "x" * 151, "tab\there"])
def test_unsafe_keys_are_refused(key):
    with pytest.raises(SeedError):
        seedfile.validate_key(key)


@pytest.mark.parametrize("key", ["000_05b9351d468b7844", "Café news 2025", "a-b_c.d"])
def test_ordinary_keys_are_accepted(key):
    assert seedfile.validate_key(key) == key


def test_python_frontmatter_agrees_with_the_codec_on_well_formed_seeds(real_seed_files):
    """python-frontmatter is a fine oracle for well-formed files (see README for where it is not)."""
    import frontmatter

    for path in [*real_seed_files, *sample_files()]:
        document = parse(path.read_bytes())
        if not document.has_front_matter:
            continue
        post = frontmatter.loads(path.read_text())
        assert post.metadata["title"] == document.title, path
        assert post.metadata.get("quality") == document.quality, path
        assert post.metadata.get("topics", []) == document.topics, path
        assert len(post.metadata.get("related", [])) == len(document.related), path
        assert post.content == document.body.strip(), path


def test_python_frontmatter_traps_the_codec_avoids():
    import frontmatter

    with pytest.raises(TypeError):
        frontmatter.loads("---\ntitle: T\ncontent: in front matter\n---\nBody\n")
    assert parse(b"---\ntitle: T\ncontent: in front matter\n---\nBody\n").extra == [
        ("content", "in front matter")
    ]
    assert frontmatter.loads("---\ntitle: T\n").metadata == {}  # silently no metadata
    with pytest.raises(SeedError, match="never closed"):
        parse(b"---\ntitle: T\n")
    assert frontmatter.loads("\ufeff---\ntitle: T\n---\nBody\n").metadata == {}
    assert parse("\ufeff---\ntitle: T\n---\nBody\n".encode()).title == "T"
