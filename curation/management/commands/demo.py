from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from curation.importer import import_seeds
from curation.models import EDITORS_GROUP

DEMO_EDITOR = ("editor", "newsroom-editor")
DEMO_ADMIN = ("admin", "newsroom-admin")


class Command(BaseCommand):
    help = "Set up a local demo (database, sample seeds, demo logins) and serve it."

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="Address to serve on."
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Set everything up, but do not serve."
        )

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(self.style.SUCCESS("Database is up to date."))
        report = import_seeds([settings.BASE_DIR / "seeds"])
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
        if not options["no_serve"]:
            call_command("runserver", options["addrport"], use_reloader=False)

    def _user(self, username, password, *, superuser):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.is_active = True
        user.set_password(password)
        user.save()
        return user
