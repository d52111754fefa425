"""Property-based round trips over generated documents, through the real database."""

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation import seedfile
from curation.exporter import export_seeds
from curation.importer import import_seeds
from curation.models import Article, Provider, Topic

pytestmark = pytest.mark.django_db

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"),
    max_size=40,
)
line = text.filter(lambda value: value.strip() == value)
title = line.filter(bool)
url = st.builds(
    lambda path: f"https://news.example/{path}", st.from_regex(r"[a-z0-9/-]{0,30}", fullmatch=True)
)
number = st.none() | st.integers(min_value=seedfile.INT_MIN, max_value=seedfile.INT_MAX)
moment = st.none() | st.datetimes(
    min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)
plain_value = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | text,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), children, max_size=3)
    ),
    max_leaves=6,
)


def extra(known):
    return st.lists(
        st.tuples(
            st.from_regex(r"[a-z][A-Za-z]{0,10}", fullmatch=True).filter(lambda k: k not in known),
            plain_value,
        ),
        max_size=3,
        unique_by=lambda pair: pair[0],
    )


provider = st.none() | st.builds(
    seedfile.Provider, name=line, domain=line, extra=extra(seedfile.PROVIDER_KEYS)
)
image = st.builds(
    seedfile.Image,
    url=url,
    width=st.none() | st.integers(0, 5000),
    height=st.none() | st.integers(0, 5000),
    title=text,
    is_cached=st.none() | st.booleans(),
    attribution=text,
    extra=extra(seedfile.IMAGE_KEYS),
)
related = st.builds(
    seedfile.Related,
    title=text,
    excerpt=text,
    published_at=moment,
    web_url=st.just("") | url,
    source_url=st.just("") | url,
    type=line,
    provider=provider,
    quality=number,
    heat=number,
    images=st.lists(image, max_size=2),
    extra=extra(seedfile.RELATED_KEYS),
)
documents = st.builds(
    seedfile.SeedDocument,
    title=title,
    category=line,
    excerpt=text,
    published_at=moment,
    original_url=st.just("") | url,
    web_url=st.just("") | url,
    amp_web_url=st.just("") | url,
    cdn_amp_url=st.just("") | url,
    type=line,
    quality=number,
    heat=number,
    published=st.booleans(),
    provider=provider,
    topics=st.lists(title.filter(lambda t: len(t) <= 100), max_size=3),
    images=st.lists(image, max_size=2),
    related=st.lists(related, max_size=3),
    secured=st.from_regex(r"[A-Za-z0-9+/=;]{0,60}", fullmatch=True),
    extra=extra(seedfile.ARTICLE_KEYS),
    body=text,
)
editorial_edits = st.fixed_dictionaries(
    {}, optional={"published": st.booleans(), "quality": number, "heat": number}
)

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def reset_database():
    Article.objects.all().delete()
    Provider.objects.all().delete()
    Topic.objects.all().delete()


@PROPERTY_SETTINGS
@given(document=documents)
def test_export_of_an_imported_file_is_byte_identical(tmp_path_factory, document):
    reset_database()
    folder = tmp_path_factory.mktemp("in")
    data = seedfile.render(document).encode("utf-8")
    (folder / "article.txt").write_bytes(data)
    report = import_seeds([folder])
    assert report.created == ["article"], report.failed
    out = tmp_path_factory.mktemp("out")
    export_seeds(out)
    assert (out / "article.txt").read_bytes() == data


@PROPERTY_SETTINGS
@given(document=documents, edits=editorial_edits)
def test_reimporting_an_export_gives_the_same_article(tmp_path_factory, document, edits):
    reset_database()
    folder = tmp_path_factory.mktemp("in")
    (folder / "article.txt").write_text(seedfile.render(document), encoding="utf-8")
    import_seeds([folder])
    if edits:
        Article.objects.filter(key="article").update(**edits, version=99)
    expected = Article.objects.with_document().get(key="article").to_document()
    assert expected == dataclasses.replace(document, **edits)
    out = tmp_path_factory.mktemp("out")
    export_seeds(out)
    reset_database()
    import_seeds([out])
    assert Article.objects.with_document().get(key="article").to_document() == expected
