"""Feed text in pages: isolated, so its bidi controls (U+202E and friends) cannot reorder what is
shown around it, and without the overrides that would make it read as something it is not.

The direction overrides LRO and RLO (with the PDF that ends them) are left out of pages: they
display characters in an order other than the stored one, which is how "gnp.exe" is made to
read "exe.png", and right-to-left writing does not need them (it uses marks, embeddings and
isolates). What else the text holds it keeps (right-to-left writing may use it), balanced and
wrapped: ``isolate`` in an element (``<bdi dir="auto">``), ``isolate_text`` with the isolate
characters FSI and PDI where no element may go (``<title>``, attribute values). Feeds (RSS and
Atom) are plain text with no element to contain them, so there the controls are removed
(``without_bidi_controls``). The JSON API returns the text exactly as stored.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# Embeddings and overrides (LRE, RLE, LRO, RLO) end at PDF; isolates (LRI, RLI, FSI) at PDI.
_OPENERS = {"\u202a": "\u202c", "\u202b": "\u202c", "\u202d": "\u202c", "\u202e": "\u202c"}
_OPENERS.update({"\u2066": "\u2069", "\u2067": "\u2069", "\u2068": "\u2069"})
_PDF, _PDI, _FSI = "\u202c", "\u2069", "\u2068"
# LRO and RLO: shown in no page (see the module's docstring).
_OVERRIDES = frozenset({"\u202d", "\u202e"})
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


@register.filter
def balanced_bidi(text: str) -> str:
    """``text`` without its direction overrides, with every embedding and isolate it opens
    closed at its end, and the closers that close nothing of its own dropped: so a stray PDI
    cannot end the isolation that wraps it, and what it opens cannot reach past it (Unicode bidi
    algorithm, UAX #9)."""
    if BIDI_CONTROLS.search(text) is None:
        return text
    out, open_ = [], []
    for char in text:
        if char in _OPENERS:
            open_.append(char)
            if char in _OVERRIDES:
                continue
        elif char == _PDF:
            if not open_ or _OPENERS[open_[-1]] != _PDF:
                continue  # closes nothing (or would cross an isolate): dropped
            if open_.pop() in _OVERRIDES:
                continue
        elif char == _PDI:
            if not any(_OPENERS[opener] == _PDI for opener in open_):
                continue
            while _OPENERS[open_.pop()] != _PDI:  # a PDI also ends the embeddings inside it
                pass
        out.append(char)
    out.extend(_OPENERS[opener] for opener in reversed(open_) if opener not in _OVERRIDES)
    return "".join(out)


def without_bidi_controls(text: str) -> str:
    """``text`` without embedding, override and isolate controls (for plain-text output)."""
    return BIDI_CONTROLS.sub("", text)


def isolated(text: object) -> SafeString:
    """``text`` escaped and wrapped in ``<bdi dir="auto">``: whatever direction controls it
    holds end with it, so they cannot flip the text around it."""
    return format_html('<bdi dir="auto">{}</bdi>', "" if text is None else balanced_bidi(str(text)))


@register.filter
def isolate_text(text: object) -> str:
    """``<title>{{ article.title|isolate_text }}``: plain text (escaped as usual) between FSI
    and PDI, for places where no ``<bdi>`` element may go."""
    return "" if text is None or text == "" else f"{_FSI}{balanced_bidi(str(text))}{_PDI}"


@register.filter
def isolate(text: object) -> SafeString:
    """``{{ article.title|isolate }}``: see ``isolated``."""
    return isolated(text)


def shown_value(value: object) -> str:
    """A stored value as editors read it, the same on every page and in every message: the
    history, the "Article changes" list, a refused save ("It now reads: published yes; ...").

    Booleans are "yes"/"no" (never "True" on one page and "true" on the next), nothing is
    "empty", numbers and text are themselves. Plain text: pages isolate it (``shown``).
    """
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.filter
def shown(value: object) -> SafeString:
    """``{{ change.old_value|shown }}``: ``shown_value``, isolated (a title's old value is feed
    text, bidi controls included)."""
    return isolated(shown_value(value))
