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
import os
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connections, transaction
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
    delivery: Delivery | None = None,
) -> IngestRun:
    """Write what an import did (``IngestRun`` and one ``IngestFailure`` per failed file),
    settle earlier failures of the files that now imported, and stamp the source."""
    now = timezone.now()
    run = IngestRun.objects.create(
        source=source,
        trigger=trigger,
        started_at=started,
        finished_at=now,
        job_id=job_id,
        **report.counts(),
    )
    failures = []
    for line in report.failed:
        path = delivery.name if delivery else _failure_path(line, paths)
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
    """Keep a pushed file; the same bytes under the same name are the delivery already kept."""
    return Delivery.objects.get_or_create(
        source=source,
        name=name,
        digest=seedfile.content_hash(data),
        defaults={"content": data},
    )


def import_delivery(
    delivery_id: int, *, job_id: int | None = None, trigger: str = IngestRun.Trigger.PUSH
) -> dict:
    """Import a pushed file once: a delivery no longer queued was done by an earlier attempt."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("source").get(pk=delivery_id)
        if delivery.state != Delivery.State.QUEUED:
            return {"already": delivery.outcome}
        started = timezone.now()
        report = import_documents(
            [(delivery.name, bytes(delivery.content))],
            max_bytes=settings.NEWSROOM_SEED_MAX_BYTES,
        )
        record_run(
            report,
            trigger=trigger,
            started=started,
            source=delivery.source,
            job_id=job_id,
            delivery=delivery,
        )
        _finish(delivery, report)
    return report.counts()


def _finish(delivery: Delivery, report: ImportReport) -> None:
    delivery.outcome = next(
        (
            name
            for name in ("failed", "skipped", "created", "updated", "unchanged")
            if getattr(report, name)
        ),
        "failed",
    )
    delivery.state = Delivery.State.FAILED if report.failed else Delivery.State.DONE
    delivery.finished_at = timezone.now()
    delivery.result = {
        "errors": report.failed,
        "skipped": report.skipped,
        "warnings": report.warnings,
        "conflicts": [str(conflict) for conflict in report.conflicts],
        "kept": report.kept,
    }
    delivery.save(update_fields=["outcome", "state", "finished_at", "result"])


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
        for delivery in pushed.values():
            one = import_documents([(delivery.name, bytes(delivery.content))])
            _finish(delivery, one)
            _merge_reports(report, one)
        record_run(report, trigger=IngestRun.Trigger.RETRY, started=started, paths=list(paths))
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
