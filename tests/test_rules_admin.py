"""The rules' admin: editors and superusers manage, preview and apply rules; forms refuse
out-of-range values naming the field; the history says which rule changed what."""

import importlib
import re
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from curation.importer import import_seeds
from curation.models import Article, Rule
from tests.conftest import editors_group
from tests.test_rules_import import many, write_seed

pytestmark = pytest.mark.django_db

RULES_MIGRATION = importlib.import_module("curation.migrations.0013_rules")


@pytest.fixture(autouse=True)
def editors_manage_rules(request):
    """The Editors group as migrations 0002 and 0013 make it, also after a transactional test
    emptied the tables (conftest's ``editors_group`` replays 0002 only)."""
    if "transactional_db" in request.fixturenames:
        return
    editors_group()
    RULES_MIGRATION.grant_editors(django_apps, SimpleNamespace(connection=connection))


CHANGELIST = reverse("admin:curation_rule_changelist")
ADD = reverse("admin:curation_rule_add")


def form_data(**fields):
    data = {
        "name": "Wire strikes",
        "enabled": "on",
        "position": "0",
        "providers": "",
        "topics": "",
        "categories": "",
        "types": "",
        "words": "strike",
        "set_published": "unknown",
        "set_quality": "",
        "set_heat": "",
    }
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture(params=["editor_client", "super_client"])
def staff_client(request):
    return request.getfixturevalue(request.param)


def test_the_rule_pages_render_for_editors_and_superusers(staff_client, tmp_path):
    many(tmp_path, 3)
    rule = Rule.objects.create(name="Wire strikes", words="strike", set_quality=10)
    for url in (
        CHANGELIST,
        f"{CHANGELIST}?q=wire",
        f"{CHANGELIST}?enabled__exact=1",
        ADD,
        reverse("admin:curation_rule_change", args=[rule.pk]),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
    listing = staff_client.get(CHANGELIST).content.decode()
    assert "words: strike" in listing and "quality 10" in listing and "Preview" in listing
    add = staff_client.get(ADD).content.decode()
    assert "Leave as the feed says" in add and "Unpublish" in add
    assert "as whole words" in add  # the help texts explain the matching
    change = staff_client.get(reverse("admin:curation_rule_change", args=[rule.pk]))
    assert reverse("admin:curation_rule_preview", args=[rule.pk]) in change.content.decode()


def test_an_editor_creates_a_rule_through_the_form(editor_client):
    response = editor_client.post(ADD, form_data(set_quality="10", set_published="false"))
    assert response.status_code == 302
    rule = Rule.objects.get()
    assert (rule.set_quality, rule.set_published, rule.sets) == (
        10,
        False,
        {"published": False, "quality": 10},
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("set_quality", "1001", "Quality runs from 0 to 1000; 1001 is outside that range."),
        ("set_heat", "-2", "Heat runs from -1 to 1000; -2 is outside that range."),
    ],
)
def test_the_form_refuses_an_out_of_range_value_naming_the_field(
    editor_client, field, value, message
):
    response = editor_client.post(ADD, form_data(**{field: value}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert not Rule.objects.exists()


def test_the_form_refuses_a_rule_that_does_nothing(editor_client):
    response = editor_client.post(ADD, form_data())
    assert response.status_code == 200 and "must do something" in response.content.decode()


def test_the_list_orders_rules_and_toggles_them_in_place(editor_client):
    first = Rule.objects.create(name="first", position=1, set_heat=1)
    second = Rule.objects.create(name="second", position=2, set_heat=2)
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-0-id": str(first.pk),
        "form-0-position": "5",
        "form-0-enabled": "on",
        "form-1-id": str(second.pk),
        "form-1-position": "0",
        "_save": "Save",
    }
    response = editor_client.post(CHANGELIST, data)
    assert response.status_code == 302
    assert list(Rule.objects.values_list("name", "enabled")) == [
        ("second", False),
        ("first", True),
    ]


def test_preview_says_what_it_would_change_and_apply_does_it(staff_client, tmp_path):
    many(tmp_path, 3)
    write_seed(tmp_path, "calm", title="Bus timetable")
    import_seeds([tmp_path / "calm.txt"])
    rule = Rule.objects.create(name="Wire strikes", words="strike", set_quality=10)
    preview = staff_client.get(reverse("admin:curation_rule_preview", args=[rule.pk]))
    text = re.sub(r"<[^>]+>", "", preview.content.decode())
    assert "Would change 3" in text and "of the 3 stored articles it matches" in text
    assert "quality: 88 → 10" in text
    assert 'value="Apply to existing articles"' in preview.content.decode()
    apply_url = reverse("admin:curation_rule_apply", args=[rule.pk])
    assert staff_client.get(apply_url).status_code == 405
    response = staff_client.post(apply_url, follow=True)
    message = [str(m) for m in response.context["messages"]]
    assert message == ["Rule “Wire strikes” matched 3 stored articles and changed 3."]
    assert set(Article.objects.values_list("key", "quality")) == {
        ("k000", 10),
        ("k001", 10),
        ("k002", 10),
        ("calm", 88),
    }
    assert "Would change nothing" in staff_client.get(preview.request["PATH_INFO"]).content.decode()


def test_the_history_names_the_rule_as_who(editor_client, tmp_path):
    Rule.objects.create(name="Wire strikes", words="strike", set_quality=10)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    article = Article.objects.get(key="a")
    history = editor_client.get(reverse("admin:curation_article_history", args=[article.pk]))
    assert "rule Wire strikes" in history.content.decode()
    changes = editor_client.get(reverse("admin:curation_articlechange_changelist") + "?via=rule")
    assert changes.status_code == 200 and "Rail strike called off" in changes.content.decode()


def test_without_the_permissions_preview_and_apply_are_refused(editor_client, tmp_path):
    """Only editors and superusers reach the admin; take the Editors group's permissions away
    one at a time to see that each view checks its own."""
    many(tmp_path, 1)
    rule = Rule.objects.create(name="Wire strikes", words="strike", set_quality=10)
    group = Group.objects.get(name="Editors")
    preview = reverse("admin:curation_rule_preview", args=[rule.pk])
    apply_url = reverse("admin:curation_rule_apply", args=[rule.pk])
    # May manage rules but not change articles: the preview, without the button; apply refused.
    group.permissions.remove(Permission.objects.get(codename="change_article"))
    response = editor_client.get(preview)
    assert response.status_code == 200
    assert "Apply to existing articles" not in response.content.decode()
    assert editor_client.post(apply_url).status_code == 403
    # No rule permissions at all: neither the list nor the preview.
    group.permissions.remove(*Permission.objects.filter(codename__endswith="_rule"))
    assert editor_client.get(CHANGELIST).status_code == 403
    assert editor_client.get(preview).status_code == 403
    assert editor_client.post(apply_url).status_code == 403
    assert Article.objects.get().quality == 88


@pytest.mark.django_db(transaction=True)
def test_the_rules_migration_is_reversible_and_grants_editors_the_rule_permissions():
    call_command("migrate", "curation", "0012", verbosity=0)
    assert not editors_group().permissions.filter(codename__endswith="_rule").exists()
    call_command("migrate", "curation", verbosity=0)
    codenames = set(editors_group().permissions.values_list("codename", flat=True))
    assert set(RULES_MIGRATION.EDITOR_PERMISSIONS) <= codenames
    Rule.objects.create(name="after", set_heat=1)
