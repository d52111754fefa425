"""Forms for the article admin: the version an edit starts from, and the bulk-action values."""

from __future__ import annotations

from django import forms

from .editorial import StaleVersion
from .models import EDITORIAL_FIELDS, Article, ArticleChange


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

    @property
    def edited_fields(self) -> list[str]:
        """The model fields this form changes (the version it carries is not one of them)."""
        return [name for name in self.changed_data if name != "expected_version"]

    def has_changed(self) -> bool:
        return bool(self.edited_fields)

    def clean(self) -> dict:
        cleaned = super().clean()
        expected = cleaned.get("expected_version")
        if (
            self.instance.pk is not None
            and expected is not None
            and expected != self.instance.version
            and self.has_changed()
        ):
            now = "; ".join(
                f"{name} {_shown(getattr(self.instance, name))}" for name in EDITORIAL_FIELDS
            )
            raise forms.ValidationError(
                f"{StaleVersion(self.instance, expected, self.instance.version)} "
                f"It now reads: {now}.",
                code="stale",
            )
        return cleaned


def _shown(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class ArticleChangeForm(VersionedArticleForm):
    via = ArticleChange.Via.FORM


class ArticleChangelistForm(VersionedArticleForm):
    via = ArticleChange.Via.LIST


class SetValueForm(forms.Form):
    """The value a bulk action such as "Set quality…" writes to every selected article."""

    # Required: an empty box submitted by mistake must not wipe hundreds of scores.
    value = forms.IntegerField(help_text="A whole number.")
