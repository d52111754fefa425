"""Saving one row of the article list without reloading the page (the desk's keyboard script).

The row is validated by the very form class the list's formset uses and written by the admin's
own ``save_model`` (so through ``editorial.apply_editorial_changes``, ``via`` list): the score
ranges, the version check, the history and whatever else a list save does hold here unchanged.
This module only translates between that form and JSON.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import modelform_factory
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import editorial
from .models import EDITORIAL_FIELDS, Article

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

# The front page's schedule and pin, saved from a row too (ISO 8601 times; empty clears one).
FRONT_PAGE_FIELDS = ("publish_at", "unpublish_at", "pinned_until", "pin_order")
ROW_FIELDS = (*EDITORIAL_FIELDS, *FRONT_PAGE_FIELDS)
# The ones the list shows as inputs (``ArticleAdmin.list_editable``), each a browser's own date
# and time picker. The pin (until, order) is set on the form and by the "Pin…" bulk action: its
# columns would not fit beside the rest at 1366 px.
LIST_TIME_FIELDS = ("publish_at", "unpublish_at")
# What a row save may carry besides the editorial fields: the version the row was drawn at
# (required), and the CSRF token when it travels in the body rather than in the header.
ROW_META_FIELDS = ("expected_version", "csrfmiddlewaretoken")
# A checkbox sent as text: only these two spellings, so a typo never publishes an article.
BOOLEAN_TEXT = {"true": "true", "false": "false"}


class LocalDateTimeInput(forms.DateTimeInput):
    """The browser's date and time picker (``datetime-local``), in the editor's time zone (the
    current one: ``TIME_ZONE``), its value written as browsers normalise it (seconds only when
    there are some), so a time drawn and sent back untouched compares equal."""

    input_type = "datetime-local"

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, datetime.datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S" if value.second else "%Y-%m-%dT%H:%M")
        return super().format_value(value)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        # Which clock the naive value is read on, for the editor who works elsewhere.
        context["widget"]["attrs"].setdefault(
            "title", f"Time zone: {timezone.get_current_timezone_name()}"
        )
        return context


def list_form_options() -> dict[str, Any]:
    """What ``ArticleAdmin.get_changelist_form`` passes on: the list's time inputs (plain
    fields, not the admin's split date and time). The row save's form inherits them."""
    return {
        # Labelled: the desk shows both in one column (static/js/desk.js).
        "widgets": {
            name: LocalDateTimeInput(attrs={"aria-label": name.replace("_", " ").capitalize()})
            for name in LIST_TIME_FIELDS
        },
        "field_classes": dict.fromkeys(LIST_TIME_FIELDS, forms.DateTimeField),
    }


def shown_in_list(value: Any) -> str:
    """A stored time as the list's input shows it (the editor's time zone); empty for none."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).replace(microsecond=0)
        return LocalDateTimeInput().format_value(value) or ""
    return str(value)


def row_values(article: Article, front_page: tuple[str, ...] = ()) -> dict[str, Any]:
    """The editorial values of ``article`` as the JSON answer carries them, and those of the
    schedule and pin fields named in ``front_page`` (the ones the save sent)."""
    return {name: getattr(article, name) for name in (*EDITORIAL_FIELDS, *front_page)}


def _as_form_value(name: str, value: Any) -> str:
    """A stored value as the list's form would send it back untouched."""
    if name == "published":
        return "true" if value else "false"
    return shown_in_list(value)


def _refused(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"ok": False, "message": message, **extra}, status=status)


@require_POST
def save_row(request: HttpRequest, object_id: str, *, model_admin: ModelAdmin) -> JsonResponse:
    """``POST`` some of ``published``/``quality``/``heat`` (and of the schedule and pin,
    ``FRONT_PAGE_FIELDS``) and ``expected_version``.

    Answers 200 with the row's values and version (and, under ``shown``, the schedule and pin
    fields sent as the list's inputs show them); 409 with the list's stale-save message when
    someone else saved the article since the page was drawn (nothing written); 400 with the
    field's message for a value the list would refuse; 403 without the change permission; 404
    for an article that does not exist (or this user may not see).
    """
    article = model_admin.get_object(request, unquote(object_id))
    if article is None:
        return _refused(404, "This article does not exist (it may have been deleted).")
    if not model_admin.has_change_permission(request, article):
        raise PermissionDenied
    unknown = sorted(set(request.POST) - set(ROW_FIELDS) - set(ROW_META_FIELDS))
    if unknown:
        allowed = ", ".join(ROW_FIELDS)
        return _refused(
            400,
            f"Only {allowed} can be saved from the list; not {', '.join(unknown)}.",
            errors={name: ["Not editable from the list."] for name in unknown},
        )
    sent = [name for name in ROW_FIELDS if name in request.POST]
    if not sent:
        return _refused(400, f"Nothing to save: send one of {', '.join(ROW_FIELDS)}.")
    data = {name: _as_form_value(name, getattr(article, name)) for name in ROW_FIELDS}
    for name in sent:
        value = request.POST[name]
        if name == "published":
            if value.lower() not in BOOLEAN_TEXT:
                return _refused(
                    400,
                    "Published is true or false.",
                    errors={"published": ["Published is true or false."]},
                )
            value = BOOLEAN_TEXT[value.lower()]
        data[name] = value
    data["expected_version"] = request.POST.get("expected_version", "")

    # The list's own form class (from its formset), with the schedule and pin fields added,
    # bound to this one row, unprefixed.
    row_form = modelform_factory(
        Article,
        form=model_admin.get_changelist_formset(request).form,
        fields=ROW_FIELDS,
        # Plain fields (one ISO 8601 value per time), not the admin's split date and time.
        formfield_callback=lambda field, **kwargs: field.formfield(**kwargs),
    )
    form = row_form(data, instance=article)
    if not form.is_valid():
        stale = [e for e in form.non_field_errors().as_data() if e.code == "stale"]
        if stale:
            return _refused(409, stale[0].messages[0], **_now(article, sent, reread=True))
        errors = {name: list(messages) for name, messages in form.errors.items()}
        first = next(iter(errors.values()))[0]
        return _refused(400, first, errors=errors)
    if not form.has_changed():
        return JsonResponse({"ok": True, "changed": [], **_now(article, sent)})
    changed = form.edited_fields
    try:
        model_admin.save_model(request, article, form, change=True)
    except editorial.StaleVersion as refused:
        # Lost a race between validating and writing: refused the same way, nothing written.
        return _refused(409, str(refused), **_now(article, sent, reread=True))
    except ValidationError as refused:
        errors = refused.message_dict
        return _refused(400, next(iter(errors.values()))[0], errors=errors)
    # The list's save also leaves an entry in the admin's "Recent actions"; so does this one.
    model_admin.log_change(
        request, article, model_admin.construct_change_message(request, form, None)
    )
    return JsonResponse({"ok": True, "changed": changed, **_now(article, sent)})


def _now(article: Article, sent: list[str], *, reread: bool = False) -> dict[str, Any]:
    """The row's version and values; ``reread`` from the database when the form has already
    copied the refused values onto the instance (a bound model form does, while validating)."""
    if reread:
        article.refresh_from_db(fields=[*ROW_FIELDS, "version"])
    front_page = tuple(name for name in FRONT_PAGE_FIELDS if name in sent)
    answer = {"version": article.version, "values": row_values(article, front_page)}
    if front_page:
        answer["shown"] = {name: shown_in_list(getattr(article, name)) for name in front_page}
    return answer
