"""The public filters, declared once: the list page, the JSON view and the feeds all use them.

Every filter runs over ``Article.objects.published()``, and the choices with their counts (the
facets) count published stories only (copies of one story count once, as the list shows one
card per story), so no filter reveals an unpublished article.

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
from django.db import connections
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery
from django.forms.utils import flatatt
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .models import (
    SCHEDULE_FIELDS,
    Article,
    ArticleTopic,
    Provider,
    PublicState,
    Topic,
    story_card,
)
from .pagination import ID_DESC, RESULT_COUNT_CAP, SortKey, order_by
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


NEWEST = SortKey("published_at", descending=True)
# Each ordering ends with the id, so every article has one place in it: keyset pagination
# (curation/pagination.py) and the partial indexes of Article.Meta rely on it.
ORDERINGS: dict[str, tuple[SortKey, ...]] = {
    # The stored score (models.rank_for), never empty: its own index, article_public_top.
    "top": (SortKey("rank", descending=True, nullable=False), ID_DESC),
    "newest": (NEWEST, ID_DESC),
    "oldest": (
        SortKey("published_at", descending=False),
        SortKey("id", descending=False, nullable=False),
    ),
    "quality": (SortKey("quality", descending=True), NEWEST, ID_DESC),
    "heat": (SortKey("heat", descending=True), NEWEST, ID_DESC),
}
ORDERING_CHOICES = [
    ("top", "Top stories"),
    ("newest", "Latest"),
    ("oldest", "Oldest first"),
    ("quality", "Highest quality"),
    ("heat", "Hottest"),
]
DEFAULT_ORDERING = "top"
# The list page's heading per ordering (with no other filter set).
ORDERING_HEADINGS = {
    "top": "Top stories",
    "newest": "Latest stories",
    "oldest": "Oldest stories",
    "quality": "Highest quality stories",
    "heat": "Hottest stories",
}
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
# What no database column can hold (PostgreSQL refuses NUL in text; surrogates are not UTF-8):
# such a value matches no story, and must never reach a query.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """Whether a query may carry ``text`` (see ``_UNSTORABLE``)."""
    return _UNSTORABLE.search(text) is None


def refuse_unstorable(text: str) -> None:
    """A form validator: free text that no query may carry is the visitor's 400, not a 500."""
    if not storable(text):
        raise forms.ValidationError(
            "This contains a character no story can hold (NUL or an unpaired surrogate)."
        )


# The publication version --------------------------------------------------------------------


def request_now(request: HttpRequest | None = None) -> datetime.datetime:
    """The moment a request is answered at, the same for all its queries (remembered on it):
    a schedule or a pin that ends mid-request must not show a story in one part of a page and
    hide it in another."""
    now = getattr(request, "_public_now", None)
    if now is None:
        now = timezone.now()
        if request is not None:
            request._public_now = now
    return now


@dataclass(frozen=True)
class PublicMoments:
    """What the public site's validators and caches are built from (one query).

    ``latest``: the latest ``updated_at`` of all articles; ``latest_public``: of the public
    ones; ``left``: when a story last left the site by a write (``PublicState``); ``passed``:
    the latest schedule or pin boundary already reached (a story appeared, vanished or lost its
    pin with no write at all); ``upcoming``: the next one, when the site will change by itself.
    """

    latest: datetime.datetime | None
    latest_public: datetime.datetime | None
    left: datetime.datetime | None
    passed: datetime.datetime | None
    upcoming: datetime.datetime | None


def _boundary(field: str, now: datetime.datetime, *, passed: bool) -> Subquery:
    """The latest ``field`` at or before ``now`` (``passed``), or the first after it, among the
    published articles: one probe of the field's partial index."""
    published = Article.objects.filter(published=True, **{f"{field}__isnull": False})
    if passed:
        rows = published.filter(**{f"{field}__lte": now}).order_by(f"-{field}")
    else:
        rows = published.filter(**{f"{field}__gt": now}).order_by(field)
    return Subquery(rows.values(field)[:1])


def _latest_update(articles) -> Subquery:
    return Subquery(articles.order_by("-updated_at").values("updated_at")[:1])


def _moments_columns(now: datetime.datetime) -> dict:
    return {
        "latest": _latest_update(Article.objects.all()),
        "latest_public": _latest_update(Article.objects.published(now)),
        **{
            f"{field}_{side}": _boundary(field, now, passed=side == "passed")
            for field in SCHEDULE_FIELDS
            for side in ("passed", "upcoming")
        },
    }


# The moments' SQL, compiled once per database (compiling its nine subqueries cost more than
# running them, and a cached page runs nothing else): the moment "now" is its only variable.
_SENTINEL = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_MOMENTS_SQL: dict[str, tuple[str, list, list[bool]]] = {}


def _run_compiled(name: str, build, now: datetime.datetime) -> dict | None:
    """Run the query ``build(moment)`` makes, compiled once per database, at ``now``."""
    connection = connections[Article.objects.db]
    compiled = _MOMENTS_SQL.get(f"{connection.alias}:{name}")
    if compiled is None:
        sql, params = build(_SENTINEL).query.sql_with_params()
        sentinel = connection.ops.adapt_datetimefield_value(_SENTINEL)
        compiled = (sql, list(params), [param == sentinel for param in params])
        _MOMENTS_SQL[f"{connection.alias}:{name}"] = compiled
    sql, params, is_now = compiled
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [moment if flag else p for p, flag in zip(params, is_now, strict=True)])
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description]
    return None if row is None else dict(zip(names, map(_as_moment, row), strict=True))


def _full_moments(now: datetime.datetime) -> dict | None:
    return _run_compiled(
        "full",
        lambda moment: PublicState.objects.filter(pk=1).values(
            **_moments_columns(moment), left=F("changed_at")
        ),
        now,
    )


def _latest_moments() -> dict | None:
    """The two moments every write moves: the latest ``updated_at`` and ``PublicState``."""
    return _run_compiled(
        "latest",
        lambda moment: PublicState.objects.filter(pk=1).values(
            latest=_latest_update(Article.objects.all()), left=F("changed_at")
        ),
        _SENTINEL,
    )


# The rest of the moments as last read, per database: they change only when an article is
# written (which moves ``latest`` or ``left``) or when the clock reaches the next boundary, so
# while neither happened they are still right, and a request reads two index lookups instead
# of eleven (a cached page runs nothing else).
_DERIVED: dict[str, tuple[tuple, dict]] = {}


def _moments_row(now: datetime.datetime) -> dict | None:
    alias = Article.objects.db
    row = _latest_moments()
    if row is None:
        return None
    known = _DERIVED.get(alias)
    if known is not None and known[0] == (row["latest"], row["left"]):
        derived = known[1]
        passed = [derived[f"{field}_passed"] for field in SCHEDULE_FIELDS]
        upcoming = [derived[f"{field}_upcoming"] for field in SCHEDULE_FIELDS]
        if all(moment is None or moment <= now for moment in passed) and all(
            moment is None or now < moment for moment in upcoming
        ):
            return {**derived, **row}
    full = _full_moments(now)
    if full is not None:
        _DERIVED[alias] = ((full["latest"], full["left"]), full)
    return full


def _as_moment(value) -> datetime.datetime | None:
    """A moment as the database returned it (SQLite: text in UTC) as an aware datetime."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value


def public_moments(request: HttpRequest | None = None) -> PublicMoments:
    """``PublicMoments`` at the request's moment, in one query (remembered on the request): two
    index lookups for the latest changes, a primary-key lookup for ``PublicState`` and two
    index probes per schedule field."""
    found = getattr(request, "_public_moments", None)
    if found is not None:
        return found
    now = request_now(request)
    row = _moments_row(now)
    if row is None:  # no state row yet (a flushed test database): the same without it
        row = {name: _evaluate(expression) for name, expression in _moments_columns(now).items()}
        row["left"] = None

    def boundary(side: str, pick):
        moments = (row[f"{field}_{side}"] for field in SCHEDULE_FIELDS)
        return pick((moment for moment in moments if moment is not None), default=None)

    found = PublicMoments(
        latest=row["latest"],
        latest_public=row["latest_public"],
        left=row["left"],
        passed=boundary("passed", max),
        upcoming=boundary("upcoming", min),
    )
    if request is not None:
        request._public_moments = found
    return found


def _evaluate(expression: Subquery):
    return Article.objects.annotate(value=expression).values_list("value", flat=True).first()


def _iso(moment: datetime.datetime | None) -> str:
    return moment.isoformat() if moment else "-"


def publication_version(request: HttpRequest | None = None) -> str:
    """Changes whenever any article is created, published, unpublished, edited or deleted, and
    whenever a schedule or pin boundary passes.

    The latest ``updated_at`` of all articles (the ``article_updated`` index), published or
    not, when a story last left the site (``PublicState``: a deletion moves no
    ``updated_at``), and the latest schedule or pin boundary reached (a story appearing or
    vanishing on time moves neither). It keys caches only and is never shown, so draft edits
    do not leak. Remembered on the request, so a page pays for it once.
    """
    moments = public_moments(request)
    return "|".join(_iso(moment) for moment in (moments.latest, moments.left, moments.passed))


def last_published_change(request: HttpRequest | None = None) -> datetime.datetime | None:
    """When the public site last changed (Last-Modified): the latest ``updated_at`` of the
    public articles, when a story last left the site, or the latest schedule or pin boundary
    reached, whichever is latest (the same one query).

    Without ``PublicState`` an unpublish or a deletion would move Last-Modified backwards, and a
    client revalidating with If-Modified-Since alone would keep the story (issue 11, point 19);
    without the boundaries, so would a story vanishing at its ``unpublish_at``.
    """
    moments = public_moments(request)
    found = (moments.latest_public, moments.left, moments.passed)
    return max((moment for moment in found if moment is not None), default=None)


def next_public_change(request: HttpRequest | None = None) -> datetime.datetime | None:
    """The next moment the public site changes by itself (a story appears or vanishes on its
    schedule, or a pin ends), or ``None``: no cache may keep a page past it."""
    return public_moments(request).upcoming


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
    """How many published stories have the topic, counting no further than the cap."""
    published = Article.objects.published().order_by()
    return CappedCount(
        ArticleTopic.objects.filter(topic=OuterRef("pk"))
        .filter(Exists(published.filter(pk=OuterRef("article_id"))))
        .order_by()
        .values(card=story_card("article__"))
        .distinct()[: FACET_COUNT_CAP + 1]
    )


def _provider_count() -> CappedCount:
    published = Article.objects.published().order_by()
    return CappedCount(_stories(published.filter(provider=OuterRef("pk"))))


def _stories(articles):
    """The distinct stories among ``articles``, at most one past the cap: what a capped
    count counts."""
    return articles.values(card=story_card()).distinct()[: FACET_COUNT_CAP + 1]


def _provider_label(name: str, domain: str) -> str:
    return name or domain or "(unnamed)"


def _count_facets() -> dict[str, list[tuple[str, str, int]]]:
    """Each count costs at most ``FACET_COUNT_CAP`` index probes, whatever the table's size:
    one query for the topics, one for the providers, one per category and per type (+1 each).
    Topics and providers: the ``MAX_FACET_VALUES`` with the most published stories, by name."""
    published = Article.objects.published().order_by()
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
        found[field] = _walk_values(published, field)
    return found


def _walk_values(published, field: str) -> list[tuple[str, str, int]]:
    """One query per distinct value (at most ``MAX_FACET_VALUES``): the next value after the
    last one, with its capped count, read off the column's index."""
    values: list[tuple[str, str, int]] = []
    last = ""
    for _ in range(MAX_FACET_VALUES):
        found = (
            published.filter(**{f"{field}__gt": last})
            .order_by(field)
            .annotate(n=CappedCount(_stories(published.filter(**{field: OuterRef(field)}))))
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
    if not value or not storable(value):
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
        published = published.filter(
            Exists(ArticleTopic.objects.filter(article=OuterRef("pk"), topic__name=value))
        )
    else:
        published = published.filter(**{name: value})
    count = _stories(published).count()
    return (value, value, count) if count else None


def facet_label(label: str, count: int, *, at_least: bool = False) -> str:
    """``"AI (12)"``; ``"AI (100+)"`` past the cap, ``"AI (12+)"`` when the count is a lower
    bound (counted among the first ``RESULT_COUNT_CAP`` matches of the filters)."""
    # An <option> holds text only: feed text with bidi controls is isolated by characters.
    if BIDI_CONTROLS.search(label):
        label = isolate_text(label)
    if count > FACET_COUNT_CAP:
        return f"{label} ({FACET_COUNT_CAP}+)"
    return f"{label} ({count}+)" if at_least else f"{label} ({count})"


FACET_NAMES = ("topic", "provider", "category", "type")


def filtered_facets(
    articles, name: str, cache_key: str, samples: dict | None = None, sample_key: str = ""
) -> tuple[list[tuple[str, str, int]], bool]:
    """One facet's choices counted among ``articles`` (the published articles under the other
    filters), each count the number of stories: ``([(value, label, count)], at_least)``.

    Counted among the first ``RESULT_COUNT_CAP`` matches, so a refresh reads at most that many
    rows whatever the filters (the same bound as the list's own count); ``at_least`` says there
    were more matches, so each count is a lower bound. Cached under ``cache_key`` (publication
    version and filters) for ``FACET_CACHE_SECONDS``. ``samples`` keeps the matches read under
    ``sample_key`` (the filters ``articles`` went through), for the page's other facets that
    count under the same ones.
    """
    key = f"curation:facets:filtered:v1:{name}:" + hashlib.sha256(cache_key.encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        samples = {} if samples is None else samples
        if sample_key not in samples:
            ids = list(articles.order_by().values_list("pk", flat=True)[: RESULT_COUNT_CAP + 1])
            samples[sample_key] = (ids[:RESULT_COUNT_CAP], len(ids) > RESULT_COUNT_CAP)
        ids, at_least = samples[sample_key]
        found = (_count_among(name, ids), at_least)
        cache.set(key, found, FACET_CACHE_SECONDS)
    return found


def _count_among(name: str, ids: list[int]) -> list[tuple[str, str, int]]:
    if not ids:
        return []
    if name == "topic":
        rows = (
            ArticleTopic.objects.filter(article_id__in=ids)
            .values_list("topic__name")
            .annotate(n=Count(story_card("article__"), distinct=True))
            .order_by("-n", "topic__name")[:MAX_FACET_VALUES]
        )
        return sorted((topic, topic, n) for topic, n in rows)
    among = Article.objects.filter(pk__in=ids).order_by()
    if name == "provider":
        rows = (
            among.filter(provider__isnull=False)
            .values_list("provider", "provider__name", "provider__domain")
            .annotate(n=Count(story_card(), distinct=True))
            .order_by("-n", "provider")[:MAX_FACET_VALUES]
        )
        return sorted(
            ((str(pk), _provider_label(label, domain), n) for pk, label, domain, n in rows),
            key=lambda row: row[1],
        )
    rows = (
        among.exclude(**{name: ""})
        .values_list(name)
        .annotate(n=Count(story_card(), distinct=True))
        .order_by(name)[:MAX_FACET_VALUES]
    )
    return [(value, value, n) for value, n in rows]


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
        self.now = request_now(request)
        if queryset is None:
            queryset = Article.objects.published(self.now)
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
        """The keys of the visitor's ordering (Top stories unless they chose another)."""
        return ORDERINGS[self.ordering_name]

    @property
    def ordering_name(self) -> str:
        ordering = self.form.cleaned_data.get("ordering") if self.is_valid() else None
        return ordering or DEFAULT_ORDERING

    @property
    def heading(self) -> str:
        return ORDERING_HEADINGS[self.ordering_name]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        self._matching = queryset
        if self.ordering_name == "top":
            # Pinned stories sit above the ranking (``pinned``), not inside it as well: neither
            # the pinned copy nor, through another copy, its story.
            pinned_stories = queryset.pinned(self.now).filter(story__isnull=False)
            queryset = queryset.filter(
                Q(pinned_until__isnull=True) | Q(pinned_until__lte=self.now)
            ).exclude(story__in=pinned_stories.order_by().values("story"))
        return queryset.order_by(*order_by(self.sort_keys))

    @property
    def pinned(self):
        """The stories pinned above the ranking, under the visitor's filters: Top stories
        only; ``None`` for the other orderings."""
        if self.ordering_name != "top" or not self.is_valid():
            return None
        self.qs  # noqa: B018 (filters the queryset, which sets _matching)
        return self._matching.pinned(self.now).one_per_story()

    def query_key(self, version: str) -> str:
        """What a cache keeps this filter combination's results under: the publication version
        and the visitor's filters (not the page position), in a stable order."""
        values = sorted((name, str(value)) for name, value in self.form.cleaned_data.items())
        return f"{version}|{values!r}" if self.is_valid() else f"{version}|invalid"

    def count_facets(self) -> None:
        """Recount each facet's choices under the visitor's other filters (all of them but
        the facet's own, so each choice says what choosing it would show), for the form."""
        active = {name: value for name, value in self.active.items() if name != "ordering"}
        if not active:
            return
        version = publication_version(self.request)
        samples: dict = {}
        for name in FACET_NAMES:
            others = {key: value for key, value in active.items() if key != name}
            if not others:
                continue
            articles = self.queryset
            for key, value in others.items():
                articles = self.filters[key].filter(articles, value)
            counted, at_least = filtered_facets(
                articles,
                name,
                self.query_key(version) + f"|without:{name}",
                samples,
                repr(sorted((key, str(value)) for key, value in others.items())),
            )
            chosen = active.get(name)
            if chosen and chosen not in {value for value, _, _ in counted}:
                counted.append((chosen, self._label(name, chosen), 0))
            self.form.fields[name].choices = [
                ("", self.filters[name].extra.get("empty_label") or ""),
                *(
                    (value, facet_label(label, count, at_least=at_least and count > 0))
                    for value, label, count in counted
                ),
            ]

    def _label(self, name: str, value: str) -> str:
        return next((label for v, label, _ in self.facets[name] if v == value), value)

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
