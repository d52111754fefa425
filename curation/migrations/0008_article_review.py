"""The editor's desk (issue 12): review state, arrival index, desk visits, accent-folding search.

- ``Article.reviewed_at`` / ``reviewed_by``: set by ``editorial.apply_editorial_changes`` when
  an editor decides on an article; the partial index ``article_review_queue`` serves the admin's
  queue (not reviewed, newest arrivals first) and ``article_arrived`` the Arrived filter.
- ``DeskVisit``: when each editor last opened the article list ("Since my last visit").
- ``ArticleChange.Via.REVERT``: a change restored from the history.
- PostgreSQL only: the search vector folds accents, as SQLite's FTS5 table already does
  (``unicode61 remove_diacritics 2``, migration 0003), so ``krakow`` finds "Kraków" on both.
  It needs the ``unaccent`` extension (PostgreSQL's contrib package; a trusted extension since
  PostgreSQL 13, so the database's owner may create it; before that, a superuser must). The
  generated column is rebuilt, which rewrites the article table once. Going back restores
  0003's column and leaves the extension installed (other code may use it).
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, migrations, models

# unaccent() is only STABLE (its dictionary could change), and a generated column may only use
# IMMUTABLE functions: the usual wrapper names the dictionary explicitly and is declared
# immutable. ArticleQuerySet.search() folds the query with the same function.
UNACCENT_FUNCTION = (
    "CREATE OR REPLACE FUNCTION curation_unaccent(text) RETURNS text "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
    "AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$"
)
SEARCH_VECTOR = (
    "ALTER TABLE curation_article ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, {text})) STORED"
)
TEXT = "coalesce(title, '') || ' ' || coalesce(excerpt, '')"
DROP_SEARCH_VECTOR = [
    "DROP INDEX IF EXISTS article_search_vector",
    "ALTER TABLE curation_article DROP COLUMN IF EXISTS search_vector",
]
CREATE_SEARCH_INDEX = (
    "CREATE INDEX article_search_vector ON curation_article USING gin (search_vector)"
)
NO_UNACCENT = (
    "Migration curation.0008_article_review needs the PostgreSQL extension 'unaccent' (so that "
    "search folds accents: 'krakow' finds 'Kraków'), and {problem}. {fix} Then run migrate again."
)


def _unaccent_schema(cursor) -> str | None:
    cursor.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'unaccent'"
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _ensure_unaccent(schema_editor) -> str:
    """The schema of the unaccent extension, creating it if need be; a clear error if it can't."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        schema = _unaccent_schema(cursor)
        if schema is not None:
            return schema
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")
        if cursor.fetchone() is None:
            raise CommandError(
                NO_UNACCENT.format(
                    problem="this PostgreSQL server does not have it",
                    fix="Install PostgreSQL's contrib package on the server "
                    "(Debian: postgresql-contrib).",
                )
            )
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        except DatabaseError as error:
            raise CommandError(
                NO_UNACCENT.format(
                    problem=f"the database user may not create it ({error})".strip(),
                    fix=f"Ask a superuser to run: CREATE EXTENSION unaccent; in the database "
                    f"{connection.settings_dict['NAME']!r}.",
                )
            ) from error
        return _unaccent_schema(cursor)


def restore_search_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    search = importlib.import_module("curation.migrations.0003_full_text_search")
    for statement in search.SQLITE_FORWARD:
        schema_editor.execute(statement, params=None)


def fold_accents_in_search(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite's FTS5 tokenizer already removes diacritics (migration 0003)
    schema = schema_editor.quote_name(_ensure_unaccent(schema_editor))
    for statement in [
        UNACCENT_FUNCTION.format(schema=schema),
        *DROP_SEARCH_VECTOR,
        SEARCH_VECTOR.format(text=f"curation_unaccent({TEXT})"),
        CREATE_SEARCH_INDEX,
    ]:
        schema_editor.execute(statement, params=None)


def keep_accents_in_search(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [
        *DROP_SEARCH_VECTOR,
        SEARCH_VECTOR.format(text=TEXT),  # as migration 0003 made it
        CREATE_SEARCH_INDEX,
        "DROP FUNCTION IF EXISTS curation_unaccent(text)",
    ]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0007_public_state"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Going back drops reviewed_by, a foreign key, which SQLite does by rebuilding the table:
        # that drops 0003's search triggers, so they are created again last (see 0006).
        migrations.RunPython(migrations.RunPython.noop, restore_search_triggers),
        migrations.CreateModel(
            name="DeskVisit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "previous_visit",
                    models.DateTimeField(
                        blank=True,
                        help_text="When the editor's visit before this one ended.",
                        null=True,
                    ),
                ),
                (
                    "last_visit",
                    models.DateTimeField(help_text="When the editor last opened the article list."),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="desk_visit",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"verbose_name": "desk visit"},
        ),
        migrations.AddField(
            model_name="article",
            name="reviewed_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When an editor last decided on this article; empty while it waits in the queue.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="reviewed_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="Who last decided on this article.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="articlechange",
            name="via",
            field=models.CharField(
                choices=[
                    ("form", "change form"),
                    ("list", "change list"),
                    ("action", "bulk action"),
                    ("import", "seed import"),
                    ("revert", "restored from history"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("reviewed_at__isnull", True)),
                fields=["-created_at", "-id"],
                name="article_review_queue",
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(fields=["-created_at", "-id"], name="article_arrived"),
        ),
        migrations.RunPython(fold_accents_in_search, keep_accents_in_search, elidable=False),
    ]
