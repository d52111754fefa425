"""Forms for the article admin: the version an edit starts from, what a save really changes,
and the bulk-action values."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django import forms
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from .editorial import StaleVersion
from .models import EDITORIAL_FIELDS, SCORE_RANGES, Article, ArticleChange, score_validators
from .templatetags.feedtext import shown_value


def as_browser_returns(text: str, *, multiline: bool) -> str:
    """``text`` as a browser hands it back from a form field nobody touched, line breaks as LF.

    The HTML parser reads CR LF and a lone CR as LF and NUL as U+FFFD; a single-line input drops
    line breaks from its value; the form is sent with CR LF line breaks. Both the stored and the
    submitted value go through this before they are compared, so a value shown and sent back
    unchanged compares equal to what is stored, whatever its line endings.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
    return text if multiline else text.replace("\n", "")


def with_line_endings_of(stored: str, submitted: str) -> str:
    """An edited text with the line breaks its stored version uses (CR LF if it used only
    those, else LF), so changing one word of a body does not rewrite every line of it."""
    text = submitted.replace("\r\n", "\n").replace("\r", "\n")
    if "\r\n" in stored and "\n" not in stored.replace("\r\n", ""):
        return text.replace("\n", "\r\n")
    return text


def limit_to_score_range(field: forms.Field, name: str) -> None:
    """Give a form field a score's range: its validators, and min/max for the browser."""
    lowest, highest = SCORE_RANGES[name]
    field.validators.extend(score_validators(name))
    field.widget.attrs.update(min=lowest, max=highest)


class VersionedArticleForm(forms.ModelForm):
    """Carries the article's version as it was when the page was drawn.

    If the article has moved on since, and this form would change it, the form is invalid:
    saving it would overwrite someone else's work. (``editorial.apply_editorial_changes`` checks
    again inside the transaction that writes, for the moment between validating and saving.)
    """

    via = ArticleChange.Via.FORM

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    class Meta:
        model = Article
        fields = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["expected_version"].initial = self.instance.version
        else:
            self.fields["expected_version"].required = False
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField):
                # Feed text is kept as sent: no form may trim what nobody edited.
                field.strip = False
            if name in SCORE_RANGES:
                limit_to_score_range(field, name)

    @cached_property
    def changed_data(self) -> list[str]:
        """The fields whose submitted value differs from the stored one.

        Text is compared as a browser returns it (``as_browser_returns``); every other field by
        its value (``Field.has_changed``: 7 and "7" are equal, a time shown without its
        microseconds and sent back is unchanged).
        """
        return [name for name in self.fields if self._differs(name)]

    def _differs(self, name: str) -> bool:
        bound = self[name]
        field = bound.field
        if isinstance(field, forms.CharField):
            multiline = isinstance(field.widget, forms.Textarea)
            stored = as_browser_returns(bound.initial or "", multiline=multiline)
            return stored != as_browser_returns(bound.data or "", multiline=multiline)
        return field.has_changed(bound.initial, bound.data)

    @property
    def edited_fields(self) -> list[str]:
        """The model fields this form changes (the version it carries is not one of them)."""
        return [name for name in self.changed_data if name != "expected_version"]

    def has_changed(self) -> bool:
        return bool(self.edited_fields)

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.instance.pk is not None:
            self._keep_what_nobody_changed(cleaned)
        expected = cleaned.get("expected_version")
        if (
            self.instance.pk is not None
            and expected is not None
            and expected != self.instance.version
            and self.has_changed()
        ):
            raise forms.ValidationError(stale_refusal(self.instance, expected), code="stale")
        return cleaned

    def clean_title(self) -> str:
        # Not stripped (see __init__), so white space alone must be refused here, as the codec
        # refuses it on import.
        title = self.cleaned_data["title"]
        if not title.strip():
            raise forms.ValidationError("A title needs more than white space.", code="required")
        return title

    def _keep_what_nobody_changed(self, cleaned: dict[str, Any]) -> None:
        """Untouched fields keep their stored value exactly (an error reading them back, such as
        a local time that is ambiguous at a clock change, is no reason to refuse the save);
        edited text keeps the line breaks of the stored text."""
        editable = {f.name for f in Article._meta.fields if f.editable and not f.primary_key}
        for name in self.fields:
            if name not in editable:
                continue  # the version carried, the change list's row id
            stored = getattr(self.instance, name)
            if name not in self.changed_data:
                self.errors.pop(name, None)
                cleaned[name] = stored
            elif isinstance(stored, str) and isinstance(cleaned.get(name), str):
                cleaned[name] = with_line_endings_of(stored, cleaned[name])


def stale_refusal(article: Article, expected: int) -> str:
    """What an editor reads when a save starting from version ``expected`` is refused: the form,
    the list and "Restore" in the history say the same (``article`` as it is now)."""
    now = "; ".join(f"{name} {shown_value(getattr(article, name))}" for name in EDITORIAL_FIELDS)
    return f"{StaleVersion(article, expected, article.version)} It now reads: {now}."


class ArticleChangeForm(VersionedArticleForm):
    via = ArticleChange.Via.FORM


class ArticleChangelistForm(VersionedArticleForm):
    via = ArticleChange.Via.LIST


class SetValueForm(forms.Form):
    """The value a bulk action such as "Set quality…" writes to every selected article."""

    # Required: an empty box submitted by mistake must not wipe hundreds of scores.
    value = forms.IntegerField()

    def __init__(self, *args, field_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit_to_score_range(self.fields["value"], field_name)
        lowest, highest = SCORE_RANGES[field_name]
        self.fields["value"].help_text = f"A whole number from {lowest} to {highest}."


def bulk_form_page(
    model_admin: Any,
    request: Any,
    queryset: Any,
    field: forms.BoundField,
    *,
    template: str,
    count: int,
    **context: Any,
) -> TemplateResponse:
    """A bulk action's own page (``bulk_form.html``): the selected articles, the one field
    to fill, and the hidden inputs that bring the selection back to the action."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "field": field,
            "articles": queryset[:20],
            "count": count,
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            **context,
        },
    )
