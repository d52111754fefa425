"""Stories: which articles report the same news, kept up to date as articles arrive.

Three signals join two articles (``docs/stories.md``):

- **same URL**: a canonical URL (``canonical.canonical_url``) of one is a canonical URL of the
  other, whichever of the seven URL fields of either family it comes from;
- **related link**: one names the other in its related coverage (the item's canonical URL);
- **similar headline**: different providers, published within ``headlines.WINDOW_HOURS`` of each
  other, and ``headlines.same_story`` says their titles report one event.

Clustering an arriving article costs indexed lookups only: every article leaves 64-bit hashes
of its canonical URLs, of its related items' URLs and of its headline's significant words *on its
day* in ``StoryKey``, and an arrival looks up its own hashes (its words on each day of the
window). ``cluster`` runs after each import batch and admin edit; ``rebuild`` recomputes
everything from the articles, in memory, keeping editors' decisions (``StoryDecision``).

Editors' decisions win: articles pinned to one decision stay in one story, articles of two
decisions are never joined, and a decision's lead leads. ``split`` and ``merge`` make decisions;
each records ``ArticleChange`` rows (``via`` story) on the articles it moves.
"""

from __future__ import annotations

import array
import contextlib
import datetime
import json
import sys
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.expressions import RawSQL

from . import headlines, story_keys
from .canonical import fingerprints, own_urls, related_urls
from .models import (
    LINK_FIELDS,
    URL_FIELDS,
    Article,
    ArticleChange,
    PublicState,
    Story,
    StoryDecision,
    StoryKey,
    StoryPin,
    UnplacedArticle,
)

URL, RELATED, HEADLINE, EDITOR = "url", "related", "headline", "editor"
# The reason an article shows when several joined it: the strongest.
STRENGTH = {EDITOR: 4, URL: 3, RELATED: 2, HEADLINE: 1}
REASON_LABELS = dict(Article._meta.get_field("story_reason").choices)
# What clustering reads of an article: a change to any of them places it again.
CLUSTERED_FIELDS = frozenset({"title", "provider", "published_at", *URL_FIELDS})
WINDOW = datetime.timedelta(hours=headlines.WINDOW_HOURS)
# Rows per IN (...) list, far below every database's parameter limit.
CHUNK = 900
# Articles whose keys are looked up in one statement: a chunk's lookups and holders stay a few
# megabytes however large the import.
LOOKUP_CHUNK = 2000
# From this many articles, keys going into an empty table load without its indexes (built once
# afterwards): a newsroom's first import.
REINDEX_ENTRIES = 1000
# "Also reported by" lists at most this many of a story's other published copies.
ALSO_REPORTED_LIMIT = 10
# ... read from its first ALSO_REPORTED_SCAN copies by rank (published or not), so a story of a
# thousand copies costs a page no more than one of twenty.
ALSO_REPORTED_SCAN = 50


@dataclass(slots=True)
class Entry:
    """What clustering needs to know about one article. URLs are held as their fingerprints
    (``canonical.fingerprints``): a large import holds one entry per article it wrote."""

    id: int
    provider_id: int | None
    published_at: datetime.datetime | None
    words: tuple[str, ...]  # its headline's (``headlines.Headline``), interned
    specifics: tuple[str, ...]
    title_case: bool
    urls: array.array  # its own URL fields' canonical forms
    related: array.array  # its related items' links' canonical forms
    keys: array.array  # what it is stored under (``story_keys.own_keys``)

    @property
    def headline(self) -> headlines.Headline:
        # Built when compared: held as tuples, a headline is a fifth of its frozensets' size.
        return headlines.Headline(frozenset(self.words), frozenset(self.specifics), self.title_case)

    @property
    def comparable(self) -> bool:
        return len(self.words) >= headlines.MIN_WORDS

    def link_lookups(self) -> dict[int, str]:
        """The URL keys whose holders are copies or coverage of this article: key -> why."""
        mix = story_keys.mix
        found = {}
        for url in self.urls:
            found[mix(url, story_keys.OWN)] = URL
            found[mix(url, story_keys.NAMED)] = RELATED
        for url in set(self.related).difference(self.urls):
            found[mix(url, story_keys.OWN)] = RELATED
        return found

    def word_lookups(self) -> list[int]:
        """The keys of its headline's words on each span of its window: a holder of several
        of them may be the same story."""
        if not (bases := story_keys.word_bases(self.words, self.published_at)):
            return []
        span = story_keys.span(self.published_at)
        mix = story_keys.mix
        return [mix(base, span + offset) for base in bases for offset in (-1, 0, 1)]

    @property
    def least_shared(self) -> int:
        """The fewest words any headline it matches shares with it."""
        return headlines.min_shared_for(len(self.words))


def entry_for(
    article_id: int,
    provider_id: int | None,
    provider_name: str,
    document: Any,
    clues: tuple | None = None,
) -> Entry:
    """An ``Entry`` from a seed document (the importer's) or an article (with its items);
    ``clues``, when a parsing worker already worked them out (``workers.story_clues``)."""
    if clues is None:
        related = getattr(document, "related", None)
        if related is None:
            related = document.related_items.all()
        clues = (
            headlines.headline(document.title, provider_name),
            fingerprints(own_urls(document)),
            fingerprints(related_urls(related)),
        )
    return _entry(article_id, provider_id, document.published_at, *clues)


def _entry(
    article_id: int,
    provider_id: int | None,
    published_at: datetime.datetime | None,
    headline: headlines.Headline,
    urls: array.array,
    related: array.array,
    keys: array.array | None = None,
) -> Entry:
    if keys is None:
        keys = story_keys.own_keys(urls, related, headline.words, published_at)
    # Words interned: a large import holds 100,000 headlines, whose words arrive from the
    # parsing workers as separate copies of a few thousand strings.
    return Entry(
        id=article_id,
        provider_id=provider_id,
        published_at=published_at,
        words=tuple(map(sys.intern, headline.words)),
        specifics=tuple(map(sys.intern, headline.specifics)),
        title_case=headline.title_case,
        urls=urls,
        related=related,
        keys=keys,
    )


# -- incremental clustering ----------------------------------------------------------------


Written = Sequence[tuple[int, int | None, Any, tuple | None]]


def _entries(written: Written) -> list[Entry]:
    return [
        entry_for(
            article_id,
            provider_id,
            document.provider.name if document.provider else "",
            document,
            clues,
        )
        for article_id, provider_id, document, clues in written
    ]


def cluster_imported(written: Written) -> None:
    """Cluster articles an import batch just wrote: (id, provider id, seed document, clues or
    ``None``) each.

    Runs inside the batch's transaction, so a file's story lands with it or not at all.
    """
    cluster(_entries(written))


def hold_imported(written: Written) -> list[Entry]:
    """For a large import, which places its articles all at once when every file is written
    (``place_unplaced``): mark the batch's articles unplaced, in the batch's transaction, and
    return what the import holds of them until then."""
    entries = _entries(written)
    among = _among(entry.id for entry in entries)
    if isinstance(among, RawSQL):
        table = connection.ops.quote_name(UnplacedArticle._meta.db_table)
        with connection.cursor() as cursor:
            # "WHERE true": SQLite's grammar needs it between a SELECT and ON CONFLICT.
            cursor.execute(
                f"INSERT INTO {table} (article_id) {among.sql} WHERE true ON CONFLICT DO NOTHING",
                among.params,
            )
    else:
        UnplacedArticle.objects.bulk_create(
            [UnplacedArticle(article_id=entry.id) for entry in entries], ignore_conflicts=True
        )
    return entries


def place_unplaced(held: Iterable[Entry] = ()) -> int:
    """Place every article marked unplaced, in one pass (``cluster``): the ``held`` entries of
    the import that wrote them, and any others (a run killed before its pass, or an article
    an editor changed meanwhile) as they now read in the database. Returns how many."""
    with transaction.atomic():
        # Locked: an article deleted meanwhile must not leave keys that name it.
        marked = set(
            UnplacedArticle.objects.select_for_update().values_list("article_id", flat=True)
        )
        if not marked:
            return 0
        entries = {entry.id: entry for entry in held if entry.id in marked}
        entries.update((entry.id, entry) for entry in _stored_entries(marked - set(entries)))
        cluster(list(entries.values()))
        UnplacedArticle.objects.filter(article_id__in=_among(marked)).delete()
        PublicState.touch()  # cards change, and no article's updated_at says so
    return len(marked)


def _stored_entries(ids: Iterable[int]) -> list[Entry]:
    found: list[Entry] = []
    for chunk in _chunks(list(ids)):
        articles = (
            Article.objects.filter(id__in=chunk)
            .select_related("provider")
            .prefetch_related("related_items")
        )
        found += [
            entry_for(article.id, article.provider_id, str(article.provider or ""), article)
            for article in articles
        ]
    return found


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    return (items[start : start + size] for start in range(0, len(items), size))


def _among(ids: Iterable[int]) -> Any:
    """``ids`` for an ``__in`` lookup as one bound parameter (a JSON array on SQLite, an array
    on PostgreSQL): a large import's hundred thousand ids cost one statement, not a hundred
    statements of 900 placeholders that the ORM builds one by one."""
    ids = list(ids)
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    if connection.vendor == "sqlite":
        return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])
    return ids


def cluster_articles(ids: Iterable[int]) -> None:
    """Cluster articles as they now read in the database (after an admin edit)."""
    cluster(_stored_entries(ids))


def cluster(entries: list[Entry]) -> None:
    """Find what these articles match, join them to their stories, and index their keys.

    Their matches among the articles already indexed come from index lookups, a chunk of
    articles at a time; their matches among themselves, from the in-memory matching that
    ``rebuild`` uses, which costs a large import a fraction of what a lookup per article would.
    An article that was in a story by clustering alone is taken out and placed again: its title
    or URLs may have changed. Articles an editor placed (``StoryPin``) stay where they are.
    """
    if not entries:
        return
    with transaction.atomic():
        StoryKey.objects.filter(article_id__in=_among(entry.id for entry in entries)).delete()
        indexed = StoryKey.objects.exists()
        edges: list[tuple[int, int, str]] = []
        if indexed:
            for chunk in _chunks(entries, LOOKUP_CHUNK):
                edges += _find_edges(chunk)
        _match_among(entries, lambda first, second, why: edges.append((first, second, why)))
        _store_keys(entries, into_empty=not indexed)
        _place(entries, edges)


def _store_keys(entries: list[Entry], *, into_empty: bool) -> None:
    """Write the entries' keys. Many keys into an empty table load without its indexes, which
    are built once afterwards; otherwise a chunk at a time in key order, so each index page is
    visited once per chunk, not once per key."""
    if into_empty and len(entries) >= REINDEX_ENTRIES:
        with _indexes_built_after():
            for chunk in _chunks(entries, 5000):
                _insert_keys([(key, entry.id) for entry in chunk for key in entry.keys])
        return
    for chunk in _chunks(entries, 5000):
        _insert_keys(sorted((key, entry.id) for entry in chunk for key in entry.keys))


def _insert_keys(rows: list[tuple[int, int]]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(StoryKey._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} (key, article_id) FROM STDIN") as copy:
                # COPY's text format built in one join: a third of the time of row by row.
                copy.write("".join(f"{key}\t{article}\n" for key, article in rows))
            return
        cursor.executemany(f"INSERT INTO {table} (key, article_id) VALUES (%s, %s)", rows)


def _find_edges(entries: list[Entry]) -> list[tuple[int, int, str]]:
    """(article, other article, reason) for every match of these articles.

    One lookup of every key; the rows are sorted out in bulk (comprehensions and ``Counter``)
    because a headline's common words bring a few hundred holders per article.
    """
    links: dict[int, list[tuple[int, str]]] = defaultdict(list)  # key -> (entry, why)
    words: dict[int, list[int]] = defaultdict(list)  # key -> entries
    for entry in entries:
        for key, reason in entry.link_lookups().items():
            links[key].append((entry.id, reason))
        for key in entry.word_lookups():
            words[key].append(entry.id)
    rows = _holders([*links, *words])
    nothing = ()
    edges = [
        (entry_id, other, reason)
        for key, other in rows
        for entry_id, reason in links.get(key, nothing)
        if entry_id != other
    ]
    shared = Counter(
        (entry_id, other) for key, other in rows for entry_id in words.get(key, nothing)
    )
    by_id = {entry.id: entry for entry in entries}
    least = {entry.id: entry.least_shared for entry in entries}
    candidates = [
        (entry_id, other)
        for (entry_id, other), count in shared.items()
        if count >= least[entry_id] and entry_id != other
    ]
    if candidates:
        details = {
            row[0]: row
            for row in Article.objects.filter(
                id__in=list({other for _, other in candidates})
            ).values_list("id", "provider_id", "provider__name", "published_at", "title")
        }
        for entry_id, other in candidates:
            _, provider_id, provider_name, published_at, title = details[other]
            if _headline_match(
                by_id[entry_id],
                provider_id,
                published_at,
                headlines.headline(title, provider_name or ""),
            ):
                edges.append((entry_id, other, HEADLINE))
    return edges


def _holders(keys: list[int]) -> list[tuple[int, int]]:
    """(key, article) for every stored key among ``keys``: one index probe per key, the whole
    list bound as one parameter (a JSON array on SQLite, an array on PostgreSQL), which spares
    the ORM compiling thousands of placeholders per import batch."""
    if not keys:
        return []
    table = connection.ops.quote_name(StoryKey._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT key, article_id FROM {table} WHERE key = ANY(%s::bigint[])", [keys]
            )
            return cursor.fetchall()
        if connection.vendor == "sqlite":
            cursor.execute(
                f"SELECT key, article_id FROM {table} "
                "WHERE key IN (SELECT value FROM json_each(%s))",
                [json.dumps(keys)],
            )
            return cursor.fetchall()
    found: list[tuple[int, int]] = []
    for start in range(0, len(keys), CHUNK):
        found += StoryKey.objects.filter(key__in=keys[start : start + CHUNK]).values_list(
            "key", "article_id"
        )
    return found


def _headline_match(
    entry: Entry,
    provider_id: int | None,
    published_at: datetime.datetime | None,
    other: headlines.Headline,
) -> bool:
    if entry.provider_id is None or provider_id is None or entry.provider_id == provider_id:
        return False
    if entry.published_at is None or published_at is None:
        return False
    if abs(entry.published_at - published_at) > WINDOW:
        return False
    return headlines.same_story(entry.headline, other)


class _Groups:
    """Union-find over articles, where each group may carry one editors' decision and two
    groups with different decisions never join."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}
        self.decision: dict[Any, int | None] = {}

    def add(self, node: Any, decision: int | None = None) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.decision[node] = decision

    def find(self, node: Any) -> Any:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, first: Any, second: Any) -> bool:
        """Join the two groups unless different decisions keep them apart; True if together."""
        first, second = self.find(first), self.find(second)
        if first == second:
            return True
        one, other = self.decision[first], self.decision[second]
        if one is not None and other is not None and one != other:
            return False
        self.parent[second] = first
        self.decision[first] = one if one is not None else other
        return True


def _place(entries: list[Entry], edges: list[tuple[int, int, str]]) -> None:
    """Join the entries to the stories their matches belong to (see ``cluster``). The plan is
    made in memory and written in a handful of statements, however many entries there are."""
    entry_ids = {entry.id for entry in entries}
    state = {
        row[0]: row
        for row in Article.objects.filter(
            id__in=_among(entry_ids | {other for _, other, _ in edges})
        ).values_list("id", "story_id", "story_pin__decision_id", "story_reason")
    }
    touched: set[int] = set()
    # Entries placed by clustering leave their story, to be placed again by their matches.
    loose = [
        article_id
        for article_id in sorted(entry_ids)
        if article_id in state and state[article_id][1] and state[article_id][2] is None
    ]
    if loose:
        touched.update(state[article_id][1] for article_id in loose)
        Article.objects.filter(id__in=_among(loose)).update(
            story=None, story_rank=None, story_reason=""
        )
        for article_id in loose:
            state[article_id] = (article_id, None, None, "")
    story_decisions = dict(
        Story.objects.filter(
            id__in=_among({row[1] for row in state.values() if row[1]})
        ).values_list("id", "decision_id")
    )
    groups = _Groups()

    def node(article_id: int) -> Any:
        _, story_id, decision, _ = state[article_id]
        if story_id:
            groups.add(("story", story_id), story_decisions.get(story_id))
            return ("story", story_id)
        groups.add(("article", article_id), decision)
        return ("article", article_id)

    reasons: dict[int, str] = {}
    for first, second, reason in sorted(edges, key=lambda edge: -STRENGTH[edge[2]]):
        if first not in state or second not in state:
            continue  # deleted meanwhile
        if groups.union(node(first), node(second)):
            for article_id in (first, second):
                if STRENGTH[reason] > STRENGTH.get(reasons.get(article_id, ""), 0):
                    reasons[article_id] = reason
    members: dict[Any, list[Any]] = defaultdict(list)
    for item in list(groups.parent):
        members[groups.find(item)].append(item)
    kept: dict[Any, int] = {}  # a group of two or more -> the story it keeps
    founding: list[Any] = []  # groups with no story yet
    retired: list[tuple[int, int]] = []  # (story merged away, the story it went into)
    redecided: list[tuple[int, int]] = []
    joining: list[tuple[Any, int]] = []  # (group, article standing alone until now)
    for root, nodes in members.items():
        if len(nodes) < 2:
            continue
        stories = sorted(story_id for kind, story_id in nodes if kind == "story")
        decision = groups.decision[root]
        keep = next(
            (s for s in stories if story_decisions.get(s) == decision and decision), None
        ) or (stories[0] if stories else None)
        if keep is None:
            founding.append(root)
        else:
            kept[root] = keep
            if decision and story_decisions.get(keep) != decision:
                redecided.append((keep, decision))
            retired += [(story_id, keep) for story_id in stories if story_id != keep]
        joining += [(root, article_id) for kind, article_id in nodes if kind == "article"]
    created = Story.objects.bulk_create(Story(decision_id=groups.decision[r]) for r in founding)
    kept.update(zip(founding, (story.id for story in created), strict=True))
    for keep, decision in redecided:
        Story.objects.filter(id=keep).update(decision_id=decision)
    table = connection.ops.quote_name(Article._meta.db_table)
    _execute_many(
        f"UPDATE {table} SET story_id = %s WHERE story_id = %s",
        [(keep, story_id) for story_id, keep in retired],
    )
    if retired:
        Story.objects.filter(id__in=_among(story_id for story_id, _ in retired)).delete()
    _execute_many(
        f"UPDATE {table} SET story_id = %s WHERE id = %s",
        [(kept[root], article_id) for root, article_id in joining],
    )
    _execute_many(
        f"UPDATE {table} SET story_reason = %s WHERE id = %s",
        [
            (reason, article_id)
            for article_id, reason in reasons.items()
            if groups.find(node(article_id)) in kept
            and state[article_id][2] is None
            and STRENGTH[reason] > STRENGTH.get(state[article_id][3], 0)
        ],
    )
    touched.update(kept.values())
    # An entry that stayed in its (pinned) story may have new quality or heat: rank again.
    touched.update(
        row[1] for article_id, row in state.items() if article_id in entry_ids and row[1]
    )
    touched.difference_update(story_id for story_id, _ in retired)
    refresh(touched)


def _execute_many(sql: str, rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 10000):
            cursor.executemany(sql, chunk)


def refresh(story_ids: Iterable[int]) -> None:
    """Lead, ranks and size of these stories from their members; a story left with fewer than
    two members is dissolved."""
    story_ids = {story_id for story_id in story_ids if story_id}
    if not story_ids:
        return
    among = _among(story_ids)
    members: dict[int, list[tuple]] = defaultdict(list)
    for row in Article.objects.filter(story_id__in=among).values_list(
        "story_id", "id", "quality", "heat", "published_at", "story_rank"
    ):
        members[row[0]].append(row[1:])
    leads = dict(
        Story.objects.filter(id__in=among, decision__lead__isnull=False).values_list(
            "id", "decision__lead_id"
        )
    )
    stories = {story.id: story for story in Story.objects.filter(id__in=among)}
    lonely = [story_id for story_id in stories if len(members.get(story_id, ())) < 2]
    if lonely:
        Article.objects.filter(story_id__in=_among(lonely)).update(
            story=None, story_rank=None, story_reason=""
        )
        Story.objects.filter(id__in=_among(lonely)).delete()
    changed_ranks: list[Article] = []
    changed_stories: list[Story] = []
    for story_id, story in stories.items():
        if story_id in lonely:
            continue
        ordered = sorted(members[story_id], key=_best_first)
        chosen = leads.get(story_id)
        if chosen in {row[0] for row in ordered}:
            ordered.sort(key=lambda row: row[0] != chosen)
        for rank, (article_id, *_, old_rank) in enumerate(ordered):
            if old_rank != rank:
                changed_ranks.append(Article(id=article_id, story_rank=rank))
        if story.lead_id != ordered[0][0] or story.size != len(ordered):
            story.lead_id, story.size = ordered[0][0], len(ordered)
            changed_stories.append(story)
    if changed_ranks:
        Article.objects.bulk_update(changed_ranks, ["story_rank"], batch_size=CHUNK)
    if changed_stories:
        Story.objects.bulk_update(changed_stories, ["lead", "size", "updated_at"])


def _best_first(row: tuple) -> tuple:
    """The lead first: highest quality, then heat, then the first published, then the oldest."""
    article_id, quality, heat, published_at, _ = row
    return (
        -(quality if quality is not None else -1),
        -(heat if heat is not None else -2),
        published_at is None,
        published_at.timestamp() if published_at else 0,
        article_id,
    )


def refresh_articles(article_ids: Iterable[int]) -> None:
    """Rank the stories of these articles again (their quality or heat changed)."""
    ids = list(article_ids)
    stories = set()
    for start in range(0, len(ids), CHUNK):
        stories.update(
            Article.objects.filter(id__in=ids[start : start + CHUNK], story__isnull=False)
            .values_list("story_id", flat=True)
            .distinct()
        )
    refresh(stories)


# -- editors' decisions --------------------------------------------------------------------


def _record(article_ids: Iterable[int], old: dict[int, Any], new: Any, user: Any) -> None:
    """History: one ``story`` change per article whose story moved."""
    reviewer = user if getattr(user, "pk", None) else None
    ArticleChange.objects.bulk_create(
        ArticleChange(
            article_id=article_id,
            user=reviewer,
            via=ArticleChange.Via.STORY,
            field="story",
            old_value=old.get(article_id),
            new_value=new if not callable(new) else new(article_id),
        )
        for article_id in article_ids
        if old.get(article_id) != (new if not callable(new) else new(article_id))
    )


def _story_labels(article_ids: Iterable[int]) -> dict[int, str | None]:
    """How history names an article's story: its lead's key, or None (alone)."""
    return {
        article_id: lead_key
        for article_id, lead_key in Article.objects.filter(id__in=list(article_ids)).values_list(
            "id", "story__lead__key"
        )
    }


def _pin(article_ids: list[int], decision: StoryDecision) -> None:
    StoryPin.objects.filter(article_id__in=article_ids).delete()
    StoryPin.objects.bulk_create(
        StoryPin(article_id=article_id, decision=decision) for article_id in article_ids
    )
    _forget_empty_decisions()


def _forget_empty_decisions() -> None:
    StoryDecision.objects.filter(~Exists(StoryPin.objects.filter(decision=OuterRef("pk")))).delete()


def _members(story_id: int) -> list[int]:
    return list(Article.objects.filter(story_id=story_id).values_list("id", flat=True))


def split(article: Article, *, user: Any) -> None:
    """Take ``article`` out of its story, for good: it and the rest become two decisions, so
    neither clustering nor a rebuild puts them together again."""
    with transaction.atomic():
        story_id = Article.objects.filter(id=article.id).values_list("story_id", flat=True).first()
        if story_id is None:
            return
        rest = [member for member in _members(story_id) if member != article.id]
        before = _story_labels([article.id, *rest])
        alone = StoryDecision.objects.create(decided_by=_user(user))
        _pin([article.id], alone)
        remaining = Story.objects.get(id=story_id)
        kept = remaining.decision or StoryDecision.objects.create(decided_by=_user(user))
        if kept.lead_id == article.id:
            kept.lead = None
            kept.save(update_fields=["lead", "decided_at"])
        _pin(rest, kept)
        if remaining.decision_id != kept.id:
            Story.objects.filter(id=story_id).update(decision=kept)
        Article.objects.filter(id=article.id).update(story=None, story_rank=None, story_reason="")
        Article.objects.filter(id__in=rest).update(story_reason=EDITOR)
        refresh([story_id])
        _record([article.id, *rest], before, _story_labels_after([article.id, *rest]), user)
        PublicState.touch()  # cards change, and no article's updated_at says so


def _story_labels_after(article_ids: list[int]) -> Callable[[int], str | None]:
    labels = _story_labels(article_ids)
    return lambda article_id: labels.get(article_id)


def merge(story_ids: Sequence[int], *, user: Any, lead: Article | None = None) -> Story | None:
    """Make these stories (and articles standing alone, given as their ids negated) one story,
    for good: one decision pins every member."""
    with transaction.atomic():
        stories = list(Story.objects.filter(id__in=[s for s in story_ids if s > 0]))
        loose = [-s for s in story_ids if s < 0]
        articles = [a for story in stories for a in _members(story.id)] + loose
        if len(set(articles)) < 2:
            return None
        before = _story_labels(articles)
        decision = StoryDecision.objects.create(decided_by=_user(user), lead=lead)
        _pin(articles, decision)
        keep = stories[0] if stories else Story.objects.create()
        others = [story.id for story in stories[1:]]
        Article.objects.filter(id__in=articles).update(story=keep, story_reason=EDITOR)
        Story.objects.filter(id__in=others).delete()
        Story.objects.filter(id=keep.id).update(decision=decision)
        refresh([keep.id])
        _record(articles, before, _story_labels_after(articles), user)
        PublicState.touch()
        keep.refresh_from_db()
        return keep


def choose_lead(article: Article, *, user: Any) -> None:
    """Make ``article`` its story's lead, for good (its members are pinned with it)."""
    with transaction.atomic():
        story_id = Article.objects.filter(id=article.id).values_list("story_id", flat=True).first()
        if story_id is None:
            return
        story = Story.objects.get(id=story_id)
        members = _members(story_id)
        before_lead = story.lead.key if story.lead else None
        decision = story.decision or StoryDecision.objects.create(decided_by=_user(user))
        decision.lead = article
        decision.decided_by = _user(user)
        decision.save()
        _pin(members, decision)
        Story.objects.filter(id=story_id).update(decision=decision)
        refresh([story_id])
        PublicState.touch()
        if before_lead != article.key:
            ArticleChange.objects.create(
                article_id=article.id,
                user=_user(user),
                via=ArticleChange.Via.STORY,
                field="story_lead",
                old_value=before_lead,
                new_value=article.key,
            )


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


# -- rebuilding everything -----------------------------------------------------------------


@dataclass
class RebuildReport:
    articles: int = 0
    stories: int = 0
    members: int = 0
    reasons: Counter = field(default_factory=Counter)


def rebuild(progress: Callable[[str, int, int], None] | None = None) -> RebuildReport:
    """Recompute every key and story from the articles, keeping editors' decisions.

    In memory and in passes over the table (not one lookup per article): canonical URLs and
    headlines of every article, then joins by URL, related link and headline (a sliding window
    over the articles in publication order), then the stories written in bulk.
    """
    say = progress or (lambda phase, done, total: None)
    report = RebuildReport()
    entries: list[Entry] = []
    total = Article.objects.count()
    related: dict[int, list[Any]] = defaultdict(list)
    for row in (
        Article.objects.filter(related_items__isnull=False)
        .values_list("id", *(f"related_items__{name}" for name in LINK_FIELDS))
        .iterator(chunk_size=5000)
    ):
        related[row[0]].append(_Links(*row[1:]))
    rows = (
        Article.objects.order_by()
        .values_list("id", "provider_id", "provider__name", "published_at", "title", *URL_FIELDS)
        .iterator(chunk_size=5000)
    )
    for number, (article_id, provider_id, provider_name, published_at, title, *urls) in enumerate(
        rows, 1
    ):
        entries.append(
            _entry(
                article_id,
                provider_id,
                published_at,
                headlines.headline(title, provider_name or ""),
                fingerprints(own_urls(_Urls(*urls))),
                fingerprints(related_urls(related.pop(article_id, ()))),
            )
        )
        if number % 20000 == 0:
            say("reading", number, total)
    say("reading", len(entries), total)
    report.articles = len(entries)
    with transaction.atomic():
        _write_all_keys(entries, say)
        groups, reasons = _group_all(entries, say)
        _write_stories(entries, groups, reasons, report, say)
        UnplacedArticle.objects.all().delete()
        PublicState.touch()
    return report


class _Links:
    def __init__(self, *values: str) -> None:
        for name, value in zip(LINK_FIELDS, values, strict=True):
            setattr(self, name, value or "")


class _Urls:
    def __init__(self, *values: str) -> None:
        for name, value in zip(URL_FIELDS, values, strict=True):
            setattr(self, name, value)


def _write_all_keys(entries: list[Entry], say: Callable[[str, int, int], None]) -> None:
    """Every article's keys, written afresh."""
    StoryKey.objects.all().delete()
    with _indexes_built_after():
        for number, chunk in enumerate(_chunks(entries, 5000), 1):
            _insert_keys([(key, entry.id) for entry in chunk for key in entry.keys])
            if number % 10 == 0:
                say("indexing", number * 5000, len(entries))
    say("indexing", len(entries), len(entries))


@contextlib.contextmanager
def _indexes_built_after() -> Iterator[None]:
    """Drop the key table's indexes for a bulk load and build them again after it, in the
    caller's transaction: building an index once from every key is several times quicker than
    growing it row by row. On PostgreSQL its foreign key goes too and comes back checked in
    one join, where a million rows would each fire a deferred check (two thirds of the load's
    time); until the end of the transaction that locks articles against other writers."""
    quote = connection.ops.quote_name
    table = quote(StoryKey._meta.db_table)
    indexes = [
        (
            quote(index.name),
            ", ".join(quote(StoryKey._meta.get_field(name).column) for name in index.fields),
        )
        for index in StoryKey._meta.indexes
    ]
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        foreign_keys = [
            quote(name)
            for name, found in connection.introspection.get_constraints(
                cursor, StoryKey._meta.db_table
            ).items()
            if found["foreign_key"] and postgresql
        ]
        if postgresql:
            # Checks still deferred in this transaction must run before the table is altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, columns in indexes:
            cursor.execute(f"CREATE INDEX {name} ON {table} ({columns})")
        article = StoryKey._meta.get_field("article")
        for name in foreign_keys:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY "
                f"({quote(article.column)}) REFERENCES {quote(Article._meta.db_table)} "
                f"({quote(article.target_field.column)}) DEFERRABLE INITIALLY DEFERRED"
            )
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _group_all(
    entries: list[Entry], say: Callable[[str, int, int], None]
) -> tuple[_Groups, dict[int, str]]:
    groups = _Groups()
    reasons: dict[int, str] = {}
    pins = dict(StoryPin.objects.values_list("article_id", "decision_id"))
    for entry in entries:
        groups.add(entry.id, pins.get(entry.id))
    first_pinned: dict[int, int] = {}
    for article_id, decision in pins.items():
        if article_id in groups.parent:
            anchor = first_pinned.setdefault(decision, article_id)
            groups.union(anchor, article_id)

    def join(first: int, second: int, reason: str) -> None:
        if groups.union(first, second):
            for article_id in (first, second):
                if STRENGTH[reason] > STRENGTH.get(reasons.get(article_id, ""), 0):
                    reasons[article_id] = reason

    say("matching", 0, len(entries))
    _match_among(entries, join, say)
    return groups, reasons


def _match_among(
    entries: list[Entry],
    join: Callable[[int, int, str], None],
    say: Callable[[str, int, int], None] = lambda phase, done, total: None,
) -> None:
    """``join`` every two of these articles that match: through a dictionary of their
    canonical URLs, then a sliding window over their headlines (``_join_headlines``)."""
    owner: dict[int, int] = {}
    for entry in entries:
        for url in entry.urls:
            other = owner.setdefault(url, entry.id)
            if other != entry.id:
                join(other, entry.id, URL)
    for entry in entries:
        for url in entry.related:
            other = owner.get(url)
            if other is not None and other != entry.id:
                join(entry.id, other, RELATED)
    _join_headlines(entries, join, say)


def _join_headlines(
    entries: list[Entry],
    join: Callable[[int, int, str], None],
    say: Callable[[str, int, int], None],
) -> None:
    """A sliding window over the dated articles in time order, with an inverted index of the
    window's words. Each article counts, in one ``Counter`` over its words' postings, how many
    words every earlier article of the window shares with it; only those sharing enough
    (``headlines.min_shared_for``) are compared in full. Counting runs in C, where testing each
    candidate's words one by one cost a thousand set intersections per article at a million."""
    dated = sorted(
        (e for e in entries if e.published_at is not None and e.comparable),
        key=lambda e: e.published_at,
    )
    postings: dict[str, deque[int]] = defaultdict(deque)
    nothing: deque[int] = deque()
    start = 0
    for number, entry in enumerate(dated):
        while entry.published_at - dated[start].published_at > WINDOW:
            for word in dated[start].words:
                postings[word].popleft()
            start += 1
        words = entry.words
        least = entry.least_shared
        headline = None
        shared = Counter(chain.from_iterable(postings.get(word, nothing) for word in words))
        for position, count in shared.items():
            if count < least:
                continue
            other = dated[position]
            if entry.provider_id is None or other.provider_id in (None, entry.provider_id):
                continue
            if headline is None:
                headline = entry.headline
            if headlines.same_story(headline, other.headline):
                join(other.id, entry.id, HEADLINE)
        for word in words:
            postings[word].append(number)
        if number % 20000 == 0:
            say("matching", number, len(dated))
    say("matching", len(dated), len(dated))


def _write_stories(
    entries: list[Entry],
    groups: _Groups,
    reasons: dict[int, str],
    report: RebuildReport,
    say: Callable[[str, int, int], None],
) -> None:
    members: dict[int, list[int]] = defaultdict(list)
    for entry in entries:
        members[groups.find(entry.id)].append(entry.id)
    clusters = [ids for ids in members.values() if len(ids) > 1]
    pins = dict(StoryPin.objects.values_list("article_id", "decision_id"))
    Article.objects.filter(story__isnull=False).update(story=None, story_rank=None, story_reason="")
    Story.objects.all().delete()
    stories = Story.objects.bulk_create(
        Story(decision_id=groups.decision[groups.find(ids[0])], size=len(ids)) for ids in clusters
    )
    rows = []
    for story, ids in zip(stories, clusters, strict=True):
        for article_id in ids:
            reason = EDITOR if article_id in pins else reasons.get(article_id, HEADLINE)
            rows.append((story.id, reason, article_id))
            report.reasons[reason] += 1
    table = connection.ops.quote_name(Article._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 10000):
            cursor.executemany(
                f"UPDATE {table} SET story_id = %s, story_reason = %s WHERE id = %s",
                rows[start : start + 10000],
            )
            say("writing", start, len(rows))
    refresh([story.id for story in stories])
    say("writing", len(rows), len(rows))
    report.stories = len(stories)
    report.members = len(rows)


# -- reading stories -----------------------------------------------------------------------


def also_reported(articles: Sequence[Article], visible: QuerySet | None = None) -> None:
    """Attach to each article of a page ``also_reported_by`` (its story's other published copies,
    by rank, at most ``ALSO_REPORTED_LIMIT``) and ``story_key`` (its story's lead's key when the
    lead is published, else the first published copy's; its own key without a story).

    One query, and none for a page without stories; an unpublished copy is never among them.
    """
    story_ids = {article.story_id for article in articles if article.story_id}
    copies: dict[int, list[Article]] = defaultdict(list)
    if story_ids:
        visible = visible if visible is not None else Article.objects.published()
        for copy in (
            visible.filter(story_id__in=story_ids, story_rank__lt=ALSO_REPORTED_SCAN)
            .select_related("provider")
            .only(
                "key",
                "title",
                "story_id",
                "story_rank",
                "provider__name",
                "provider__domain",
                *LINK_FIELDS,
            )
            .order_by("story_id", "story_rank")
        ):
            copies[copy.story_id].append(copy)
    for article in articles:
        found = copies.get(article.story_id, []) if article.story_id else []
        article.story_key = found[0].key if found else article.key
        article.also_reported_by = [copy for copy in found if copy.pk != article.pk][
            :ALSO_REPORTED_LIMIT
        ]


# -- the command's listing -------------------------------------------------------------------


def listing() -> list[dict[str, Any]]:
    """Every story of two or more articles: its lead's key, its members' keys in rank order and
    why each joined (what ``manage.py stories`` prints)."""
    out: dict[int, dict[str, Any]] = {}
    rows = (
        Article.objects.filter(story__isnull=False)
        .order_by("story_id", "story_rank", "id")
        .values_list("story_id", "key", "story_reason", "story__decision_id")
    )
    for story_id, key, reason, decision in rows.iterator(chunk_size=5000):
        story = out.setdefault(
            story_id,
            {"lead": key, "members": [], "reasons": {}, "decided": decision is not None},
        )
        story["members"].append(key)
        story["reasons"][key] = REASON_LABELS.get(reason, reason)
    return list(out.values())
