"""Who is asking, and from where: the admin login throttle, the client's address, and the
scheme and host written into absolute URLs.

Login attempts are counted in Django's cache per client address and username, and per address
alone (so guessing many usernames is slowed too). Past the limit, the login form answers
``429 Too Many Requests`` until the window ends, even for the right password.

- An attempt is counted *before* its password is checked (an atomic ``add``/``incr``), and it
  goes ahead only if the count it produced is within the limit: thirty concurrent guesses get
  five checks, not thirty. Refused attempts give their count back; a successful login clears the
  username's count and gives back its own.
- The username is keyed the way the login form hands it to the auth backend (stripped and NFKC
  normalised, so the fullwidth look-alike of ``editor`` *is* ``editor``), case-folded on top.
- The address is ``REMOTE_ADDR`` unless a proxy header is configured, and then only the entry
  the trusted proxy wrote (see ``client_address``), never what the client put in front of it.

The counts live in the ``default`` cache: per process with the local-memory cache, shared by
every worker once ``REDIS_URL`` is set (see README, "Reliability and security").
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import unicodedata
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.urls import NoReverseMatch, reverse
from django.utils.encoding import iri_to_uri
from django.utils.html import escape

USERNAME_FIELD = "username"
PASSWORD_FIELD = "password"


def limits() -> tuple[int, int, int]:
    """(failures per address and username, failures per address, window in seconds)."""
    return (
        getattr(settings, "NEWSROOM_LOGIN_FAILURE_LIMIT", 5),
        getattr(settings, "NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS", 50),
        getattr(settings, "NEWSROOM_LOGIN_FAILURE_WINDOW", 15 * 60),
    )


def _meta_key(header: str) -> str:
    """``X-Real-IP`` and ``HTTP_X_REAL_IP`` both name ``request.META["HTTP_X_REAL_IP"]``."""
    name = header.strip().upper().replace("-", "_")
    return name if name == "REMOTE_ADDR" or name.startswith("HTTP_") else f"HTTP_{name}"


def client_address(request: HttpRequest) -> str:
    """The address the request came from.

    Without ``NEWSROOM_CLIENT_IP_HEADER`` that is ``REMOTE_ADDR``. With it (behind a proxy), each
    proxy appends the address it saw to the right of the header, and anything to the left was
    written by the client: the client's address is the ``NEWSROOM_TRUSTED_PROXY_COUNT``-th
    entry from the right.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    header = getattr(settings, "NEWSROOM_CLIENT_IP_HEADER", "")
    if not header:
        return remote
    entries = [entry.strip() for entry in request.META.get(_meta_key(header), "").split(",")]
    entries = [entry for entry in entries if entry]
    if not entries:
        return remote
    proxies = max(1, getattr(settings, "NEWSROOM_TRUSTED_PROXY_COUNT", 1))
    address = entries[max(0, len(entries) - proxies)]
    try:
        return str(ipaddress.ip_address(address))  # one spelling per address
    except ValueError:  # e.g. "host:port" from some proxies: still the proxy's own entry
        return address[:100]


def normalise_username(username: str) -> str:
    """The username as the login form hands it to the auth backend (stripped, NFKC), folded.

    NFKC makes the fullwidth look-alike of ``editor`` log in as ``editor``, so both must share
    one count; case-folding on top errs on the side of locking (``Editor`` counts as ``editor``
    too, although usernames are case-sensitive).
    """
    typed = unicodedata.normalize("NFKC", username.strip())
    return unicodedata.normalize("NFKC", typed.casefold())


def _key(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"newsroom:login-failures:{digest}"


def _keys(request: HttpRequest, username: str) -> tuple[str, str]:
    address = client_address(request)
    return _key(address, normalise_username(username)), _key(address)


def _increment(key: str, window: int) -> int:
    """Add one to the count at ``key`` and return the new count, atomically (``add`` and
    ``incr`` are atomic in the local-memory cache and in Redis)."""
    while True:
        if cache.add(key, 1, window):  # the first attempt starts the window
            return 1
        try:
            return cache.incr(key)  # keeps the window's expiry
        except ValueError:  # expired between add() and incr(): start a new window
            continue


def _decrement(key: str) -> None:
    with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to give back
        cache.decr(key)


def reserve_attempt(request: HttpRequest, username: str) -> tuple[str, str] | None:
    """Count one login attempt before its password is checked; ``None`` if it must not be.

    Each attempt judges the count it produced itself, so however many run at once, at most the
    limit get their password checked. A refused attempt gives its count back (it checked
    nothing), so hammering a locked account does not use up the address's allowance.
    """
    per_pair, per_address, window = limits()
    pair, address = _keys(request, username)
    if _increment(pair, window) > per_pair:
        _decrement(pair)
        return None
    if _increment(address, window) > per_address:
        _decrement(address)
        _decrement(pair)
        return None
    return pair, address


def _admin_login_path() -> str | None:
    try:
        return reverse("admin:login")
    except NoReverseMatch:  # pragma: no cover - a project without the admin
        return None


@receiver(user_logged_in, dispatch_uid="newsroom-reset-login-failures")
def reset_login_failures(sender: Any, request: HttpRequest | None, user: Any, **kw) -> None:
    """The right password clears the username's count; the address's allowance gets back the
    attempt that succeeded (only failures use it up)."""
    if request is None:
        return
    attempt = getattr(request, "_newsroom_login_attempt", None)
    if attempt is not None:
        _decrement(attempt[1])
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
    """Count each login attempt on the admin login page before its password is checked, and
    answer 429 to those past the limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        # process_view runs after CsrfViewMiddleware's (earlier in MIDDLEWARE), so a forged
        # cross-site POST is refused before it can count against its victim's address.
        if request.method != "POST" or request.path != _admin_login_path():
            return None
        username = request.POST.get(USERNAME_FIELD, "")
        if not username or not request.POST.get(PASSWORD_FIELD, ""):
            return None  # the form refuses it without checking any password
        attempt = reserve_attempt(request, username)
        if attempt is None:
            return too_many_attempts()
        request._newsroom_login_attempt = attempt
        return None


# --- Absolute URLs ---------------------------------------------------------------------------


def site_scheme(request_scheme: str) -> str:
    """The scheme absolute URLs use: ``NEWSROOM_SITE_URL``'s when set, else the request's."""
    site_url = getattr(settings, "NEWSROOM_SITE_URL", "")
    return site_url.partition("://")[0] if site_url else request_scheme


def site_host(request_host: str) -> str:
    """The host (and port) absolute URLs use: ``NEWSROOM_SITE_URL``'s when set. Otherwise the
    request's, which Django has checked against ``ALLOWED_HOSTS`` by name but not by port: a
    client could choose the port every feed and JSON link points at (and a shared cache could
    keep it), so with debug off the Host header's port is dropped."""
    site_url = getattr(settings, "NEWSROOM_SITE_URL", "")
    if site_url:
        return site_url.partition("://")[2]
    if settings.DEBUG:
        return request_host
    domain, _port = split_domain_port(request_host)
    return domain or request_host


def absolute_url(request: HttpRequest, path: str) -> str:
    """``path`` (from ``reverse()`` or ``get_absolute_url()``) as an absolute URL for feeds, the
    sitemap and the JSON API; the one place their scheme and host are decided."""
    origin = f"{site_scheme(request.scheme)}://{site_host(request.get_host())}"
    return iri_to_uri(origin + path)
