"""The keys story clustering finds an article by (``StoryKey``): 64-bit values of its canonical
URLs, of its related items' links and of its headline's significant words on its span of days.

Pure, no Django: the import's parsing workers work out an arriving article's keys, so the writer
every file waits for need not. ``curation/stories.py`` stores them and looks them up.
"""

from __future__ import annotations

import array
import datetime
import functools
from collections.abc import Collection, Iterable

from . import headlines
from .canonical import stable_hash

_MASK = (1 << 64) - 1
_SIGN = 1 << 63
# Salts of the kinds of key, so a URL's key never equals a related link's or a word's.
OWN, NAMED, WORD = 1, 2, 3
# Headline keys are per span of UTC days as long as the window, so the window around any moment
# lies in its own span and the two next to it: three lookups per word.
SPAN_DAYS = -(-headlines.WINDOW_HOURS // 24)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def mix(base: int, salt: int) -> int:
    """``base`` mixed with a salt (a kind, or a day) into a signed 64-bit column value: hashing
    each word once and mixing in each day is arithmetic, not seven more hashes."""
    mixed = ((base ^ (salt * 0x9E3779B97F4A7C15)) * 0xBF58476D1CE4E5B9) & _MASK
    mixed ^= mixed >> 31
    return mixed - (1 << 64) if mixed & _SIGN else mixed


@functools.lru_cache(maxsize=1 << 16)
def word_base(word: str) -> int:
    # Remembered: headlines share their words, and a large import hashes millions of them.
    return mix(stable_hash(word), WORD)


def span(moment: datetime.datetime) -> int:
    return (moment - _EPOCH).days // SPAN_DAYS


def word_bases(words: Collection[str], published_at: datetime.datetime | None) -> list[int]:
    """A headline's words as keys before their span is mixed in; none for an undated or
    incomparable headline, which never matches on its headline."""
    if published_at is None or len(words) < headlines.MIN_WORDS:
        return []
    return [word_base(word) for word in words]


def own_keys(
    urls: Iterable[int],
    related: Iterable[int],
    words: Collection[str],
    published_at: datetime.datetime | None,
) -> array.array:
    """What an article is stored under: its URLs' fingerprints (``canonical.fingerprints``) as
    its own, its related links' as links it names, and its words on its span of days."""
    keys = array.array("q", [mix(url, OWN) for url in urls])
    keys.extend(mix(url, NAMED) for url in related)
    if bases := word_bases(words, published_at):
        moment = span(published_at)
        keys.extend(mix(base, moment) for base in bases)
    return keys
