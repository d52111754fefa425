import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from curation.ingest import import_paths
from curation.progress import ProgressBar


class Command(BaseCommand):
    help = "Import seed files (and folders of them, recursively) into the database."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Seed files or folders (*.txt and *.md).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Do everything and report it, then roll back: nothing is written.",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="All or nothing: if any file fails, nothing is imported.",
        )
        parser.add_argument(
            "--prefer-file",
            action="store_true",
            help="Where an editor and the file changed the same field, take the file's value.",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the report as JSON instead of text."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Processes that parse files (default: one per CPU core).",
        )
        parser.add_argument(
            "--max-bytes",
            type=int,
            default=settings.NEWSROOM_SEED_MAX_BYTES,
            help=(
                "Refuse files larger than this (default NEWSROOM_SEED_MAX_BYTES, "
                f"{settings.NEWSROOM_SEED_MAX_BYTES:,})."
            ),
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        progress = ProgressBar(
            self.stdout,
            "Importing",
            enabled=verbosity > 0 and not options["json"] and self.stdout.isatty(),
        )
        # Recorded like every ingest run (the admin's Ingest runs and failures).
        report, _ = import_paths(
            options["paths"],
            dry_run=options["dry_run"],
            strict=options["strict"],
            prefer_file=options["prefer_file"],
            workers=options["workers"],
            max_bytes=options["max_bytes"],
            progress=progress,
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        elif verbosity > 0:
            self._write_text(report, verbosity)
        if not report.found and not report.failed:
            # Nothing to import is not success: a wrong path or suffix would otherwise pass.
            raise CommandError(f"no seed files found in {', '.join(options['paths'])}")
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} file(s) failed to import"
                + ("; nothing was imported (--strict)" if options["strict"] else "")
                + "."
            )

    def _write_text(self, report, verbosity):
        for line in report.failed:
            self.stderr.write(self.style.ERROR(f"FAILED {line}"))
        for line in report.skipped:
            self.stdout.write(self.style.WARNING(f"SKIPPED {line}"))
        for line in report.warnings:
            self.stdout.write(self.style.WARNING(f"WARNING {line}"))
        for conflict in report.conflicts:
            self.stdout.write(self.style.WARNING(f"CONFLICT {conflict}"))
        for key, fields in report.kept.items():
            self.stdout.write(f"KEPT {key}: editor's {', '.join(fields)} kept")
        if verbosity > 1:
            for label, keys in (("CREATED", report.created), ("UPDATED", report.updated)):
                for key in keys:
                    self.stdout.write(f"{label} {key}")
        counts = report.counts()
        summary = ", ".join(f"{count:,} {name}" for name, count in counts.items())
        if report.dry_run:
            summary = f"Dry run, nothing written: {summary}"
        elif report.rolled_back:
            summary = f"Rolled back, nothing written: {summary}"
        style = self.style.ERROR if report.failed else self.style.SUCCESS
        self.stdout.write(style(summary))
