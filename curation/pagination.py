"""Keyset pagination, in one place: the list page, the JSON view and the feeds page with it.

A page is found as ids first, by walking the ordering's partial index from a cursor (no OFFSET
beyond the first ``MAX_PAGE_NUMBER`` pages, no count beyond ``RESULT_COUNT_CAP``), then read in
full. Every ordering ends with the id, so every article has exactly one place in it; cursors
name that place by the article's sort values and its public key, signed so nobody can forge one.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Q, prefetch_related_objects
from django.db.models.expressions import OrderBy
from django.db.models.lookups import IsNull
from django.http import QueryDict
from django.utils.crypto import constant_time_compare, salted_hmac

from . import seedfile
from .models import Article

# The list's "N stories" stops here ("1000+ stories"): counting costs one index probe per
# article counted, so a count stays within milliseconds however many articles there are.
RESULT_COUNT_CAP = 1000
# At most this many pinned stories above the ranking.
MAX_PINS = 5
PAGING_PARAMETERS = ("after", "before", "page")


@dataclass(frozen=True)
class SortKey:
    """One column of an ordering. ``nullable`` keys put their empty values last."""

    field: str
    descending: bool
    nullable: bool = True


ID_DESC = SortKey("id", descending=True, nullable=False)


class Ordered(Protocol):
    """What pagination needs from the visitor's filters (``filters.ArticleFilter``)."""

    @property
    def sort_keys(self) -> tuple[SortKey, ...]: ...

    @property
    def ordering_name(self) -> str: ...

    @property
    def pinned(self): ...


def order_by(keys: tuple[SortKey, ...], *, reverse: bool = False) -> list[OrderBy]:
    """The ``order_by()`` arguments for these keys, empty values last (first when reversed).

    Empty values go last by ordering on ``field IS NULL`` first rather than by ``NULLS LAST``:
    SQLite cannot index a ``NULLS LAST`` column and PostgreSQL's default index puts NULLs first,
    but both can walk the expression indexes of migration 0004 in this order.
    """
    expressions = []
    for key in keys:
        if key.nullable:
            expressions.append(OrderBy(IsNull(F(key.field), True), descending=reverse))
        expressions.append(OrderBy(F(key.field), descending=key.descending != reverse))
    return expressions


class PageProblem(Exception):
    """The ``page``, ``after`` or ``before`` parameter names no page of these results."""


# ``?page=N`` stays for the first pages (an offset over at most this many pages of ids);
# beyond them, and in the links the pages show, the cursors of ``?after=`` / ``?before=``.
MAX_PAGE_NUMBER = 40
COUNT_CACHE_SECONDS = 60
_INTEGER_RANGE = range(-(2**63), 2**63)

# Cursors (``?after=`` / ``?before=``) name a position by the article's sort values and its
# KEY, which is public, not by its id: ids count every article, published or not, so walking
# cursors that carried them would show how many stories are not public (issue 11, point 20).
# The server maps the key back to the id (one lookup in the key's unique index) for the
# ordering's last, tie-breaking column. The cursor is signed (HMAC under SECRET_KEY, with a salt
# of its own), so a forged or damaged cursor is a 400 and no request can ask about a key the
# site never showed; the signature is a fixed-length tail, so a cursor stays URL-safe ([\w-]).
CURSOR_SALT = "curation.views.cursor"
_SIGNATURE_LENGTH = 22  # base64 of 16 bytes: 128 bits of HMAC-SHA256
# Base64 of ["ordering", sort values, the longest key in UTF-8], and the signature.
MAX_CURSOR_LENGTH = (200 + 4 * seedfile.MAX_KEY_LENGTH) * 4 // 3 + _SIGNATURE_LENGTH


def _cursor_value(key: SortKey, value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _cursor_signature(payload: str, secret: str) -> str:
    digest = salted_hmac(CURSOR_SALT, payload, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def sign_cursor(data: list[Any]) -> str:
    """The cursor for ``[ordering, *sort values except the id, article key]``."""
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    payload = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return payload + _cursor_signature(payload, settings.SECRET_KEY)


def encode_cursor(ordering: str, keys: tuple[SortKey, ...], article: Article) -> str:
    """A signed position in an ordering: the article's sort values and key (never its id)."""
    return sign_cursor(
        [
            ordering,
            *(_cursor_value(key, getattr(article, key.field)) for key in keys[:-1]),
            article.key,
        ]
    )


def _signed_data(text: str, problem: PageProblem) -> Any:
    """The JSON inside a cursor whose signature is right (under SECRET_KEY or a fallback)."""
    if len(text) > MAX_CURSOR_LENGTH or len(text) <= _SIGNATURE_LENGTH:
        raise problem
    payload, signature = text[:-_SIGNATURE_LENGTH], text[-_SIGNATURE_LENGTH:]
    secret_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    if not any(
        constant_time_compare(signature, _cursor_signature(payload, secret))
        for secret in secret_keys
    ):
        raise problem
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):  # JSONDecodeError and UnicodeDecodeError included
        raise problem from None


def decode_cursor(text: str, ordering: str, keys: tuple[SortKey, ...]) -> list[Any]:
    """The sort values (the id last) of a cursor made by ``encode_cursor`` for this ordering,
    or PageProblem. One query: the key's id."""
    problem = PageProblem("This link to more stories is damaged: start again from the first page.")
    data = _signed_data(text, problem)
    if not isinstance(data, list) or len(data) != len(keys) + 1:
        raise problem
    if data[0] != ordering:
        raise PageProblem(
            "This link to more stories belongs to another order: start again from the first page."
        )
    values = _sort_values(keys[:-1], data[1:-1], problem)
    # Any article, not only published ones: the story the cursor was made from may have been
    # unpublished since, and its position still holds. Only the site signs cursors, so this
    # tells nobody whether some other key exists.
    key = data[-1]
    found = (
        Article.objects.filter(key=key).values_list("pk", flat=True).first()
        if isinstance(key, str) and key and len(key) <= seedfile.MAX_KEY_LENGTH
        else None
    )
    if found is None:
        raise PageProblem(
            "The story this link to more stories started from has been removed: start again "
            "from the first page."
        )
    return [*values, found]


def _sort_values(keys: tuple[SortKey, ...], data: list[Any], problem: PageProblem) -> list[Any]:
    values = []
    for key, value in zip(keys, data, strict=True):
        if value is None and key.nullable:
            values.append(None)
        elif Article._meta.get_field(key.field).get_internal_type() == "DateTimeField":
            try:
                moment = datetime.datetime.fromisoformat(value) if isinstance(value, str) else None
                if moment is not None and moment.tzinfo is not None:
                    moment = moment.astimezone(datetime.UTC)  # the databases compare in UTC
            except (ValueError, OverflowError):
                moment = None
            if moment is None or moment.tzinfo is None:
                raise problem
            values.append(moment)
        elif type(value) is int and value in _INTEGER_RANGE:
            values.append(value)
        else:
            raise problem
    return values


def _after(keys: tuple[SortKey, ...], values: list[Any], reverse: bool) -> Q:
    """Rows strictly after the cursor in the ordering (before it when ``reverse``).

    Forward, a nullable key puts its NULLs last: nothing follows a NULL in it, and every NULL
    follows a value. Backward it is the mirror image.
    """
    key, value = keys[0], values[0]
    descending = key.descending != reverse
    if value is None:
        beyond = Q(**{f"{key.field}__isnull": False}) if reverse else Q(pk__in=[])
    else:
        beyond = Q(**{f"{key.field}__{'lt' if descending else 'gt'}": value})
        if key.nullable and not reverse:
            beyond |= Q(**{f"{key.field}__isnull": True})
    if len(keys) == 1:
        return beyond
    same = Q(**{f"{key.field}__isnull": True}) if value is None else Q(**{key.field: value})
    return beyond | (same & _after(keys[1:], values[1:], reverse))


def _zones(keys: tuple[SortKey, ...], values: list[Any] | None, reverse: bool):
    """``(condition, ordering)`` per zone of the leading key, in page order.

    The leading key's dated (non-NULL) rows and its NULL rows are read as two zones, so that in
    each the ORDER BY is a plain walk of a partial index (a ``NULLS LAST`` ordering is one no
    SQLite index and no default PostgreSQL index can walk). With a cursor, the dated zone also
    gets the leading key's range (``published_at <= cursor``), so the walk starts at the cursor
    however deep it is: no OFFSET.
    """
    lead, rest = keys[0], keys[1:]
    zones: list[bool | None] = [False, True] if lead.nullable else [None]
    if reverse:
        zones.reverse()
    for is_null in zones:
        if values is not None and (
            (not reverse and values[0] is None and is_null is False)
            or (reverse and values[0] is not None and is_null is True)
        ):
            continue  # the whole zone lies on the other side of the cursor
        condition = Q() if is_null is None else Q(**{f"{lead.field}__isnull": is_null})
        if values is not None:
            condition &= _after(keys, values, reverse)
            if not is_null and values[0] is not None:
                lookup = "lte" if lead.descending != reverse else "gte"
                condition &= Q(**{f"{lead.field}__{lookup}": values[0]})
        ordering = (
            [] if is_null else [OrderBy(F(lead.field), descending=lead.descending != reverse)]
        )
        yield condition, ordering + order_by(rest, reverse=reverse)


def _read(queryset, keys, values, reverse: bool, limit: int) -> list:
    """Up to ``limit`` rows from the cursor on: one query per zone reached (one or two)."""
    rows: list = []
    for condition, ordering in _zones(keys, values, reverse):
        rows += queryset.filter(condition).order_by(*ordering)[: limit - len(rows)]
        if len(rows) >= limit:
            break
    return rows


def _rows(listing, ids: list[int]) -> list:
    """The rows with these ids, in this order: one query, whatever sorting found the ids.

    Pages are found as ids first (narrow rows through an index, or a narrow sort for a search)
    and only then read in full, so a page never computes its columns for rows it skips.
    ``listing`` says what a row is (columns, joins, annotations) over the published articles, but
    not the visitor's filters: they found the ids already, and a common search term tested again
    for 25 ids costs as much as finding them did.
    """
    found = {row.pk: row for row in listing.published().filter(pk__in=ids).order_by()}
    return [found[pk] for pk in ids if pk in found]


def first_rows(queryset, listing, order: Ordered, size: int, prefetch: tuple = ()) -> list:
    """The first ``size`` rows of ``queryset`` in ``order`` (the feeds' items), pinned stories
    first when the ordering has them, read through ``listing`` (see ``_rows``); no count."""
    pinned = _pinned_ids(order, size)
    keys = order.sort_keys
    ids = _read(queryset.values_list("pk", flat=True), keys, None, False, size - len(pinned))
    rows = _rows(listing, [*pinned, *ids])
    prefetch_related_objects(rows, *prefetch)
    _mark_pinned(rows, len(pinned))
    return rows


def _pinned_ids(order: Ordered, limit: int) -> list[int]:
    pinned = order.pinned
    return [] if pinned is None else list(pinned.values_list("pk", flat=True)[:limit])


def _mark_pinned(rows: list, count: int) -> None:
    for position, row in enumerate(rows):
        row.is_pinned = position < count


@dataclass
class KeysetPage:
    """One page of articles, with cursors to the pages around it and a bounded count."""

    object_list: list[Article]
    next_cursor: str | None
    previous_cursor: str | None
    count: int
    number: int | None = None

    @property
    def count_is_exact(self) -> bool:
        return self.count <= RESULT_COUNT_CAP

    @property
    def shown_count(self) -> int:
        return min(self.count, RESULT_COUNT_CAP)

    def has_next(self) -> bool:
        return self.next_cursor is not None

    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()


def bounded_count(queryset, cache_key: str) -> int:
    """How many articles match, counting no further than ``RESULT_COUNT_CAP + 1``.

    Cached under ``cache_key`` (the caller's publication version and filters), so repeat visits
    do not count again.
    """
    key = "curation:count:v2:" + hashlib.sha256(cache_key.encode()).hexdigest()
    count = cache.get(key)
    if count is None:
        count = queryset.order_by().values("pk")[: RESULT_COUNT_CAP + 1].count()
        cache.set(key, count, COUNT_CACHE_SECONDS)
    return count


def paginate(
    queryset,
    order: Ordered,
    query: Mapping[str, str],
    per_page: int,
    *,
    listing,
    cache_key: str,
    prefetch: tuple = (),
) -> KeysetPage:
    """The page ``query`` asks for: ``after``/``before`` a cursor, or ``page`` N.

    A constant number of queries however deep the page: the bounded count (cached), one or two
    keyset reads of ids (one per zone of the leading sort key), the pinned stories on the
    ordering's first page (if it has pins), the rows, and the prefetches.
    """
    keys, ordering = order.sort_keys, order.ordering_name
    after, before, number = (query.get(name) for name in PAGING_PARAMETERS)
    if sum(value is not None for value in (after, before, number)) > 1:
        raise PageProblem("Use only one of page, after and before.")
    position = 1
    if number is not None:
        try:
            position = int(number)
        except ValueError:
            raise PageProblem(f"“{number}” is not a page number.") from None
        if not 1 <= position <= MAX_PAGE_NUMBER:
            raise PageProblem(
                f"There is no page {number}: pages are numbered up to {MAX_PAGE_NUMBER}; "
                "beyond them, follow the links to older stories."
            )
    reverse = before is not None
    cursor = after if after is not None else before
    values = decode_cursor(cursor, ordering, keys) if cursor is not None else None
    ids = queryset.values_list("pk", flat=True)
    if position > 1:
        # An offset over at most MAX_PAGE_NUMBER pages of ids, in the index's order.
        wanted = _read(ids, keys, None, False, position * per_page + 1)[(position - 1) * per_page :]
        if not wanted:
            raise PageProblem(f"There is no page {number}: these results end sooner.")
    else:
        wanted = _read(ids, keys, values, reverse, per_page + 1)
    more = len(wanted) > per_page
    wanted = wanted[:per_page]
    if reverse:
        wanted.reverse()
    has_next = more if not reverse else True
    has_previous = more if reverse else (cursor is not None or position > 1)
    # Pins sit above the ranking at its start: the first page, or back at it through ?before=.
    pinned = [] if has_previous else _pinned_ids(order, MAX_PINS)
    rows = _rows(listing, [*pinned, *wanted])
    prefetch_related_objects(rows, *prefetch)
    _mark_pinned(rows, len(pinned))
    ranked = rows[len(pinned) :]
    cursor_of = partial(encode_cursor, ordering, keys)
    return KeysetPage(
        object_list=rows,
        next_cursor=cursor_of(ranked[-1]) if ranked and has_next else None,
        previous_cursor=cursor_of(ranked[0]) if ranked and has_previous else None,
        count=bounded_count(queryset, cache_key) + len(pinned),
        number=position if cursor is None else None,
    )


def without_paging(query: QueryDict) -> QueryDict:
    """The query string without its page position and without empty parameters: the address
    to share, to follow as a feed, or to page from."""
    clean = QueryDict(mutable=True)
    for name, values in query.lists():
        if name not in PAGING_PARAMETERS:
            kept = [value for value in values if value != ""]
            if kept:
                clean.setlist(name, kept)
    return clean
