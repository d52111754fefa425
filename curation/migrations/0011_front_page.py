"""The front page (issue 15): the stored Top stories score, pins and schedules."""

import importlib

from django.db import migrations, models

# rank_for (curation/models.py) for the rows already there, in SQL: at a million articles a
# loop in Python would take minutes. The heat and quality weights are RANK_HEAT_SECONDS and
# RANK_QUALITY_SECONDS as this migration was written.
RANK_SQL = {
    "sqlite": (
        "UPDATE curation_article SET rank = CAST(strftime('%s', CASE WHEN published_at IS NOT "
        "NULL AND published_at < created_at THEN published_at ELSE created_at END) AS INTEGER) "
        "+ COALESCE(heat, 0) * 360 + COALESCE(quality, 0) * 180"
    ),
    "postgresql": (
        "UPDATE curation_article SET rank = CAST(FLOOR(EXTRACT(EPOCH FROM "
        "LEAST(published_at, created_at))) AS bigint) "
        "+ COALESCE(heat, 0) * 360 + COALESCE(quality, 0) * 180"
    ),
}


def rank_existing(apps, schema_editor):
    sql = RANK_SQL.get(schema_editor.connection.vendor)
    if sql is not None:
        schema_editor.execute(sql)


def restore_search_triggers(apps, schema_editor):
    """Adding ``rank`` (NOT NULL with a default) makes SQLite rebuild
    ``curation_article``, which drops the full-text triggers: create them again (migration 0003
    explains; the FTS index itself stays valid, as ids are kept)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    search = importlib.import_module("curation.migrations.0003_full_text_search")
    for statement in search.SQLITE_FORWARD:
        if statement.startswith("CREATE TRIGGER"):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("curation", "0010_stories")]

    operations = [
        migrations.AddField(
            model_name="article",
            name="pin_order",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text=(
                    "Among pinned stories, lower numbers show first (1 is the top); empty: after "
                    "the numbered ones, best ranked first."
                ),
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="pinned_until",
            field=models.DateTimeField(
                blank=True,
                help_text=(
                    "Show this story above the ranking on the front page until this time; the "
                    "pin ends by itself. Empty: not pinned."
                ),
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="publish_at",
            field=models.DateTimeField(
                blank=True,
                help_text=(
                    "If set, a published article appears on the public site only from this time "
                    "on. Empty: as soon as it is published."
                ),
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="rank",
            field=models.BigIntegerField(
                default=0,
                editable=False,
                help_text=(
                    "The Top stories score (see rank_for): newer, hotter and better ranks higher."
                ),
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="unpublish_at",
            field=models.DateTimeField(
                blank=True,
                help_text=(
                    "If set, the article disappears from the public site at this time (it stays "
                    "published here, so clearing this brings it back). Empty: no end."
                ),
                null=True,
            ),
        ),
        migrations.RunPython(rank_existing, migrations.RunPython.noop),
        migrations.RunPython(restore_search_triggers, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("published", True)),
                fields=["-rank", "-id"],
                name="article_public_top",
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("publish_at__isnull", False), ("published", True)),
                fields=["publish_at"],
                name="article_public_publish_at",
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("published", True), ("unpublish_at__isnull", False)),
                fields=["unpublish_at"],
                name="article_public_unpublish_at",
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("pinned_until__isnull", False), ("published", True)),
                fields=["pinned_until"],
                name="article_public_pinned_until",
            ),
        ),
    ]
