import os

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from curation.models import Source


class Command(BaseCommand):
    help = "Manage ingest sources: watched folders and push senders (see docs/ingest.md)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        folder = actions.add_parser("add-folder", help="Watch a folder for seed files.")
        folder.add_argument("name", help="The source's name.")
        folder.add_argument("path", help="The folder, as the workers' machines see it.")
        push = actions.add_parser(
            "add-push", help="Make a push sender; prints its token as the last line."
        )
        push.add_argument("name", help="The source's name.")
        actions.add_parser("list", help="List the sources, their state and last activity.")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "list":
            self._list()
            return
        source = Source(name=options["name"])
        if action == "add-folder":
            path = os.path.abspath(options["path"])
            if not os.path.isdir(path):
                raise CommandError(f"{path}: no such folder")
            source.kind, source.path = Source.Kind.FOLDER, path
            token = None
        else:
            source.kind = Source.Kind.PUSH
            token = source.new_token()
        try:
            with transaction.atomic():
                source.save()
        except IntegrityError:
            raise CommandError(f"a source named {source.name!r} already exists") from None
        self.stdout.write(self.style.SUCCESS(f"Added {source.get_kind_display()} {source.name}."))
        if token:
            self.stdout.write(
                "Its token, shown only now (send it as Authorization: Bearer <token>):"
            )
            self.stdout.write(token)

    def _list(self):
        sources = list(Source.objects.all())
        if not sources:
            self.stdout.write("No sources yet: sources add-folder NAME PATH, sources add-push NAME")
            return
        for source in sources:
            where = source.path if source.kind == Source.Kind.FOLDER else source.token_hint + "…"
            state = "enabled" if source.enabled else "disabled"
            last = source.last_success_at.isoformat() if source.last_success_at else "never"
            line = f"{source.name}\t{source.kind}\t{state}\t{where}\tlast success: {last}"
            if source.last_error:
                line += f"\tlast error: {source.last_error}"
            if source.idle_since():
                line += "\tIDLE"
            self.stdout.write(line)
