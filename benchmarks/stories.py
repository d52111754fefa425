"""``uv run python -m benchmarks.stories``: how well and how fast stories are found.

Three measurements, each in fresh databases (a temporary SQLite file, or the dedicated
PostgreSQL database ``newsroom_bench`` with ``--database postgres``):

- ``quality``: a labelled corpus (``labelled_corpus``: it knows which files report one event,
  with hard negatives) is imported; precision and recall of "same story" pairs, after the
  import and again after ``stories --rebuild``.
- ``import``: the benchmark corpus (``benchmarks.corpus``) imported with clustering and without
  it (``stories``' import hooks no-ops), alternately, in fresh databases; the slowdown.
- ``rebuild``: ``benchmarks.rows`` fills a database with ``--articles`` rows, then
  ``stories.rebuild()`` is timed.

Examples::

    uv run python -m benchmarks.stories quality
    uv run python -m benchmarks.stories import --files 20000 --runs 2
    uv run python -m benchmarks.stories rebuild --articles 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .__main__ import DEFAULT_PG_URL, _database

# -- the labelled corpus --------------------------------------------------------------------

PLACES = [
    "Leeds", "Manchester", "Bristol", "Cardiff", "Glasgow", "Belfast", "Norwich", "York",
    "Brighton", "Plymouth", "Exeter", "Derby", "Leicester", "Coventry", "Sheffield", "Hull",
    "Swansea", "Aberdeen", "Dundee", "Oxford", "Cambridge", "Bath", "Chester", "Durham",
]  # fmt: skip
ORGS = ["Police", "The council", "Hospital trust", "Rail operator", "Water company", "University"]
# (action, object): what an event is about; two events may share either half.
ACTIONS = [
    ("to trial", "facial recognition cameras"),
    ("approves", "plans for 140 flats above empty shops"),
    ("scraps", "late-night bus routes"),
    ("announces", "strike dates over pay dispute"),
    ("opens", "new accident and emergency unit"),
    ("closes", "riverside car park after flooding"),
    ("fined", "over sewage spill into harbour"),
    ("confirms", "budget cuts to library services"),
    ("launches", "inquiry into missing patient records"),
    ("delays", "tram extension by two years"),
    ("bans", "e-scooters from the city centre"),
    ("to install", "heat pumps in council homes"),
]
# Rewordings a second outlet makes of one headline, one or two at a time.
SYNONYMS = {
    "to trial": ["to test", "trialling", "will trial"],
    "approves": ["backs", "gives green light to", "approved"],
    "scraps": ["axes", "cuts", "scrapped"],
    "announces": ["sets", "confirms", "announced"],
    "opens": ["unveils", "opened", "opening"],
    "closes": ["shuts", "closed", "closing"],
    "fined": ["hit with fine", "ordered to pay fine", "penalised"],
    "confirms": ["announces", "outlines", "confirmed"],
    "launches": ["opens", "orders", "launched"],
    "delays": ["postpones", "pushes back", "delayed"],
    "bans": ["outlaws", "to ban", "banned"],
    "to install": ["installing", "will fit", "to fit"],
}
# Follow-ups: the same outlet, topic and place, another event, sharing a few words ({noun} is
# the last word of the event's object).
FOLLOW_UPS = [
    "{place} {org_lower} faces questions over {noun}",
    "Petition against {noun} plan in {place} passes {signatures} signatures",
    "Residents in {place} protest outside {org_lower} offices over {noun}",
    "What the {org_lower}'s {noun} decision means for families in {place}",
    "MP for {place} calls for review of {org_lower} {noun} plan",
    "Opposition councillors in {place} demand answers on {noun}",
]
PROVIDER_COUNT = 30
WINDOW_HOURS = 60  # reports of one event arrive within this long of its first


def _provider(index: int) -> tuple[str, str]:
    stems = ["Courier", "Gazette", "Post", "Herald", "Echo", "Times", "Chronicle", "Argus"]
    towns = ["Riverside", "Harbour", "Valley", "Northern", "Coastal"]
    stem, town = stems[index % len(stems)], towns[index // len(stems) % len(towns)]
    name = f"{town} {stem}" + (f" {index // 40 + 2}" if index >= 40 else "")
    return name, f"{town.lower()}{stem.lower()}{index}.example"


def _reword(rng: random.Random, org: str, action: str, obj: str, place: str, provider: str) -> str:
    """One outlet's headline for the event."""
    verb = rng.choice([action, action, *SYNONYMS[action]])
    where = rng.choice([f"in {place}", f"in {place}", f"across {place}", ""])
    shapes = [
        f"{org} {verb} {obj} {where}",
        f"{place}: {org.lower()} {verb} {obj}",
        f"{org} in {place} {verb} {obj}",
    ]
    title = rng.choice(shapes) if where else f"{org} {verb} {obj} in {place}"
    if rng.random() < 0.3:  # a clause of its own
        title += " " + rng.choice(
            ["after vote", "amid criticism", "despite protests", "as costs rise", "from next month"]
        )
    title = " ".join(title.split())
    roll = rng.random()
    if roll < 0.15:
        title = title.title()
    elif roll < 0.2:
        title = title.upper()
    if rng.random() < 0.15:
        title = f"{rng.choice(['LIVE', 'Breaking', 'Watch'])}: {title}"
    if rng.random() < 0.2:
        title = f"{title} - {provider}"
    return title


def labelled_corpus(folder: Path, events: int = 300, seed: int = 0) -> dict[str, int]:
    """Write seed files for ``events`` events and their hard negatives; return key -> event.

    Per event: 1-5 reports by different outlets within ``WINDOW_HOURS``, some with a copy under
    the other URL family (the same article arriving twice) and some naming another report in
    ``related``. Hard negatives, each its own event: the same action in another place in the
    same days; a follow-up by the same outlet on the same topic and place; another action by
    the same organisation in the same place (shared words); and the same event's headline a
    year later.
    """
    rng = random.Random(f"labelled:{seed}")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    labels: dict[str, int] = {}
    counter = itertools.count()
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)

    def write(event, title, provider_index, moment, urls, related=()):
        key = f"s{next(counter):06d}"
        name, domain = _provider(provider_index)
        lines = [
            "---",
            f"title: {json.dumps(title)}",
            f"publishedDateTime: {moment:%Y-%m-%dT%H:%M:%SZ}",
            *(f'{field}: "{url}"' for field, url in urls.items()),
            f"quality: {rng.randrange(200)}",
            f"heat: {rng.choice((-1, rng.randrange(100)))}",
            "published: true",
            "provider:",
            f"  name: {json.dumps(name)}",
            f"  domain: {domain}",
        ]
        if related:
            lines.append("related:")
            for url in related:
                lines += ["  - title: Coverage elsewhere", f'    webUrl: "{url}"']
        lines += ["---", ""]
        (folder / f"{key}.txt").write_text("\n".join(lines))
        labels[key] = event
        return key

    def url_of(provider_index, moment, slug):
        domain = _provider(provider_index)[1]
        return f"https://www.{domain}/news/{moment:%Y/%m/%d}/{slug}"

    event_ids = itertools.count()
    # Two separate events in one week never share both their action and their place, nor
    # their organisation and their place: that would be one event, whatever the labels said.
    taken: dict[tuple[str, str], list[dt.datetime]] = {}

    def free(moment: dt.datetime, *pairs: tuple[str, str]) -> bool:
        week = dt.timedelta(days=7)
        return not any(
            abs(moment - other) < week for pair in pairs for other in taken.get(pair, ())
        )

    def take(moment: dt.datetime, *pairs: tuple[str, str]) -> None:
        for pair in pairs:
            taken.setdefault(pair, []).append(moment)

    for number in range(events):
        first = start + dt.timedelta(hours=rng.randrange(24 * 700))
        while True:
            org = rng.choice(ORGS)
            action, obj = rng.choice(ACTIONS)
            place = rng.choice(PLACES)
            if free(first, (action, place), (org, place)):
                break
        take(first, (action, place), (org, place))
        event = next(event_ids)
        outlets = rng.sample(range(PROVIDER_COUNT), rng.randint(1, 5))
        earlier_urls: list[str] = []
        for outlet in outlets:
            moment = first + dt.timedelta(minutes=rng.randrange(WINDOW_HOURS * 60))
            title = _reword(rng, org, action, obj, place, _provider(outlet)[0])
            slug = f"{number}-{outlet}-{rng.randrange(10**6)}"
            url = url_of(outlet, moment, slug)
            related = [rng.choice(earlier_urls)] if earlier_urls and rng.random() < 0.3 else []
            write(event, title, outlet, moment, {"webUrl": f"{url}?utm_source=feed"}, related)
            earlier_urls.append(url)
            if rng.random() < 0.2:  # the same article again, under the AMP family
                domain = _provider(outlet)[1]
                amp = f"https://{domain}/news/{moment:%Y/%m/%d}/{slug}/amp/"
                cache = domain.replace(".", "-")
                write(
                    event,
                    _reword(rng, org, action, obj, place, _provider(outlet)[0]),
                    outlet,
                    moment + dt.timedelta(hours=1),
                    {
                        "sourceUrl": f"https://{domain}/news/{moment:%Y/%m/%d}/{slug}/",
                        "ampUrl": amp,
                        "cdnAmpUrl": f"https://{cache}.cdn.ampproject.org/c/s/{amp[8:]}",
                    },
                )
        # Hard negatives, each an event of its own.
        other_place = rng.choice(
            [p for p in PLACES if p != place and free(first, (action, p), (org, p))]
        )
        take(first, (action, other_place), (org, other_place))
        outlet = rng.choice([o for o in range(PROVIDER_COUNT) if o not in outlets[:1]])
        moment = first + dt.timedelta(hours=rng.randrange(WINDOW_HOURS))
        write(
            next(event_ids),
            _reword(rng, org, action, obj, other_place, _provider(outlet)[0]),
            outlet,
            moment,
            {"webUrl": url_of(outlet, moment, f"n{number}-place")},
        )
        outlet = outlets[0]
        moment = first + dt.timedelta(hours=rng.randrange(WINDOW_HOURS))
        follow_up = rng.choice(FOLLOW_UPS).format(
            org=org,
            org_lower=org.lower(),
            place=place,
            noun=obj.split()[-1],
            signatures=f"{rng.randrange(1, 20) * 500:,}",
        )
        write(next(event_ids), follow_up, outlet, moment, {"webUrl": url_of(outlet, moment, "f")})
        other_action, other_obj = rng.choice(
            [a for a in ACTIONS if a[0] != action and free(first, (a[0], place))]
        )
        take(first, (other_action, place))
        outlet = rng.randrange(PROVIDER_COUNT)
        moment = first + dt.timedelta(hours=rng.randrange(WINDOW_HOURS))
        write(
            next(event_ids),
            _reword(rng, org, other_action, other_obj, place, _provider(outlet)[0]),
            outlet,
            moment,
            {"webUrl": url_of(outlet, moment, f"n{number}-action")},
        )
        later = first + dt.timedelta(days=365)
        if rng.random() < 0.3 and free(later, (action, place), (org, place)):
            # The annual event, a year later, word for word.
            take(later, (action, place), (org, place))
            outlet = rng.randrange(PROVIDER_COUNT)
            moment = later + dt.timedelta(hours=rng.randrange(48))
            write(
                next(event_ids),
                f"{org} {action} {obj} in {place}",
                outlet,
                moment,
                {"webUrl": url_of(outlet, moment, f"n{number}-year")},
            )
    return labels


def pair_scores(labels: dict[str, int], stories: dict[str, int | None]) -> dict[str, float]:
    """Precision and recall of "same story" pairs against "same event" pairs."""
    truth = _pairs(labels)
    found = _pairs({key: story for key, story in stories.items() if story is not None})
    hits = len(truth & found)
    return {
        "true_pairs": len(truth),
        "found_pairs": len(found),
        "correct_pairs": hits,
        "precision": hits / len(found) if found else 1.0,
        "recall": hits / len(truth) if truth else 1.0,
    }


def _pairs(groups: dict[str, int]) -> set[tuple[str, str]]:
    by_group: dict[int, list[str]] = {}
    for key, group in groups.items():
        by_group.setdefault(group, []).append(key)
    return {pair for keys in by_group.values() for pair in itertools.combinations(sorted(keys), 2)}


# -- steps (each in its own process) ----------------------------------------------------------


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()


def step_quality(args) -> dict:
    _setup()
    from curation import stories
    from curation.importer import import_seeds
    from curation.models import Article

    folder = Path(args.folder)
    labels = labelled_corpus(folder, args.events)
    report = import_seeds([folder])
    assert report.ok, report.failed[:5]

    def current() -> dict[str, int | None]:
        return dict(Article.objects.values_list("key", "story_id"))

    after_import = pair_scores(labels, current())
    started = time.perf_counter()
    stories.rebuild()
    seconds = time.perf_counter() - started
    after_rebuild = pair_scores(labels, current())
    return {
        "files": len(labels),
        "events": len(set(labels.values())),
        "import": after_import,
        "rebuild": after_rebuild,
        "rebuild_seconds": seconds,
    }


def step_import(args) -> dict:
    _setup()
    from curation import stories
    from curation.importer import import_seeds

    if args.without:
        stories.cluster_imported = lambda written: None
        stories.hold_imported = lambda written: []
        stories.place_unplaced = lambda held=(): 0
    started, cpu = time.perf_counter(), time.process_time()
    report = import_seeds([args.folder])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    files = sum(report.counts().values())
    return {"files": files, "seconds": seconds, "rate": files / seconds, "main_cpu_s": cpu}


def step_rebuild(args) -> dict:
    _setup()
    from django.db import connection

    from curation import stories
    from curation.models import Story

    from .rows import load_rows

    started = time.perf_counter()
    load_rows(args.articles)
    loaded = time.perf_counter() - started
    phases: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(phase: str, done: int, total: int) -> None:
        now = time.perf_counter()
        phases[phase] = phases.get(phase, 0.0) + now - last[0]
        last[0] = now

    started = time.perf_counter()
    report = stories.rebuild(progress)
    seconds = time.perf_counter() - started
    return {
        "vendor": connection.vendor,
        "articles": report.articles,
        "stories": Story.objects.count(),
        "members": report.members,
        "load_seconds": loaded,
        "rebuild_seconds": seconds,
        "phases": phases,
    }


STEPS = {"quality": step_quality, "import": step_import, "rebuild": step_rebuild}


def _step(url: str, step: str, *options: str) -> dict:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.stories", "--step", step, *options],
        env=environment,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode:
        raise SystemExit(f"step {step} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _log(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stories", description=__doc__)
    parser.add_argument("what", nargs="?", choices=("quality", "import", "rebuild"))
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSROOM_BENCH_PG", DEFAULT_PG_URL))
    parser.add_argument("--events", type=int, default=300, help="quality: events to generate.")
    parser.add_argument("--files", type=int, default=20_000, help="import: corpus files.")
    parser.add_argument("--runs", type=int, default=2, help="import: runs with and without.")
    parser.add_argument("--articles", type=int, default=100_000, help="rebuild: rows.")
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--without", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        sys.stdout.write(json.dumps(STEPS[args.step](args), default=str) + "\n")
        return 0
    if args.what is None:
        parser.error("say what to measure: quality, import or rebuild")
    results: dict = {"database": args.database, "date": dt.date.today().isoformat()}
    with _database(args.database, args.pg_url) as database:
        if args.what == "quality":
            with tempfile.TemporaryDirectory(prefix="newsroom-stories-") as folder:
                url = database.fresh()
                _step(url, "migrate")
                results["quality"] = _step(
                    url, "quality", "--folder", folder, "--events", str(args.events)
                )
        elif args.what == "import":
            from .corpus import write_corpus

            corpus = Path(tempfile.gettempdir()) / f"newsroom-bench-corpus-{args.files}"
            write_corpus(corpus, args.files)
            runs: dict[str, list[dict]] = {"without": [], "with": []}
            for _ in range(args.runs):
                for mode in ("without", "with"):
                    url = database.fresh()
                    _step(url, "migrate")
                    extra = ["--without"] if mode == "without" else []
                    result = _step(url, "import", "--folder", str(corpus), *extra)
                    runs[mode].append(result)
                    _log(f"import {mode} clustering: {result['seconds']:.1f}s")
            best = {mode: min(run["seconds"] for run in found) for mode, found in runs.items()}
            results["import"] = {
                "files": args.files,
                "runs": runs,
                "best_seconds": best,
                "slowdown": best["with"] / best["without"] - 1,
            }
        else:
            url = database.fresh()
            _step(url, "migrate")
            results["rebuild"] = _step(url, "rebuild", "--articles", str(args.articles))
    sys.stdout.write(json.dumps(results, indent=2, default=str) + "\n")
    return 0


def step_migrate(args) -> dict:
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return {"ok": True}


STEPS["migrate"] = step_migrate


if __name__ == "__main__":
    raise SystemExit(main())
