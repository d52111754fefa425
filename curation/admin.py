"""The editorial admin: curate ``published``, ``quality`` and ``heat`` fast, and keep history.

Who may change what lives here (``get_readonly_fields`` and the ``has_*_permission`` methods);
how a change is written (history rows, version, refusing stale saves) lives in ``editorial.py``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.db.models import Prefetch, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from . import editorial
from .admin_forms import ArticleChangeForm, ArticleChangelistForm, SetValueForm
from .models import (
    EDITORIAL_FIELDS,
    URL_FIELDS,
    Article,
    ArticleChange,
    ArticleImage,
    Provider,
    Topic,
)

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
    "source_text",
    "created_at",
    "updated_at",
)
# Shown for everyone, computed, never a form field.
DISPLAY_FIELDS = ("topic_list", "image_gallery", "related_coverage")
# Image widths in pixels; heights follow the picture's own proportions.
THUMBNAIL_WIDTH = 64
GALLERY_WIDTH = 160


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
    """The change list leaves the heavy text columns in the database."""

    def get_queryset(self, request, exclude_parameters=None):
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .defer("source_text", "body", "secured", "extra", "provider_extra")
        )


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleChangeForm
    # The editable columns sit next to the title, so they stay in view on narrow screens.
    list_display = [
        "thumbnail",
        "title",
        "published",
        "quality",
        "heat",
        "provider",
        "published_at",
        "topic_names",
    ]
    list_display_links = ["title"]
    list_editable = list(EDITORIAL_FIELDS)
    list_filter = [
        "published",
        "category",
        "type",
        ("provider", admin.RelatedOnlyFieldListFilter),
        "topics",
        QualityFilter,
        HeatFilter,
    ]
    date_hierarchy = "published_at"
    search_fields = ["title", "excerpt", "provider__name"]
    search_help_text = "Title, excerpt or provider name."
    sortable_by = ["title", "provider", "published_at", "published", "quality", "heat"]
    list_per_page = 100
    show_full_result_count = False
    autocomplete_fields = ["provider"]
    actions = ["publish", "unpublish", "set_quality", "set_heat"]
    save_on_top = True
    fieldsets = [
        ("Editorial", {"fields": [*EDITORIAL_FIELDS, "expected_version"]}),
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
        return (
            super()
            .get_queryset(request)
            .select_related("provider")
            .prefetch_related(
                Prefetch("topics", queryset=Topic.objects.order_by("articletopic__position")),
                Prefetch("images", queryset=ArticleImage.objects.order_by("position")),
            )
        )

    def get_changelist(self, request, **kwargs):
        return ArticleChangeList

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", ArticleChangelistForm)
        return super().get_changelist_form(request, **kwargs)

    # -- who may change what --------------------------------------------------------------

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return [*BOOKKEEPING_FIELDS, *DISPLAY_FIELDS]
        return [*SOURCE_FIELDS, "body", *BOOKKEEPING_FIELDS, *DISPLAY_FIELDS]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and self.has_change_permission(request, obj):
            return fieldsets
        # Nothing to protect on a new article or a view-only page.
        editorial_fields = [name for name in fieldsets[0][1]["fields"] if name in EDITORIAL_FIELDS]
        return [(fieldsets[0][0], {"fields": editorial_fields}), *fieldsets[1:]]

    # -- saving ---------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        changes = {name: form.cleaned_data[name] for name in form.edited_fields}
        editorial.apply_editorial_changes(
            obj,
            changes,
            user=request.user,
            via=form.via,
            expected_version=form.cleaned_data["expected_version"],
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except editorial.StaleVersion as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except editorial.StaleVersion as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

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

    def _set_value(self, request, queryset, field_name):
        """Ask for the value on a page of its own, then write it to every selected article."""
        form = SetValueForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            value = form.cleaned_data["value"]
            done = f"{field_name.capitalize()} set to {value} on {{count}}."
            self._apply_action(request, queryset, field_name, value, done)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set {field_name} on {_articles(queryset.count())}",
            "opts": self.opts,
            "form": form,
            "field_name": field_name,
            "help_text": Article._meta.get_field(field_name).help_text,
            "articles": queryset[:20],
            "count": queryset.count(),
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/curation/article/set_value.html", context)

    def _apply_action(self, request, queryset, field_name, value, done):
        """Write the value, then say how many articles changed: ``done`` has a ``{count}``."""
        changed = editorial.apply_editorial_changes(
            queryset, {field_name: value}, user=request.user, via=ArticleChange.Via.ACTION
        )
        message = done.format(count=_articles(changed))
        unchanged = queryset.count() - changed
        if unchanged == 1:
            message += " 1 already had that value and was left as it was."
        elif unchanged:
            message += f" {unchanged} already had that value and were left as they were."
        self.message_user(request, message, messages.SUCCESS if changed else messages.WARNING)

    # -- history --------------------------------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        """Field-by-field history: ``ArticleChange`` rows from forms, the list, actions, imports."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return super().history_view(request, object_id, extra_context)
        changes = obj.changes.select_related("user")
        paginator = self.get_paginator(request, changes, 100)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        context = {
            "field_changes": page,
            "field_changes_page_range": paginator.get_elided_page_range(page.number),
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, context)

    # -- columns and read-only displays ---------------------------------------------------

    @admin.display(description="Image")
    def thumbnail(self, obj):
        image = next((image for image in obj.images.all() if image.safe_url), None)
        if image is None:
            return ""
        return format_html(
            '<img src="{}" alt="" width="{}" loading="lazy" referrerpolicy="no-referrer">',
            image.safe_url,
            THUMBNAIL_WIDTH,
        )

    @admin.display(description="Topics")
    def topic_names(self, obj):
        return ", ".join(topic.name for topic in obj.topics.all())

    @admin.display(description="Topics (in feed order)")
    def topic_list(self, obj):
        return self.topic_names(obj) or "—"

    @admin.display(description="Images")
    def image_gallery(self, obj):
        items = [
            format_html(
                "{} {} <small>{}</small>",
                _linked_image(image.safe_url, GALLERY_WIDTH),
                image.title or image.url or "(no URL)",
                image.attribution,
            )
            for image in obj.images.all()
        ]
        return _ordered_list(items)

    @admin.display(description="Related coverage")
    def related_coverage(self, obj):
        items = []
        for item in obj.related_items.select_related("provider").order_by("position"):
            image = next(iter(item.safe_images), None)
            title = item.title or "(untitled)"
            items.append(
                format_html(
                    "{} {} <small>{} {}</small>",
                    _linked_image(image["url"] if image else "", THUMBNAIL_WIDTH, item.link),
                    format_html(
                        '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>',
                        item.link,
                        title,
                    )
                    if item.link
                    else title,
                    item.provider or "",
                    item.published_at.date() if item.published_at else "",
                )
            )
        return _ordered_list(items)

    @admin.display(description="Secured (opaque, never editable)")
    def secured_preview(self, obj):
        if not obj.secured:
            return "—"
        return f"{Truncator(obj.secured).chars(24)} ({len(obj.secured)} characters)"

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


@admin.register(Provider)
class ProviderAdmin(SharedByArticlesAdmin):
    """Superusers may add a provider, to correct an article's provider to one not yet known."""

    list_display = ["name", "domain"]
    search_fields = ["name", "domain"]


@admin.register(Topic)
class TopicAdmin(SharedByArticlesAdmin):
    list_display = ["name"]
    search_fields = ["name"]

    def has_add_permission(self, request):
        return False


@admin.register(ArticleChange)
class ArticleChangeAdmin(admin.ModelAdmin):
    """The history is a record: everyone who may see it sees it; nobody edits it."""

    list_display = ["changed_at", "article", "field", "old_value", "new_value", "user", "via"]
    list_filter = ["via", "field"]
    list_select_related = ["article", "user"]
    search_fields = ["article__title", "article__key", "user__username"]
    date_hierarchy = "changed_at"

    def get_queryset(self, request):
        heavy = ("source_text", "body", "secured", "extra", "provider_extra")
        return super().get_queryset(request).defer(*(f"article__{name}" for name in heavy))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
