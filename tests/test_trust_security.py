"""Issue 11, points 14-17: the login throttle cannot be walked around, ``demo`` makes no
known-password superuser outside a local debug setup, proxies are trusted only when told, and
every documented setting does what the README says."""

import datetime
import json
import re
import textwrap
import threading
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from curation.models import Article
from newsroom.security import client_address, normalise_username

from .conftest import PROJECT_DIR, _require
from .test_security import PRODUCTION_ENV, run_python

PASSWORD = "the-right-password-42"
FULLWIDTH_EDITOR = "\uff45\uff44\uff49\uff54\uff4f\uff52"  # "editor" in fullwidth letters
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        _require(False, f"no Redis server answers at {REDIS_TEST_URL} (apt-get install redis)")
    return client


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request, settings):
    """The login counts in either cache the README offers: local memory and Redis."""
    if request.param == "redis":
        redis_client().flushdb()
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_TEST_URL,
            }
        }
    cache.clear()
    yield request.param
    cache.clear()


@pytest.fixture
def editor(django_user_model, shared_cache):
    return django_user_model.objects.create_user("editor", password=PASSWORD, is_staff=True)


def attempt(client, password, username="editor", address="203.0.113.7", **headers):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=address,
        **headers,
    )


# --- 14. The login throttle ------------------------------------------------------------------


def test_usernames_are_keyed_the_way_the_login_form_reads_them():
    assert normalise_username(FULLWIDTH_EDITOR) == "editor"
    assert normalise_username("  Editor\u3000") == "editor"
    assert normalise_username("e\u0301ditor") == normalise_username("\u00e9ditor")


@pytest.mark.django_db
def test_a_fullwidth_lookalike_is_the_same_account(client, editor):
    # The premise: Django's login form NFKC-normalises, so the look-alike logs in as "editor".
    assert attempt(client, PASSWORD, username=FULLWIDTH_EDITOR).status_code == 302
    assert client.session["_auth_user_id"] == str(editor.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("lookalike", [FULLWIDTH_EDITOR, "EDITOR", " editor "])
def test_a_lookalike_of_a_locked_username_is_locked_out_too(client, editor, lookalike):
    for _ in range(5):
        assert attempt(client, "guess").status_code == 200
    assert attempt(client, PASSWORD, username=lookalike).status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_guesses_under_a_lookalike_count_against_the_real_username(client, editor):
    for _ in range(5):
        assert attempt(client, "guess", username=FULLWIDTH_EDITOR).status_code == 200
    assert attempt(client, PASSWORD).status_code == 429


class Gate:
    """Holds every password check until the test has seen all requests arrive."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.checking = 0
        self.answered: list[int] = []
        self.open = False


GATE = Gate()


class GatedBackend(ModelBackend):
    """The model backend, but a password check waits at the gate: without an atomic count,
    every concurrent request would be let through to here before the first one failed."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        with GATE.condition:
            GATE.checking += 1
            GATE.condition.notify_all()
            GATE.condition.wait_for(lambda: GATE.open, timeout=60)
        return super().authenticate(request, username=username, password=password, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_wrong_passwords_get_at_most_the_limit_checked(
    editor, settings, shared_cache
):
    global GATE
    GATE = gate = Gate()
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.GatedBackend"]

    def guess() -> None:
        try:
            status = attempt(Client(), "wrong password").status_code
        finally:
            connections.close_all()
        with gate.condition:
            gate.answered.append(status)
            gate.condition.notify_all()

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for thread in threads:
        thread.start()
    with gate.condition:
        # Every request is now either waiting for its password check or already refused.
        arrived = gate.condition.wait_for(
            lambda: gate.checking + len(gate.answered) == 30, timeout=60
        )
        checked_at_once = gate.checking
        gate.open = True
        gate.condition.notify_all()
    for thread in threads:
        thread.join(timeout=60)
    assert arrived
    assert checked_at_once == settings.NEWSROOM_LOGIN_FAILURE_LIMIT
    assert sorted(gate.answered) == [200] * 5 + [429] * 25
    # ... and the account stays locked for that address afterwards.
    assert attempt(Client(), PASSWORD).status_code == 429


@pytest.fixture
def behind_one_proxy(settings):
    settings.NEWSROOM_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.NEWSROOM_TRUSTED_PROXY_COUNT = 1


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_does_not_change_the_counted_address(
    client, editor, behind_one_proxy
):
    proxy = "10.0.0.2"
    for number in range(5):
        # The proxy appends the address it saw; whatever the client wrote stays to its left.
        spoof = f"192.0.2.{number}, 198.51.100.{number}"
        forwarded = f"{spoof}, 203.0.113.7"
        response = attempt(client, "guess", address=proxy, HTTP_X_FORWARDED_FOR=forwarded)
        assert response.status_code == 200
    locked = attempt(
        client, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.7"
    )
    assert locked.status_code == 429
    # Another client behind the same proxy is not locked out.
    other = attempt(client, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == 302


def forwarded_request(forwarded: str | None, remote: str = "10.0.0.2"):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("header", "proxies", "forwarded", "expected"),
    [
        ("", 1, "192.0.2.1, 203.0.113.7", "10.0.0.2"),  # no header configured: ignored
        ("X-Forwarded-For", 1, "192.0.2.1, 203.0.113.7", "203.0.113.7"),
        ("HTTP_X_FORWARDED_FOR", 1, "203.0.113.7", "203.0.113.7"),
        ("x-forwarded-for", 2, "192.0.2.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        ("X-Forwarded-For", 2, "203.0.113.7", "203.0.113.7"),  # fewer entries than proxies
        ("X-Forwarded-For", 1, None, "10.0.0.2"),  # header missing: the connection's address
        ("X-Forwarded-For", 1, " , ", "10.0.0.2"),
        ("X-Forwarded-For", 1, "2001:DB8::0:1", "2001:db8::1"),  # one spelling per address
    ],
)
def test_the_client_address_is_the_one_the_trusted_proxy_wrote(
    settings, header, proxies, forwarded, expected
):
    settings.NEWSROOM_CLIENT_IP_HEADER = header
    settings.NEWSROOM_TRUSTED_PROXY_COUNT = proxies
    assert client_address(forwarded_request(forwarded)) == expected


@pytest.mark.django_db
def test_a_refused_attempt_does_not_use_up_the_address_allowance(client, editor, settings):
    settings.NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS = 8
    for _ in range(5):
        attempt(client, "guess")
    for _ in range(10):  # hammering the locked account checks no password
        assert attempt(client, "guess").status_code == 429
    for number in range(3):  # 5 checked + 3 = the address's 8
        assert attempt(client, "guess", username=f"user{number}").status_code == 200
    assert attempt(client, "guess", username="user9").status_code == 429


@pytest.mark.django_db
def test_a_forged_cross_site_login_post_does_not_count(editor):
    client = Client(enforce_csrf_checks=True)
    for _ in range(10):
        assert attempt(client, "guess").status_code == 403  # CSRF failure, no password checked
    client.get(reverse("admin:login"), REMOTE_ADDR="203.0.113.7")
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("admin:login"),
        {"username": "editor", "password": PASSWORD, "csrfmiddlewaretoken": token},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302


# --- 15. demo --------------------------------------------------------------------------------


def demo(*args, **kwargs):
    return call_command("demo", "--no-serve", *args, **kwargs)


@pytest.mark.django_db
def test_demo_refuses_without_debug_and_says_why_and_how(settings, django_user_model):
    settings.DEBUG = False
    with pytest.raises(CommandError) as refused:
        demo(stdout=StringIO())
    message = str(refused.value)
    assert "local debug setup" in message
    assert "DJANGO_DEBUG=true" in message and "DATABASE_URL" in message and "--force" in message
    assert "DEBUG=False" in message
    assert not django_user_model.objects.filter(username__in=["admin", "editor"]).exists()
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_demo_refuses_a_database_that_is_not_a_local_sqlite_file(
    settings, monkeypatch, django_user_model
):
    from curation.management.commands import demo as demo_module

    settings.DEBUG = True
    postgres = SimpleNamespace(
        vendor="postgresql", settings_dict={"NAME": "newsroom", "HOST": "db.example"}
    )
    monkeypatch.setattr(demo_module, "connection", postgres)
    with pytest.raises(CommandError, match=r"database: postgresql newsroom at db\.example"):
        demo(stdout=StringIO())
    assert not django_user_model.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_demo_is_local_only_on_sqlite_with_debug(settings):
    from django.db import connection

    from curation.management.commands.demo import local_debug_setup

    settings.DEBUG = True
    assert local_debug_setup()[0] == (connection.vendor == "sqlite")
    settings.DEBUG = False
    assert local_debug_setup()[0] is False


@pytest.mark.django_db
def test_demo_force_overrides_with_a_loud_warning(settings, client):
    settings.DEBUG = False
    err = StringIO()
    demo("--force", stdout=StringIO(), stderr=err)
    assert "WARNING: --force" in err.getvalue()
    assert "superuser" in err.getvalue() and "change both passwords" in err.getvalue()
    assert client.login(username="admin", password="newsroom-admin")


def test_manage_py_demo_against_a_database_url_refuses_before_touching_it():
    # manage.py turns debug on; the PostgreSQL URL alone must be enough to refuse (and nothing
    # connects to it: the host does not exist).
    result = run_python(
        ["manage.py", "demo", "--no-serve"],
        {"DATABASE_URL": "postgres://newsroom@db.invalid:5432/newsroom"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "runs only in a local debug setup" in result.stderr
    assert "postgresql newsroom at db.invalid" in result.stderr


# --- 16. Proxies and absolute URLs -----------------------------------------------------------


def setting(expression: str, env: dict[str, str], remove=()) -> object:
    """The value of ``expression`` over the settings module ``s`` loaded with ``env``."""
    code = f"import json, newsroom.settings as s; print(json.dumps({expression}))"
    result = run_python(["-c", code], env, remove=remove)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(env: dict[str, str]) -> str:
    result = run_python(["-c", "import newsroom.settings"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_proxy_headers_are_trusted_only_when_the_operator_says_so():
    assert setting("s.__dict__.get('SECURE_PROXY_SSL_HEADER')", PRODUCTION_ENV) is None
    trusted = setting("s.SECURE_PROXY_SSL_HEADER", {**PRODUCTION_ENV, "NEWSROOM_TRUST_PROXY": "1"})
    assert trusted == ["HTTP_X_FORWARDED_PROTO", "https"]
    # The Host header is never taken from X-Forwarded-Host, trusted proxy or not.
    assert setting("s.__dict__.get('USE_X_FORWARDED_HOST', False)", PRODUCTION_ENV) is False


@pytest.mark.django_db
def test_a_client_cannot_claim_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/"


@pytest.mark.django_db
def test_a_trusted_proxy_says_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


@pytest.fixture
def public_articles(db):
    cache.clear()
    start = timezone.now() - datetime.timedelta(days=1)
    articles = [
        Article.objects.create(
            key=f"trust-{number:02}",
            title=f"Story {number}",
            published=True,
            published_at=start + datetime.timedelta(minutes=number),
        )
        for number in range(26)  # one more than a page: the JSON has a "next" link
    ]
    yield articles
    cache.clear()


XML_NAMESPACES = {
    "http://www.w3.org/2005/Atom",
    "http://www.sitemaps.org/schemas/sitemap/0.9",
    "http://www.w3.org/1999/xhtml",
}


def absolute_urls(client, host: str) -> list[str]:
    """Every absolute URL the site writes: JSON (items, next), RSS and Atom, the sitemap."""
    data = client.get(reverse("curation:api-articles"), HTTP_HOST=host).json()
    urls = [item["url"] for item in data["results"]] + [data["next"]]
    for name in ("curation:feed-rss", "curation:feed-atom", "curation:sitemap"):
        text = client.get(reverse(name), HTTP_HOST=host).content.decode()
        urls += [
            url for url in re.findall(r"https?://[^<\"\s]+", text) if url not in XML_NAMESPACES
        ]
    return urls


@pytest.mark.django_db
def test_a_host_port_is_not_echoed_into_absolute_urls(client, settings, public_articles):
    settings.ALLOWED_HOSTS = ["news.example"]
    urls = absolute_urls(client, "news.example:6666")
    assert len(urls) > 26 * 3
    assert [url for url in urls if not url.startswith("http://news.example/")] == []


@pytest.mark.django_db
def test_absolute_urls_use_the_configured_site_url(client, settings, public_articles):
    settings.ALLOWED_HOSTS = ["news.example", "internal.example"]
    settings.NEWSROOM_SITE_URL = "https://news.example:8443"
    urls = absolute_urls(client, "internal.example:6666")
    assert len(urls) > 26 * 3
    assert [url for url in urls if not url.startswith("https://news.example:8443/")] == []
    data = client.get(reverse("curation:api-articles"), HTTP_HOST="internal.example").json()
    assert data["results"][0]["url"] == "https://news.example:8443/articles/trust-25/"


@pytest.mark.django_db
def test_debug_keeps_the_development_servers_port(client, settings, public_articles):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    data = client.get(reverse("curation:api-articles"), HTTP_HOST="127.0.0.1:8000").json()
    assert data["results"][0]["url"] == "http://127.0.0.1:8000/articles/trust-25/"


@pytest.mark.parametrize(
    "value",
    ["news.example", "ftp://news.example", "https://news.example/news", "https://u@news.example"],
)
def test_a_site_url_that_is_not_scheme_and_host_is_refused(value):
    line = refusal({**PRODUCTION_ENV, "NEWSROOM_SITE_URL": value})
    assert "NEWSROOM_SITE_URL" in line and "e.g. https://news.example" in line


# --- 17. Every documented setting ------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expression", "expected"),
    [
        (
            {"DATABASE_URL": "postgres://news:pw@db.example:5433/newsroom"},
            "[s.DATABASES['default'][k] for k in ('ENGINE', 'NAME', 'HOST', 'PORT', 'USER')]",
            ["django.db.backends.postgresql", "newsroom", "db.example", 5433, "news"],
        ),
        (
            {},
            "[s.DATABASES['default']['ENGINE'], str(s.DATABASES['default']['NAME'])]",
            ["django.db.backends.sqlite3", str(PROJECT_DIR / "db.sqlite3")],
        ),
        ({"DJANGO_DEBUG": "true"}, "s.DEBUG", True),
        ({"DJANGO_DEBUG": "off"}, "s.DEBUG", False),
        (
            {"DJANGO_ALLOWED_HOSTS": "news.example, www.news.example,"},
            "s.ALLOWED_HOSTS",
            ["news.example", "www.news.example"],
        ),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "s.ALLOWED_HOSTS", []),
        (
            {"DJANGO_DEBUG": "true", "DJANGO_ALLOWED_HOSTS": None},
            "s.ALLOWED_HOSTS",
            ["localhost", "127.0.0.1", "[::1]"],
        ),
        (
            {"DJANGO_CSRF_TRUSTED_ORIGINS": "https://news.example,https://admin.example"},
            "s.CSRF_TRUSTED_ORIGINS",
            ["https://news.example", "https://admin.example"],
        ),
        ({}, "s.SECURE_SSL_REDIRECT", True),
        ({"DJANGO_SECURE_SSL_REDIRECT": "false"}, "s.SECURE_SSL_REDIRECT", False),
        ({"DJANGO_DEBUG": "true"}, "s.SECURE_SSL_REDIRECT", False),
        ({}, "s.SECURE_HSTS_SECONDS", 31536000),
        ({"DJANGO_HSTS_SECONDS": "600"}, "s.SECURE_HSTS_SECONDS", 600),
        ({"DJANGO_DEBUG": "true"}, "s.SECURE_HSTS_SECONDS", 0),
        ({}, "s.CACHES['default']['BACKEND']", "django.core.cache.backends.locmem.LocMemCache"),
        (
            {"REDIS_URL": REDIS_TEST_URL},
            "[s.CACHES['default'][k] for k in ('BACKEND', 'LOCATION')]",
            ["django.core.cache.backends.redis.RedisCache", REDIS_TEST_URL],
        ),
        ({}, "s.NEWSROOM_SEED_MAX_BYTES", 2 * 1024 * 1024),
        ({"NEWSROOM_SEED_MAX_BYTES": "4096"}, "s.NEWSROOM_SEED_MAX_BYTES", 4096),
        (
            {},
            "[s.NEWSROOM_LOGIN_FAILURE_LIMIT, s.NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS,"
            " s.NEWSROOM_LOGIN_FAILURE_WINDOW]",
            [5, 50, 900],
        ),
        (
            {
                "NEWSROOM_LOGIN_FAILURE_LIMIT": "3",
                "NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS": "20",
                "NEWSROOM_LOGIN_FAILURE_WINDOW": "60",
            },
            "[s.NEWSROOM_LOGIN_FAILURE_LIMIT, s.NEWSROOM_LOGIN_FAILURE_LIMIT_PER_ADDRESS,"
            " s.NEWSROOM_LOGIN_FAILURE_WINDOW]",
            [3, 20, 60],
        ),
        (
            {},
            "[s.NEWSROOM_CLIENT_IP_HEADER, s.NEWSROOM_TRUSTED_PROXY_COUNT, s.NEWSROOM_TRUST_PROXY,"
            " s.NEWSROOM_SITE_URL]",
            ["", 1, False, ""],
        ),
        (
            {
                "NEWSROOM_CLIENT_IP_HEADER": "X-Forwarded-For",
                "NEWSROOM_TRUSTED_PROXY_COUNT": "2",
                "NEWSROOM_TRUST_PROXY": "true",
                "NEWSROOM_SITE_URL": "https://news.example/",
            },
            "[s.NEWSROOM_CLIENT_IP_HEADER, s.NEWSROOM_TRUSTED_PROXY_COUNT, s.NEWSROOM_TRUST_PROXY,"
            " s.NEWSROOM_SITE_URL]",
            ["X-Forwarded-For", 2, True, "https://news.example"],
        ),
    ],
)
def test_each_documented_setting_is_read_from_the_environment(env, expression, expected):
    # None: the variable is unset (PRODUCTION_ENV sets some), so the default applies.
    unset = [name for name, value in env.items() if value is None]
    changes = {name: value for name, value in env.items() if value is not None}
    assert setting(expression, {**PRODUCTION_ENV, **changes}, remove=unset) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("DJANGO_HSTS_SECONDS", "a year"),
        ("NEWSROOM_SEED_MAX_BYTES", "2MB"),
        ("NEWSROOM_SEED_MAX_BYTES", "0"),
        ("NEWSROOM_LOGIN_FAILURE_LIMIT", "0"),
        ("NEWSROOM_LOGIN_FAILURE_WINDOW", "-5"),
        ("NEWSROOM_TRUSTED_PROXY_COUNT", "0"),
        ("NEWSROOM_TRUST_PROXY", "sometimes"),
    ],
)
def test_a_setting_with_a_bad_value_is_refused_by_name(name, value):
    assert f"{name}={value!r}" in refusal({**PRODUCTION_ENV, name: value})


def test_redis_url_makes_every_process_share_one_cache():
    """Two processes (two gunicorn workers) configured with REDIS_URL see each other's values,
    and the login counts live there (an atomic counter, readable by a plain Redis client)."""
    redis = redis_client()
    redis.flushdb()
    env = {**PRODUCTION_ENV, "REDIS_URL": REDIS_TEST_URL, "DJANGO_SETTINGS_MODULE": ""}
    prelude = textwrap.dedent(
        """
        import os, django
        os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
        django.setup()
        from django.core.cache import cache
        """
    )
    writer = prelude + textwrap.dedent(
        """
        from django.test import RequestFactory
        from newsroom.security import reserve_attempt
        cache.set("shared-by-workers", {"written": os.getpid()}, 60)
        request = RequestFactory().post("/admin/login/", REMOTE_ADDR="203.0.113.7")
        for _ in range(3):
            assert reserve_attempt(request, "editor") is not None
        from django.core.cache import caches
        print(type(caches["default"]).__name__)
        """
    )
    reader = prelude + textwrap.dedent(
        """
        from django.test import RequestFactory
        from newsroom.security import _keys
        request = RequestFactory().post("/admin/login/", REMOTE_ADDR="203.0.113.7")
        print(cache.get("shared-by-workers")["written"] != os.getpid())
        print(cache.get(_keys(request, "editor")[0]))
        """
    )
    written = run_python(["-c", writer], env)
    assert written.returncode == 0, written.stderr
    assert written.stdout.split() == ["RedisCache"]
    read = run_python(["-c", reader], env)
    assert read.returncode == 0, read.stderr
    assert read.stdout.split() == ["True", "3"]
    redis.flushdb()


@pytest.mark.django_db
def test_seed_max_bytes_is_the_default_limit_of_import_seeds(tmp_path, settings):
    (tmp_path / "big.txt").write_text("A plain-text seed.\n" + "x" * 300 + "\n")
    settings.NEWSROOM_SEED_MAX_BYTES = 200
    err = StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_seeds", str(tmp_path), stdout=StringIO(), stderr=err)
    assert "over the 200-byte limit" in err.getvalue()
    assert not Article.objects.exists()
    settings.NEWSROOM_SEED_MAX_BYTES = 1000
    call_command("import_seeds", str(tmp_path), stdout=StringIO(), stderr=StringIO())
    assert Article.objects.count() == 1


@pytest.mark.django_db
def test_the_login_limit_setting_is_the_number_of_guesses(client, editor, settings):
    settings.NEWSROOM_LOGIN_FAILURE_LIMIT = 2
    assert attempt(client, "guess").status_code == 200
    assert attempt(client, "guess").status_code == 200
    assert attempt(client, PASSWORD).status_code == 429


@pytest.mark.django_db
def test_allowed_hosts_refuses_other_hosts(client, settings):
    settings.ALLOWED_HOSTS = ["news.example"]
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/", HTTP_HOST="news.example").status_code == 200


@pytest.mark.django_db
def test_csrf_trusted_origins_let_that_origin_post(settings, editor):
    settings.ALLOWED_HOSTS = ["news.example"]

    def login_posted_from(origin: str) -> int:
        client = Client(enforce_csrf_checks=True)  # a new one: the middleware reads settings once
        client.get(reverse("admin:login"), HTTP_HOST="news.example", secure=True)
        data = {
            "username": "editor",
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        }
        post = {"HTTP_HOST": "news.example", "secure": True, "HTTP_ORIGIN": origin}
        return client.post(reverse("admin:login"), data, **post).status_code

    assert login_posted_from("https://admin.example") == 403
    settings.CSRF_TRUSTED_ORIGINS = ["https://admin.example"]
    assert login_posted_from("https://admin.example") == 302


def test_every_setting_the_code_reads_is_documented_in_the_readme():
    text = (PROJECT_DIR / "newsroom" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', text))
    read |= set(re.findall(r'os\.environ(?:\.get\(|\[)"([A-Z_]+)"', text))
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", (PROJECT_DIR / "README.md").read_text()))
    assert "DATABASE_URL" in read and "REDIS_URL" in read  # the patterns still find settings
    assert sorted(read - documented) == []
