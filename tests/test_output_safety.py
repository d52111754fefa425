"""Output safety: HTML in any imported field is shown as text everywhere, and only http(s) URLs
ever become links or image sources, on every page, feed, JSON view and admin screen."""

import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django.urls import reverse

from curation.models import URL_FIELDS, Article

SCRIPT = "<script>alert(1)</script>"
HOSTILE_SEED = f"""---
category: "<b>news</b>"
title: "{SCRIPT} headline"
excerpt: "{SCRIPT} excerpt with <img src=x onerror=alert(2)>"
publishedDateTime: 2024-05-03T13:13:00Z
originalUrl: "javascript:alert(3)"
webUrl: "javascript:alert(4)"
sourceUrl: "data:text/html,{SCRIPT}"
type: article
quality: 50
heat: 10
published: true

provider:
  name: "{SCRIPT} provider"
  domain: "evil.example"

topics:
  - "{SCRIPT} topic"

images:
  - url: "data:image/svg+xml,<svg onload=alert(5)>"
    width: 100
    height: 100
    title: "{SCRIPT} image"
  - url: "javascript:alert(6)"
    title: "second image"

related:
  - title: "{SCRIPT} related"
    excerpt: "{SCRIPT} related excerpt"
    webUrl: "javascript:alert(7)"
    sourceUrl: "data:text/html,{SCRIPT}"
    provider:
      name: "{SCRIPT} related provider"
      domain: evil.example
    images:
      - url: "data:image/png;base64,AAAA"
---
<p>{SCRIPT} body</p>
"""

# href/src/action/formaction/srcset/poster pointing anywhere but http(s), relative or fragment.
DANGEROUS_ATTRIBUTE = re.compile(
    r"""\b(?:href|src|action|formaction|srcset|poster|xlink:href)\s*=\s*["']?\s*"""
    r"""(?:javascript|data|vbscript):""",
    re.IGNORECASE,
)


@pytest.fixture
def hostile_article(db, tmp_path):
    (tmp_path / "xss_article.txt").write_text(HOSTILE_SEED)
    call_command("import_seeds", str(tmp_path), stdout=io.StringIO())
    article = Article.objects.get(key="xss_article")
    assert article.published and article.title == f"{SCRIPT} headline"
    return article


def assert_safe(content: bytes | str) -> str:
    text = content.decode() if isinstance(content, bytes) else content
    assert "<script>alert(1)" not in text.lower()
    assert "<img src=x onerror" not in text.lower()
    assert "<svg onload" not in text.lower()
    match = DANGEROUS_ATTRIBUTE.search(text)
    assert match is None, match.group(0)
    return text


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response


def test_list_page_shows_html_as_text(client, hostile_article):
    text = assert_safe(fetch(client, "/").content)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; headline" in text


def test_detail_page_shows_html_as_text_and_never_links_unsafe_urls(client, hostile_article):
    text = assert_safe(fetch(client, hostile_article.get_absolute_url()).content)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; headline" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; provider" in text


URL_KEYS = {"url", "link", "href", "src", *URL_FIELDS}


def _url_values(data):
    """Values of keys a client would use as a link or an image source."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in URL_KEYS and isinstance(value, str):
                yield value
            yield from _url_values(value)
    elif isinstance(data, list):
        for item in data:
            yield from _url_values(item)


def test_json_view_keeps_html_as_text_and_offers_only_http_urls(client, hostile_article):
    response = fetch(client, reverse("curation:api-articles"))
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert_safe(response.content)
    data = json.loads(response.content)
    (result,) = data["results"]
    assert result["title"] == f"{SCRIPT} headline"  # the text itself, not mangled
    assert result["provider"]["name"] == f"{SCRIPT} provider"
    urls = list(_url_values(data))
    assert urls
    for url in urls:
        assert url == "" or url.lower().startswith(("http://", "https://", "/")), url


def _feed_texts(content: bytes, tags: tuple[str, ...]) -> list[str]:
    root = ET.fromstring(content)
    return [element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] in tags]


@pytest.mark.parametrize(
    "name, html_tags",
    [("curation:feed-rss", ("description",)), ("curation:feed-atom", ("summary", "content"))],
)
def test_feeds_escape_html_so_readers_show_it_as_text(client, hostile_article, name, html_tags):
    response = fetch(client, reverse(name))
    assert_safe(response.content)
    # Readers render RSS <description> and Atom html <summary> as HTML: the decoded text must
    # itself be escaped, or <script> comes back to life in the reader.
    for text in _feed_texts(response.content, html_tags):
        assert "<script" not in text.lower()
        assert "<img src=x" not in text.lower()
    for link in _feed_texts(response.content, ("link",)):
        assert not link.strip().lower().startswith(("javascript:", "data:"))
    root = ET.fromstring(response.content)
    for element in root.iter():
        href = element.attrib.get("href", "")
        assert not href.lower().startswith(("javascript:", "data:")), href


def test_sitemap_lists_only_our_own_pages(client, hostile_article):
    response = fetch(client, "/sitemap.xml")
    assert_safe(response.content)
    locations = _feed_texts(response.content, ("loc",))
    assert any(hostile_article.get_absolute_url() in loc for loc in locations)
    assert all(loc.startswith(("http://", "https://")) for loc in locations)


def test_admin_changelist_shows_html_as_text(admin_client, hostile_article):
    response = fetch(admin_client, reverse("admin:curation_article_changelist"))
    text = assert_safe(response.content)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; headline" in text


def test_admin_change_form_shows_html_as_text(admin_client, hostile_article):
    url = reverse("admin:curation_article_change", args=[hostile_article.pk])
    text = assert_safe(fetch(admin_client, url).content)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; headline" in text


def test_admin_search_results_show_html_as_text(admin_client, hostile_article):
    url = reverse("admin:curation_article_changelist") + "?q=%3Cscript%3E"
    assert_safe(fetch(admin_client, url).content)


@pytest.mark.parametrize(
    "model", ["provider", "topic"], ids=["provider changelist", "topic changelist"]
)
def test_admin_related_changelists_show_html_as_text(admin_client, hostile_article, model):
    assert_safe(fetch(admin_client, reverse(f"admin:curation_{model}_changelist")).content)
