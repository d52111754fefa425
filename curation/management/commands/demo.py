import threading

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from curation import ingest, tasks
from curation.models import EDITORS_GROUP, Source

DEMO_EDITOR = ("editor", "newsroom-editor")
DEMO_ADMIN = ("admin", "newsroom-admin")


def local_debug_setup() -> tuple[bool, str]:
    """Is this a developer's own machine, where logins with published passwords are harmless?

    Only with debug on *and* an SQLite database (a file on this machine): a PostgreSQL URL may
    name a shared or production server, even on 127.0.0.1. Returns the answer and what was seen.
    """
    engine = connection.vendor
    database = str(connection.settings_dict.get("NAME") or "")
    host = connection.settings_dict.get("HOST") or ""
    seen = f"DEBUG={settings.DEBUG}, database: {engine} {database}" + (
        f" at {host}" if host else ""
    )
    return bool(settings.DEBUG) and engine == "sqlite", seen


class Command(BaseCommand):
    help = "Set up a local demo (database, sample seeds, demo logins) and serve it."

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="Address to serve on."
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Set everything up, but do not serve."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=(
                "Create the demo logins (published passwords) even though this is not a local "
                "debug setup. Dangerous anywhere others can reach."
            ),
        )

    def handle(self, *args, **options):
        local, seen = local_debug_setup()
        logins = (
            f"{DEMO_ADMIN[0]} / {DEMO_ADMIN[1]} (superuser) and {DEMO_EDITOR[0]} / {DEMO_EDITOR[1]}"
        )
        if not local and not options["force"]:
            raise CommandError(
                f"demo creates or resets the logins {logins}, whose passwords are published in "
                "the README, so it runs only in a local debug setup: DJANGO_DEBUG=true and the "
                f"SQLite database (DATABASE_URL unset or sqlite:///...). Here: {seen}. "
                "Run it on your own machine with the defaults, or pass --force if you really "
                "want these logins on this database."
            )
        if not local:
            self.stderr.write(
                self.style.ERROR(
                    f"WARNING: --force: creating {logins} with published passwords on a setup "
                    f"that is not a local debug one ({seen}). Anyone who can reach this site "
                    "can log in as a superuser: change both passwords or delete the users now."
                )
            )
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(self.style.SUCCESS("Database is up to date."))
        report, _ = ingest.import_paths(
            [settings.BASE_DIR / "seeds"], max_bytes=settings.NEWSROOM_SEED_MAX_BYTES
        )
        counts = ", ".join(f"{count} {name}" for name, count in report.counts().items())
        self.stdout.write(self.style.SUCCESS(f"Sample seeds imported: {counts}."))
        for line in report.failed:
            self.stderr.write(self.style.ERROR(line))
        editor = self._user(*DEMO_EDITOR, superuser=False)
        editors = Group.objects.filter(name=EDITORS_GROUP).first()
        if editors:
            editor.groups.add(editors)
        self._user(*DEMO_ADMIN, superuser=True)
        host = options["addrport"]
        if ":" not in host:
            host = f"127.0.0.1:{host}"
        self.stdout.write(
            f"\nPublic site:  http://{host}/\n"
            f"Admin:        http://{host}/admin/\n"
            f"Editor login: {DEMO_EDITOR[0]} / {DEMO_EDITOR[1]}\n"
            f"Admin login:  {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}\n"
        )
        # The sample folder is a watched source: a seed file dropped into seeds/ shows up in
        # seconds, polled by a thread of the server's own process (SQLite has no job queue).
        Source.objects.get_or_create(
            name="Sample seeds",
            defaults={"kind": Source.Kind.FOLDER, "path": str(settings.BASE_DIR / "seeds")},
        )
        if not options["no_serve"]:
            if ingest.uses_queue():
                self.stdout.write("Run `manage.py ingest_worker` to import what arrives.")
            else:
                stop = threading.Event()
                threading.Thread(target=tasks.watch_in_process, args=(stop,), daemon=True).start()
                self.stdout.write(f"Watching {settings.BASE_DIR / 'seeds'} for new seed files.")
            call_command("runserver", options["addrport"], use_reloader=False)

    def _user(self, username, password, *, superuser):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.is_active = True
        user.set_password(password)
        user.save()
        return user
