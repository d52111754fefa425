"""The desk's row save (one row of the article list, saved without reloading the page): the same
form, version check, history and roles as the list's own Save."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from curation import editorial
from curation.models import EDITORIAL_FIELDS, Article, ArticleChange
from tests.test_admin import CHANGELIST, list_post, list_row, make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def article():
    return make_article(published=False, quality=10, heat=5)


def row_url(article: Article) -> str:
    return reverse("admin:curation_article_editorial", args=[article.pk])


def save_row(client: Client, article: Article, **fields):
    fields.setdefault("expected_version", article.version)
    return client.post(row_url(article), fields)


def state(article: Article) -> tuple:
    fresh = Article.objects.get(pk=article.pk)
    return (fresh.published, fresh.quality, fresh.heat, fresh.version, fresh.title)


def test_row_save_writes_through_the_list_path_with_history_and_version(
    editor_client, editor, article
):
    response = save_row(editor_client, article, quality="40", heat="12")
    assert response.status_code == 200
    answer = response.json()
    assert answer == {
        "ok": True,
        "changed": ["quality", "heat"],
        "version": article.version + 1,
        "values": {"published": False, "quality": 40, "heat": 12},
    }
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.quality, fresh.heat, fresh.version) == (40, 12, article.version + 1)
    history = {
        c.field: c
        for c in ArticleChange.objects.filter(article=article, field__in=EDITORIAL_FIELDS)
    }
    assert set(history) == {"quality", "heat"}
    assert history["quality"].via == ArticleChange.Via.LIST
    assert history["quality"].user == editor
    assert (history["quality"].old_value, history["quality"].new_value) == (10, 40)
    assert (history["heat"].old_value, history["heat"].new_value) == (5, 12)
    # A decision like any other: the article leaves the review queue, stamped by this editor.
    assert (fresh.reviewed_by, fresh.reviewed_at is not None) == (editor, True)
    # Like a list save, it also appears among the admin's recent actions.
    assert LogEntry.objects.filter(object_id=str(article.pk), user=editor).exists()


def test_row_save_publishes_and_unpublishes(editor_client, article):
    response = save_row(editor_client, article, published="true")
    assert response.status_code == 200
    assert response.json()["values"]["published"] is True
    assert Article.objects.get(pk=article.pk).published
    response = save_row(editor_client, article, published="false", expected_version=2)
    assert response.status_code == 200
    assert not Article.objects.get(pk=article.pk).published
    assert list(
        ArticleChange.objects.filter(article=article, field="published")
        .order_by("changed_at", "pk")
        .values_list("old_value", "new_value")
    ) == [(False, True), (True, False)]


def test_row_save_sends_only_what_it_sets_and_an_empty_box_clears_the_score(editor_client, article):
    response = save_row(editor_client, article, quality="")
    assert response.status_code == 200
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.published, fresh.quality, fresh.heat) == (False, None, 5)


def test_row_save_of_the_stored_values_changes_nothing(editor_client, article):
    before = state(article)
    response = save_row(editor_client, article, quality="10", published="false")
    assert response.status_code == 200
    assert response.json()["changed"] == []
    assert state(article) == before
    assert not ArticleChange.objects.exists()


def test_stale_row_save_is_refused_with_the_lists_message_and_changes_nothing(
    editor_client, other_editor, article
):
    drawn = article.version
    editorial.apply_editorial_changes(
        Article.objects.get(pk=article.pk), {"heat": 99}, user=other_editor, via="list"
    )
    before = state(article)
    history = ArticleChange.objects.count()

    response = save_row(editor_client, article, quality="55", expected_version=drawn)

    assert response.status_code == 409
    answer = response.json()
    assert answer["ok"] is False
    assert "was not saved: someone else saved it while you were working" in answer["message"]
    assert (
        f"you started from version {drawn}, it is now at version {drawn + 1}" in (answer["message"])
    )
    assert "It now reads: published no; quality 10; heat 99." in answer["message"]
    assert answer["values"] == {"published": False, "quality": 10, "heat": 99}
    assert answer["version"] == drawn + 1
    assert state(article) == before
    assert ArticleChange.objects.count() == history

    # Word for word what the list's own Save says in the same situation.
    page = editor_client.post(
        CHANGELIST, list_post(list_row(article, quality=55, expected_version=drawn))
    )
    assert answer["message"] in page.context["cl"].formset.forms[0].non_field_errors()


def test_a_row_save_racing_another_between_validation_and_write_is_refused(
    editor_client, article, monkeypatch
):
    original = editorial.apply_editorial_changes

    def racing(target, changes, **kwargs):
        Article.objects.filter(pk=target.pk).update(version=target.version + 1)
        return original(target, changes, **kwargs)

    monkeypatch.setattr(editorial, "apply_editorial_changes", racing)
    response = save_row(editor_client, article, quality="3")
    assert response.status_code == 409
    assert "someone else saved it" in response.json()["message"]
    assert response.json()["values"]["quality"] == 10
    assert Article.objects.get(pk=article.pk).quality == 10


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quality", "3000", "Quality runs from 0 to 1000; 3000 is outside that range."),
        ("heat", "-2", "Heat runs from -1 to 1000; -2 is outside that range."),
        ("quality", "lots", "Enter a whole number."),
    ],
)
def test_out_of_range_row_save_is_refused_with_the_fields_message(
    editor_client, article, field, value, message
):
    before = state(article)
    response = save_row(editor_client, article, **{field: value})
    assert response.status_code == 400
    answer = response.json()
    assert answer["message"] == message
    assert answer["errors"] == {field: [message]}
    assert state(article) == before
    assert not ArticleChange.objects.exists()


def test_row_save_needs_the_version_it_started_from(editor_client, article):
    response = editor_client.post(row_url(article), {"quality": "20"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"expected_version": ["This field is required."]}
    assert Article.objects.get(pk=article.pk).quality == 10


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "Rewritten by an editor"},
        {"title": "Rewritten by an editor", "quality": "20"},
        {"version": "99", "quality": "20"},
        {"published": "yes"},
        {},
    ],
)
def test_row_save_touches_only_the_editorial_fields(editor_client, article, fields):
    before = state(article)
    response = save_row(editor_client, article, **fields)
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert state(article) == before


def test_superuser_row_save_cannot_touch_feed_fields_either(super_client, article):
    before = state(article)
    response = save_row(super_client, article, title="Corrected")
    assert response.status_code == 400
    assert state(article) == before


def test_an_account_that_may_only_view_articles_gets_403(editor_client, article):
    Group.objects.get(name="Editors").permissions.remove(
        Permission.objects.get(codename="change_article")
    )
    before = state(article)
    response = save_row(editor_client, article, quality="20")
    assert response.status_code == 403
    assert state(article) == before


def test_staff_without_a_role_and_anonymous_visitors_are_sent_to_the_login_page(
    client, django_user_model, article
):
    staff = django_user_model.objects.create_user("stan", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_article"))
    before = state(article)
    for who in (staff, None):
        client.logout()
        if who is not None:
            client.force_login(who)
        response = save_row(client, article, quality="20")
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
    assert state(article) == before


def test_missing_article_is_404_and_get_is_refused(editor_client, article):
    missing = reverse("admin:curation_article_editorial", args=[article.pk + 1000])
    response = editor_client.post(missing, {"quality": "20", "expected_version": "1"})
    assert response.status_code == 404
    assert response.json()["ok"] is False
    assert editor_client.get(row_url(article)).status_code == 405


def test_row_save_enforces_csrf(editor, article):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    before = state(article)
    response = save_row(client, article, quality="20")
    assert response.status_code == 403
    assert state(article) == before

    # With the token the page carries (as desk.js sends it, in the header), it goes through.
    page = client.get(CHANGELIST)
    token = page.context["csrf_token"]
    response = client.post(
        row_url(article),
        {"quality": "20", "expected_version": article.version},
        headers={"X-CSRFToken": str(token)},
    )
    assert response.status_code == 200
    assert Article.objects.get(pk=article.pk).quality == 20


def test_a_list_save_after_row_saves_is_not_refused_when_it_carries_the_new_version(
    editor_client, article
):
    """desk.js puts the version a row save returns into the page's hidden field."""
    second = make_article("Second story", key="second")
    answer = save_row(editor_client, article, quality="30").json()
    data = list_post(
        list_row(article, quality=30, heat=6, expected_version=answer["version"]),
        list_row(second, quality=55),
    )
    response = editor_client.post(CHANGELIST, data)
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).heat == 6
    assert Article.objects.get(pk=second.pk).quality == 55


def test_the_list_page_carries_the_desk_script_and_a_default_save_button(editor_client, article):
    page = editor_client.get(CHANGELIST).content.decode()
    assert 'src="/static/js/desk.js"' in page
    assert 'data-changelist-url="/admin/curation/article/"' in page
    # The first submit button in the list's form is Save, so Enter saves instead of running
    # the bulk action (Go), with or without JavaScript.
    form = page[page.index('id="changelist-form"') :]
    assert form.index('name="_save"') < form.index('name="index"')
