"""Continuous ingest in one process: watched folders, run records, failures, tombstones.

The jobs run here in the test's own transaction (``run_ingest_jobs``: through the queue's rows
on PostgreSQL, already in-process on SQLite); tests/test_ingest_workers.py runs real workers.
"""

import contextlib
import json
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from curation import ingest, tasks
from curation.importer import import_seeds
from curation.models import (
    Article,
    IngestFailure,
    IngestRun,
    Source,
    SourceFile,
    Tombstone,
)

pytestmark = pytest.mark.django_db

GOOD = "---\ntitle: {title}\ntopics: [Housing, Transport]\npublished: true\n---\nBody\n"
BAD = "---\ntitle: [unclosed\n---\n"


def write(folder, name, text):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def source(folder):
    return Source.objects.create(name="Wire folder", kind=Source.Kind.FOLDER, path=str(folder))


def messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def poll(run_ingest_jobs) -> int:
    changed = tasks.poll_folders()
    run_ingest_jobs()
    return changed


def import_command(*args):
    out, err = StringIO(), StringIO()
    with contextlib.suppress(CommandError):  # a failed file makes the command exit 1
        call_command("import_seeds", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# -- run records -----------------------------------------------------------------------------


def test_import_seeds_command_records_its_run_and_each_failed_file_with_its_reason(folder):
    write(folder, "good.txt", GOOD.format(title="Good"))
    bad = write(folder, "bad.txt", BAD)
    import_command(folder)
    run = IngestRun.objects.get()
    assert run.trigger == IngestRun.Trigger.COMMAND and run.source is None
    assert (run.created, run.updated, run.unchanged, run.failed) == (1, 0, 0, 1)
    assert run.finished_at >= run.started_at
    failure = run.failures.get()
    assert failure.path == str(bad) and failure.key == "bad"
    assert failure.reason.startswith(f"{bad}:") and "\n" not in failure.reason
    assert failure.resolved_at is None


def test_a_failure_is_settled_when_the_fixed_file_imports(folder):
    write(folder, "bad.txt", BAD)
    import_command(folder)
    write(folder, "bad.txt", GOOD.format(title="Fixed"))
    import_command(folder)
    assert IngestFailure.objects.get().resolved_at is not None
    assert Article.objects.get(key="bad").title == "Fixed"


def test_a_dry_run_records_nothing(folder):
    write(folder, "good.txt", GOOD.format(title="Good"))
    call_command("import_seeds", str(folder), "--dry-run", stdout=StringIO())
    assert not IngestRun.objects.exists() and not Article.objects.exists()


# -- watched folders -------------------------------------------------------------------------


def test_a_watched_folder_imports_new_files_and_reads_each_file_once_per_change(
    folder, source, run_ingest_jobs
):
    write(folder, "a.txt", GOOD.format(title="First"))
    write(folder, "b.md", GOOD.format(title="Second"))
    assert poll(run_ingest_jobs) == 2
    assert set(Article.objects.values_list("key", "title")) == {("a", "First"), ("b", "Second")}
    runs = IngestRun.objects.count()

    assert poll(run_ingest_jobs) == 0  # nothing changed: not read, nothing run
    assert IngestRun.objects.count() == runs

    write(folder, "a.txt", GOOD.format(title="First, corrected"))
    os.utime(folder / "a.txt", ns=(1, 1))  # a new modification time, whatever the clock says
    assert poll(run_ingest_jobs) == 1
    assert Article.objects.get(key="a").title == "First, corrected"
    assert set(SourceFile.objects.values_list("path", "state")) == {
        ("a.txt", "imported"),
        ("b.md", "imported"),
    }
    source.refresh_from_db()
    assert source.last_success_at is not None and source.last_arrival_at is not None


def test_a_failed_folder_file_is_kept_marked_and_imports_once_its_source_fixes_it(
    folder, source, run_ingest_jobs
):
    bad = write(folder, "story.txt", BAD)
    poll(run_ingest_jobs)
    assert bad.exists()  # kept where the sender put it, never moved or deleted
    row = SourceFile.objects.get(path="story.txt")
    assert row.state == SourceFile.State.FAILED and row.error.startswith(f"{bad}:")
    failure = IngestFailure.objects.get(source=source)
    assert failure.reason == row.error
    source.refresh_from_db()
    assert source.last_error == row.error

    write(folder, "story.txt", GOOD.format(title="Now readable"))
    os.utime(bad, ns=(2, 2))
    poll(run_ingest_jobs)
    assert SourceFile.objects.get(path="story.txt").state == SourceFile.State.IMPORTED
    failure.refresh_from_db()
    assert failure.resolved_at is not None
    assert Article.objects.get(key="story").title == "Now readable"


def test_folder_work_is_queued_in_the_transaction_that_marks_the_files(folder, source):
    write(folder, "a.txt", GOOD.format(title="First"))
    with pytest.raises(RuntimeError), transaction.atomic():
        tasks.poll_folders()
        raise RuntimeError("the poll's transaction rolls back")
    # Neither the files' new state nor their job (PostgreSQL) survive: the next poll sees them.
    assert not SourceFile.objects.exists()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
            assert cursor.fetchone()[0] == 0
    assert tasks.poll_folders() == 1


def test_queued_folder_jobs_carry_the_lock_of_their_keys(folder, source):
    for number in range(40):
        write(folder, f"k{number}.txt", GOOD.format(title=f"Story {number}"))
    tasks.poll_folders()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT lock, args FROM procrastinate_jobs WHERE task_name = "
                "'curation.ingest_files'"
            )
            jobs = [(lock, json.loads(args)) for lock, args in cursor.fetchall()]
        paths = [path for _, args in jobs for path in args["paths"]]
        assert sorted(paths) == sorted(f"k{number}.txt" for number in range(40))
        for lock, args in jobs:
            assert {ingest.key_lock(path[:-4]) for path in args["paths"]} == {lock}
    else:  # no queue: imported at once, in this process
        assert Article.objects.count() == 40


def test_batches_split_by_key_lock_and_size():
    paths = [f"story{number}.txt" for number in range(300)]
    work = ingest.batches(paths, size=7)
    assert sorted(path for _, batch in work for path in batch) == sorted(paths)
    for lock, batch in work:
        assert 0 < len(batch) <= 7
        assert {ingest.key_lock(path.removesuffix(".txt")) for path in batch} == {lock}


def test_a_folder_that_does_not_exist_is_reported_on_its_source(tmp_path, run_ingest_jobs):
    gone = Source.objects.create(name="Gone", kind=Source.Kind.FOLDER, path=str(tmp_path / "x"))
    assert poll(run_ingest_jobs) == 0
    gone.refresh_from_db()
    assert "does not exist" in gone.last_error


def test_a_disabled_folder_is_not_read(folder, source, run_ingest_jobs):
    write(folder, "a.txt", GOOD.format(title="First"))
    Source.objects.filter(pk=source.pk).update(enabled=False)
    assert poll(run_ingest_jobs) == 0 and not Article.objects.exists()


# -- deleted stays deleted -------------------------------------------------------------------


def imported(folder, name="gone.txt", title="Soon deleted"):
    write(folder, name, GOOD.format(title=title))
    import_seeds([folder])
    return Article.objects.get(key=name.rsplit(".", 1)[0])


def test_an_article_a_superuser_deletes_in_the_admin_leaves_a_tombstone_naming_them(
    folder, super_client, superuser
):
    article = imported(folder)
    url = reverse("admin:curation_article_delete", args=[article.pk])
    assert super_client.post(url, {"post": "yes"}).status_code == 302
    tombstone = Tombstone.objects.get(key="gone")
    assert tombstone.deleted_by == superuser and tombstone.deleted_by_name == "root"
    assert tombstone.source_text == (folder / "gone.txt").read_text()
    assert tombstone.reason.startswith("deleted by root on ")


def test_the_bulk_delete_action_leaves_a_tombstone_for_each_article(folder, super_client):
    write(folder, "one.txt", GOOD.format(title="One"))
    write(folder, "two.txt", GOOD.format(title="Two"))
    import_seeds([folder])
    ids = list(Article.objects.values_list("pk", flat=True))
    super_client.post(
        reverse("admin:curation_article_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert not Article.objects.exists()
    assert set(Tombstone.objects.values_list("key", "deleted_by_name")) == {
        ("one", "root"),
        ("two", "root"),
    }


def test_a_delete_outside_the_admin_leaves_a_tombstone_too(folder):
    imported(folder).delete()
    assert Tombstone.objects.get(key="gone").reason.startswith(
        "deleted by someone outside the admin on "
    )


def test_a_deleted_article_is_skipped_by_the_next_import_and_does_not_come_back(folder):
    with transaction.atomic():
        imported(folder).delete()
    write(folder, "gone.txt", GOOD.format(title="Sent again, changed"))
    out, _ = import_command(folder)
    assert not Article.objects.filter(key="gone").exists()
    assert "SKIPPED" in out and "gone: deleted by someone outside the admin on" in out
    assert IngestRun.objects.latest().skipped == 1


def test_a_deleted_article_is_skipped_by_its_watched_folder(folder, source, run_ingest_jobs):
    write(folder, "gone.txt", GOOD.format(title="Soon deleted"))
    poll(run_ingest_jobs)
    Article.objects.get(key="gone").delete()
    write(folder, "gone.txt", GOOD.format(title="Sent again"))
    os.utime(folder / "gone.txt", ns=(3, 3))
    poll(run_ingest_jobs)
    assert not Article.objects.filter(key="gone").exists()
    assert SourceFile.objects.get(path="gone.txt").state == SourceFile.State.SKIPPED


def test_a_superuser_restores_a_deleted_article_from_its_tombstone(folder, super_client):
    imported(folder).delete()
    tombstone = Tombstone.objects.get()
    response = super_client.post(
        reverse("admin:curation_tombstone_changelist"),
        {"action": "restore", "_selected_action": [tombstone.pk]},
        follow=True,
    )
    assert messages(response) == ["gone: restored."]
    assert Article.objects.get(key="gone").title == "Soon deleted"
    assert not Tombstone.objects.exists()
    assert IngestRun.objects.latest().trigger == IngestRun.Trigger.RESTORE
    import_seeds([folder])  # and the feed's file imports normally again
    assert Article.objects.filter(key="gone").count() == 1


def test_an_editor_cannot_restore_a_tombstone(folder, editor_client):
    imported(folder).delete()
    tombstone = Tombstone.objects.get()
    editor_client.post(
        reverse("admin:curation_tombstone_changelist"),
        {"action": "restore", "_selected_action": [tombstone.pk]},
    )
    assert Tombstone.objects.exists() and not Article.objects.exists()


# -- retrying a failed file ------------------------------------------------------------------


def test_a_failed_file_is_retried_from_the_admin_once_its_source_fixed_it(folder, super_client):
    write(folder, "late.txt", BAD)
    import_command(folder)
    failure = IngestFailure.objects.get()
    write(folder, "late.txt", GOOD.format(title="Fixed at the source"))
    response = super_client.post(
        reverse("admin:curation_ingestfailure_changelist"),
        {"action": "retry", "_selected_action": [failure.pk]},
        follow=True,
    )
    assert messages(response)[0].startswith("Imported again: 1 created")
    assert Article.objects.get(key="late").title == "Fixed at the source"
    failure.refresh_from_db()
    assert failure.resolved_at is not None
    assert IngestRun.objects.latest().trigger == IngestRun.Trigger.RETRY


def test_a_retry_that_still_fails_keeps_the_failure_open(folder, super_client):
    write(folder, "late.txt", BAD)
    import_command(folder)
    failure = IngestFailure.objects.get()
    response = super_client.post(
        reverse("admin:curation_ingestfailure_changelist"),
        {"action": "retry", "_selected_action": [failure.pk]},
        follow=True,
    )
    assert "1 failed" in messages(response)[0]
    assert IngestFailure.objects.filter(resolved_at__isnull=True).count() == 2


def test_a_pushed_file_retried_twice_is_read_from_its_kept_bytes_each_time(super_client):
    """A retry's new failure stays tied to its delivery, so the next retry reads the kept
    bytes again instead of looking for the pushed name on disk."""
    wire = Source(name="Wire", kind=Source.Kind.PUSH)
    wire.new_token()
    wire.save()
    # Past the push endpoint's check (a file that parsed then, say, under an older codec).
    delivery, _ = ingest.store_delivery(wire, "late.txt", BAD.encode())
    ingest.import_delivery(delivery.pk)
    for _ in range(2):
        failure = IngestFailure.objects.get(resolved_at__isnull=True)
        assert failure.delivery_id == delivery.pk
        ingest.retry_failures([failure])
        newest = IngestFailure.objects.latest("id")
        assert newest.delivery_id == delivery.pk, newest.reason
        assert newest.reason.startswith("late.txt:3: invalid YAML front matter")
        failure.resolved_at = timezone.now()  # an editor closes the old one, keeps the new
        failure.save(update_fields=["resolved_at"])


def test_folder_jobs_join_the_transaction_even_where_the_queue_has_its_own_connection(
    folder, source
):
    """In a worker the queue's app talks through a pool of its own; the poll's jobs must still
    be queued in the transaction that marks the files (else a job could run before them)."""
    from procrastinate.testing import InMemoryConnector

    write(folder, "a.txt", GOOD.format(title="First"))
    elsewhere = InMemoryConnector()
    with tasks.app.replace_connector(elsewhere):
        with pytest.raises(RuntimeError), transaction.atomic():
            tasks.poll_folders()
            raise RuntimeError("the poll's transaction rolls back")
        assert not elsewhere.jobs  # nothing went around the transaction
        tasks.poll_folders()
    assert not elsewhere.jobs
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
            assert cursor.fetchone()[0] == 1
    else:
        assert Article.objects.filter(key="a").exists()


def test_a_retried_folder_file_is_marked_imported_in_its_folder(
    folder, source, run_ingest_jobs, super_client
):
    write(folder, "late.txt", BAD)
    poll(run_ingest_jobs)
    failure = IngestFailure.objects.get()
    write(folder, "late.txt", GOOD.format(title="Fixed"))
    os.utime(folder / "late.txt", ns=(4, 4))  # changed, but retried before the next poll
    super_client.post(
        reverse("admin:curation_ingestfailure_changelist"),
        {"action": "retry", "_selected_action": [failure.pk]},
    )
    assert SourceFile.objects.get(path="late.txt").state == SourceFile.State.IMPORTED
    assert Article.objects.get(key="late").title == "Fixed"
