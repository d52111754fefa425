"""The public filters, declared once: the list page, the JSON view and the feeds all use them.

Every filter runs over ``Article.objects.published()``, and the choices with their counts (the
facets) count published articles only, so no filter reveals an unpublished article.

Nothing here counts a million rows per request: the facets are cached under the publication
version (an index lookup that changes whenever any article changes) and each choice's count
stops at ``FACET_COUNT_CAP``; the list's own count stops at ``RESULT_COUNT_CAP``. No choice list
is unbounded either: each offers at most ``MAX_FACET_VALUES`` values (the topics and providers
with the most published stories), plus the one the visitor chose, which is valid whenever a
published story has it, so every topic and provider link on the site works.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass

import django_filters
from django import forms
from django.core.cache import cache
from django.db.models import Exists, F, IntegerField, OuterRef, Subquery
from django.db.models.expressions import OrderBy
from django.db.models.lookups import IsNull
from django.forms.utils import flatatt
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .models import Article, ArticleTopic, Provider, PublicState, Topic
from .templatetags.feedtext import BIDI_CONTROLS, isolate_text

# The facets are recounted at once when any article changes or leaves the site (the publication
# version) and at the latest after this long (a backstop for changes made behind the models).
FACET_CACHE_SECONDS = 60
# A choice's count stops here ("AI (100+)"): recounting costs one index probe per article
# counted, so a facet refresh stays within tens of milliseconds however many articles there are.
FACET_COUNT_CAP = 100
# A choice list offers at most this many values: the topics and providers with the most
# published stories, the first categories and types in alphabetical order (and always the
# visitor's own choice).
MAX_FACET_VALUES = 100
# The list's "N stories" stops here ("1000+ stories"): the same bound for the same reason.
RESULT_COUNT_CAP = 1000


@dataclass(frozen=True)
class SortKey:
    """One column of an ordering. ``nullable`` keys put their empty values last."""

    field: str
    descending: bool
    nullable: bool = True


ID_DESC = SortKey("id", descending=True, nullable=False)
NEWEST = SortKey("published_at", descending=True)
# Each ordering ends with the id, so every article has one place in it: keyset pagination
# (curation/views.py) and the partial indexes of migration 0004 rely on it.
ORDERINGS: dict[str, tuple[SortKey, ...]] = {
    "newest": (NEWEST, ID_DESC),
    "oldest": (
        SortKey("published_at", descending=False),
        SortKey("id", descending=False, nullable=False),
    ),
    "quality": (SortKey("quality", descending=True), NEWEST, ID_DESC),
    "heat": (SortKey("heat", descending=True), NEWEST, ID_DESC),
}
ORDERING_CHOICES = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("quality", "Highest quality"),
    ("heat", "Hottest"),
]
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
# What no database column can hold (PostgreSQL refuses NUL in text; surrogates are not UTF-8):
# such a value matches no story, and must never reach a query.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def refuse_unstorable(text: str) -> None:
    """A form validator: free text that no query may carry is the visitor's 400, not a 500."""
    if not _storable(text):
        raise forms.ValidationError(
            "This contains a character no story can hold (NUL or an unpaired surrogate)."
        )


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


# The publication version --------------------------------------------------------------------


def _with_public_state(articles) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """``(articles.last_changed(), PublicState.changed_at)`` in one query (an index lookup and
    a primary-key lookup)."""
    latest = Subquery(articles.order_by("-updated_at").values("updated_at")[:1])
    row = PublicState.objects.filter(pk=1).values_list(latest, "changed_at").first()
    if row is None:  # no state row yet (a flushed test database): the articles alone
        return articles.last_changed(), None
    return row


def publication_version(request: HttpRequest | None = None) -> str:
    """Changes whenever any article is created, published, unpublished, edited or deleted.

    The latest ``updated_at`` of all articles (the ``article_updated`` index), published or
    not, and when a story last left the site (``PublicState``: a deletion moves no
    ``updated_at``). It keys caches only and is never shown, so draft edits do not leak.
    Remembered on the request, so a page pays for it once.
    """
    remembered = getattr(request, "_publication_version", None)
    if remembered is not None:
        return remembered
    version = "|".join(
        moment.isoformat() if moment else "-"
        for moment in _with_public_state(Article.objects.all())
    )
    if request is not None:
        request._publication_version = version
    return version


def last_published_change(request: HttpRequest | None = None) -> datetime.datetime | None:
    """When the public site last changed (Last-Modified): the latest ``updated_at`` of the
    published articles, or when a story last left the site if that is later (one query).

    Without ``PublicState`` an unpublish or a deletion would move Last-Modified backwards, and a
    client revalidating with If-Modified-Since alone would keep the story (issue 11, point 19).
    """
    if request is not None and hasattr(request, "_last_published_change"):
        return request._last_published_change
    moments = _with_public_state(Article.objects.published())
    latest = max((moment for moment in moments if moment is not None), default=None)
    if request is not None:
        request._last_published_change = latest
    return latest


# Facets ---------------------------------------------------------------------------------------


class CappedCount(Subquery):
    """How many rows a correlated, sliced subquery returns: ``COUNT(*)`` of at most the slice."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) capped)"
    output_field = IntegerField()


def facets(request: HttpRequest | None = None) -> dict[str, list[tuple[str, str, int]]]:
    """The filter choices as ``(value, label, published count)``, counts capped.

    Cached under the publication version, so publishing, unpublishing or editing any article
    shows up on the next request; renaming a topic or provider (or deleting an article) within
    ``FACET_CACHE_SECONDS``.
    """
    key = "curation:facets:v2:" + hashlib.sha256(publication_version(request).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = _count_facets()
        cache.set(key, found, FACET_CACHE_SECONDS)
    return found


def _topic_count() -> CappedCount:
    """How many published articles have the topic, counting no further than the cap."""
    published = Article.objects.published().order_by()
    return CappedCount(
        ArticleTopic.objects.filter(topic=OuterRef("pk"))
        .filter(Exists(published.filter(pk=OuterRef("article_id"))))
        .order_by()
        .values("pk")[: FACET_COUNT_CAP + 1]
    )


def _provider_count() -> CappedCount:
    published = Article.objects.published().order_by()
    return CappedCount(
        published.filter(provider=OuterRef("pk")).values("pk")[: FACET_COUNT_CAP + 1]
    )


def _provider_label(name: str, domain: str) -> str:
    return name or domain or "(unnamed)"


def _count_facets() -> dict[str, list[tuple[str, str, int]]]:
    """Each count costs at most ``FACET_COUNT_CAP`` index probes, whatever the table's size:
    one query for the topics, one for the providers, one per category and per type (+1 each).
    Topics and providers: the ``MAX_FACET_VALUES`` with the most published stories, by name."""
    published = Article.objects.published().order_by()
    limit = FACET_COUNT_CAP + 1
    topics = (
        Topic.objects.annotate(n=_topic_count())
        .filter(n__gt=0)
        .order_by("-n", "name")
        .values_list("name", "n")[:MAX_FACET_VALUES]
    )
    providers = (
        Provider.objects.annotate(n=_provider_count())
        .filter(n__gt=0)
        .order_by("-n", "name", "domain")
        .values_list("pk", "name", "domain", "n")[:MAX_FACET_VALUES]
    )
    found = {
        "topic": sorted((name, name, n) for name, n in topics),
        "provider": [
            (str(pk), _provider_label(name, domain), n)
            for pk, name, domain, n in sorted(providers, key=lambda row: (row[1], row[2]))
        ],
    }
    # Categories and types are free text: their published values, walked through the column's
    # index one value at a time (a loose index scan, which neither database does by itself for
    # DISTINCT), each with its capped count.
    for field in ("category", "type"):
        found[field] = _walk_values(published, field, limit)
    return found


def _walk_values(published, field: str, limit: int) -> list[tuple[str, str, int]]:
    """One query per distinct value (at most ``MAX_FACET_VALUES``): the next value after the
    last one, with its capped count, read off the column's index."""
    values: list[tuple[str, str, int]] = []
    last = ""
    for _ in range(MAX_FACET_VALUES):
        found = (
            published.filter(**{f"{field}__gt": last})
            .order_by(field)
            .annotate(
                n=CappedCount(published.filter(**{field: OuterRef(field)}).values("pk")[:limit])
            )
            .values_list(field, "n")
            .first()
        )
        if found is None:
            break
        last, count = found
        values.append((last, last, count))
    return values


def chosen_facet(name: str, value: str) -> tuple[str, str, int] | None:
    """The visitor's choice of a topic, provider, category or type that the choice list leaves
    out, as ``(value, label, capped count)`` if a published story has it, else ``None``: one
    query, and none for a value no story can have."""
    if not value or not _storable(value):
        return None
    published = Article.objects.published().order_by()
    if name == "provider":
        if not value.isascii() or not value.isdigit() or int(value) >= 2**63:
            return None
        row = (
            Provider.objects.filter(pk=int(value))
            .annotate(n=_provider_count())
            .values_list("name", "domain", "n")
            .first()
        )
        return (value, _provider_label(row[0], row[1]), row[2]) if row and row[2] else None
    if name == "topic":
        count = (
            published.filter(
                Exists(ArticleTopic.objects.filter(article=OuterRef("pk"), topic__name=value))
            )
            .values("pk")[: FACET_COUNT_CAP + 1]
            .count()
        )
    else:
        count = published.filter(**{name: value}).values("pk")[: FACET_COUNT_CAP + 1].count()
    return (value, value, count) if count else None


def facet_label(label: str, count: int) -> str:
    # An <option> holds text only: feed text with bidi controls is isolated by characters.
    if BIDI_CONTROLS.search(label):
        label = isolate_text(label)
    return f"{label} ({FACET_COUNT_CAP}+)" if count > FACET_COUNT_CAP else f"{label} ({count})"


# The filters ----------------------------------------------------------------------------------


class ChoiceSelect(forms.Select):
    """A ``<select>`` built in Python rather than one template per option.

    The provider list has hundreds of options; Django's template-per-option rendering cost
    more than everything else on the page together. Same markup, escaped by ``format_html``.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            (
                (
                    option["value"],
                    mark_safe(" selected") if option["selected"] else "",
                    option["label"],
                )
                for _group, group_options, _index in widget["optgroups"]
                for option in group_options
            ),
        )
        return format_html(
            '<select name="{}"{}>\n{}\n</select>', name, flatatt(widget["attrs"]), options
        )


def _start_of(day: datetime.date) -> datetime.datetime | None:
    """Midnight at the start of ``day`` in the current time zone (``None`` if out of range)."""
    try:
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    except (OverflowError, ValueError):
        return None


class ArticleFilter(django_filters.FilterSet):
    """Free text, topic, provider, category, type, dates, minimum quality and ordering."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        max_length=200,
        validators=[refuse_unstorable],
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Words in the story"}),
    )
    topic = django_filters.ChoiceFilter(
        label="Topic", method="filter_topic", empty_label="All topics", widget=ChoiceSelect
    )
    provider = django_filters.ChoiceFilter(
        label="Provider", field_name="provider_id", empty_label="All providers", widget=ChoiceSelect
    )
    category = django_filters.ChoiceFilter(
        label="Category", empty_label="All categories", widget=ChoiceSelect
    )
    type = django_filters.ChoiceFilter(label="Type", empty_label="All types", widget=ChoiceSelect)
    # Whole days in the site's time zone, as a range of the indexed column (not ``__date``,
    # which wraps the column in a function and so reads every row).
    published_after = django_filters.DateFilter(
        label="Published from",
        method="filter_published_after",
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    published_before = django_filters.DateFilter(
        label="Published until",
        method="filter_published_before",
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    min_quality = django_filters.NumberFilter(
        label="Minimum quality", field_name="quality", lookup_expr="gte"
    )
    ordering = django_filters.ChoiceFilter(
        label="Sort by",
        choices=ORDERING_CHOICES,
        empty_label=None,
        method="filter_ordering",
        widget=ChoiceSelect,
    )

    class Meta:
        model = Article
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = Article.objects.published()
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.facets = {name: list(choices) for name, choices in facets(request).items()}
        for name, choices in self.facets.items():
            value = self.data.get(name) if self.data is not None else None
            if value and isinstance(value, str) and value not in {c[0] for c in choices}:
                chosen = chosen_facet(name, value)
                if chosen is not None:
                    choices.append(chosen)
            self.filters[name].extra["choices"] = [
                (value, facet_label(label, count)) for value, label, count in choices
            ]

    def filter_search(self, queryset, name, value):
        return queryset.search(value) if value else queryset

    def filter_topic(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(
            Exists(ArticleTopic.objects.filter(article=OuterRef("pk"), topic__name=value))
        )

    def filter_published_after(self, queryset, name, value):
        start = _start_of(value)
        if start is None:  # after the end of time: nothing
            return queryset.none()
        return queryset.filter(published_at__gte=start)

    def filter_published_before(self, queryset, name, value):
        end = _start_of(value + datetime.timedelta(days=1)) if value < datetime.date.max else None
        if end is None:  # until the end of time: everything dated
            return queryset.filter(published_at__isnull=False)
        return queryset.filter(published_at__lt=end)

    def filter_ordering(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset, so there is always an order

    @property
    def sort_keys(self) -> tuple[SortKey, ...]:
        """The keys of the visitor's ordering (newest first unless they chose another)."""
        ordering = self.form.cleaned_data.get("ordering") if self.is_valid() else None
        return ORDERINGS[ordering or "newest"]

    @property
    def ordering_name(self) -> str:
        return (self.form.cleaned_data.get("ordering") if self.is_valid() else None) or "newest"

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return queryset.order_by(*order_by(self.sort_keys))

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
