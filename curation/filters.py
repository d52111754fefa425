"""The public filters, declared once: the list page, the JSON view and the feeds all use them.

Every filter runs over ``Article.objects.published()``, and the choices with their counts (the
facets) count published articles only, so no filter reveals an unpublished article.
"""

from __future__ import annotations

import datetime
import hashlib

import django_filters
from django import forms
from django.core.cache import cache
from django.db.models import Count, Exists, F, Max, OuterRef
from django.http import HttpRequest

from .models import Article, ArticleTopic

FACET_CACHE_SECONDS = 60
ORDERINGS = {
    "newest": (F("published_at").desc(nulls_last=True), "-id"),
    "oldest": (F("published_at").asc(nulls_last=True), "id"),
    "quality": (F("quality").desc(nulls_last=True), F("published_at").desc(nulls_last=True), "-id"),
    "heat": (F("heat").desc(nulls_last=True), F("published_at").desc(nulls_last=True), "-id"),
}
ORDERING_CHOICES = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("quality", "Highest quality"),
    ("heat", "Hottest"),
]
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


def published_fingerprint(
    request: HttpRequest | None = None,
) -> tuple[int, datetime.datetime | None]:
    """How many articles are published and when the latest of them changed: one cheap query.

    It changes whenever an article is published, unpublished or edited, so it keys the caches
    and validates ETags. It is remembered on the request so a page pays for it once.
    """
    remembered = getattr(request, "_published_fingerprint", None)
    if remembered is not None:
        return remembered
    state = Article.objects.published().aggregate(count=Count("id"), latest=Max("updated_at"))
    fingerprint = (state["count"], state["latest"])
    if request is not None:
        request._published_fingerprint = fingerprint
    return fingerprint


def fingerprint_key(fingerprint: tuple[int, datetime.datetime | None]) -> str:
    count, latest = fingerprint
    raw = f"{count}:{latest.isoformat() if latest else '-'}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def facets(request: HttpRequest | None = None) -> dict[str, list[tuple[str, str, int]]]:
    """The filter choices as ``(value, label, published count)``, cached for a short while.

    The cache key carries the published fingerprint, so publishing or editing an article shows
    up at once; renaming a topic or provider shows up within ``FACET_CACHE_SECONDS``.
    """
    key = f"curation:facets:v1:{fingerprint_key(published_fingerprint(request))}"
    found = cache.get(key)
    if found is None:
        found = _count_facets()
        cache.set(key, found, FACET_CACHE_SECONDS)
    return found


def _count_facets() -> dict[str, list[tuple[str, str, int]]]:
    published = Article.objects.published()
    topics = (
        ArticleTopic.objects.filter(article__in=published.values("pk"))
        .values_list("topic__name")
        .annotate(n=Count("article", distinct=True))
        .order_by("topic__name")
    )
    providers = (
        published.exclude(provider=None)
        .values_list("provider_id", "provider__name", "provider__domain")
        .annotate(n=Count("id"))
        .order_by("provider__name", "provider__domain")
    )
    categories = (
        published.exclude(category="")
        .values_list("category")
        .annotate(n=Count("id"))
        .order_by("category")
    )
    types = published.exclude(type="").values_list("type").annotate(n=Count("id")).order_by("type")
    return {
        "topic": [(name, name, n) for name, n in topics],
        "provider": [
            (str(pk), name or domain or "(unnamed)", n) for pk, name, domain, n in providers
        ],
        "category": [(name, name, n) for name, n in categories],
        "type": [(name, name, n) for name, n in types],
    }


class ArticleFilter(django_filters.FilterSet):
    """Free text, topic, provider, category, type, dates, minimum quality and ordering."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Words in the story"}),
    )
    topic = django_filters.ChoiceFilter(
        label="Topic", method="filter_topic", empty_label="All topics"
    )
    provider = django_filters.ChoiceFilter(
        label="Provider", field_name="provider_id", empty_label="All providers"
    )
    category = django_filters.ChoiceFilter(label="Category", empty_label="All categories")
    type = django_filters.ChoiceFilter(label="Type", empty_label="All types")
    published_after = django_filters.DateFilter(
        label="Published from",
        field_name="published_at",
        lookup_expr="date__gte",
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    published_before = django_filters.DateFilter(
        label="Published until",
        field_name="published_at",
        lookup_expr="date__lte",
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    min_quality = django_filters.NumberFilter(
        label="Minimum quality", field_name="quality", lookup_expr="gte"
    )
    ordering = django_filters.ChoiceFilter(
        label="Sort by", choices=ORDERING_CHOICES, empty_label=None, method="filter_ordering"
    )

    class Meta:
        model = Article
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = Article.objects.published()
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.facets = facets(request)
        for name, choices in self.facets.items():
            self.filters[name].extra["choices"] = [
                (value, f"{label} ({count})") for value, label, count in choices
            ]

    def filter_search(self, queryset, name, value):
        return queryset.search(value) if value else queryset

    def filter_topic(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(
            Exists(ArticleTopic.objects.filter(article=OuterRef("pk"), topic__name=value))
        )

    def filter_ordering(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset, so there is always an order

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        ordering = self.form.cleaned_data.get("ordering") or "newest"
        return queryset.order_by(*ORDERINGS[ordering])

    @property
    def active(self) -> dict[str, object]:
        """The filters the visitor set, by name (empty when the form is invalid)."""
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.form.cleaned_data.items() if value}

    def describe(self) -> str:
        """A short human description of the active filters, for titles of pages and feeds."""
        parts = []
        labels = {
            name: {value: label for value, label, _ in choices}
            for name, choices in self.facets.items()
        }
        for name, value in self.active.items():
            if name == "ordering":
                continue
            if name in labels:
                value = labels[name].get(value, value)
            parts.append(f"{self.filters[name].label.lower()}: {value}")
        return "; ".join(parts)
