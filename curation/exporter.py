"""Articles back out as seed files: byte for byte when untouched, one-line diffs when edited.

The command ``export_seeds`` is a thin shell over ``export_seeds()`` here.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import seedfile
from .models import Article

BATCH_SIZE = 500
# Temporary files are named with this prefix, so a run can recognise (and delete) the ones a
# killed run left behind. The leading dot keeps them from ever looking like an article's file.
TEMP_PREFIX = ".newsroom-export-"
# What the exporter names files: an article key plus one of these (any case: "X.TXT" is kept).
EXTENSIONS = (".txt", ".md")


class ExportError(Exception):
    """The export cannot run at all (for example, the folder is not writable)."""


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)  # article keys
    unchanged: list[str] = field(default_factory=list)  # article keys
    removed: list[str] = field(default_factory=list)  # "name: why" lines
    failed: list[str] = field(default_factory=list)  # "name: why" lines
    warnings: list[str] = field(default_factory=list)  # "name: what" lines

    def counts(self) -> dict[str, int]:
        return {
            "written": len(self.written),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "failed": len(self.failed),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "errors": self.failed,
            "removed_files": self.removed,
            "warnings": self.warnings,
        }


def file_name(article: Article) -> str:
    """The name the article is exported under: the name it was imported as, if still valid."""
    suffix = Path(article.source_name).suffix.lower()
    if Path(article.source_name).stem == article.key and suffix in EXTENSIONS:
        return article.source_name
    return f"{article.key}.txt"


def _looks_like_an_article_file(name: str) -> bool:
    """Could the exporter have written a file of this name? Only such files are ever removed."""
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in EXTENSIONS:
        return False
    try:
        seedfile.validate_key(stem)
    except seedfile.SeedError:
        return False
    return True


def article_text(article: Article) -> str:
    """The seed-file text for an article (fetched with ``Article.objects.with_document()``
    when it was edited since import).

    Raises ``seedfile.RenderError`` when an edited article that has a source file cannot be
    written as that file with only the edited lines changed: it is never re-rendered whole.
    """
    if article.source_text and not article.edited_since_import:
        return article.source_text
    return seedfile.render(article.to_document(), article.source_text or None)


def export_seeds(
    outdir: str | os.PathLike,
    *,
    published_only: bool = False,
    changed_only: bool = False,
    keep_others: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Write one seed file per article into ``outdir``; see docs/import-export.md for the
    guarantees.

    The folder mirrors the selection: a file named like an article's (a valid key plus ``.txt`` or
    ``.md``) that no selected article claims is removed and reported, unless ``keep_others``.
    Files get the permissions ``0o666`` less the umask, as any program's new files do.
    """
    root = Path(outdir)
    report = ExportReport()
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(root, report)
        probe = tempfile.NamedTemporaryFile(dir=root, prefix=TEMP_PREFIX)  # noqa: SIM115
        probe.close()
    except OSError as error:
        raise ExportError(f"{root}: cannot write there: {error.strerror or error}") from None
    root = root.resolve()
    mode = 0o666 & ~_current_umask()
    claimed: set[str] = set()
    articles = Article.objects.all()
    if published_only:
        articles = articles.published()
    total = articles.count()
    ids = list(articles.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        plain = Article.objects.filter(id__in=chunk).only(
            "id", "key", "source_name", "source_text", "version", "seed_version"
        )
        edited = {
            article.id: article
            for article in Article.objects.with_document()
            .filter(id__in=chunk)
            .edited_since_import()
        }
        for article in plain:
            article = edited.get(article.id, article)
            claimed.add(file_name(article))
            _export_one(article, root, changed_only, mode, report)
        if progress:
            progress(min(start + BATCH_SIZE, total), total)
    if not keep_others:
        _remove_unclaimed(root, claimed, published_only, report)
    return report


def _export_one(
    article: Article, root: Path, changed_only: bool, mode: int, report: ExportReport
) -> None:
    name = file_name(article)
    target = root / name
    if target.parent != root:  # a key is a validated file-name stem; this is the last guard
        report.failed.append(f"{name}: refused: the name would write outside {root}")
        return
    try:
        data = article_text(article).encode("utf-8")
    except seedfile.SeedError as error:  # a RenderError: the old file, if any, stays as it is
        error.path = name
        report.failed.append(str(error))
        return
    except Exception as error:  # one article's surprise is that file's failure, not the run's
        report.failed.append(seedfile.unexpected_failure(name, "exported", error))
        return
    try:
        same = target.is_file() and target.read_bytes() == data
    except OSError:
        same = False
    if same:
        report.unchanged.append(article.key)
        if changed_only:
            return
    read_only = _is_read_only(target)
    try:
        write_atomically(target, data, mode)
    except OSError as error:
        report.failed.append(f"{target}: cannot write: {error.strerror or error}")
        return
    if read_only:
        report.warnings.append(f"{name}: was read-only; replaced")
    if not same:
        report.written.append(article.key)


def write_atomically(target: Path, data: bytes, mode: int | None = None) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half a file.

    ``mode`` defaults to ``0o666`` less the umask (a temporary file alone would be ``0o600``).
    """
    if mode is None:
        mode = 0o666 & ~_current_umask()
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    # The only portable way to read the umask is to set it; this puts it straight back.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _is_read_only(path: Path) -> bool:
    try:
        status = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(status.st_mode) and not status.st_mode & stat.S_IWUSR


def _remove_stale_temporaries(root: Path, report: ExportReport) -> None:
    """Temporary files left by an export that was killed mid-write: deleted, and the run goes
    on. Anything else with the prefix (this exporter never makes folders) is left alone."""
    for leftover in root.glob(f"{TEMP_PREFIX}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            report.warnings.append(f"{leftover.name}: left alone (a folder, not an export's file)")
            continue
        try:
            leftover.unlink(missing_ok=True)
        except OSError as error:
            report.warnings.append(
                f"{leftover.name}: a killed export's temporary file could not be deleted: "
                f"{error.strerror or error}"
            )


def _remove_unclaimed(
    root: Path, claimed: set[str], published_only: bool, report: ExportReport
) -> None:
    """Delete the files of articles that left the selection, so the folder mirrors it."""
    with os.scandir(root) as entries:
        stale = sorted(
            entry.name
            for entry in entries
            if entry.name not in claimed
            and not entry.is_dir(follow_symlinks=False)
            and _looks_like_an_article_file(entry.name)
        )
    if not stale:
        return
    keys = [os.path.splitext(name)[0] for name in stale]
    known: dict[str, Article] = {}
    public: set[str] = set()
    for start in range(0, len(keys), BATCH_SIZE):
        batch = Article.objects.filter(key__in=keys[start : start + BATCH_SIZE])
        known.update((a.key, a) for a in batch.only("key", "source_name"))
        public.update(batch.published().values_list("key", flat=True))
    for name in stale:
        article = known.get(os.path.splitext(name)[0])
        if article is None:
            why = "not in the database"
        elif published_only and article.key not in public:
            why = "no longer published"
        else:
            why = f"the article is now exported as {file_name(article)}"
        read_only = _is_read_only(root / name)
        try:
            (root / name).unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            report.failed.append(f"{name}: cannot remove ({why}): {error.strerror or error}")
            continue
        report.removed.append(f"{name}: {why}")
        if read_only:
            report.warnings.append(f"{name}: was read-only; removed")
