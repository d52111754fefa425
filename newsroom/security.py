"""Throttle password guessing on the admin login.

Failed logins are counted in Django's cache per client address and username, and per address
alone (so guessing many usernames is slowed too). Past the limit, the login form answers
``429 Too Many Requests`` until the window ends, even for the right password.

The counts live in the ``default`` cache: per process with the local-memory cache, shared by
every worker once ``REDIS_URL`` is set (see README, "Reliability and security").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape

USERNAME_FIELD = "username"


def limits() -> tuple[int, int, int]:
    """(failures per address and username, failures per address, window in seconds)."""
    return (
        getattr(settings, "NEWSROOM_LOGIN_FAILURE_LIMIT", 5),
        getattr(settings, "NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS", 50),
        getattr(settings, "NEWSROOM_LOGIN_FAILURE_WINDOW", 15 * 60),
    )


def client_address(request: HttpRequest) -> str:
    """The address the request came from. Behind a proxy, name the header it sets (and that
    clients cannot forge) in ``NEWSROOM_CLIENT_IP_HEADER``, e.g. ``HTTP_X_REAL_IP``."""
    header = getattr(settings, "NEWSROOM_CLIENT_IP_HEADER", "")
    address = request.META.get(header, "") if header else ""
    return address.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"newsroom:login-failures:{digest}"


def _keys(request: HttpRequest, username: str) -> tuple[str, str]:
    address = client_address(request)
    return _key(address, username.strip().lower()[:150]), _key(address)


def _count(key: str) -> int:
    return cache.get(key, 0)


def _record_failure(key: str) -> None:
    # add() starts the window with the first failure; incr() keeps its expiry.
    window = limits()[2]
    if not cache.add(key, 1, window):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, window)


def is_locked_out(request: HttpRequest, username: str) -> bool:
    per_pair, per_address, _ = limits()
    pair, address = _keys(request, username)
    return _count(pair) >= per_pair or _count(address) >= per_address


def _admin_login_path() -> str | None:
    try:
        return reverse("admin:login")
    except NoReverseMatch:  # pragma: no cover - a project without the admin
        return None


@receiver(user_login_failed, dispatch_uid="newsroom-count-login-failures")
def count_login_failure(sender: Any, credentials: dict, request: HttpRequest | None = None, **kw):
    if request is None:
        return
    pair, address = _keys(request, str(credentials.get(USERNAME_FIELD, "")))
    _record_failure(pair)
    _record_failure(address)


@receiver(user_logged_in, dispatch_uid="newsroom-reset-login-failures")
def reset_login_failures(sender: Any, request: HttpRequest | None, user: Any, **kw) -> None:
    if request is None:
        return
    cache.delete(_keys(request, user.get_username())[0])


def too_many_attempts() -> HttpResponse:
    window = limits()[2]
    minutes = max(1, window // 60)
    message = (
        "Too many failed login attempts for this account from your address. "
        f"Please wait {minutes} minutes and try again, or ask an administrator to reset "
        "your password."
    )
    response = HttpResponse(
        f"<!doctype html><title>Too many login attempts</title><h1>Too many login attempts</h1>"
        f"<p>{escape(message)}</p>",
        status=429,
    )
    response["Retry-After"] = str(window)
    return response


class AdminLoginThrottleMiddleware:
    """Answer 429 to login attempts on the admin login page past the failure limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == _admin_login_path():
            username = request.POST.get(USERNAME_FIELD, "")
            if is_locked_out(request, username):
                return too_many_attempts()
        return self.get_response(request)
