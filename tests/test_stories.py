"""Stories: copies and reports of one piece of news, grouped as they arrive; editors decide."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from curation import stories
from curation.editorial import apply_editorial_changes
from curation.importer import import_seeds
from curation.models import Article, ArticleChange, Story, StoryKey, UnplacedArticle
from tests.conftest import SAMPLE_SEEDS

pytestmark = pytest.mark.django_db

CAMERAS = "Police to trial facial recognition cameras in Manchester city centre"
PROVIDERS = {
    "courier": ("Riverside Courier", "riversidecourier.example"),
    "gazette": ("Harbour Gazette", "harbourgazette.example"),
    "post": ("Valley Post", "valleypost.example"),
}


def seed(
    folder: Path,
    key: str,
    title: str,
    provider: str = "courier",
    when: str = "2024-05-21T10:00:00Z",
    *,
    urls: dict[str, str] | None = None,
    related: list[str] = (),
    quality: int = 50,
    heat: int = 10,
    published: bool = True,
    topics: tuple[str, ...] = (),
) -> Path:
    """Write one seed file; ``urls`` are feed keys (webUrl, cdnAmpUrl...) to URLs."""
    name, domain = PROVIDERS[provider]
    urls = urls if urls is not None else {"webUrl": f"https://www.{domain}/news/{key}"}
    lines = [
        "---",
        f"title: {json.dumps(title)}",
        f"publishedDateTime: {when}",
        *(f'{field}: "{url}"' for field, url in urls.items()),
        f"quality: {quality}",
        f"heat: {heat}",
        f"published: {'true' if published else 'false'}",
        "provider:",
        f"  name: {name}",
        f"  domain: {domain}",
    ]
    if topics:
        lines += ["topics:", *(f"  - {topic}" for topic in topics)]
    if related:
        lines.append("related:")
        for url in related:
            lines += ["  - title: Other coverage", f'    webUrl: "{url}"']
    lines += ["---", ""]
    path = folder / f"{key}.txt"
    path.write_text("\n".join(lines))
    return path


def imported(*paths: Path) -> None:
    report = import_seeds([str(path) for path in paths], workers=1)
    assert report.ok, report.failed


def story_of(key: str) -> int | None:
    return Article.objects.get(key=key).story_id


def together(*keys: str) -> bool:
    found = {story_of(key) for key in keys}
    return len(found) == 1 and None not in found


# -- same article -------------------------------------------------------------------------


def test_copies_under_urls_of_either_family_are_one_story(tmp_path):
    web = seed(
        tmp_path,
        "web",
        "Council approves flats above shops",
        urls={"webUrl": "https://www.riversidecourier.example/news/flats/?utm_source=feed"},
    )
    amp = seed(
        tmp_path,
        "amp",
        "Flats plan for empty offices",  # another headline: only the URL joins them
        "gazette",
        "2025-01-01T00:00:00Z",  # and far outside the window
        urls={
            "sourceUrl": "https://riversidecourier.example/news/flats",
            "cdnAmpUrl": "https://riversidecourier-example.cdn.ampproject.org/c/s/"
            "riversidecourier.example/news/flats/amp/",
        },
    )
    imported(web, amp)
    assert together("web", "amp")
    assert set(Article.objects.values_list("story_reason", flat=True)) == {"url"}


def test_a_copy_arriving_in_a_later_import_joins_by_an_indexed_lookup(
    tmp_path, django_assert_max_num_queries
):
    imported(seed(tmp_path, "first", "One", urls={"webUrl": "https://example.com/a"}))
    assert StoryKey.objects.filter(article__key="first").exists()
    imported(
        seed(tmp_path, "second", "Two", "gazette", urls={"ampUrl": "https://example.com/a/amp"})
    )
    assert together("first", "second")


# -- same story ---------------------------------------------------------------------------


def test_near_duplicate_headlines_from_other_providers_within_the_window_join(tmp_path):
    imported(
        seed(tmp_path, "a", CAMERAS, "courier", "2024-05-21T10:00:00Z"),
        seed(tmp_path, "b", f"LIVE: {CAMERAS.upper()}", "gazette", "2024-05-22T09:00:00Z"),
        seed(tmp_path, "c", "Manchester city centre to get police facial recognition cameras trial",
             "post", "2024-05-23T20:00:00Z"),
    )  # fmt: skip
    assert together("a", "b", "c")
    assert Article.objects.get(key="b").story_reason == "headline"


def test_the_same_headline_a_year_later_is_another_story(tmp_path):
    imported(
        seed(tmp_path, "then", CAMERAS, "courier", "2024-05-21T10:00:00Z"),
        seed(tmp_path, "now", CAMERAS, "gazette", "2025-05-21T10:00:00Z"),
        seed(tmp_path, "late", CAMERAS, "post", "2024-05-25T11:00:00Z"),  # 97 hours later
    )
    assert story_of("then") is None and story_of("now") is None and story_of("late") is None


@pytest.mark.parametrize(
    ("title", "provider"),
    [
        (CAMERAS, "courier"),  # the same outlet again (an update, a follow-up)
        ("Police to trial facial recognition cameras in Leeds city centre", "gazette"),
        ("Police scrap facial recognition trial after privacy complaints", "gazette"),
        ("Manchester city centre cameras switched off after council vote", "gazette"),
    ],
)
def test_hard_negatives_stay_apart(tmp_path, title, provider):
    imported(
        seed(tmp_path, "a", CAMERAS, "courier"),
        seed(tmp_path, "b", title, provider, "2024-05-21T12:00:00Z"),
    )
    assert story_of("a") is None and story_of("b") is None


def test_related_links_join_in_either_order_of_arrival(tmp_path):
    target = "https://www.valleypost.example/news/storm-damage"
    imported(seed(tmp_path, "names", "Storm batters the coast", related=[f"{target}?utm_medium=x"]))
    imported(
        seed(
            tmp_path,
            "named",
            "Cleanup begins after gales",
            "post",
            "2023-01-01T00:00:00Z",
            urls={"webUrl": target},
        )
    )
    assert together("names", "named")
    assert Article.objects.get(key="named").story_reason == "related"


# -- the lead -----------------------------------------------------------------------------


def _three_files(tmp_path) -> list[Path]:
    return [
        seed(tmp_path, "a", CAMERAS, "courier", quality=40, heat=90),
        seed(tmp_path, "b", CAMERAS, "gazette", quality=80, heat=5),
        seed(tmp_path, "c", CAMERAS, "post", quality=80, heat=20),
    ]


def _three(tmp_path):
    imported(*_three_files(tmp_path))
    return Story.objects.get()


def test_the_lead_is_the_best_copy_by_quality_then_heat(tmp_path, editor):
    story = _three(tmp_path)
    assert story.lead.key == "c" and story.size == 3
    ranks = dict(Article.objects.values_list("key", "story_rank"))
    assert ranks == {"c": 0, "b": 1, "a": 2}
    apply_editorial_changes(
        Article.objects.filter(key="a"), {"quality": 100}, user=editor, via="action"
    )
    assert Story.objects.get().lead.key == "a"


def test_an_editors_lead_survives_scores_reimport_and_rebuild(tmp_path, editor):
    _three(tmp_path)
    stories.choose_lead(Article.objects.get(key="a"), user=editor)
    assert Story.objects.get().lead.key == "a"
    apply_editorial_changes(
        Article.objects.filter(key="b"), {"quality": 200}, user=editor, via="action"
    )
    seed(tmp_path, "c", CAMERAS, "post", quality=150)
    imported(tmp_path / "c.txt")
    call_command("stories", "--rebuild", stdout=StringIO(), stderr=StringIO())
    assert Story.objects.get().lead.key == "a"
    change = ArticleChange.objects.get(field="story_lead")
    assert (change.via, change.user, change.new_value) == ("story", editor, "a")


# -- editors decide -----------------------------------------------------------------------


def test_a_split_survives_reimport_and_rebuild_and_is_in_the_history(tmp_path, editor):
    _three(tmp_path)
    stories.split(Article.objects.get(key="a"), user=editor)
    assert story_of("a") is None and together("b", "c")
    history = ArticleChange.objects.get(article__key="a", field="story")
    assert (history.via, history.user, history.old_value, history.new_value) == (
        "story",
        editor,
        "c",
        None,
    )
    seed(tmp_path, "a", CAMERAS + " as cameras go live", "courier", quality=41)
    imported(tmp_path / "a.txt")
    assert story_of("a") is None and together("b", "c")
    call_command("stories", "--rebuild", stdout=StringIO(), stderr=StringIO())
    assert story_of("a") is None and together("b", "c")
    # A new copy still joins: the split kept the two sides apart, not the story closed.
    imported(seed(tmp_path, "d", CAMERAS, "courier", "2024-05-21T15:00:00Z"))
    assert together("b", "c", "d") and story_of("a") is None


def test_a_merge_survives_reimport_and_rebuild(tmp_path, editor):
    imported(
        seed(tmp_path, "x", CAMERAS, "courier"),
        seed(tmp_path, "y", "Cinema reopens after flood repairs", "gazette"),
    )
    stories.merge([-Article.objects.get(key="x").pk, -Article.objects.get(key="y").pk], user=editor)
    assert together("x", "y")
    assert set(Article.objects.values_list("story_reason", flat=True)) == {"editor"}
    assert ArticleChange.objects.filter(field="story", via="story").count() == 2
    imported(seed(tmp_path, "y", "Cinema reopens after flood repairs at last", "gazette"))
    assert together("x", "y")
    call_command("stories", "--rebuild", stdout=StringIO(), stderr=StringIO())
    assert together("x", "y")


def test_rebuild_recomputes_what_import_found(tmp_path):
    imported(
        seed(tmp_path, "a", CAMERAS, "courier"),
        seed(tmp_path, "b", CAMERAS, "gazette"),
        seed(tmp_path, "c", "Unrelated budget vote in the council", "post"),
    )
    before = {key: story_of(key) is not None for key in "abc"}
    Article.objects.update(story=None, story_rank=None, story_reason="")
    Story.objects.all().delete()
    StoryKey.objects.all().delete()
    call_command("stories", "--rebuild", stdout=StringIO(), stderr=StringIO())
    assert (
        {key: story_of(key) is not None for key in "abc"}
        == before
        == {
            "a": True,
            "b": True,
            "c": False,
        }
    )
    assert StoryKey.objects.filter(article__key="c").exists()


def test_an_admin_edit_of_the_title_places_the_article_again(tmp_path, superuser):
    imported(
        seed(tmp_path, "a", CAMERAS, "courier"),
        seed(tmp_path, "b", "Cinema reopens after flood repairs", "gazette"),
    )
    article = Article.objects.get(key="b")
    apply_editorial_changes(article, {"title": CAMERAS}, user=superuser, via="form")
    stories.cluster_articles([article.pk])
    assert together("a", "b")


# -- the admin ----------------------------------------------------------------------------


def test_change_list_one_row_per_story_with_reports(tmp_path, editor_client):
    _three(tmp_path)
    imported(seed(tmp_path, "alone", "Cinema reopens after flood repairs", "gazette"))
    url = reverse("admin:curation_article_changelist")
    page = editor_client.get(url, {"stories": "one", "all": "1"})
    assert page.status_code == 200
    shown = {article.key for article in page.context["cl"].result_list}
    assert shown == {"c", "alone"}
    assert ">3</a>" in page.content.decode()


def test_publish_whole_stories_goes_through_the_history(tmp_path, editor_client, editor):
    imported(
        seed(tmp_path, "a", CAMERAS, "courier", published=False),
        seed(tmp_path, "b", CAMERAS, "gazette", published=False),
        seed(tmp_path, "c", "Cinema reopens after flood repairs", "post", published=False),
    )
    response = editor_client.post(
        reverse("admin:curation_article_changelist"),
        {"action": "publish_stories", "_selected_action": [Article.objects.get(key="a").pk]},
    )
    assert response.status_code == 302
    assert dict(Article.objects.values_list("key", "published")) == {
        "a": True,
        "b": True,
        "c": False,
    }
    assert set(
        ArticleChange.objects.filter(field="published").values_list("article__key", "via", "user")
    ) == {("a", "action", editor.pk), ("b", "action", editor.pk)}


def test_split_and_merge_actions(tmp_path, editor_client):
    _three(tmp_path)
    url = reverse("admin:curation_article_changelist")
    a = Article.objects.get(key="a")
    editor_client.post(url, {"action": "split_off", "_selected_action": [a.pk]})
    assert story_of("a") is None
    pks = list(Article.objects.filter(key__in=["a", "b"]).values_list("pk", flat=True))
    editor_client.post(url, {"action": "merge_stories", "_selected_action": pks})
    assert together("a", "b", "c")


def test_story_admin_pages(tmp_path, editor_client):
    story = _three(tmp_path)
    listing = editor_client.get(reverse("admin:curation_story_changelist"))
    assert listing.status_code == 200 and CAMERAS in listing.content.decode()
    page = editor_client.get(reverse("admin:curation_story_change", args=[story.pk]))
    assert page.status_code == 200
    assert "similar headline" in page.content.decode()


# -- readers ------------------------------------------------------------------------------


def test_the_public_list_shows_one_card_per_story_with_its_other_copies(tmp_path, client):
    _three(tmp_path)
    imported(seed(tmp_path, "alone", "Cinema reopens after flood repairs", "gazette"))
    page = client.get(reverse("curation:article-list"))
    keys = [article.key for article in page.context["article_list"]]
    assert sorted(keys) == ["alone", "c"]
    html = page.content.decode()
    assert "Also reported by" in html
    assert reverse("curation:article-detail", kwargs={"key": "a"}) in html


def test_an_unpublished_copy_is_never_revealed(tmp_path, client):
    imported(
        seed(tmp_path, "a", CAMERAS, "courier", quality=100, published=False),
        seed(tmp_path, "b", CAMERAS, "gazette", quality=50),
        seed(tmp_path, "c", CAMERAS, "post", quality=10),
    )
    assert Story.objects.get().lead.key == "a"
    page = client.get(reverse("curation:article-list"))
    assert [article.key for article in page.context["article_list"]] == ["b"]
    html = page.content.decode()
    assert "/articles/a/" not in html and "Riverside Courier" not in html
    data = client.get(reverse("curation:api-articles")).json()
    assert data["count"] == 1
    (result,) = data["results"]
    assert result["story"] == "b"  # the lead is not public: the shown card's key
    assert [copy["key"] for copy in result["also_reported_by"]] == ["c"]
    assert '"a"' not in json.dumps(data) and "/articles/a/" not in json.dumps(data)
    detail = client.get(reverse("curation:article-detail", kwargs={"key": "c"})).content.decode()
    assert "/articles/b/" in detail and "/articles/a/" not in detail


def test_a_filtered_list_shows_the_story_through_the_copy_that_matches(tmp_path, client):
    from curation.models import Provider

    _three(tmp_path)  # lead c (Valley Post); a and b from other outlets
    gazette = Provider.objects.get(name="Harbour Gazette")
    page = client.get(reverse("curation:article-list"), {"provider": gazette.pk})
    assert [article.key for article in page.context["article_list"]] == ["b"]
    data = client.get(reverse("curation:api-articles"), {"provider": gazette.pk}).json()
    assert [result["key"] for result in data["results"]] == ["b"] and data["count"] == 1


def test_facet_counts_count_stories_not_copies(tmp_path, client):
    from curation.models import Provider

    imported(
        seed(tmp_path, "a", CAMERAS, "courier", topics=("Policing",)),
        seed(tmp_path, "b", CAMERAS, "gazette", topics=("Policing", "Privacy")),
        seed(tmp_path, "c", CAMERAS, "post", topics=("Policing",), published=False),
        seed(
            tmp_path, "alone", "Cinema reopens after flood repairs", "gazette", topics=("Policing",)
        ),
    )
    assert together("a", "b", "c")
    html = client.get(reverse("curation:article-list")).content.decode()
    assert '<option value="Policing">Policing (2)</option>' in html  # a story and "alone"
    assert '<option value="Privacy">Privacy (1)</option>' in html
    gazette = Provider.objects.get(name="Harbour Gazette")
    assert f'<option value="{gazette.pk}">Harbour Gazette (2)</option>' in html
    assert "Valley Post" not in html  # its only copy is unpublished
    # Under a filter the counts are recounted among what matches it, still one per story.
    courier = Provider.objects.get(name="Riverside Courier")
    html = client.get(reverse("curation:article-list"), {"topic": "Policing"}).content.decode()
    assert f'<option value="{courier.pk}">Riverside Courier (1)</option>' in html
    assert f'<option value="{gazette.pk}">Harbour Gazette (2)</option>' in html
    html = client.get(reverse("curation:article-list"), {"provider": gazette.pk}).content.decode()
    assert '<option value="Policing">Policing (2)</option>' in html
    html = client.get(reverse("curation:article-list"), {"q": "cameras"}).content.decode()
    assert '<option value="Policing">Policing (1)</option>' in html
    assert '<option value="Privacy">Privacy (1)</option>' in html


def test_a_pinned_copy_shows_its_story_once_above_the_ranking(tmp_path, client):
    import datetime

    from django.utils import timezone

    _three(tmp_path)  # lead c, then b, then a
    until = timezone.now() + datetime.timedelta(hours=1)
    Article.objects.filter(key__in=["a", "b"]).update(pinned_until=until)
    keys = [
        article.key
        for article in client.get(reverse("curation:article-list")).context["article_list"]
    ]
    assert keys == ["b"]  # the pinned copy first in the story's rank stands for it, once
    data = client.get(reverse("curation:api-articles")).json()
    assert [result["key"] for result in data["results"]] == ["b"]


def test_json_gives_the_public_leads_key(tmp_path, client):
    _three(tmp_path)
    data = client.get(reverse("curation:api-articles")).json()
    (result,) = data["results"]
    assert result["key"] == result["story"] == "c"
    assert sorted(copy["key"] for copy in result["also_reported_by"]) == ["a", "b"]


def test_the_list_costs_the_same_queries_with_more_stories(tmp_path, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _three(tmp_path)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("curation:article-list"))
    imported(
        seed(tmp_path, "d", "Cinema reopens after flood repairs downtown", "courier"),
        seed(tmp_path, "e", "Cinema reopens after flood repairs downtown", "gazette"),
        seed(tmp_path, "f", "Cinema reopens after flood repairs downtown", "post"),
    )
    with CaptureQueriesContext(connection) as two:
        client.get(reverse("curation:article-list"))
    assert len(two) <= len(one)


# -- the command --------------------------------------------------------------------------


def test_the_command_prints_each_story_and_why_its_members_joined(tmp_path):
    _three(tmp_path)
    out = StringIO()
    call_command("stories", stdout=out)
    text = out.getvalue()
    assert "c: 3 articles" in text
    assert "  a  member, similar headline" in text
    assert "1 story of two or more articles, 3 articles in them." in text


def test_the_command_prints_json(tmp_path):
    _three(tmp_path)
    imported(seed(tmp_path, "alone", "Cinema reopens after flood repairs", "gazette"))
    out = StringIO()
    call_command("stories", "--json", "--rebuild", stdout=out, stderr=StringIO())
    (story,) = json.loads(out.getvalue())
    assert story["lead"] == "c"
    assert story["members"] == ["c", "b", "a"]
    assert story["reasons"] == {key: "similar headline" for key in "abc"}
    assert story["decided"] is False


# -- the benchmark's labelled corpus ----------------------------------------------------------


def test_a_small_labelled_corpus_meets_the_precision_and_recall_targets(tmp_path):
    from benchmarks.stories import labelled_corpus, pair_scores

    labels = labelled_corpus(tmp_path / "corpus", events=40, seed=3)
    assert labelled_corpus(tmp_path / "again", events=40, seed=3) == labels  # deterministic
    assert pair_scores(labels, labels)["precision"] == 1.0
    report = import_seeds([str(tmp_path / "corpus")], workers=1)
    assert report.ok, report.failed
    scores = pair_scores(labels, dict(Article.objects.values_list("key", "story_id")))
    assert scores["true_pairs"] > 40
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.9, scores


def test_the_clues_parsing_workers_send_are_the_writers_own():
    from curation import seedfile, workers

    for path in sorted(SAMPLE_SEEDS.glob("*.*")):
        document = seedfile.parse(path.read_bytes(), path.name)
        provider = document.provider.name if document.provider else ""
        sent = stories.entry_for(1, None, provider, document, workers.story_clues(document))
        own = stories.entry_for(1, None, provider, document)
        assert sent == own, path


# -- a large import places its articles in one pass ------------------------------------------


def _stories_as_keys() -> set[frozenset[tuple[str, str]]]:
    """Every story as its members' (key, reason) pairs: what two databases can compare."""
    found: dict[int, set[tuple[str, str]]] = {}
    for story_id, key, reason in Article.objects.filter(story__isnull=False).values_list(
        "story_id", "key", "story_reason"
    ):
        found.setdefault(story_id, set()).add((key, reason))
    return {frozenset(members) for members in found.values()}


def _forget_everything() -> None:
    from curation.models import Tombstone

    Article.objects.all().delete()
    Story.objects.all().delete()
    Tombstone.objects.all().delete()  # deleted stays deleted: the same files come back


def test_a_large_import_finds_the_stories_a_batch_by_batch_import_finds(tmp_path, monkeypatch):
    from benchmarks.stories import labelled_corpus
    from curation import importer

    labelled_corpus(tmp_path / "corpus", events=60, seed=5)
    monkeypatch.setattr(importer, "PLACE_AFTER_FILES", 10**9)
    monkeypatch.setattr(importer, "BATCH_SIZE", 25)  # many batches, matches across them
    assert import_seeds([str(tmp_path / "corpus")], workers=1).ok
    batch_by_batch, keys = _stories_as_keys(), StoryKey.objects.count()
    assert len(batch_by_batch) > 30
    _forget_everything()
    assert not StoryKey.objects.exists()

    monkeypatch.setattr(importer, "PLACE_AFTER_FILES", 1)
    monkeypatch.setattr(stories, "REINDEX_ENTRIES", 1)  # into the empty table: indexes after
    held = []
    hold = stories.hold_imported
    monkeypatch.setattr(stories, "hold_imported", lambda written: held.append(1) or hold(written))
    assert import_seeds([str(tmp_path / "corpus")], workers=1).ok
    assert len(held) > 1, "the large import did not hold its batches for one pass"
    assert _stories_as_keys() == batch_by_batch
    assert StoryKey.objects.count() == keys
    assert not UnplacedArticle.objects.exists()
    with connection.cursor() as cursor:
        built = connection.introspection.get_constraints(cursor, StoryKey._meta.db_table)
        assert {"storykey_key_article", "storykey_article"} <= set(built)
        references = [found["foreign_key"] for found in built.values() if found["foreign_key"]]
        assert references == [("curation_article", "id")]
        if connection.vendor == "postgresql":  # dropped for the load, back as Django made it
            cursor.execute(
                "SELECT condeferrable, condeferred FROM pg_constraint "
                "WHERE conrelid = 'curation_storykey'::regclass AND contype = 'f'"
            )
            assert cursor.fetchall() == [(True, True)]


def test_a_large_import_into_a_newsroom_keeps_its_stories_and_decisions(
    tmp_path, editor, monkeypatch
):
    from curation import importer

    _three(tmp_path)
    stories.split(Article.objects.get(key="a"), user=editor)
    monkeypatch.setattr(importer, "PLACE_AFTER_FILES", 1)
    imported(
        seed(tmp_path, "a", CAMERAS + " as cameras go live", "courier", quality=41),
        seed(tmp_path, "d", CAMERAS, "courier", "2024-05-21T15:00:00Z"),
        seed(tmp_path, "e", "Cinema reopens after flood repairs", "gazette"),
        seed(tmp_path, "f", "Cinema reopens after flood repairs", "post"),
    )
    assert story_of("a") is None
    assert together("b", "c", "d") and together("e", "f")
    assert story_of("d") != story_of("e")
    assert not UnplacedArticle.objects.exists()


def test_articles_a_killed_import_left_unplaced_are_placed_by_the_next_pass(tmp_path, monkeypatch):
    from curation import importer

    monkeypatch.setattr(importer, "PLACE_AFTER_FILES", 1)
    place = stories.place_unplaced
    monkeypatch.setattr(stories, "place_unplaced", lambda held=(): 0)  # killed before it
    imported(*_three_files(tmp_path), seed(tmp_path, "gone", CAMERAS, "courier"))
    assert UnplacedArticle.objects.count() == 4 and not Story.objects.exists()
    imported(seed(tmp_path, "a", CAMERAS, "courier", quality=41))  # changed, still marked once
    assert UnplacedArticle.objects.count() == 4
    Article.objects.get(key="gone").delete()  # meanwhile: its mark goes with it
    monkeypatch.setattr(stories, "place_unplaced", place)
    err = StringIO()
    call_command("stories", stdout=StringIO(), stderr=err)
    assert "Placed 3 articles an interrupted import left unplaced" in err.getvalue()
    assert together("a", "b", "c") and not UnplacedArticle.objects.exists()
    assert StoryKey.objects.filter(article__key="a").exists()


def test_a_large_dry_run_leaves_no_marks_keys_or_stories(tmp_path, monkeypatch):
    from curation import importer

    monkeypatch.setattr(importer, "PLACE_AFTER_FILES", 1)
    report = import_seeds([str(path) for path in _three_files(tmp_path)], dry_run=True, workers=1)
    assert report.rolled_back and len(report.created) == 3
    assert not Article.objects.exists() and not UnplacedArticle.objects.exists()
    assert not StoryKey.objects.exists() and not Story.objects.exists()


def _cards(client) -> int:
    return (
        client.get(reverse("curation:article-list")).content.decode().count('<article class="card')
    )


@pytest.mark.parametrize("regroup", ["split", "merge", "lead", "rebuild", "placing"])
def test_what_regroups_stories_moves_the_public_version_so_cached_pages_follow(
    tmp_path, client, editor, regroup, monkeypatch
):
    from curation import importer
    from curation.filters import publication_version

    cache.clear()
    _three(tmp_path)
    imported(seed(tmp_path, "alone", "Cinema reopens after flood repairs", "gazette"))
    if regroup == "placing":
        monkeypatch.setattr(importer, "PLACE_AFTER_FILES", 1)
        monkeypatch.setattr(stories, "place_unplaced", lambda held=(): 0)
        imported(seed(tmp_path, "late", "Cinema reopens after flood repairs", "post"))
        monkeypatch.undo()
    assert _cards(client) == 2 + (regroup == "placing")  # now cached
    before = publication_version()
    if regroup == "split":
        stories.split(Article.objects.get(key="a"), user=editor)
    elif regroup == "merge":
        stories.merge([Story.objects.get().pk, -Article.objects.get(key="alone").pk], user=editor)
    elif regroup == "lead":
        stories.choose_lead(Article.objects.get(key="a"), user=editor)
    elif regroup == "rebuild":
        call_command("stories", "--rebuild", stdout=StringIO(), stderr=StringIO())
    else:
        stories.place_unplaced()
    assert publication_version() != before
    expected = {"split": 3, "merge": 1, "lead": 2, "rebuild": 2, "placing": 2}[regroup]
    assert _cards(client) == expected


def test_what_the_parsing_workers_run_imports_no_django():
    """Workers start clean ("spawn") and never set Django up: the codec, the canonical URLs,
    the headlines and the story keys they compute must not need it."""
    import subprocess
    import sys

    check = (
        "import sys, curation.workers; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django'); "
        "print(loaded); sys.exit(bool(loaded))"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_large_import_on_sqlite_runs_with_the_default_page_cache_and_restores_it(
    tmp_path, monkeypatch
):
    from curation import importer

    def page_cache() -> int | None:
        if connection.vendor != "sqlite":
            return None  # PostgreSQL's memory is the server's: nothing to change
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    configured = page_cache()
    during = []
    place = stories.place_unplaced
    monkeypatch.setattr(importer, "PLACE_AFTER_FILES", 1)
    monkeypatch.setattr(stories, "place_unplaced", lambda held=(): during.append(page_cache()))
    imported(*_three_files(tmp_path))
    if connection.vendor == "sqlite":
        assert (during, page_cache()) == ([-2000], configured) and configured != -2000
    else:
        assert during == [None]
    assert place() == 3 and together("a", "b", "c")
