"""What runs in the import's parsing worker processes. No Django import: workers start clean
("spawn") and never set Django up, so everything they call lives here or in ``seedfile``."""

from __future__ import annotations

import array
import ctypes
import os
import signal
import sys
import threading
import time

from . import canonical, headlines, seedfile, story_keys

# Linux's prctl(2) option asking the kernel to signal us when our parent exits.
PR_SET_PDEATHSIG = 1
# Where prctl is unavailable, how often a worker checks that its parent is still there.
PARENT_POLL_SECONDS = 0.5


def init_worker(parent: int, niceness: int) -> None:
    """Start a parsing worker: lower its priority and tie its life to the import's.

    The writer (the parent, and on PostgreSQL the server) is what an import waits for; niced
    workers take the cores it leaves idle instead of taking turns with it (BENCHMARKS.md). A
    parent killed with SIGKILL cannot stop its workers, so each worker stops itself.
    """
    os.nice(niceness)
    _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            # The parent may have died before prctl took effect: then no signal will come.
            if os.getppid() != parent:
                os._exit(1)
            return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    """A dead parent's children are adopted by another process: their parent id changes."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def load_many(paths: list[str], digests: list[str], max_bytes: int) -> list[seedfile.LoadedSeed]:
    """``seedfile.load`` for a chunk of files: one round trip to a worker for several files."""
    found = [
        seedfile.load(path, digest, max_bytes) for path, digest in zip(paths, digests, strict=True)
    ]
    for loaded in found:
        if loaded.document is not None:
            loaded.clues = story_clues(loaded.document)
    return found


def story_clues(
    document: seedfile.SeedDocument,
) -> tuple[headlines.Headline, array.array, array.array, array.array]:
    """What story clustering reads of a new article (``stories.entry_for``), worked out here so
    the import's writer, which every file waits for, need not: the headline's words, the
    fingerprints of the canonical URLs of the article and of its related coverage, and the keys
    it is stored under."""
    provider = document.provider.name if document.provider else ""
    headline = headlines.headline(document.title, provider)
    urls = canonical.fingerprints(canonical.own_urls(document))
    related = canonical.fingerprints(canonical.related_urls(document.related))
    keys = story_keys.own_keys(urls, related, headline.words, document.published_at)
    return headline, urls, related, keys
