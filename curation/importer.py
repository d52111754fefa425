"""Seed files into the database: parallel parsing, atomic per file, never reverting editors.

The command ``import_seeds`` is a thin shell over ``import_seeds()`` here, which tests and the
admin call directly.

Re-import merges three versions of every field: what the seed said last time (the stored source
text), what the database says now (editors' work) and what the file says now. A field the file
did not change keeps the editor's value; a field only the file changed takes the file's; a field
both changed differently is a conflict that keeps the editor's value unless ``prefer_file``.
The enabled rules (curation/rules.py) rule every new or changed file first: a value a rule sets
counts as the file's, in the merge and in the base it keeps for the next one.

Stories: a batch's articles are placed in their stories in the batch's own transaction, except
in a large import (``PLACE_AFTER_FILES`` files or more), which marks them unplaced as it writes
them and places them all in one pass at the end (``stories.place_unplaced``): that pass matches
them with each other in memory, where a lookup per article would cost the import more than its
parsing does (BENCHMARKS.md). The marks make a killed run's articles the next pass's.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import json
import multiprocessing
import operator
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from . import rules, seedfile, stories, workers
from .models import (
    ARTICLE_SCALAR_FIELDS,
    Article,
    ArticleChange,
    ArticleImage,
    ArticleTopic,
    Provider,
    PublicState,
    RelatedItem,
    Tombstone,
    Topic,
    json_safe,
    rank_for,
)
from .seedfile import MERGE_FIELDS, LoadedSeed

SEED_SUFFIXES = (".txt", ".md")
BATCH_SIZE = 250
# Files whose stored hashes are looked up together before they are read.
WINDOW_SIZE = 4000
# Files handed to the worker processes at a time (two slices are in flight at most).
SLICE_SIZE = 256
# Files parsed per round trip to a worker.
CHUNK_SIZE = 16
# Files before the end of a window at which the next window is queued for parsing.
LOOKAHEAD = 2 * BATCH_SIZE
# From this many files, an import places its articles in stories once every file is written.
PLACE_AFTER_FILES = 2000
# How much lower the parsing workers' CPU priority is than the writer's (workers.init_worker).
WORKER_NICENESS = 10
# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 64


@dataclass
class Conflict:
    key: str
    field: str
    editor_value: Any
    file_value: Any
    resolution: str  # "kept editor's value" or "took file's value"

    def __str__(self) -> str:
        return (
            f"{self.key}: {self.field} was changed by an editor ({self.editor_value!r}) and by the "
            f"file ({self.file_value!r}); {self.resolution}"
        )


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one line each: file:line: key: problem
    # Files whose article an editor deleted (a Tombstone): "file: key: deleted by … on …".
    skipped: list[str] = field(default_factory=list)
    # Accepted, but worth telling the sender (a URL that will never be a link): file: key: what.
    warnings: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    kept: dict[str, list[str]] = field(default_factory=dict)  # key -> editor fields kept
    found: int = 0  # seed files found in the given paths
    dry_run: bool = False
    rolled_back: bool = False

    @property
    def conflicted_keys(self) -> list[str]:
        return sorted({conflict.key for conflict in self.conflicts})

    @property
    def ok(self) -> bool:
        return not self.failed

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "conflicts": len(self.conflicted_keys),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "dry_run": self.dry_run,
            "rolled_back": self.rolled_back,
            "found": self.found,
            "errors": self.failed,
            "skipped_files": self.skipped,
            "warnings": self.warnings,
            "conflict_details": [
                {
                    **asdict(c),
                    "editor_value": json_safe(c.editor_value),
                    "file_value": json_safe(c.file_value),
                }
                for c in self.conflicts
            ],
            "kept": self.kept,
            "created_keys": self.created,
            "updated_keys": self.updated,
        }


def find_seed_files(paths: Iterable[str | os.PathLike]) -> tuple[list[str], list[str]]:
    """Expand files and folders (recursively) into seed files; also return the paths refused.

    Only regular files inside the given folders are imported. A symbolic link, to a file or to
    a folder, is refused by name: following one would import ``/etc/passwd`` or another folder's
    files. A folder named on the command line is followed even if it is a link (someone chose
    it); a file named there is refused like any other link.

    Paths are kept as text, a third of the memory of ``Path`` objects (the list lives for the
    whole import), and sorted folder by folder, as ``Path`` objects sort.
    """
    files: list[str] = []
    problems: list[str] = []
    for raw in paths:
        path = str(Path(raw))
        try:
            is_link = stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:
            problems.append(f"{path}: no such file or folder")
            continue
        if os.path.isdir(path):
            found = _walk(path, problems)
            files.extend(sorted(found, key=lambda found_path: found_path.split(os.sep)))
        elif is_link:
            problems.append(f"{path}: {seedfile.SYMLINK_REFUSED}")
        else:
            files.append(path)  # anything but a regular file is refused when it is read
    return files, problems


def _walk(folder: str, problems: list[str]) -> list[str]:
    """The seed files under ``folder``, never following a link (``os.walk`` would skip linked
    folders silently and list linked files)."""
    found: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError as error:
            problems.append(f"{current}: cannot read the folder: {error.strerror or error}")
            continue
        for entry in entries:
            if entry.is_symlink():
                if entry.name.lower().endswith(SEED_SUFFIXES) or entry.is_dir():
                    problems.append(f"{entry.path}: {seedfile.SYMLINK_REFUSED}")
            elif entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif entry.name.lower().endswith(SEED_SUFFIXES):
                found.append(entry.path)
    return found


class _Loader:
    """Reads and parses files, in worker processes when there are enough of them."""

    def __init__(self, workers: int, max_bytes: int) -> None:
        self.workers = workers
        self.max_bytes = max_bytes
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None

    def __enter__(self) -> _Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def load(self, jobs: list[tuple[str, str]]) -> Iterator[LoadedSeed]:
        if self.workers <= 1 or len(jobs) < PARALLEL_THRESHOLD:
            return (seedfile.load(path, digest, self.max_bytes) for path, digest in jobs)
        return self._bounded(jobs)

    def _start_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self.pool is not None:  # broken: a worker died
            self.pool.shutdown(wait=False, cancel_futures=True)
        # "spawn": workers start clean and never share the parent's database connections.
        self.pool = concurrent.futures.ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            # Niced, and gone when this process is, even after a SIGKILL (see init_worker).
            initializer=workers.init_worker,
            initargs=(os.getpid(), WORKER_NICENESS),
        )
        return self.pool

    def _bounded(self, jobs: list[tuple[str, str]]) -> Iterator[LoadedSeed]:
        """Results in order, with at most two slices of files parsed ahead of the reader.

        Mapping a whole window at once let finished documents pile up in memory whenever the
        database was slower than the workers; two slices keep the workers busy and memory flat.
        """
        slices = [jobs[start : start + SLICE_SIZE] for start in range(0, len(jobs), SLICE_SIZE)]
        # The first slice starts now, not when the caller starts reading (see LOOKAHEAD).
        return self._drain(self._map(slices[0]), slices[1:])

    def _drain(
        self, current: Iterator[LoadedSeed], rest: list[list[tuple[str, str]]]
    ) -> Iterator[LoadedSeed]:
        for jobs in rest:
            upcoming = self._map(jobs)
            yield from current
            current = upcoming
        yield from current

    def _map(self, jobs: list[tuple[str, str]]) -> Iterator[LoadedSeed]:
        chunks = [jobs[start : start + CHUNK_SIZE] for start in range(0, len(jobs), CHUNK_SIZE)]
        futures = [self._submit(chunk) for chunk in chunks]
        return self._results(futures, chunks)

    def _submit(self, chunk: list[tuple[str, str]]) -> concurrent.futures.Future:
        arguments = ([path for path, _ in chunk], [digest for _, digest in chunk], self.max_bytes)
        pool = self.pool or self._start_pool()
        try:
            return pool.submit(workers.load_many, *arguments)
        except concurrent.futures.BrokenExecutor:
            return self._start_pool().submit(workers.load_many, *arguments)

    def _results(
        self, futures: list[concurrent.futures.Future], chunks: list[list[tuple[str, str]]]
    ) -> Iterator[LoadedSeed]:
        for future, chunk in zip(futures, chunks, strict=True):
            try:
                results = future.result()
            except Exception as error:
                # A worker died (killed, out of memory) or its answer could not be sent back:
                # the files it had are named as failed; the next slice gets a new pool.
                results = [
                    LoadedSeed(
                        path,
                        seedfile.key_of(path),
                        error=seedfile.unexpected_failure(path, "read", error),
                    )
                    for path, _ in chunk
                ]
            for loaded, (path, _) in zip(results, chunk, strict=True):
                # The caller's path string instead of the worker's copy of it: the run keeps
                # every file's path (``_Importer.seen``), and one copy of each is enough.
                loaded.path = path
                yield loaded


def import_seeds(
    paths: Iterable[str | os.PathLike],
    *,
    dry_run: bool = False,
    strict: bool = False,
    prefer_file: bool = False,
    workers: int | None = None,
    max_bytes: int = seedfile.MAX_FILE_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import seed files and folders; see the module docstring for the merge rules.

    ``dry_run`` runs every step and rolls back; ``strict`` rolls back everything if any file
    fails. Otherwise each file lands whole or not at all, and bad files are only reported.
    """
    files, problems = find_seed_files(paths)
    report = ImportReport(dry_run=dry_run, failed=problems, found=len(files))
    importer = _Importer(report, prefer_file, place_after=len(files) >= PLACE_AFTER_FILES)
    done = 0
    outer = transaction.atomic() if (dry_run or strict) else contextlib.nullcontext()
    with (
        _page_cache_for(importer),
        outer,
        _Loader(workers or os.cpu_count() or 1, max_bytes) as loader,
    ):
        windows = [
            files[start : start + WINDOW_SIZE] for start in range(0, len(files), WINDOW_SIZE)
        ]
        upcoming = loader.load(importer.plan(windows[0])) if windows else None
        for number, window in enumerate(windows):
            results, upcoming = upcoming, None
            has_next = number + 1 < len(windows)
            batch: list[LoadedSeed] = []
            for position, loaded in enumerate(results, 1):
                batch.append(loaded)
                if has_next and upcoming is None and position >= len(window) - LOOKAHEAD:
                    # Queue the next window while this one's last batches are written, so the
                    # workers do not sit idle at every window boundary.
                    upcoming = loader.load(importer.plan(windows[number + 1]))
                if len(batch) == BATCH_SIZE:
                    importer.write(batch)
                    done, batch = done + len(batch), []
                    if progress:
                        progress(done, len(files))
            importer.write(batch)
            done += len(batch)
            if progress:
                progress(done, len(files))
        if importer.held is not None:
            importer.seen = {}  # every file is written: the pass can have its memory
            stories.place_unplaced(importer.held)
        if dry_run or (strict and report.failed):
            report.rolled_back = True
            transaction.set_rollback(True)
    return report


@contextlib.contextmanager
def _page_cache_for(importer: _Importer) -> Iterator[None]:
    """SQLite's default page cache for a large import: the large one in settings is for story
    keys written batch by batch, and a large import writes them in one load at its end. At
    20,000 files the main process stays at 98 MB instead of 169 (BENCHMARKS.md)."""
    if importer.held is None or connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        configured = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -2000")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(configured)}")


def import_documents(
    documents: list[tuple[str, bytes]],
    *,
    prefer_file: bool = False,
    max_bytes: int = seedfile.MAX_FILE_BYTES,
) -> ImportReport:
    """Import seed files given as ``(file name, bytes)``: a push, or the text a tombstone kept.

    The same checks, merge, tombstones and report as ``import_seeds``, without the disk.
    """
    report = ImportReport(found=len(documents))
    importer = _Importer(report, prefer_file)
    known = dict(importer.plan([name for name, _ in documents]))
    importer.write([_load_bytes(name, data, known[name], max_bytes) for name, data in documents])
    return report


def _load_bytes(name: str, data: bytes, known_digest: str, max_bytes: int) -> LoadedSeed:
    """``seedfile.load`` for bytes already in memory."""
    key = seedfile.key_of(name)
    try:
        seedfile.validate_key(key)
        digest = seedfile.content_hash(data)
        if digest == known_digest:
            return LoadedSeed(name, key, digest, unchanged=True)
        document = seedfile.parse(data, name, max_bytes=max_bytes)
        warnings = [f"{name}: {line}" for line in seedfile.url_warnings(document)]
        return LoadedSeed(name, key, digest, data.decode("utf-8"), document, warnings=warnings)
    except seedfile.SeedError as error:
        error.path = name
        return LoadedSeed(name, key, error=str(error))
    except Exception as error:  # one document's surprise is that document's failure
        return LoadedSeed(name, key, error=seedfile.unexpected_failure(name, "read", error))


class _Importer:
    def __init__(self, report: ImportReport, prefer_file: bool, place_after: bool = False) -> None:
        self.report = report
        self.prefer_file = prefer_file
        # What a large import holds of the articles it wrote, to place them at the end.
        self.held: list[stories.Entry] | None = [] if place_after else None
        self.providers: dict[tuple[str, str], int] = {}
        self.topics: dict[str, int] = {}
        self.seen: dict[str, str] = {}  # key -> path, to catch two files with one key
        self.rules = rules.ImportRules(_insert)

    def plan(self, files: list[str]) -> list[tuple[str, str]]:
        """Look up the stored hash of each file's article, so unchanged files skip parsing."""
        keys = [seedfile.key_of(path) for path in files]
        hashes: dict[str, str] = {}
        for start in range(0, len(keys), 900):
            hashes.update(
                Article.objects.filter(key__in=keys[start : start + 900]).values_list(
                    "key", "source_hash"
                )
            )
        return [(path, hashes.get(key, "")) for path, key in zip(files, keys, strict=True)]

    def write(self, batch: list[LoadedSeed]) -> None:
        ready = []
        # Deleted stays deleted: a key with a tombstone is reported and left out, whatever
        # brought the file (a folder, a push, the command). One query per batch.
        buried = {
            tombstone.key: tombstone
            for tombstone in Tombstone.objects.filter(
                key__in=[loaded.key for loaded in batch if not loaded.error]
            )
        }
        for loaded in batch:
            if loaded.key in buried and not loaded.error:
                self.report.skipped.append(
                    f"{loaded.path}: {loaded.key}: {buried[loaded.key].reason}; not imported"
                )
                continue
            if loaded.error:
                self.report.failed.append(loaded.error)
                continue
            first = self.seen.setdefault(loaded.key, loaded.path)
            if first != loaded.path:
                self.report.failed.append(
                    f"{loaded.path}: key: the key {loaded.key!r} was already imported from "
                    f"{first} in this run; file names must be unique"
                )
                continue
            if loaded.unchanged:
                # Nothing to decide, so nothing to report beyond the count: the editor's
                # changes it leaves alone were reported when a changed file met them.
                self.report.unchanged.append(loaded.key)
                continue
            ready.append(loaded)
        if not ready:
            return
        try:
            self._write_batch(ready)
        except Exception:
            # Find the culprit: retry one file at a time, each in its own transaction. Any
            # exception, not only the database's: one file's surprise is that file's failure.
            for loaded in ready:
                self._forget(loaded)
                try:
                    self._write_batch([loaded])
                except Exception as error:
                    self._forget(loaded)
                    self.report.failed.append(_write_failure(loaded.path, error))

    def _write_batch(self, ready: list[LoadedSeed]) -> None:
        # Outside the batch's transaction: if it rolls back, the cached ids must stay valid.
        with transaction.atomic():
            self._resolve_lookups([loaded.document for loaded in ready])
        with transaction.atomic():
            written = self._write_many(ready)
        if self.held is not None:
            self.held += written  # only once committed: a rolled-back batch placed nothing
        for loaded in ready:
            self.report.warnings.extend(loaded.warnings)

    def _forget(self, loaded: LoadedSeed) -> None:
        """Undo the report lines of a batch whose transaction rolled back."""
        for bucket in (self.report.created, self.report.updated, self.report.unchanged):
            if loaded.key in bucket:
                bucket.remove(loaded.key)
        self.report.conflicts = [c for c in self.report.conflicts if c.key != loaded.key]
        self.report.kept.pop(loaded.key, None)

    # -- writing ---------------------------------------------------------------------------

    def _write_many(self, batch: list[LoadedSeed]) -> list[stories.Entry]:
        """Write the batch; what a large import holds of its articles until it places them."""
        now = timezone.now()
        existing = {
            article.key: article
            for article in Article.objects.select_for_update(of=("self",)).filter(
                key__in=[loaded.key for loaded in batch]
            )
        }
        # Only an article edited since its import is merged against its document (topics,
        # images, related items): fetch those parts for the edited ones alone.
        edited = [article.id for article in existing.values() if article.edited_since_import]
        if edited:
            existing.update(
                (article.key, article)
                for article in Article.objects.with_document().filter(id__in=edited)
            )
        self.rules.start_batch(edited)
        new: list[LoadedSeed] = []
        to_update: list[tuple[Article, seedfile.SeedDocument]] = []
        changes: list[ArticleChange] = []
        for loaded in batch:
            document = loaded.document
            assert document is not None
            article = existing.get(loaded.key)
            if article is None:
                new.append(loaded)
                self.report.created.append(loaded.key)
                continue
            if article.source_hash == loaded.digest:
                # Another import wrote these very bytes after this run looked (two imports of
                # the same new files): nothing changed, so no new version and no "updated".
                self.report.unchanged.append(loaded.key)
                continue
            verdict = self.rules.judge(document)
            merged, clean = self._merge(article, document, verdict)
            merge_changes = _changes(article, merged)
            changes.extend(merge_changes)
            self._assign(article, merged)
            article.version += 1
            if clean:
                article.seed_version = article.version
            self.rules.merged(article, verdict, document, merge_changes, clean)
            to_update.append((article, merged))
            self.report.updated.append(loaded.key)
            article.source_name = os.path.basename(loaded.path)
            article.source_text = loaded.text
            article.source_hash = loaded.digest
            article.imported_at = now
            article.updated_at = now  # bulk_update does not apply auto_now
            article.rank = rank_for(
                article.published_at, article.created_at, article.quality, article.heat
            )
        for article, document in to_update:
            article.provider_id = self._provider_id(document.provider)
        to_create = self._insert_articles(new, now)
        if to_update:
            Article.objects.bulk_update(
                [article for article, _ in to_update],
                [
                    *ARTICLE_SCALAR_FIELDS,
                    "provider",
                    "provider_extra",
                    "extra",
                    "has_front_matter",
                    "source_name",
                    "source_text",
                    "source_hash",
                    "version",
                    "seed_version",
                    "imported_at",
                    "updated_at",
                    "rank",
                ],
            )
            ids = [article.id for article, _ in to_update]
            ArticleTopic.objects.filter(article_id__in=ids).delete()
            ArticleImage.objects.filter(article_id__in=ids).delete()
            RelatedItem.objects.filter(article_id__in=ids).delete()
        for change in changes:
            change.article_id = change.article.id
        self.rules.written(to_create)
        ArticleChange.objects.bulk_create(changes)
        if any(change.field == "published" for change in changes):
            PublicState.touch()  # an unpublish moves no published updated_at: see PublicState
        self._create_children(to_create + to_update)
        # Stories last, in the batch's transaction: what each file joins (or its mark as
        # unplaced) lands with it. A new article's clues come from the parsing workers; an
        # updated one's document is the merge of the file with the editors' changes, so its
        # clues are worked out here.
        clues = {loaded.key: loaded.clues for loaded in new}
        written = [
            (article.id, self._provider_id(document.provider), document, clues.get(article.key))
            for article, document in to_create + to_update
        ]
        if self.held is not None:
            return stories.hold_imported(written)
        stories.cluster_imported(written)
        return []

    def _insert_articles(
        self, batch: list[LoadedSeed], now: datetime.datetime
    ) -> list[tuple[_NewArticle, seedfile.SeedDocument]]:
        """Insert new articles in one statement (``_insert``), then read their ids back by key.

        The same rows ``bulk_create`` would write, without building and compiling a model
        instance per row, which was most of the import's main-process time (see BENCHMARKS.md).
        """
        if not batch:
            return []
        when = connection.ops.adapt_datetimefield_value
        stamp = when(now)
        defaults = [
            field.get_db_prep_save(field.get_default(), connection) for field in _OTHER_FIELDS
        ]
        rows = []
        for loaded in batch:
            document = self.rules.arriving(loaded.key, loaded.document)
            provider = document.provider
            rows.append(
                (
                    loaded.key,
                    os.path.basename(loaded.path),
                    when(document.published_at),
                    *_DOCUMENT_SCALARS(document),
                    self._provider_id(provider),
                    _json([list(pair) for pair in provider.extra] if provider else []),
                    _json([list(pair) for pair in document.extra]),
                    document.has_front_matter,
                    loaded.text,
                    loaded.digest,
                    self.rules.version(loaded.key),
                    1,
                    stamp,
                    stamp,
                    stamp,
                    rank_for(document.published_at, now, document.quality, document.heat),
                    *defaults,
                )
            )
        _insert(Article, [*_ARTICLE_COLUMNS, *(f.name for f in _OTHER_FIELDS)], rows)
        ids = dict(
            Article.objects.filter(key__in=[loaded.key for loaded in batch]).values_list(
                "key", "id"
            )
        )
        return [(_NewArticle(ids[loaded.key], loaded.key), loaded.document) for loaded in batch]

    def _merge(
        self,
        article: Article,
        theirs: seedfile.SeedDocument,
        verdict: rules.Verdict | None = None,
    ) -> tuple[seedfile.SeedDocument, bool]:
        """Three-way merge of the file into the article; returns (merged, equals the file).

        A value a rule sets is the file's (``verdict``, curation/rules.py), and the base has the
        values the rules set last time, so a rule's value is never taken for an editor's."""
        if verdict:
            theirs = seedfile.replace(theirs, **verdict.values)
        if article.version == article.seed_version:
            return theirs, True
        base = {**_last_seed_fields(article), **self.rules.base(article.id)}
        ours = seedfile.document_fields(article.to_document())
        new = seedfile.document_fields(theirs)
        merged: dict[str, Any] = {}
        for name in MERGE_FIELDS:
            if ours[name] == base[name]:
                merged[name] = new[name]
            elif new[name] in (base[name], ours[name]):
                merged[name] = ours[name]
            else:
                merged[name] = new[name] if self.prefer_file else ours[name]
                resolution = (
                    "took the file's value" if self.prefer_file else "kept the editor's value"
                )
                self.report.conflicts.append(
                    Conflict(article.key, name, ours[name], new[name], resolution)
                )
        kept = [name for name in MERGE_FIELDS if merged[name] != new[name]]
        if kept:
            self.report.kept[article.key] = kept
        document = seedfile.replace(theirs, **merged)
        return document, not kept

    def _assign(self, article: Article, document: seedfile.SeedDocument) -> None:
        for name in ARTICLE_SCALAR_FIELDS:
            setattr(article, name, getattr(document, name))
        article.provider_extra = (
            [list(pair) for pair in document.provider.extra] if document.provider else []
        )
        article.extra = [list(pair) for pair in document.extra]
        article.has_front_matter = document.has_front_matter

    # -- lookups ---------------------------------------------------------------------------

    def _resolve_lookups(self, documents: list[seedfile.SeedDocument]) -> None:
        providers = set()
        topics = set()
        for document in documents:
            for provider in [document.provider, *(item.provider for item in document.related)]:
                if provider is not None:
                    providers.add((provider.name, provider.domain))
            topics.update(document.topics)
        missing_providers = providers - self.providers.keys()
        if missing_providers:
            # In sorted order, so concurrent imports (ingest workers) take the unique index's
            # locks in one order and never deadlock.
            Provider.objects.bulk_create(
                [Provider(name=name, domain=domain) for name, domain in sorted(missing_providers)],
                ignore_conflicts=True,
            )
            names = {name for name, _ in missing_providers}
            for provider in Provider.objects.filter(name__in=names):
                self.providers[(provider.name, provider.domain)] = provider.id
        missing_topics = topics - self.topics.keys()
        if missing_topics:
            Topic.objects.bulk_create(
                [Topic(name=name) for name in sorted(missing_topics)], ignore_conflicts=True
            )
            for topic in Topic.objects.filter(name__in=missing_topics):
                self.topics[topic.name] = topic.id

    def _provider_id(self, provider: seedfile.Provider | None) -> int | None:
        return None if provider is None else self.providers[(provider.name, provider.domain)]

    def _create_children(
        self, pairs: list[tuple[Article | _NewArticle, seedfile.SeedDocument]]
    ) -> None:
        when = connection.ops.adapt_datetimefield_value
        topics, images, related = [], [], []
        for article, document in pairs:
            topics.extend(
                (article.id, self.topics[name], position)
                for position, name in enumerate(document.topics)
            )
            images.extend(
                (
                    article.id,
                    position,
                    image.url,
                    image.width,
                    image.height,
                    image.title,
                    image.is_cached,
                    image.attribution,
                    _json([list(pair) for pair in image.extra]),
                )
                for position, image in enumerate(document.images)
            )
            related.extend(
                (
                    article.id,
                    position,
                    item.title,
                    item.excerpt,
                    when(item.published_at),
                    *_URLS(item),
                    item.type,
                    self._provider_id(item.provider),
                    _json([list(pair) for pair in item.provider.extra] if item.provider else []),
                    item.quality,
                    item.heat,
                    _json([seedfile.image_to_dict(image) for image in item.images]),
                    _json([list(pair) for pair in item.extra]),
                )
                for position, item in enumerate(document.related)
            )
        _insert(ArticleTopic, ["article", "topic", "position"], topics)
        _insert(ArticleImage, IMAGE_COLUMNS, images)
        _insert(RelatedItem, RELATED_COLUMNS, related)


class _NewArticle(NamedTuple):
    """An article ``_insert_articles`` just wrote: all its children need."""

    id: int
    key: str


# Article columns in the order _insert_articles writes them; any other concrete field gets its
# default, so a field added later is filled the way bulk_create would fill it.
_ARTICLE_COLUMNS = [
    "key",
    "source_name",
    "published_at",
    *(name for name in ARTICLE_SCALAR_FIELDS if name != "published_at"),
    "provider",
    "provider_extra",
    "extra",
    "has_front_matter",
    "source_text",
    "source_hash",
    "version",
    "seed_version",
    "imported_at",
    "created_at",
    "updated_at",
    "rank",
]
_OTHER_FIELDS = [
    field
    for field in Article._meta.concrete_fields
    if not field.primary_key and field.name not in _ARTICLE_COLUMNS
]
_DOCUMENT_SCALARS = operator.attrgetter(
    *(name for name in ARTICLE_SCALAR_FIELDS if name != "published_at")
)
_URLS = operator.attrgetter(*seedfile.URL_KEYS.values())


IMAGE_COLUMNS = [
    "article",
    "position",
    "url",
    "width",
    "height",
    "title",
    "is_cached",
    "attribution",
    "extra",
]
RELATED_COLUMNS = [
    "article",
    "position",
    "title",
    "excerpt",
    "published_at",
    *seedfile.URL_KEYS.values(),
    "type",
    "provider",
    "provider_extra",
    "quality",
    "heat",
    "images",
    "extra",
]


def _json(value: list) -> str:
    """A JSONField's value as the text ``_insert`` writes: what Django's SQLite backend stores,
    and what PostgreSQL's COPY reads into jsonb. Serialized here, in one C call, rather than by
    the driver's adapter, which cost the main process much of its time on PostgreSQL."""
    return json.dumps(value) if value else "[]"


def _insert(model: type[models.Model], fields: list[str], rows: list[tuple]) -> None:
    """Insert rows with one ``executemany`` (SQLite) or one ``COPY`` (PostgreSQL).

    An import writes tens of rows per file; building and compiling a model instance for each
    (``bulk_create``) was three quarters of the import's time, and on PostgreSQL one INSERT per
    row kept the server busier than COPY of the whole batch (see BENCHMARKS.md).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Errors surface as Django's IntegrityError/DataError, as they do from executemany.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


def _write_failure(path: str, error: Exception) -> str:
    if isinstance(error, DatabaseError):
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"{path}: the database refused it: {message}"
    return seedfile.unexpected_failure(path, "imported", error)


def _last_seed_fields(article: Article) -> dict[str, Any]:
    """What the seed said last time. If that is unknown (an article made in the admin, or a
    source the codec no longer accepts), no field counts as untouched by editors."""
    try:
        source = seedfile.parse(article.source_text.encode("utf-8"), max_bytes=1 << 40)
    except seedfile.SeedError:
        return {name: object() for name in MERGE_FIELDS}
    return seedfile.document_fields(source)


def _changes(article: Article, merged: seedfile.SeedDocument) -> list[ArticleChange]:
    """History rows for the scalar fields an import changes on an existing article."""
    rows = []
    for name in ARTICLE_SCALAR_FIELDS:
        if name in ("body", "secured"):
            continue
        old, new = getattr(article, name), getattr(merged, name)
        if old != new:
            rows.append(
                ArticleChange(
                    article=article,
                    via=ArticleChange.Via.IMPORT,
                    field=name,
                    old_value=json_safe(old),
                    new_value=json_safe(new),
                )
            )
    return rows
