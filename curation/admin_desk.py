"""The editor's desk in the admin: the review queue, arrivals, visits, and restoring a value.

``admin.py`` declares these (filters, columns, URLs); what a review or a restore writes is
``editorial.apply_editorial_changes``'s business, as for every other change.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from . import editorial
from .admin_forms import stale_refusal
from .models import (
    HEAVY_FIELDS,
    REVERTIBLE_FIELDS,
    REVIEWED,
    Article,
    ArticleChange,
    DeskVisit,
)
from .templatetags.feedtext import isolate_text, shown_value

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

# The index page counts the queue up to this many ("more than 10000"), so it stays quick
# after a large import.
QUEUE_COUNT_LIMIT = 10_000


def when_shown(moment: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    """A time as a desk reads it, in the site's time zone: "today 14:02", "yesterday 09:10",
    "2 Dec 14:02" this year, "2 Dec 2023" before."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    today = timezone.localdate(now)
    if local.date() == today:
        return dateformat.format(local, "\\t\\o\\d\\a\\y H:i")
    if local.date() == today - datetime.timedelta(days=1):
        return dateformat.format(local, "\\y\\e\\s\\t\\e\\r\\d\\a\\y H:i")
    if local.year == today.year:
        return dateformat.format(local, "j M H:i")
    return dateformat.format(local, "j M Y")


def full_time(moment: datetime.datetime) -> str:
    """The whole date and time, for a tooltip."""
    return dateformat.format(timezone.localtime(moment), "j M Y H:i T")


def when_html(moment: datetime.datetime | None) -> str:
    """``when_shown`` in a ``<time>`` element carrying the exact moment."""
    if moment is None:
        return "—"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        full_time(moment),
        when_shown(moment),
    )


# -- visits ---------------------------------------------------------------------------------


def record_visit(request: HttpRequest) -> None:
    """The editor opened the article list: note it (``DeskVisit.record``) and keep the end of
    their previous visit for the Arrived filter of this same request."""
    request.desk_previous_visit = DeskVisit.record(request.user)


def previous_visit(request: HttpRequest) -> datetime.datetime | None:
    """When the editor's previous visit to the article list ended (``None`` before any)."""
    if not hasattr(request, "desk_previous_visit"):  # a list save (POST) records no visit
        request.desk_previous_visit = (
            DeskVisit.objects.filter(user=request.user)
            .values_list("previous_visit", flat=True)
            .first()
        )
    return request.desk_previous_visit


# -- filters --------------------------------------------------------------------------------


class ReviewedFilter(admin.SimpleListFilter):
    """The queue is the list's default view: without a ``reviewed`` parameter (a bare URL, a
    filter link from the queue, "Clear all filters") the list shows what nobody has reviewed.
    "All articles" is a choice of its own, so every view has a URL that says what it shows."""

    title = "review"
    parameter_name = "reviewed"
    QUEUE, REVIEWED, ALL = "no", "yes", "all"
    VIEWS = {
        QUEUE: "Not reviewed (the queue)",
        REVIEWED: "Reviewed",
        ALL: "All articles",
    }

    @classmethod
    def view_of(cls, value: str | None) -> str:
        """The view a parameter value asks for; anything unknown is the queue."""
        return value if value in cls.VIEWS else cls.QUEUE

    def lookups(self, request, model_admin):
        return list(self.VIEWS.items())

    def value(self) -> str:
        return self.view_of(super().value())

    def queryset(self, request, queryset):
        view = self.value()
        if view == self.ALL:
            return queryset
        if view == self.REVIEWED:
            return queryset.reviewed()
        return queryset.awaiting_review()

    def choices(self, changelist):
        # Django's first choice ("All") removes the parameter, which here means the queue.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


def review_views(request: HttpRequest) -> list[dict[str, Any]]:
    """The switch above the list: the queue and all articles, the current one marked."""
    current = ReviewedFilter.view_of(request.GET.get(ReviewedFilter.parameter_name))
    return [
        {
            "label": label,
            "query": f"?{ReviewedFilter.parameter_name}={view}",
            "current": view == current,
        }
        for view, label in [(ReviewedFilter.QUEUE, "Queue"), (ReviewedFilter.ALL, "All articles")]
    ]


def list_title(request: HttpRequest) -> str:
    view = ReviewedFilter.view_of(request.GET.get(ReviewedFilter.parameter_name))
    return {
        ReviewedFilter.QUEUE: "Queue: not reviewed yet, newest arrivals first",
        ReviewedFilter.REVIEWED: "Reviewed articles",
        ReviewedFilter.ALL: "All articles",
    }[view]


class ArrivedFilter(admin.SimpleListFilter):
    """When the article reached us (``created_at``), by the site's clock: not the outlet's
    publication date, which the date drill-down above the list uses."""

    title = "arrived"
    parameter_name = "arrived"

    def lookups(self, request, model_admin):
        previous = previous_visit(request)
        visit = (
            f"Since my last visit ({when_shown(previous)})"
            if previous is not None
            else "Since my last visit (first visit: all)"
        )
        return [
            ("today", "Today"),
            ("yesterday", "Since yesterday"),
            ("week", "Last 7 days"),
            ("visit", visit),
        ]

    def queryset(self, request, queryset):
        since = self.since(request, self.value())
        return queryset if since is None else queryset.filter(created_at__gte=since)

    @staticmethod
    def since(request: HttpRequest, choice: str | None) -> datetime.datetime | None:
        """The first moment a choice includes: midnight (local) today, yesterday, or six days
        ago ("last 7 days" is today and the six days before), or the previous visit's end."""
        days_back = {"today": 0, "yesterday": 1, "week": 6}
        if choice in days_back:
            day = timezone.localdate() - datetime.timedelta(days=days_back[choice])
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        if choice == "visit":
            return previous_visit(request)
        return None


# -- the admin index ------------------------------------------------------------------------


def queue_summary() -> dict[str, Any]:
    """How many articles wait for review (bounded), and where the queue is."""
    waiting = Article.objects.awaiting_review().order_by()[: QUEUE_COUNT_LIMIT + 1].count()
    if waiting > QUEUE_COUNT_LIMIT:
        text = f"More than {QUEUE_COUNT_LIMIT} articles wait for review."
    elif waiting == 1:
        text = "1 article waits for review."
    else:
        text = f"{waiting or 'No'} articles wait for review."
    url = reverse("admin:curation_article_changelist")
    return {"count": waiting, "text": text, "url": f"{url}?{ReviewedFilter.parameter_name}=no"}


# -- restoring a value from the history -------------------------------------------------------


def current_value(article: Article, field: str) -> Any:
    return article.reviewed if field == REVIEWED else getattr(article, field)


def restorable(change: ArticleChange) -> bool:
    """An editorial field's entry whose old value that field can hold again."""
    if change.field not in REVERTIBLE_FIELDS:
        return False
    value = change.old_value
    if change.field in ("published", REVIEWED):
        return isinstance(value, bool)
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def restore_label(change: ArticleChange) -> str:
    return f"Restore {change.field}: {shown_value(change.old_value)}"


def restore_url(change: ArticleChange, *, back_to_changes: bool = False) -> str:
    url = reverse("admin:curation_articlechange_restore", args=[change.pk])
    return f"{url}?return=changes" if back_to_changes else url


def restore_offer(change: ArticleChange, article: Article) -> dict[str, str] | None:
    """What a history row offers: a "Restore" button, unless the value is already current."""
    if not restorable(change) or current_value(article, change.field) == change.old_value:
        return None
    return {"label": restore_label(change), "url": restore_url(change)}


@require_POST
def restore(request: HttpRequest, change_id: int, article_admin: ModelAdmin) -> HttpResponse:
    """Set a field back to the old value of one of its history entries: a new change through
    ``apply_editorial_changes`` (``via`` "restored from history"), refused like a stale form
    when the article moved on from the version the page showed (``expected_version``).
    Back to the article's history afterwards, or to "Article changes" (``?return=changes``)."""
    change = get_object_or_404(
        ArticleChange.objects.select_related("article").defer(
            *(f"article__{name}" for name in HEAVY_FIELDS)
        ),
        pk=change_id,
    )
    article = change.article
    if not article_admin.has_change_permission(request, article):
        raise PermissionDenied
    if request.GET.get("return") == "changes":
        back_url = reverse("admin:curation_articlechange_changelist")
    else:
        back_url = reverse("admin:curation_article_history", args=[article.pk])
    if not restorable(change):
        messages.error(request, f"A change of {change.field} cannot be restored here.")
        return HttpResponseRedirect(back_url)
    try:
        expected = int(request.POST["expected_version"])
    except (KeyError, ValueError):
        messages.error(request, "Nothing was restored: reload the page and try again.")
        return HttpResponseRedirect(back_url)
    value = change.old_value
    try:
        applied = editorial.apply_editorial_changes(
            article,
            {change.field: value},
            user=request.user,
            via=ArticleChange.Via.REVERT,
            expected_version=expected,
        )
    except editorial.StaleVersion:
        article.refresh_from_db()
        messages.error(request, stale_refusal(article, expected))
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        shown = f"{change.field} {shown_value(value)}"
        title = isolate_text(article.title)
        if applied.changed:
            messages.success(request, f"Restored {shown} on “{title}”.")
        else:
            messages.warning(request, f"“{title}” already had {shown}; nothing changed.")
    return HttpResponseRedirect(back_url)
