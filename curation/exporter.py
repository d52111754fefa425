"""Articles back out as seed files: byte for byte when untouched, one-line diffs when edited.

The command ``export_seeds`` is a thin shell over ``export_seeds()`` here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import seedfile
from .models import Article

BATCH_SIZE = 500
TEMP_PREFIX = ".newsroom-export-"


class ExportError(Exception):
    """The export cannot run at all (for example, the folder is not writable)."""


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "written": len(self.written),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.counts(), "errors": self.failed}


def file_name(article: Article) -> str:
    """The name the article is exported under: the name it was imported as, if still valid."""
    suffix = Path(article.source_name).suffix.lower()
    if Path(article.source_name).stem == article.key and suffix in (".txt", ".md"):
        return article.source_name
    return f"{article.key}.txt"


def article_text(article: Article) -> str:
    """The seed-file text for an article (fetched with ``Article.objects.with_document()``
    when it was edited since import)."""
    if article.source_text and not article.edited_since_import:
        return article.source_text
    return seedfile.render(article.to_document(), article.source_text or None)


def export_seeds(
    outdir: str | os.PathLike,
    *,
    published_only: bool = False,
    changed_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Write one seed file per article into ``outdir``; see the README for the guarantees."""
    root = Path(outdir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(root)
        probe = tempfile.NamedTemporaryFile(dir=root, prefix=TEMP_PREFIX)  # noqa: SIM115
        probe.close()
    except OSError as error:
        raise ExportError(f"{root}: cannot write there: {error.strerror or error}") from None
    root = root.resolve()
    report = ExportReport()
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
            _export_one(edited.get(article.id, article), root, changed_only, report)
        if progress:
            progress(min(start + BATCH_SIZE, total), total)
    return report


def _export_one(article: Article, root: Path, changed_only: bool, report: ExportReport) -> None:
    name = file_name(article)
    target = root / name
    if target.parent != root:  # a key is a validated file-name stem; this is the last guard
        report.failed.append(f"{name}: refused: the name would write outside {root}")
        return
    data = article_text(article).encode("utf-8")
    try:
        same = target.is_file() and target.read_bytes() == data
    except OSError:
        same = False
    if same:
        report.unchanged.append(article.key)
        if changed_only:
            return
    try:
        write_atomically(target, data)
    except OSError as error:
        report.failed.append(f"{target}: cannot write: {error.strerror or error}")
        return
    if not same:
        report.written.append(article.key)


def write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half a file."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(root: Path) -> None:
    """Temporary files left by an export that was killed mid-write."""
    for leftover in root.glob(f"{TEMP_PREFIX}*"):
        leftover.unlink(missing_ok=True)
