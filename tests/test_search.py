"""ArticleQuerySet.search: full-text over title and excerpt (FTS5 / tsvector), plus provider name.

Runs on whichever database the suite runs on; CI runs it on SQLite and on PostgreSQL.
"""

import itertools

import pytest

from curation.importer import import_seeds
from curation.models import Article, Provider

pytestmark = pytest.mark.django_db
_keys = itertools.count()


def article(title: str, excerpt: str = "", *, published: bool = True, provider=None) -> Article:
    return Article.objects.create(
        key=f"search_{next(_keys)}",
        title=title,
        excerpt=excerpt,
        published=published,
        provider=provider,
    )


def found(text: str, queryset=None) -> set[str]:
    queryset = Article.objects.all() if queryset is None else queryset
    return set(queryset.search(text).values_list("title", flat=True))


def test_search_finds_a_word_of_the_title_or_the_excerpt():
    article("Harbour bridge reopens", "Traffic flows again after repairs.")
    article("Council budget agreed", "The harbour levy stays.")
    article("Cricket season opens", "Rain stops play.")
    assert found("harbour") == {"Harbour bridge reopens", "Council budget agreed"}
    assert found("repairs") == {"Harbour bridge reopens"}


def test_search_needs_every_word_and_matches_word_beginnings():
    article("Facial recognition cameras in Stratford")
    article("Recognition for local nurses")
    assert found("facial recognition") == {"Facial recognition cameras in Stratford"}
    assert found("recog") == {
        "Facial recognition cameras in Stratford",
        "Recognition for local nurses",
    }
    assert found("RECOGNITION NURSES") == {"Recognition for local nurses"}


def test_search_that_matches_nothing_returns_nothing():
    article("Harbour bridge reopens", "Traffic flows again.")
    assert found("xylophone") == set()
    assert found("harbour xylophone") == set()


def test_search_matches_the_provider_name():
    gazette = Provider.objects.create(name="Harbour Gazette", domain="gazette.example")
    article("Council budget agreed", provider=gazette)
    article("Cricket season opens")
    assert found("Gazette") == {"Council budget agreed"}
    assert found("bour gaz") == {"Council budget agreed"}  # a part of the name, as before


def test_search_finds_non_ascii_words():
    article("Tram line to Zürich opens", "Fahrgäste feiern; 東京 next.")
    assert found("Zürich") == {"Tram line to Zürich opens"}
    assert found("東京") == {"Tram line to Zürich opens"}


def test_search_follows_an_edit_of_the_title():
    story = article("Harbour bridge reopens")
    story.title = "Ferry service resumes"
    story.save()
    assert found("harbour") == set()
    assert found("ferry") == {"Ferry service resumes"}
    Article.objects.filter(pk=story.pk).update(excerpt="Harbour quiet for a day.")
    assert found("harbour") == {"Ferry service resumes"}


def test_search_forgets_a_deleted_article():
    story = article("Harbour bridge reopens")
    story.delete()
    article("Harbour festival")
    assert found("harbour") == {"Harbour festival"}


def test_search_chained_with_published_never_returns_an_unpublished_article():
    article("Harbour bridge reopens", published=True)
    article("Harbour secret draft", published=False)
    assert found("harbour", Article.objects.published()) == {"Harbour bridge reopens"}
    assert set(Article.objects.search("harbour").published().values_list("title", flat=True)) == {
        "Harbour bridge reopens"
    }


def test_imported_articles_are_searchable(real_seeds_dir):
    import_seeds([real_seeds_dir])
    titles = found("facial recognition")
    assert "Met Police begins deploying live facial recognition cameras in Stratford" in titles


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "'",
        'harbour"',
        "NEAR(a b)",
        "a OR b",
        "-harbour",
        "harbour*",
        "(",
        "a:b",
        "!&|",
        "\u2013",
    ],
)
def test_search_syntax_in_the_text_is_never_an_error(text):
    article("Harbour bridge reopens")
    Article.objects.search(text).count()


def test_empty_search_filters_nothing():
    article("Harbour bridge reopens")
    article("Cricket season opens")
    assert Article.objects.search("  ").count() == 2


def test_a_single_letter_is_a_whole_word_not_every_word_it_begins():
    article("B roads closed by snow")
    article("Bridge reopens")
    assert found("b") == {"B roads closed by snow"}
    assert found("b roads") == {"B roads closed by snow"}


@pytest.mark.parametrize("probe_limit", [0, 5000])
def test_common_and_rare_terms_find_the_same_articles(monkeypatch, probe_limit):
    """A term with more matches than the probe limit is tested row by row (PostgreSQL: as a
    predicate; SQLite: against the match list, without the rowid lookup), a rarer one from its
    matches; both must mean the same thing (and stay chainable)."""
    from curation import models

    monkeypatch.setattr(models, "SEARCH_PROBE_LIMIT", probe_limit)
    gazette = Provider.objects.create(name="Harbour Gazette", domain="gazette.example")
    article("Harbour bridge reopens", "Traffic flows again.")
    article("Harbour levy stays", "Council agrees.", published=False)
    article("Cricket season opens", "Rain stops play.", provider=gazette)
    article("Budget agreed", "Nothing about the sea.")
    assert found("harbour") == {
        "Harbour bridge reopens",
        "Harbour levy stays",
        "Cricket season opens",
    }
    assert found("harbour", Article.objects.published()) == {
        "Harbour bridge reopens",
        "Cricket season opens",
    }
    assert found("harb brid") == {"Harbour bridge reopens"}
    assert found("xylophone") == set()
