"""Rules: which apply to an article, in order, stopping where told, and what they set.

The first half is pure (it reads no database and changes nothing): ``compile_rule`` turns a rule's text into a ``Spec``,
``facts_of`` reads what rules look at from a ``seedfile.SeedDocument`` or a plain mapping, and
``judge`` runs specs over facts. The same code rules arriving files (``importer``) and stored
articles (``preview``, ``apply_to_existing``), so a preview says exactly what an import would do.

Matching (docs/rules.md): text on both sides is NFKC-normalised and case-folded, as the login
throttle folds usernames (newsroom/security.py), so capitals and Unicode look-alikes (fullwidth
letters, ligatures) do not matter, while accents do (``Kraków`` is not ``Krakow``). Provider
(name or domain), topic, category and type match a line exactly; words match a line as whole
words in the title or in the excerpt. A rule matches when every condition it has matches; an
empty condition matches everything.

The second half works on stored articles, through ``editorial.apply_editorial_changes``, and
keeps ``RuledValue``: what the rules gave each article in place of the feed, which the importer's
three-way merge reads as the feed's own value, so a rule's value is never taken for an editor's.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import editorial, seedfile
from .models import (
    EDITORIAL_FIELDS,
    REVIEWED,
    Article,
    ArticleChange,
    ArticleTopic,
    Provider,
    Rule,
    RuledValue,
    Topic,
    json_safe,
)

# What a rule may set: the editorial fields, nothing of the feed's own text.
SETTABLE = EDITORIAL_FIELDS
# Stored articles read per query by preview and apply.
CHUNK_SIZE = 2000
# Articles a preview lists by name (it counts them all).
PREVIEW_LIMIT = 50


def fold(text: str) -> str:
    """Text as rules compare it: NFKC, case-folded, NFKC again (folding can denormalise)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def lines(text: str) -> list[str]:
    """A condition's lines, folded, blank lines and surrounding spaces dropped, in order."""
    return [folded for line in text.splitlines() if (folded := " ".join(fold(line).split()))]


def _words_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    """One pattern for all phrases: each as whole words (not inside a longer word), any run of
    spaces in the text matching the single space between two of its words."""
    if not phrases:
        return None
    alternatives = (r"\s+".join(re.escape(word) for word in phrase.split()) for phrase in phrases)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")


@dataclass(frozen=True)
class Facts:
    """What rules look at in one article, folded."""

    providers: frozenset[str]  # the provider's name and domain
    topics: frozenset[str]
    category: str
    type: str
    title: str
    excerpt: str


def facts(
    *,
    title: str = "",
    excerpt: str = "",
    category: str = "",
    type: str = "",
    topics: Iterable[str] = (),
    provider_name: str = "",
    provider_domain: str = "",
) -> Facts:
    return Facts(
        providers=frozenset(fold(name) for name in (provider_name, provider_domain) if name),
        topics=frozenset(fold(topic) for topic in topics),
        category=fold(category),
        type=fold(type),
        title=fold(title),
        excerpt=fold(excerpt),
    )


def facts_of(source: seedfile.SeedDocument | Mapping[str, Any]) -> Facts:
    """The facts of an arriving document, or of a mapping with ``facts``'s keyword names
    (missing keys are empty): a stored article's ``values()``, say."""
    if isinstance(source, seedfile.SeedDocument):
        provider = source.provider
        return facts(
            title=source.title,
            excerpt=source.excerpt,
            category=source.category,
            type=source.type,
            topics=source.topics,
            provider_name=provider.name if provider else "",
            provider_domain=provider.domain if provider else "",
        )
    names = ("title", "excerpt", "category", "type", "topics", "provider_name", "provider_domain")
    return facts(**{name: source[name] or "" for name in names if name in source})


@dataclass(frozen=True)
class Spec:
    """One rule, compiled: conditions folded, words as one pattern, actions as values."""

    id: int | None
    name: str
    providers: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    words: re.Pattern[str] | None = None
    sets: tuple[tuple[str, Any], ...] = ()
    mark_for_review: bool = False
    stop_here: bool = False

    def matches(self, facts: Facts) -> bool:
        # Cheapest first: set lookups before the text search.
        return (
            (not self.categories or facts.category in self.categories)
            and (not self.types or facts.type in self.types)
            and (not self.providers or not self.providers.isdisjoint(facts.providers))
            and (not self.topics or not self.topics.isdisjoint(facts.topics))
            and self.words_match(facts.title, facts.excerpt, folded=True)
        )

    def words_match(self, title: str, excerpt: str, *, folded: bool = False) -> bool:
        """Whether a line of the words condition is in the title or in the excerpt (a phrase
        never spans the two)."""
        if self.words is None:
            return True
        if not folded:
            title, excerpt = fold(title), fold(excerpt)
        return self.words.search(title) is not None or self.words.search(excerpt) is not None


def compile_rule(
    *,
    id: int | None = None,
    name: str = "",
    providers: str = "",
    topics: str = "",
    categories: str = "",
    types: str = "",
    words: str = "",
    sets: Mapping[str, Any] | None = None,
    mark_for_review: bool = False,
    stop_here: bool = False,
) -> Spec:
    """A rule's conditions (text, one alternative per line) and actions as a ``Spec``."""
    unknown = set(sets or {}) - set(SETTABLE)
    if unknown:
        raise ValueError(f"a rule sets only {', '.join(SETTABLE)}, not {', '.join(unknown)}")
    return Spec(
        id=id,
        name=name,
        providers=frozenset(lines(providers)),
        topics=frozenset(lines(topics)),
        categories=frozenset(lines(categories)),
        types=frozenset(lines(types)),
        words=_words_pattern(lines(words)),
        sets=tuple((sets or {}).items()),
        mark_for_review=mark_for_review,
        stop_here=stop_here,
    )


@dataclass
class Verdict:
    """What the rules decided for one article: each field's value and the rule that set it
    (the last matching rule to set a field wins), and the rule that marked it for review."""

    values: dict[str, Any] = field(default_factory=dict)
    setters: dict[str, Spec] = field(default_factory=dict)
    review: Spec | None = None
    matched: list[Spec] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.matched)

    def overrides(self, document: Any) -> dict[str, Any]:
        """The values that differ from ``document``'s (a document or an article)."""
        return {
            name: value for name, value in self.values.items() if getattr(document, name) != value
        }


def judge(specs: Sequence[Spec], source: Facts | seedfile.SeedDocument | Mapping) -> Verdict:
    """Run the rules in order over one article's facts: every matching rule applies, a later
    one's value replacing an earlier one's, until a matching rule says stop here."""
    verdict = Verdict()
    if not specs:
        return verdict
    known = source if isinstance(source, Facts) else facts_of(source)
    for spec in specs:
        if not spec.matches(known):
            continue
        verdict.matched.append(spec)
        for name, value in spec.sets:
            verdict.values[name] = value
            verdict.setters[name] = spec
        if spec.mark_for_review:
            verdict.review = spec
        if spec.stop_here:
            break
    return verdict


# -- the database side: rules as stored, stored articles -----------------------------------------


def spec_of(rule: Rule) -> Spec:
    return compile_rule(
        id=rule.pk,
        name=rule.name,
        providers=rule.providers,
        topics=rule.topics,
        categories=rule.categories,
        types=rule.types,
        words=rule.words,
        sets=rule.sets,
        mark_for_review=rule.mark_for_review,
        stop_here=rule.stop_here,
    )


def enabled_specs() -> list[Spec]:
    """The enabled rules in order, compiled: what an import applies to every file."""
    return [spec_of(rule) for rule in Rule.objects.enabled()]


def stored_overrides(article_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each article's ``RuledValue`` rows as field -> value: the merge base's rule part."""
    found: dict[int, dict[str, Any]] = {}
    rows = RuledValue.objects.filter(article_id__in=article_ids).values_list(
        "article_id", "field", "value"
    )
    for article_id, name, value in rows:
        found.setdefault(article_id, {})[name] = value
    return found


class ImportRules:
    """The rules' part of one import run (``importer._Importer``).

    The value a rule sets is the import's value: a new article is stored with it; a changed
    file is merged as the ruled document, against a base of what the last import and its rules
    said (``base``), so an editor's later change still wins and a rule's value is never taken
    for an editor's. A value that differs from the file's is its own version on top of the
    file's (``seed_version``), so the exporter writes it, and its history row is the rule's.
    """

    def __init__(self, insert: Callable[[type[models.Model], list[str], list[tuple]], None]):
        # The importer's one-statement insert: a rule's rows cost the import what its own do.
        self.insert = insert
        self.specs = enabled_specs()
        self.start_batch([])

    def start_batch(self, edited: Sequence[int]) -> None:
        """Forget the previous batch (also one whose transaction rolled back) and read the
        ``RuledValue`` rows of the batch's articles that will be merged (one query)."""
        self.bases = stored_overrides(edited) if edited else {}
        self.created: dict[str, tuple[Verdict, seedfile.SeedDocument]] = {}
        self.updated: list[tuple[Article, Verdict, seedfile.SeedDocument]] = []

    def judge(self, document: seedfile.SeedDocument) -> Verdict:
        return judge(self.specs, document)

    def base(self, article_id: int) -> dict[str, Any]:
        return self.bases.get(article_id, {})

    def arriving(self, key: str, document: seedfile.SeedDocument) -> seedfile.SeedDocument:
        """The document a new article is created from: the file's, with the rules' values."""
        verdict = self.judge(document)
        if not verdict:
            return document
        self.created[key] = (verdict, document)
        return seedfile.replace(document, **verdict.values)

    def version(self, key: str) -> int:
        """A new article's version: 2 when the rules changed the file's values (version 1 is
        the file, its ``seed_version``), else 1."""
        found = self.created.get(key)
        return 2 if found and found[0].overrides(found[1]) else 1

    def merged(
        self,
        article: Article,
        verdict: Verdict,
        raw: seedfile.SeedDocument,
        changes: list[ArticleChange],
        clean: bool,
    ) -> None:
        """After a changed file was merged into ``article``: credit the rules with the history
        rows whose value they set, and give the rules' values their own version."""
        if not verdict:
            self.updated.append((article, verdict, raw))
            return
        overrides = verdict.overrides(raw)
        for change in changes:
            if change.field in overrides and change.new_value == json_safe(overrides[change.field]):
                spec = verdict.setters[change.field]
                change.via = ArticleChange.Via.RULE
                change.rule_id, change.rule_name = spec.id, spec.name
        if clean and overrides:
            article.version += 1
        self.updated.append((article, verdict, raw))

    def written(self, created: Iterable[tuple[Any, Any]]) -> None:
        """After the batch's articles are written: the new articles' history rows, what the
        rules gave each article (``RuledValue``), and the queue for what a rule marks for
        review. (The updated articles' value changes are in the importer's history rows.)"""
        stamp = connection.ops.adapt_datetimefield_value(timezone.now())
        history: list[tuple] = []
        ruled: list[tuple] = []
        for article, _ in created:
            found = self.created.get(article.key)
            if found is None:
                continue
            verdict, raw = found
            for name, value in verdict.overrides(raw).items():
                spec = verdict.setters[name]
                old = getattr(raw, name)
                history.append(_history_row(article.id, stamp, name, old, value, spec))
                ruled.append((article.id, name, _json(value), spec.id))
        # Only an article whose version moved past its file's can have rows to replace (every
        # RuledValue comes with a version of its own), and those are the ones ``bases`` read.
        stale = [article.id for article, _, _ in self.updated if article.id in self.bases]
        if stale:
            RuledValue.objects.filter(article_id__in=stale).delete()
        back_to_queue = []
        for article, verdict, raw in self.updated:
            for name, value in verdict.overrides(raw).items():
                ruled.append((article.id, name, _json(value), verdict.setters[name].id))
            if verdict.review is not None and article.reviewed_at is not None:
                back_to_queue.append(article.id)
                history.append(
                    _history_row(article.id, stamp, REVIEWED, True, False, verdict.review)
                )
        if back_to_queue:
            Article.objects.filter(id__in=back_to_queue).update(reviewed_at=None, reviewed_by=None)
        self.insert(ArticleChange, HISTORY_COLUMNS, history)
        self.insert(RuledValue, ["article", "field", "value", "rule"], ruled)
        self.start_batch([])


# The history rows an import's rules write, as the importer's fast insert takes them.
HISTORY_COLUMNS = [
    "article",
    "changed_at",
    "via",
    "field",
    "old_value",
    "new_value",
    "rule",
    "rule_name",
]


def _json(value: Any) -> str | None:
    """A JSONField's value as the importer's insert writes it (SQL NULL for ``None``)."""
    return None if value is None else json.dumps(json_safe(value))


def _history_row(article_id: int, stamp: Any, name: str, old: Any, new: Any, spec: Spec) -> tuple:
    """The history row of a value a rule set: ``via`` rule, no user, the rule named."""
    via = ArticleChange.Via.RULE.value
    return (article_id, stamp, via, name, _json(old), _json(new), spec.id, spec.name)


# -- preview and apply on stored articles ---------------------------------------------------------


@dataclass
class Planned:
    """What one rule would do to one stored article."""

    article_id: int
    key: str
    title: str
    changes: dict[str, tuple[Any, Any]]  # field -> (now, then)
    kept: list[str]  # fields an editor changed, which the rule leaves alone
    review: bool  # would go back into the queue


@dataclass
class Plan:
    """A rule over the stored articles: ``changing`` counts the articles it would change,
    ``shown`` lists the first ``limit`` of them."""

    rule: Rule
    matched: int = 0
    changing: int = 0
    kept: int = 0  # articles where it leaves at least one editor's value alone
    shown: list[Planned] = field(default_factory=list)


def candidates(spec: Spec, articles: QuerySet | None = None) -> QuerySet:
    """The stored articles that may match: the provider, topic, category and type conditions
    decided on the small tables of distinct values with the same folding as ``judge``, so only
    the words are left to test article by article."""
    articles = Article.objects.all() if articles is None else articles
    if spec.providers:
        ids = [
            pk
            for pk, name, domain in Provider.objects.values_list("pk", "name", "domain")
            if not spec.providers.isdisjoint({fold(name), fold(domain)})
        ]
        articles = articles.filter(provider__in=ids)
    if spec.topics:
        ids = [
            pk for pk, name in Topic.objects.values_list("pk", "name") if fold(name) in spec.topics
        ]
        tagged = ArticleTopic.objects.filter(topic__in=ids).values("article")
        articles = articles.filter(id__in=tagged)
    for column, wanted in (("category", spec.categories), ("type", spec.types)):
        if wanted:
            values = Article.objects.order_by().values_list(column, flat=True).distinct()
            articles = articles.filter(
                **{f"{column}__in": [value for value in values if fold(value) in wanted]}
            )
    return articles


_COLUMNS = (
    "id",
    "key",
    "title",
    "excerpt",
    "version",
    "seed_version",
    "source_hash",
    "reviewed_at",
    *SETTABLE,
)


def _matching(spec: Spec, articles: QuerySet | None, *, lock: bool = False) -> Iterator[list[dict]]:
    """The stored articles the rule matches, a chunk at a time, in id order (``lock``: locked
    for update, for the caller's transaction)."""
    queryset = candidates(spec, articles).order_by("id")
    last = 0
    while True:
        chunk = queryset.filter(id__gt=last)
        if lock:
            ids = list(chunk.values_list("id", flat=True)[:CHUNK_SIZE])
            chunk = Article.objects.filter(id__in=ids).select_for_update().order_by("id")
        rows = list(chunk.values(*_COLUMNS)[:CHUNK_SIZE])
        if not rows:
            return
        last = rows[-1]["id"]
        if spec.words is not None:
            rows = [row for row in rows if spec.words_match(row["title"], row["excerpt"])]
        yield rows


def _feed_values(source_text: str) -> dict[str, Any] | None:
    """The editorial values the stored seed file says, or ``None`` when unknown (an article
    made in the admin): then every value counts as an editor's, as in ``importer._merge``."""
    try:
        document = seedfile.parse(source_text.encode("utf-8"), max_bytes=1 << 40)
    except seedfile.SeedError:
        return None
    return {name: getattr(document, name) for name in SETTABLE}


def _editor_touched(article_ids: list[int], names: list[str]) -> set[tuple[int, str]]:
    """The (article, field) pairs whose latest history row is an editor's. A field whose
    latest row is the import's or a rule's (or that has none) still holds what the import and
    its rules said, which is the merge base: only the others need their seed file read."""
    latest: dict[tuple[int, str], str] = {}
    rows = (
        ArticleChange.objects.filter(article_id__in=article_ids, field__in=names)
        .order_by("article_id", "field", "-changed_at", "-id")
        .values_list("article_id", "field", "via")
    )
    for article_id, name, via in rows:
        latest.setdefault((article_id, name), via)
    automatic = (ArticleChange.Via.IMPORT, ArticleChange.Via.RULE)
    return {pair for pair, via in latest.items() if via not in automatic}


def _plan_chunk(spec: Spec, rows: list[dict]) -> list[Planned]:
    """Decide, article by article, what the rule changes. A field an editor changed since the
    import (its value differs from what the file and the rules said, as ``importer._merge``
    sees it) is left alone, as a re-import leaves it. An article made in the admin has no file:
    all its values are its editors'."""
    names = [name for name, _ in spec.sets]
    edited = [
        row["id"]
        for row in rows
        if row["version"] != row["seed_version"] and row["source_hash"] and names
    ]
    touched = _editor_touched(edited, names) if edited else set()
    bases: dict[int, dict[str, Any] | None] = {}
    reread = sorted({article_id for article_id, _ in touched})
    if reread:
        overrides = stored_overrides(reread)
        for pk, text in Article.objects.filter(id__in=reread).values_list("id", "source_text"):
            base = _feed_values(text)
            bases[pk] = None if base is None else {**base, **overrides.get(pk, {})}
    planned = []
    for row in rows:
        changes: dict[str, tuple[Any, Any]] = {}
        kept = []
        for name, value in spec.sets:
            if row[name] == value:
                continue
            if (row["id"], name) in touched:
                base = bases[row["id"]]
                editors = base is None or base[name] != row[name]
            else:
                editors = not row["source_hash"]
            if editors:
                kept.append(name)
            else:
                changes[name] = (row[name], value)
        review = spec.mark_for_review and row["reviewed_at"] is not None
        if changes or review or kept:
            planned.append(Planned(row["id"], row["key"], row["title"], changes, kept, review))
    return planned


def preview(rule: Rule, *, limit: int = PREVIEW_LIMIT, articles: QuerySet | None = None) -> Plan:
    """What applying ``rule`` to the stored articles would change: counted exactly, the first
    ``limit`` articles listed. Changes nothing."""
    spec = spec_of(rule)
    plan = Plan(rule)
    for rows in _matching(spec, articles):
        plan.matched += len(rows)
        for planned in _plan_chunk(spec, rows):
            plan.kept += bool(planned.kept)
            if planned.changes or planned.review:
                plan.changing += 1
                if len(plan.shown) < limit:
                    plan.shown.append(planned)
    return plan


@dataclass
class Outcome:
    """What ``apply_to_existing`` did."""

    matched: int = 0
    changed: int = 0
    kept: int = 0  # articles where an editor's value was left alone
    queued: int = 0  # put back into the queue


def apply_to_existing(rule: Rule, *, articles: QuerySet | None = None) -> Outcome:
    """Apply ``rule`` to the stored articles it matches, as a re-import with the rule would:
    values an editor changed stay. Each value set is a change through
    ``editorial.apply_editorial_changes`` (ranges checked, only what differs written, history
    by the rule, the public site's validators moved) and becomes the article's ``RuledValue``,
    so the next re-import takes it for the file's. One transaction per chunk of articles."""
    spec = spec_of(rule)
    outcome = Outcome()
    sets = dict(spec.sets)
    chunks = _matching(spec, articles, lock=True)
    while True:
        with transaction.atomic():
            rows = next(chunks, None)
            if rows is None:
                return outcome
            outcome.matched += len(rows)
            groups: dict[tuple[tuple[str, ...], bool], list[int]] = {}
            for planned in _plan_chunk(spec, rows):
                outcome.kept += bool(planned.kept)
                if planned.changes or planned.review:
                    names = tuple(sorted(planned.changes))
                    groups.setdefault((names, planned.review), []).append(planned.article_id)
            for (names, review), ids in groups.items():
                changes: dict[str, Any] = {name: sets[name] for name in names}
                if review:
                    changes[REVIEWED] = False
                applied = editorial.apply_editorial_changes(
                    Article.objects.filter(id__in=ids),
                    changes,
                    user=None,
                    via=ArticleChange.Via.RULE,
                    rule=rule,
                )
                outcome.changed += applied.changed
                outcome.queued += len(ids) if review else 0
                RuledValue.objects.filter(article_id__in=ids, field__in=names).delete()
                RuledValue.objects.bulk_create(
                    RuledValue(article_id=pk, field=name, value=sets[name], rule=rule)
                    for pk in ids
                    for name in names
                )
