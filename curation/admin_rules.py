"""Rules in the admin: ordered in the list, previewed on stored articles, applied to them.

The matching and what a rule does live in ``curation/rules.py``; this declares the pages.
Editors manage rules (migration 0013 grants the Editors group the rule permissions): a rule
decides published, quality and heat, which is their work. Applying one to stored articles also
needs the permission to change articles.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from . import rules
from .models import Article, Rule


class PublishedChoice(forms.NullBooleanSelect):
    """The rule's "set published" in an editor's words: leave, publish or unpublish."""

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs)
        self.choices = [
            ("unknown", "Leave as the feed says"),
            ("true", "Publish"),
            ("false", "Unpublish"),
        ]


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = [
            "name",
            "enabled",
            "position",
            "providers",
            "topics",
            "categories",
            "types",
            "words",
            "set_published",
            "set_quality",
            "set_heat",
            "mark_for_review",
            "stop_here",
        ]
        widgets = {
            "set_published": PublishedChoice,
            **{
                name: forms.Textarea(attrs={"rows": 3, "cols": 40})
                for name in ("providers", "topics", "categories", "types", "words")
            },
        }


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ["name", "position", "enabled", "when", "then", "stop_here", "preview_link"]
    list_editable = ["position", "enabled"]
    list_display_links = ["name"]
    list_filter = ["enabled"]
    search_fields = ["name"]
    save_on_top = True
    fieldsets = [
        (None, {"fields": ["name", "enabled", "position"]}),
        (
            "When an article matches (every filled condition)",
            {"fields": ["providers", "topics", "categories", "types", "words"]},
        ),
        (
            "Then",
            {
                "fields": [
                    "set_published",
                    "set_quality",
                    "set_heat",
                    "mark_for_review",
                    "stop_here",
                ]
            },
        ),
    ]
    actions = ["enable", "disable"]

    @admin.display(description="When")
    def when(self, obj: Rule) -> str:
        parts = [
            f"{label}: {', '.join(filter(None, map(str.strip, text.splitlines())))}"
            for label, text in (
                ("provider", obj.providers),
                ("topic", obj.topics),
                ("category", obj.categories),
                ("type", obj.types),
                ("words", obj.words),
            )
            if text.strip()
        ]
        return "; ".join(parts) or "every article"

    @admin.display(description="Then")
    def then(self, obj: Rule) -> str:
        words = {True: "publish", False: "unpublish"}
        parts = [
            words[value] if name == "published" else f"{name} {value}"
            for name, value in obj.sets.items()
        ]
        if obj.mark_for_review:
            parts.append("mark for review")
        return ", ".join(parts)

    @admin.display(description="Stored articles")
    def preview_link(self, obj: Rule):
        return format_html(
            '<a href="{}">Preview</a>', reverse("admin:curation_rule_preview", args=[obj.pk])
        )

    @admin.action(description="Enable the selected rules", permissions=["change"])
    def enable(self, request, queryset):
        count = queryset.update(enabled=True)
        self.message_user(request, f"Enabled {count} rule{'s' * (count != 1)}.", messages.SUCCESS)

    @admin.action(description="Disable the selected rules", permissions=["change"])
    def disable(self, request, queryset):
        count = queryset.update(enabled=False)
        self.message_user(request, f"Disabled {count} rule{'s' * (count != 1)}.", messages.SUCCESS)

    # -- preview and apply ---------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/preview/",
                wrap(self.preview_view),
                name="curation_rule_preview",
            ),
            path(
                "<path:object_id>/apply/",
                wrap(require_POST(self.apply_view)),
                name="curation_rule_apply",
            ),
            *super().get_urls(),
        ]

    def _rule(self, request, object_id: str) -> Rule:
        rule = self.get_object(request, unquote(object_id))
        if rule is None:
            raise Http404("No such rule.")
        return rule

    def may_apply(self, request, rule: Rule) -> bool:
        article_admin = self.admin_site.get_model_admin(Article)
        return self.has_change_permission(request, rule) and article_admin.has_change_permission(
            request
        )

    def preview_view(self, request, object_id: str):
        """What applying the rule to the stored articles would change ("would change 37: …"),
        counted exactly, the first ``rules.PREVIEW_LIMIT`` listed. Changes nothing."""
        rule = self._rule(request, object_id)
        if not self.has_view_permission(request, rule):
            raise PermissionDenied
        plan = rules.preview(rule)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Preview: {rule}",
            "rule": rule,
            "plan": plan,
            "limit": rules.PREVIEW_LIMIT,
            "may_apply": self.may_apply(request, rule),
        }
        return TemplateResponse(request, "admin/curation/rule/preview.html", context)

    def apply_view(self, request, object_id: str):
        """Apply the rule to the stored articles (``rules.apply_to_existing``) and say what it
        did, with counts."""
        rule = self._rule(request, object_id)
        if not self.may_apply(request, rule):
            raise PermissionDenied
        outcome = rules.apply_to_existing(rule)
        message = (
            f"Rule “{rule}” matched {outcome.matched} stored article"
            f"{'s' * (outcome.matched != 1)} and changed {outcome.changed}."
        )
        if outcome.queued:
            message += f" {outcome.queued} went back into the review queue."
        if outcome.kept:
            message += (
                f" {outcome.kept} kept a value an editor had set, as a re-import would keep it."
            )
        level = messages.SUCCESS if outcome.changed else messages.WARNING
        self.message_user(request, message, level)
        return HttpResponseRedirect(reverse("admin:curation_rule_preview", args=[rule.pk]))
