"""The public site: read-only views over ``Article.objects.published()``.

The list page, the JSON view and the feeds run the same ``ArticleFilter``; every query a page
makes is fixed in number, whatever the page size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views import View
from django.views.decorators.http import condition
from django.views.generic import DetailView, ListView

from .filters import ArticleFilter, fingerprint_key, published_fingerprint
from .models import LINK_FIELDS, URL_FIELDS, Article, ArticleImage, RelatedItem, safe_url

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
# Bump when the markup or the JSON changes shape, so clients drop what they cached.
ETAG_VERSION = "1"
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


def _last_modified(request: HttpRequest, *args: Any, **kwargs: Any):
    return published_fingerprint(request)[1]


def _etag(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
    fingerprint = fingerprint_key(published_fingerprint(request))
    raw = f"{ETAG_VERSION}|{fingerprint}|{request.path}|{request.GET.urlencode()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


# ETag and Last-Modified from the published articles only: one aggregate query, and a 304
# answers a repeat visit without running the page's own queries.
public_condition = condition(etag_func=_etag, last_modified_func=_last_modified)


# Filtering and pagination ------------------------------------------------------------------


class PageProblem(Exception):
    """The ``page`` parameter names no page of these results."""


def paginate(queryset, number: str | None, per_page: int) -> tuple[Paginator, Page]:
    paginator = Paginator(queryset, per_page)
    try:
        return paginator, paginator.page(number or 1)
    except PageNotAnInteger:
        raise PageProblem(f"“{number}” is not a page number.") from None
    except EmptyPage:
        pages = paginator.num_pages
        raise PageProblem(
            f"There is no page {number}: these results have {pages} page{'s' if pages != 1 else ''}."
        ) from None


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
    return next((image for image in article.images.all() if image.safe_url), None)


class ArticleListView(FilteredArticlesMixin, ListView):
    paginate_by = PAGE_SIZE
    template_name = "curation/article_list.html"

    def get_queryset(self):
        return self.filtered_articles().for_listing()

    def paginate_queryset(self, queryset, page_size):
        try:
            paginator, page = paginate(queryset, self.request.GET.get("page"), page_size)
        except PageProblem as problem:
            self.page_problem = str(problem)
            return None, None, [], False
        articles = list(page.object_list)
        for article in articles:
            article.first_image = first_safe_image(article)
        page.object_list = articles
        return paginator, page, articles, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter"] = self.filterset
        context["page_problem"] = getattr(self, "page_problem", "")
        context["more_filters_open"] = any(self.request.GET.get(name) for name in MORE_FILTERS)
        context["query"] = self.request.GET.copy()
        context["query"].pop("page", None)
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

    def get_queryset(self):
        return (
            Article.objects.published()
            .with_document()
            .defer("source_text", "secured", "extra", "provider_extra")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        article = self.object
        related = list(article.related_items.all())
        own_pages = own_pages_for(related, exclude_key=article.key)
        context["images"] = [image for image in article.images.all() if image.safe_url]
        context["topics"] = list(article.topics.all())
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
                images=item.safe_images,
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


# JSON --------------------------------------------------------------------------------------


def _provider_data(provider) -> dict[str, str] | None:
    return None if provider is None else {"name": provider.name, "domain": provider.domain}


def _image_data(image: dict) -> dict[str, Any]:
    return {key: image.get(key) for key in IMAGE_KEYS}


def related_data(item: RelatedItem) -> dict[str, Any]:
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
        "images": [_image_data(image) for image in item.safe_images],
    }


def article_data(article: Article, request: HttpRequest) -> dict[str, Any]:
    """Every public field of a published article; URLs other than http(s) come out empty."""
    return {
        "key": article.key,
        "url": request.build_absolute_uri(article.get_absolute_url()),
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
        "topics": [topic.name for topic in article.topics.all()],
        "images": [
            {key: getattr(image, key) for key in IMAGE_KEYS}
            for image in article.images.all()
            if image.safe_url
        ],
        "related_count": article.related_count,
        "related": [related_data(item) for item in article.related_items.all()],
    }


class ArticleJsonView(FilteredArticlesMixin, View):
    """The list page's articles as JSON: same filters, same order, same pages."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not self.filterset.is_valid():
            return json_response({"errors": _errors(self.filterset.form.errors)}, status=400)
        articles = (
            self.filterset.qs.for_listing()
            .defer(None)
            .defer("source_text", "secured", "extra", "provider_extra")
            .prefetch_related(
                Prefetch(
                    "related_items",
                    queryset=RelatedItem.objects.select_related("provider").order_by("position"),
                )
            )
        )
        try:
            paginator, page = paginate(articles, request.GET.get("page"), PAGE_SIZE)
        except PageProblem as problem:
            return json_response({"errors": {"page": [str(problem)]}}, status=400)
        return json_response(
            {
                "count": paginator.count,
                "page": page.number,
                "pages": paginator.num_pages,
                "page_size": PAGE_SIZE,
                "next": self._page_url(page.next_page_number()) if page.has_next() else None,
                "previous": (
                    self._page_url(page.previous_page_number()) if page.has_previous() else None
                ),
                "results": [article_data(article, request) for article in page.object_list],
            }
        )

    def _page_url(self, number: int) -> str:
        query = self.request.GET.copy()
        query["page"] = str(number)
        return self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")


def json_response(data: dict, status: int = 200) -> HttpResponse:
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_ESCAPES)
    return HttpResponse(text, content_type="application/json", status=status)


def _errors(errors) -> dict[str, list[str]]:
    return {field: [str(message) for message in messages] for field, messages in errors.items()}
