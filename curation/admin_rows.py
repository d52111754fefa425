"""Saving one row of the article list without reloading the page (the desk's keyboard script).

The row is validated by the very form class the list's formset uses and written by the admin's
own ``save_model`` (so through ``editorial.apply_editorial_changes``, ``via`` list): the score
ranges, the version check, the history and whatever else a list save does hold here unchanged.
This module only translates between that form and JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from . import editorial
from .models import EDITORIAL_FIELDS, Article

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

# What a row save may carry besides the editorial fields: the version the row was drawn at
# (required), and the CSRF token when it travels in the body rather than in the header.
ROW_META_FIELDS = ("expected_version", "csrfmiddlewaretoken")
# A checkbox sent as text: only these two spellings, so a typo never publishes an article.
BOOLEAN_TEXT = {"true": "true", "false": "false"}


def row_values(article: Article) -> dict[str, Any]:
    """The editorial values of ``article`` as the JSON answer carries them."""
    return {name: getattr(article, name) for name in EDITORIAL_FIELDS}


def _as_form_value(name: str, value: Any) -> str:
    """A stored value as the list's form would send it back untouched."""
    if name == "published":
        return "true" if value else "false"
    return "" if value is None else str(value)


def _refused(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"ok": False, "message": message, **extra}, status=status)


@require_POST
def save_row(request: HttpRequest, object_id: str, *, model_admin: ModelAdmin) -> JsonResponse:
    """``POST`` some of ``published``/``quality``/``heat`` and ``expected_version``.

    Answers 200 with the row's values and version; 409 with the list's stale-save message when
    someone else saved the article since the page was drawn (nothing written); 400 with the
    field's message for a value the list would refuse; 403 without the change permission; 404
    for an article that does not exist (or this user may not see).
    """
    article = model_admin.get_object(request, unquote(object_id))
    if article is None:
        return _refused(404, "This article does not exist (it may have been deleted).")
    if not model_admin.has_change_permission(request, article):
        raise PermissionDenied
    unknown = sorted(set(request.POST) - set(EDITORIAL_FIELDS) - set(ROW_META_FIELDS))
    if unknown:
        allowed = ", ".join(EDITORIAL_FIELDS)
        return _refused(
            400,
            f"Only {allowed} can be saved from the list; not {', '.join(unknown)}.",
            errors={name: ["Not editable from the list."] for name in unknown},
        )
    sent = [name for name in EDITORIAL_FIELDS if name in request.POST]
    if not sent:
        return _refused(400, "Nothing to save: send published, quality or heat.")
    data = {name: _as_form_value(name, getattr(article, name)) for name in EDITORIAL_FIELDS}
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

    # The list's own form class (from its formset), bound to this one row, unprefixed.
    form = model_admin.get_changelist_formset(request).form(data, instance=article)
    if not form.is_valid():
        stale = [e for e in form.non_field_errors().as_data() if e.code == "stale"]
        if stale:
            return _refused(409, stale[0].messages[0], **_now(article, reread=True))
        errors = {name: list(messages) for name, messages in form.errors.items()}
        first = next(iter(errors.values()))[0]
        return _refused(400, first, errors=errors)
    if not form.has_changed():
        return JsonResponse({"ok": True, "changed": [], **_now(article)})
    changed = form.edited_fields
    try:
        model_admin.save_model(request, article, form, change=True)
    except editorial.StaleVersion as refused:
        # Lost a race between validating and writing: refused the same way, nothing written.
        return _refused(409, str(refused), **_now(article, reread=True))
    except ValidationError as refused:
        errors = refused.message_dict
        return _refused(400, next(iter(errors.values()))[0], errors=errors)
    # The list's save also leaves an entry in the admin's "Recent actions"; so does this one.
    model_admin.log_change(
        request, article, model_admin.construct_change_message(request, form, None)
    )
    return JsonResponse({"ok": True, "changed": changed, **_now(article)})


def _now(article: Article, *, reread: bool = False) -> dict[str, Any]:
    """The row's version and values; ``reread`` from the database when the form has already
    copied the refused values onto the instance (a bound model form does, while validating)."""
    if reread:
        article.refresh_from_db(fields=[*EDITORIAL_FIELDS, "version"])
    return {"version": article.version, "values": row_values(article)}
