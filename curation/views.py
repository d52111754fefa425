"""The public site: read-only views over ``Article.objects.published()`` (and the staff-only
preview of the story page, ``ArticlePreviewView``, over every article).

The list page, the JSON view and the feeds run the same ``ArticleFilter``; every query a page
makes is fixed in number, whatever the page size.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial, wraps
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, OuterRef, Prefetch, Q, prefetch_related_objects
from django.db.models.expressions import OrderBy
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import http_date, quote_etag
from django.views import View
from django.views.generic import DetailView, ListView

from newsroom.security import absolute_url

from . import seedfile
from .filters import (
    RESULT_COUNT_CAP,
    ArticleFilter,
    CappedCount,
    SortKey,
    last_published_change,
    order_by,
    publication_version,
)
from .models import (
    LINK_FIELDS,
    URL_FIELDS,
    Article,
    ArticleImage,
    ArticleTopic,
    RelatedItem,
    safe_url,
)

PAGE_SIZE = 25
# Filters folded under "More filters" on the list page; the fold opens when one of them is used.
MORE_FILTERS = (
    "provider",
    "category",
    "type",
    "min_quality",
    "published_after",
    "published_before",
)
SOURCE_LABELS = {
    "web_url": "Article page",
    "original_url": "Original address",
    "source_url": "Source",
    "amp_web_url": "AMP page",
    "cdn_amp_web_url": "AMP page (cached)",
    "amp_url": "AMP version",
    "cdn_amp_url": "AMP version (cached)",
}
IMAGE_KEYS = ("url", "width", "height", "title", "is_cached", "attribution")
# Like Django's json_script: <, > and & inside strings become \u escapes, so imported markup
# stays inert even if a client (or a sniffing browser) treats the JSON as HTML.
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


# Conditional GET ---------------------------------------------------------------------------


def public_condition(view):
    """ETag and Last-Modified on a public page, and 304 when the visitor's copy is current.

    The ETag is a hash of the response itself (as Django's ``ConditionalGetMiddleware`` does):
    it changes exactly when what the visitor sees changes, and an edit to an unpublished article
    never changes it. Last-Modified is when the public site last changed (``PublicState``): one
    query. Neither aggregates over the table, so a 304 costs what the page costs (milliseconds).

    HTTP dates count whole seconds, so a Last-Modified is sent only once its second is over: a
    second change within that same second (an unpublish just after a visit) would otherwise
    carry the same date, and a client revalidating with If-Modified-Since alone would keep the
    old page. Until then the ETag alone validates.
    """

    @wraps(view)
    def conditional(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if hasattr(response, "render") and callable(response.render):
            response.render()
        response["ETag"] = quote_etag(hashlib.sha256(response.content).hexdigest()[:32])
        latest = last_published_change(request)
        timestamp = int(latest.timestamp()) if latest else None
        if timestamp is not None and timestamp >= int(timezone.now().timestamp()):
            timestamp = None  # the second is not over: see above
        # Ours or none: Feed sets its own, the latest item's date, which an unpublish moves back.
        del response["Last-Modified"]
        if timestamp is not None:
            response["Last-Modified"] = http_date(timestamp)
        return get_conditional_response(
            request, etag=response["ETag"], last_modified=timestamp, response=response
        )

    return conditional


# Filtering and keyset pagination -------------------------------------------------------------


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


def first_rows(
    queryset, listing, filterset: ArticleFilter, size: int, prefetch: tuple = ()
) -> list:
    """The first ``size`` rows of ``queryset`` in the visitor's ordering (the feeds' items), read
    through ``listing`` (see ``_rows``); no count."""
    ids = _read(queryset.values_list("pk", flat=True), filterset.sort_keys, None, False, size)
    rows = _rows(listing, ids)
    prefetch_related_objects(rows, *prefetch)
    return rows


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


def bounded_count(queryset, request: HttpRequest) -> int:
    """How many articles match, counting no further than ``RESULT_COUNT_CAP + 1``.

    Cached per publication version and filters, so repeat visits do not count again.
    """
    filters = request.GET.copy()
    for name in ("page", "after", "before"):
        filters.pop(name, None)
    raw = f"{publication_version(request)}|{filters.urlencode()}"
    key = "curation:count:v1:" + hashlib.sha256(raw.encode()).hexdigest()
    count = cache.get(key)
    if count is None:
        count = queryset.order_by().values("pk")[: RESULT_COUNT_CAP + 1].count()
        cache.set(key, count, COUNT_CACHE_SECONDS)
    return count


def paginate(
    queryset,
    filterset: ArticleFilter,
    request: HttpRequest,
    per_page: int,
    *,
    listing,
    prefetch: tuple = (),
) -> KeysetPage:
    """The page the query string asks for: ``?after=``/``?before=`` a cursor, or ``?page=N``.

    A constant number of queries however deep the page: the bounded count (cached), one or two
    keyset reads of ids (one per zone of the leading sort key), the rows, and the prefetches.
    """
    keys, ordering = filterset.sort_keys, filterset.ordering_name
    after, before, number = (request.GET.get(name) for name in ("after", "before", "page"))
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
    rows = _rows(listing, wanted)
    prefetch_related_objects(rows, *prefetch)
    cursor_of = partial(encode_cursor, ordering, keys)
    has_next = more if not reverse else True
    has_previous = more if reverse else (cursor is not None or position > 1)
    return KeysetPage(
        object_list=rows,
        next_cursor=cursor_of(rows[-1]) if rows and has_next else None,
        previous_cursor=cursor_of(rows[0]) if rows and has_previous else None,
        count=bounded_count(queryset, request),
        number=position if cursor is None else None,
    )


# Bounded lists --------------------------------------------------------------------------------

# No public page lists all of a story's topics, images or related reports, whatever the
# database holds (a file that predates the codec's per-file limits, a row written by hand): a
# list card shows its first CARD_TOPICS topics and first usable image, the story page, the JSON
# and the feeds the first STORY_ITEMS of each, and each says how many it leaves out. The
# prefetches read only the shown rows (``position < limit`` walks the (article, position)
# unique index), and the counts stop at CHILD_COUNT_CAP, so a page's cost and size do not grow
# with the lists either (issue 11, point 9: 40,000 topics made every page 3.6 MB).
CARD_TOPICS = 10
STORY_ITEMS = 100
CHILD_COUNT_CAP = 1000
# A related report's own pictures (JSON on its row): its entry on the story page shows the
# first, the JSON the first RELATED_IMAGES (100 reports x 100 pictures would be a megabyte).
RELATED_IMAGES = 10


def first_topics(limit: int) -> Prefetch:
    """The article's first ``limit`` topics, as ``article.first_topic_links`` (with the topic)."""
    return Prefetch(
        "articletopic_set",
        queryset=ArticleTopic.objects.filter(position__lt=limit)
        .select_related("topic")
        .order_by("position"),
        to_attr="first_topic_links",
    )


def first_images(limit: int) -> Prefetch:
    """The article's first ``limit`` images, as ``article.first_images``."""
    return Prefetch(
        "images",
        queryset=ArticleImage.objects.filter(position__lt=limit).order_by("position"),
        to_attr="first_images",
    )


def first_related(limit: int) -> Prefetch:
    """The article's first ``limit`` related reports, as ``article.first_related``."""
    return Prefetch(
        "related_items",
        queryset=RelatedItem.objects.filter(position__lt=limit)
        .select_related("provider")
        .order_by("position"),
        to_attr="first_related",
    )


def child_count(model) -> CappedCount:
    """How many of ``model``'s rows belong to the article, counting no further than the cap
    (``CHILD_COUNT_CAP + 1``): a correlated subquery, computed for the page's rows only."""
    return CappedCount(
        model.objects.filter(article=OuterRef("pk")).order_by().values("pk")[: CHILD_COUNT_CAP + 1]
    )


@dataclass(frozen=True)
class CappedTotal:
    """A count that stopped at ``CHILD_COUNT_CAP``: shown as "1000+" beyond it."""

    value: int

    @property
    def exact(self) -> bool:
        return self.value <= CHILD_COUNT_CAP

    @property
    def shown(self) -> int:
        return min(self.value, CHILD_COUNT_CAP)

    def __str__(self) -> str:
        return f"{self.shown:,}" if self.exact else f"{CHILD_COUNT_CAP:,}+"


def more_than_shown(total: int, shown: int, noun: str) -> str:
    """What a bounded list leaves out ("3 more topics"); empty when it shows them all."""
    if total <= shown:
        return ""
    if total > CHILD_COUNT_CAP:
        return f"{CHILD_COUNT_CAP - shown:,}+ more {noun}s"
    left = total - shown
    return f"{left:,} more {noun}{'' if left == 1 else 's'}"


def shown_topics(article: Article) -> list:
    return [link.topic for link in article.first_topic_links]


CARD_PREFETCH = (first_topics(CARD_TOPICS), first_images(CARD_TOPICS))
STORY_PREFETCH = (first_topics(STORY_ITEMS), first_images(STORY_ITEMS), first_related(STORY_ITEMS))


class FilteredArticlesMixin:
    """The visitor's filters from the query string, over the published articles."""

    request: HttpRequest

    @property
    def filterset(self) -> ArticleFilter:
        if not hasattr(self, "_filterset"):
            self._filterset = ArticleFilter(self.request.GET, request=self.request)
        return self._filterset

    def filtered_articles(self):
        """The filtered articles, or none at all when a filter's value is invalid."""
        if self.filterset.is_valid():
            return self.filterset.qs
        return self.filterset.queryset.none()


def first_safe_image(article: Article) -> ArticleImage | None:
    return next((image for image in article.first_images if image.safe_url), None)


# Which way "next" goes, in words, per ordering: (next, previous).
PAGER_LABELS = {
    "newest": ("Older stories", "Newer stories"),
    "oldest": ("Newer stories", "Older stories"),
    "quality": ("More stories", "Better stories"),
    "heat": ("More stories", "Hotter stories"),
}


class ArticleListView(FilteredArticlesMixin, ListView):
    paginate_by = PAGE_SIZE
    template_name = "curation/article_list.html"

    def get_queryset(self):
        return self.filtered_articles()

    def paginate_queryset(self, queryset, page_size):
        if not self.filterset.is_valid():
            return None, None, [], False
        try:
            page = paginate(
                queryset,
                self.filterset,
                self.request,
                page_size,
                listing=Article.objects.for_listing().annotate(
                    related_total=child_count(RelatedItem), topic_total=child_count(ArticleTopic)
                ),
                prefetch=CARD_PREFETCH,
            )
        except PageProblem as problem:
            self.page_problem = str(problem)
            return None, None, [], False
        for article in page.object_list:
            article.first_image = first_safe_image(article)
            article.shown_topics = shown_topics(article)
            article.more_topics = more_than_shown(
                article.topic_total, len(article.shown_topics), "topic"
            )
            article.related_count = CappedTotal(article.related_total)
        return None, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter"] = self.filterset
        context["page_problem"] = getattr(self, "page_problem", "")
        context["more_filters_open"] = any(self.request.GET.get(name) for name in MORE_FILTERS)
        context["query"] = self.request.GET.copy()
        for name in ("page", "after", "before"):
            context["query"].pop(name, None)
        context["pager_labels"] = PAGER_LABELS[self.filterset.ordering_name]
        return context

    def render_to_response(self, context, **response_kwargs):
        if context["page_problem"] or not self.filterset.is_valid():
            response_kwargs["status"] = 400
        return super().render_to_response(context, **response_kwargs)


# The detail page ---------------------------------------------------------------------------


@dataclass
class RelatedEntry:
    """A piece of related coverage, with our own page for it when we publish the same story."""

    item: RelatedItem
    own_url: str
    images: list[dict]


def own_pages_for(items: Iterable[RelatedItem], *, exclude_key: str = "") -> dict[str, str]:
    """Map the related items' URLs to our published article with that URL, in one query."""
    urls = {getattr(item, name) for item in items for name in LINK_FIELDS} - {""}
    if not urls:
        return {}
    matches = (
        Article.objects.published()
        .filter(Q(web_url__in=urls) | Q(original_url__in=urls) | Q(source_url__in=urls))
        .exclude(key=exclude_key)
        .order_by("-published_at", "-id")
        .values_list("key", *LINK_FIELDS)
    )
    pages: dict[str, str] = {}
    for key, *links in matches:
        for url in links:
            if url in urls:
                pages.setdefault(url, reverse("curation:article-detail", kwargs={"key": key}))
    return pages


class ArticleDetailView(DetailView):
    slug_field = "key"
    slug_url_kwarg = "key"
    template_name = "curation/article_detail.html"

    def articles(self):
        """Which articles this page shows: the public ones (the preview shows them all)."""
        return Article.objects.published()

    def get_queryset(self):
        return (
            self.articles()
            .select_related("provider")
            .defer("source_text", "secured", "extra", "provider_extra")
            .annotate(
                topic_total=child_count(ArticleTopic),
                image_total=child_count(ArticleImage),
                related_total=child_count(RelatedItem),
            )
            .prefetch_related(*STORY_PREFETCH)
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        article = self.object
        related = article.first_related
        own_pages = own_pages_for(related, exclude_key=article.key)
        context["images"] = [image for image in article.first_images if image.safe_url]
        context["topics"] = shown_topics(article)
        context["more"] = {
            "images": more_than_shown(article.image_total, len(article.first_images), "image"),
            "topics": more_than_shown(article.topic_total, len(context["topics"]), "topic"),
            "related": more_than_shown(article.related_total, len(related), "related report"),
        }
        context["sources"] = self._sources(article)
        context["related"] = [
            RelatedEntry(
                item=item,
                own_url=next(
                    (
                        own_pages[url]
                        for name in LINK_FIELDS
                        if (url := getattr(item, name)) in own_pages
                    ),
                    "",
                ),
                images=item.safe_images[:1],
            )
            for item in related
        ]
        return context

    @staticmethod
    def _sources(article: Article) -> list[tuple[str, str]]:
        sources, seen = [], set()
        for name, label in SOURCE_LABELS.items():
            url = safe_url(getattr(article, name))
            if url and url not in seen:
                seen.add(url)
                sources.append((label, url))
        return sources


class ArticlePreviewView(ArticleDetailView):
    """The story page exactly as the public would see it, for any article, published or not:
    what an editor checks before publishing. Only people who may use the admin see it (the
    admin site's own rule, ``NewsroomAdminSite.has_permission``); anyone else gets the public
    page's 404, so the address tells nobody whether an unpublished article exists.

    Never stored by any cache (``private, no-store``: the page shows what is not public) and
    never indexed (``noindex`` in the header and the page). Not wrapped in ``public_condition``:
    no ETag or Last-Modified, so nothing can revalidate it either.
    """

    def articles(self):
        return Article.objects.all()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Checked before any query: the answer must not depend on whether the key exists.
        if not admin.site.has_permission(request):
            raise Http404("No article found matching the query")
        response = super().dispatch(request, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        response["X-Robots-Tag"] = "noindex"
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["preview"] = True
        return context


# JSON --------------------------------------------------------------------------------------


def _provider_data(provider) -> dict[str, str] | None:
    return None if provider is None else {"name": provider.name, "domain": provider.domain}


def _image_data(image: dict) -> dict[str, Any]:
    return {key: image.get(key) for key in IMAGE_KEYS}


def related_data(item: RelatedItem) -> dict[str, Any]:
    """A related report, with its first ``RELATED_IMAGES`` usable pictures."""
    return {
        "title": item.title,
        "excerpt": item.excerpt,
        "published_at": item.published_at,
        "link": item.link,
        **{name: safe_url(getattr(item, name)) for name in URL_FIELDS},
        "type": item.type,
        "provider": _provider_data(item.provider),
        "quality": item.quality,
        "heat": item.heat,
        "images": [_image_data(image) for image in item.safe_images[:RELATED_IMAGES]],
    }


def article_data(article: Article, request: HttpRequest) -> dict[str, Any]:
    """Every public field of a published article; URLs other than http(s) come out empty.

    Topics, images and related reports are each the first ``STORY_ITEMS``; ``topic_count`` and
    ``related_count`` say how many there are, counted up to ``CHILD_COUNT_CAP``.
    """
    return {
        "key": article.key,
        "url": absolute_url(request, article.get_absolute_url()),
        "title": article.title,
        "excerpt": article.excerpt,
        "body": article.body,
        "category": article.category,
        "type": article.type,
        "published_at": article.published_at,
        "updated_at": article.updated_at,
        "link": article.link,
        **{name: safe_url(getattr(article, name)) for name in URL_FIELDS},
        "quality": article.quality,
        "heat": article.heat,
        "provider": _provider_data(article.provider),
        "topics": [topic.name for topic in shown_topics(article)],
        "topic_count": CappedTotal(article.topic_total).shown,
        "images": [
            {key: getattr(image, key) for key in IMAGE_KEYS}
            for image in article.first_images
            if image.safe_url
        ],
        "related_count": CappedTotal(article.related_total).shown,
        "related": [related_data(item) for item in article.first_related],
    }


class ArticleJsonView(FilteredArticlesMixin, View):
    """The list page's articles as JSON: same filters, same order, same cursors."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not self.filterset.is_valid():
            return json_response({"errors": _errors(self.filterset.form.errors)}, status=400)
        listing = (
            Article.objects.for_listing()
            .defer(None)
            .defer("source_text", "secured", "extra", "provider_extra")
            .annotate(topic_total=child_count(ArticleTopic), related_total=child_count(RelatedItem))
        )
        try:
            page = paginate(
                self.filterset.qs,
                self.filterset,
                request,
                PAGE_SIZE,
                listing=listing,
                prefetch=STORY_PREFETCH,
            )
        except PageProblem as problem:
            name = next((n for n in ("page", "after", "before") if n in request.GET), "page")
            return json_response({"errors": {name: [str(problem)]}}, status=400)
        return json_response(
            {
                "count": page.shown_count,
                "count_exact": page.count_is_exact,
                "page": page.number,
                "page_size": PAGE_SIZE,
                "next": self._url(after=page.next_cursor) if page.has_next() else None,
                "previous": self._url(before=page.previous_cursor) if page.has_previous() else None,
                "results": [article_data(article, request) for article in page.object_list],
            }
        )

    def _url(self, **cursor: str | None) -> str:
        query = self.request.GET.copy()
        for name in ("page", "after", "before"):
            query.pop(name, None)
        query.update(cursor)
        return absolute_url(self.request, f"{self.request.path}?{query.urlencode()}")


def json_response(data: dict, status: int = 200) -> HttpResponse:
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_ESCAPES)
    return HttpResponse(text, content_type="application/json", status=status)


def _errors(errors) -> dict[str, list[str]]:
    return {field: [str(message) for message in messages] for field, messages in errors.items()}
