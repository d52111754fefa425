"""Every change made to articles outside the importer goes through here.

One place records who changed what (``ArticleChange`` rows) and moves ``Article.version`` on, so
the exporter and the re-import can tell edited articles from untouched ones, and so a save based
on an old version of an article is refused instead of silently overwriting someone else's work.

The admin's change form, its change list (``list_editable``), its bulk actions (publishing,
scores, "Mark reviewed") and "Restore" in the history all call ``apply_editorial_changes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from . import stories
from .models import (
    EDITORIAL_FIELDS,
    RANK_INPUTS,
    REVIEWED,
    VISIBILITY_FIELDS,
    Article,
    ArticleChange,
    Provider,
    PublicState,
    check_schedule,
    json_safe,
    rank_for,
)

# Rows updated per UPDATE statement, to stay far below every database's parameter limit.
CHUNK_SIZE = 500


class StaleVersion(Exception):
    """The article changed since the editor loaded it; their save was refused."""

    def __init__(self, article: Article | None, expected: int, current: int | None) -> None:
        self.article = article
        self.expected = expected
        self.current = current
        name = f"“{article}”" if article is not None else "This article"
        if current is None:
            detail = "it has been deleted since you loaded the page"
        else:
            detail = (
                f"someone else saved it while you were working (you started from version "
                f"{expected}, it is now at version {current})"
            )
        super().__init__(
            f"{name} was not saved: {detail}. Reload the page to see the current values, then "
            f"make your change again."
        )


class Applied(NamedTuple):
    """What one call did, counted inside its transaction (so a message built from it holds
    whatever filter chose the articles): articles written, and articles it was given."""

    changed: int
    matched: int

    @property
    def unchanged(self) -> int:
        return self.matched - self.changed


def apply_editorial_changes(
    target: Article | models.QuerySet,
    changes: Mapping[str, Any],
    *,
    user: Any,
    via: str,
    expected_version: int | None = None,
    rule: Any = None,
) -> Applied:
    """Set ``changes`` (field name -> new value) on one article or a queryset of articles.

    Only articles where at least one value really differs are written; each of them gets its
    ``version`` raised by one and one ``ArticleChange`` row per differing field (old -> new).

    The review (``reviewed_at``/``reviewed_by``) is set in the same UPDATE: a changed editorial
    field (``EDITORIAL_FIELDS``) is an editor's decision, so it stamps the article reviewed by
    ``user``, now (its own history rows already say who decided, and when, so the stamp adds
    none). ``changes`` may also hold ``REVIEWED``: True ("Mark reviewed") or False (back into the
    queue), recorded as a change of field ``reviewed`` (False -> True or back) when the state
    flips. Nothing else sets the review: the importer writes its own columns and never these.
    With ``expected_version`` (one article only) the save is refused with ``StaleVersion`` unless
    the article is still at that version. A value its field's validators refuse (a score outside
    its range, say) raises ``ValidationError`` naming the field, before anything is written.
    Returns how many articles changed and how many there were.

    ``target`` may be an ``Article`` instance, whose attributes are updated to match.
    With ``rule`` (a ``Rule``, ``via`` "rule"), the history rows name it and no editor decided:
    the review moves only by ``REVIEWED`` (curation/rules.py).
    """
    single = isinstance(target, Article)
    if expected_version is not None and not single:
        raise TypeError("expected_version needs a single article")
    if not changes:
        return Applied(0, 0)
    changes = dict(changes)
    review = changes.pop(REVIEWED, None)
    if review is not None and not isinstance(review, bool):
        raise TypeError(f"{REVIEWED} is True or False, not {review!r}")
    _validate(changes)
    columns = {_field(name).attname: _column_value(name, value) for name, value in changes.items()}
    if single:
        rows = Article.objects.filter(pk=target.pk)
    else:
        rows = Article.objects.filter(pk__in=target.order_by().prefetch_related(None).values("pk"))
    reviewer = user if getattr(user, "pk", None) else None
    # A schedule is checked whole: each article's own other end (a bulk action sets one).
    schedule = (
        {"publish_at", "unpublish_at"} if {"publish_at", "unpublish_at"} & set(columns) else set()
    )
    with transaction.atomic():
        current = list(
            rows.select_for_update()
            .order_by("pk")
            .values(
                *dict.fromkeys(["pk", "version", "reviewed_at", "story_id", *columns, *schedule])
            )
        )
        if schedule:
            _check_schedules(current, columns, single=single)
        if single and expected_version is not None:
            found = current[0]["version"] if current else None
            if found != expected_version:
                raise StaleVersion(target, expected_version, found)
        history: list[ArticleChange] = []
        # The changed articles by what their UPDATE does to the review: stamp it (an editorial
        # decision, or "Mark reviewed"), withdraw it ("Mark not reviewed"), or leave it (a
        # superuser's correction of the feed's text decides nothing).
        by_review: dict[bool | None, list[int]] = {True: [], False: [], None: []}
        for row in current:
            differing = [column for column, value in columns.items() if row[column] != value]
            decided = rule is None and any(
                _field_name(column) in EDITORIAL_FIELDS for column in differing
            )
            was_reviewed = row["reviewed_at"] is not None
            wants = review if review is not None else (True if decided else None)
            review_moves = wants is not None and wants != was_reviewed
            if not differing and not review_moves:
                continue
            by_review[wants].append(row["pk"])
            history.extend(
                ArticleChange(
                    article_id=row["pk"],
                    user=reviewer,
                    via=via,
                    field=_field_name(column),
                    old_value=row[column],
                    new_value=columns[column],
                )
                for column in differing
            )
            if review_moves and review is not None:
                history.append(
                    ArticleChange(
                        article_id=row["pk"],
                        user=reviewer,
                        via=via,
                        field=REVIEWED,
                        old_value=was_reviewed,
                        new_value=wants,
                    )
                )
        changed = sum(len(ids) for ids in by_review.values())
        if not changed:
            return Applied(0, len(current))
        now = timezone.now()
        review_columns = {
            True: {"reviewed_at": now, "reviewed_by_id": getattr(reviewer, "pk", None)},
            False: {"reviewed_at": None, "reviewed_by_id": None},
            None: {},
        }
        for wants, ids in by_review.items():
            for start in range(0, len(ids), CHUNK_SIZE):
                chunk = ids[start : start + CHUNK_SIZE]
                matching = Article.objects.filter(pk__in=chunk)
                if expected_version is not None:
                    matching = matching.filter(version=expected_version)
                updated = matching.update(
                    **columns,
                    **review_columns[wants],
                    version=F("version") + 1,
                    updated_at=now,
                )
                if updated != len(chunk):
                    # Only reachable when the database does not lock rows on SELECT ... FOR UPDATE.
                    raise StaleVersion(target if single else None, expected_version or 0, None)
        _readable(history)
        if rule is not None:
            for change in history:
                change.rule, change.rule_name = rule, rule.name
        ArticleChange.objects.bulk_create(history)
        if any(change.field in VISIBILITY_FIELDS for change in history):
            PublicState.touch()  # an unpublish moves no published updated_at: see PublicState
        if set(columns) & set(RANK_INPUTS):
            written = [pk for ids in by_review.values() for pk in ids]
            Article.objects.filter(pk__in=written).refresh_ranks()
        if {"quality", "heat"} & set(columns):
            # The lead is the best copy by quality and heat: rank the stories again.
            written_ids = {pk for ids in by_review.values() for pk in ids}
            stories.refresh(row["story_id"] for row in current if row["pk"] in written_ids)
    if single:
        for column, value in columns.items():
            setattr(target, column, value)
        for wants, ids in by_review.items():
            if ids:
                for column, value in review_columns[wants].items():
                    setattr(target, column, value)
        target.version = current[0]["version"] + 1
        target.updated_at = now
        if set(columns) & set(RANK_INPUTS):
            target.rank = rank_for(*(getattr(target, name) for name in RANK_INPUTS))
    return Applied(changed, len(current))


def _check_schedules(current: list[dict], columns: Mapping[str, Any], *, single: bool) -> None:
    """``models.check_schedule`` on every article as the change would leave it."""
    refused = []
    for row in current:
        ends = {name: columns.get(name, row[name]) for name in ("publish_at", "unpublish_at")}
        try:
            check_schedule(**ends)
        except ValidationError as error:
            refused.append(error)
    if refused and single:
        raise refused[0]
    if refused:
        count = len(refused)
        raise ValidationError(
            {
                "unpublish_at": f"{refused[0].messages[0]} "
                + (
                    "1 selected article would end before it starts"
                    if count == 1
                    else f"{count} selected articles would end before they start"
                )
                + ", so nothing was changed."
            }
        )


def _validate(changes: Mapping[str, Any]) -> None:
    """Run each field's own validators (the score ranges among them) on its new value."""
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        if isinstance(value, models.Model):
            continue
        try:
            _field(name).run_validators(value)
        except ValidationError as refused:
            errors[name] = refused.messages
    if errors:
        raise ValidationError(errors)


def _field(name: str) -> models.Field:
    return Article._meta.get_field(name)


def _field_name(column: str) -> str:
    """``provider_id`` -> ``provider``; other columns are their field's name."""
    for field in Article._meta.concrete_fields:
        if field.attname == column:
            return field.name
    return column


def _column_value(name: str, value: Any) -> Any:
    """The value as the column stores it: a related object becomes its primary key."""
    if isinstance(value, models.Model):
        return value.pk
    return value


def _readable(history: list[ArticleChange]) -> None:
    """Turn stored values into JSON a person can read: providers by name, times in ISO 8601."""
    provider_ids = {
        value
        for change in history
        if change.field == "provider"
        for value in (change.old_value, change.new_value)
        if value is not None
    }
    providers = Provider.objects.in_bulk(provider_ids) if provider_ids else {}
    for change in history:
        if change.field == "provider":
            change.old_value = _provider_name(providers, change.old_value)
            change.new_value = _provider_name(providers, change.new_value)
        else:
            change.old_value = json_safe(change.old_value)
            change.new_value = json_safe(change.new_value)


def _provider_name(providers: dict[int, Provider], provider_id: int | None) -> str | None:
    if provider_id is None:
        return None
    provider = providers.get(provider_id)
    return str(provider) if provider is not None else f"provider #{provider_id}"
