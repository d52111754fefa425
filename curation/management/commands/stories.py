import json
import time

from django.core.management.base import BaseCommand

from curation import stories
from curation.progress import ProgressBar

PHASES = {
    "reading": "Reading articles",
    "indexing": "Indexing keys",
    "matching": "Matching headlines",
    "writing": "Writing stories",
}


class Command(BaseCommand):
    help = (
        "Print every story of two or more articles: its lead's key, its members' keys and why "
        "each joined. --rebuild recomputes every story first, keeping editors' decisions."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print one JSON array of {"lead": KEY, "members": [KEY, ...], ...} objects.',
        )
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Recompute every story from the articles first (editors' decisions are kept).",
        )

    def handle(self, *args, **options):
        if options["rebuild"]:
            self._rebuild(options)
        elif placed := stories.place_unplaced():
            # A large import killed before its last pass left these for whoever comes next.
            self.stderr.write(f"Placed {placed:,} articles an interrupted import left unplaced.")
        found = stories.listing()
        if options["json"]:
            self.stdout.write(json.dumps(found, ensure_ascii=False))
            return
        for story in found:
            decided = " (editors decided)" if story["decided"] else ""
            self.stdout.write(f"{story['lead']}: {len(story['members'])} articles{decided}")
            for key in story["members"]:
                role = "lead" if key == story["lead"] else "member"
                self.stdout.write(f"  {key}  {role}, {story['reasons'][key]}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(found)} stor{'y' if len(found) == 1 else 'ies'} of two or more articles, "
                f"{sum(len(story['members']) for story in found)} articles in them."
            )
        )

    def _rebuild(self, options):
        # Progress goes to stderr, so --json's output stays one JSON document.
        show = options["verbosity"] > 0 and self.stderr.isatty()
        bars: dict[str, ProgressBar] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in bars:
                bars[phase] = ProgressBar(self.stderr, PHASES[phase], enabled=show)
            bars[phase](done, total)

        started = time.monotonic()
        report = stories.rebuild(progress)
        if options["verbosity"] > 0:
            self.stderr.write(
                f"Rebuilt {report.stories:,} stories of {report.members:,} articles from "
                f"{report.articles:,} articles in {time.monotonic() - started:.1f}s."
            )
