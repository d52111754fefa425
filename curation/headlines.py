"""Near-duplicate headlines: are two titles the same news told by two outlets?

Pure Python with no Django import, like the seed codec and ``canonical``, so the rules can be
tested on their own (``tests/test_headlines.py``). ``docs/stories.md`` explains the choices.

A title becomes a :class:`Headline`: its *significant words* (folded to lower case without
accents, function words and headline fillers dropped, each cut to a crude stem so "trials",
"trialled" and "trialling" meet) and its *specifics*, the words that name one event rather
than a kind of event: numbers, and proper nouns (capitalised words inside a sentence-case
title). Two headlines are the same story when

1. each has at least :data:`MIN_WORDS` significant words and they share at least
   :data:`MIN_SHARED` (a short headline, "What we know so far", names no event);
2. their significant words overlap by a Dice coefficient of at least :data:`MIN_DICE`; and
3. they do not *conflict*: each has a specific the other lacks entirely ("cameras in Leeds"
   against "cameras in York", "2024" against "2025"). One side naming more than the other is
   fine ("cameras" against "cameras in Leeds").

The window (both published within ``WINDOW_HOURS`` of each other) and "from different providers"
are the caller's part: they need the articles, not only their titles.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "MIN_DICE",
    "MIN_SHARED",
    "MIN_WORDS",
    "STOPWORDS",
    "WINDOW_HOURS",
    "Headline",
    "headline",
    "min_shared_for",
    "normalise",
    "same_story",
    "similarity",
    "stem",
]

# Two reports of one event are published within this many hours of each other.
WINDOW_HOURS = 72
MIN_WORDS = 3
MIN_SHARED = 3
MIN_DICE = 0.7

# English function words and the words headlines add to any story ("live", "update", "watch"):
# shared by unrelated headlines, so they prove nothing.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours
    says say said saying new news live latest update updates breaking watch video videos photo
    photos exclusive report reports reported opinion analysis explained today week year day
    could might may amid after over first get gets got make makes made
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# A leading "LIVE:" or "Watch:" is a label, not part of the headline.
_LABEL = re.compile(r"^\s*([A-Za-z]+)\s*:\s+")
_LABELS = frozenset({"live", "watch", "breaking", "exclusive", "video", "opinion", "update"})
# "Headline - Outlet" or "Headline | Outlet": the tail is dropped when it names the provider.
_TAIL = re.compile(r"\s+[-|\u2013\u2014]\s+([^-|\u2013\u2014]+)$")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
# A title this share of whose words are capitalised is in title case (or capitals): its capitals
# say nothing about proper nouns.
_TITLE_CASE_SHARE = 0.6
# What may stand between the end of a sentence (or the title's start) and its first word.
_OPENERS = " \t\"'\u2018\u201c("
# Words before a place's name: in a title-case headline, what follows them is a specific.
_LOCATIVES = frozenset({"in", "at", "across", "near", "outside"})
# A kicker ("Leeds:", "Storm Ciara:") is short.
_KICKER_LENGTH = 30


def normalise(text: str) -> str:
    """Lower case, accents removed, apostrophes dropped, anything else that is not a letter or a
    digit a single space: ``"Zürich's  Mayor—Quits!"`` -> ``"zurichs mayor quits"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = plain.replace("'", "").replace("\u2019", "").casefold()
    return " ".join(re.findall(r"[^\W_]+", plain))


def _fold(word: str) -> str:
    """``normalise`` for one word, quicker for plain ASCII."""
    if word.isascii():
        return word.replace("'", "").lower()
    return normalise(word).replace(" ", "")


def stem(word: str) -> str:
    """A crude English stem, the same for a word's plural, past and -ing forms (both sides of a
    comparison go through it, so only consistency matters, not linguistics)."""
    if word.isdigit() or len(word) <= 3:
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiousl0123456789":
        word = word[:-1]  # "planned" -> "plann" -> "plan"
    if len(word) > 3 and word.endswith("ll") and not word.endswith("ll" * 2):
        word = word[:-1]  # "trialled" -> "triall" -> "trial"; "call"/"calls" meet as "cal"
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]  # "approve", "approves", "approved", "approving" -> "approv"
    return word


@dataclass(frozen=True)
class Headline:
    """A title as the comparison sees it."""

    words: frozenset[str]  # significant words, stemmed
    specifics: frozenset[str]  # numbers and proper nouns among them
    title_case: bool = False  # capitals everywhere: its proper nouns cannot be told apart

    @property
    def comparable(self) -> bool:
        """Whether the headline names an event at all (enough significant words)."""
        return len(self.words) >= MIN_WORDS


def _strip_decoration(title: str, provider: str) -> str:
    label = _LABEL.match(title)
    if label and label.group(1).casefold() in _LABELS:
        title = title[label.end() :]
    tail = _TAIL.search(title)
    if tail and provider and normalise(tail.group(1)) == normalise(provider):
        title = title[: tail.start()]
    return title


def headline(title: str, provider: str = "") -> Headline:
    """The significant words and specifics of ``title``; ``provider`` is the outlet's name,
    dropped when the title ends with it ("... - Riverside Courier").

    A capital at the start of a sentence (the title's, or after ``:``, ``.``, ``?``, ``!``) says
    nothing, except on a kicker, the capitalised word or two before a colon that open a title
    ("Leeds: police to trial cameras"), which names the place or subject.
    """
    text = _strip_decoration(title, provider)
    found = list(_WORD.finditer(text))
    lettered = [match.group() for match in found if any(c.isalpha() for c in match.group())]
    capitals = sum(word[0].isupper() for word in lettered)
    title_case = bool(lettered) and capitals >= _TITLE_CASE_SHARE * len(lettered)
    kicker_end = text.find(":") if 0 < text.find(":") <= _KICKER_LENGTH else -1
    words: set[str] = set()
    specifics: set[str] = set()
    previous = ""
    last_end = 0
    for match in found:
        word = match.group()
        # What separates it from the word before: a sentence ends there, or not.
        gap, last_end = text[last_end : match.start()], match.end()
        starts = match.start() == 0 or ":" in gap or "." in gap or "?" in gap or "!" in gap
        if not previous and not text[: match.start()].strip(_OPENERS):
            starts = True
        folded = _fold(word)
        after_place_word, previous = previous in _LOCATIVES, folded
        if not folded or folded in STOPWORDS or (len(folded) < 2 and not folded.isdigit()):
            continue
        stemmed = stem(folded)
        words.add(stemmed)
        in_kicker = match.end() <= kicker_end
        # In title case, capitals say nothing; a word after "in", "at"... still names a place.
        capital = word[0].isupper() and (after_place_word if title_case else True)
        if folded.isdigit() or (in_kicker and word[0].isupper()) or (capital and not starts):
            specifics.add(stemmed)
    return Headline(frozenset(words), frozenset(specifics), title_case)


def similarity(first: Headline, second: Headline) -> float:
    """The Dice coefficient of the two sets of significant words (0 to 1)."""
    total = len(first.words) + len(second.words)
    return 2 * len(first.words & second.words) / total if total else 0.0


def _unmatched(first: Headline, second: Headline) -> frozenset[str]:
    """What ``first`` names that ``second`` does not mention. In a title-case headline any word
    may be a name, so every word ``second`` lacks counts."""
    named = first.specifics - second.words
    if first.title_case and not named:
        return first.words - second.words
    return named


def conflict(first: Headline, second: Headline) -> bool:
    """Whether each names something specific that the other does not mention at all (at least
    one of them a proper noun, number or kicker for certain, not only a title-case word)."""
    certain = (first.specifics - second.words) or (second.specifics - first.words)
    return bool(certain) and bool(_unmatched(first, second)) and bool(_unmatched(second, first))


def same_story(first: Headline, second: Headline) -> bool:
    """Whether two headlines report the same event (module docstring: rules 1-3)."""
    if not (first.comparable and second.comparable):
        return False
    if len(first.words & second.words) < MIN_SHARED:
        return False
    return similarity(first, second) >= MIN_DICE and not conflict(first, second)


def min_shared_for(size: int) -> int:
    """The fewest words a headline of ``size`` significant words must share with any headline
    it can match: what a candidate lookup may demand before comparing in full.

    Dice >= MIN_DICE with ``shared <= other size`` needs ``other >= size * d / (2 - d)``, and
    then ``shared >= d * (size + other) / 2``.
    """
    other = size * MIN_DICE / (2 - MIN_DICE)
    needed = MIN_DICE * (size + other) / 2
    return max(MIN_SHARED, int(needed - 1e-9) + (needed - int(needed) > 1e-9))
