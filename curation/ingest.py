"""Continuous ingest: watched folders, pushed files, and the record of every run.

What the ingest jobs do. ``curation/tasks.py`` decides where they run (the PostgreSQL job
queue, or in-process on SQLite); the import itself is ``curation/importer.py``'s, the one merge
and validation path for the command, folders, pushes, retries and restores alike.

A job that imports files does it in one transaction with its run record (``IngestRun.job_id``)
and the files' states, so a job retried after its worker died either finds its run and stops,
or finds nothing of it and does it all again: every file lands exactly once.
"""

from __future__ import annotations

import datetime
import json
import os
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from . import seedfile
from .importer import (
    SEED_SUFFIXES,
    ImportReport,
    find_seed_files,
    import_documents,
    import_seeds,
)
from .models import (
    Delivery,
    IngestFailure,
    IngestRun,
    Source,
    SourceFile,
    Tombstone,
)

# Jobs that import the same key must never run at once (two inserts of one new key would
# collide) and must run in the order they were queued. The queue serialises jobs that share a
# lock; a lock per key would not let one job carry a whole batch of files, so keys share one of
# this many locks, and a folder's changed files are batched lock by lock.
KEY_LOCKS = 32
# The PostgreSQL advisory locks that store the pushes of one key one at a time (the first of
# the two numbers of ``pg_advisory_xact_lock``, so they collide with nobody else's).
PUSH_KEY_LOCKS = 0x4E52


class QueueRouter:
    """Procrastinate's migrations are PostgreSQL SQL: elsewhere they are recorded, not run."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if app_label == "procrastinate":
            return connections[db].vendor == "postgresql"
        return None


def uses_queue(alias: str = "default") -> bool:
    """Whether ingest jobs go through the job queue (PostgreSQL) or run in-process (SQLite)."""
    return connections[alias].vendor == "postgresql"


def key_lock(key: str) -> str:
    """The queue lock of every job that imports ``key`` (see ``KEY_LOCKS``)."""
    return f"ingest-keys-{zlib.crc32(key.encode('utf-8')) % KEY_LOCKS}"


def batches(paths: Iterable[str], size: int | None = None) -> list[tuple[str, list[str]]]:
    """Files grouped by their key's lock, in chunks of at most ``size``: ``(lock, paths)``."""
    size = size or settings.NEWSROOM_INGEST_BATCH_FILES
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(key_lock(seedfile.key_of(path)), []).append(path)
    return [
        (lock, group[start : start + size])
        for lock, group in sorted(groups.items())
        for start in range(0, len(group), size)
    ]


# -- run records ---------------------------------------------------------------------------


def _failure_path(line: str, paths: Sequence[str]) -> str:
    """The file a report line ("path:line: key: problem") is about."""
    for path in sorted(paths, key=len, reverse=True):
        if line.startswith(f"{path}:"):
            return path
    return line.split(": ", 1)[0].rsplit(":", 1)[0] if ": " in line else line


def record_run(
    report: ImportReport,
    *,
    trigger: str,
    started: datetime.datetime,
    source: Source | None = None,
    job_id: int | None = None,
    paths: Sequence[str] = (),
    deliveries: Sequence[Delivery] = (),
) -> IngestRun:
    """Write what an import did (``IngestRun`` and one ``IngestFailure`` per failed file, tied
    to its delivery when it was pushed), settle earlier failures of the files that now
    imported, and stamp the source."""
    now = timezone.now()
    run = IngestRun.objects.create(
        source=source,
        trigger=trigger,
        started_at=started,
        finished_at=now,
        job_id=job_id,
        **report.counts(),
    )
    pushed = {delivery.name: delivery for delivery in deliveries}
    failures = []
    for line in report.failed:
        path = _failure_path(line, [*paths, *pushed])
        delivery = pushed.get(path)
        if delivery is None and len(deliveries) == 1 and not paths:
            delivery, path = deliveries[0], deliveries[0].name  # the only file it can be about
        failures.append(
            IngestFailure(
                run=run,
                source=source,
                path=path[:1024],
                key=seedfile.key_of(path)[: seedfile.MAX_KEY_LENGTH],
                reason=line.splitlines()[0] if line else "failed",
                delivery=delivery,
            )
        )
    IngestFailure.objects.bulk_create(failures)
    landed = [*report.created, *report.updated, *report.unchanged]
    for start in range(0, len(landed), 900):
        IngestFailure.objects.filter(
            key__in=landed[start : start + 900], resolved_at__isnull=True
        ).update(resolved_at=now)
    if source is not None:
        stamps: dict[str, Any] = {}
        if report.found or report.failed:
            stamps["last_arrival_at"] = now
        if landed or report.skipped:
            stamps["last_success_at"] = now
        if report.failed:
            stamps.update(last_error_at=now, last_error=report.failed[0].splitlines()[0])
        if stamps:
            Source.objects.filter(pk=source.pk).update(**stamps)
    return run


def import_paths(
    paths: Iterable[str | os.PathLike],
    *,
    trigger: str = IngestRun.Trigger.COMMAND,
    source: Source | None = None,
    **options: Any,
) -> tuple[ImportReport, IngestRun | None]:
    """``import_seeds`` that records its run (a dry run writes nothing, its record included)."""
    started = timezone.now()
    report = import_seeds(paths, **options)
    if report.dry_run:
        return report, None
    return report, record_run(report, trigger=trigger, started=started, source=source)


# -- watched folders -----------------------------------------------------------------------


def scan_folder(source: Source, *, include_queued: bool = False) -> list[str]:
    """The folder's files that are new or changed since they were last seen, marked queued.

    One ``stat`` per file: a file is read again only when its size, modification time or inode
    changes. ``include_queued`` also returns files left queued, for the in-process path, where
    nothing else will ever import them (a queued job would, on PostgreSQL).
    """
    root = source.path
    if not os.path.isdir(root):
        Source.objects.filter(pk=source.pk).update(
            last_error_at=timezone.now(), last_error=f"{root}: the folder does not exist"
        )
        return []
    files, _ = find_seed_files([root])  # links and unreadable folders are never imported
    known = {
        path: (size, mtime_ns, inode, state)
        for path, size, mtime_ns, inode, state in source.files.values_list(
            "path", "size", "mtime_ns", "inode", "state"
        )
    }
    now = timezone.now()
    changed: list[str] = []
    new_rows: list[SourceFile] = []
    moved: list[SourceFile] = []
    for path in files:
        try:
            status = os.stat(path, follow_symlinks=False)
        except OSError:
            continue  # gone since the folder was listed
        relative = os.path.relpath(path, root)
        signature = (status.st_size, status.st_mtime_ns, status.st_ino)
        seen = known.get(relative)
        if seen is None or seen[:3] != signature:
            row = SourceFile(source=source, path=relative, seen_at=now)
            row.size, row.mtime_ns, row.inode = signature
            (new_rows if seen is None else moved).append(row)
        elif not (include_queued and seen[3] == SourceFile.State.QUEUED):
            continue
        changed.append(relative)
    SourceFile.objects.bulk_create(new_rows, batch_size=500)
    for row in moved:
        SourceFile.objects.filter(source=source, path=row.path).update(
            size=row.size,
            mtime_ns=row.mtime_ns,
            inode=row.inode,
            seen_at=now,
            state=SourceFile.State.QUEUED,
            error="",
        )
    return changed


def import_folder_files(source_id: int, paths: list[str], *, job_id: int | None = None) -> dict:
    """Import files of a watched folder (paths inside it), record the run, mark the files."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return {"skipped": "the source was deleted"}
    with transaction.atomic():
        if job_id is not None and IngestRun.objects.filter(job_id=job_id).exists():
            return {"already": "done by an earlier attempt of this job"}
        full = [os.path.join(source.path, path) for path in paths]
        started = timezone.now()
        report = import_seeds(full, workers=1, max_bytes=settings.NEWSROOM_SEED_MAX_BYTES)
        run = record_run(
            report,
            trigger=IngestRun.Trigger.FOLDER,
            started=started,
            source=source,
            job_id=job_id,
            paths=full,
        )
        _mark_files(source, paths, run, report)
    return report.counts()


def _mark_files(source: Source, paths: list[str], run: IngestRun, report: ImportReport) -> None:
    reasons = {
        os.path.relpath(failure.path, source.path): failure.reason for failure in run.failures.all()
    }
    skipped = {line.split(": ", 1)[0] for line in report.skipped}
    rows = list(SourceFile.objects.filter(source=source, path__in=paths))
    for row in rows:
        if row.path in reasons:
            row.state, row.error = SourceFile.State.FAILED, reasons[row.path]
        elif os.path.join(source.path, row.path) in skipped:
            row.state, row.error = SourceFile.State.SKIPPED, ""
        else:
            row.state, row.error = SourceFile.State.IMPORTED, ""
    SourceFile.objects.bulk_update(rows, ["state", "error"], batch_size=500)


# -- pushes --------------------------------------------------------------------------------


class PushRefused(Exception):
    """A push the endpoint answers with an error: ``status`` and a message naming why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_push(name: str, data: bytes) -> None:
    """Refuse a push that could never import, with the codec's own words."""
    if not name:
        raise PushRefused(400, "X-Seed-Name is missing: send the seed file's name, e.g. 012_x.txt")
    if os.path.basename(name) != name or not name.lower().endswith(SEED_SUFFIXES):
        raise PushRefused(
            400,
            f"X-Seed-Name {name!r}: a seed file's name is a bare file name ending in "
            f"{' or '.join(SEED_SUFFIXES)}",
        )
    limit = settings.NEWSROOM_SEED_MAX_BYTES
    if len(data) > limit:
        raise PushRefused(413, f"{name}: the file is over the {limit:,}-byte limit")
    try:
        seedfile.validate_key(seedfile.key_of(name))
        seedfile.parse(data, name, max_bytes=limit)
    except seedfile.SeedError as error:
        error.path = name
        raise PushRefused(400, str(error)) from None


def store_delivery(source: Source, name: str, data: bytes) -> tuple[Delivery, bool]:
    """Keep a pushed file; the same bytes under the same name are the delivery already kept.

    Call it in the transaction that queues the delivery's job (``tasks.push``).
    """
    key = seedfile.key_of(name)
    if uses_queue():
        # Pushes of one key are stored one at a time, each committed with its job before the
        # next is stored: the order of their ids is then the order their jobs run in, and the
        # order in which a batch may take them (``_claim``).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [PUSH_KEY_LOCKS, zlib.crc32(key.encode("utf-8")) - 2**31],
            )
    return Delivery.objects.get_or_create(
        source=source,
        name=name,
        digest=seedfile.content_hash(data),
        defaults={"content": data, "queue_lock": key_lock(key)},
    )


def import_delivery(
    delivery_id: int,
    *,
    job_id: int | None = None,
    trigger: str = IngestRun.Trigger.PUSH,
    batch_size: int | None = None,
    drop_jobs: Callable[[list[int]], set[int]] | None = None,
) -> dict:
    """Import a pushed file once, with other pushed files of its source still queued (up to
    ``batch_size`` in all): one transaction, one run record, and each delivery its own outcome.

    A delivery no longer queued was done by an earlier attempt or by another job's batch.
    ``drop_jobs`` is given, in the batch's transaction, the queue's job ids of the other
    deliveries it took, deletes those still waiting and returns them (``tasks.drop_jobs``).
    Batches need the queue's row locks: without a queue (SQLite) a push is imported alone.
    """
    if batch_size is None:
        batch_size = settings.NEWSROOM_INGEST_BATCH_FILES if uses_queue() else 1
    with transaction.atomic():
        # Only the delivery's row: locking its source too would have every push job of the
        # source wait for the one before it.
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("source")
            .get(pk=delivery_id)
        )
        if delivery.state != Delivery.State.QUEUED:
            return {"already": delivery.outcome}
        others = _claim(delivery, batch_size - 1)
        if drop_jobs is not None and others:
            dropped = drop_jobs([other.queue_job_id for other in others if other.queue_job_id])
            # A delivery whose job no longer waits gave up after its retries: whatever made
            # its import raise, it must not take a batch down with it, again and again.
            others = [
                other
                for other in others
                if other.queue_job_id is None or other.queue_job_id in dropped
            ]
        batch = [delivery, *others]
        started = timezone.now()
        report = import_documents(
            [(pushed.name, bytes(pushed.content)) for pushed in batch],
            max_bytes=settings.NEWSROOM_SEED_MAX_BYTES,
        )
        run = record_run(
            report,
            trigger=trigger,
            started=started,
            source=delivery.source,
            job_id=job_id,
            deliveries=batch,
        )
        _finish(batch, report, run)
    return {**report.counts(), "deliveries": len(batch)}


def _claim(delivery: Delivery, limit: int) -> list[Delivery]:
    """Other deliveries ``delivery``'s job may import with it, oldest first, locked.

    Only its source's (the run record is per source) and only under its queue lock: the
    queue runs one job per lock at a time, so no other job imports these keys meanwhile. A
    delivery another job holds is skipped, and so is one whose key has an earlier delivery
    still queued (or being imported, uncommitted): the deliveries of a key are imported in the
    order they were stored, one per batch, since a batch takes only the oldest of each key.
    """
    if limit < 1 or not delivery.queue_lock:
        return []
    # The oldest queued delivery of the key, looked up per candidate through its index: the
    # same as "no earlier one queued", planned well even when the table's statistics say
    # nothing is queued (a burst of pushes on a quiet day).
    oldest_of_key = Delivery.objects.filter(key=OuterRef("key"), state=Delivery.State.QUEUED)
    return list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(
            source_id=delivery.source_id,
            queue_lock=delivery.queue_lock,
            state=Delivery.State.QUEUED,
            pk=Subquery(oldest_of_key.order_by("pk").values("pk")[:1]),
        )
        .exclude(key=delivery.key)
        .order_by("pk")[:limit]
    )


def _finish(deliveries: Sequence[Delivery], report: ImportReport, run: IngestRun) -> None:
    """Give each delivery its own outcome, state and report lines, and the run that did it."""
    now = timezone.now()
    parts = _split(report, deliveries)
    # Most deliveries of a batch end alike (created, nothing to report): one UPDATE for each
    # distinct ending, not one per delivery.
    endings: dict[str, tuple[dict, list[int]]] = {}
    for delivery in deliveries:
        part = parts[delivery.pk]
        delivery.outcome = next(
            (
                name
                for name in ("failed", "skipped", "created", "updated", "unchanged")
                if getattr(part, name)
            ),
            "failed",
        )
        delivery.state = Delivery.State.FAILED if part.failed else Delivery.State.DONE
        delivery.finished_at = now
        delivery.result = {
            "errors": part.failed,
            "skipped": part.skipped,
            "warnings": part.warnings,
            "conflicts": [str(conflict) for conflict in part.conflicts],
            "kept": part.kept,
        }
        delivery.run = run
        fields = {"outcome": delivery.outcome, "state": delivery.state, "result": delivery.result}
        ending = json.dumps(fields, sort_keys=True)
        endings.setdefault(ending, (fields, []))[1].append(delivery.pk)
    for fields, ids in endings.values():
        Delivery.objects.filter(pk__in=ids).update(**fields, finished_at=now, run=run)


def _split(report: ImportReport, deliveries: Sequence[Delivery]) -> dict[int, ImportReport]:
    """Each delivery's share of a batch's report, by its key (never two in a batch) and by the
    file name its report lines start with."""
    if len(deliveries) == 1:
        return {deliveries[0].pk: report}
    parts = {delivery.pk: ImportReport(found=1) for delivery in deliveries}
    by_key = {delivery.key: parts[delivery.pk] for delivery in deliveries}
    by_name = {delivery.name: parts[delivery.pk] for delivery in deliveries}
    for name in ("created", "updated", "unchanged"):
        for key in getattr(report, name):
            if key in by_key:
                getattr(by_key[key], name).append(key)
    for conflict in report.conflicts:
        if conflict.key in by_key:
            by_key[conflict.key].conflicts.append(conflict)
    for key, fields in report.kept.items():
        if key in by_key:
            by_key[key].kept[key] = fields
    stray = []
    for name in ("failed", "skipped", "warnings"):
        for line in getattr(report, name):
            part = by_name.get(_failure_path(line, list(by_name)))
            if part is not None:
                getattr(part, name).append(line)
            elif name == "failed":
                stray.append(line)
    if stray:
        # Every failure line names its file; should one not, a delivery left with no outcome
        # at all must still say why it failed.
        for part in parts.values():
            if not any((part.created, part.updated, part.unchanged, part.skipped, part.failed)):
                part.failed.extend(stray)
    return parts


# -- the admin's actions -------------------------------------------------------------------


def retry_failures(failures: Iterable[IngestFailure]) -> ImportReport:
    """Import the failed files again, as their sources have them now: a pushed file from its
    kept bytes, a folder's or the command's file from the disk. One run is recorded."""
    started = timezone.now()
    pushed: dict[int, Delivery] = {}
    paths: dict[str, IngestFailure] = {}
    failures = list(failures)
    for failure in failures:
        if failure.resolved_at is not None:
            continue
        if failure.delivery_id:
            pushed[failure.delivery_id] = failure.delivery
        else:
            paths[failure.path] = failure
    with transaction.atomic():
        report = import_seeds(list(paths), workers=1) if paths else ImportReport()
        reports = {}
        for delivery in pushed.values():
            reports[delivery.pk] = import_documents([(delivery.name, bytes(delivery.content))])
            _merge_reports(report, reports[delivery.pk])
        run = record_run(
            report,
            trigger=IngestRun.Trigger.RETRY,
            started=started,
            paths=list(paths),
            deliveries=list(pushed.values()),
        )
        for delivery in pushed.values():
            _finish([delivery], reports[delivery.pk], run)
        # A watched folder's file that now imported is no longer marked failed there.
        landed = {*report.created, *report.updated, *report.unchanged}
        for failure in paths.values():
            source = failure.source
            if source and source.kind == Source.Kind.FOLDER and failure.key in landed:
                SourceFile.objects.filter(
                    source=source, path=os.path.relpath(failure.path, source.path)
                ).update(state=SourceFile.State.IMPORTED, error="")
    return report


def _merge_reports(report: ImportReport, other: ImportReport) -> None:
    for name in ("created", "updated", "unchanged", "failed", "skipped", "warnings", "conflicts"):
        getattr(report, name).extend(getattr(other, name))
    report.found += other.found


def restore(tombstone: Tombstone) -> ImportReport:
    """Bring a deleted article back: lift its tombstone and import the seed text it kept (an
    article made in the admin kept none; then its key is only allowed again)."""
    with transaction.atomic():
        Tombstone.objects.filter(pk=tombstone.pk).delete()
        if not tombstone.source_text:
            return ImportReport()
        started = timezone.now()
        name = tombstone.source_name or f"{tombstone.key}.txt"
        report = import_documents([(name, tombstone.source_text.encode("utf-8"))])
        record_run(report, trigger=IngestRun.Trigger.RESTORE, started=started)
    return report
