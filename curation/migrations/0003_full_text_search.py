"""Full-text search over article titles and excerpts (``ArticleQuerySet.search``).

SQLite: an external-content FTS5 table ``curation_article_fts`` over ``curation_article(title,
excerpt)``, kept in sync by triggers on insert, update and delete, so imports (raw inserts too)
and admin edits are searchable at once. PostgreSQL: a stored generated ``tsvector`` column
``search_vector`` (not in the Django model: nothing but ``search()`` reads it) with a GIN index,
both maintained by PostgreSQL itself.

Note for later migrations on SQLite: when Django has to rebuild ``curation_article`` (it copies
the table, drops the old one and renames the copy), the triggers are dropped with the old table.
Such a migration must create the triggers again afterwards (``SQLITE_FORWARD`` here); ids are
kept, so the index itself stays valid. On PostgreSQL, changing the type of ``title`` or ``excerpt`` needs
``search_vector`` dropped first and added again afterwards (``POSTGRES_FORWARD`` here).
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS curation_article_fts USING fts5("
    "title, excerpt, content='curation_article', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO curation_article_fts(curation_article_fts) VALUES ('rebuild')",
    "CREATE TRIGGER IF NOT EXISTS curation_article_fts_insert AFTER INSERT ON curation_article "
    "BEGIN "
    "INSERT INTO curation_article_fts(rowid, title, excerpt) VALUES (new.id, new.title, new.excerpt); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS curation_article_fts_delete AFTER DELETE ON curation_article "
    "BEGIN "
    "INSERT INTO curation_article_fts(curation_article_fts, rowid, title, excerpt) "
    "VALUES ('delete', old.id, old.title, old.excerpt); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS curation_article_fts_update "
    "AFTER UPDATE OF id, title, excerpt ON curation_article "
    "BEGIN "
    "INSERT INTO curation_article_fts(curation_article_fts, rowid, title, excerpt) "
    "VALUES ('delete', old.id, old.title, old.excerpt); "
    "INSERT INTO curation_article_fts(rowid, title, excerpt) VALUES (new.id, new.title, new.excerpt); "
    "END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS curation_article_fts_update",
    "DROP TRIGGER IF EXISTS curation_article_fts_delete",
    "DROP TRIGGER IF EXISTS curation_article_fts_insert",
    "DROP TABLE IF EXISTS curation_article_fts",
]
# A stored generated column, not an expression index: a common word matches a third of a large
# table, and PostgreSQL then scans it, parsing every title and excerpt again (tens of seconds
# at a million rows) unless the vector is stored. ArticleQuerySet.search() queries the column.
POSTGRES_FORWARD = [
    "ALTER TABLE curation_article ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, "
    "coalesce(title, '') || ' ' || coalesce(excerpt, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS article_search_vector ON curation_article "
    "USING gin (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS article_search_vector",
    "ALTER TABLE curation_article DROP COLUMN IF EXISTS search_vector",
]

STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
    "postgresql": (POSTGRES_FORWARD, POSTGRES_BACKWARD),
}


def _run(schema_editor, which: int) -> None:
    for statement in STATEMENTS.get(schema_editor.connection.vendor, ([], []))[which]:
        schema_editor.execute(statement, params=None)


def create_search_index(apps, schema_editor) -> None:
    _run(schema_editor, 0)


def drop_search_index(apps, schema_editor) -> None:
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("curation", "0002_editors_group")]

    operations = [migrations.RunPython(create_search_index, drop_search_index, elidable=False)]
