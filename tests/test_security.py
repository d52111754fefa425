"""Production security: deploy checks, headers, the admin under CSP, login throttling, secrets."""

import os
import re
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from newsroom.middleware import DEFAULT_POLICY, build_policy

from .conftest import PROJECT_DIR

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "production-like-" + "k" * 50,
    "DJANGO_ALLOWED_HOSTS": "news.example",
}


def run_python(args, env_changes, remove=()):
    env = dict(os.environ)
    # The test settings set these for the test process; a production run starts clean.
    for name in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECURE_SSL_REDIRECT", "DATABASE_URL"):
        env.pop(name, None)
    env.update(env_changes)
    for name in remove:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    code = "import newsroom.settings"
    result = run_python(["-c", code], {"DJANGO_DEBUG": "false"}, remove=["DJANGO_SECRET_KEY"])
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_secret_key_comes_from_the_environment():
    code = "import newsroom.settings as s; print(s.SECRET_KEY); print(s.DEBUG)"
    result = run_python(["-c", code], PRODUCTION_ENV)
    assert result.stdout.split() == [PRODUCTION_ENV["DJANGO_SECRET_KEY"], "False"]


def test_no_secret_key_is_written_in_the_settings():
    # The only literal is the debug-only fallback, which Django's deploy check flags by name.
    text = (PROJECT_DIR / "newsroom" / "settings.py").read_text()
    literals = re.findall(r"SECRET_KEY\s*=\s*['\"]([^'\"]*)", text)
    assert all(value.startswith("django-insecure-") for value in literals), literals


def test_production_defaults_are_secure():
    assert not settings.DEBUG
    assert settings.SECURE_HSTS_SECONDS >= 31536000
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.X_FRAME_OPTIONS == "DENY"
    assert settings.SECURE_CONTENT_TYPE_NOSNIFF


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/admin/login/"])
def test_every_response_carries_the_security_headers(client, url):
    response = client.get(url, secure=True)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == build_policy(DEFAULT_POLICY)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_content_security_policy_is_strict():
    policy = build_policy(DEFAULT_POLICY)
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "img-src 'self' https: http:" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)


def assert_runs_under_csp(html: str) -> None:
    """Nothing the strict policy would block: no inline scripts, handlers or styles."""
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not EVENT_HANDLER.search(html), EVENT_HANDLER.search(html).group(0)
    assert not STYLE_ATTRIBUTE.search(html), STYLE_ATTRIBUTE.search(html).group(0)
    assert not STYLE_ELEMENT.search(html)
    assert "javascript:" not in html


@pytest.mark.django_db
def test_admin_login_page_works_under_the_policy(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert_runs_under_csp(response.content.decode())


@pytest.mark.django_db
def test_admin_pages_work_under_the_policy(admin_client):
    from curation.models import Article

    article = Article.objects.create(key="csp", title="CSP", published=True)
    for url in (
        reverse("admin:index"),
        reverse("admin:curation_article_changelist"),
        reverse("admin:curation_article_change", args=[article.pk]),
        reverse("admin:curation_article_add"),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response
        assert_runs_under_csp(response.content.decode())


# --- Login throttling -----------------------------------------------------------------------


@pytest.fixture
def editor(django_user_model):
    cache.clear()
    yield django_user_model.objects.create_user(
        "editor", password="the-right-password-42", is_staff=True
    )
    cache.clear()


def attempt(client, password, username="editor", address="203.0.113.7"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=address,
    )


@pytest.mark.django_db
def test_five_failed_logins_lock_the_account_for_that_address_with_429(client, editor):
    for _ in range(5):
        assert attempt(client, "guess").status_code == 200  # the form again, with an error
    locked = attempt(client, "the-right-password-42")
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.content.decode()
    assert int(locked["Retry-After"]) == settings.NEWSROOM_LOGIN_FAILURE_WINDOW
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_lockout_does_not_spill_to_other_addresses_or_users(client, editor, django_user_model):
    django_user_model.objects.create_user("other", password="other-password-42", is_staff=True)
    for _ in range(5):
        attempt(client, "guess")
    assert attempt(client, "guess").status_code == 429
    assert attempt(client, "the-right-password-42", address="198.51.100.1").status_code == 302
    client.logout()
    assert attempt(client, "other-password-42", username="other").status_code == 302


@pytest.mark.django_db
def test_a_successful_login_resets_the_count(client, editor):
    for _ in range(4):
        attempt(client, "guess")
    assert attempt(client, "the-right-password-42").status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "guess").status_code == 200
    assert attempt(client, "the-right-password-42").status_code == 302


@pytest.mark.django_db
def test_guessing_many_usernames_from_one_address_is_throttled_too(client, editor, settings):
    settings.NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS = 8
    for number in range(8):
        assert attempt(client, "guess", username=f"user{number}").status_code == 200
    assert attempt(client, "the-right-password-42").status_code == 429


@pytest.mark.django_db
def test_the_lock_ends_with_the_window(client, editor, settings):
    settings.NEWSROOM_LOGIN_FAILURE_WINDOW = 1  # seconds, so the test can wait it out
    for _ in range(5):
        attempt(client, "guess")
    assert attempt(client, "guess").status_code == 429
    time.sleep(1.2)
    assert attempt(client, "the-right-password-42").status_code == 302


@pytest.mark.django_db
def test_reading_the_login_page_is_never_throttled(client, editor):
    for _ in range(6):
        attempt(client, "guess")
    assert client.get(reverse("admin:login"), REMOTE_ADDR="203.0.113.7").status_code == 200


# --- In a real browser: the policy is enforced and nothing on the admin or site breaks -------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_and_site_run_in_a_browser_without_a_single_policy_violation(
    page, live_server, django_user_model
):
    from curation.models import Article

    cache.clear()
    django_user_model.objects.create_superuser("root", password="a-long-admin-password")
    article = Article.objects.create(key="csp-browser", title="CSP in a browser", published=True)
    page.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), lambda route: route.abort())
    problems = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if "Content Security Policy" in message.text or message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(live_server.url + reverse("admin:login"))
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("a-long-admin-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))

    page.goto(live_server.url + reverse("admin:curation_article_changelist"))
    # actions.js (a self-hosted script) counts the selection: proof the admin's JS runs.
    page.locator("#action-toggle").check()
    assert "1 of 1 selected" in page.locator(".action-counter").inner_text()
    page.goto(live_server.url + reverse("admin:curation_article_change", args=[article.pk]))
    page.goto(live_server.url + "/")
    page.goto(live_server.url + article.get_absolute_url())
    assert problems == []
