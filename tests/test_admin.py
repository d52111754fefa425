"""The editorial admin, through the test client: roles, raw POSTs, history, stale saves, speed."""

from __future__ import annotations

import datetime
import importlib
import threading

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from curation import editorial
from curation.importer import import_seeds
from curation.models import (
    Article,
    ArticleChange,
    ArticleImage,
    ArticleTopic,
    Provider,
    RelatedItem,
    Topic,
)
from tests.conftest import SAMPLE_SEEDS

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:curation_article_changelist")
SECRET = "S3CR3T-" + "x" * 200


# -- test data --------------------------------------------------------------------------------


def make_article(title: str = "Harbour cranes go electric", **fields) -> Article:
    fields.setdefault("key", f"t_{Article.objects.count():04d}_{abs(hash(title)) % 10**8}")
    fields.setdefault("published_at", timezone.now() - datetime.timedelta(hours=1))
    fields.setdefault("excerpt", "An excerpt.")
    fields.setdefault("category", "news")
    fields.setdefault("type", "article")
    fields.setdefault("quality", 10)
    fields.setdefault("heat", 5)
    fields.setdefault("secured", SECRET)
    fields.setdefault("source_text", "---\ntitle: the seed file\n---\n")
    fields.setdefault("version", 1)
    fields.setdefault("seed_version", 1)
    return Article.objects.create(title=title, **fields)


def dress(article: Article, *, topics=("AI", "Transport"), images=("https://img.example/a.jpg",)):
    """Give an article topics, images and one related item, as an import would."""
    for position, name in enumerate(topics):
        topic, _ = Topic.objects.get_or_create(name=name)
        ArticleTopic.objects.create(article=article, topic=topic, position=position)
    for position, url in enumerate(images):
        ArticleImage.objects.create(article=article, position=position, url=url, title=f"img {url}")
    RelatedItem.objects.create(
        article=article,
        position=0,
        title="How ports became data companies",
        web_url="https://news.example/ports",
        images=[{"url": "https://img.example/related.jpg"}],
    )
    return article


@pytest.fixture
def provider():
    return Provider.objects.create(name="Harbour Gazette", domain="harbourgazette.example")


@pytest.fixture
def article(provider):
    return dress(make_article(provider=provider))


@pytest.fixture
def sample_articles():
    report = import_seeds([SAMPLE_SEEDS])
    assert report.ok, report.failed
    return Article.objects.all()


def change_url(article: Article) -> str:
    return reverse("admin:curation_article_change", args=[article.pk])


def editorial_post(article: Article, **overrides) -> dict:
    """What the change form posts for an editor, starting from the article's current state."""
    data = {
        "quality": article.quality if article.quality is not None else "",
        "heat": article.heat if article.heat is not None else "",
        "expected_version": article.version,
        "_save": "Save",
    }
    if article.published:
        data["published"] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def list_post(*rows: dict) -> dict:
    """What the change list posts: one formset form per row (``published`` omitted = False)."""
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            if name == "published":
                if value:
                    data[f"form-{index}-published"] = "on"
            elif value is not None:
                data[f"form-{index}-{name}"] = value
    return data


def list_row(article: Article, **overrides) -> dict:
    row = {
        "id": article.pk,
        "published": article.published,
        "quality": article.quality if article.quality is not None else "",
        "heat": article.heat if article.heat is not None else "",
        "expected_version": article.version,
    }
    row.update(overrides)
    return row


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def action_post(action: str, *articles: Article, **extra) -> dict:
    return {"action": action, "_selected_action": [a.pk for a in articles], **extra}


# -- the Editors role ---------------------------------------------------------------------------


def test_editors_group_may_view_curation_models_and_change_only_articles():
    group = Group.objects.get(name="Editors")
    codenames = set(group.permissions.values_list("codename", flat=True))
    rules = set(importlib.import_module("curation.migrations.0013_rules").EDITOR_PERMISSIONS)
    assert rules <= codenames  # editors manage rules (docs/rules.md)
    ingest = set(importlib.import_module("curation.migrations.0012_ingest").EDITOR_PERMISSIONS)
    assert ingest <= codenames  # editors see ingest health and retry failures (docs/ingest.md)
    assert codenames - rules - ingest == {
        "view_article",
        "change_article",
        "view_provider",
        "view_topic",
        "view_articlechange",
    }


@pytest.mark.django_db(transaction=True)
def test_editors_group_migration_is_reversible():

    call_command("migrate", "curation", "0001", verbosity=0)
    assert not Group.objects.filter(name="Editors").exists()
    call_command("migrate", "curation", verbosity=0)
    rules = importlib.import_module("curation.migrations.0013_rules").EDITOR_PERMISSIONS
    ingest = importlib.import_module("curation.migrations.0012_ingest").EDITOR_PERMISSIONS
    assert Group.objects.get(name="Editors").permissions.count() == 5 + len(rules) + len(ingest)


# -- smoke: every page, every filter, as superuser and as editor -------------------------------


@pytest.mark.parametrize("role", ["superuser", "editor"])
def test_every_admin_page_and_filter_choice_renders(client, request, role, sample_articles):
    client.force_login(request.getfixturevalue(role))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.result_count == 32
    queries = [
        choice["query_string"]
        for spec in changelist.filter_specs
        for choice in spec.choices(changelist)
    ]
    assert len(queries) > 20  # published, category, type, provider, topics, quality, heat
    for query in [*queries, "?q=harbour", "?published_at__year=2024", "?o=5", "?o=-4.3"]:
        assert client.get(CHANGELIST + query).status_code == 200, query
    article = sample_articles.first()
    for url in [
        change_url(article),
        reverse("admin:curation_article_history", args=[article.pk]),
        reverse("admin:curation_provider_changelist"),
        reverse("admin:curation_topic_changelist"),
        reverse("admin:curation_articlechange_changelist"),
    ]:
        assert client.get(url).status_code == 200, url


def test_changelist_search_matches_title_excerpt_and_provider_name(super_client, provider):
    make_article("Cranes go electric", provider=provider)
    make_article("Tides", excerpt="The berth queue shrinks.")
    make_article("Unrelated story", key="unrelated")
    for term, expected in [
        ("cranes", {"Cranes go electric"}),
        ("berth", {"Tides"}),
        ("Harbour Gazette", {"Cranes go electric"}),
    ]:
        response = super_client.get(CHANGELIST, {"q": term})
        assert {a.title for a in response.context["cl"].result_list} == expected, term


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        ("quality_range", "none", {"unrated"}),
        ("quality_range", "low", {"q5"}),
        ("quality_range", "good", {"q60"}),
        ("quality_range", "top", {"q150"}),
        ("heat_range", "none", {"unrated", "q5"}),
        ("heat_range", "burning", {"q150"}),
        ("heat_range", "cold", {"q60"}),
    ],
)
def test_range_filters_select_articles_inside_the_range(super_client, parameter, value, expected):
    make_article("unrated", quality=None, heat=None, key="unrated")
    make_article("q5", quality=5, heat=-1, key="q5")
    make_article("q60", quality=60, heat=0, key="q60")
    make_article("q150", quality=150, heat=90, key="q150")
    response = super_client.get(CHANGELIST, {parameter: value})
    assert {a.title for a in response.context["cl"].result_list} == expected


def test_changelist_shows_a_thumbnail_only_for_http_images(super_client):
    dress(make_article("Safe picture", key="safe"), images=["https://img.example/ok.jpg"])
    dress(
        make_article("Hostile picture", key="hostile"),
        images=["javascript:alert(1)", "data:image/png;base64,AAAA"],
    )
    html = super_client.get(CHANGELIST).content.decode()
    assert 'src="https://img.example/ok.jpg"' in html
    assert "javascript:alert" not in html
    assert "data:image/png" not in html


def test_changelist_shows_topics_in_feed_order_and_the_editorial_inputs(super_client, article):
    html = super_client.get(CHANGELIST).content.decode()
    assert '<bdi dir="auto">AI</bdi>, <bdi dir="auto">Transport</bdi>' in html
    for name in ("published", "quality", "heat"):
        assert f'name="form-0-{name}"' in html
    assert f'name="form-0-expected_version" value="{article.version}"' in html


def test_changelist_query_count_does_not_grow_with_the_number_of_rows(
    super_client, provider, django_assert_num_queries
):
    def add(count: int) -> None:
        for _ in range(count):
            dress(make_article(f"Story {Article.objects.count()}", provider=provider))

    add(5)
    with CaptureQueriesContext(connection) as five_rows:
        assert len(super_client.get(CHANGELIST).context["cl"].result_list) == 5
    add(35)
    with django_assert_num_queries(len(five_rows.captured_queries)):
        assert len(super_client.get(CHANGELIST).context["cl"].result_list) == 40


# -- the change form ----------------------------------------------------------------------------


def test_change_form_puts_editorial_fields_first_and_shows_images_and_coverage(
    editor_client, article
):
    response = editor_client.get(change_url(article))
    fieldsets = response.context["adminform"].fieldsets
    assert fieldsets[0][1]["fields"][:3] == ["published", "quality", "heat"]
    html = response.content.decode()
    assert 'src="https://img.example/a.jpg"' in html
    assert 'href="https://news.example/ports"' in html
    assert "How ports became data companies" in html


def test_editor_change_form_has_inputs_only_for_editorial_fields(editor_client, article):
    form = editor_client.get(change_url(article)).context["adminform"].form
    # The editorial fields, and the front page's schedule and pin (issue 15).
    assert set(form.fields) == {
        "published",
        "quality",
        "heat",
        "expected_version",
        "publish_at",
        "unpublish_at",
        "pinned_until",
        "pin_order",
    }


def test_superuser_may_correct_feed_fields_but_never_secured_or_bookkeeping(super_client, article):
    form = super_client.get(change_url(article)).context["adminform"].form
    assert {"title", "excerpt", "provider", "web_url", "body"} <= set(form.fields)
    for name in ("secured", "source_text", "source_hash", "key", "version", "seed_version"):
        assert name not in form.fields


def test_secured_is_shown_only_truncated(super_client, article):
    html = super_client.get(change_url(article)).content.decode()
    assert SECRET[:10] in html
    assert SECRET not in html
    assert 'name="secured"' not in html


# -- raw POSTs cannot reach what the role may not change ----------------------------------------


def test_editor_form_post_changes_editorial_fields_and_ignores_everything_else(
    editor_client, article
):
    data = editorial_post(
        article,
        quality=77,
        title="Hacked",
        secured="tampered",
        source_text="tampered",
        key="tampered",
        version=999,
        seed_version=999,
        body="tampered",
    )
    response = editor_client.post(change_url(article), data)
    assert response.status_code == 302
    fresh = Article.objects.get(pk=article.pk)
    assert fresh.quality == 77
    assert (fresh.title, fresh.secured, fresh.key, fresh.body) == (
        article.title,
        SECRET,
        article.key,
        article.body,
    )
    assert fresh.source_text == article.source_text
    assert fresh.version == article.version + 1


def test_superuser_form_post_cannot_change_secured_or_bookkeeping(super_client, article):
    data = {
        **editorial_post(article),
        "title": "Corrected title",
        "excerpt": article.excerpt,
        "category": article.category,
        "type": article.type,
        "published_at_0": article.published_at.date().isoformat(),
        "published_at_1": article.published_at.time().replace(microsecond=0).isoformat(),
        "provider": article.provider_id,
        "secured": "tampered",
        "source_text": "tampered",
        "source_hash": "tampered",
        "seed_version": 999,
    }
    response = super_client.post(change_url(article), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    fresh = Article.objects.get(pk=article.pk)
    assert fresh.title == "Corrected title"
    assert (fresh.secured, fresh.source_text, fresh.seed_version) == (
        SECRET,
        article.source_text,
        article.seed_version,
    )


def test_editor_list_post_changes_editorial_fields_and_ignores_everything_else(
    editor_client, article
):
    row = list_row(article, heat=42, title="Hacked", secured="tampered", seed_version=999)
    response = editor_client.post(CHANGELIST, list_post(row))
    assert response.status_code == 302
    fresh = Article.objects.get(pk=article.pk)
    assert fresh.heat == 42
    assert (fresh.title, fresh.secured, fresh.seed_version) == (article.title, SECRET, 1)


def test_editors_cannot_add_or_delete_articles(editor_client, article):
    assert editor_client.get(reverse("admin:curation_article_add")).status_code == 403
    delete = reverse("admin:curation_article_delete", args=[article.pk])
    assert editor_client.post(delete, {"post": "yes"}).status_code == 403
    editor_client.post(CHANGELIST, action_post("delete_selected", article, post="yes"))
    assert Article.objects.filter(pk=article.pk).exists()


def test_editors_cannot_change_providers_topics_or_history(editor_client, article, provider):
    url = reverse("admin:curation_provider_change", args=[provider.pk])
    editor_client.post(url, {"name": "Renamed", "domain": provider.domain})
    assert Provider.objects.get(pk=provider.pk).name == "Harbour Gazette"
    assert editor_client.get(reverse("admin:curation_topic_add")).status_code == 403


def test_nobody_renames_providers_or_topics_behind_the_articles_versions(super_client, article):
    provider, topic = article.provider, article.topics.first()
    url = reverse("admin:curation_provider_change", args=[provider.pk])
    assert super_client.get(url).status_code == 200  # a read-only page
    assert super_client.post(url, {"name": "Renamed", "domain": "x"}).status_code == 403
    url = reverse("admin:curation_topic_change", args=[topic.pk])
    assert super_client.post(url, {"name": "Renamed"}).status_code == 403
    assert (Provider.objects.get(pk=provider.pk).name, Topic.objects.get(pk=topic.pk).name) == (
        "Harbour Gazette",
        "AI",
    )


def test_superuser_may_add_an_article_and_it_counts_as_not_imported(super_client):
    response = super_client.get(reverse("admin:curation_article_add"))
    assert response.status_code == 200
    data = {"title": "Written here", "quality": "3", "heat": "-1", "_save": "Save"}
    response = super_client.post(reverse("admin:curation_article_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    article = Article.objects.get(title="Written here")
    assert article.key.startswith("local_")
    assert article.edited_since_import


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_staff_without_a_role_and_non_staff_cannot_reach_articles(client, django_user_model):
    staff = django_user_model.objects.create_user("stan", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_article"))
    client.force_login(staff)
    for url in (reverse("admin:index"), CHANGELIST):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
    outsider = django_user_model.objects.create_user("olga", password="pw")
    outsider.user_permissions.add(Permission.objects.get(codename="change_article"))
    client.force_login(outsider)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


# -- history and version ------------------------------------------------------------------------


def test_form_save_records_who_what_and_raises_the_version(editor_client, editor, article):
    editor_client.post(change_url(article), editorial_post(article, quality=80, published="on"))
    fresh = Article.objects.get(pk=article.pk)
    assert fresh.version == article.version + 1
    assert fresh.edited_since_import
    changes = {
        (c.field, c.old_value, c.new_value, c.user_id, c.via)
        for c in ArticleChange.objects.filter(article=article)
    }
    assert changes == {
        ("quality", 10, 80, editor.pk, "form"),
        ("published", False, True, editor.pk, "form"),
    }


def test_superuser_correction_of_provider_is_recorded_by_name(super_client, article):
    other = Provider.objects.create(name="Tech Dispatch", domain="techdispatch.test")
    editorial.apply_editorial_changes(article, {"provider": other}, user=None, via="form")
    change = ArticleChange.objects.get(article=article)
    assert (change.field, change.old_value, change.new_value) == (
        "provider",
        "Harbour Gazette",
        "Tech Dispatch",
    )


def test_saving_without_changes_leaves_version_and_history_alone(editor_client, article):
    response = editor_client.post(change_url(article), editorial_post(article))
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).version == article.version
    assert not ArticleChange.objects.exists()


def test_list_save_records_history_via_the_list(editor_client, editor, article):
    editor_client.post(CHANGELIST, list_post(list_row(article, published=True)))
    change = ArticleChange.objects.get(article=article)
    assert (change.field, change.new_value, change.via, change.user) == (
        "published",
        True,
        "list",
        editor,
    )
    assert Article.objects.get(pk=article.pk).version == article.version + 1


def test_history_page_shows_changes_from_form_list_and_actions(editor_client, article):
    editor_client.post(change_url(article), editorial_post(article, quality=80))
    article.refresh_from_db()
    editor_client.post(CHANGELIST, list_post(list_row(article, heat=33)))
    # From "All articles": the edits reviewed it, so it has left the list's default view (the
    # queue), and an action applies only to the rows of the view it is run from.
    editor_client.post(f"{CHANGELIST}?reviewed=all", action_post("publish", article))
    html = editor_client.get(reverse("admin:curation_article_history", args=[article.pk]))
    text = html.content.decode()
    for expected in ("change form", "change list", "bulk action", "edna", "quality", "heat"):
        assert expected in text
    assert "3 changes" in text


# -- bulk actions -------------------------------------------------------------------------------


def test_publish_action_says_how_many_articles_changed(editor_client, editor):
    drafts = [make_article(f"Draft {n}", key=f"draft{n}") for n in range(3)]
    live = make_article("Live", key="live", published=True)
    response = editor_client.post(CHANGELIST, action_post("publish", *drafts, live), follow=True)
    assert messages_of(response) == [
        "3 articles published. 1 already had that value and was left as it was."
    ]
    assert Article.objects.filter(published=True).count() == 4
    assert Article.objects.get(pk=live.pk).version == 1
    assert {a.version for a in Article.objects.exclude(pk=live.pk)} == {2}
    assert ArticleChange.objects.filter(via="action", user=editor, field="published").count() == 3


def test_unpublish_action_hides_articles(editor_client):
    live = [make_article(f"Live {n}", key=f"live{n}", published=True) for n in range(2)]
    response = editor_client.post(CHANGELIST, action_post("unpublish", *live), follow=True)
    assert messages_of(response) == ["2 articles unpublished."]
    assert not Article.objects.published().exists()


@pytest.mark.parametrize("field", ["quality", "heat"])
def test_set_value_action_asks_for_the_value_then_sets_it(editor_client, field):
    articles = [make_article(f"Story {n}", key=f"s{n}") for n in range(2)]
    action = f"set_{field}"
    page = editor_client.post(CHANGELIST, action_post(action, *articles))
    assert page.status_code == 200
    assert page.templates[0].name == "admin/curation/article/set_value.html"
    assert "Story 0" in page.content.decode()
    assert {getattr(a, field) for a in Article.objects.all()} != {64}

    done = editor_client.post(
        CHANGELIST, action_post(action, *articles, apply="Set", value="64"), follow=True
    )
    assert messages_of(done) == [f"{field.capitalize()} set to 64 on 2 articles."]
    assert {getattr(a, field) for a in Article.objects.all()} == {64}
    assert ArticleChange.objects.filter(via="action", field=field).count() == 2


def test_set_value_action_refuses_a_non_number(editor_client, article):
    page = editor_client.post(
        CHANGELIST, action_post("set_quality", article, apply="Set", value="lots")
    )
    assert page.status_code == 200
    assert "Enter a whole number" in page.content.decode()
    assert Article.objects.get(pk=article.pk).quality == 10


@pytest.mark.parametrize("filtered_by", ["category", "topic"])
def test_set_value_action_applies_to_all_matching_articles_when_selected_across(
    editor_client, sample_articles, filtered_by
):
    if filtered_by == "category":
        query, matching = "category__exact=sports", Article.objects.filter(category="sports")
    else:
        topic = Topic.objects.get(name="AI")
        query, matching = f"topics__id__exact={topic.pk}", Article.objects.filter(topics=topic)
    data = action_post(
        "set_heat", sample_articles.first(), select_across="1", apply="Set", value="7"
    )
    editor_client.post(f"{CHANGELIST}?{query}", data)
    assert matching.exists()
    assert set(matching.values_list("heat", flat=True)) == {7}
    others = Article.objects.exclude(pk__in=matching.values("pk"))
    assert 7 not in set(others.values_list("heat", flat=True))


def test_set_value_action_refuses_an_empty_value(editor_client, article):
    page = editor_client.post(
        CHANGELIST, action_post("set_quality", article, apply="Set", value="")
    )
    assert page.status_code == 200
    assert "This field is required" in page.content.decode()
    assert Article.objects.get(pk=article.pk).quality == 10


# -- no lost updates ----------------------------------------------------------------------------


def test_stale_change_form_save_is_refused_with_a_clear_message(
    editor_client, other_editor, article
):
    loaded_version = article.version
    editorial.apply_editorial_changes(
        Article.objects.get(pk=article.pk), {"heat": 99}, user=other_editor, via="form"
    )
    response = editor_client.post(
        change_url(article), editorial_post(article, quality=1, expected_version=loaded_version)
    )
    assert response.status_code == 200
    assert "someone else saved it while you were working" in response.content.decode()
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.quality, fresh.heat) == (10, 99)


def test_stale_list_save_is_refused_and_does_not_overwrite_the_other_edit(
    editor_client, other_editor, article
):
    second = make_article("Second story", key="second")
    page = editor_client.get(CHANGELIST)
    assert page.status_code == 200
    # Someone else changes the first article after the list was drawn...
    editorial.apply_editorial_changes(
        Article.objects.get(pk=article.pk), {"heat": 99}, user=other_editor, via="list"
    )
    # ...and this editor saves the page: a change to the second article, the first as drawn.
    data = list_post(list_row(article), list_row(second, quality=55))
    response = editor_client.post(CHANGELIST, data)
    assert response.status_code == 200
    assert "someone else saved it while you were working" in response.content.decode()
    assert Article.objects.get(pk=article.pk).heat == 99
    assert Article.objects.get(pk=second.pk).quality == 10  # nothing on the page was saved


def test_list_save_is_not_blocked_by_a_row_nobody_changes_after_all(
    editor_client, other_editor, article
):
    second = make_article("Second story", key="second")
    loaded_version = article.version
    editorial.apply_editorial_changes(
        Article.objects.get(pk=article.pk), {"heat": 99}, user=other_editor, via="list"
    )
    # The row as posted already equals what is stored: saving it would not overwrite anything.
    same = list_row(Article.objects.get(pk=article.pk), expected_version=loaded_version)
    response = editor_client.post(CHANGELIST, list_post(same, list_row(second, quality=55)))
    assert response.status_code == 302
    assert Article.objects.get(pk=second.pk).quality == 55


def test_apply_refuses_a_stale_expected_version_inside_the_transaction(article):
    editorial.apply_editorial_changes(article, {"heat": 1}, user=None, via="form")
    with pytest.raises(editorial.StaleVersion):
        editorial.apply_editorial_changes(
            article, {"heat": 2}, user=None, via="form", expected_version=article.version - 1
        )
    assert Article.objects.get(pk=article.pk).heat == 1


def test_a_save_racing_another_between_validation_and_write_is_refused(
    editor_client, article, monkeypatch
):
    """The form saw the current version, but another save lands before this one writes."""
    original = editorial.apply_editorial_changes

    def racing(target, changes, **kwargs):
        Article.objects.filter(pk=target.pk).update(version=target.version + 1)
        return original(target, changes, **kwargs)

    monkeypatch.setattr(editorial, "apply_editorial_changes", racing)
    response = editor_client.post(
        change_url(article), editorial_post(article, quality=3), follow=True
    )
    assert any("someone else saved it" in m for m in messages_of(response))
    assert Article.objects.get(pk=article.pk).quality == 10


# -- edits and the importer ---------------------------------------------------------------------


def test_a_list_edit_survives_the_reimport_of_a_changed_seed_file(editor_client, tmp_path):
    source = sorted(SAMPLE_SEEDS.glob("000_*.txt"))[0]
    seed = tmp_path / source.name
    seed.write_bytes(source.read_bytes())
    assert import_seeds([seed]).ok
    article = Article.objects.get(key=seed.stem)
    assert (article.published, article.quality) == (False, 12)

    editor_client.post(CHANGELIST, list_post(list_row(article, published=True)))
    assert Article.objects.get(pk=article.pk).edited_since_import

    changed = seed.read_bytes().replace(b"\nquality: 12\n", b"\nquality: 3\n", 1)
    assert changed != seed.read_bytes()
    seed.write_bytes(changed)
    report = import_seeds([seed])
    assert report.updated == [seed.stem]
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.published, fresh.quality) == (True, 3)  # the editor's flag, the file's score


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_saves_from_the_same_version_let_exactly_one_through():
    if connection.vendor != "postgresql":
        pytest.skip("needs two real connections; in-memory SQLite gives each thread its own db")
    article = make_article()
    start = threading.Barrier(2)
    outcomes = []

    def save(quality: int) -> None:
        try:
            start.wait()
            mine = Article.objects.get(pk=article.pk)
            editorial.apply_editorial_changes(
                mine, {"quality": quality}, user=None, via="form", expected_version=1
            )
            outcomes.append("saved")
        except editorial.StaleVersion:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(value,)) for value in (20, 30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "saved"]
    assert Article.objects.get(pk=article.pk).version == 2
    assert ArticleChange.objects.filter(article=article).count() == 1


def test_admin_says_newsroom_not_django(admin_client):
    assert "Newsroom curation" in admin_client.get(reverse("admin:index")).content.decode()
