"""A one-line progress bar for long management commands, shown only on a terminal."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO, label: str, enabled: bool) -> None:
        self.stream = stream
        self.label = label
        self.enabled = enabled
        self.started = time.monotonic()
        self.last_drawn = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last_drawn < 0.2 and done < total):
            return
        self.last_drawn = now
        width = 30
        filled = width * done // total if total else width
        rate = done / max(now - self.started, 1e-6)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}"
            f" ({rate:,.0f}/s)",
            ending="" if done < total else "\n",
        )
        self.stream.flush()
