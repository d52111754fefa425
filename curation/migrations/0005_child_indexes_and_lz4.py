"""Faster imports: fewer indexes on the children, cheaper compression of the source text.

- The children's foreign keys lose their own indexes: the ``(article, position)`` unique
  constraints (and ArticleTopic's ``(topic, article)`` index) lead with the same column. On
  SQLite, Django rebuilds the three child tables to drop them (``curation_article`` and its
  full-text triggers are untouched).
- PostgreSQL: ``source_text`` and ``body`` (kilobytes each, stored out of line) are compressed
  with lz4 instead of pglz, which costs the server less per imported file and per export. A
  server built without lz4 keeps pglz. Values already stored keep their compression until they
  are next written.
"""

import django.db.models.deletion
from django.db import migrations, models

LZ4_COLUMNS = ("source_text", "body")


def _set_compression(schema_editor, method: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    columns = ", ".join(f"ALTER COLUMN {name} SET COMPRESSION {method}" for name in LZ4_COLUMNS)
    schema_editor.execute(
        "DO $$ BEGIN "
        f"ALTER TABLE curation_article {columns}; "
        "EXCEPTION WHEN feature_not_supported THEN "
        f"RAISE NOTICE 'this PostgreSQL cannot compress with {method}; keeping the default'; "
        "END $$",
        params=None,
    )


def compress_with_lz4(apps, schema_editor) -> None:
    _set_compression(schema_editor, "lz4")


def compress_by_default(apps, schema_editor) -> None:
    _set_compression(schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [("curation", "0004_public_list_indexes")]

    operations = [
        migrations.AlterField(
            model_name="articleimage",
            name="article",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="images",
                to="curation.article",
            ),
        ),
        migrations.AlterField(
            model_name="articletopic",
            name="article",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, to="curation.article"
            ),
        ),
        migrations.AlterField(
            model_name="articletopic",
            name="topic",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, to="curation.topic"
            ),
        ),
        migrations.AlterField(
            model_name="relateditem",
            name="article",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="related_items",
                to="curation.article",
            ),
        ),
        migrations.RunPython(compress_with_lz4, compress_by_default, elidable=False),
    ]
