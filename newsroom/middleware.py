"""Response headers the project adds on top of Django's ``SecurityMiddleware``."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Only our own scripts, styles and fonts; images from anywhere on the web (articles show the
# outlets' pictures, and ``safe_url`` lets only http(s) URLs through), nothing framed, no plugins.
# Django's admin runs under it: its scripts are files, and its inline data is JSON or data-*.
DEFAULT_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' https: http:",
    "script-src": "'self'",
    "style-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def build_policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    """Send a strict ``Content-Security-Policy`` with every response.

    ``settings.NEWSROOM_CSP`` (a mapping of directive to sources) replaces the default policy; a
    view that sets the header itself keeps its own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = build_policy(getattr(settings, "NEWSROOM_CSP", DEFAULT_POLICY))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
