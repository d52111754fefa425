"""Property-based round trips over generated documents, through the real database."""

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation import seedfile
from curation.exporter import export_seeds
from curation.importer import import_seeds
from curation.models import Article, Provider, Tombstone, Topic
from tests.strategies import documents, heat, quality

pytestmark = pytest.mark.django_db

editorial_edits = st.fixed_dictionaries(
    {}, optional={"published": st.booleans(), "quality": quality, "heat": heat}
)

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def reset_database():
    Article.objects.all().delete()
    Tombstone.objects.all().delete()  # a fresh start: the deleted keys may come back
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
