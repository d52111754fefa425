"""Test settings: the project's settings with production defaults, minus TLS redirects."""

import os

os.environ.setdefault(
    "DJANGO_SECRET_KEY", "tests-only-not-secret-0123456789abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

from newsroom.settings import *  # noqa: F403

# The manifest needs collectstatic; tests render templates without running it.
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files straight from the app folders, as DEBUG does, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Live-server threads must not keep connections open past a test: PostgreSQL could not drop the
# test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
