"""The public site, the JSON view, the feeds and the sitemap, through the test client."""

import datetime
import itertools
import json
import re
from html import unescape

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from curation.importer import import_seeds
from curation.models import (
    Article,
    ArticleImage,
    ArticleTopic,
    Provider,
    RelatedItem,
    Topic,
)
from tests.conftest import SAMPLE_SEEDS

pytestmark = pytest.mark.django_db

LIST = reverse("curation:article-list")
JSON = reverse("curation:api-articles")
RSS = reverse("curation:feed-rss")
ATOM = reverse("curation:feed-atom")
SITEMAP = reverse("curation:sitemap")
SECRET = "s3cr3t-blob-never-public"
_counter = itertools.count()
BASE_TIME = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    """Every request computes its page: these tests count the queries of the page itself and
    read its context (the whole-page cache has its own tests in test_front_cache.py)."""
    from curation import views

    monkeypatch.setattr(views, "PAGE_CACHE_SECONDS", 0)
    cache.clear()
    yield
    cache.clear()


def make_article(
    *,
    title: str | None = None,
    published: bool = True,
    topics: tuple[str, ...] = (),
    provider: str | None = "Harbour Gazette",
    images: tuple[str, ...] = (),
    related: tuple[dict, ...] = (),
    hours_ago: int = 0,
    **fields,
) -> Article:
    """One article with its provider, topics, images and related coverage."""
    n = next(_counter)
    fields.setdefault("published_at", BASE_TIME - datetime.timedelta(hours=hours_ago))
    fields.setdefault("web_url", f"https://news.example/story-{n}")
    fields.setdefault("excerpt", f"Excerpt of story {n}.")
    fields.setdefault("secured", SECRET)
    fields.setdefault("source_text", f"source text {SECRET}")
    if provider is not None:
        fields["provider"], _ = Provider.objects.get_or_create(
            name=provider, domain=provider.lower().replace(" ", "") + ".example"
        )
    article = Article.objects.create(title=title or f"Story {n}", published=published, **fields)
    for position, name in enumerate(topics):
        topic, _ = Topic.objects.get_or_create(name=name)
        ArticleTopic.objects.create(article=article, topic=topic, position=position)
    for position, url in enumerate(images):
        ArticleImage.objects.create(
            article=article,
            position=position,
            url=url,
            width=1600,
            height=900,
            title=f"Image {position}",
        )
    for position, item in enumerate(related):
        RelatedItem.objects.create(article=article, position=position, **item)
    return article


def html(response) -> str:
    """The page, without the ``<bdi>`` that isolates each piece of feed text (its own tests are
    in test_trust_public.py), so these tests read the markup around the text."""
    return response.content.decode().replace('<bdi dir="auto">', "").replace("</bdi>", "")


def hrefs_and_srcs(text: str) -> list[str]:
    return [unescape(value) for value in re.findall(r'(?:href|src)="([^"]*)"', text)]


# The list page ------------------------------------------------------------------------------


def test_list_shows_only_published_articles_newest_first(client):
    old = make_article(title="Older published story", hours_ago=5)
    new = make_article(title="Newer published story", hours_ago=1)
    make_article(title="Draft nobody may see", published=False)

    response = client.get(LIST)

    assert response.status_code == 200
    assert list(response.context["article_list"]) == [new, old]
    assert "Draft nobody may see" not in html(response)


def test_list_pages_hold_twenty_five_articles(client):
    for hours in range(30):
        make_article(hours_ago=hours)

    first = client.get(LIST)
    second = client.get(LIST, {"page": 2})

    assert len(first.context["article_list"]) == 25
    assert len(second.context["article_list"]) == 5


def test_list_entry_shows_title_link_provider_time_excerpt_topics_image_and_related_count(client):
    article = make_article(
        title="Ferry goes electric",
        excerpt="Battery ferries from spring.",
        topics=("Transport", "Energy"),
        images=("https://img.example/ferry.jpg", "https://img.example/second.jpg"),
        related=({"title": "Other coverage", "web_url": "https://other.example/a"},) * 1,
        web_url="https://news.example/ferry",
    )
    RelatedItem.objects.create(article=article, position=1, title="More coverage")

    text = html(client.get(LIST))

    assert '<a href="https://news.example/ferry">Ferry goes electric</a>' in text
    assert "Harbour Gazette" in text
    assert re.search(
        r'<time datetime="2025-03-01T12:00:00\+00:00" title="1 March 2025, 12:00 UTC">'
        r"[^<]+ ago</time>",
        text,
    )
    assert "Battery ferries from spring." in text
    assert ">Transport</a>" in text and ">Energy</a>" in text
    image = re.search(r"<img [^>]*>", text).group(0)
    assert 'src="https://img.example/ferry.jpg"' in image
    # The lead story's picture is on the first screen: loaded at once, not lazily.
    assert 'loading="lazy"' not in image and 'width="1600"' in image and 'height="900"' in image
    assert "second.jpg" not in text
    assert "2 related reports" in text
    assert f'href="{article.get_absolute_url()}"' in text


def test_list_title_links_to_our_page_when_the_article_has_no_http_link(client):
    article = make_article(
        title="Odd links", web_url="javascript:alert(1)", original_url="data:text/html,x"
    )

    text = html(client.get(LIST))

    assert f'<a href="{article.get_absolute_url()}">Odd links</a>' in text
    assert not [
        url for url in hrefs_and_srcs(text) if url.lower().startswith(("javascript", "data"))
    ]


def test_list_title_prefers_web_url_then_original_url_then_source_url(client):
    make_article(title="Only source", web_url="", source_url="https://source.example/x")

    assert '<a href="https://source.example/x">Only source</a>' in html(client.get(LIST))


def test_list_shows_sample_seeds_published_articles_only(client):
    import_seeds([SAMPLE_SEEDS], workers=1)
    published = Article.objects.published()

    response = client.get(LIST)

    assert published.count() == 13
    # One card per story (issue 15, point 9): the thirteen make fewer cards, one per story.
    cards = response.context["page_obj"].count
    assert cards == published.one_per_story().count() < 13
    text = html(response)
    for article in Article.objects.filter(published=False):
        assert article.get_absolute_url() not in text


# Filters -----------------------------------------------------------------------------------


def titles(response) -> list[str]:
    return [article.title for article in response.context["article_list"]]


def test_search_filter_finds_words_in_title(client):
    make_article(title="Harbour cranes to be replaced", provider="Other")
    make_article(title="Council budget agreed", provider="Other")

    assert titles(client.get(LIST, {"q": "cranes"})) == ["Harbour cranes to be replaced"]


def test_topic_filter_shows_only_that_topic(client):
    make_article(title="AI story", topics=("AI", "Health"))
    make_article(title="Sport story", topics=("Sport",))

    assert titles(client.get(LIST, {"topic": "AI"})) == ["AI story"]


def test_provider_filter_shows_only_that_provider(client):
    gazette = make_article(title="Gazette story", provider="Harbour Gazette")
    make_article(title="Post story", provider="Meridian Post")

    assert titles(client.get(LIST, {"provider": gazette.provider_id})) == ["Gazette story"]


def test_category_and_type_filters(client):
    make_article(title="Sports video", category="sports", type="video")
    make_article(title="Sports article", category="sports", type="article")
    make_article(title="News video", category="news", type="video")

    assert titles(client.get(LIST, {"category": "sports", "type": "video"})) == ["Sports video"]


def test_date_range_filter_includes_both_ends(client):
    make_article(
        title="Too early", published_at=datetime.datetime(2024, 12, 31, 23, 0, tzinfo=datetime.UTC)
    )
    make_article(
        title="First day", published_at=datetime.datetime(2025, 1, 1, 0, 30, tzinfo=datetime.UTC)
    )
    make_article(
        title="Last day", published_at=datetime.datetime(2025, 1, 31, 23, 0, tzinfo=datetime.UTC)
    )
    make_article(
        title="Too late", published_at=datetime.datetime(2025, 2, 1, 1, 0, tzinfo=datetime.UTC)
    )

    response = client.get(LIST, {"published_after": "2025-01-01", "published_before": "2025-01-31"})

    assert titles(response) == ["Last day", "First day"]


def test_min_quality_filter(client):
    make_article(title="Good", quality=80)
    make_article(title="Poor", quality=10)
    make_article(title="Unrated", quality=None)

    assert titles(client.get(LIST, {"min_quality": 50})) == ["Good"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("newest", ["B new low", "C mid", "A old high"]),
        ("oldest", ["A old high", "C mid", "B new low"]),
        ("quality", ["A old high", "C mid", "B new low"]),
        ("heat", ["B new low", "A old high", "C mid"]),
    ],
)
def test_ordering_choices(client, ordering, expected):
    make_article(title="A old high", hours_ago=30, quality=90, heat=1)
    make_article(title="B new low", hours_ago=1, quality=5, heat=70)
    make_article(title="C mid", hours_ago=10, quality=50, heat=None)

    assert titles(client.get(LIST, {"ordering": ordering})) == expected


def test_newest_first_puts_undated_articles_last_on_every_database(client):
    make_article(title="Undated", published_at=None)
    make_article(title="Dated")

    assert titles(client.get(LIST, {"ordering": "newest"})) == ["Dated", "Undated"]


def test_filter_form_keeps_its_values(client):
    article = make_article(topics=("AI",), category="news", type="article", quality=60)
    query = {
        "q": "Story",
        "topic": "AI",
        "provider": article.provider_id,
        "category": "news",
        "type": "article",
        "published_after": "2025-01-01",
        "published_before": "2025-12-31",
        "min_quality": "40",
        "ordering": "quality",
    }

    text = html(client.get(LIST, query))

    assert 'name="q" value="Story"' in text
    assert '<option value="AI" selected>AI (1)</option>' in text
    assert f'<option value="{article.provider_id}" selected>Harbour Gazette (1)</option>' in text
    assert '<option value="news" selected>' in text
    assert '<option value="article" selected>' in text
    assert 'value="2025-01-01"' in text and 'value="2025-12-31"' in text
    assert 'name="min_quality" value="40"' in text
    assert '<option value="quality" selected>' in text


def test_every_filter_control_has_a_label(client):
    make_article(topics=("AI",))

    text = html(client.get(LIST))

    ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', text)
    assert len(ids) == 9
    for control_id in ids:
        assert f'<label for="{control_id}">' in text


def test_facet_counts_count_published_articles_only(client):
    make_article(topics=("AI",), provider="Gazette")
    make_article(topics=("AI",), provider="Gazette")
    make_article(topics=("AI", "Secret topic"), provider="Hidden Outlet", published=False)

    text = html(client.get(LIST))

    assert '<option value="AI">AI (2)</option>' in text
    assert "Gazette (2)" in text
    assert "Secret topic" not in text
    assert "Hidden Outlet" not in text


def test_facet_counts_are_cached_until_published_articles_change(client, django_assert_num_queries):
    make_article(topics=("AI",))
    client.get(LIST)

    # Warm: the publication version, the page's ids (its dated and undated zones), its rows,
    # two prefetches and Last-Modified; no facet queries, no count (cached under the version).
    with django_assert_num_queries(6):
        client.get(LIST)

    make_article(topics=("AI",))
    assert '<option value="AI">AI (2)</option>' in html(client.get(LIST))


def test_a_topic_with_only_unpublished_articles_cannot_be_filtered_on(client):
    make_article(title="Draft", topics=("Embargoed",), published=False)

    response = client.get(LIST, {"topic": "Embargoed"})

    assert response.status_code == 400
    assert "Draft" not in html(response)


def test_empty_result_says_so_and_offers_a_reset_link(client):
    make_article(title="Council budget agreed", quality=10)

    response = client.get(LIST, {"min_quality": 99})

    assert response.status_code == 200
    text = html(response)
    assert "No stories match these filters" in text
    assert f'<a href="{LIST}">reset all filters</a>' in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"min_quality": "abc"}, "Enter a number."),
        ({"topic": "No such topic"}, "Select a valid choice."),
        ({"provider": "abc"}, "Select a valid choice."),
        ({"category": "nope"}, "Select a valid choice."),
        ({"ordering": "random"}, "Select a valid choice."),
        ({"published_after": "yesterday"}, "Enter a valid date."),
        ({"page": "99999"}, "There is no page 99999"),
        ({"page": "abc"}, "is not a page number"),
        ({"page": "0"}, "There is no page 0"),
    ],
)
def test_bad_values_give_a_clear_400_page(client, query, message):
    make_article(title="Visible story", topics=("AI",))

    response = client.get(LIST, query)

    assert response.status_code == 400
    text = html(response)
    assert message in text
    assert "use this address" in text
    assert "Visible story" not in text
    assert f'href="{LIST}"' in text


@pytest.mark.parametrize(
    "query",
    [
        {"min_quality": "1e400"},
        {"min_quality": "99999999999999999999999"},
        {"min_quality": "NaN"},
        {"page": "1" + "0" * 30},
        {"published_after": "9999-12-31"},
        {"published_before": "0001-01-01"},
        {"q": "nul\x00byte"},
        {"q": "x" * 5000},
        {"topic": "AI' OR 1=1 --"},
    ],
)
@pytest.mark.parametrize("url", [LIST, JSON, RSS])
def test_extreme_values_never_cause_a_server_error(client, query, url):
    make_article(topics=("AI",), quality=50)

    assert client.get(url, query).status_code in (200, 400)


def test_pagination_links_keep_the_filters(client):
    for hours in range(30):
        make_article(hours_ago=hours, topics=("AI",), quality=70)

    text = html(client.get(LIST, {"topic": "AI", "min_quality": "50"}))
    next_link = unescape(re.search(r'rel="next" href="([^"]+)"', text).group(1))

    assert re.fullmatch(r"\?topic=AI&min_quality=50&after=[\w-]+", next_link)
    second = client.get(LIST + next_link)
    assert len(second.context["article_list"]) == 5
    previous = unescape(re.search(r'rel="prev" href="([^"]+)"', html(second)).group(1))
    assert re.fullmatch(r"\?topic=AI&min_quality=50&before=[\w-]+", previous)
    first_again = client.get(LIST + previous)
    assert titles(first_again) == titles(client.get(LIST, {"topic": "AI", "min_quality": "50"}))
    assert 'rel="prev"' not in html(first_again)


def test_list_query_count_does_not_depend_on_page_size(client, django_assert_num_queries):
    def make_rich(count):
        for _ in range(count):
            make_article(
                topics=("AI", "Health"),
                images=("https://img.example/a.jpg", "https://img.example/b.jpg"),
                related=({"title": "x"}, {"title": "y"}),
            )

    make_rich(5)
    # Right after a write: the publication moments (two: what every write moves, then the
    # schedule's moments read again), 4 facet queries (no categories or types to count), the bounded
    # count, the page's ids (dated zone, then the undated one when the dated rows run out), its
    # rows, topics, images and the "also reported by" of one card per story; Last-Modified comes
    # with the publication version.
    with django_assert_num_queries(12):
        assert len(client.get(LIST).context["article_list"]) == 5
    make_rich(25)
    cache.clear()
    with django_assert_num_queries(12):  # 26 dated rows fill the page: no undated zone
        assert len(client.get(LIST).context["article_list"]) == 25


def test_page_has_landmarks_skip_link_and_stylesheet(client):
    text = html(client.get(LIST))

    for landmark in ("<header", "<nav", '<main id="content"', "<footer"):
        assert landmark in text
    assert '<a class="skip-link" href="#content">' in text
    assert '<html lang="en">' in text
    assert 'href="/static/css/site.css"' in text
    assert 'rel="alternate" type="application/rss+xml"' in text


# The detail page ---------------------------------------------------------------------------


def test_detail_page_shows_a_published_article(client):
    article = make_article(
        title="Ferry goes electric",
        topics=("Transport",),
        images=(
            "https://img.example/one.jpg",
            "https://img.example/two.jpg",
            "javascript:alert(1)",
        ),
        original_url="https://news.example/ferry?src=feed",
        source_url="ftp://files.example/ferry",
        body="First paragraph.\n\nSecond paragraph.",
    )

    response = client.get(article.get_absolute_url())

    assert response.status_code == 200
    text = html(response)
    assert "<h1" in text and "Ferry goes electric" in text
    assert 'src="https://img.example/one.jpg"' in text
    assert 'src="https://img.example/two.jpg"' in text
    assert f'href="{article.web_url}"' in text
    assert 'href="https://news.example/ferry?src=feed"' in text
    assert "ftp://" not in text
    assert "<p>Second paragraph.</p>" in text
    assert SECRET not in text


@pytest.mark.parametrize("published", [False])
def test_detail_page_of_an_unpublished_article_is_404(client, published):
    article = make_article(title="Embargoed story", published=published)

    response = client.get(article.get_absolute_url())

    assert response.status_code == 404
    assert "Embargoed story" not in html(response)
    assert "find that page" in html(response)


def test_detail_page_of_an_unknown_key_is_404(client):
    response = client.get(reverse("curation:article-detail", kwargs={"key": "nope"}))

    assert response.status_code == 404


def test_related_coverage_is_in_order_and_links_our_own_published_pages(client):
    ours = make_article(title="Our own story", web_url="https://ours.example/a")
    hidden = make_article(
        title="Hidden draft", original_url="https://ours.example/b", published=False
    )
    article = make_article(
        title="Main story",
        related=(
            {"title": "Third party piece", "web_url": "https://other.example/x"},
            {"title": "Also ours", "web_url": "https://ours.example/a"},
            {"title": "Matches a draft", "original_url": "https://ours.example/b"},
            {"title": "Unsafe link", "web_url": "javascript:alert(1)"},
        ),
    )

    text = html(client.get(article.get_absolute_url()))

    positions = [
        text.index(title)
        for title in ("Third party piece", "Also ours", "Matches a draft", "Unsafe link")
    ]
    assert positions == sorted(positions)
    assert f'<a href="{ours.get_absolute_url()}">Also ours</a>' in text
    assert '<a href="https://other.example/x">Third party piece</a>' in text
    assert '<a href="https://ours.example/b">Matches a draft</a>' in text
    assert hidden.get_absolute_url() not in text
    assert "javascript:" not in text


def test_detail_query_count_does_not_depend_on_related_coverage(client, django_assert_num_queries):
    small = make_article(related=({"title": "one", "web_url": "https://o.example/1"},))
    big = make_article(
        related=tuple({"title": f"r{i}", "web_url": f"https://o.example/{i}"} for i in range(20)),
        topics=("AI", "Health"),
        images=("https://img.example/a.jpg",) * 3,
    )
    for i in range(5):
        make_article(web_url=f"https://o.example/{i}")

    client.get(small.get_absolute_url())  # the navigation's main topics, cached from here on
    # The article, topics, images, related coverage, the matching of related URLs and the
    # publication's moments (Last-Modified, the next boundary).
    with django_assert_num_queries(6):
        client.get(small.get_absolute_url())
    with django_assert_num_queries(6):
        client.get(big.get_absolute_url())


# JSON --------------------------------------------------------------------------------------


def test_json_lists_published_articles_with_every_public_field(client):
    article = make_article(
        title="Ferry goes electric",
        topics=("Transport",),
        images=("https://img.example/one.jpg",),
        related=(
            {
                "title": "Other coverage",
                "web_url": "https://other.example/a",
                "images": [
                    {
                        "url": "https://img.other/x.jpg",
                        "width": 10,
                        "height": 5,
                        "extra": [["k", "v"]],
                    },
                    {"url": "javascript:alert(1)"},
                ],
            },
        ),
        category="news",
        type="article",
        quality=70,
        heat=3,
        body="Body text.",
        amp_url="javascript:alert(1)",
    )
    make_article(title="Unpublished", published=False)

    response = client.get(JSON)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["count"] == 1 and data["count_exact"] is True and data["page"] == 1
    assert data["next"] is None and data["previous"] is None
    (item,) = data["results"]
    assert item["key"] == article.key
    assert item["url"] == "http://testserver" + article.get_absolute_url()
    assert item["title"] == "Ferry goes electric"
    assert item["link"] == article.web_url
    assert item["amp_url"] == ""
    assert item["published_at"] == "2025-03-01T12:00:00Z"
    assert item["provider"] == {"name": "Harbour Gazette", "domain": "harbourgazette.example"}
    assert item["topics"] == ["Transport"]
    assert item["images"][0]["url"] == "https://img.example/one.jpg"
    assert (item["category"], item["type"], item["quality"], item["heat"]) == (
        "news",
        "article",
        70,
        3,
    )
    assert item["body"] == "Body text."
    assert item["related_count"] == 1
    assert item["related"][0]["title"] == "Other coverage"
    assert item["related"][0]["images"] == [
        {
            "url": "https://img.other/x.jpg",
            "width": 10,
            "height": 5,
            "title": None,
            "is_cached": None,
            "attribution": None,
        }
    ]
    text = html(response)
    for hidden in ("secured", "source_text", SECRET, '"extra"', "Unpublished"):
        assert hidden not in text


def test_json_uses_the_same_filters_and_pages_as_the_list(client):
    for hours in range(30):
        make_article(hours_ago=hours, topics=("AI",))
    make_article(topics=("Sport",))

    data = client.get(JSON, {"topic": "AI"}).json()

    assert data["count"] == 30 and len(data["results"]) == 25 and data["previous"] is None
    assert re.fullmatch(r"http://testserver/api/articles/\?topic=AI&after=[\w-]+", data["next"])
    second = client.get(data["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None and second["page"] is None
    assert re.fullmatch(
        r"http://testserver/api/articles/\?topic=AI&before=[\w-]+", second["previous"]
    )
    assert client.get(second["previous"]).json()["results"] == data["results"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"min_quality": "abc"}, "min_quality"),
        ({"topic": "nope"}, "topic"),
        ({"page": "99999"}, "page"),
        ({"page": "x"}, "page"),
    ],
)
def test_json_bad_values_are_400_with_errors(client, query, field):
    make_article(topics=("AI",))

    response = client.get(JSON, query)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_json_query_count_does_not_depend_on_page_size(client, django_assert_num_queries):
    def make_rich(count):
        for _ in range(count):
            make_article(
                topics=("AI",), images=("https://img.example/a.jpg",), related=({"title": "x"},)
            )

    make_rich(5)
    # Right after a write: the publication moments (two: what every write moves, then the
    # schedule's moments read again), 4 facet queries, the bounded count, the page's ids (two zones),
    # its rows, topics, images, related coverage and Last-Modified.
    with django_assert_num_queries(13):
        assert len(client.get(JSON).json()["results"]) == 5
    make_rich(25)
    cache.clear()
    with django_assert_num_queries(13):
        assert len(client.get(JSON).json()["results"]) == 25


# Feeds and sitemap -------------------------------------------------------------------------


@pytest.mark.parametrize("feed", [RSS, ATOM])
def test_feeds_list_filtered_published_articles(client, feed):
    make_article(title="AI story", topics=("AI",))
    make_article(title="Sport story", topics=("Sport",))
    make_article(title="Draft AI story", topics=("AI",), published=False)

    response = client.get(feed, {"topic": "AI"})

    assert response.status_code == 200
    text = html(response)
    assert "AI story" in text
    assert "Sport story" not in text
    assert "Draft AI story" not in text
    assert "topic: AI" in text


def test_rss_items_link_to_our_pages(client):
    article = make_article(title="AI story")

    text = html(client.get(RSS))

    assert f"<link>http://testserver{article.get_absolute_url()}</link>" in text
    assert "<pubDate>Sat, 01 Mar 2025 12:00:00 +0000</pubDate>" in text


@pytest.mark.parametrize("feed", [RSS, ATOM])
def test_feeds_reject_bad_filters_with_400(client, feed):
    response = client.get(feed, {"min_quality": "abc"})

    assert response.status_code == 400
    assert "min_quality" in html(response)


@pytest.mark.parametrize("feed", [RSS, ATOM])
def test_feed_query_count_does_not_depend_on_size(client, feed, django_assert_num_queries):
    for _ in range(3):
        make_article(topics=("AI", "Health"))
    # Right after a write: the publication moments (two: what every write moves, then the
    # schedule's moments read again), 4 facet queries, the items' ids (dated and undated zones), the
    # items, their topics and Last-Modified: no count, no offset.
    with django_assert_num_queries(10):
        client.get(feed)
    for _ in range(20):
        make_article(topics=("AI", "Health"))
    cache.clear()
    with django_assert_num_queries(10):
        client.get(feed)


def test_sitemap_lists_published_article_pages_only(client):
    shown = make_article(title="Shown")
    hidden = make_article(title="Hidden", published=False)

    response = client.get(SITEMAP)

    assert response.status_code == 200
    text = html(response)
    assert f"<loc>http://testserver{shown.get_absolute_url()}</loc>" in text
    assert hidden.get_absolute_url() not in text
    assert "<lastmod>" in text


# Unpublished means invisible ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        LIST,
        LIST + "?q=merger",
        LIST + "?q=secret",
        JSON,
        JSON + "?q=merger",
        RSS,
        ATOM,
        ATOM + "?q=merger",
        SITEMAP,
    ],
)
def test_unpublished_article_and_secured_blob_never_appear(client, url):
    make_article(title="Published neighbour", topics=("AI",))
    hidden = make_article(
        title="Embargoed merger story",
        topics=("Confidential topic",),
        provider="Secret Source",
        published=False,
    )

    response = client.get(url)

    assert response.status_code == 200
    text = html(response)
    for needle in (
        "Embargoed",
        "Confidential topic",
        "Secret Source",
        hidden.key,
        SECRET,
        "secured",
    ):
        assert needle not in text


def test_search_never_finds_unpublished_articles(client):
    make_article(title="Embargoed merger story", published=False)

    response = client.get(LIST, {"q": "merger"})

    assert titles(response) == []
    assert "No stories match these filters" in html(response)


# Output safety -----------------------------------------------------------------------------


HOSTILE_TITLE = '<script>alert("t")</script> Hostile'
HOSTILE_EXCERPT = '<img src=x onerror=alert("e")> excerpt'


@pytest.fixture
def hostile(db):
    return make_article(
        title=HOSTILE_TITLE,
        excerpt=HOSTILE_EXCERPT,
        topics=("<b>topic</b>",),
        web_url="javascript:alert(1)",
        original_url="JaVaScRiPt:alert(2)",
        source_url="data:text/html;base64,PHNjcmlwdD4=",
        images=("javascript:alert(3)", "data:image/png;base64,AAAA"),
        related=(
            {
                "title": "<script>bad()</script>",
                "web_url": "javascript:alert(4)",
                "images": [{"url": "data:image/png;base64,AAAA"}],
            },
        ),
    )


@pytest.mark.parametrize("where", ["list", "detail"])
def test_imported_html_shows_as_text_and_unsafe_urls_never_become_links(client, hostile, where):
    url = LIST if where == "list" else hostile.get_absolute_url()

    text = html(client.get(url))

    assert "<script>" not in text
    assert "<img src=x" not in text
    assert "<b>topic</b>" not in text
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; Hostile" in text
    assert not [
        u for u in hrefs_and_srcs(text) if u.strip().lower().startswith(("javascript", "data"))
    ]


@pytest.mark.parametrize("feed", [RSS, ATOM])
def test_feeds_escape_imported_html(client, hostile, feed):
    text = html(client.get(feed))

    assert "<script>" not in text
    assert "&lt;script&gt;" in text  # the title: XML-escaped text
    # The description is HTML to feed readers, so it is escaped once more.
    assert "&amp;lt;img src=x" in text
    assert "javascript:" not in text.lower()


def test_json_blanks_unsafe_urls(client, hostile):
    data = client.get(JSON).json()

    item = data["results"][0]
    assert item["title"] == HOSTILE_TITLE
    assert item["link"] == item["web_url"] == item["original_url"] == item["source_url"] == ""
    assert item["images"] == []
    assert item["related"][0]["link"] == "" and item["related"][0]["images"] == []
    assert "javascript" not in json.dumps(data).lower()
    raw = html(client.get(JSON))
    assert "<" not in raw and ">" not in raw
    assert "\\u003cscript\\u003e" in raw


# Conditional GET ---------------------------------------------------------------------------


def backdate_changes() -> None:
    """As if every change so far had been made an hour ago: a Last-Modified is only sent once
    its second is over (curation.views.public_condition)."""
    from curation.models import PublicState

    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    Article.objects.update(updated_at=an_hour_ago)
    PublicState.objects.update(changed_at=an_hour_ago)


@pytest.mark.parametrize("url", [LIST, JSON, RSS, ATOM])
def test_etag_and_last_modified_allow_304_until_published_articles_change(client, url):
    article = make_article(title="First")
    make_article(title="Draft", published=False)
    backdate_changes()

    first = client.get(url)
    assert first.status_code == 200
    assert first["ETag"] and first["Last-Modified"]

    repeat = client.get(url, headers={"if-none-match": first["ETag"]})
    assert repeat.status_code == 304

    Article.objects.filter(published=False).update(title="Edited draft", updated_at=timezone.now())
    assert client.get(url, headers={"if-none-match": first["ETag"]}).status_code == 304

    article.title = "Edited"
    article.save()
    changed = client.get(url, headers={"if-none-match": first["ETag"]})
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]


def test_etag_differs_between_filters(client):
    make_article(topics=("AI",))

    assert client.get(LIST)["ETag"] != client.get(LIST, {"topic": "AI"})["ETag"]


def test_last_modified_ignores_unpublished_edits(client):
    make_article(title="Shown")
    draft = make_article(title="Draft", published=False)
    backdate_changes()
    before = client.get(LIST)["Last-Modified"]

    draft.title = "Edited draft"
    draft.save()

    assert client.get(LIST)["Last-Modified"] == before


# Keyset pagination, bounded counts, capped facets ---------------------------------------------


def _walk(client, url, query, rel):
    """Every page from ``url`` on, following the ``rel`` links: a list of pages of keys."""
    pages = []
    response = client.get(url, query)
    while True:
        assert response.status_code == 200
        pages.append([article.key for article in response.context["article_list"]])
        found = re.search(rf'rel="{rel}" href="([^"]+)"', html(response))
        if not found:
            return pages
        response = client.get(LIST + unescape(found.group(1)))


@pytest.fixture
def mixed_articles(db):
    """60 published articles with ties and NULLs in every sort key, and drafts among them."""
    for n in range(60):
        make_article(
            published_at=None if n % 7 == 0 else BASE_TIME - datetime.timedelta(hours=n % 9),
            quality=None if n % 5 == 0 else n % 4,
            heat=None if n % 3 == 0 else n % 2,
            published=n % 11 != 5,
        )


@pytest.mark.parametrize("ordering", ["newest", "oldest", "quality", "heat"])
def test_older_and_newer_links_walk_every_ordering_with_nulls_exactly_once(
    client, mixed_articles, ordering
):
    from curation.filters import ORDERINGS, order_by

    expected = list(
        Article.objects.published()
        .order_by(*order_by(ORDERINGS[ordering]))
        .values_list("key", flat=True)
    )

    forward = _walk(client, LIST, {"ordering": ordering}, "next")

    assert [len(page) for page in forward] == [25, 25, len(expected) - 50]
    assert [key for page in forward for key in page] == expected
    # And back again from the last page, through the "newer" links.
    last = client.get(LIST, {"ordering": ordering})
    for _ in range(2):
        found = re.search(r'rel="next" href="([^"]+)"', html(last)).group(1)
        last = client.get(LIST + unescape(found))
    back = _walk(
        client,
        LIST + unescape(re.search(r'rel="prev" href="([^"]+)"', html(last)).group(1)),
        {},
        "prev",
    )
    assert back == forward[-2::-1]


def test_json_next_links_walk_the_same_order_as_the_list(client, mixed_articles):
    keys, url = [], JSON + "?ordering=quality"
    while url:
        data = client.get(url).json()
        keys += [item["key"] for item in data["results"]]
        url = data["next"]

    assert keys == [
        key for page in _walk(client, LIST, {"ordering": "quality"}, "next") for key in page
    ]


def test_a_deep_page_costs_the_same_queries_as_the_first(client, django_assert_num_queries):
    for hours in range(110):
        make_article(hours_ago=hours, topics=("AI",), images=("https://img.example/a.jpg",))
    client.get(LIST)  # facets and count now cached
    # The version, the page's ids (its dated zone fills it), its rows, topics, images and
    # Last-Modified; a page after a cursor also maps the cursor's article key to its id.
    with django_assert_num_queries(6) as first:
        text = html(client.get(LIST))
    with django_assert_num_queries(6) as second:
        text = html(client.get(LIST + _next_link(text)))
    text = html(client.get(LIST + _next_link(text)))

    with django_assert_num_queries(6) as deep:
        assert len(client.get(LIST + _next_link(text)).context["article_list"]) == 25
    queries = first.captured_queries + second.captured_queries + deep.captured_queries
    assert not [q for q in queries if "OFFSET" in q["sql"]]


def _next_link(text: str) -> str:
    return unescape(re.search(r'rel="next" href="([^"]+)"', text).group(1))


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        "e30",  # {}
        "WyJuZXdlc3QiXQ",  # ["newest"]: too short
        "WyJvbGRlc3QiLCIyMDI1LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwxXQ",  # another ordering's cursor
        "WyJuZXdlc3QiLCJub3QgYSBkYXRlIiwxXQ",  # ["newest","not a date",1]
        "WyJuZXdlc3QiLCIyMDI1LTAxLTAxVDAwOjAwOjAwIiwxXQ",  # a naive datetime
        "WyJuZXdlc3QiLG51bGwsIjEiXQ",  # ["newest",null,"1"]: id is a string
        "WyJuZXdlc3QiLG51bGwsMWU5OTld",  # ["newest",null,1e999]
        "WyJuZXdlc3QiLG51bGwsOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ",  # id beyond 64 bits
        "A" * 5000,
    ],
)
@pytest.mark.parametrize("param", ["after", "before"])
def test_a_bad_cursor_is_a_clear_400_not_a_server_error(client, cursor, param):
    make_article(title="Visible story")

    page = client.get(LIST, {param: cursor})
    data = client.get(JSON, {param: cursor})

    assert page.status_code == 400 and "link to more stories" in html(page)
    assert "Visible story" not in html(page)
    assert data.status_code == 400 and param in data.json()["errors"]


@pytest.mark.parametrize(
    "values",
    [
        ["newest", "0001-01-01T00:00:00+05:00", 1],
        ["newest", "9999-12-31T23:59:59-05:00", 1],
        ["oldest", "9999-12-31T23:59:59.999999+00:00", 2**62],
        ["quality", 2**62, None, -(2**62)],
        ["heat", -(2**63), "2025-01-01T00:00:00+00:00", 0],
        ["heat", None, None, 2**63 - 1],
    ],
)
@pytest.mark.parametrize("param", ["after", "before"])
def test_extreme_cursor_values_never_cause_a_server_error(client, values, param):
    from curation.pagination import sign_cursor

    article = make_article(quality=5, heat=None)
    # Signed by the site, so the values reach the query; the id's place holds the article key.
    cursor = sign_cursor([*values[:-1], article.key])
    query = {"ordering": values[0], param: cursor}

    assert client.get(LIST, query).status_code in (200, 400)
    assert client.get(JSON, query).status_code in (200, 400)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"page": "41"}, "pages are numbered up to 40"),
        ({"page": "3"}, "There is no page 3"),
        ({"page": "2", "after": "x"}, "only one of page, after and before"),
    ],
)
def test_numbered_pages_stop_at_forty(client, query, message):
    for hours in range(30):
        make_article(hours_ago=hours)

    response = client.get(LIST, query)

    assert response.status_code == 400 and message in html(response)


def test_page_two_by_number_still_works_and_links_on_by_cursor(client):
    for hours in range(60):
        make_article(hours_ago=hours)
    by_cursor = _walk(client, LIST, {}, "next")

    second = client.get(LIST, {"page": 2})

    assert titles(second) == [Article.objects.get(key=key).title for key in by_cursor[1]]
    assert "page 2" in html(second)
    following = re.search(r'rel="next" href="([^"]+)"', html(second)).group(1)
    assert [
        a.key for a in client.get(LIST + unescape(following)).context["article_list"]
    ] == by_cursor[2]


def test_counts_stop_at_the_cap(client, monkeypatch):
    from curation import pagination

    monkeypatch.setattr(pagination, "RESULT_COUNT_CAP", 3)
    for hours in range(4):
        make_article(hours_ago=hours)

    assert "More than 3 stories" in html(client.get(LIST))
    data = client.get(JSON).json()
    assert data["count"] == 3 and data["count_exact"] is False


def test_facet_counts_stop_at_the_cap(client, monkeypatch):
    from curation import filters

    monkeypatch.setattr(filters, "FACET_COUNT_CAP", 2)
    for _ in range(3):
        make_article(topics=("AI",), category="news")
    make_article(topics=("Sport",), category="sports")

    text = html(client.get(LIST))

    assert '<option value="AI">AI (2+)</option>' in text
    assert '<option value="Sport">Sport (1)</option>' in text
    assert '<option value="news">news (2+)</option>' in text
    assert '<option value="sports">sports (1)</option>' in text


def test_unpublishing_takes_an_article_out_of_the_facets_at_once(client):
    make_article(topics=("AI",), category="news")
    hidden = make_article(topics=("AI", "Embargo"), category="leaks")
    assert '<option value="Embargo">Embargo (1)</option>' in html(client.get(LIST))

    # As the editorial actions do: the flag and updated_at together.
    Article.objects.filter(pk=hidden.pk).update(published=False, updated_at=timezone.now())

    text = html(client.get(LIST))
    assert '<option value="AI">AI (1)</option>' in text
    assert "Embargo" not in text and "leaks" not in text
    assert "1 story" in text


def test_date_filter_uses_whole_days_in_the_site_time_zone(client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    make_article(
        title="Late on the 1st in UTC",
        published_at=datetime.datetime(2025, 1, 1, 23, 30, tzinfo=datetime.UTC),
    )
    make_article(
        title="Late on the 31st in UTC, 1st in Berlin",
        published_at=datetime.datetime(2024, 12, 31, 23, 30, tzinfo=datetime.UTC),
    )

    # 2025-01-01 23:30 UTC is 2 January in Berlin; 2024-12-31 23:30 UTC is 1 January.
    response = client.get(LIST, {"published_after": "2025-01-01", "published_before": "2025-01-01"})

    assert titles(response) == ["Late on the 31st in UTC, 1st in Berlin"]
