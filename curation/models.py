"""Articles as the news feed describes them, plus what the newsroom adds: curation and history.

Field names are the feed's keys in snake case (``publishedDateTime`` -> ``published_at``); the
README has the full mapping, and ``seedfile.ARTICLE_KEYS`` is its single source of truth.
"""

import contextlib
import contextvars
import datetime
import hashlib
import math
import re
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.db.models.lookups import IsNull
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from . import seedfile

EDITORIAL_FIELDS = ("published", "quality", "heat")
# The review state as history records it (True/False): not a column of its own but
# ``reviewed_at``/``reviewed_by`` (see Article), set by editorial.apply_editorial_changes.
REVIEWED = "reviewed"
# What an editor may restore from the history ("Restore <old value>").
REVERTIBLE_FIELDS = (*EDITORIAL_FIELDS, REVIEWED)
# The role that may curate (see migration 0002_editors_group, which creates it).
EDITORS_GROUP = "Editors"
URL_FIELDS = tuple(seedfile.URL_KEYS.values())
LINK_FIELDS = seedfile.LINK_FIELDS
# Each editorial score's one range (the codec's constants): model validators, so every form over
# an article enforces it; the admin's forms and ``editorial.apply_editorial_changes`` read it
# here; the check constraints below make the database refuse the rest.
SCORE_RANGES = {
    "quality": (seedfile.QUALITY_MIN, seedfile.QUALITY_MAX),
    "heat": (seedfile.HEAT_MIN, seedfile.HEAT_MAX),
}


# When a published article is public (``ArticleQuerySet.published``) and when a pin ends: each
# a moment at which the public site changes with no write at all (the caches' next boundary).
SCHEDULE_FIELDS = ("publish_at", "unpublish_at", "pinned_until")
# What decides whether a story is public: a change to any of them may take one off the site.
VISIBILITY_FIELDS = ("published", "publish_at", "unpublish_at")
SCHEDULE_ORDER_MESSAGE = (
    "“Unpublish at” must be later than “Publish at”: the article would never appear."
)


def check_schedule(
    publish_at: datetime.datetime | None, unpublish_at: datetime.datetime | None
) -> None:
    """Refuse a schedule that ends before it starts (``ValidationError`` on ``unpublish_at``).

    The one home of the rule: ``Article.clean`` (the change form, the list and its row save)
    and ``editorial.apply_editorial_changes`` (bulk actions, against each article's own values).
    """
    if publish_at is not None and unpublish_at is not None and unpublish_at <= publish_at:
        raise ValidationError(
            {"unpublish_at": ValidationError(SCHEDULE_ORDER_MESSAGE, code="schedule_order")}
        )


# The Top stories score (docs/public-site.md, "Top stories"), the "gravity" trick with a score
# that needs no recomputing as time passes: every story's score is the moment it reached the
# world (in seconds) plus a head start its editors gave it, so age pulls each one down at the
# same rate and the order of two stories never changes by itself.
RANK_HEAT_SECONDS = 6 * 60  # each point of heat: six minutes newer (heat 100: ten hours)
RANK_QUALITY_SECONDS = 3 * 60  # each point of quality: three minutes newer (200: ten hours)
# What the score reads: writing any of them means writing ``rank`` too (``rank_for``).
RANK_INPUTS = ("published_at", "created_at", "quality", "heat")


def rank_for(
    published_at: datetime.datetime | None,
    created_at: datetime.datetime,
    quality: int | None,
    heat: int | None,
) -> int:
    """The Top stories score: seconds since 1970 of the earlier of the feed's date and our
    arrival (a feed date in the future cannot jump the queue), plus the editors' head start.

    The one definition, called by ``Article.save``, ``ArticleQuerySet.refresh_ranks`` (the
    editorial changes) and the importer's own insert and update.
    """
    reference = created_at if published_at is None else min(published_at, created_at)
    return (
        math.floor(reference.timestamp())
        + (heat or 0) * RANK_HEAT_SECONDS
        + (quality or 0) * RANK_QUALITY_SECONDS
    )


def score_validators(name: str) -> list:
    """Both ends of a score's range, with a message that names the field and the range."""
    lowest, highest = SCORE_RANGES[name]
    message = (
        f"{name.capitalize()} runs from {lowest} to {highest}; %(value)s is outside that range."
    )
    return [MinValueValidator(lowest, message=message), MaxValueValidator(highest, message=message)]


def score_range_constraints(prefix: str, field_prefix: str = "") -> list[models.CheckConstraint]:
    """Each score's range as check constraints named ``<prefix>_<score>_range``, on the fields
    ``<field_prefix><score>``: empty (not rated) or inside the range."""
    constraints = []
    for name, (lowest, highest) in SCORE_RANGES.items():
        field = f"{field_prefix}{name}"
        constraints.append(
            models.CheckConstraint(
                condition=Q(**{f"{field}__isnull": True})
                | Q(**{f"{field}__gte": lowest, f"{field}__lte": highest}),
                name=f"{prefix}_{name}_range",
                violation_error_message=(f"{name.capitalize()} runs from {lowest} to {highest}."),
            )
        )
    return constraints


def new_article_key() -> str:
    """A key for an article created in the admin, shaped like the feed's own file names."""
    return f"local_{secrets.token_hex(8)}"


def safe_url(url: str) -> str:
    """The URL if it may become a link or an image source (``seedfile.is_link_url``), else ``""``."""
    return url if seedfile.is_link_url(url) else ""


def first_safe_link(item: object) -> str:
    """The first safe URL among an article's (or related item's) own link fields."""
    return next(filter(None, (safe_url(getattr(item, name)) for name in LINK_FIELDS)), "")


def is_link_url_q(field: str) -> Q:
    """``seedfile.is_link_url`` as a database condition on ``field``."""
    condition = Q()
    for scheme in seedfile.LINK_SCHEMES:
        condition |= Q(**{f"{field}__istartswith": scheme})
    return condition


# Columns a list row never shows: left in the database by every listing.
HEAVY_FIELDS = ("source_text", "body", "secured", "extra", "provider_extra")


def child_count(model: type[models.Model]) -> Coalesce:
    """How many of ``model``'s rows belong to the article: a correlated subquery, so it is
    counted for the rows a page shows, not for every match before the LIMIT."""
    rows = (
        model.objects.filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows), 0)


class Provider(models.Model):
    name = models.CharField(max_length=200, blank=True, help_text="The outlet's name.")
    domain = models.CharField(max_length=200, blank=True, help_text="The outlet's web domain.")

    class Meta:
        ordering = ["name", "domain"]
        constraints = [
            models.UniqueConstraint(fields=["name", "domain"], name="unique_provider_name_domain")
        ]

    def __str__(self) -> str:
        return self.name or self.domain or "(unnamed provider)"


class Topic(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


_SEARCH_WORD = re.compile(r"\w+")


def _fts5_search(words: list[str]) -> tuple[str, str]:
    """SQLite: every word as a quoted FTS5 prefix term (user text never becomes FTS syntax);
    a single letter is a whole word, not the beginning of every word that starts with it."""
    query = " ".join(f'"{word}"' if len(word) == 1 else f'"{word}"*' for word in words)
    return "SELECT rowid FROM curation_article_fts WHERE curation_article_fts MATCH %s", query


# The query folded as migration 0008 folds ``search_vector`` (accents off with ``unaccent``,
# as SQLite's FTS5 tokenizer removes diacritics), so ``krakow`` and ``Kraków`` match each other.
_TSVECTOR_MATCH = "search_vector @@ to_tsquery('english', curation_unaccent(%s))"


def _tsvector_search(words: list[str]) -> tuple[str, str]:
    """PostgreSQL: the generated ``search_vector`` column and its GIN index (migrations 0003 and
    0008); words as prefixes, as on SQLite."""
    query = " & ".join(f"'{word}'" if len(word) == 1 else f"'{word}':*" for word in words)
    return f"SELECT id FROM curation_article WHERE {_TSVECTOR_MATCH}", query


_FULL_TEXT = {"sqlite": _fts5_search, "postgresql": _tsvector_search}
# A search matching at most this many articles is answered through its matches (look each one
# up, sort them); a commoner one by walking the list's index and testing each row (see search).
SEARCH_PROBE_LIMIT = 5000


class ArticleQuerySet(models.QuerySet):
    def published(self, now: datetime.datetime | None = None) -> "ArticleQuerySet":
        """What the public may see. Every public page, feed and count starts here.

        Published, and inside its schedule at ``now``: from ``publish_at`` (if set) until
        ``unpublish_at`` (if set). Applied as the rows are read, so a story appears and
        disappears on time with no job running.
        """
        now = now or timezone.now()
        return self.filter(
            Q(publish_at__isnull=True) | Q(publish_at__lte=now),
            Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now),
            published=True,
        )

    def pinned(self, now: datetime.datetime | None = None) -> "ArticleQuerySet":
        """The stories pinned above the ranking at ``now``, in their editors' order (chain after
        ``published()``); a pin ends by itself when ``pinned_until`` passes."""
        now = now or timezone.now()
        return self.filter(pinned_until__gt=now).order_by(
            F("pin_order").asc(nulls_last=True), "-rank", "-id"
        )

    def refresh_ranks(self) -> int:
        """Write ``rank_for`` to these articles' ``rank`` where it differs (after an UPDATE that
        changed a score or a date behind the models' back); returns how many changed."""
        stale = []
        for pk, rank, *inputs in self.order_by().values_list("pk", "rank", *RANK_INPUTS):
            wanted = rank_for(*inputs)
            if wanted != rank:
                stale.append(Article(pk=pk, rank=wanted))
        Article.objects.bulk_update(stale, ["rank"], batch_size=500)
        return len(stale)

    def search(self, text: str) -> "ArticleQuerySet":
        """Articles whose title and excerpt contain every word of the free text (as a word or a
        word's beginning), or whose provider's name contains the text.

        Uses the full-text index of migration 0003: FTS5 on SQLite, a GIN ``tsvector`` index on
        PostgreSQL (English stemming). A filter like any other, so ``.published()`` chains.

        Neither database can estimate how many rows a full-text match returns, so the index is
        asked first, with a bound (``SEARCH_PROBE_LIMIT``). A rare term is then answered from its
        matches; a common one as a test on each row, which lets the database walk the list's
        ordering index and stop when a page is full instead of fetching and sorting every match
        (at a million articles: tens of milliseconds instead of 0.2-1.4 s).
        """
        text = text.strip()
        if not text:
            return self.all()
        providers = Provider.objects.filter(name__icontains=text).values_list("id", flat=True)
        words = _SEARCH_WORD.findall(text)
        vendor = connections[self.db].vendor
        if not words or vendor not in _FULL_TEXT:
            return self.filter(
                Q(title__icontains=text) | Q(excerpt__icontains=text) | Q(provider__in=providers)
            )
        sql, query = _FULL_TEXT[vendor](words)
        provider_ids = list(providers)
        if vendor == "postgresql":
            return self._search_postgresql(sql, query, provider_ids)
        return self._search_sqlite(sql, query, provider_ids)

    def _count_up_to(self, sql: str, params: list, limit: int) -> int:
        """How many rows ``sql`` returns, reading no more than ``limit``."""
        with connections[self.db].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT %s) probe", [*params, limit])
            return cursor.fetchone()[0]

    def _search_sqlite(self, sql: str, query: str, provider_ids: list[int]) -> "ArticleQuerySet":
        """The matches stay a subquery either way (FTS5 reads a rare term's in no time), which
        spares each of the page's queries up to 5,000 bound ids; only its use changes."""
        limit = SEARCH_PROBE_LIMIT + 1
        found = self._count_up_to(sql, [query], limit)
        if provider_ids and found < limit:
            found += Article.objects.filter(provider__in=provider_ids).order_by()[:limit].count()
        matches = RawSQL(sql, [query])
        if found <= SEARCH_PROBE_LIMIT:
            return self.filter(Q(id__in=matches) | Q(provider__in=provider_ids))
        # "id + 0" cannot be looked up by rowid, so SQLite no longer drives the query from the
        # matches (fetching and sorting every one) but walks the ordering's index and tests each
        # row against them, stopping when the page is full.
        return self.alias(search_id=F("id") + 0).filter(
            Q(search_id__in=matches) | Q(provider__in=provider_ids)
        )

    def _search_postgresql(
        self, sql: str, query: str, provider_ids: list[int]
    ) -> "ArticleQuerySet":
        with connections[self.db].cursor() as cursor:
            cursor.execute(f"{sql} LIMIT %s", [query, SEARCH_PROBE_LIMIT + 1])
            matches = [row[0] for row in cursor.fetchall()]
        if len(matches) <= SEARCH_PROBE_LIMIT:
            return self.filter(Q(id__in=matches) | Q(provider__in=provider_ids))
        # An IN under an OR would be a per-row subplan (quadratic once the matches no longer fit
        # work_mem); the predicate on the stored vector is not.
        match = RawSQL(
            _TSVECTOR_MATCH,
            [query],
            output_field=models.BooleanField(),
        )
        return self.filter(Q(match) | Q(provider__in=provider_ids))

    def for_listing(self, *, related_count: bool = False) -> "ArticleQuerySet":
        """What a list row shows, without the heavy columns (prefetch topics and images after
        slicing the page). ``related_count`` is a correlated subquery, so it is computed for the
        page's rows only, not by a GROUP BY over every match before the LIMIT."""
        queryset = self.select_related("provider").defer(*HEAVY_FIELDS)
        if related_count:
            queryset = queryset.annotate(related_count=child_count(RelatedItem))
        return queryset

    def with_document(self) -> "ArticleQuerySet":
        """Everything ``Article.to_document()`` reads, in a fixed number of queries."""
        return self.select_related("provider").prefetch_related(
            Prefetch("topics", queryset=Topic.objects.order_by("articletopic__position")),
            Prefetch("images", queryset=ArticleImage.objects.order_by("position")),
            Prefetch(
                "related_items",
                queryset=RelatedItem.objects.select_related("provider").order_by("position"),
            ),
        )

    def last_changed(self):
        """The latest ``updated_at`` among these articles, or ``None``: one lookup in the
        ``article_updated`` index (the public site's Last-Modified and publication version)."""
        return self.order_by("-updated_at").values_list("updated_at", flat=True).first()

    def edited_since_import(self) -> "ArticleQuerySet":
        return self.exclude(version=models.F("seed_version"))

    def awaiting_review(self) -> "ArticleQuerySet":
        """The editors' queue: articles nobody has decided on yet (the ``article_review_queue``
        index serves it, newest arrivals first)."""
        return self.filter(reviewed_at__isnull=True)

    def reviewed(self) -> "ArticleQuerySet":
        return self.filter(reviewed_at__isnull=False)

    def one_per_story(self) -> "ArticleQuerySet":
        """One article per story: those with no story, and the first of each story's copies
        among these articles, by rank (the lead when it is among them). A correlated NOT EXISTS
        over the ``article_story`` index under the same conditions, so a filtered list (one
        provider, one topic) still shows the story through the copy that matches, and a copy
        the public may not see never hides one it may."""
        earlier = self.order_by().filter(
            story_id=OuterRef("story_id"), story_rank__lt=OuterRef("story_rank")
        )
        return self.filter(Q(story__isnull=True) | ~Exists(earlier.order_by().values("pk")))


def story_card(prefix: str = "") -> Coalesce:
    """What a reader sees as one card: the article's story, or the article itself when it
    stands alone (its id negated, so it never equals a story's). Counting distinct values counts
    stories, not copies. ``prefix`` reaches the article through a relation (``"article__"``)."""
    return Coalesce(
        F(f"{prefix}story_id"), F(f"{prefix}id") * -1, output_field=models.BigIntegerField()
    )


class Article(models.Model):
    key = models.CharField(
        max_length=seedfile.MAX_KEY_LENGTH,
        unique=True,
        default=new_article_key,
        help_text="Stable identifier: the seed file's name without its extension.",
    )
    source_name = models.CharField(
        max_length=255, blank=True, help_text="The seed file this article was imported from."
    )

    category = models.CharField(max_length=200, blank=True, help_text="Feed key: category.")
    title = models.TextField(help_text="Feed key: title.")
    excerpt = models.TextField(blank=True, help_text="Feed key: excerpt.")
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the outlet published it (feed key: publishedDateTime).",
    )
    original_url = models.CharField(max_length=2048, blank=True, help_text="Feed key: originalUrl.")
    web_url = models.CharField(max_length=2048, blank=True, help_text="Feed key: webUrl.")
    amp_web_url = models.CharField(max_length=2048, blank=True, help_text="Feed key: ampWebUrl.")
    cdn_amp_web_url = models.CharField(
        max_length=2048, blank=True, help_text="Feed key: cdnAmpWebUrl."
    )
    source_url = models.CharField(max_length=2048, blank=True, help_text="Feed key: sourceUrl.")
    amp_url = models.CharField(max_length=2048, blank=True, help_text="Feed key: ampUrl.")
    cdn_amp_url = models.CharField(max_length=2048, blank=True, help_text="Feed key: cdnAmpUrl.")
    type = models.CharField(
        max_length=200, blank=True, help_text="Feed key: type (article, video…)."
    )

    published = models.BooleanField(
        default=False, help_text="Tick to show this article on the public site."
    )
    quality = models.IntegerField(
        null=True,
        blank=True,
        validators=score_validators("quality"),
        help_text=(
            f"How good the article is, from {seedfile.QUALITY_MIN} (poor) to "
            f"{seedfile.QUALITY_MAX}; higher ranks better (the feed's own scores run to about "
            "200). Empty means not rated."
        ),
    )
    heat = models.IntegerField(
        null=True,
        blank=True,
        validators=score_validators("heat"),
        help_text=(
            f"How hot the story is right now: 0 is cold, 50 hot, 100 burning, up to "
            f"{seedfile.HEAT_MAX} for the exceptional. {seedfile.HEAT_MIN} (or empty) means "
            "not rated."
        ),
    )

    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="articles"
    )
    provider_extra = models.JSONField(
        default=list, blank=True, help_text="Provider keys the schema does not know, in order."
    )
    topics = models.ManyToManyField(
        Topic, through="ArticleTopic", blank=True, related_name="articles"
    )
    secured = models.TextField(blank=True, help_text="Opaque feed blob, kept verbatim.")
    body = models.TextField(blank=True, help_text="The text after the front matter.")
    extra = models.JSONField(
        default=list,
        blank=True,
        help_text="Top-level keys the schema does not know, as [key, value] pairs in file order.",
    )

    has_front_matter = models.BooleanField(
        default=True, help_text="False for plain-text seed files (title line, then body)."
    )
    source_text = models.TextField(
        blank=True, help_text="The seed file exactly as imported; empty for articles made here."
    )
    source_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the seed file.")
    version = models.PositiveIntegerField(
        default=1, help_text="Goes up with every change; a save based on an older one is refused."
    )
    seed_version = models.PositiveIntegerField(
        default=0, help_text="The version the last import left; differs once the article is edited."
    )
    imported_at = models.DateTimeField(null=True, blank=True)
    # When the article first reached us ("Arrived" in the admin); re-imports leave it alone.
    created_at = models.DateTimeField(auto_now_add=True)
    # Written only by editorial.apply_editorial_changes (an editorial change or "Mark
    # reviewed"), never by a form or the importer: re-import keeps an editor's review.
    reviewed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When an editor last decided on this article; empty while it waits in the queue.",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who last decided on this article.",
    )
    # Written by curation/stories.py only (clustering and editors' story decisions).
    story = models.ForeignKey(
        "Story",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="articles",
        db_index=False,  # the article_story index below leads with it
        help_text="The story this article is one report of; empty while no other covers it.",
    )
    story_rank = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Its place in its story: 0 is the lead, the copy readers see first.",
    )
    story_reason = models.CharField(
        max_length=10,
        blank=True,
        editable=False,
        choices=[
            ("url", "same URL"),
            ("related", "related link"),
            ("headline", "similar headline"),
            ("editor", "editor's decision"),
        ],
        help_text="Why it belongs to its story.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    # The front page (issue 15): the stored ranking score, pins and schedules. ``rank`` is
    # written by every path that writes its inputs (see ``rank_for``), never by a form.
    rank = models.BigIntegerField(
        default=0,
        editable=False,
        help_text="The Top stories score (see rank_for): newer, hotter and better ranks higher.",
    )
    pinned_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "Show this story above the ranking on the front page until this time; the pin ends "
            "by itself. Empty: not pinned."
        ),
    )
    pin_order = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Among pinned stories, lower numbers show first (1 is the top); empty: after the "
            "numbered ones, best ranked first."
        ),
    )
    publish_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "If set, a published article appears on the public site only from this time on. "
            "Empty: as soon as it is published."
        ),
    )
    unpublish_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "If set, the article disappears from the public site at this time (it stays "
            "published here, so clearing this brings it back). Empty: no end."
        ),
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        get_latest_by = "published_at"
        indexes = [
            # Partial indexes over the published articles, one per public ordering (see
            # ORDERINGS in curation/filters.py), walked in order by keyset pagination. Partial
            # because SQLite compares a boolean column as a bare ``WHERE published``, which
            # can match an index's condition but never seek a (published, ...) index.
            models.Index(
                fields=["-published_at", "-id"],
                name="article_public_list",
                condition=Q(published=True),
            ),
            # Quality and heat tie often: within a tie, undated stories last, by the expression
            # ``published_at IS NULL`` (ORDERINGS orders by it; no NULLS LAST column needed).
            models.Index(
                F("quality").desc(),
                IsNull(F("published_at"), True),
                F("published_at").desc(),
                F("id").desc(),
                name="article_public_quality",
                condition=Q(published=True),
            ),
            models.Index(
                F("heat").desc(),
                IsNull(F("published_at"), True),
                F("published_at").desc(),
                F("id").desc(),
                name="article_public_heat",
                condition=Q(published=True),
            ),
            # A provider's published articles, newest first: its filter and its facet count.
            models.Index(
                fields=["provider", "-published_at", "-id"],
                name="article_public_provider",
                condition=Q(published=True),
            ),
            # Top stories (ORDERINGS["top"]): the stored rank, walked in order like the others.
            models.Index(
                fields=["-rank", "-id"], name="article_public_top", condition=Q(published=True)
            ),
            # The schedule's and the pins' boundaries (the next moment a story appears,
            # vanishes or loses its pin: curation/filters.py) and the pinned stories.
            *(
                models.Index(
                    fields=[name],
                    name=f"article_public_{name}",
                    condition=Q(published=True, **{f"{name}__isnull": False}),
                )
                for name in SCHEDULE_FIELDS
            ),
            # The latest change: the publication version and Last-Modified (curation/filters.py).
            models.Index(fields=["updated_at"], name="article_updated"),
            # The admin's queue (not reviewed, newest arrivals first) and its count, partial so
            # it holds only the articles waiting; the "All" list and the Arrived filter walk
            # article_arrived. Both grow at their right edge, as arrivals are in time order.
            models.Index(
                fields=["-created_at", "-id"],
                name="article_review_queue",
                condition=Q(reviewed_at__isnull=True),
            ),
            models.Index(fields=["-created_at", "-id"], name="article_arrived"),
            models.Index(fields=["-published_at", "-id"], name="article_newest"),
            models.Index(fields=["quality"], name="article_quality"),
            models.Index(fields=["heat"], name="article_heat"),
            models.Index(fields=["category"], name="article_category"),
            models.Index(fields=["type"], name="article_type"),
            models.Index(fields=["web_url"], name="article_web_url"),
            models.Index(fields=["original_url"], name="article_original_url"),
            models.Index(fields=["source_url"], name="article_source_url"),
            # A story's copies in rank order: the public list's "first visible copy" test
            # (ArticleQuerySet.one_per_story) and "Also reported by".
            models.Index(
                fields=["story", "story_rank"],
                name="article_story",
                condition=Q(story__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(key=""), name="article_key_not_empty"),
            models.CheckConstraint(condition=~Q(title=""), name="article_title_not_empty"),
            # Migration 0006_score_ranges refuses to add these while a row is out of range.
            *score_range_constraints("article"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        # auto_now_add fills created_at only inside save(): a new article ranks from now.
        self.rank = rank_for(
            self.published_at, self.created_at or timezone.now(), self.quality, self.heat
        )
        update_fields = kwargs.get("update_fields")
        super().save(*args, **kwargs)
        if update_fields is not None and set(update_fields) & set(RANK_INPUTS):
            # A partial save may carry some inputs but not the others, which this instance
            # may hold stale: rank from what the row holds now.
            Article.objects.filter(pk=self.pk).refresh_ranks()
            self.rank = Article.objects.filter(pk=self.pk).values_list("rank", flat=True)[0]

    def get_absolute_url(self) -> str:
        return reverse("curation:article-detail", kwargs={"key": self.key})

    def clean(self) -> None:
        check_schedule(self.publish_at, self.unpublish_at)

    @property
    def link(self) -> str:
        """The article's own URL at its outlet, if it is safe to link to."""
        return first_safe_link(self)

    @property
    def edited_since_import(self) -> bool:
        return self.version != self.seed_version

    @property
    def reviewed(self) -> bool:
        return self.reviewed_at is not None

    def to_document(self) -> seedfile.SeedDocument:
        """The article as a seed document (use ``Article.objects.with_document()`` to fetch)."""
        provider = _provider_document(self.provider, self.provider_extra)
        return seedfile.SeedDocument(
            **{name: getattr(self, name) for name in ARTICLE_SCALAR_FIELDS},
            provider=provider,
            topics=[topic.name for topic in self.topics.all()],
            images=[image.to_document() for image in self.images.all()],
            related=[item.to_document() for item in self.related_items.all()],
            extra=[tuple(pair) for pair in self.extra],
            has_front_matter=self.has_front_matter,
        )


ARTICLE_SCALAR_FIELDS = (
    "title",
    "category",
    "excerpt",
    "published_at",
    *URL_FIELDS,
    "type",
    "quality",
    "heat",
    "published",
    "secured",
    "body",
)


def _provider_document(provider: Provider | None, extra: list) -> seedfile.Provider | None:
    if provider is None:
        return None
    return seedfile.Provider(
        name=provider.name, domain=provider.domain, extra=[tuple(pair) for pair in extra]
    )


# The children's foreign keys to their article (and ArticleTopic's to its topic) have no index
# of their own: the (article, position) constraints' indexes, and ArticleTopic's (topic,
# article) index, lead with those columns and serve the same lookups, and every index less is
# work less for each of the ten-odd child rows an imported file writes (BENCHMARKS.md).


class ArticleTopic(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, db_index=False)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, db_index=False)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["article", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "position"], name="unique_article_topic_position"
            )
        ]
        indexes = [models.Index(fields=["topic", "article"], name="articletopic_topic")]

    def __str__(self) -> str:
        return f"{self.article_id}: {self.topic_id}"


class ArticleImage(models.Model):
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="images", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    url = models.CharField(max_length=2048, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    title = models.TextField(blank=True)
    is_cached = models.BooleanField(null=True, blank=True, help_text="Feed key: isCached.")
    attribution = models.TextField(blank=True)
    extra = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["article", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "position"], name="unique_article_image_position"
            )
        ]

    def __str__(self) -> str:
        return self.url

    @property
    def safe_url(self) -> str:
        return safe_url(self.url)

    def to_document(self) -> seedfile.Image:
        return seedfile.Image(
            url=self.url,
            width=self.width,
            height=self.height,
            title=self.title,
            is_cached=self.is_cached,
            attribution=self.attribution,
            extra=[tuple(pair) for pair in self.extra],
        )


class RelatedItem(models.Model):
    """One entry of an article's related coverage, in feed order.

    A row rather than JSON so the admin can list it, the detail page can link it to our own
    article with the same URL, and its provider is the same ``Provider`` the articles use. Its
    images are JSON in feed order: they are only ever shown, never queried, and keeping them off
    a table of their own halves the rows an import writes.
    """

    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="related_items", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    title = models.TextField(blank=True)
    excerpt = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    original_url = models.CharField(max_length=2048, blank=True)
    web_url = models.CharField(max_length=2048, blank=True)
    amp_web_url = models.CharField(max_length=2048, blank=True)
    cdn_amp_web_url = models.CharField(max_length=2048, blank=True)
    source_url = models.CharField(max_length=2048, blank=True)
    amp_url = models.CharField(max_length=2048, blank=True)
    cdn_amp_url = models.CharField(max_length=2048, blank=True)
    type = models.CharField(max_length=200, blank=True)
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="related_items"
    )
    provider_extra = models.JSONField(default=list, blank=True)
    quality = models.IntegerField(null=True, blank=True)
    heat = models.IntegerField(null=True, blank=True)
    images = models.JSONField(
        default=list, blank=True, help_text="The item's images as feed-ordered mappings."
    )
    extra = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["article", "position"]
        verbose_name = "related coverage"
        verbose_name_plural = "related coverage"
        constraints = [
            models.UniqueConstraint(
                fields=["article", "position"], name="unique_related_item_position"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def link(self) -> str:
        return first_safe_link(self)

    def to_document(self) -> seedfile.Related:
        return seedfile.Related(
            **{name: getattr(self, name) for name in _RELATED_SCALARS},
            provider=_provider_document(self.provider, self.provider_extra),
            images=[seedfile.image_from_dict(image) for image in self.images],
            extra=[tuple(pair) for pair in self.extra],
        )

    @property
    def safe_images(self) -> list[dict]:
        """Images whose URL may be used as an image source."""
        return [image for image in self.images if safe_url(image.get("url", ""))]


_RELATED_SCALARS = ("title", "excerpt", "published_at", *URL_FIELDS, "type", "quality", "heat")


def json_safe(value: object) -> object:
    """A value as JSON can hold it, for history rows and reports: dates as ISO text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value)


class ArticleChange(models.Model):
    """One field of one article changed: by whom, when, how, and from what to what."""

    class Via(models.TextChoices):
        FORM = "form", "change form"
        LIST = "list", "change list"
        ACTION = "action", "bulk action"
        IMPORT = "import", "seed import"
        REVERT = "revert", "restored from history"
        RULE = "rule", "rule"
        STORY = "story", "story decision"
        SCHEDULE = "schedule", "schedule"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="changes")
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    via = models.CharField(max_length=10, choices=Via.choices)
    field = models.CharField(max_length=50)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    # A change a rule made (via "rule"): the rule, and its name as it was then, so the history
    # still says which rule after the rule is renamed or deleted.
    rule = models.ForeignKey(
        "Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    rule_name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        get_latest_by = "changed_at"
        indexes = [models.Index(fields=["article", "-changed_at"], name="change_article_recent")]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} → {self.new_value!r}"


# -- Continuous ingest (docs/ingest.md): where files come from, what each run did, and what an
# editor deleted for good. The work itself lives in curation/ingest.py and curation/tasks.py.

PUSH_TOKEN_PREFIX = "nr_"


def hash_token(token: str) -> str:
    """What is stored of a push token. A fast hash is enough: the token is 32 random bytes, not
    a password a person chose, so there is nothing to guess from the hash."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Source(models.Model):
    """Where seed files come from: a folder the workers watch, or a sender pushing over HTTP."""

    class Kind(models.TextChoices):
        FOLDER = "folder", "watched folder"
        PUSH = "push", "HTTP push"

    name = models.CharField(
        max_length=100, unique=True, help_text="A short name editors recognise (the sender)."
    )
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        help_text="A folder the workers watch, or a sender that pushes files to /api/ingest/.",
    )
    path = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Watched folders only: the folder's absolute path on the workers' machines.",
    )
    token_hash = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        editable=False,
        help_text="SHA-256 of the push token; the token itself is shown once, when made.",
    )
    token_hint = models.CharField(
        max_length=12,
        blank=True,
        editable=False,
        help_text="The token's first characters, to tell tokens apart.",
    )
    enabled = models.BooleanField(
        default=True, help_text="Untick to stop taking files from this source (pushes get 401)."
    )
    max_pushes_per_minute = models.PositiveIntegerField(
        default=600,
        validators=[MinValueValidator(1)],
        help_text="Push sources only: more pushes than this in a minute are answered 429.",
    )
    idle_alert_after = models.DurationField(
        null=True,
        blank=True,
        help_text=(
            "Warn in the admin when nothing arrived from this source for this long "
            "(e.g. 02:00:00 for two hours). Empty: never warn."
        ),
    )
    last_arrival_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a file last arrived."
    )
    last_success_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a file last imported."
    )
    last_error_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a file last failed."
    )
    last_error = models.TextField(
        blank=True, editable=False, help_text="Why the last failed file failed."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="push") | ~Q(path=""), name="source_folder_has_path"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def new_token(self) -> str:
        """Make (or replace) the push token; returns it. Only its hash is kept: save after."""
        token = PUSH_TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        self.token_hint = token[:10]
        return token

    def idle_since(self, now: datetime.datetime | None = None) -> datetime.datetime | None:
        """When the source went quiet, if it has been quiet for longer than its alert allows."""
        if self.idle_alert_after is None or not self.enabled:
            return None
        quiet_since = self.last_arrival_at or self.created_at
        if (now or timezone.now()) - quiet_since > self.idle_alert_after:
            return quiet_since
        return None


class SourceFile(models.Model):
    """One file of a watched folder as last seen: read again only when its size, modification
    time or inode changes, so a poll costs a ``stat`` per file, not a parse."""

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        IMPORTED = "imported", "imported"
        FAILED = "failed", "failed"
        SKIPPED = "skipped", "skipped (deleted by an editor)"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1024, help_text="The file's path inside the folder.")
    size = models.BigIntegerField()
    mtime_ns = models.BigIntegerField()
    inode = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True, help_text="Why the file failed, if it did.")
    seen_at = models.DateTimeField(help_text="When this version of the file was first seen.")

    class Meta:
        ordering = ["source", "path"]
        constraints = [
            models.UniqueConstraint(fields=["source", "path"], name="unique_source_file")
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.path}"


class Delivery(models.Model):
    """One file pushed to /api/ingest/, kept with its bytes: the push job's subject, and what
    its job URL reports on. The same bytes under the same name from one source are one
    delivery, so they are imported once however often they are pushed."""

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="deliveries")
    name = models.CharField(max_length=255, help_text="The file name the sender gave.")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the bytes.")
    content = models.BinaryField(help_text="The bytes as pushed, kept so a failure can be retried.")
    received_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    outcome = models.CharField(
        max_length=10,
        blank=True,
        help_text="created, updated, unchanged, skipped or failed, once imported.",
    )
    result = models.JSONField(default=dict, blank=True, help_text="The import's report lines.")
    key = models.CharField(
        max_length=seedfile.MAX_KEY_LENGTH,
        blank=True,
        help_text="The article key the file name gives.",
    )
    # The job queue's lock its job was queued with (``ingest.key_lock``): a push's job takes
    # other deliveries into its batch only under its own lock, so no other job imports the same
    # keys meanwhile.
    queue_lock = models.CharField(max_length=40, blank=True, editable=False)
    # Its job in the queue: a batch that takes this delivery deletes that job (it would only
    # find the delivery done, and every job waiting in the queue slows each fetch).
    queue_job_id = models.BigIntegerField(null=True, blank=True, editable=False)
    run = models.ForeignKey(
        "IngestRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        help_text="The run that imported it: one run may import a batch of pushed files.",
    )

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "name", "digest"], name="unique_delivery_bytes"
            )
        ]
        # What a push's job looks up: the queued deliveries it may batch, and whether an
        # earlier delivery of a key is still queued.
        indexes = [
            models.Index(
                fields=["source", "queue_lock", "id"],
                condition=Q(state="queued"),
                name="delivery_queued_by_lock",
            ),
            models.Index(
                fields=["key", "id"], condition=Q(state="queued"), name="delivery_queued_by_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.key = seedfile.key_of(self.name)[: seedfile.MAX_KEY_LENGTH]
        super().save(*args, **kwargs)


class IngestRun(models.Model):
    """One import run or batch, whoever started it: counts an editor can read at a glance."""

    class Trigger(models.TextChoices):
        COMMAND = "command", "import_seeds command"
        FOLDER = "folder", "watched folder"
        PUSH = "push", "HTTP push"
        RETRY = "retry", "retry from the admin"
        RESTORE = "restore", "restored from a tombstone"

    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(
        default=0, help_text="Files whose article an editor deleted: not brought back."
    )
    failed = models.PositiveIntegerField(default=0)
    # The queue's job id: a job retried after its worker died finds its own run and stops, so
    # a batch that was committed is never counted (or imported) twice.
    job_id = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class IngestFailure(models.Model):
    """One file that did not import, with its one-line reason. Kept until a later import of
    the same file succeeds (``resolved_at``)."""

    run = models.ForeignKey(IngestRun, on_delete=models.CASCADE, related_name="failures")
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="failures"
    )
    path = models.CharField(max_length=1024, help_text="The file (or pushed name) that failed.")
    key = models.CharField(max_length=seedfile.MAX_KEY_LENGTH, blank=True, db_index=True)
    reason = models.TextField(help_text="What is wrong, in one line: file:line: key: problem.")
    failed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="failures"
    )
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When the file later imported, so this is settled."
    )

    class Meta:
        ordering = ["-failed_at", "-id"]

    def __str__(self) -> str:
        return self.reason


# Who is deleting articles right now (the admin sets it; see ``deleting_as``), for the
# tombstone the ``post_delete`` receiver leaves.
_deleting_user: contextvars.ContextVar[Any] = contextvars.ContextVar("deleting_user", default=None)


@contextlib.contextmanager
def deleting_as(user: Any):
    """Record ``user`` as the one who deleted whatever articles are deleted in this block."""
    token = _deleting_user.set(user)
    try:
        yield
    finally:
        _deleting_user.reset(token)


class Tombstone(models.Model):
    """An article someone deleted: imports and pushes of its key are skipped, so it stays
    deleted, until a superuser restores it (which re-imports the seed text kept here)."""

    key = models.CharField(max_length=seedfile.MAX_KEY_LENGTH, unique=True)
    title = models.TextField(blank=True, help_text="The deleted article's title.")
    source_name = models.CharField(max_length=255, blank=True)
    source_text = models.TextField(
        blank=True, help_text="The seed file the article was last imported from, kept verbatim."
    )
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deleted_by_name = models.CharField(
        max_length=150, blank=True, help_text="Who deleted it, as they were called then."
    )
    deleted_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-deleted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"

    @property
    def reason(self) -> str:
        who = self.deleted_by_name or "someone outside the admin"
        return f"deleted by {who} on {self.deleted_at:%Y-%m-%d %H:%M} UTC"


@receiver(pre_delete, sender=Article, dispatch_uid="curation.article_tombstone")
def _article_tombstone(sender, instance: Article, **kwargs) -> None:
    # Every delete path ends here (the admin's view and action, QuerySet.delete(), a shell),
    # inside the deletion's transaction; before it, so a listing's deferred source text can
    # still be read.
    user = _deleting_user.get()
    Tombstone.objects.update_or_create(
        key=instance.key,
        defaults={
            "title": instance.title,
            "source_name": instance.source_name,
            "source_text": instance.source_text,
            "deleted_by": user if getattr(user, "pk", None) else None,
            "deleted_by_name": getattr(user, "username", "") or "",
            "deleted_at": timezone.now(),
        },
    )


class DeskVisit(models.Model):
    """When an editor last opened the article list, and the visit before: the admin's Arrived
    filter "Since my last visit" shows what arrived after ``previous_visit``.

    A visit is a run of openings less than ``SESSION_GAP`` apart: reloading the list, or coming
    back to it from an article, moves ``last_visit`` on but keeps ``previous_visit``, so what
    was new when the editor sat down stays "new" until they leave for ``SESSION_GAP``.
    """

    SESSION_GAP = datetime.timedelta(minutes=30)

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_visit"
    )
    previous_visit = models.DateTimeField(
        null=True, blank=True, help_text="When the editor's visit before this one ended."
    )
    last_visit = models.DateTimeField(help_text="When the editor last opened the article list.")

    class Meta:
        verbose_name = "desk visit"

    def __str__(self) -> str:
        return f"{self.user}: last opened the article list at {self.last_visit:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, user: Any, now: datetime.datetime | None = None) -> datetime.datetime | None:
        """Note that ``user`` opened the article list; return the end of their previous visit
        (``None`` on their first). Two queries whatever the state, so the list's query count
        stays the same from the first visit on."""
        now = now or timezone.now()
        visit = cls.objects.filter(user=user).first()
        if visit is None:
            # Two tabs opening the list at once must not fail on the one-per-user constraint.
            cls.objects.bulk_create([cls(user=user, last_visit=now)], ignore_conflicts=True)
            return None
        if now - visit.last_visit >= cls.SESSION_GAP:
            visit.previous_visit = visit.last_visit
        cls.objects.filter(pk=visit.pk).update(previous_visit=visit.previous_visit, last_visit=now)
        return visit.previous_visit


class RuleQuerySet(models.QuerySet):
    def enabled(self) -> "RuleQuerySet":
        return self.filter(enabled=True)


class Rule(models.Model):
    """Decisions for the volume editors can't read: "when an arriving article matches …, set …".

    Enabled rules run in ``position`` order on every imported file, new or changed (a later
    rule's value wins over an earlier one's, and a matching rule with ``stop_here`` ends the
    run), and can be previewed on and applied to stored articles. Matching and ordering live in
    ``curation/rules.py``; docs/rules.md is the editors' guide.
    """

    LINES = "One per line; any line may match. Leave empty to match every article."

    name = models.CharField(
        max_length=100, unique=True, help_text="What the rule is for, as the history will show it."
    )
    enabled = models.BooleanField(
        default=True, help_text="Untick to stop applying the rule to what arrives."
    )
    position = models.PositiveIntegerField(
        default=0,
        help_text="Rules run from the lowest position up; a later rule's value wins.",
    )
    providers = models.TextField(
        blank=True,
        help_text=f"The outlet's name or web domain, exactly (capitals don't matter). {LINES}",
    )
    topics = models.TextField(
        blank=True, help_text=f"A topic the article has, exactly (capitals don't matter). {LINES}"
    )
    categories = models.TextField(
        blank=True, help_text=f"The feed's category, exactly (capitals don't matter). {LINES}"
    )
    types = models.TextField(
        blank=True,
        help_text=f"The feed's type (article, video…), exactly (capitals don't matter). {LINES}",
    )
    words = models.TextField(
        blank=True,
        help_text=(
            "A word or phrase in the title or the excerpt, as whole words (“rail” does not match "
            f"“trailer”; capitals don't matter). {LINES}"
        ),
    )
    set_published = models.BooleanField(
        null=True,
        blank=True,
        help_text="Publish or unpublish what matches; empty leaves it as the feed says.",
    )
    set_quality = models.IntegerField(
        null=True,
        blank=True,
        validators=score_validators("quality"),
        help_text=(
            f"The quality to give what matches ({seedfile.QUALITY_MIN} to "
            f"{seedfile.QUALITY_MAX}); empty leaves it as the feed says."
        ),
    )
    set_heat = models.IntegerField(
        null=True,
        blank=True,
        validators=score_validators("heat"),
        help_text=(
            f"The heat to give what matches ({seedfile.HEAT_MIN} to {seedfile.HEAT_MAX}); "
            "empty leaves it as the feed says."
        ),
    )
    mark_for_review = models.BooleanField(
        default=False,
        help_text="Put what matches in the editors' queue, even if someone reviewed it before.",
    )
    stop_here = models.BooleanField(
        default=False, help_text="When this rule matches, the rules after it are not tried."
    )

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = score_range_constraints("rule_set", field_prefix="set_")

    def __str__(self) -> str:
        return self.name

    @property
    def sets(self) -> dict[str, Any]:
        """The editorial values the rule gives what it matches (field -> value)."""
        values = (self.set_published, self.set_quality, self.set_heat)
        return {
            name: value
            for name, value in zip(EDITORIAL_FIELDS, values, strict=True)
            if value is not None
        }

    def clean(self) -> None:
        if not self.sets and not self.mark_for_review:
            raise ValidationError(
                "A rule must do something: set published, quality or heat, or mark for review."
            )


class RuledValue(models.Model):
    """A value the rules gave an article in place of the feed's: what the import (or "apply to
    existing articles") said, which the next re-import merges against as the feed's own, so a
    rule's value is never taken for an editor's (``importer._merge``)."""

    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="ruled_values", db_index=False
    )
    field = models.CharField(max_length=20, choices=[(name, name) for name in EDITORIAL_FIELDS])
    value = models.JSONField(null=True, blank=True)
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "field"], name="unique_ruled_value_field")
        ]

    def __str__(self) -> str:
        return f"{self.article_id}: {self.field} = {self.value!r}"


class PublicState(models.Model):
    """One row: when the public site last lost or changed a story in a way that no published
    article's ``updated_at`` shows (an unpublish, a deletion).

    The public validators (Last-Modified) and the cache keys of the facets and counts combine
    ``changed_at`` with the latest ``updated_at`` of the articles (curation/filters.py), so they
    move forward whatever publishes, unpublishes, edits or deletes a public story. Publishing and
    editing move ``updated_at`` itself; what takes a story away calls ``PublicState.touch()``:
    ``apply_editorial_changes`` and the importer when ``published`` changes, the
    ``post_delete`` signal below for deletions (the admin's and ``QuerySet.delete()``'s alike),
    and what regroups stories without writing an article (editors' splits, merges and leads,
    ``stories --rebuild``, a large import's placing pass).
    """

    changed_at = models.DateTimeField(
        help_text="When a story last left or changed on the public site without an article's "
        "updated_at showing it (unpublished, deleted, regrouped)."
    )

    class Meta:
        verbose_name = "public state"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="public_state_one_row")]

    def __str__(self) -> str:
        return f"public site changed at {self.changed_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def touch(cls) -> None:
        """Move the public validators forward (inside the caller's transaction, if any)."""
        now = timezone.now()
        if not cls.objects.filter(pk=1).update(changed_at=now):
            cls.objects.update_or_create(pk=1, defaults={"changed_at": now})


@receiver(post_delete, sender=Article, dispatch_uid="curation.public_article_deleted")
def _public_article_deleted(sender, instance: Article, **kwargs) -> None:
    # A signal, not a call in each place that deletes: the admin's delete view and action and any
    # QuerySet.delete() all end here (a receiver also stops Django from fast-deleting articles
    # without sending it). A draft leaving changes nothing public, so it moves nothing.
    if instance.published:
        PublicState.touch()


class StoryDecision(models.Model):
    """An editor's decision about a story, kept apart from the clustering that it overrides.

    Its articles (``StoryPin``) stay in one story together and never join another decision's
    articles; ``lead``, if set, leads that story. Clustering (on import, on an admin edit and
    ``stories --rebuild``) reads these rows and never writes them, so re-import and rebuilds keep
    what editors decided.
    """

    lead = models.ForeignKey(
        Article,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The copy an editor chose to lead the story; empty: the best by quality, heat.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made the decision last.",
    )
    decided_at = models.DateTimeField(auto_now=True, help_text="When it was last made.")

    class Meta:
        verbose_name = "story decision"

    def __str__(self) -> str:
        return f"story decision #{self.pk}"


class StoryPin(models.Model):
    """One article an editor placed: it belongs with its decision's other articles."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="story_pin")
    decision = models.ForeignKey(StoryDecision, on_delete=models.CASCADE, related_name="pins")

    class Meta:
        verbose_name = "story pin"

    def __str__(self) -> str:
        return f"{self.article_id} in {self.decision}"


class Story(models.Model):
    """Articles that report one piece of news: copies of one article (same canonical URL),
    other outlets' reports (similar headlines, related links) and what editors decided.

    Made and remade by ``curation/stories.py``; a story has two or more articles.
    """

    lead = models.ForeignKey(
        Article,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The copy readers see first (its rank is 0).",
    )
    size = models.PositiveIntegerField(default=0, help_text="How many articles report it.")
    decision = models.OneToOneField(
        StoryDecision,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="story",
        help_text="The editors' decision this story follows, if any.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "stories"
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"story #{self.pk} ({self.size} reports)"


class StoryKey(models.Model):
    """What clustering looks an article up by: 64-bit hashes of its canonical URLs, of its
    related items' canonical URLs and of its headline's significant words on its day
    (``curation/stories.py``). Derived data, rewritten by every import of the article and by
    ``stories --rebuild``."""

    key = models.BigIntegerField()
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        indexes = [
            # Covering: a lookup reads the holders off the index alone, never the table.
            models.Index(fields=["key", "article"], name="storykey_key_article"),
            models.Index(fields=["article"], name="storykey_article"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id}: {self.key}"


class UnplacedArticle(models.Model):
    """An article a large import wrote whose story is not worked out yet: such an import places
    its articles in one pass once they are all written (``stories.place_unplaced``), and this row,
    written in each file's own transaction, is how a run that was killed before that pass gets
    its articles placed by the next one."""

    article = models.OneToOneField(
        Article, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    def __str__(self) -> str:
        return str(self.article_id)
