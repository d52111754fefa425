import json

from django.core.management.base import BaseCommand, CommandError

from curation.exporter import ExportError, export_seeds
from curation.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Export every article as a seed file into OUTDIR, byte for byte where unedited; files of"
        " articles no longer selected are removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("outdir", help="Folder to write into (created if missing).")
        parser.add_argument(
            "--published-only", action="store_true", help="Export only published articles."
        )
        parser.add_argument(
            "--changed-only",
            action="store_true",
            help="Leave files alone whose content would not change.",
        )
        parser.add_argument(
            "--keep-others",
            action="store_true",
            help="Do not remove files named like articles that the export no longer selects.",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the report as JSON instead of text."
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        progress = ProgressBar(
            self.stdout,
            "Exporting",
            enabled=verbosity > 0 and not options["json"] and self.stdout.isatty(),
        )
        try:
            report = export_seeds(
                options["outdir"],
                published_only=options["published_only"],
                changed_only=options["changed_only"],
                keep_others=options["keep_others"],
                progress=progress,
            )
        except ExportError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        elif verbosity > 0:
            for line in report.removed:
                self.stdout.write(f"removed {line}")
            for line in report.warnings:
                self.stderr.write(self.style.WARNING(f"WARNING {line}"))
            for line in report.failed:
                self.stderr.write(self.style.ERROR(f"FAILED {line}"))
            counts = report.counts()
            summary = ", ".join(f"{count:,} {name}" for name, count in counts.items())
            style = self.style.ERROR if report.failed else self.style.SUCCESS
            self.stdout.write(style(f"{summary} in {options['outdir']}"))
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} file(s) could not be written or removed in"
                f" {options['outdir']}; each is left as it was."
            )
