"""The whole loop a newsroom runs: import the feed, curate in the admin, export, re-import."""

import shutil
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from curation.models import EDITORS_GROUP, Article
from tests.test_seedfile import changed_lines

pytestmark = pytest.mark.django_db

KEY_000 = "000_05b9351d468b7844"


@pytest.fixture
def editor_client(client, django_user_model):
    editor = django_user_model.objects.create_user("edna", password="pw", is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITORS_GROUP))
    client.force_login(editor)
    return client


def test_publishing_000_in_the_admin_exports_as_one_line_and_survives_reimport(
    editor_client, real_seeds_dir, tmp_path
):
    feed = tmp_path / "feed"
    shutil.copytree(real_seeds_dir, feed)
    call_command("import_seeds", str(feed), stdout=StringIO())
    article = Article.objects.get(key=KEY_000)
    response = editor_client.post(
        reverse("admin:curation_article_change", args=[article.pk]),
        {
            "published": "on",
            "quality": article.quality,
            "heat": article.heat,
            "expected_version": article.version,
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert Article.objects.get(key=KEY_000).published

    out = tmp_path / "out"
    call_command("export_seeds", str(out), stdout=StringIO())
    before = (feed / f"{KEY_000}.txt").read_text()
    after = (out / f"{KEY_000}.txt").read_text()
    assert changed_lines(before, after) == ["-published: false", "+published: true"]
    for other in feed.iterdir():
        if other.stem != KEY_000:
            assert (out / other.name).read_bytes() == other.read_bytes()

    report = StringIO()
    call_command("import_seeds", str(feed), stdout=report)
    # The feed's file did not change: nothing to decide, so no KEPT line (issue 11, point 4).
    assert "KEPT" not in report.getvalue() and "5 unchanged" in report.getvalue()
    assert Article.objects.get(key=KEY_000).published
    public = editor_client.get(reverse("curation:article-list")).content.decode()
    assert "Facial recognition cameras set to scan crowds" in public
