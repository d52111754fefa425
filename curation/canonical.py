"""Canonical URLs: one string per article, whichever copy of it the feed points at.

Pure Python with no Django import, like the seed codec, so the rules can be tested on their own.

The feed gives one article under up to seven URLs (``originalUrl``, ``webUrl``, ``ampWebUrl``,
``cdnAmpWebUrl``, ``sourceUrl``, ``ampUrl``, ``cdnAmpUrl``): the publisher's page, its AMP
version, and the AMP version served from an AMP cache, often with tracking parameters on top.
:func:`canonical_url` maps all of them to one string, so that "is this the same story?" becomes a
string comparison. The canonical form is a key, not a link to show: it always says ``https``, it
drops ``www.``, and it may name a page the publisher never served under exactly that spelling.

The rules, in the order they apply (``docs/stories.md`` explains each one):

1. Only ``http`` and ``https`` URLs with a host have a canonical form; anything else (empty
   text, ``mailto:``, a bare path, a malformed port or host) gives ``""``. Nothing raises.
2. An AMP cache URL (``https://<encoded-host>.cdn.ampproject.org/c/s/<host>/<path>``, also
   ``/v/`` and ``/i/``, and caches of the same shape) is replaced by the origin URL it serves.
3. The scheme becomes ``https``; user name and password, the fragment and default ports go.
4. The host is lower-cased, IDNA hosts are written in punycode (``xn--``), a trailing dot goes,
   and leading ``www.`` and ``amp.`` labels are dropped while two labels remain.
5. The path keeps its case. Percent-escapes are normalised (RFC 3986: unreserved characters
   decoded, hex digits upper-case), characters a URL cannot carry are percent-encoded, ``.``
   and ``..`` segments are resolved, and trailing slashes go (the root path stays ``/``).
6. Well-known AMP path forms go: ``amp`` and ``google-amp`` segments anywhere, a leading
   ``platform/amp``, and a ``.amp`` or ``.amp.html`` ending of the last segment.
7. Tracking and AMP query parameters go (:data:`TRACKING_PARAMETERS`,
   :data:`TRACKING_PREFIXES`, :data:`AMP_PARAMETERS`, :data:`AMP_PARAMETER_VALUES`; names
   compared case-insensitively); the others are sorted by name (stably, so repeated names keep
   their order) with their values kept exactly, and an empty query goes.

Examples (input -> output)::

    https://www.Example.com:443/news/a/?utm_source=x#top  -> https://example.com/news/a
    http://example.com:80/news/a                          -> https://example.com/news/a
    https://example.com/news/a?b=2&a=1&fbclid=XYZ         -> https://example.com/news/a?a=1&b=2
    https://inews.co.uk/news/x-2314018?ITO=msn            -> https://inews.co.uk/news/x-2314018
    https://www.example.com/amp/news/x                    -> https://example.com/news/x
    https://example.com/news/x/amp/                       -> https://example.com/news/x
    https://example.com/news/x?amp=1                      -> https://example.com/news/x
    https://example.com/news/x?outputType=amp             -> https://example.com/news/x
    https://mashable.com/article/x.amp                    -> https://mashable.com/article/x
    https://www.nytimes.com/2020/01/24/x.amp.html         -> https://nytimes.com/2020/01/24/x.html
    https://www.theverge.com/platform/amp/2020/1/24/x     -> https://theverge.com/2020/1/24/x
    https://amp.ft.com/content/a2c8                       -> https://ft.com/content/a2c8
    https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/x/amp/
                                                          -> https://example.com/news/x
    https://my--site-example.cdn.ampcache.example/v/s/news/x
                                                          -> https://my-site.example/news/x
    https://Bücher.example/Köln                           -> https://xn--bcher-kva.example/K%C3%B6ln
    https://example.com/amp-stadium                       -> https://example.com/amp-stadium
    mailto:desk@example.com                               -> (empty string)

Different paths of one host never meet: ``/news/a`` and ``/news/b``, ``/amp-stadium`` and
``/stadium``, ``/news/x/page/2`` and ``/news/x`` all stay apart. Some copies cannot be matched by
their URL alone (``mobile.reuters.com/article/amp/<id>`` against the slugged web URL, or
``cbc.ca/amp/<id>`` against the long one); those stay apart too.
"""

from __future__ import annotations

import array
import hashlib
import ipaddress
import re
import string
from collections.abc import Iterable
from encodings import idna
from typing import Any, NamedTuple
from urllib.parse import unquote_plus, urlsplit

from . import seedfile

__all__ = [
    "AMP_CACHE_SUFFIXES",
    "AMP_PARAMETERS",
    "AMP_PARAMETER_VALUES",
    "CANONICAL_SCHEME",
    "TRACKING_PARAMETERS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "own_urls",
    "related_urls",
]

# Every canonical URL says https: the feed mixes both schemes for one page, publishers redirect
# http to https, and a key that kept the scheme would split one article in two.
CANONICAL_SCHEME = "https"
_SCHEMES = {"http": 80, "https": 443}  # scheme -> default port

# Query parameters that say who sent the reader, never what they read. Compared lower-cased,
# so ``ITO`` (as in ``?ITO=msn``) and ``ito`` are one name.
TRACKING_PREFIXES = ("utm_",)
TRACKING_PARAMETERS = frozenset(
    {
        "_ga",  # Google Analytics cross-domain linker
        "_gl",  # Google tag linker
        "_hsenc",  # HubSpot
        "_hsmi",
        "cmpid",  # campaign id (Guardian, Telegraph, many others)
        "dclid",  # Google Display click id
        "fbclid",  # Facebook click id
        "gbraid",  # Google Ads (iOS) click ids
        "gclid",  # Google Ads click id
        "gclsrc",
        "igshid",  # Instagram share id
        "ito",  # syndication origin, ``?ITO=msn``
        "mc_cid",  # Mailchimp campaign and member
        "mc_eid",
        "mkt_tok",  # Marketo
        "msclkid",  # Microsoft Ads click id
        "ncid",  # Yahoo / AOL newsletter campaign
        "ocid",  # MSN syndication origin
        "ref_src",  # Twitter embeds
        "ref_url",
        "smid",  # New York Times share medium
        "smtyp",
        "src",  # feed attribution: our feed appends ``?src=feed`` to the web URL
        "twclid",  # X/Twitter click id
        "wbraid",
        "yclid",  # Yandex click id
    }
)

# Parameters that ask for the AMP rendering or come from an AMP viewer; any value.
AMP_PARAMETERS = frozenset({"amp", "amp_js_v", "amp_gsa", "amp_ct", "amp_tf", "usqp"})
# Parameters that ask for the AMP rendering only with one value (``output=json`` is another page).
AMP_PARAMETER_VALUES = {"outputtype": "amp", "output": "amp"}

# AMP caches serve ``https://<encoded-host>.<suffix>/c/s/<host>/<path>``. Google's cache, the
# ``ampproject.net`` frames, Bing's cache, and any host with an ``ampcache`` label after the
# first (the shape of the caches in our sample seeds, ``*.cdn.ampcache.example``).
AMP_CACHE_SUFFIXES = ("cdn.ampproject.org", "ampproject.net", "bing-amp.com")
_AMP_CACHE_LABEL = "ampcache"
_AMP_CACHE_KINDS = frozenset({"c", "v", "i"})  # content, viewer, image

# Host labels that name a copy of the site, not another site; dropped while two labels remain.
_COPY_LABELS = frozenset({"www", "amp"})
# Path segments that mark the AMP rendering wherever they appear (``google-amp``: ZDNet).
_AMP_SEGMENTS = frozenset({"amp", "google-amp"})
# Leading segments that mark the AMP rendering only as a pair followed by the page's path (The Verge
# and other Vox Media sites: ``/platform/amp/2020/1/24/...``).
_AMP_PREFIX = ("platform", "amp")
# Endings of the last segment: ``x.amp`` (Mashable) -> ``x``, ``x.amp.html`` (NYT) -> ``x.html``.
_AMP_SUFFIXES = ((".amp.html", ".html"), (".amp", ""))

# Unwrapping a cache URL or dropping an AMP form may reveal another one; each step shortens the
# URL, and a URL needing more steps than this is not one a publisher or a cache ever produced.
_MAX_PASSES = 8

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
# Printable ASCII a query may carry as is; the rest is percent-encoded, as a browser sends it.
_QUERY_UNSAFE = frozenset(' "<>\\^`{|}')
_HEX = frozenset(string.hexdigits)
# A path made only of characters ``_normalise_escapes`` keeps as they are (no ``%`` among them).
# An http(s) URL with a lower-case ASCII host, no port, user, query or fragment, and a plain path.
_PLAIN_URL = re.compile(
    r"https?://([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+)(/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?"
)
# What sends a plain URL down the full rules anyway: an AMP cache host, an AMP path form.
_AMP_HOST = re.compile("ampproject|bing-amp|ampcache")
_AMP_PATH = re.compile(r"/(?:google-)?amp(?:/|$)|\.amp(?:\.html)?/*$")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the label separators IDNA accepts
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
_HOST_LIKE = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)+(:[0-9]*)?", re.IGNORECASE)


class _Parts(NamedTuple):
    scheme: str
    host: str  # lower-case ASCII, before the copy labels are dropped; ``[...]`` for IPv6
    port: int | None  # None when absent or the scheme's default
    path: str  # percent-normalised, dot segments resolved
    query: str  # as written


def canonical_url(url: str) -> str:
    """The canonical form of ``url``, or ``""`` when it is not an http(s) URL with a host.

    Idempotent by construction: the rules are applied until the result no longer changes, so a
    cache URL wrapping another cache URL, or an AMP form revealed by dropping another, ends in
    the same string as the plain URL.
    """
    if not isinstance(url, str):
        return ""
    current = url.strip()
    plain = _PLAIN_URL.fullmatch(current)
    if (
        plain
        and not _AMP_HOST.search(plain.group(1))
        and not _AMP_PATH.search(plain.group(2) or "")
        and "/." not in current
    ):
        # Nothing for the rules to do but the scheme, the copy labels and trailing slashes:
        # most of the feed's URLs, at a fraction of the cost (an import canonicalises each
        # article's URLs and every related item's).
        host, path = plain.group(1), plain.group(2) or ""
        return f"{CANONICAL_SCHEME}://{_drop_copy_labels(host)}{path.rstrip('/') or '/'}"
    return _apply_rules(current)


def _apply_rules(current: str) -> str:
    """Every rule, again and again until the result stops changing."""
    for _ in range(_MAX_PASSES):
        result = _canonical_once(current)
        if result == current or not result:
            return result
        current = result
    return ""


def _canonical_once(url: str) -> str:
    """One application of the rules; unwraps at most one AMP cache layer."""
    try:
        parts = _split(url)
        if parts is None:
            return ""
        origin = _unwrap_amp_cache(parts)
        if origin is not None:
            parts = _split(origin)
            if parts is None:
                return ""
    except (ValueError, UnicodeError):  # malformed port, IPv6 literal or IDNA label
        return ""
    host = _drop_copy_labels(parts.host)
    port = f":{parts.port}" if parts.port is not None else ""
    query = _canonical_query(parts.query)
    return f"{CANONICAL_SCHEME}://{host}{port}{_canonical_path(parts.path)}{query}"


def _split(url: str) -> _Parts | None:
    """The parts of an http(s) URL with a host, normalised but not yet de-AMPed."""
    split = urlsplit(url)
    scheme = split.scheme.lower()
    if scheme not in _SCHEMES or not split.hostname:
        return None
    host = _normalise_host(split.hostname)
    if host is None:
        return None
    port = split.port  # raises ValueError when not a number in 0..65535
    # The input's default port, and 443 because every canonical URL is https.
    if port in (_SCHEMES[scheme], _SCHEMES[CANONICAL_SCHEME]):
        port = None
    path = "/".join(_resolve_dots(_normalise_escapes(split.path).split("/")))
    return _Parts(scheme, host, port, path, split.query)


def _normalise_host(hostname: str) -> str | None:
    """Lower-case ASCII host (punycode for IDNA labels), or None when it is not a host name."""
    if ":" in hostname:  # urlsplit only leaves a colon in a bracketed IPv6 literal
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError:  # not an address, or one with a zone id
            return None
    if hostname.endswith((".", "\u3002", "\uff0e", "\uff61")):  # the root label of an FQDN
        hostname = hostname[:-1]
    labels = []
    for label in _DOTS.split(hostname):
        ascii_label = label.lower() if label.isascii() else idna.ToASCII(label).decode().lower()
        if not _LABEL.fullmatch(ascii_label):
            return None
        labels.append(ascii_label)
    return ".".join(labels)


def _drop_copy_labels(host: str) -> str:
    """``www.example.com`` and ``amp.example.com`` -> ``example.com``; ``www.com`` stays."""
    labels = host.split(".")
    while len(labels) > 2 and labels[0] in _COPY_LABELS:
        del labels[0]
    return ".".join(labels)


def _normalise_escapes(path: str) -> str:
    """RFC 3986 percent-encoding normalisation, plus encoding what a URL path cannot carry.

    A ``%`` that starts no escape is itself encoded, as browsers read it literally.
    """
    if _PLAIN_PATH.fullmatch(path):
        return path  # the common case, without the character loop
    out: list[str] = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == "%":
            digits = path[i + 1 : i + 3]
            if len(digits) == 2 and set(digits) <= _HEX:
                decoded = chr(int(digits, 16))
                out.append(decoded if decoded in _UNRESERVED else f"%{digits.upper()}")
                i += 3
                continue
            out.append("%25")
        elif char in _PATH_SAFE:
            out.append(char)
        else:
            out.append(_escape(char))
        i += 1
    return "".join(out)


def _escape(char: str) -> str:
    # surrogatepass: a lone surrogate is not text a publisher wrote, but it must not raise.
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def _resolve_dots(segments: list[str]) -> list[str]:
    """Remove ``.`` and ``..`` segments (RFC 3986, 5.2.4); ``..`` never climbs above the root."""
    out: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(out) > 1:  # out[0] is the empty segment before the leading slash
                out.pop()
            continue
        out.append(segment)
    return out


def _canonical_path(path: str) -> str:
    """Drop the AMP path forms and trailing slashes; the root path is ``/``."""
    segments = path.split("/")[1:]  # a path with a host is empty or starts with "/"
    changed = True
    while changed:
        before = list(segments)
        while segments and not segments[-1]:
            segments.pop()
        # Only with a page after it: ``/platform/amp`` is the AMP copy of ``/platform``.
        if tuple(segments[: len(_AMP_PREFIX)]) == _AMP_PREFIX and len(segments) > len(_AMP_PREFIX):
            del segments[: len(_AMP_PREFIX)]
        segments = [segment for segment in segments if segment not in _AMP_SEGMENTS]
        if segments:
            for suffix, replacement in _AMP_SUFFIXES:
                last = segments[-1]
                if last.endswith(suffix) and len(last) > len(suffix):
                    segments[-1] = last[: -len(suffix)] + replacement
                    break
        changed = segments != before
    return "/" + "/".join(segments)


def _canonical_query(query: str) -> str:
    """Tracking and AMP parameters dropped, the rest sorted by name; values kept exactly."""
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition("=")
        name = unquote_plus(raw_name).lower()
        if name.startswith(TRACKING_PREFIXES) or name in TRACKING_PARAMETERS:
            continue
        if name in AMP_PARAMETERS:
            continue
        if AMP_PARAMETER_VALUES.get(name) == unquote_plus(raw_value).lower():
            continue
        kept.append(
            "".join(
                _escape(char) if char in _QUERY_UNSAFE or not " " < char < "\x7f" else char
                for char in piece
            )
        )
    kept.sort(key=lambda piece: piece.partition("=")[0])
    return "?" + "&".join(kept) if kept else ""


def _unwrap_amp_cache(parts: _Parts) -> str | None:
    """The origin URL an AMP cache URL serves, or None when ``parts`` is not one.

    The origin host is the path segment after ``/c/``, ``/c/s/``, ``/v/s/``, ``/i/s/``...
    (``/s/`` means https). When the path lacks it, the host is decoded from the cache's
    subdomain, where the cache wrote ``-`` for ``.`` and ``--`` for ``-``.
    """
    labels = parts.host.split(".")
    if len(labels) < 2 or not _is_amp_cache_host(labels):
        return None
    segments = parts.path.split("/")[1:]
    if not segments or segments[0] not in _AMP_CACHE_KINDS:
        return None
    scheme = "http"
    rest = segments[1:]
    if rest and rest[0] == "s":
        scheme, rest = "https", rest[1:]
    encoded_host = _decode_cache_label(labels[0])
    if rest and _HOST_LIKE.fullmatch(rest[0]):
        path_host = rest[0]
        if encoded_host is None or _same_site(path_host.rsplit(":", 1)[0], encoded_host):
            host, rest = path_host, rest[1:]
        else:
            host = encoded_host
    elif encoded_host is not None:
        host = encoded_host
    else:
        return None  # a hashed subdomain and no host in the path: nothing to unwrap to
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{host}/{'/'.join(rest)}{query}"


def _is_amp_cache_host(labels: list[str]) -> bool:
    suffix = ".".join(labels[1:])
    return suffix in AMP_CACHE_SUFFIXES or _AMP_CACHE_LABEL in labels[1:]


def _decode_cache_label(label: str) -> str | None:
    """``www-example-com`` -> ``www.example.com``, ``my--site-com`` -> ``my-site.com``.

    The reverse of the AMP cache's subdomain encoding: punycode is decoded first, and the
    ``0-``...``-0`` wrapping the cache adds when the label would read as ``xx--`` is removed.
    None when the label does not decode to a host name (the cache hashes hosts too long for
    one label).
    """
    if label.startswith("xn--"):
        try:
            label = idna.ToUnicode(label)
        except UnicodeError:
            return None
    if label.startswith("0-") and label.endswith("-0") and label[4:6] == "--":
        label = label[2:-2]
    host = re.sub("--?", lambda match: "-" if match.group() == "--" else ".", label)
    if "." not in host:
        return None
    try:
        return _normalise_host(host)
    except UnicodeError:
        return None


def _same_site(first: str, second: str) -> bool:
    """Whether two host names name one site once copy labels are dropped."""
    try:
        first_host, second_host = _normalise_host(first), _normalise_host(second)
    except UnicodeError:
        return False
    if first_host is None or second_host is None:
        return False
    return _drop_copy_labels(first_host) == _drop_copy_labels(second_host)


def own_urls(item: Any) -> frozenset[str]:
    """The canonical forms of an article's (or a seed document's) own URL fields, either
    family."""
    urls = {getattr(item, name) for name in seedfile.URL_KEYS.values()} - {""}
    return frozenset(filter(None, map(canonical_url, urls)))


def related_urls(items: Iterable[Any]) -> frozenset[str]:
    """The canonical form of each related item's first link (its web, original or source URL:
    the others are copies of the same page)."""
    found = set()
    for item in items:
        link = next(filter(None, (getattr(item, name) for name in seedfile.LINK_FIELDS)), "")
        if link and (url := canonical_url(link)):
            found.add(url)
    return frozenset(found)


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that every process agrees on (Python's own ``hash`` is salted
    per process): story keys and story matching compare canonical URLs and words by it."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def fingerprints(urls: Iterable[str]) -> array.array:
    """``stable_hash`` of each URL, in order, packed: what story matching holds of an article's
    URLs, a tenth of the memory of the strings when a large import holds 100,000 articles."""
    return array.array("Q", sorted({stable_hash(url) for url in urls}))
