"""The editorial admin: curate ``published``, ``quality`` and ``heat`` fast, and keep history.

Who may change what lives here (``get_readonly_fields`` and the ``has_*_permission`` methods);
how a change is written (history rows, version, refusing stale saves) lives in ``editorial.py``.
"""

from __future__ import annotations

import re
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext

from . import admin_desk, admin_rows, admin_schedule, admin_stories, editorial, stories
from .admin_forms import ArticleChangeForm, ArticleChangelistForm, SetValueForm, bulk_form_page
from .models import (
    EDITORIAL_FIELDS,
    HEAVY_FIELDS,
    REVIEWED,
    URL_FIELDS,
    Article,
    ArticleChange,
    ArticleImage,
    ArticleTopic,
    Provider,
    RelatedItem,
    Topic,
    child_count,
    deleting_as,
    is_link_url_q,
)
from .templatetags.feedtext import isolate_text, isolated, shown_value

# What the feed sends, which only superusers may correct by hand.
SOURCE_FIELDS = ("title", "excerpt", "category", "type", "published_at", "provider", *URL_FIELDS)
# What the import and the version counter keep; nobody edits these by hand, not even superusers.
BOOKKEEPING_FIELDS = (
    "key",
    "source_name",
    "imported_at",
    "version",
    "seed_version",
    "edited_since_import",
    "secured_preview",
    "has_front_matter",
    "extra",
    "provider_extra",
    "source_hash",
    "source_shown",
    "created_at",
    "updated_at",
)
# Shown for everyone, computed, never a form field.
DISPLAY_FIELDS = ("topic_list", "image_gallery", "related_coverage")
# The feed's text as editors see it (read-only): isolated, so bidi controls cannot spoof it.
SHOWN_FEED_FIELDS = {
    "title": "title_shown",
    "excerpt": "excerpt_shown",
    "provider": "provider_shown",
}
# Image widths in pixels; heights follow the picture's own proportions.
THUMBNAIL_WIDTH = 64
GALLERY_WIDTH = 160
# However much an article holds (a hostile seed had 40,000 topics), a page shows a bounded part:
# topics per change-list row, entries per list on the change form, choices per filter.
LIST_TOPICS = 5
FORM_LIST_LIMIT = 100
FILTER_CHOICES = 25
# How much of ``secured`` anyone sees, on every page and for every role.
SECURED_SHOWN = 24
# Characters of an old or new value in the "Article changes" list.
CHANGE_VALUE_SHOWN = 120


def secured_preview(secured: str) -> str:
    """The opaque ``secured`` value as editors may see it: its beginning and its length."""
    return f"{Truncator(secured).chars(SECURED_SHOWN)} ({len(secured)} characters)"


# A top-level ``secured:`` key in front matter (quoted or not); its value runs on over the
# indented lines that follow (a block or folded scalar).
_SECURED_KEY = re.compile(r"""^(?:secured|"secured"|'secured')[ \t]*:""")


def source_without_secret(source: str, secured: str) -> str:
    """The seed file's text with the value of its ``secured`` key truncated."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not _SECURED_KEY.match(line):
            out.append(line)
            continue
        stop = index
        while stop < len(lines) and (not lines[stop].strip() or lines[stop][:1] in " \t"):
            stop += 1
        while stop > index and not lines[stop - 1].strip():
            stop -= 1  # blank lines before the next key are layout, not the value
        newline = "\r\n" if line.endswith("\r\n") else "\n"
        out.append(f"secured: {secured_preview(secured)} [hidden]{newline}")
        index = stop
    text = "".join(out)
    # Also wherever the value appears verbatim outside that key (it should not, but).
    if len(secured) > SECURED_SHOWN:
        text = text.replace(secured, secured_preview(secured))
    return text


class MostUsedListFilter(admin.SimpleListFilter):
    """The most used values of a field, not all of them, so the page stays small whatever the
    data holds; the selected value is always listed. Subclasses say how to count and name."""

    template = "admin/curation/article/most_used_filter.html"
    shown = FILTER_CHOICES
    # Where to look up a value not listed (the admin list of providers or topics), if anywhere.
    more_url = ""

    def most_used(self, limit: int) -> list[tuple[str, str]]:
        raise NotImplementedError

    def label(self, value: str) -> str | None:
        return value

    def lookups(self, request, model_admin):
        choices = self.most_used(self.shown + 1)
        self.more = len(choices) > self.shown
        choices = choices[: self.shown]
        selected = self.value()
        if selected is not None and selected not in {value for value, _ in choices}:
            label = self.label(selected)
            if label is not None:
                choices.append((selected, label))
        return sorted(choices, key=lambda choice: choice[1].casefold())

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.parameter_name: self.value()})


class CategoryFilter(MostUsedListFilter):
    title = "category"
    parameter_name = "category__exact"
    field_name = "category"

    def most_used(self, limit):
        counted = (
            Article.objects.order_by()
            .values_list(self.field_name)
            .annotate(n=Count("id"))
            .order_by("-n", self.field_name)[:limit]
        )
        return [(value, value or "(empty)") for value, _ in counted]

    def label(self, value):
        return value or "(empty)"


class TypeFilter(CategoryFilter):
    title = "type"
    parameter_name = "type__exact"
    field_name = "type"


class ProviderFilter(MostUsedListFilter):
    title = "provider"
    parameter_name = "provider__id__exact"

    @property
    def more_url(self) -> str:
        return reverse("admin:curation_provider_changelist")

    def most_used(self, limit):
        counted = (
            Article.objects.filter(provider__isnull=False)
            .order_by()
            .values_list("provider")
            .annotate(n=Count("id"))
            .order_by("-n", "provider")[:limit]
        )
        names = Provider.objects.in_bulk([pk for pk, _ in counted])
        return [(str(pk), str(names[pk])) for pk, _ in counted if pk in names]

    def label(self, value):
        provider = Provider.objects.filter(pk=value).first() if value.isdigit() else None
        return str(provider) if provider is not None else None


class TopicFilter(MostUsedListFilter):
    title = "topic"
    parameter_name = "topics__id__exact"

    @property
    def more_url(self) -> str:
        return reverse("admin:curation_topic_changelist")

    def most_used(self, limit):
        counted = (
            ArticleTopic.objects.order_by()
            .values_list("topic")
            .annotate(n=Count("id"))
            .order_by("-n", "topic")[:limit]
        )
        names = Topic.objects.in_bulk([pk for pk, _ in counted])
        return [(str(pk), names[pk].name) for pk, _ in counted if pk in names]

    def label(self, value):
        topic = Topic.objects.filter(pk=value).first() if value.isdigit() else None
        return topic.name if topic is not None else None


class RangeListFilter(admin.SimpleListFilter):
    """Filter an integer field by named ranges: ``(slug, label, lowest, highest)``.

    ``lowest``/``highest`` may be ``None`` for an open end; the slug ``"none"`` means "not rated"
    (empty, or any of ``unrated_values``).
    """

    field_name = ""
    ranges: tuple[tuple[str, str, int | None, int | None], ...] = ()
    unrated_values: tuple[int, ...] = ()

    def lookups(self, request, model_admin):
        return [(slug, label) for slug, label, _, _ in self.ranges]

    def queryset(self, request, queryset):
        for slug, _, lowest, highest in self.ranges:
            if self.value() == slug:
                return queryset.filter(self._condition(slug, lowest, highest))
        return queryset

    def _condition(self, slug: str, lowest: int | None, highest: int | None) -> Q:
        if slug == "none":
            return Q(**{f"{self.field_name}__isnull": True}) | Q(
                **{f"{self.field_name}__in": self.unrated_values}
            )
        condition = ~Q(**{f"{self.field_name}__in": self.unrated_values})
        if lowest is not None:
            condition &= Q(**{f"{self.field_name}__gte": lowest})
        if highest is not None:
            condition &= Q(**{f"{self.field_name}__lte": highest})
        return condition


class QualityFilter(RangeListFilter):
    title = "quality"
    parameter_name = "quality_range"
    field_name = "quality"
    ranges = (
        ("none", "Not rated", None, None),
        ("low", "Below 25", None, 24),
        ("fair", "25 to 49", 25, 49),
        ("good", "50 to 99", 50, 99),
        ("top", "100 or more", 100, None),
    )


class HeatFilter(RangeListFilter):
    title = "heat"
    parameter_name = "heat_range"
    field_name = "heat"
    unrated_values = (-1,)
    ranges = (
        ("none", "Not rated (empty or -1)", None, None),
        ("cold", "Cold (below 25)", None, 24),
        ("warm", "Warm (25 to 49)", 25, 49),
        ("hot", "Hot (50 to 74)", 50, 74),
        ("burning", "Burning (75 or more)", 75, None),
    )


class ArticleChangeList(ChangeList):
    """The change list leaves the heavy text columns in the database, and fetches a bounded
    part of each row's topics and images (with the number of topics, for "+ N more")."""

    def get_queryset(self, request, exclude_parameters=None):
        first_safe_image = ArticleImage.objects.filter(is_link_url_q("url")).order_by("position")[
            :1
        ]
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .defer(*HEAVY_FIELDS)
            .annotate(topic_count=child_count(ArticleTopic))
            .prefetch_related(
                Prefetch(
                    "topics",
                    queryset=Topic.objects.order_by("articletopic__position")[:LIST_TOPICS],
                    to_attr="first_topics",
                ),
                Prefetch("images", queryset=first_safe_image, to_attr="first_safe_images"),
            )
        )


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleChangeForm
    # The editable columns sit next to the title, so they stay in view on narrow screens.
    list_display = [
        "thumbnail",
        "title_shown",
        "published",
        "quality",
        "heat",
        # The schedule, set from the row too (admin_rows.LIST_TIME_FIELDS).
        "publish_at",
        "unpublish_at",
        "review_state",
        "provider_shown",
        "arrived",
        "published_at",
        "topic_names",
        admin_stories.reports,
    ]
    list_display_links = ["title_shown"]
    list_editable = [*EDITORIAL_FIELDS, *admin_rows.LIST_TIME_FIELDS]
    list_filter = [
        admin_desk.ReviewedFilter,
        admin_desk.ArrivedFilter,
        "published",
        CategoryFilter,
        TypeFilter,
        ProviderFilter,
        TopicFilter,
        QualityFilter,
        HeatFilter,
        admin_stories.OneRowPerStoryFilter,
    ]
    date_hierarchy = "published_at"
    search_fields = ["title", "excerpt", "provider__name"]
    search_help_text = "Title, excerpt or provider name (accents and capitals do not matter)."
    sortable_by = [
        "title_shown",
        "provider_shown",
        "arrived",
        "review_state",
        "published_at",
        "published",
        "quality",
        "heat",
    ]
    # Newest arrivals first, in the queue and in "All articles" (article_arrived and the
    # partial article_review_queue index serve both).
    ordering = ["-created_at", "-id"]
    list_per_page = 100
    show_full_result_count = False
    autocomplete_fields = ["provider"]
    actions = [
        "publish",
        "unpublish",
        "set_quality",
        "set_heat",
        "mark_reviewed",
        "mark_not_reviewed",
        *admin_schedule.ACTIONS,
        *admin_stories.STORY_ACTIONS,
    ]
    save_on_top = True
    fieldsets = [
        ("Editorial", {"fields": [*EDITORIAL_FIELDS, "expected_version", "review_state"]}),
        (
            "Front page: schedule and pin",
            {"fields": ["publish_at", "unpublish_at", "pinned_until", "pin_order"]},
        ),
        (
            "Article (from the feed)",
            {"fields": ["title", "excerpt", "category", "type", "published_at", "provider"]},
        ),
        ("Topics, images and related coverage", {"fields": list(DISPLAY_FIELDS)}),
        ("Links (from the feed)", {"fields": list(URL_FIELDS), "classes": ["collapse"]}),
        ("Body", {"fields": ["body"], "classes": ["collapse"]}),
        ("Source and bookkeeping", {"fields": list(BOOKKEEPING_FIELDS), "classes": ["collapse"]}),
    ]

    # -- querysets ------------------------------------------------------------------------

    def get_queryset(self, request):
        # No prefetching here: the change list fetches bounded parts (ArticleChangeList), the
        # change form's lists their first FORM_LIST_LIMIT entries.
        return super().get_queryset(request).select_related("provider", "reviewed_by", "story")

    def get_search_results(self, request, queryset, search_term):
        # The public search's one definition (accents and case folded, title, excerpt and
        # provider name), not search_fields' icontains, which folds neither.
        return queryset.search(search_term), False

    def get_changelist(self, request, **kwargs):
        return ArticleChangeList

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", ArticleChangelistForm)
        kwargs = {**admin_rows.list_form_options(), **kwargs}
        return super().get_changelist_form(request, **kwargs)

    # -- who may change what --------------------------------------------------------------

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return [*BOOKKEEPING_FIELDS, *DISPLAY_FIELDS, "review_state"]
        return [
            *SOURCE_FIELDS,
            *SHOWN_FEED_FIELDS.values(),
            "body",
            *BOOKKEEPING_FIELDS,
            *DISPLAY_FIELDS,
            "review_state",
        ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not request.user.is_superuser:
            # Read-only feed text is shown isolated (bidi controls stay inside it).
            fieldsets = [
                (title, {**options, "fields": [_shown_as(name) for name in options["fields"]]})
                for title, options in fieldsets
            ]
        if obj is not None and self.has_change_permission(request, obj):
            return fieldsets
        # Nothing to protect on a new article or a view-only page.
        editorial_fields = [name for name in fieldsets[0][1]["fields"] if name in EDITORIAL_FIELDS]
        return [(fieldsets[0][0], {"fields": editorial_fields}), *fieldsets[1:]]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # The page's heading and <title>: plain text, so Unicode's own isolate marks
            # (FSI ... PDI) keep the title's bidi controls inside it.
            context["subtitle"] = isolate_text(obj.title)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def view_on_site(self, obj: Article) -> str:
        """ "View on site": the public page of a published article; the staff-only preview of
        an unpublished one (its public address is a 404 until it is published)."""
        if obj.published:
            return obj.get_absolute_url()
        return reverse("curation:article-preview", kwargs={"key": obj.key})

    # -- saving ---------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            stories.cluster_articles([obj.pk])
            return
        changes = {name: form.cleaned_data[name] for name in form.edited_fields}
        editorial.apply_editorial_changes(
            obj,
            changes,
            user=request.user,
            via=form.via,
            expected_version=form.cleaned_data["expected_version"],
        )
        if stories.CLUSTERED_FIELDS & set(changes):
            stories.cluster_articles([obj.pk])

    # Deleting leaves a tombstone (models.Tombstone) that names who deleted: the admin says who.
    def delete_model(self, request, obj):
        with deleting_as(request.user):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with deleting_as(request.user):
            super().delete_queryset(request, queryset)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except editorial.StaleVersion as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            admin_desk.record_visit(request)  # for "Arrived: since my last visit"
        extra_context = {
            "title": admin_desk.list_title(request),
            "review_views": admin_desk.review_views(request),
            **(extra_context or {}),
        }
        try:
            return super().changelist_view(request, extra_context)
        except editorial.StaleVersion as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_urls(self):
        # One row of the list saved without reloading the page (static/js/desk.js): the same
        # form class, save_model and version check as the list, answering JSON.
        row = path(
            "<path:object_id>/editorial/",
            self.admin_site.admin_view(partial(admin_rows.save_row, model_admin=self)),
            name="curation_article_editorial",
        )
        return [row, *super().get_urls()]

    # -- bulk actions ---------------------------------------------------------------------

    @admin.action(description="Publish selected articles", permissions=["change"])
    def publish(self, request, queryset):
        self._apply_action(request, queryset, "published", True, "{count} published.")

    @admin.action(description="Unpublish selected articles", permissions=["change"])
    def unpublish(self, request, queryset):
        self._apply_action(request, queryset, "published", False, "{count} unpublished.")

    @admin.action(description="Set quality…", permissions=["change"])
    def set_quality(self, request, queryset):
        return self._set_value(request, queryset, "quality")

    @admin.action(description="Set heat…", permissions=["change"])
    def set_heat(self, request, queryset):
        return self._set_value(request, queryset, "heat")

    @admin.action(description="Mark selected articles reviewed", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        self._apply_action(request, queryset, REVIEWED, True, "{count} marked reviewed.")

    @admin.action(
        description="Mark selected articles not reviewed (back into the queue)",
        permissions=["change"],
    )
    def mark_not_reviewed(self, request, queryset):
        self._apply_action(request, queryset, REVIEWED, False, "{count} put back into the queue.")

    def _set_value(self, request, queryset, field_name):
        """Ask for the value on a page of its own, then write it to every selected article."""
        data = request.POST if "apply" in request.POST else None
        form = SetValueForm(data, field_name=field_name)
        if form.is_bound and form.is_valid():
            value = form.cleaned_data["value"]
            done = f"{field_name.capitalize()} set to {value} on {{count}}."
            try:
                self._apply_action(request, queryset, field_name, value, done)
                return None
            except ValidationError as refused:
                form.add_error("value", refused.message_dict.get(field_name, refused.messages))
        count = queryset.count()
        return bulk_form_page(
            self,
            request,
            queryset,
            form["value"],
            template="admin/curation/article/set_value.html",
            count=count,
            title=f"Set {field_name} on {_articles(count)}",
            field_name=field_name,
            help_text=Article._meta.get_field(field_name).help_text,
        )

    def _apply_action(self, request, queryset, field_name, value, done):
        """Write the value, then say how many articles changed: ``done`` has a ``{count}``.

        Both counts come from the write itself: counting the queryset again afterwards would
        re-run its filter ("Published: No" matches none of the articles just published).
        """
        applied = editorial.apply_editorial_changes(
            queryset, {field_name: value}, user=request.user, via=ArticleChange.Via.ACTION
        )
        message = done.format(count=_articles(applied.changed))
        if applied.unchanged == 1:
            message += " 1 already had that value and was left as it was."
        elif applied.unchanged:
            message += f" {applied.unchanged} already had that value and were left as they were."
        level = messages.SUCCESS if applied.changed else messages.WARNING
        self.message_user(request, message, level)

    # -- history --------------------------------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        """Field-by-field history: ``ArticleChange`` rows from forms, the list, actions, imports."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return super().history_view(request, object_id, extra_context)
        changes = obj.changes.select_related("user")
        paginator = self.get_paginator(request, changes, 100)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        may_restore = self.has_change_permission(request, obj)
        for change in page:  # the page keeps these instances for the template
            change.restore = admin_desk.restore_offer(change, obj) if may_restore else None
        context = {
            "field_changes": page,
            "field_changes_page_range": paginator.get_elided_page_range(page.number),
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, context)

    # -- columns and read-only displays ---------------------------------------------------

    @admin.display(description="Arrived", ordering="created_at")
    def arrived(self, obj):
        return admin_desk.when_html(obj.created_at)

    @admin.display(description="Reviewed", ordering="reviewed_at")
    def review_state(self, obj):
        if obj.reviewed_at is None:
            return format_html('<span class="not-reviewed" title="{}">—</span>', "Not reviewed yet")
        who = obj.reviewed_by.get_username() if obj.reviewed_by else "someone"
        return format_html(
            '<span class="reviewed" title="Reviewed by {}, {}">✓ {}</span>',
            who,
            admin_desk.full_time(obj.reviewed_at),
            who,
        )

    @admin.display(description="Image")
    def thumbnail(self, obj):
        image = next(iter(obj.first_safe_images), None)
        if image is None:
            return ""
        return format_html(
            '<img src="{}" alt="" width="{}" loading="lazy" referrerpolicy="no-referrer">',
            image.safe_url,
            THUMBNAIL_WIDTH,
        )

    def action_checkbox(self, obj):
        # Django's, with the title in the row's label isolated (an attribute cannot hold <bdi>).
        label = gettext("Select this object for an action - {}").format(isolate_text(obj.title))
        checkbox = forms.CheckboxInput(
            {"class": "action-select", "aria-label": label}, check_test=lambda value: False
        )
        return checkbox.render(helpers.ACTION_CHECKBOX_NAME, str(obj.pk))

    @admin.display(description="Title", ordering="title")
    def title_shown(self, obj):
        # The list shows two lines of it (static/css/desk.css); the whole title is on hover.
        return format_html(
            '<span class="desk-title" title="{}">{}</span>',
            isolate_text(obj.title),
            isolated(obj.title),
        )

    @admin.display(description="Excerpt")
    def excerpt_shown(self, obj):
        return isolated(obj.excerpt) if obj.excerpt else "—"

    @admin.display(description="Provider", ordering="provider")
    def provider_shown(self, obj):
        return isolated(obj.provider) if obj.provider is not None else "—"

    @admin.display(description="Topics")
    def topic_names(self, obj):
        """The first LIST_TOPICS topics (all ArticleChangeList prefetches), then how many more."""
        shown = obj.first_topics
        names = format_html_join(", ", "{}", ((isolated(topic.name),) for topic in shown))
        more = obj.topic_count - len(shown)
        return format_html("{} + {} more", names, more) if more > 0 else names

    @admin.display(description="Topics (in feed order)")
    def topic_list(self, obj):
        if obj.pk is None:
            return "—"
        rows = ArticleTopic.objects.filter(article=obj).select_related("topic")
        shown = [row.topic.name for row in rows.order_by("position")[:FORM_LIST_LIMIT]]
        if not shown:
            return "—"
        names = format_html_join(", ", "{}", ((isolated(name),) for name in shown))
        return _and_more(names, rows, len(shown))

    @admin.display(description="Images")
    def image_gallery(self, obj):
        if obj.pk is None:
            return "—"
        images = ArticleImage.objects.filter(article=obj)
        items = [
            format_html(
                "{} {} <small>{}</small>",
                _linked_image(image.safe_url, GALLERY_WIDTH),
                isolated(image.title or image.url or "(no URL)"),
                isolated(image.attribution) if image.attribution else "",
            )
            for image in images.order_by("position")[:FORM_LIST_LIMIT]
        ]
        return _and_more(_ordered_list(items), images, len(items))

    @admin.display(description="Related coverage")
    def related_coverage(self, obj):
        if obj.pk is None:
            return "—"
        related = RelatedItem.objects.filter(article=obj)
        items = []
        for item in related.select_related("provider").order_by("position")[:FORM_LIST_LIMIT]:
            image = next(iter(item.safe_images), None)
            title = item.title or "(untitled)"
            items.append(
                format_html(
                    "{} {} <small>{} {}</small>",
                    _linked_image(image["url"] if image else "", THUMBNAIL_WIDTH, item.link),
                    format_html(
                        '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>',
                        item.link,
                        isolated(title),
                    )
                    if item.link
                    else isolated(title),
                    isolated(item.provider) if item.provider else "",
                    item.published_at.date() if item.published_at else "",
                )
            )
        return _and_more(_ordered_list(items), related, len(items))

    @admin.display(description="Secured (opaque, never editable)")
    def secured_preview(self, obj):
        if not obj.secured:
            return "—"
        return secured_preview(obj.secured)

    @admin.display(description="Source text (secured shortened)")
    def source_shown(self, obj):
        if not obj.source_text:
            return "—"
        return format_html(
            '<pre class="source-text">{}</pre>', source_without_secret(obj.source_text, obj.secured)
        )

    @admin.display(description="Edited since import", boolean=True)
    def edited_since_import(self, obj):
        return obj.edited_since_import


def _articles(count: int) -> str:
    return f"{count} article" if count == 1 else f"{count} articles"


def _linked_image(url: str, width: int, link: str = "") -> str:
    """A small image (only http(s) sources), linked to ``link`` or to itself; else nothing."""
    if not url:
        return ""
    return format_html(
        '<a href="{}" rel="noopener noreferrer" target="_blank"><img src="{}" alt="" '
        'width="{}" loading="lazy" referrerpolicy="no-referrer"></a>',
        link or url,
        url,
        width,
    )


def _ordered_list(items: list[str]) -> str:
    if not items:
        return "—"
    return format_html("<ol>{}</ol>", format_html_join("", "<li>{}</li>", ((i,) for i in items)))


def _and_more(shown: str, rows, count: int) -> str:
    """``shown`` (the first ``count`` of ``rows``), then how many were left out, if any."""
    if count < FORM_LIST_LIMIT:
        return shown
    more = rows.count() - count
    return format_html("{} <p>and {} more</p>", shown, more) if more else shown


def _shown_as(name: str) -> str:
    return SHOWN_FEED_FIELDS.get(name, name)


class SharedByArticlesAdmin(admin.ModelAdmin):
    """Providers and topics are shared by many articles and written into each one's seed file.

    Renaming one here would change the export of every article that uses it without raising
    their versions (so the exporter would write the old bytes, and re-import could not tell the
    edit apart): they are corrected in the seed files and re-imported instead.
    """

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Articles")
    def articles_link(self, obj):
        """The article list filtered by this one (how to filter by a value the list's filter
        does not show: it lists only the most used)."""
        return format_html(
            '<a href="{}?{}={}">articles</a>',
            reverse("admin:curation_article_changelist"),
            self.article_filter,
            obj.pk,
        )


@admin.register(Provider)
class ProviderAdmin(SharedByArticlesAdmin):
    """Superusers may add a provider, to correct an article's provider to one not yet known."""

    list_display = ["name", "domain", "articles_link"]
    search_fields = ["name", "domain"]
    article_filter = ProviderFilter.parameter_name


@admin.register(Topic)
class TopicAdmin(SharedByArticlesAdmin):
    list_display = ["name", "articles_link"]
    search_fields = ["name"]
    article_filter = TopicFilter.parameter_name

    def has_add_permission(self, request):
        return False


@admin.register(ArticleChange)
class ArticleChangeAdmin(admin.ModelAdmin):
    """The history is a record: everyone who may see it sees it; nobody edits it."""

    list_display = [
        "changed_at",
        "article_shown",
        "field",
        "old_shown",
        "new_shown",
        "user",
        "via",
        "rule_name",
    ]
    list_filter = ["via", "field"]
    list_select_related = ["article", "user"]
    search_fields = ["article__title", "article__key", "user__username"]
    date_hierarchy = "changed_at"

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*(f"article__{name}" for name in HEAVY_FIELDS))

    # Values read as on the History page and in messages (yes/no, empty: ``shown_value``), and
    # feed text isolated. Shortened: an edited body would fill the page (History shows it all).
    @admin.display(description="Article", ordering="article__title")
    def article_shown(self, obj):
        return isolated(obj.article.title)

    @admin.display(description="Old value")
    def old_shown(self, obj):
        return isolated(Truncator(shown_value(obj.old_value)).chars(CHANGE_VALUE_SHOWN))

    @admin.display(description="New value")
    def new_shown(self, obj):
        return isolated(Truncator(shown_value(obj.new_value)).chars(CHANGE_VALUE_SHOWN))

    def get_list_display(self, request):
        # "Restore" only for those who may change articles (the view checks again).
        article_admin = self.admin_site.get_model_admin(Article)
        if article_admin.has_change_permission(request):
            return [*super().get_list_display(request), "restore_button"]
        return super().get_list_display(request)

    def get_urls(self):
        # Restoring is a new change of the article, so the article's change permission rules
        # it (admin_desk.restore), not this read-only model's.
        restore = path(
            "<int:change_id>/restore/",
            self.admin_site.admin_view(self.restore_view),
            name="curation_articlechange_restore",
        )
        return [restore, *super().get_urls()]

    def restore_view(self, request, change_id):
        return admin_desk.restore(request, change_id, self.admin_site.get_model_admin(Article))

    @admin.display(description="Undo")
    def restore_button(self, obj):
        """A button of the list's own form (the CSRF token is in it) posting to "Restore"."""
        offer = admin_desk.restore_offer(obj, obj.article)
        if offer is None:
            return ""
        return format_html(
            '<button type="submit" class="button" formaction="{}" name="expected_version" '
            'value="{}">{}</button>',
            admin_desk.restore_url(obj, back_to_changes=True),
            obj.article.version,
            offer["label"],
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


import curation.admin_ingest  # noqa: E402, F401  (registers the ingest admin)

from . import admin_rules  # noqa: E402, F401  (registers the rules' admin)
