"""The front page in the admin: bulk actions that schedule, pin and unpin articles.

Each action asks for a moment on a page of its own, then writes through
``editorial.apply_editorial_changes`` (``via`` bulk action), so the history records every
``publish_at``, ``unpublish_at`` and ``pinned_until`` set, as the change form and the list's row
save do. The schedule itself needs no job: ``Article.objects.published()`` applies it on read.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from . import editorial
from .admin_forms import bulk_form_page
from .models import Article, ArticleChange

# What each action writes: the moment asked for goes to ``field``; ``also`` is written with it.
MOMENT_ACTIONS: dict[str, dict[str, Any]] = {
    "schedule_publication": {
        "field": "publish_at",
        "also": {"published": True},
        "label": "Publish at",
        "done": "{count} scheduled to appear at {moment}.",
    },
    "schedule_unpublication": {
        "field": "unpublish_at",
        "also": {},
        "label": "Take off the site at",
        "done": "{count} scheduled to disappear at {moment}.",
    },
    "pin": {
        "field": "pinned_until",
        "also": {},
        "label": "Pin until",
        "done": "{count} pinned until {moment}.",
    },
}


class MomentForm(forms.Form):
    """The moment a schedule or pin action writes (the site's time zone)."""

    moment = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Date and time in the site's time zone.",
    )

    def clean_moment(self) -> datetime.datetime:
        moment = self.cleaned_data["moment"]
        if moment <= timezone.now():
            raise ValidationError("Choose a moment in the future.")
        return moment


def _articles(count: int) -> str:
    return f"{count} article{'' if count == 1 else 's'}"


def _ask_moment(model_admin, request, queryset, name: str):
    """Ask for the moment on a page of its own, then write it to every selected article."""
    action = MOMENT_ACTIONS[name]
    form = MomentForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        moment = form.cleaned_data["moment"]
        changes = {action["field"]: moment, **action["also"]}
        try:
            applied = editorial.apply_editorial_changes(
                queryset, changes, user=request.user, via=ArticleChange.Via.ACTION
            )
        except ValidationError as refused:
            form.add_error("moment", refused.messages)
        else:
            shown = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
            model_admin.message_user(
                request,
                action["done"].format(count=_articles(applied.changed), moment=shown),
                messages.SUCCESS if applied.changed else messages.WARNING,
            )
            return None
    count = queryset.count()
    return bulk_form_page(
        model_admin,
        request,
        queryset,
        form["moment"],
        template="admin/curation/article/set_moment.html",
        count=count,
        title=f"{action['label']}… ({_articles(count)})",
        label=action["label"],
        help_text=Article._meta.get_field(action["field"]).help_text,
    )


@admin.action(description="Publish at a set time…", permissions=["change"])
def schedule_publication(model_admin, request, queryset):
    return _ask_moment(model_admin, request, queryset, "schedule_publication")


@admin.action(description="Take off the site at a set time…", permissions=["change"])
def schedule_unpublication(model_admin, request, queryset):
    return _ask_moment(model_admin, request, queryset, "schedule_unpublication")


@admin.action(description="Pin on the front page until…", permissions=["change"])
def pin(model_admin, request, queryset):
    return _ask_moment(model_admin, request, queryset, "pin")


@admin.action(description="Unpin from the front page", permissions=["change"])
def unpin(model_admin, request, queryset):
    applied = editorial.apply_editorial_changes(
        queryset, {"pinned_until": None}, user=request.user, via=ArticleChange.Via.ACTION
    )
    model_admin.message_user(
        request,
        f"{_articles(applied.changed)} unpinned.",
        messages.SUCCESS if applied.changed else messages.WARNING,
    )


@admin.action(description="Clear the publication schedule", permissions=["change"])
def clear_schedule(model_admin, request, queryset):
    applied = editorial.apply_editorial_changes(
        queryset,
        {"publish_at": None, "unpublish_at": None},
        user=request.user,
        via=ArticleChange.Via.ACTION,
    )
    model_admin.message_user(
        request,
        f"Schedule cleared on {_articles(applied.changed)}.",
        messages.SUCCESS if applied.changed else messages.WARNING,
    )


ACTIONS = [schedule_publication, schedule_unpublication, clear_schedule, pin, unpin]
