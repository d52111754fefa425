"""The schedule and the pin from the article list: each row's own time inputs, saved by the desk's
row save or the list's Save, refused by the one rule the form and the bulk actions also follow."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from curation.models import SCHEDULE_ORDER_MESSAGE, Article, ArticleChange
from tests.test_admin import CHANGELIST, editorial_post, list_post, list_row, make_article

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# The editor's clock (the site's TIME_ZONE): times in the list are read and shown on it.
HELSINKI = "Europe/Helsinki"


@pytest.fixture
def article():
    return make_article(published=True, quality=10, heat=5)


@pytest.fixture
def helsinki(settings):
    settings.TIME_ZONE = HELSINKI
    return zoneinfo.ZoneInfo(HELSINKI)


def save_row(client, article: Article, **fields):
    fields.setdefault("expected_version", Article.objects.get(pk=article.pk).version)
    return client.post(reverse("admin:curation_article_editorial", args=[article.pk]), fields)


def schedule_history(article: Article) -> list[tuple]:
    return list(
        ArticleChange.objects.filter(
            article=article, field__in=["publish_at", "unpublish_at", "pinned_until"]
        )
        .order_by("pk")
        .values_list("field", "old_value", "new_value", "via", "user__username")
    )


def test_the_list_shows_a_time_picker_per_schedule_field_in_the_editors_time_zone(
    editor_client, helsinki
):
    make_article(publish_at=datetime.datetime(2030, 6, 3, 5, 30, tzinfo=UTC))
    html = editor_client.get(CHANGELIST + "?reviewed=all").content.decode()
    # 05:30 UTC is 08:30 in Helsinki in June; no seconds, as a browser writes it.
    assert 'type="datetime-local" name="form-0-publish_at" value="2030-06-03T08:30"' in html
    assert 'type="datetime-local" name="form-0-unpublish_at"' in html
    assert 'aria-label="Unpublish at"' in html
    # The pin is set on the form and by its bulk action (two more columns would not fit).
    assert 'name="form-0-pinned_until"' not in html
    assert 'title="Time zone: Europe/Helsinki"' in html


def test_a_row_save_sets_the_schedule_from_local_times_with_history(
    editor_client, editor, article, helsinki
):
    response = save_row(
        editor_client, article, publish_at="2030-06-03T08:30", unpublish_at="2030-06-10T20:00"
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["changed"] == ["publish_at", "unpublish_at"]
    assert answer["version"] == article.version + 1
    # What the inputs show after the save: the editor's clock, as typed.
    assert answer["shown"] == {"publish_at": "2030-06-03T08:30", "unpublish_at": "2030-06-10T20:00"}
    fresh = Article.objects.get(pk=article.pk)
    assert fresh.publish_at == datetime.datetime(2030, 6, 3, 5, 30, tzinfo=UTC)
    assert fresh.unpublish_at == datetime.datetime(2030, 6, 10, 17, 0, tzinfo=UTC)
    history = schedule_history(article)
    assert [(field, old, via, user) for field, old, _, via, user in history] == [
        ("publish_at", None, ArticleChange.Via.LIST, editor.username),
        ("unpublish_at", None, ArticleChange.Via.LIST, editor.username),
    ]
    assert datetime.datetime.fromisoformat(history[0][2]) == fresh.publish_at
    # Scheduled, it is not on the public site yet.
    assert not Article.objects.published().filter(pk=article.pk).exists()

    # Emptied, the schedule is gone, and the history says so.
    response = save_row(editor_client, article, publish_at="")
    assert response.status_code == 200, response.content
    assert response.json()["shown"] == {"publish_at": ""}
    assert Article.objects.get(pk=article.pk).publish_at is None
    field, old, new, *_ = schedule_history(article)[-1]
    assert (field, datetime.datetime.fromisoformat(old), new) == (
        "publish_at",
        datetime.datetime(2030, 6, 3, 5, 30, tzinfo=UTC),
        None,
    )
    assert Article.objects.published().filter(pk=article.pk).exists()


def test_a_row_save_sets_and_clears_a_pin(editor_client, article):
    response = save_row(editor_client, article, pinned_until="2030-01-01T12:00")
    assert response.status_code == 200, response.content
    assert Article.objects.get(pk=article.pk).pinned_until == datetime.datetime(
        2030, 1, 1, 12, 0, tzinfo=UTC
    )
    response = save_row(editor_client, article, pinned_until="")
    assert response.status_code == 200, response.content
    assert Article.objects.get(pk=article.pk).pinned_until is None
    assert [row[0] for row in schedule_history(article)] == ["pinned_until", "pinned_until"]


def test_an_end_before_the_start_is_refused_naming_the_field_and_nothing_is_written(
    editor_client, article
):
    response = save_row(
        editor_client, article, publish_at="2030-06-03T08:30", unpublish_at="2030-06-03T08:00"
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["message"] == SCHEDULE_ORDER_MESSAGE
    assert "Unpublish at" in answer["message"]
    assert answer["errors"] == {"unpublish_at": [SCHEDULE_ORDER_MESSAGE]}
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.publish_at, fresh.unpublish_at, fresh.version) == (None, None, article.version)
    assert schedule_history(article) == []


def test_the_rule_holds_against_the_stored_other_end(editor_client, article):
    """Only the end is sent: the start already stored still counts."""
    assert save_row(editor_client, article, publish_at="2030-06-03T08:30").status_code == 200
    response = save_row(editor_client, article, unpublish_at="2030-06-01T00:00")
    assert response.status_code == 400
    assert response.json()["errors"] == {"unpublish_at": [SCHEDULE_ORDER_MESSAGE]}
    assert Article.objects.get(pk=article.pk).unpublish_at is None


def test_a_time_that_is_not_one_is_refused_naming_the_field(editor_client, article):
    response = save_row(editor_client, article, publish_at="next tuesday")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["publish_at"]
    assert Article.objects.get(pk=article.pk).publish_at is None


def test_an_untouched_time_with_seconds_sent_back_changes_nothing(editor_client, article):
    """The input holds what the list drew (seconds kept, as a browser keeps them)."""
    Article.objects.filter(pk=article.pk).update(
        publish_at=datetime.datetime(2030, 6, 3, 8, 30, 15, 123456, tzinfo=UTC)
    )
    html = editor_client.get(CHANGELIST + "?reviewed=all").content.decode()
    assert 'name="form-0-publish_at" value="2030-06-03T08:30:15"' in html
    response = save_row(editor_client, article, publish_at="2030-06-03T08:30:15")
    assert response.status_code == 200
    assert response.json()["changed"] == []
    assert schedule_history(article) == []


def test_the_lists_own_save_takes_the_schedule_through_the_same_rule(editor_client, article):
    row = list_row(article, publish_at="2030-06-03T08:30", unpublish_at="2030-06-01T08:30")
    response = editor_client.post(CHANGELIST + "?reviewed=all", list_post(row))
    assert response.status_code == 200  # the page again, with the error
    assert SCHEDULE_ORDER_MESSAGE in response.content.decode()
    assert Article.objects.get(pk=article.pk).unpublish_at is None

    row["unpublish_at"] = "2030-06-09T08:30"
    response = editor_client.post(CHANGELIST + "?reviewed=all", list_post(row))
    assert response.status_code == 302
    fresh = Article.objects.get(pk=article.pk)
    assert fresh.unpublish_at == datetime.datetime(2030, 6, 9, 8, 30, tzinfo=UTC)
    assert {c[0] for c in schedule_history(article)} == {"publish_at", "unpublish_at"}
    assert {c[3] for c in schedule_history(article)} == {ArticleChange.Via.LIST}


def test_the_change_form_refuses_the_same_schedule_with_the_same_message(editor_client, article):
    url = reverse("admin:curation_article_change", args=[article.pk])
    data = editorial_post(
        article,
        publish_at_0="2030-06-03",
        publish_at_1="08:30",
        unpublish_at_0="2030-06-03",
        unpublish_at_1="08:00",
    )
    response = editor_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["unpublish_at"] == [SCHEDULE_ORDER_MESSAGE]
    assert Article.objects.get(pk=article.pk).unpublish_at is None


def test_a_bulk_action_refuses_an_end_before_an_articles_own_start(admin_client, article):
    other = make_article("Other story", published=True)
    Article.objects.filter(pk=article.pk).update(
        publish_at=timezone.now() + datetime.timedelta(days=30)
    )
    moment = timezone.localtime(timezone.now() + datetime.timedelta(days=2))
    response = admin_client.post(
        CHANGELIST,
        {
            "action": "schedule_unpublication",
            "_selected_action": [article.pk, other.pk],
            "apply": "1",
            "moment": moment.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 200
    assert (
        "1 selected article would end before it starts, so nothing was changed."
        in response.content.decode()
    )
    # All or nothing: neither article has an end.
    assert not Article.objects.filter(unpublish_at__isnull=False).exists()


def test_the_list_query_count_stays_fixed_with_schedules_shown(
    editor_client, django_assert_num_queries
):
    def add(count: int) -> None:
        for n in range(count):
            make_article(
                f"Story {Article.objects.count()}",
                publish_at=datetime.datetime(2030, 1, 1, tzinfo=UTC) if n % 2 else None,
                pinned_until=datetime.datetime(2030, 1, 2, tzinfo=UTC) if n % 3 else None,
            )

    add(3)
    with CaptureQueriesContext(connection) as few:
        assert len(editor_client.get(CHANGELIST + "?reviewed=all").context["cl"].result_list) == 3
    add(30)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(editor_client.get(CHANGELIST + "?reviewed=all").context["cl"].result_list) == 33
