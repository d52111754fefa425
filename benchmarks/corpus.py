"""A deterministic corpus of seed files shaped like the real feed.

``write_corpus(folder, n)`` writes ``n`` files; the same ``n`` and ``seed`` always give the same
bytes, because every file draws from its own ``random.Random`` seeded by its index. The shape
follows the five real seeds in ``/work/shared/seeds``: two URL families (originalUrl/webUrl/
ampWebUrl/cdnAmpWebUrl and sourceUrl/ampUrl/cdnAmpUrl), 0-25 related items, images, about 3 % of
files without front matter, non-ASCII text, ~300 providers, ~40 topics and ~7.5 KB on average.
Every domain ends in ``.example``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from pathlib import Path

CORPUS_VERSION = 1  # bump when the generator's output changes, so cached corpora are rebuilt

_WORDS = [
    "police",
    "facial",
    "recognition",
    "camera",
    "council",
    "housing",
    "market",
    "energy",
    "price",
    "climate",
    "storm",
    "flood",
    "school",
    "teacher",
    "student",
    "budget",
    "minister",
    "election",
    "vote",
    "court",
    "judge",
    "trial",
    "bank",
    "interest",
    "rate",
    "inflation",
    "worker",
    "strike",
    "union",
    "hospital",
    "doctor",
    "nurse",
    "patient",
    "vaccine",
    "research",
    "study",
    "data",
    "privacy",
    "security",
    "software",
    "startup",
    "investor",
    "founder",
    "company",
    "profit",
    "loss",
    "share",
    "stock",
    "airport",
    "train",
    "rail",
    "bus",
    "road",
    "traffic",
    "bridge",
    "city",
    "village",
    "region",
    "county",
    "river",
    "coast",
    "island",
    "festival",
    "music",
    "film",
    "theatre",
    "museum",
    "gallery",
    "artist",
    "writer",
    "book",
    "library",
    "football",
    "cricket",
    "tennis",
    "match",
    "season",
    "league",
    "cup",
    "record",
    "team",
    "coach",
    "player",
    "fans",
    "stadium",
    "weather",
    "summer",
    "winter",
    "spring",
    "autumn",
    "report",
    "plan",
    "scheme",
    "project",
    "programme",
    "launch",
    "update",
    "change",
    "warning",
    "robot",
    "network",
    "cloud",
    "chip",
    "battery",
    "electric",
    "vehicle",
    "charging",
    "solar",
    "wind",
    "nuclear",
    "grid",
    "water",
    "farm",
    "food",
    "supply",
    "shop",
    "retail",
    "online",
    "platform",
    "app",
    "phone",
    "device",
    "screen",
    "users",
    "growth",
]
# Non-ASCII words, so every layer handles more than ASCII (accents, CJK, emoji, RTL).
_WORDS_UNICODE = [
    "café",
    "naïve",
    "Zürich",
    "São",
    "Paulo",
    "Kraków",
    "Ærø",
    "résumé",
    "München",
    "Ελλάδα",
    "Москва",
    "東京",
    "北京",
    "서울",
    "مرحبا",
    "🚀",
    "½",
    "\u2013",
    "\u201cquoted\u201d",
    "\u2019s",
]
_TOPICS = [
    "AI", "Computer Vision", "Housing", "Transport", "Energy", "Climate", "Health", "Education",
    "Finance", "Markets", "Startups", "Privacy", "Security", "Robotics", "Space", "Science",
    "Politics", "Elections", "Courts", "Crime", "Culture", "Music", "Film", "Books", "Sport",
    "Football", "Cricket", "Tennis", "Weather", "Travel", "Food", "Retail", "Jobs", "Labour",
    "Cities", "Rural", "Water", "Nuclear", "Batteries", "Semiconductors",
]  # fmt: skip
_CATEGORIES = ("news", "news", "news", "news", "business", "sport", "opinion")
_TYPES = ("article", "article", "article", "article", "video", "blog")
PROVIDER_COUNT = 300
_PLAIN_TEXT_SHARE = 0.03


def _providers() -> list[tuple[str, str]]:
    rng = random.Random("providers")
    providers, seen = [], set()
    while len(providers) < PROVIDER_COUNT:
        stem = rng.choice(_WORDS) + rng.choice(("", "-", "")) + rng.choice(_WORDS)
        if stem in seen:
            continue
        seen.add(stem)
        style = rng.random()
        name = " ".join(part.capitalize() for part in stem.replace("-", " ").split())
        if style < 0.3:
            name = f"The {name} {rng.choice(('Times', 'Post', 'Courier', 'Gazette', 'Herald'))}"
        elif style < 0.4:
            name += " Zeitung für Köln" if rng.random() < 0.5 else " Révue"
        providers.append((name, f"{stem}.example"))
    return providers


PROVIDERS = _providers()


def _sentence(rng: random.Random, words: int) -> str:
    chosen = rng.choices(_WORDS, k=words)
    if rng.random() < 0.5:
        chosen[rng.randrange(words)] = rng.choice(_WORDS_UNICODE)
    chosen[0] = chosen[0].capitalize()
    return " ".join(chosen)


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _slug(rng: random.Random) -> str:
    return "-".join(rng.choices(_WORDS, k=rng.randint(3, 8)))


def _urls(rng: random.Random, domain: str, moment: dt.datetime, indent: str) -> list[str]:
    path = f"{moment:%Y/%m/%d}/{rng.randrange(10**6)}-{_slug(rng)}"
    if rng.random() < 0.6:  # the originalUrl/webUrl family
        lines = []
        if rng.random() < 0.4:
            lines.append(f'{indent}originalUrl: "https://www.{domain}/{path}"')
        lines.append(f'{indent}webUrl: "https://www.{domain}/{path}"')
        if rng.random() < 0.4:
            lines.append(f'{indent}ampWebUrl: "https://www.{domain}/amp/{path}"')
            host = "www-" + domain.replace(".", "-").replace("-example", "-example")
            lines.append(
                f'{indent}cdnAmpWebUrl: "https://{host}.cdn.ampproject.example/c/s/www.{domain}/amp/{path}"'
            )
        return lines
    lines = [f"{indent}sourceUrl: https://{domain}/{path}/"]
    if rng.random() < 0.5:
        lines.append(f"{indent}ampUrl: https://{domain}/{path}/amp/")
        host = domain.replace(".", "-")
        lines.append(
            f"{indent}cdnAmpUrl: https://{host}.cdn.ampproject.example/c/s/{domain}/{path}/amp/"
        )
    return lines


def _moment(rng: random.Random) -> dt.datetime:
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    return start + dt.timedelta(minutes=rng.randrange(6 * 365 * 24 * 60))


def _image(rng: random.Random, domain: str, indent: str, title: str | None) -> list[str]:
    lines = [
        f'{indent}- url: "https://cdn.{domain}/images/{rng.randrange(10**8):08d}/{_slug(rng)}.jpg"',
        f"{indent}  width: {rng.choice((370, 640, 1024, 1200, 1400, 1528))}",
        f"{indent}  height: {rng.choice((229, 360, 683, 800, 900, 933))}",
    ]
    if title is not None:
        lines.append(f"{indent}  title: {_quote(title)}")
    return lines


def seed_file(index: int, seed: int = 0) -> tuple[str, bytes]:
    """The file name and bytes of corpus file ``index``."""
    rng = random.Random(f"{seed}:{index}")
    key = f"{index:07d}_{hashlib.blake2b(f'{seed}:{index}'.encode(), digest_size=8).hexdigest()}"
    title = _sentence(rng, rng.randint(6, 14))
    if rng.random() < _PLAIN_TEXT_SHARE:
        body = "\n\n".join(
            _sentence(rng, rng.randint(30, 120)) + "." for _ in range(rng.randint(2, 12))
        )
        return f"{key}.txt", f"{title}\n\n{body}\n".encode()
    name, domain = rng.choice(PROVIDERS)
    moment = _moment(rng)
    lines = [
        "---",
        f"category: {rng.choice(_CATEGORIES)}",
        f"title: {_quote(title)}",
        f"excerpt: {_quote(_sentence(rng, rng.randint(25, 60)) + ' ...')}",
        f"publishedDateTime: {moment:%Y-%m-%dT%H:%M:%SZ}",
        *_urls(rng, domain, moment, ""),
        f"type: {rng.choice(_TYPES)}",
        f"quality: {rng.randrange(0, 200)}",
        f"heat: {rng.choice((-1, -1, -1, rng.randrange(100)))}",
        f"published: {'true' if rng.random() < 0.7 else 'false'}",
        "",
        "provider:",
        f"  name: {_quote(name)}",
        f"  domain: {domain}",
        "",
        "topics:",
        *(f"  - {topic}" for topic in rng.sample(_TOPICS, rng.choice((1, 2, 2, 3)))),
    ]
    if rng.random() < 0.85:
        lines += ["", "images:"]
        for _ in range(rng.choice((1, 1, 1, 2))):
            lines += _image(rng, domain, "  ", title)
    # Related items: skewed towards a few, up to 25 (the real seeds have 0-23).
    count = min(25, int(rng.expovariate(1 / 7.9)))
    if count:
        lines += ["", "related:"]
    for _ in range(count):
        other_name, other_domain = rng.choice(PROVIDERS)
        when = _moment(rng)
        lines += [
            f"  - title: {_quote(_sentence(rng, rng.randint(6, 14)))}",
            f"    excerpt: {_quote(_sentence(rng, rng.randint(30, 60)) + ' ...')}",
            f"    publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}",
            *_urls(rng, other_domain, when, "    "),
            f"    type: {rng.choice(_TYPES)}",
            "    provider:",
            f"      name: {_quote(other_name)}",
            f"      domain: {other_domain}",
            f"    quality: {rng.randrange(0, 200)}",
        ]
        if rng.random() < 0.3:
            lines += ["    images:", *_image(rng, other_domain, "      ", None)]
    secured = hashlib.sha512(key.encode()).hexdigest() * rng.randint(1, 4)
    lines += ["", f'secured: "{secured}"', "---", ""]
    if rng.random() < 0.1:
        lines.append(_sentence(rng, rng.randint(20, 80)) + ".")
        lines.append("")
    return f"{key}.txt", "\n".join(lines).encode()


def write_corpus(folder: str | Path, count: int, seed: int = 0) -> Path:
    """Write ``count`` seed files into ``folder`` (reused if it already holds this corpus)."""
    folder = Path(folder)
    stamp = folder / ".corpus"
    expected = f"{CORPUS_VERSION}:{seed}:{count}"
    if stamp.is_file() and stamp.read_text() == expected:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    for index in range(count):
        name, data = seed_file(index, seed)
        (folder / name).write_bytes(data)
    stamp.write_text(expected)
    return folder
