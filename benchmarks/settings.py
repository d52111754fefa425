"""Settings for benchmark processes: the project's own, on the database in ``DATABASE_URL``.

The orchestrator (``python -m benchmarks``) points ``DATABASE_URL`` at a temporary SQLite file or
at the dedicated PostgreSQL database ``newsroom_bench``; never at the development or test one.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "benchmarks-only-not-secret-0123456789abcdefghijklmnop")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

from newsroom.settings import *  # noqa: F403

ALLOWED_HOSTS = ["testserver", "localhost"]
# Templates use {% static %}; the manifest storage would need collectstatic first.
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
