"""Stories in the admin: the story list, and what editors decide about stories from the article
list (one row per story, the number of reports, and actions on whole stories).

Every decision goes through ``curation/stories.py`` (split, merge, lead), which records it in
the history and keeps it as a ``StoryDecision``; publishing whole stories goes through
``editorial.apply_editorial_changes`` like every other bulk action.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from . import editorial, stories
from .models import Article, ArticleChange, Story


def _articles(count: int) -> str:
    return f"{count} article{'' if count == 1 else 's'}"


class OneRowPerStoryFilter(admin.SimpleListFilter):
    """Each story once, as its lead (articles without a story stay as they are)."""

    title = "stories"
    parameter_name = "stories"

    def lookups(self, request, model_admin):
        return [("one", "One row per story")]

    def queryset(self, request, queryset):
        if self.value() == "one":
            return queryset.filter(Q(story__isnull=True) | Q(story_rank=0))
        return queryset


@admin.display(description="Reports")
def reports(obj: Article) -> str:
    """How many articles report the row's story, linked to the story's page."""
    if not obj.story_id:
        return "1"
    url = reverse("admin:curation_story_change", args=[obj.story_id])
    return format_html('<a href="{}">{}</a>', url, obj.story.size)


def _whole_stories(queryset):
    """The selected articles and every other copy of their stories."""
    selected = list(queryset.order_by().values_list("pk", "story_id"))
    ids = [pk for pk, _ in selected]
    story_ids = {story_id for _, story_id in selected if story_id}
    return Article.objects.filter(Q(pk__in=ids) | Q(story_id__in=story_ids))


def _set_published(modeladmin, request, queryset, value: bool, verb: str) -> None:
    applied = editorial.apply_editorial_changes(
        _whole_stories(queryset),
        {"published": value},
        user=request.user,
        via=ArticleChange.Via.ACTION,
    )
    message = f"{_articles(applied.changed)} {verb}, whole stories included."
    if applied.unchanged:
        message += f" {applied.unchanged} already had that value and were left as they were."
    level = messages.SUCCESS if applied.changed else messages.WARNING
    modeladmin.message_user(request, message, level)


@admin.action(description="Publish whole stories (every copy)", permissions=["change"])
def publish_stories(modeladmin, request, queryset):
    _set_published(modeladmin, request, queryset, True, "published")


@admin.action(description="Unpublish whole stories (every copy)", permissions=["change"])
def unpublish_stories(modeladmin, request, queryset):
    _set_published(modeladmin, request, queryset, False, "unpublished")


@admin.action(description="Split selected copies off their stories", permissions=["change"])
def split_off(modeladmin, request, queryset):
    done = 0
    for pk in queryset.filter(story__isnull=False).values_list("pk", flat=True):
        stories.split(Article(pk=pk), user=request.user)
        done += 1
    if done:
        modeladmin.message_user(request, f"{_articles(done)} split off their stories.")
    else:
        modeladmin.message_user(request, "None of them was in a story.", messages.WARNING)


@admin.action(description="Merge the stories of selected articles", permissions=["change"])
def merge_stories(modeladmin, request, queryset):
    chosen = {story_id or -pk for pk, story_id in queryset.order_by().values_list("pk", "story_id")}
    story = stories.merge(sorted(chosen, reverse=True), user=request.user)
    if story is None:
        modeladmin.message_user(request, "Select articles of two stories or more.", messages.ERROR)
        return
    modeladmin.message_user(request, f"Merged into one story of {_articles(story.size)}.")


@admin.action(description="Make the selected copy its story's lead", permissions=["change"])
def make_lead(modeladmin, request, queryset):
    articles = list(queryset.filter(story__isnull=False)[:2])
    if len(articles) != 1:
        modeladmin.message_user(request, "Select one article of a story.", messages.ERROR)
        return
    stories.choose_lead(articles[0], user=request.user)
    modeladmin.message_user(request, f"“{articles[0]}” now leads its story.")


STORY_ACTIONS = [publish_stories, unpublish_stories, split_off, merge_stories, make_lead]


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    """Stories are made by clustering: editors read them here and decide on the article list."""

    list_display = ["lead_title", "size", "decided", "updated_at"]
    list_select_related = ["lead", "lead__provider"]
    readonly_fields = ["lead_title", "size", "decided", "members", "updated_at"]
    fields = readonly_fields
    ordering = ["-updated_at", "-id"]
    list_per_page = 100
    show_full_result_count = False
    search_fields = ["lead__title"]
    actions = ["merge"]

    # Stories follow the articles' permissions: whoever may change articles may decide.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("curation.view_article") or self.has_change_permission(
            request, obj
        )

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("curation.change_article")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Lead", ordering="lead__title")
    def lead_title(self, obj: Story) -> str:
        if obj.lead is None:
            return "(no lead)"
        provider = f" ({obj.lead.provider})" if obj.lead.provider else ""
        return f"{obj.lead.title}{provider}"

    @admin.display(description="Editors decided", boolean=True)
    def decided(self, obj: Story) -> bool:
        return obj.decision_id is not None

    @admin.display(description="Reports, in rank order")
    def members(self, obj: Story) -> str:
        rows = (
            obj.articles.order_by("story_rank")
            .select_related("provider")
            .only("key", "title", "published", "story_rank", "story_reason", "provider__name")
        )
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a> — {} · {} · {}</li>',
                (
                    (
                        reverse("admin:curation_article_change", args=[article.pk]),
                        article.title,
                        article.provider or "no provider",
                        article.get_story_reason_display() or "lead",
                        "published" if article.published else "not published",
                    )
                    for article in rows
                ),
            ),
        )

    @admin.action(description="Merge selected stories", permissions=["change"])
    def merge(self, request, queryset):
        story = stories.merge(list(queryset.values_list("pk", flat=True)), user=request.user)
        if story is None:
            self.message_user(request, "Select two stories or more.", messages.ERROR)
            return
        self.message_user(request, f"Merged into one story of {_articles(story.size)}.")
