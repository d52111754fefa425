import os
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
SAMPLE_SEEDS = PROJECT_DIR / "seeds"
REAL_SEEDS = Path(os.environ.get("NEWSROOM_REAL_SEEDS", PROJECT_DIR.parent / "shared" / "seeds"))
ARTIFACTS = PROJECT_DIR / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require(condition: bool, reason: str) -> None:
    """Outside CI a missing resource skips with the reason; in CI it is a failure."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def real_seeds_dir() -> Path:
    _require(REAL_SEEDS.is_dir(), f"the real seed files are not at {REAL_SEEDS}")
    return REAL_SEEDS


@pytest.fixture(scope="session")
def real_seed_files(real_seeds_dir) -> list[Path]:
    return sorted(real_seeds_dir.glob("*.txt"))


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium for one test.

    Per test, not per session: while Playwright's sync API is running, its event loop counts as
    running in this thread, and Django would refuse every ORM call made by later tests.
    """
    _require(
        Path(CHROMIUM).exists(),
        f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    )
    # The test's own ORM calls around Playwright are synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser page; a screenshot of its last state is saved under test-artifacts/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


# Accounts in each admin role, shared by the admin, desk and browser tests.
PASSWORD = "a-long-editor-password"


def editors_group():
    """The Editors group exactly as migration 0002 makes it.

    Migrations write it once; a transactional test empties every table when it ends, so a test
    that runs after one makes the group again, with the migration's code.
    """
    import importlib
    from types import SimpleNamespace

    from django.apps import apps as django_apps
    from django.contrib.auth.models import Group
    from django.db import connection

    if not Group.objects.filter(name="Editors").exists():
        migration = importlib.import_module("curation.migrations.0002_editors_group")
        migration.create_editors_group(django_apps, SimpleNamespace(connection=connection))
    return Group.objects.get(name="Editors")


def _editor_account(django_user_model, username: str):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(editors_group())
    return user


@pytest.fixture
def editor(django_user_model):
    return _editor_account(django_user_model, "edna")


@pytest.fixture
def other_editor(django_user_model):
    return _editor_account(django_user_model, "otto")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password=PASSWORD)


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def super_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def run_ingest_jobs():
    """Run the ingest jobs queued so far in this test's own transaction, as a worker would
    (PostgreSQL; the real workers' tests are tests/test_ingest_workers.py). On SQLite the jobs
    already ran in-process when they were asked for: nothing is queued."""
    import json

    from django.db import connection

    from curation import ingest

    done: set[int] = set()

    def run() -> int:
        if connection.vendor != "postgresql":
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, task_name, args FROM procrastinate_jobs WHERE status = 'todo' "
                "AND task_name IN ('curation.ingest_files', 'curation.ingest_delivery') "
                "ORDER BY id"
            )
            jobs = [job for job in cursor.fetchall() if job[0] not in done]
        for job_id, task, args in jobs:
            done.add(job_id)
            args = json.loads(args) if isinstance(args, str) else args  # Django reads jsonb raw
            if task == "curation.ingest_files":
                ingest.import_folder_files(args["source_id"], args["paths"], job_id=job_id)
            else:
                ingest.import_delivery(args["delivery_id"], job_id=job_id)
        return len(jobs)

    return run
