"""Sources by command and in the admin; the ingest admin pages for editors and superusers."""

import datetime
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from curation.ingest import import_paths
from curation.models import (
    Article,
    Delivery,
    IngestFailure,
    IngestRun,
    Source,
    Tombstone,
    hash_token,
)

pytestmark = pytest.mark.django_db

SEED = b"---\ntitle: Pushed\n---\nBody\n"


def sources(*args):
    out = StringIO()
    call_command("sources", *args, stdout=out)
    return out.getvalue()


def test_add_folder_makes_a_watched_folder_source(tmp_path):
    output = sources("add-folder", "Wire", str(tmp_path))
    assert "Added watched folder Wire." in output
    source = Source.objects.get(name="Wire")
    assert source.kind == Source.Kind.FOLDER and source.path == str(tmp_path)


def test_add_folder_refuses_a_missing_folder_and_a_taken_name(tmp_path):
    with pytest.raises(CommandError, match="no such folder"):
        sources("add-folder", "Wire", str(tmp_path / "missing"))
    sources("add-folder", "Wire", str(tmp_path))
    with pytest.raises(CommandError, match="already exists"):
        sources("add-push", "Wire")


def test_add_push_prints_a_working_token_as_its_last_line(client):
    token = sources("add-push", "Agency").strip().splitlines()[-1]
    cache.clear()
    response = client.post(
        "/api/ingest/",
        data=SEED,
        content_type="application/octet-stream",
        headers={"Authorization": f"Bearer {token}", "X-Seed-Name": "a.txt"},
    )
    assert response.status_code == 202


def test_list_shows_each_source_with_its_state(tmp_path):
    sources("add-folder", "Wire", str(tmp_path))
    sources("add-push", "Agency")
    Source.objects.filter(name="Agency").update(
        enabled=False,
        last_error="a.txt:2: title: missing",
        idle_alert_after=datetime.timedelta(hours=1),
        created_at=timezone.now() - datetime.timedelta(days=1),
    )
    lines = sources("list").splitlines()
    assert lines[0].startswith("Agency\tpush\tdisabled\tnr_")
    assert "last error: a.txt:2: title: missing" in lines[0]
    assert lines[1].startswith(f"Wire\tfolder\tenabled\t{tmp_path}\tlast success: never")


def test_list_with_no_sources_says_how_to_add_one():
    assert "sources add-folder NAME PATH" in sources("list")


# -- idle alerts -----------------------------------------------------------------------------


def test_a_source_is_idle_once_nothing_arrived_for_its_alert_time():
    now = timezone.now()
    source = Source(
        name="Quiet",
        kind=Source.Kind.PUSH,
        idle_alert_after=datetime.timedelta(hours=2),
        created_at=now - datetime.timedelta(days=1),
        last_arrival_at=now - datetime.timedelta(hours=3),
    )
    assert source.idle_since(now) == source.last_arrival_at
    source.last_arrival_at = now - datetime.timedelta(hours=1)
    assert source.idle_since(now) is None
    source.idle_alert_after = None
    assert source.idle_since(now - datetime.timedelta(days=2)) is None


def test_the_source_list_warns_about_an_idle_source(super_client):
    source = Source.objects.create(
        name="Quiet", kind=Source.Kind.PUSH, idle_alert_after=datetime.timedelta(minutes=30)
    )
    Source.objects.filter(pk=source.pk).update(
        last_arrival_at=timezone.now() - datetime.timedelta(hours=2)
    )
    response = super_client.get(reverse("admin:curation_source_changelist"))
    assert response.status_code == 200
    warnings = [str(message) for message in response.context["messages"]]
    assert any(w.startswith("Quiet: nothing has arrived since") for w in warnings)
    assert "nothing since" in response.content.decode()


# -- the admin -------------------------------------------------------------------------------


def test_adding_a_push_source_in_the_admin_shows_its_token_once(super_client, client):
    form = {"name": "Agency", "kind": "push", "path": "", "enabled": "on"}
    form.update(max_pushes_per_minute="600", idle_alert_after="")
    response = super_client.post(reverse("admin:curation_source_add"), form, follow=True)
    shown = [str(m) for m in response.context["messages"] if "Push token" in str(m)]
    token = shown[0].rsplit(" ", 1)[-1]
    source = Source.objects.get(name="Agency")
    assert token.startswith(source.token_hint) and token not in source.token_hash
    cache.clear()
    pushed = client.post(
        "/api/ingest/",
        data=SEED,
        content_type="application/octet-stream",
        headers={"Authorization": f"Bearer {token}", "X-Seed-Name": "a.txt"},
    )
    assert pushed.status_code == 202


def test_a_new_token_replaces_the_old_one(super_client):
    source = Source(name="Agency", kind=Source.Kind.PUSH)
    old = source.new_token()
    source.save()
    super_client.post(
        reverse("admin:curation_source_changelist"),
        {"action": "make_new_token", "_selected_action": [source.pk]},
    )
    source.refresh_from_db()
    assert source.token_hash != hash_token(old)


@pytest.fixture
def ingest_records(tmp_path):
    """One of each record: sources, a command run with a failure, a delivery, a tombstone."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_bytes(SEED)
    (folder / "bad.txt").write_text("---\ntitle: [x\n---\n")
    import_paths([folder])
    source = Source.objects.create(name="Wire", kind=Source.Kind.FOLDER, path=str(folder))
    push = Source.objects.create(name="Agency", kind=Source.Kind.PUSH)
    Delivery.objects.create(source=push, name="p.txt", digest="0" * 64, content=SEED)
    Article.objects.get(key="good").delete()
    return source


ADMIN_PAGES = [
    "admin:curation_source_changelist",
    "admin:curation_ingestrun_changelist",
    "admin:curation_ingestfailure_changelist",
    "admin:curation_delivery_changelist",
    "admin:curation_tombstone_changelist",
]
FILTERS = {
    "admin:curation_source_changelist": ["kind=folder", "enabled__exact=1", "q=Wire"],
    "admin:curation_ingestrun_changelist": [
        "trigger=command",
        "started_at__gte=2000-01-01+00:00:00%2B00:00",
    ],
    "admin:curation_ingestfailure_changelist": [
        "open=yes",
        "open=no",
        "q=bad",
        "run__trigger=command",
    ],
    "admin:curation_delivery_changelist": ["state=queued", "q=p.txt"],
    "admin:curation_tombstone_changelist": ["q=good"],
}


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_every_ingest_admin_page_and_filter_answers(super_client, ingest_records, page):
    url = reverse(page)
    assert super_client.get(url).status_code == 200
    for query in FILTERS[page]:
        response = super_client.get(f"{url}?{query}")
        assert response.status_code == 200, query
        assert "errornote" not in response.content.decode() or page.endswith("source_changelist")


@pytest.mark.parametrize(
    ("model", "instance"),
    [
        ("source", lambda: Source.objects.first()),
        ("ingestrun", lambda: IngestRun.objects.first()),
        ("ingestfailure", lambda: IngestFailure.objects.first()),
        ("delivery", lambda: Delivery.objects.first()),
        ("tombstone", lambda: Tombstone.objects.first()),
    ],
)
def test_every_ingest_change_page_answers(super_client, ingest_records, model, instance):
    url = reverse(f"admin:curation_{model}_change", args=[instance().pk])
    assert super_client.get(url).status_code == 200


def test_editors_see_ingest_health_but_cannot_manage_sources(editor_client, ingest_records):
    from django.contrib.auth.models import Permission

    from tests.conftest import editors_group

    # What migration 0012 grants (a transactional test elsewhere may have rebuilt the group).
    editors_group().permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_source",
                "view_ingestrun",
                "view_ingestfailure",
                "change_ingestfailure",
                "view_delivery",
                "view_tombstone",
            ]
        )
    )
    for page in ADMIN_PAGES:
        assert editor_client.get(reverse(page)).status_code == 200, page
    assert editor_client.get(reverse("admin:curation_source_add")).status_code == 403
    response = editor_client.get(reverse("admin:curation_tombstone_changelist"))
    form = response.context["action_form"]  # None: no action at all for the editor here
    assert form is None or "restore" not in dict(form.fields["action"].choices)
