from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from curation.models import Article

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local_debug(settings):
    """``demo`` runs only in a local debug setup (see tests/test_trust_security.py)."""
    settings.DEBUG = True


def demo(**kwargs):
    # The test database on PostgreSQL is not a local debug setup: say so, as a person would.
    force = () if connection.vendor == "sqlite" else ("--force",)
    call_command("demo", "--no-serve", *force, stderr=StringIO(), **kwargs)


def test_demo_imports_the_sample_seeds_and_prints_a_working_editor_login(client):
    out = StringIO()
    demo(stdout=out)
    output = out.getvalue()
    assert Article.objects.count() == 32
    assert "Sample seeds imported: 32 created" in output
    line = next(line for line in output.splitlines() if line.startswith("Editor login:"))
    username, password = line.removeprefix("Editor login:").strip().split(" / ")
    assert client.login(username=username, password=password)
    assert client.get("/admin/curation/article/").status_code == 200


def test_running_demo_again_is_harmless(client):
    demo(stdout=StringIO())
    versions = list(Article.objects.values_list("key", "version"))
    out = StringIO()
    demo(stdout=out)
    assert "0 created, 0 updated, 32 unchanged" in out.getvalue()
    assert list(Article.objects.values_list("key", "version")) == versions
