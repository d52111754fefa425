"""Quality and heat get their one documented range, enforced by the database too.

quality: 0 (poor) to 1000; heat: -1 (not rated), 0 (cold) to 1000; both may be empty.

Rows already out of range are not clamped or emptied (either would lose the value without a
trace): the migration stops before changing anything and names the articles, so someone can set
them in range (the admin's "Set quality…"/"Set heat…" actions record it in the history) and run
``migrate`` again.

On SQLite, adding a check constraint rebuilds ``curation_article``, which drops the full-text
triggers of 0003_full_text_search with the old table; they are created again afterwards, in both
directions.
"""

import importlib

import django.core.validators
from django.core.management.base import CommandError
from django.db import migrations, models

# The ranges as of this migration (curation/seedfile.py holds the current ones).
RANGES = {"quality": (0, 1000), "heat": (-1, 1000)}
SHOWN_KEYS = 20


def _in_range(name: str) -> models.Q:
    lowest, highest = RANGES[name]
    return models.Q(**{f"{name}__isnull": True}) | models.Q(
        **{f"{name}__gte": lowest, f"{name}__lte": highest}
    )


def _message(name: str) -> str:
    lowest, highest = RANGES[name]
    return f"{name.capitalize()} runs from {lowest} to {highest}; %(value)s is outside that range."


def refuse_scores_out_of_range(apps, schema_editor) -> None:
    article = apps.get_model("curation", "Article")
    outside = article.objects.using(schema_editor.connection.alias).exclude(
        _in_range("quality") & _in_range("heat")
    )
    total = outside.count()
    if not total:
        return
    shown = [
        f"{key} (quality {quality}, heat {heat})"
        for key, quality, heat in outside.order_by("key").values_list("key", "quality", "heat")[
            :SHOWN_KEYS
        ]
    ]
    more = f" and {total - len(shown)} more" if total > len(shown) else ""
    ranges = ", ".join(f"{name} {low} to {high}" for name, (low, high) in RANGES.items())
    raise CommandError(
        f"curation.0006_score_ranges: {total} article(s) have a score outside its range "
        f"({ranges}, or empty): {'; '.join(shown)}{more}. Nothing was changed. Set these "
        "scores in range (for example with the admin's “Set quality…” / “Set heat…” actions, "
        "which keep the old value in the history), then run migrate again."
    )


def restore_search_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    search = importlib.import_module("curation.migrations.0003_full_text_search")
    for statement in search.SQLITE_FORWARD:
        schema_editor.execute(statement, params=None)


def _score_field(name: str, help_text: str) -> models.IntegerField:
    validators = [
        django.core.validators.MinValueValidator(RANGES[name][0], message=_message(name)),
        django.core.validators.MaxValueValidator(RANGES[name][1], message=_message(name)),
    ]
    return models.IntegerField(blank=True, null=True, help_text=help_text, validators=validators)


class Migration(migrations.Migration):
    dependencies = [("curation", "0005_child_indexes_and_lz4")]

    operations = [
        migrations.RunPython(refuse_scores_out_of_range, migrations.RunPython.noop),
        # Undoing the constraints rebuilds the table again: restore the triggers after that.
        migrations.RunPython(migrations.RunPython.noop, restore_search_triggers),
        migrations.AlterField(
            model_name="article",
            name="quality",
            field=_score_field(
                "quality",
                "How good the article is, from 0 (poor) to 1000; higher ranks better (the "
                "feed's own scores run to about 200). Empty means not rated.",
            ),
        ),
        migrations.AlterField(
            model_name="article",
            name="heat",
            field=_score_field(
                "heat",
                "How hot the story is right now: 0 is cold, 50 hot, 100 burning, up to 1000 "
                "for the exceptional. -1 (or empty) means not rated.",
            ),
        ),
        *(
            migrations.AddConstraint(
                model_name="article",
                constraint=models.CheckConstraint(
                    condition=_in_range(name),
                    name=f"article_{name}_range",
                    violation_error_message=f"{name.capitalize()} runs from {low} to {high}.",
                ),
            )
            for name, (low, high) in RANGES.items()
        ),
        migrations.RunPython(restore_search_triggers, migrations.RunPython.noop),
    ]
