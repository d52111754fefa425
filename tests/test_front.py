"""The front page (issue 15): Top stories, pins, schedules without cron, sections, and what
readers expect. The clock moves by patching ``django.utils.timezone.now``, never by sleeping."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from curation import feeds, filters, pagination, views
from curation.editorial import apply_editorial_changes
from curation.importer import import_seeds
from curation.models import (
    RANK_HEAT_SECONDS,
    RANK_INPUTS,
    RANK_QUALITY_SECONDS,
    Article,
    ArticleChange,
    ArticleTopic,
    Provider,
    Topic,
    rank_for,
)

pytestmark = pytest.mark.django_db

LIST = reverse("curation:article-list")
JSON = reverse("curation:api-articles")
RSS = reverse("curation:feed-rss")
NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    """The site's clock at NOW; ``move(hours=...)`` moves it on."""
    moment = {"now": NOW}
    monkeypatch.setattr(timezone, "now", lambda: moment["now"])
    # With the clock stopped, two tests' writes carry the same times: forget the moments read.
    filters._DERIVED.clear()
    cache.clear()
    yield moment
    cache.clear()


def move(clock, **delta) -> None:
    clock["now"] = clock["now"] + datetime.timedelta(**delta)


_serial = iter(range(10**6))


def story(title: str | None = None, *, hours_ago: float = 1, topics=(), provider=None, **fields):
    n = next(_serial)
    fields.setdefault("published", True)
    fields.setdefault("published_at", NOW - datetime.timedelta(hours=hours_ago))
    if provider is not None:
        fields["provider"], _ = Provider.objects.get_or_create(name=provider, domain="")
    article = Article.objects.create(
        title=title or f"Story {n}", web_url=f"https://news.example/{n}", **fields
    )
    for position, name in enumerate(topics):
        topic, _ = Topic.objects.get_or_create(name=name)
        ArticleTopic.objects.create(article=article, topic=topic, position=position)
    return article


def titles(response) -> list[str]:
    text = unescape(response.content.decode())
    return re.findall(r'class="card__title"[^>]*><a [^>]*>(?:<bdi dir="auto">)?([^<]+)<', text)


def heading(response) -> str:
    text = unescape(response.content.decode())
    return re.sub(r"<[^>]+>", "", re.search(r"<h1 [^>]*>(.*?)</h1>", text).group(1))


# 1. Top stories -------------------------------------------------------------------------------


def test_rank_is_the_reference_time_plus_the_editors_head_start():
    published_at = NOW - datetime.timedelta(hours=3)
    assert rank_for(published_at, NOW, 10, 20) == (
        int(published_at.timestamp()) + 20 * RANK_HEAT_SECONDS + 10 * RANK_QUALITY_SECONDS
    )
    # A feed date in the future counts from our arrival: it cannot jump the queue.
    assert rank_for(NOW + datetime.timedelta(days=30), NOW, None, None) == int(NOW.timestamp())
    assert rank_for(None, NOW, None, None) == int(NOW.timestamp())


def _assert_ranks_right() -> None:
    for article in Article.objects.all():
        assert article.rank == rank_for(*(getattr(article, name) for name in RANK_INPUTS)), article


def test_every_writer_keeps_the_stored_rank_right(tmp_path, editor_client):
    made = story(heat=5)  # save()
    _assert_ranks_right()
    seed = tmp_path / "ranked.txt"
    seed.write_text("---\ntitle: Ranked\nheat: 40\nquality: 7\npublished: true\n---\nBody.\n")
    assert import_seeds([seed]).ok  # the importer's own INSERT
    seed.write_text("---\ntitle: Ranked\nheat: 90\npublished: true\n---\nBody.\n")
    assert import_seeds([seed]).ok  # the importer's bulk_update
    assert Article.objects.get(key="ranked").heat == 90
    _assert_ranks_right()
    apply_editorial_changes(made, {"heat": 80}, user=None, via="form")  # one article
    assert made.rank == rank_for(made.published_at, made.created_at, None, 80)
    apply_editorial_changes(Article.objects.all(), {"quality": 300}, user=None, via="action")
    _assert_ranks_right()
    made.published_at = NOW - datetime.timedelta(days=3)
    made.save(update_fields=["published_at"])
    _assert_ranks_right()


def test_the_migration_ranks_existing_rows_as_rank_for_does():
    from importlib import import_module

    migration = import_module("curation.migrations.0011_front_page")
    story(heat=30, quality=12, hours_ago=5)
    story(published_at=None)
    story(published_at=NOW + datetime.timedelta(days=2), heat=-1)
    Article.objects.update(rank=0)
    with connection.cursor() as cursor:
        cursor.execute(migration.RANK_SQL[connection.vendor])
    _assert_ranks_right()


def test_front_page_opens_on_top_stories_ranked_by_heat_quality_and_age(client):
    story("Fresh but cold", hours_ago=1)
    story("Older but burning", hours_ago=6, heat=100)  # ten hours' head start
    story("Old and cold", hours_ago=30)
    story("Wrong future date", published_at=NOW + datetime.timedelta(days=3))

    response = client.get(LIST)

    assert heading(response) == "Top stories"
    assert titles(response) == [
        "Older but burning",
        "Wrong future date",
        "Fresh but cold",
        "Old and cold",
    ]
    latest = client.get(LIST, {"ordering": "newest"})
    assert heading(latest) == "Latest stories"
    assert titles(latest)[0] == "Wrong future date"
    assert heading(client.get(LIST, {"ordering": "heat"})) == "Hottest stories"


def test_top_stories_page_by_cursor_through_the_index(client):
    for hours in range(30):
        story(f"Story at {hours}", hours_ago=hours + 1, heat=hours % 3)
    first = client.get(LIST)
    following = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    second = client.get(LIST + unescape(following))
    shown = titles(first) + titles(second)
    assert len(shown) == 30 and len(set(shown)) == 30
    expected = list(Article.objects.order_by("-rank", "-id").values_list("title", flat=True))
    assert shown == expected


# 2. Pins ------------------------------------------------------------------------------------


def test_a_pin_sits_above_the_ranking_on_the_first_page_until_it_ends(client, _clock):
    story("Top by rank", hours_ago=1, heat=50)
    story("Second pin", hours_ago=40, pinned_until=NOW + datetime.timedelta(hours=2), pin_order=2)
    story("First pin", hours_ago=50, pinned_until=NOW + datetime.timedelta(hours=5), pin_order=1)

    response = client.get(LIST)
    assert titles(response) == ["First pin", "Second pin", "Top by rank"]
    assert "Pinned" in response.content.decode()
    assert client.get(JSON).json()["results"][0]["pinned"] is True
    # Not on another ordering, and a pin inside the ranking is not shown twice.
    assert titles(client.get(LIST, {"ordering": "newest"}))[0] == "Top by rank"

    move(_clock, hours=3)  # the second pin has ended, by itself
    assert titles(client.get(LIST)) == ["First pin", "Top by rank", "Second pin"]
    move(_clock, hours=3)
    assert titles(client.get(LIST)) == ["Top by rank", "Second pin", "First pin"]


def test_pins_are_only_on_the_first_page(client):
    for hours in range(30):
        story(f"Ranked {hours}", hours_ago=hours + 1)
    story("Pinned", hours_ago=100, pinned_until=NOW + datetime.timedelta(hours=1))
    first = client.get(LIST)
    assert titles(first)[0] == "Pinned"
    following = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    second = titles(client.get(LIST + unescape(following)))
    assert "Pinned" not in second
    assert len(titles(first)) + len(second) == 31


# 3. Schedules without cron ------------------------------------------------------------------

PUBLIC_URLS = (LIST, JSON, RSS, reverse("curation:feed-atom"), reverse("curation:sitemap"))


def _everywhere(client, article: Article) -> dict[str, bool]:
    found = {url: article.key in client.get(url).content.decode() for url in PUBLIC_URLS}
    found["story page"] = client.get(article.get_absolute_url()).status_code == 200
    found["search"] = article.key in client.get(JSON, {"q": "Embargoed"}).content.decode()
    found["facets"] = "Embargo (1)" in client.get(LIST).content.decode()
    return found


def test_a_scheduled_story_appears_and_vanishes_on_time_everywhere(client, _clock):
    story("Already public", topics=("Other",))
    embargoed = story(
        "Embargoed budget story",
        topics=("Embargo",),
        publish_at=NOW + datetime.timedelta(hours=1),
        unpublish_at=NOW + datetime.timedelta(hours=3),
    )
    assert not any(_everywhere(client, embargoed).values())
    move(_clock, hours=1)  # publish_at reached: no job ran
    assert all(_everywhere(client, embargoed).values())
    move(_clock, hours=2)  # unpublish_at reached
    assert not any(_everywhere(client, embargoed).values())


def test_no_cache_keeps_a_page_past_the_next_boundary(client, _clock, monkeypatch):
    story("Already public")
    story("Coming", publish_at=NOW + datetime.timedelta(seconds=40))
    response = client.get(LIST)
    control = response["Cache-Control"]
    assert "public" in control and "s-maxage=40" in control and "max-age=40" in control
    assert "stale-while-revalidate" not in control  # no stale copy past the boundary
    assert "Coming" not in titles(response)
    move(_clock, seconds=41)
    again = client.get(LIST)  # the whole-page cache's key moved on with the boundary
    assert "Coming" in titles(again)
    assert again["Last-Modified"] != response.get("Last-Modified")
    control = again["Cache-Control"]
    assert f"max-age={views.PUBLIC_MAX_AGE}" in control
    assert f"stale-while-revalidate={views.PUBLIC_STALE_SECONDS}" in control


def test_a_story_vanishing_on_time_moves_last_modified_forward(client, _clock):
    story("Stays")
    story("Leaves", unpublish_at=NOW + datetime.timedelta(minutes=10))
    move(_clock, minutes=1)
    first = client.get(LIST)
    stamp = first["Last-Modified"]
    move(_clock, minutes=10)
    later = client.get(LIST, headers={"if-modified-since": stamp})
    assert later.status_code == 200 and "Leaves" not in titles(later)
    assert later["Last-Modified"] != stamp


def test_whole_list_pages_are_cached_per_filter_combination(
    client, _clock, django_assert_num_queries
):
    story("Cached", topics=("AI",))
    client.get(LIST, {"topic": "AI"})
    with django_assert_num_queries(1):  # the publication moments only
        cached = client.get(LIST, {"topic": "AI"})
    assert cached.status_code == 200 and "Cached" in cached.content.decode()
    assert (
        client.get(LIST, {"topic": "AI"}, headers={"if-none-match": cached["ETag"]}).status_code
        == 304
    )
    move(_clock, seconds=1)
    story("Newer", topics=("AI",), hours_ago=0)  # any change: new key, new page
    assert "Newer" in client.get(LIST, {"topic": "AI"}).content.decode()


def test_cached_pages_go_compressed_to_whoever_accepts_gzip(client, _clock):
    import gzip

    story("Compressed", topics=("AI",))
    plain = client.get(LIST, {"topic": "AI"})
    assert "Content-Encoding" not in plain and "Compressed" in plain.content.decode()
    for _ in range(2):  # the page as it was built, then from the cache
        packed = client.get(LIST, {"topic": "AI"}, headers={"accept-encoding": "br, gzip"})
        assert packed["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.content) == plain.content
        assert len(packed.content) < len(plain.content) / 2
    for response in (plain, packed):
        assert "Accept-Encoding" in response["Vary"]
    # Two representations, two validators: each revalidates only itself.
    assert packed["ETag"] != plain["ETag"]
    again = client.get(
        LIST,
        {"topic": "AI"},
        headers={"accept-encoding": "gzip", "if-none-match": packed["ETag"]},
    )
    assert again.status_code == 304
    assert (
        client.get(LIST, {"topic": "AI"}, headers={"if-none-match": packed["ETag"]}).status_code
        == 200
    )
    # The JSON view and the feeds share the same path.
    feed = client.get(reverse("curation:feed-rss"), headers={"accept-encoding": "gzip"})
    assert b"Compressed" in gzip.decompress(feed.content)


def test_the_page_cache_works_through_redis(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/5",
            "KEY_PREFIX": "front-tests",
        }
    }
    from django.core.cache import caches

    caches["default"].clear()
    story("Through Redis")
    first = client.get(LIST)
    keys = caches["default"]._cache.get_client().keys("front-tests:*curation:page:*")
    assert keys, "the page was not stored in Redis"
    assert client.get(LIST).content == first.content
    caches["default"].clear()


def test_admin_actions_schedule_and_pin_with_history(admin_client):
    article = story("Draft to schedule", published=False)
    # "All articles": a scheduled story has been decided on, so it leaves the review queue.
    changelist = reverse("admin:curation_article_changelist") + "?reviewed=all"
    moment = "2030-06-02T09:30"
    response = admin_client.post(
        changelist,
        {
            "action": "schedule_publication",
            "_selected_action": [article.pk],
            "apply": "1",
            "moment": moment,
        },
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.published and article.publish_at == datetime.datetime(
        2030, 6, 2, 9, 30, tzinfo=datetime.UTC
    )
    admin_client.post(
        changelist,
        {"action": "pin", "_selected_action": [article.pk], "apply": "1", "moment": moment},
    )
    article.refresh_from_db()
    assert article.pinned_until == article.publish_at
    fields = set(ArticleChange.objects.filter(article=article).values_list("field", flat=True))
    assert {"published", "publish_at", "pinned_until"} <= fields
    # A moment in the past is refused with a message, nothing written.
    refused = admin_client.post(
        changelist,
        {
            "action": "schedule_unpublication",
            "_selected_action": [article.pk],
            "apply": "1",
            "moment": "2020-01-01T00:00",
        },
    )
    assert "Choose a moment in the future." in refused.content.decode()
    article.refresh_from_db()
    assert article.unpublish_at is None


def test_the_change_form_and_the_row_save_set_the_schedule(admin_client):
    article = story("Row")
    url = reverse("admin:curation_article_editorial", args=[article.pk])
    answer = admin_client.post(
        url, {"unpublish_at": "2030-06-03T08:00:00+00:00", "expected_version": article.version}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["changed"] == ["unpublish_at"]
    article.refresh_from_db()
    assert article.unpublish_at == datetime.datetime(2030, 6, 3, 8, 0, tzinfo=datetime.UTC)
    change = ArticleChange.objects.get(article=article, field="unpublish_at")
    assert change.via == ArticleChange.Via.LIST and change.new_value.startswith("2030-06-03")
    form = admin_client.get(reverse("admin:curation_article_change", args=[article.pk]))
    assert 'name="pinned_until_0"' in form.content.decode() or 'name="pinned_until"' in (
        form.content.decode()
    )


# 4. Sections ---------------------------------------------------------------------------------


def test_topic_and_provider_sections_with_their_own_feeds(client):
    story("AI story", topics=("AI",), provider="Harbour Gazette")
    story("Sport story", topics=("Sport",), provider="Other Paper")
    topic = client.get(reverse("curation:topic", kwargs={"name": "AI"}))
    assert titles(topic) == ["AI story"] and heading(topic) == "AI"
    rss = client.get(reverse("curation:topic-rss", kwargs={"name": "AI"})).content.decode()
    assert "AI story" in rss and "Sport story" not in rss
    atom = client.get(reverse("curation:topic-atom", kwargs={"name": "AI"})).content.decode()
    assert "AI story" in atom and "Sport story" not in atom
    provider = Provider.objects.get(name="Other Paper")
    section = client.get(reverse("curation:provider", kwargs={"pk": provider.pk}))
    assert titles(section) == ["Sport story"] and heading(section) == "Other Paper"
    feed = client.get(reverse("curation:provider-atom", kwargs={"pk": provider.pk}))
    assert "Sport story" in feed.content.decode() and "AI story" not in feed.content.decode()
    assert client.get("/topics/Nothing/").status_code == 404
    assert client.get("/providers/999999/").status_code == 404
    # The navigation leads to the main topics.
    assert 'href="/topics/AI/"' in client.get(LIST).content.decode()


# 5. What readers expect ------------------------------------------------------------------------


def test_story_page_has_share_tags_a_canonical_link_and_a_relative_time(client, settings):
    settings.NEWSROOM_SITE_URL = "https://news.example.org"
    article = story("Shared story", hours_ago=3, excerpt="What happened.")
    text = client.get(article.get_absolute_url()).content.decode()
    canonical = f"https://news.example.org{article.get_absolute_url()}"
    assert f'<link rel="canonical" href="{canonical}">' in text
    assert f'<meta property="og:url" content="{canonical}">' in text
    assert '<meta property="og:title" content="' in text
    assert '<meta name="twitter:card" content="summary">' in text
    assert re.search(
        r'<time datetime="2030-06-01T09:00:00\+00:00"[^>]*>3\xa0hours ago</time>', text
    )


def test_cards_show_placeholders_no_zero_related_and_the_favicon(client):
    story("No picture")
    text = client.get(LIST).content.decode()
    assert "card__media is-missing" in text and "card__placeholder" in text
    assert "0 related report" not in text
    assert 'rel="icon"' in text and "favicon.svg" in text
    with open("static/css/site.css") as css:
        assert "prefers-color-scheme: dark" in css.read()


def test_addresses_carry_no_empty_parameters(client):
    for hours in range(30):
        story(hours_ago=hours + 1, topics=("AI",))
    redirect = client.get(LIST, {"q": "", "topic": "AI", "provider": ""})
    assert redirect.status_code == 301 and redirect["Location"] == "/?topic=AI"
    text = client.get(LIST, {"topic": "AI"}).content.decode()
    following = unescape(re.search(r'rel="next" href="([^"]+)"', text).group(1))
    assert re.fullmatch(r"\?topic=AI&after=[\w-]+", following)
    assert 'href="/feed/rss/?topic=AI"' in text


# 7. Facet counts follow the filters -------------------------------------------------------------


def test_facet_counts_count_the_stories_under_the_other_filters(client):
    for _ in range(3):
        story(topics=("AI",), provider="Big Outlet", category="news")
    story(topics=("AI", "Health"), provider="Small Outlet", category="science")
    small = Provider.objects.get(name="Small Outlet")

    everything = client.get(LIST).content.decode()
    assert '<option value="AI">AI (4)</option>' in everything

    text = client.get(LIST, {"provider": small.pk}).content.decode()
    assert '<option value="AI">AI (1)</option>' in text
    assert '<option value="Health">Health (1)</option>' in text
    assert '<option value="science">science (1)</option>' in text
    assert "news (" not in text
    # The provider facet ignores its own choice: it says what choosing another would show.
    assert f'<option value="{small.pk}" selected>Small Outlet (1)</option>' in text
    assert ">Big Outlet (3)</option>" in text


def test_facets_under_the_same_filters_read_their_matches_once(client):
    from django.test.utils import CaptureQueriesContext

    story(topics=("AI",), provider="Big Outlet", category="news")
    with CaptureQueriesContext(connection) as queries:
        client.get(LIST, {"topic": "AI"})  # provider, category and type count under topic=AI
    limit = f"LIMIT {pagination.RESULT_COUNT_CAP + 1}"
    samples = [q["sql"] for q in queries.captured_queries if q["sql"].endswith(limit)]
    assert len([sql for sql in samples if "curation_articletopic" in sql]) == 1


def test_filtered_facet_counts_say_at_least_beyond_the_sample(client, monkeypatch):
    monkeypatch.setattr(filters, "RESULT_COUNT_CAP", 2)
    for _ in range(3):
        story(topics=("AI",), category="news")
    text = client.get(LIST, {"category": "news"}).content.decode()
    assert re.search(r'<option value="AI">AI \(2\+\)</option>', text)


# 8. One home for keyset pagination -----------------------------------------------------------


def test_keyset_pagination_lives_in_one_module():
    for module in (views, filters, feeds):
        for name in ("paginate", "decode_cursor", "encode_cursor", "_zones", "_read", "KeysetPage"):
            assert name not in vars(module) or vars(module)[name] is getattr(pagination, name), (
                module.__name__,
                name,
            )
