"""Fill the database with many articles fast, by bulk SQL (not through the importer).

The serving benchmarks need a million rows; importing a million seed files would take longer
than the benchmark itself. Rows are shaped like imported ones (providers, topics, images,
related items, ~70 % published, six years of dates) and are deterministic for a given count.
Runs on an empty, migrated database: ids are given explicitly, starting at 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator

from django.db import connection, transaction

from curation.models import rank_for

from .corpus import _TOPICS, _WORDS, _WORDS_UNICODE, PROVIDERS

CHUNK = 20_000
# Searched by the serving benchmark: two common words, one common word, a non-ASCII word that
# is rarer, a provider name, and a word that is nowhere.
SEARCH_TERMS = ["facial recognition", "stadium", "zürich", "Times", "xylophonequartz"]
_VOCABULARY = _WORDS * 6 + _WORDS_UNICODE

ARTICLE_COLUMNS = [
    "id", "key", "source_name", "category", "title", "excerpt", "published_at",
    "original_url", "web_url", "amp_web_url", "cdn_amp_web_url", "source_url", "amp_url",
    "cdn_amp_url", "type", "published", "quality", "heat", "provider_id", "provider_extra",
    "secured", "body", "extra", "has_front_matter", "source_text", "source_hash", "version",
    "seed_version", "imported_at", "created_at", "updated_at", "rank",
]  # fmt: skip
RELATED_COLUMNS = [
    "article_id", "position", "title", "excerpt", "published_at", "original_url", "web_url",
    "amp_web_url", "cdn_amp_web_url", "source_url", "amp_url", "cdn_amp_url", "type",
    "provider_id", "provider_extra", "quality", "heat", "images", "extra",
]  # fmt: skip


def _words(rng: random.Random, low: int, high: int) -> str:
    text = " ".join(rng.choices(_VOCABULARY, k=rng.randint(low, high)))
    return text[0].upper() + text[1:]


def _rows(count: int) -> Iterator[tuple[tuple, list[tuple], list[tuple], list[tuple]]]:
    """(article, topics, images, related) per article."""
    rng = random.Random(f"rows:{count}")
    when = connection.ops.adapt_datetimefield_value
    created = dt.datetime.now(dt.UTC)
    now = when(created)
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    for article_id in range(1, count + 1):
        provider = rng.randrange(len(PROVIDERS)) + 1
        domain = PROVIDERS[provider - 1][1]
        moment = start + dt.timedelta(minutes=rng.randrange(6 * 365 * 24 * 60))
        key = f"bench_{article_id:08d}"
        url = f"https://www.{domain}/{moment:%Y/%m/%d}/{article_id}"
        published = rng.random() < 0.7
        # In the order the tuple drew them before, so the rows stay the same for a count.
        title, excerpt, quality = _words(rng, 6, 14), _words(rng, 25, 60), rng.randrange(200)
        article = (
            article_id, key, f"{key}.txt", "news", title, excerpt,
            when(moment), "", url, "", "", "", "", "", "article", published,
            quality, -1, provider, "[]", "", "", "[]", True, "",
            hashlib.blake2b(key.encode(), digest_size=32).hexdigest(), 1, 1, now, now, now,
            rank_for(moment, created, quality, -1),
        )  # fmt: skip
        topics = [
            (article_id, topic, position)
            for position, topic in enumerate(
                rng.sample(range(1, len(_TOPICS) + 1), rng.randint(1, 3))
            )
        ]
        images = (
            [
                (
                    article_id,
                    0,
                    f"https://cdn.{domain}/{article_id}.jpg",
                    1200,
                    800,
                    "",
                    None,
                    "",
                    "[]",
                )
            ]
            if rng.random() < 0.85
            else []
        )
        related = [
            (
                article_id,
                position,
                _words(rng, 6, 12),
                "",
                when(moment),
                "",
                f"{url}/r{position}",
                "",
                "",
                "",
                "",
                "",
                "article",
                rng.randrange(len(PROVIDERS)) + 1,
                "[]",
                None,
                None,
                "[]",
                "[]",
            )
            for position in range(rng.choice((0, 0, 0, 1, 2)))
        ]
        yield article, topics, images, related


# A fifth of the articles are copies in stories of three (consecutive ids), so the public pages
# pay for one card per story and "Also reported by" as they do on a live site.
STORY_SIZE = 3
STORY_EVERY = 5


def _group_into_stories(write, count: int) -> None:
    groups = range(0, count // STORY_SIZE, STORY_EVERY)
    now = dt.datetime.now(dt.UTC)
    with transaction.atomic():
        write(
            "curation_story",
            ["id", "lead_id", "size", "created_at", "updated_at"],
            [
                (group // STORY_EVERY + 1, group * STORY_SIZE + 1, STORY_SIZE, now, now)
                for group in groups
            ],
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE curation_article SET story_id = (id - 1) / %s / %s + 1,"
                " story_rank = (id - 1) %% %s, story_reason = 'headline'"
                " WHERE (id - 1) / %s %% %s = 0 AND id <= %s",
                [
                    STORY_SIZE,
                    STORY_EVERY,
                    STORY_SIZE,
                    STORY_SIZE,
                    STORY_EVERY,
                    count // STORY_SIZE * STORY_SIZE,
                ],
            )


def _writer():
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":

        def write(table: str, columns: list[str], rows: list[tuple]) -> None:
            names = ", ".join(quote(name) for name in columns)
            sql = f"COPY {quote(table)} ({names}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)

        return write

    def write(table: str, columns: list[str], rows: list[tuple]) -> None:
        names = ", ".join(quote(name) for name in columns)
        marks = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)

    return write


def load_rows(count: int) -> None:
    write = _writer()
    with transaction.atomic():
        write("curation_provider", ["id", "name", "domain"],
              [(i, name, domain) for i, (name, domain) in enumerate(PROVIDERS, 1)])  # fmt: skip
        write("curation_topic", ["id", "name"], list(enumerate(_TOPICS, 1)))
    batch: tuple[list, list, list, list] = ([], [], [], [])
    for parts in _rows(count):
        for bucket, part in zip(batch, parts, strict=True):
            if isinstance(part, tuple):
                bucket.append(part)
            else:
                bucket.extend(part)
        if len(batch[0]) == CHUNK:
            _flush(write, batch)
            batch = ([], [], [], [])
    _flush(write, batch)
    _group_into_stories(write, count)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "curation_provider",
                "curation_topic",
                "curation_article",
                "curation_story",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _other_columns() -> tuple[list[str], tuple]:
    """Article columns added since these rows were designed, with their defaults (as
    ``bulk_create`` would fill them), so a new NOT NULL column does not break the loader."""
    from curation.models import Article

    fields = [
        field
        for field in Article._meta.concrete_fields
        if not field.primary_key and field.column not in ARTICLE_COLUMNS
    ]
    defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in fields)
    return [field.column for field in fields], defaults


def _flush(write, batch) -> None:
    articles, topics, images, related = batch
    columns, defaults = _other_columns()
    with transaction.atomic():
        write(
            "curation_article",
            ARTICLE_COLUMNS + columns,
            [article + defaults for article in articles],
        )
        write("curation_articletopic", ["article_id", "topic_id", "position"], topics)
        write("curation_articleimage",
              ["article_id", "position", "url", "width", "height", "title", "is_cached",
               "attribution", "extra"], images)  # fmt: skip
        write("curation_relateditem", RELATED_COLUMNS, related)
