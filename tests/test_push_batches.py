"""Pushed files imported in batches: a push's job takes other queued deliveries of its source,
under its queue lock, into one transaction and one run, and each delivery keeps its own outcome.

These call ``ingest.import_delivery`` with a batch size, so the batches' rules are proven on
SQLite as on PostgreSQL (the queue's jobs batch by default; without a queue each push is
imported alone, in its request). tests/test_ingest_workers.py runs them with real workers.
"""

from __future__ import annotations

import os
import threading

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from curation import ingest, tasks
from curation.importer import import_documents
from curation.models import Article, Delivery, IngestFailure, IngestRun, Source

pytestmark = pytest.mark.django_db
# The database is chosen by DATABASE_URL when the tests are collected, as in
# tests/test_ingest_workers.py: each of CI's two runs tests its own path.
ENGINE = "queue" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "alone"

SEED = "---\ntitle: {title}\ntopics: [Transport]\npublished: true\n---\nBody\n"
BAD = b"---\ntitle: [unclosed\n---\n"


def names_under_one_lock(count: int, stem: str = "story") -> list[str]:
    """File names whose keys share one queue lock, so one job may batch them."""
    lock = ingest.key_lock(f"{stem}_0")
    names: list[str] = []
    number = 0
    while len(names) < count:
        if ingest.key_lock(f"{stem}_{number}") == lock:
            names.append(f"{stem}_{number}.txt")
        number += 1
    return names


def name_under_another_lock(name: str) -> str:
    number = 0
    while ingest.key_lock(f"other_{number}") == ingest.key_lock(name.rsplit(".", 1)[0]):
        number += 1
    return f"other_{number}.txt"


def store(source: Source, name: str, title: str | None = None, data: bytes | None = None):
    """A delivery kept and queued, as a push leaves it (its job is not run)."""
    data = data if data is not None else SEED.format(title=title or name).encode()
    with transaction.atomic():
        delivery, new = ingest.store_delivery(source, name, data)
    assert new
    return delivery


@pytest.fixture
def sender():
    source = Source(name="Wire", kind=Source.Kind.PUSH)
    token = source.new_token()
    source.save()
    cache.clear()  # the push rate counts
    return source, token


def job_state(client, token, delivery) -> dict:
    response = client.get(
        f"/api/ingest/jobs/{delivery.pk}/", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return response.json()


def test_a_batch_is_one_run_and_each_delivery_gets_its_own_outcome_and_job_url(client, sender):
    source, token = sender
    new, changed, same, bad, buried = names_under_one_lock(5)
    import_documents([(changed, SEED.format(title="Before").encode())])
    import_documents([(same, SEED.format(title=same).encode())])
    import_documents([(buried, SEED.format(title="Gone").encode())])
    Article.objects.get(key=buried.removesuffix(".txt")).delete()
    deliveries = [
        store(source, new),
        store(source, changed, "After"),
        store(source, same),
        store(source, bad, data=BAD),
        store(source, buried, "Back?"),
    ]

    counts = ingest.import_delivery(deliveries[0].pk, job_id=7001, batch_size=100)

    assert counts["deliveries"] == 5
    run = IngestRun.objects.get()
    assert (run.job_id, run.source, run.trigger) == (7001, source, IngestRun.Trigger.PUSH)
    assert (run.created, run.updated, run.unchanged, run.failed, run.skipped) == (1, 1, 1, 1, 1)
    expected = ["created", "updated", "unchanged", "failed", "skipped"]
    for delivery, outcome in zip(deliveries, expected, strict=True):
        delivery.refresh_from_db()
        assert delivery.outcome == outcome and delivery.run == run
        state = job_state(client, token, delivery)
        assert state["outcome"] == outcome
        assert state["state"] == ("failed" if outcome == "failed" else "done")
        # Only its own lines: the bad file's error and the buried key's skip are theirs alone.
        assert all(line.startswith(f"{delivery.name}:") for line in state["result"]["errors"])
        assert bool(state["result"]["errors"]) == (outcome == "failed")
        assert bool(state["result"]["skipped"]) == (outcome == "skipped")
    assert "invalid YAML" in deliveries[3].result["errors"][0]
    assert "deleted by someone outside the admin" in deliveries[4].result["skipped"][0]
    assert Article.objects.get(key=changed.removesuffix(".txt")).title == "After"
    assert not Article.objects.filter(key=buried.removesuffix(".txt")).exists()
    failure = IngestFailure.objects.get()
    assert (failure.delivery, failure.path, failure.run) == (deliveries[3], bad, run)


def test_pushes_queued_together_are_one_run_and_each_job_url_tells_its_own_result(
    client, sender, run_ingest_jobs
):
    source, token = sender
    first, second, buried = names_under_one_lock(3)
    import_documents([(buried, SEED.format(title="Gone").encode())])
    Article.objects.get(key=buried.removesuffix(".txt")).delete()
    urls = [
        client.post(
            "/api/ingest/",
            data=SEED.format(title=name).encode(),
            content_type="application/octet-stream",
            headers={"Authorization": f"Bearer {token}", "X-Seed-Name": name},
        ).json()["url"]
        for name in (first, second, buried)
    ]
    run_ingest_jobs()
    states = [client.get(url, headers={"Authorization": f"Bearer {token}"}).json() for url in urls]
    assert [state["outcome"] for state in states] == ["created", "created", "skipped"]
    assert [state["state"] for state in states] == ["done", "done", "done"]
    assert [bool(state["result"]["skipped"]) for state in states] == [False, False, True]
    # Through the queue the first job imported all three (the others found theirs done);
    # without one each push was imported in its own request.
    assert IngestRun.objects.filter(source=source).count() == (1 if ENGINE == "queue" else 3)


def test_the_jobs_of_deliveries_another_batch_imported_return_at_once(client, sender):
    source, token = sender
    first, second = (store(source, name) for name in names_under_one_lock(2))
    ingest.import_delivery(first.pk, job_id=7001, batch_size=100)

    assert ingest.import_delivery(second.pk, job_id=7002, batch_size=100) == {"already": "created"}
    assert IngestRun.objects.count() == 1
    state = job_state(client, token, second)
    assert (state["state"], state["outcome"]) == ("done", "created")
    assert state["result"]["errors"] == [] and state["finished_at"]


def test_a_batch_takes_only_its_sources_deliveries_under_its_own_lock_oldest_first(sender):
    source, _ = sender
    agency = Source.objects.create(name="Agency", kind=Source.Kind.PUSH)
    names = names_under_one_lock(5)
    ours = [store(source, name) for name in names[:4]]
    theirs = store(agency, names[4])
    elsewhere = store(source, name_under_another_lock(names[0]))

    counts = ingest.import_delivery(ours[0].pk, batch_size=3)

    assert counts["deliveries"] == 3
    queued = set(Delivery.objects.filter(state=Delivery.State.QUEUED).values_list("pk", flat=True))
    assert queued == {ours[3].pk, theirs.pk, elsewhere.pk}


def test_a_later_delivery_of_a_key_is_never_imported_before_an_earlier_one(sender):
    source, _ = sender
    agency = Source.objects.create(name="Agency", kind=Source.Kind.PUSH)
    other, key_name, late = names_under_one_lock(3)
    key = key_name.removesuffix(".txt")
    opener = store(source, other)
    first = store(source, key_name, "First version")
    correction = store(source, key_name, "Corrected")
    as_markdown = store(source, f"{key}.md", "Corrected again")
    # Another source's earlier delivery of a key holds the key back just the same.
    agency_first = store(agency, late, "Agency's")
    held_back = store(source, late, "Ours, later")

    ingest.import_delivery(opener.pk, batch_size=100)

    # One delivery of a key per batch, the oldest: the corrections and the key the other
    # source still has queued wait.
    first.refresh_from_db()
    assert first.state == Delivery.State.DONE
    assert Article.objects.get(key=key).title == "First version"
    assert set(
        Delivery.objects.filter(state=Delivery.State.QUEUED).values_list("pk", flat=True)
    ) == {correction.pk, as_markdown.pk, agency_first.pk, held_back.pk}

    ingest.import_delivery(correction.pk, batch_size=100)  # its job, alone in its key
    assert Article.objects.get(key=key).title == "Corrected"
    ingest.import_delivery(as_markdown.pk, batch_size=100)
    article = Article.objects.get(key=key)
    assert (article.title, article.version, article.source_name) == (
        "Corrected again",
        3,
        f"{key}.md",
    )
    ingest.import_delivery(agency_first.pk, batch_size=100)
    ingest.import_delivery(held_back.pk, batch_size=100)
    assert Article.objects.get(key=late.removesuffix(".txt")).title == "Ours, later"
    assert not Delivery.objects.filter(state=Delivery.State.QUEUED).exists()


def test_a_batch_that_dies_midway_leaves_every_delivery_queued_for_the_next(sender, monkeypatch):
    source, _ = sender
    deliveries = [store(source, name) for name in names_under_one_lock(4)]

    def dies(*args, **kwargs):
        raise RuntimeError("the worker died here")

    with monkeypatch.context() as patched:
        patched.setattr(ingest, "_finish", dies)  # after the articles and the run are written
        with pytest.raises(RuntimeError):
            ingest.import_delivery(deliveries[0].pk, job_id=7001, batch_size=100)
    assert not Article.objects.exists() and not IngestRun.objects.exists()
    assert Delivery.objects.filter(state=Delivery.State.QUEUED).count() == 4

    ingest.import_delivery(deliveries[0].pk, job_id=7001, batch_size=100)  # the job, retried
    assert Article.objects.count() == 4 and IngestRun.objects.get().created == 4
    assert not Delivery.objects.filter(state=Delivery.State.QUEUED).exists()


def test_a_push_and_its_key_are_stored_with_its_queue_lock(sender):
    source, _ = sender
    delivery = store(source, "Some_Story.md")
    assert delivery.key == "Some_Story"
    assert delivery.queue_lock == ingest.key_lock("Some_Story")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("engine", [ENGINE])
def test_deliveries_another_job_holds_are_skipped_and_so_are_later_ones_of_their_key(
    sender, engine
):
    source, _ = sender
    own, held, free = names_under_one_lock(3)
    mine = store(source, own)
    taken = store(source, held, "Being imported")
    waiting = store(source, held, "Its correction")
    other = store(source, free)
    if engine == "alone":
        # Without a queue there are no row locks to claim with: a push is imported alone.
        assert ingest.import_delivery(mine.pk)["deliveries"] == 1
        assert Delivery.objects.filter(state=Delivery.State.QUEUED).count() == 3
        return

    holding, release = threading.Event(), threading.Event()

    def another_job() -> None:
        try:
            with transaction.atomic():
                Delivery.objects.select_for_update().get(pk=taken.pk)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=another_job)
    thread.start()
    try:
        assert holding.wait(30)
        counts = ingest.import_delivery(mine.pk, batch_size=100)
    finally:
        release.set()
        thread.join(30)
    assert counts["deliveries"] == 2
    assert set(
        Delivery.objects.filter(state=Delivery.State.QUEUED).values_list("pk", flat=True)
    ) == {taken.pk, waiting.pk}
    other.refresh_from_db()
    assert other.state == Delivery.State.DONE


@pytest.mark.parametrize("engine", [ENGINE])
def test_a_batch_deletes_the_jobs_of_the_deliveries_it_took_and_only_if_it_commits(
    sender, engine, monkeypatch
):
    source, _ = sender
    names = names_under_one_lock(4)
    pushed = [tasks.push(source, name, SEED.format(title=name).encode())[0] for name in names]
    if engine == "alone":
        # No queue: each push was imported in its own request, alone, before it answered.
        assert [delivery.state for delivery in pushed] == [Delivery.State.DONE] * 4
        assert IngestRun.objects.count() == 4
        assert not any(delivery.queue_job_id for delivery in pushed)
        return

    def waiting_jobs() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM procrastinate_jobs WHERE status = 'todo' "
                "AND task_name = 'curation.ingest_delivery'"
            )
            return {row[0] for row in cursor.fetchall()}

    jobs = [delivery.queue_job_id for delivery in pushed]
    # The last one's job gave up after its retries: whatever made it raise stays out of batches.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", [jobs[3]])
    assert waiting_jobs() == set(jobs[:3])
    with monkeypatch.context() as patched:
        patched.setattr(ingest, "_finish", lambda *args: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            ingest.import_delivery(pushed[0].pk, job_id=jobs[0], drop_jobs=tasks.drop_jobs)
    assert waiting_jobs() == set(jobs[:3])  # rolled back with the batch

    counts = ingest.import_delivery(pushed[0].pk, job_id=jobs[0], drop_jobs=tasks.drop_jobs)
    assert counts["deliveries"] == 3
    # Its own job is the worker's to finish; the others' would only have found theirs done.
    assert waiting_jobs() == {jobs[0]}
    queued = Delivery.objects.filter(state=Delivery.State.QUEUED)
    assert list(queued.values_list("pk", flat=True)) == [pushed[3].pk]
