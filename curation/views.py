"""The public site: read-only views over ``Article.objects.published()`` (and the staff-only
preview of the story page, ``ArticlePreviewView``, over every article).

The list page, the JSON view and the feeds run the same ``ArticleFilter``; every query a page
makes is fixed in number, whatever the page size.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import OuterRef, Prefetch, Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
)
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.http import http_date, quote_etag
from django.utils.text import compress_string
from django.views import View
from django.views.generic import DetailView, ListView

from newsroom.security import absolute_url

from . import stories
from .filters import (
    ArticleFilter,
    CappedCount,
    facets,
    last_published_change,
    next_public_change,
    publication_version,
    request_now,
)
from .models import (
    LINK_FIELDS,
    URL_FIELDS,
    Article,
    ArticleImage,
    ArticleTopic,
    Provider,
    RelatedItem,
    safe_url,
)
from .pagination import PAGING_PARAMETERS, PageProblem, paginate, without_paging

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


# Conditional GET, Cache-Control and the page cache ------------------------------------------

# How long a browser (max-age) and a shared cache such as a CDN (s-maxage) may keep a public
# page, and how long past that a shared cache may still serve it while it fetches a fresh one
# (stale-while-revalidate). Each is cut short by the next schedule or pin boundary, so no copy
# outlives the moment a story should appear or vanish; an editor's unpublish is seen within
# PUBLIC_MAX_AGE + PUBLIC_STALE_SECONDS at the latest (purge the CDN for faster).
PUBLIC_MAX_AGE = 60
PUBLIC_STALE_SECONDS = 30
# Whole public responses kept in Django's cache (Redis when REDIS_URL is set, so shared by
# every worker), under the publication version: any change to any article, and any boundary
# passed, makes new keys. This long at most, and never past the next boundary.
PAGE_CACHE_SECONDS = 300
ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def seconds_until_next_change(request: HttpRequest) -> float | None:
    """Seconds until the site next changes by itself (a schedule or a pin), or ``None``."""
    upcoming = next_public_change(request)
    return None if upcoming is None else (upcoming - request_now(request)).total_seconds()


def public_cache_control(response: HttpResponse, request: HttpRequest) -> None:
    """``public, max-age, s-maxage, stale-while-revalidate``, none past the next boundary."""
    until = seconds_until_next_change(request)
    limit = math.inf if until is None else max(0, math.floor(until))
    fresh = min(PUBLIC_MAX_AGE, limit)
    stale = min(PUBLIC_STALE_SECONDS, limit - fresh)
    directives = {"public": True, "max_age": fresh, "s_maxage": fresh}
    if stale > 0:
        directives["stale_while_revalidate"] = stale
    patch_cache_control(response, **directives)


def _page_cache_key(request: HttpRequest) -> str:
    query = sorted((name, value) for name, values in request.GET.lists() for value in values)
    raw = f"{publication_version(request)}|{request.path}|{query!r}"
    return "curation:page:v3:" + hashlib.sha256(raw.encode()).hexdigest()


def public_condition(view):
    """The public pages' HTTP caching: ETag and Last-Modified with 304s, Cache-Control fit for
    a CDN, and whole responses kept in Django's cache.

    The ETag is a hash of the response itself (as Django's ``ConditionalGetMiddleware`` does):
    it changes exactly when what the visitor sees changes, and an edit to an unpublished article
    never changes it. Last-Modified is when the public site last changed (``PublicState`` and
    the schedule boundaries): part of the one query that also gives the publication version.
    Neither aggregates over the table, so a 304 costs what the page costs (milliseconds), and a
    cached page costs that one query.

    HTTP dates count whole seconds, so a Last-Modified is sent only once its second is over: a
    second change within that same second (an unpublish just after a visit) would otherwise
    carry the same date, and a client revalidating with If-Modified-Since alone would keep the
    old page. Until then the ETag alone validates.
    """

    @wraps(view)
    def conditional(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        key = _page_cache_key(request)
        stored = cache.get(key)
        if stored is None:
            response = view(request, *args, **kwargs)
            if response.status_code != 200:
                return response
            if hasattr(response, "render") and callable(response.render):
                response.render()
            content = response.content
            digest = hashlib.sha256(content).hexdigest()[:32]
            stored = (content, compress_string(content), response["Content-Type"], digest)
            until = seconds_until_next_change(request)
            timeout = PAGE_CACHE_SECONDS if until is None else min(PAGE_CACHE_SECONDS, until)
            if timeout >= 1:
                cache.set(key, stored, int(timeout))
        response = _stored_response(request, *stored)
        latest = last_published_change(request)
        timestamp = int(latest.timestamp()) if latest else None
        if timestamp is not None and timestamp >= int(request_now(request).timestamp()):
            timestamp = None  # the second is not over: see above
        # Ours or none: Feed sets its own, the latest item's date, which an unpublish moves back.
        del response["Last-Modified"]
        if timestamp is not None:
            response["Last-Modified"] = http_date(timestamp)
        public_cache_control(response, request)
        return get_conditional_response(
            request, etag=response["ETag"], last_modified=timestamp, response=response
        )

    return conditional


def _stored_response(
    request: HttpRequest, content: bytes, gzipped: bytes, content_type: str, digest: str
) -> HttpResponse:
    """A page from its stored forms: compressed once when it was built, so every browser and CDN
    (all send ``Accept-Encoding: gzip``) gets a sixth of the bytes at no cost per request. Public
    pages hold no secret, so compression cannot leak one (BREACH). Each encoding has its own
    ETag, as each is a different representation."""
    if ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(gzipped, content_type=content_type)
        response["Content-Encoding"] = "gzip"
        response["ETag"] = quote_etag(f"{digest}-gzip")
    else:
        response = HttpResponse(content, content_type=content_type)
        response["ETag"] = quote_etag(digest)
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


def clean_query(view):
    """Addresses without empty parameters: ``?q=&topic=AI`` (what a form sends for the fields
    left empty) is answered by a permanent redirect to ``?topic=AI``, so shared and bookmarked
    addresses, and the caches, see one address per filter combination."""

    @wraps(view)
    def cleaned(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in ("GET", "HEAD") and any(
            value == "" for values in request.GET.lists() for value in values[1]
        ):
            query = without_paging_empty(request)
            return HttpResponsePermanentRedirect(
                f"{request.path}?{query.urlencode()}" if query else request.path
            )
        return view(request, *args, **kwargs)

    return cleaned


def without_paging_empty(request: HttpRequest):
    """The query string without empty parameters (the page position kept)."""
    query = request.GET.copy()
    for name in list(query):
        kept = [value for value in query.getlist(name) if value != ""]
        if kept:
            query.setlist(name, kept)
        else:
            del query[name]
    return query


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
    """The visitor's filters from the query string, over the published articles; a section
    page (``section``) adds its own topic or provider to them."""

    request: HttpRequest

    def section(self) -> dict[str, str]:
        """The filter a section page fixes (``{"topic": "AI"}``); none on the main list."""
        return {}

    @property
    def filterset(self) -> ArticleFilter:
        if not hasattr(self, "_filterset"):
            data = self.request.GET.copy()
            for name, value in self.section().items():
                data[name] = value
            self._filterset = ArticleFilter(data, request=self.request)
        return self._filterset

    def filtered_articles(self):
        """The filtered articles, or none at all when a filter's value is invalid."""
        if self.filterset.is_valid():
            return self.filterset.qs.one_per_story()
        return self.filterset.queryset.none()

    def cache_key(self) -> str:
        """The count's cache key: the publication version and the filters."""
        return self.filterset.query_key(publication_version(self.request))


def first_safe_image(article: Article) -> ArticleImage | None:
    return next((image for image in article.first_images if image.safe_url), None)


# Which way "next" goes, in words, per ordering: (next, previous).
PAGER_LABELS = {
    "top": ("More stories", "Top stories"),
    "newest": ("Older stories", "Newer stories"),
    "oldest": ("Newer stories", "Older stories"),
    "quality": ("More stories", "Better stories"),
    "heat": ("More stories", "Hotter stories"),
}
# The main topics in the site's navigation: the topics with the most public stories.
NAV_TOPICS = 6


def nav_topics(request: HttpRequest) -> list[str]:
    """The names of the main topics (the facets' counts, cached), most stories first."""
    counted = sorted(facets(request)["topic"], key=lambda row: (-row[2], row[1]))
    return [name for name, _, _ in counted[:NAV_TOPICS]]


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
                self.request.GET,
                page_size,
                listing=Article.objects.for_listing().annotate(
                    related_total=child_count(RelatedItem), topic_total=child_count(ArticleTopic)
                ),
                cache_key=self.cache_key(),
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
        stories.also_reported(page.object_list)
        return None, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.filterset.is_valid():
            self.filterset.count_facets()
        context["filter"] = self.filterset
        context["page_problem"] = getattr(self, "page_problem", "")
        context["more_filters_open"] = any(self.request.GET.get(name) for name in MORE_FILTERS)
        context["query"] = without_paging(self.request.GET)
        context["pager_labels"] = PAGER_LABELS[self.filterset.ordering_name]
        context["heading"] = self.heading()
        context["nav_topics"] = nav_topics(self.request)
        context["now"] = request_now(self.request)
        context["feed_urls"] = self.feed_urls(context["query"])
        page = context.get("page_obj")
        if page is not None:
            context["next_url"] = self._page_url(context["query"], after=page.next_cursor)
            context["previous_url"] = self._page_url(context["query"], before=page.previous_cursor)
        return context

    @staticmethod
    def _page_url(query, **cursor: str | None) -> str:
        """Another page of these results: the filters as set (no empty ones) and a cursor."""
        query = query.copy()
        for name, value in cursor.items():
            if value:
                query[name] = value
        return f"?{query.urlencode()}"

    def heading(self) -> str:
        return self.filterset.heading

    def feed_urls(self, query) -> dict[str, str]:
        """The RSS, Atom and JSON addresses of these stories (empty parameters left out)."""
        suffix = f"?{query.urlencode()}" if query else ""
        return {
            "rss": reverse("curation:feed-rss") + suffix,
            "atom": reverse("curation:feed-atom") + suffix,
            "json": reverse("curation:api-articles") + suffix,
        }

    def render_to_response(self, context, **response_kwargs):
        if context["page_problem"] or not self.filterset.is_valid():
            response_kwargs["status"] = 400
        return super().render_to_response(context, **response_kwargs)


class TopicListView(ArticleListView):
    """A topic's section: its stories with the list's filters, and its own feeds."""

    def section(self) -> dict[str, str]:
        return {"topic": self.kwargs["name"]}

    def get(self, request, *args, **kwargs):
        # A section of a topic no public story has is a 404, not an empty page.
        if (
            not Article.objects.published(request_now(request))
            .filter(topics__name=kwargs["name"])
            .exists()
        ):
            raise Http404("No stories under this topic.")
        return super().get(request, *args, **kwargs)

    def heading(self) -> str:
        return self.kwargs["name"]

    def feed_urls(self, query) -> dict[str, str]:
        urls = super().feed_urls(query)
        suffix = f"?{query.urlencode()}" if query else ""
        name = self.kwargs["name"]
        urls["rss"] = reverse("curation:topic-rss", kwargs={"name": name}) + suffix
        urls["atom"] = reverse("curation:topic-atom", kwargs={"name": name}) + suffix
        return urls


class ProviderListView(ArticleListView):
    """A provider's section: its stories with the list's filters, and its own feeds."""

    def section(self) -> dict[str, str]:
        return {"provider": str(self.kwargs["pk"])}

    def get(self, request, *args, **kwargs):
        self.provider = get_object_or_404(Provider, pk=kwargs["pk"])
        if (
            not Article.objects.published(request_now(request))
            .filter(provider=self.provider)
            .exists()
        ):
            raise Http404("No stories from this provider.")
        return super().get(request, *args, **kwargs)

    def heading(self) -> str:
        return str(self.provider)

    def feed_urls(self, query) -> dict[str, str]:
        urls = super().feed_urls(query)
        suffix = f"?{query.urlencode()}" if query else ""
        pk = self.kwargs["pk"]
        urls["rss"] = reverse("curation:provider-rss", kwargs={"pk": pk}) + suffix
        urls["atom"] = reverse("curation:provider-atom", kwargs={"pk": pk}) + suffix
        return urls


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
        return Article.objects.published(request_now(self.request))

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
        stories.also_reported([article])
        context["now"] = request_now(self.request)
        context["nav_topics"] = nav_topics(self.request)
        context["canonical_url"] = absolute_url(self.request, article.get_absolute_url())
        context["share_image"] = context["images"][0].safe_url if context["images"] else ""
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
        "pinned": getattr(article, "is_pinned", False),
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
        # Set by stories.also_reported: published copies only, never an unpublished one.
        "story": getattr(article, "story_key", article.key),
        "also_reported_by": [
            {
                "key": copy.key,
                "url": absolute_url(request, copy.get_absolute_url()),
                "title": copy.title,
                "provider": _provider_data(copy.provider),
            }
            for copy in getattr(article, "also_reported_by", ())
        ],
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
                self.filterset.qs.one_per_story(),
                self.filterset,
                request.GET,
                PAGE_SIZE,
                listing=listing,
                cache_key=self.cache_key(),
                prefetch=STORY_PREFETCH,
            )
        except PageProblem as problem:
            name = next((n for n in PAGING_PARAMETERS if n in request.GET), "page")
            return json_response({"errors": {name: [str(problem)]}}, status=400)
        stories.also_reported(page.object_list)
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
        query = without_paging(self.request.GET)
        query.update(cursor)
        return absolute_url(self.request, f"{self.request.path}?{query.urlencode()}")


def json_response(data: dict, status: int = 200) -> HttpResponse:
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_ESCAPES)
    return HttpResponse(text, content_type="application/json", status=status)


def _errors(errors) -> dict[str, list[str]]:
    return {field: [str(message) for message in messages] for field, messages in errors.items()}
