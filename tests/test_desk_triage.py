"""The editor's desk (issue 12): triage (queue, arrivals, review), undo, and accent-folding search.

Runs on whichever database the suite runs on; CI runs it on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from curation import editorial
from curation.admin_desk import ArrivedFilter, when_shown
from curation.importer import import_seeds
from curation.models import Article, ArticleChange, DeskVisit, Provider
from tests.conftest import SAMPLE_SEEDS
from tests.test_admin import (
    CHANGELIST,
    action_post,
    change_url,
    editorial_post,
    list_post,
    list_row,
    make_article,
    messages_of,
)

pytestmark = pytest.mark.django_db

CHANGES = reverse("admin:curation_articlechange_changelist")
PUBLIC_LIST = reverse("curation:article-list")


@pytest.fixture
def super_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def arrived(article: Article, **ago: float) -> Article:
    """Pretend the article reached us some time ago."""
    moment = timezone.now() - datetime.timedelta(**ago)
    Article.objects.filter(pk=article.pk).update(created_at=moment)
    article.created_at = moment
    return article


def titles(response) -> list[str]:
    return [article.title for article in response.context["cl"].result_list]


def history_url(article: Article) -> str:
    return reverse("admin:curation_article_history", args=[article.pk])


def restore_url(change: ArticleChange) -> str:
    return reverse("admin:curation_articlechange_restore", args=[change.pk])


# -- the queue ------------------------------------------------------------------------------------


def test_opening_articles_lands_on_the_queue_newest_arrivals_first(editor_client, editor):
    arrived(make_article("Old arrival", key="old"), days=3)
    arrived(make_article("New arrival", key="new"), minutes=5)
    arrived(make_article("Middle arrival", key="middle"), hours=5)
    done = arrived(make_article("Already decided", key="done"), minutes=1)
    editorial.apply_editorial_changes(done, {"reviewed": True}, user=editor, via="action")

    response = editor_client.get(CHANGELIST)

    assert response.status_code == 200
    assert titles(response) == ["New arrival", "Middle arrival", "Old arrival"]
    html = response.content.decode()
    assert "Queue: not reviewed yet, newest arrivals first" in html
    assert '<a href="?reviewed=all">All articles</a>' in html
    assert '<a href="?reviewed=no" aria-current="page"' in html

    everything = editor_client.get(CHANGELIST, {"reviewed": "all"})
    assert titles(everything) == ["Already decided", "New arrival", "Middle arrival", "Old arrival"]
    assert "All articles" in everything.context["title"]
    assert titles(editor_client.get(CHANGELIST, {"reviewed": "yes"})) == ["Already decided"]


def test_the_review_filter_offers_queue_reviewed_and_all_and_no_choice_drops_to_the_queue(
    editor_client,
):
    make_article("Story", key="story")
    changelist = editor_client.get(CHANGELIST).context["cl"]
    review = next(spec for spec in changelist.filter_specs if spec.parameter_name == "reviewed")
    choices = list(review.choices(changelist))
    assert [(c["display"], c["selected"]) for c in choices] == [
        ("Not reviewed (the queue)", True),
        ("Reviewed", False),
        ("All articles", False),
    ]
    assert [c["query_string"] for c in choices] == [
        "?reviewed=no",
        "?reviewed=yes",
        "?reviewed=all",
    ]


def test_editorial_change_on_every_path_marks_the_article_reviewed_in_the_same_write(
    editor_client, editor
):
    by_form = make_article("By form", key="form")
    by_list = make_article("By list", key="list")
    by_action = make_article("By action", key="action")

    editor_client.post(change_url(by_form), editorial_post(by_form, quality=80))
    editor_client.post(CHANGELIST, list_post(list_row(by_list, heat=33)))
    editor_client.post(CHANGELIST, action_post("publish", by_action))

    for article in (by_form, by_list, by_action):
        fresh = Article.objects.get(pk=article.pk)
        assert fresh.reviewed_by == editor, article.title
        assert timezone.now() - fresh.reviewed_at < datetime.timedelta(minutes=1)
        assert fresh.version == 2  # one write: the field and the review together
        # The field's own history row says who decided and when; the stamp adds no row.
        assert fresh.changes.exists()
        assert not fresh.changes.filter(field="reviewed").exists()
    assert titles(editor_client.get(CHANGELIST)) == []  # the queue is empty now


def test_a_save_that_changes_nothing_reviews_nothing(editor_client):
    article = make_article("Untouched", key="untouched")
    editor_client.post(change_url(article), editorial_post(article))
    editor_client.post(CHANGELIST, list_post(list_row(article)))
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.reviewed_at, fresh.version) == (None, 1)


def test_a_superusers_correction_of_the_feed_text_is_no_review(super_client, superuser):
    article = make_article("Tyop in title", key="typo")
    editorial.apply_editorial_changes(
        article, {"title": "Typo in title"}, user=superuser, via="form", expected_version=1
    )
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.title, fresh.reviewed_at, fresh.reviewed_by) == ("Typo in title", None, None)


def test_mark_reviewed_and_not_reviewed_are_recorded_version_checked_changes(editor_client, editor):
    first = make_article("First", key="first")
    second = make_article("Second", key="second")
    response = editor_client.post(
        CHANGELIST, action_post("mark_reviewed", first, second), follow=True
    )
    assert messages_of(response) == ["2 articles marked reviewed."]
    fresh = Article.objects.get(pk=first.pk)
    assert (fresh.reviewed_by, fresh.version) == (editor, 2)
    change = fresh.changes.get()
    assert (change.field, change.old_value, change.new_value, change.via) == (
        "reviewed",
        False,
        True,
        "action",
    )

    response = editor_client.post(
        f"{CHANGELIST}?reviewed=all", action_post("mark_reviewed", first), follow=True
    )
    assert messages_of(response) == [
        "0 articles marked reviewed. 1 already had that value and was left as it was."
    ]
    response = editor_client.post(
        f"{CHANGELIST}?reviewed=yes", action_post("mark_not_reviewed", first), follow=True
    )
    assert messages_of(response) == ["1 article put back into the queue."]
    fresh = Article.objects.get(pk=first.pk)
    assert (fresh.reviewed_at, fresh.reviewed_by, fresh.version) == (None, None, 3)
    assert titles(editor_client.get(CHANGELIST)) == ["First"]

    with pytest.raises(editorial.StaleVersion):
        editorial.apply_editorial_changes(
            fresh, {"reviewed": True}, user=editor, via="form", expected_version=2
        )


def test_reimport_of_a_changed_file_keeps_the_review(editor_client, editor, tmp_path):
    source = sorted(SAMPLE_SEEDS.glob("000_*.txt"))[0]
    seed = tmp_path / source.name
    seed.write_bytes(source.read_bytes())
    assert import_seeds([seed]).ok
    article = Article.objects.get(key=seed.stem)
    assert article.reviewed_at is None  # a new arrival waits in the queue
    arrival = article.created_at

    editor_client.post(CHANGELIST, action_post("mark_reviewed", article))
    reviewed = Article.objects.get(pk=article.pk)
    assert reviewed.reviewed_by == editor

    seed.write_bytes(
        seed.read_bytes()
        .replace(b"\nquality: 12\n", b"\nquality: 3\n", 1)
        .replace(b"Port authority trials", b"Port authority extends", 1)
    )
    report = import_seeds([seed])
    assert report.updated == [seed.stem]
    fresh = Article.objects.get(pk=article.pk)
    assert fresh.quality == 3 and fresh.title.startswith("Port authority extends")
    assert (fresh.reviewed_at, fresh.reviewed_by) == (reviewed.reviewed_at, editor)
    assert fresh.created_at == arrival  # arrival is the first import, not the latest


# -- arrivals ---------------------------------------------------------------------------------------


def test_arrived_column_reads_like_a_desk(editor_client):
    arrived(make_article("Fresh", key="fresh"), minutes=1)
    html = editor_client.get(CHANGELIST).content.decode()
    local = timezone.localtime(Article.objects.get(key="fresh").created_at)
    assert f">today {local:%H:%M}</time>" in html
    assert 'class="sortable column-arrived' in html


def test_arrived_filter_counts_days_by_the_sites_clock(editor_client):
    today = timezone.localdate()
    midnight = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    stories = {
        "just now": timezone.now(),
        "yesterday morning": midnight - datetime.timedelta(hours=15),
        "five days ago": midnight - datetime.timedelta(days=5, hours=-1),
        "last month": midnight - datetime.timedelta(days=30),
    }
    for title, moment in stories.items():
        article = make_article(title, key=title.replace(" ", "_"))
        Article.objects.filter(pk=article.pk).update(created_at=moment)

    def arrived_in(choice: str) -> set[str]:
        response = editor_client.get(CHANGELIST, {"arrived": choice, "reviewed": "all"})
        return set(titles(response))

    assert arrived_in("today") == {"just now"}
    assert arrived_in("yesterday") == {"just now", "yesterday morning"}
    assert arrived_in("week") == {"just now", "yesterday morning", "five days ago"}


def test_a_visit_is_a_run_of_openings_less_than_half_an_hour_apart(editor):
    start = timezone.now() - datetime.timedelta(days=1)
    minutes = datetime.timedelta(minutes=1)
    assert DeskVisit.record(editor, now=start) is None  # the first visit ever
    assert DeskVisit.record(editor, now=start + 10 * minutes) is None  # a reload
    assert DeskVisit.record(editor, now=start + 35 * minutes) is None  # still the same visit
    # Back after more than half an hour: the previous visit ended at the last opening.
    assert DeskVisit.record(editor, now=start + 70 * minutes) == start + 35 * minutes
    assert DeskVisit.record(editor, now=start + 80 * minutes) == start + 35 * minutes
    assert DeskVisit.objects.get(user=editor).last_visit == start + 80 * minutes


def test_since_my_last_visit_shows_what_arrived_after_the_previous_visit(editor_client, editor):
    before = timezone.now() - datetime.timedelta(hours=3)
    DeskVisit.objects.create(user=editor, last_visit=before)
    arrived(make_article("Seen last time", key="seen"), hours=4)
    arrived(make_article("Arrived since", key="since"), hours=1)

    response = editor_client.get(CHANGELIST, {"arrived": "visit"})

    assert titles(response) == ["Arrived since"]
    assert ArrivedFilter.since(response.wsgi_request, "visit") == before
    assert f"Since my last visit ({when_shown(before)})" in response.content.decode()
    # Reloading does not move the mark.
    assert titles(editor_client.get(CHANGELIST, {"arrived": "visit"})) == ["Arrived since"]


def test_the_list_records_the_visit_without_growing_its_query_count(
    editor_client, django_assert_max_num_queries
):
    for n in range(3):
        make_article(f"Story {n}", key=f"s{n}")
    with CaptureQueriesContext(connection) as first:
        editor_client.get(CHANGELIST)  # creates the visit
    for n in range(3, 30):
        make_article(f"Story {n}", key=f"s{n}")
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert len(titles(editor_client.get(CHANGELIST))) == 30  # updates it


# -- the admin index ------------------------------------------------------------------------------


def test_admin_index_says_how_many_articles_wait_and_links_to_the_queue(editor_client, editor):
    for n in range(3):
        make_article(f"Waiting {n}", key=f"w{n}")
    done = make_article("Done", key="done")
    editorial.apply_editorial_changes(done, {"reviewed": True}, user=editor, via="action")
    html = editor_client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{CHANGELIST}?reviewed=no">3 articles wait for review.</a>' in html


# -- undo: restore a value from the history ---------------------------------------------------------


def test_history_offers_restore_for_editorial_fields_only(super_client, superuser):
    article = make_article("Tyop", key="typo", quality=10)
    editorial.apply_editorial_changes(
        article, {"title": "Typo", "quality": 40}, user=superuser, via="form"
    )
    html = super_client.get(history_url(article)).content.decode()
    quality = article.changes.get(field="quality")
    title = article.changes.get(field="title")
    assert f'action="{restore_url(quality)}"' in html
    assert "Restore quality: 10" in html
    assert restore_url(title) not in html
    assert f'name="expected_version" value="{article.version}"' in html


def test_restore_makes_a_new_recorded_change_of_the_old_value(editor_client, editor):
    article = make_article("Story", key="story", quality=10)
    editorial.apply_editorial_changes(article, {"quality": 40}, user=None, via="list")
    change = article.changes.get()

    response = editor_client.post(
        restore_url(change), {"expected_version": article.version}, follow=True
    )

    assert response.redirect_chain[-1][0] == history_url(article)
    assert messages_of(response) == ["Restored quality 10 on “\u2068Story\u2069”."]
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.quality, fresh.version, fresh.reviewed_by) == (10, 3, editor)
    restored = fresh.changes.order_by("-id").first()
    assert (restored.field, restored.old_value, restored.new_value, restored.via) == (
        "quality",
        40,
        10,
        "revert",
    )
    assert restored.user == editor
    # The value is current now: no button offers it again.
    assert restore_url(change) not in editor_client.get(history_url(article)).content.decode()


def test_restore_from_a_stale_page_is_refused_like_the_form(editor_client, editor):
    article = make_article("Story", key="story", quality=10, heat=5)
    editorial.apply_editorial_changes(article, {"quality": 40}, user=None, via="list")
    change = article.changes.get()
    shown_version = article.version
    editorial.apply_editorial_changes(article, {"heat": 12}, user=None, via="list")

    response = editor_client.post(
        restore_url(change), {"expected_version": shown_version}, follow=True
    )

    [message] = messages_of(response)
    assert (
        "was not saved: someone else saved it while you were working (you started from " in message
    )
    assert "version 2, it is now at version 3" in message
    assert message.endswith("It now reads: published no; quality 40; heat 12.")
    assert Article.objects.get(pk=article.pk).quality == 40


def test_restore_reviewed_puts_the_article_back_into_the_queue(editor_client, editor):
    article = make_article("Story", key="story")
    editorial.apply_editorial_changes(article, {"reviewed": True}, user=editor, via="action")
    change = article.changes.get(field="reviewed")
    html = editor_client.get(history_url(article)).content.decode()
    assert "Restore reviewed: no" in html
    editor_client.post(restore_url(change), {"expected_version": article.version})
    assert Article.objects.get(pk=article.pk).reviewed_at is None
    assert titles(editor_client.get(CHANGELIST)) == ["Story"]


def test_restore_needs_a_post_with_csrf_and_the_change_permission(editor, django_user_model):
    article = make_article("Story", key="story", quality=10)
    editorial.apply_editorial_changes(article, {"quality": 40}, user=None, via="list")
    change = article.changes.get()
    data = {"expected_version": article.version}

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    assert strict.post(restore_url(change), data).status_code == 403  # no CSRF token
    assert strict.get(restore_url(change)).status_code == 405

    anonymous = Client()
    assert anonymous.post(restore_url(change), data).status_code == 302  # to the login page

    Group.objects.get(name="Editors").permissions.remove(
        Permission.objects.get(codename="change_article")
    )
    viewer = Client()
    viewer.force_login(editor)
    assert viewer.post(restore_url(change), data).status_code == 403
    assert "Restore" not in viewer.get(history_url(article)).content.decode()
    assert "Restore" not in viewer.get(CHANGES).content.decode()
    assert Article.objects.get(pk=article.pk).quality == 40


def test_article_changes_list_offers_restore_and_comes_back_to_it(editor_client):
    article = make_article("Story", key="story", quality=10)
    editorial.apply_editorial_changes(article, {"quality": 40}, user=None, via="list")
    change = article.changes.get()
    html = editor_client.get(CHANGES).content.decode()
    assert f'formaction="{restore_url(change)}?return=changes"' in html
    assert f'name="expected_version" value="{article.version}"' in html

    response = editor_client.post(
        f"{restore_url(change)}?return=changes", {"expected_version": article.version}
    )
    assert response.url == CHANGES
    assert Article.objects.get(pk=article.pk).quality == 10


# -- search like the public site ------------------------------------------------------------------


@pytest.mark.parametrize("term", ["krakow", "KRAKÓW", "Krak", "kraków tram"])
def test_admin_and_public_search_fold_accents_and_case(editor_client, client, term):
    make_article("Kraków tram line opens", key="krakow", published=True)
    make_article("Warsaw metro extends", key="warsaw", published=True)
    admin = editor_client.get(CHANGELIST, {"q": term, "reviewed": "all"})
    assert titles(admin) == ["Kraków tram line opens"], term
    public = client.get(PUBLIC_LIST, {"q": term})
    assert [a.title for a in public.context["article_list"]] == ["Kraków tram line opens"], term


def test_admin_search_covers_excerpt_and_provider_name(editor_client):
    gazette = Provider.objects.create(name="Gazeta Krakowska", domain="gazeta.example")
    make_article("Council budget", key="budget", provider=gazette, excerpt="No news.")
    make_article("Tides", key="tides", excerpt="Łódź and Gdańsk ports are busy.")
    assert titles(editor_client.get(CHANGELIST, {"q": "gazeta krakowska"})) == ["Council budget"]
    assert titles(editor_client.get(CHANGELIST, {"q": "gdansk"})) == ["Tides"]


# -- the migration ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_review_migration_is_reversible_and_search_keeps_working_both_ways():
    call_command("migrate", "curation", "0007_public_state", verbosity=0)
    columns = {
        c.name
        for c in connection.introspection.get_table_description(
            connection.cursor(), "curation_article"
        )
    }
    assert "reviewed_at" not in columns
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO curation_article (key, source_name, category, title, excerpt, "
            "original_url, web_url, amp_web_url, cdn_amp_web_url, source_url, amp_url, "
            "cdn_amp_url, type, published, provider_extra, secured, body, extra, "
            "has_front_matter, source_text, source_hash, version, seed_version, created_at, "
            "updated_at) VALUES ('krk', '', '', 'Kraków tram line opens', '', '', '', '', '', "
            "'', '', '', '', %s, '[]', '', '', '[]', %s, '', '', 1, 1, %s, %s)",
            [True, True, timezone.now(), timezone.now()],
        )
        # Before 0008: SQLite's FTS5 already folds accents, PostgreSQL's vector does not.
        cursor.execute("SELECT id FROM curation_article WHERE title = 'Kraków tram line opens'")
        assert cursor.fetchone()
    call_command("migrate", "curation", verbosity=0)
    assert set(Article.objects.search("krakow").values_list("key", flat=True)) == {"krk"}
    assert Article.objects.get(key="krk").reviewed_at is None  # waits in the queue
    # Back again (SQLite rebuilds the table for the foreign key: the triggers come back).
    call_command("migrate", "curation", "0007_public_state", verbosity=0)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "UPDATE curation_article SET title = 'Tidal barrage opens' WHERE key = 'krk'"
            )
            cursor.execute(
                "SELECT rowid FROM curation_article_fts WHERE curation_article_fts MATCH 'tidal'"
            )
        else:
            cursor.execute(
                "SELECT id FROM curation_article "
                "WHERE search_vector @@ to_tsquery('english', 'kraków')"
            )
        assert cursor.fetchone() is not None
    call_command("migrate", "curation", verbosity=0)
