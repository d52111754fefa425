"""The staff-only preview of the story page (issue 12, point 3): editors see any article as the
public would, published or not; nobody else learns that an unpublished article exists."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_max_age

from curation import editorial
from curation.models import Article, ArticleChange, Provider

pytestmark = pytest.mark.django_db

DRAFT_BANNER = "Preview: not published"
LIVE_BANNER = "Preview: published — this is what readers see"
NOINDEX_META = '<meta name="robots" content="noindex">'


def make_article(key: str, *, published: bool, title: str = "Harbour cranes go electric"):
    provider, _ = Provider.objects.get_or_create(
        name="Harbour Gazette", domain="harbourgazette.example"
    )
    return Article.objects.create(
        key=key,
        title=title,
        excerpt="Twelve cranes switch to shore power.",
        body="The port authority said on Monday…",
        published=published,
        published_at=timezone.now() - datetime.timedelta(hours=2),
        provider=provider,
        web_url=f"https://harbourgazette.example/{key}",
        category="news",
        type="article",
        quality=40,
        heat=12,
    )


@pytest.fixture
def draft() -> Article:
    return make_article("draft_story", published=False, title="Draft: cranes go electric")


@pytest.fixture
def live() -> Article:
    return make_article("live_story", published=True)


def preview_url(article: Article | str) -> str:
    key = article if isinstance(article, str) else article.key
    return reverse("curation:article-preview", kwargs={"key": key})


def public_url(article: Article | str) -> str:
    key = article if isinstance(article, str) else article.key
    return reverse("curation:article-detail", kwargs={"key": key})


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def story_element(html: str) -> str:
    """The ``<article>`` element of a story page: everything the public sees of the story."""
    found = re.search(r"<article class=\"story\".*?</article>", html, re.S)
    assert found is not None, "no story on the page"
    return found.group(0)


# -- who sees it ------------------------------------------------------------------------------


def test_an_editor_previews_an_unpublished_article_marked_not_published(editor_client, draft):
    response = editor_client.get(preview_url(draft))

    assert response.status_code == 200
    html = response.content.decode()
    assert DRAFT_BANNER in html
    assert LIVE_BANNER not in html
    assert "Draft: cranes go electric" in html
    assert "Twelve cranes switch to shore power." in html
    assert "<title>Preview: " in html
    # The public page of the same article is still a 404: previewing publishes nothing.
    assert editor_client.get(public_url(draft)).status_code == 404


def test_a_superuser_previews_a_published_article_marked_as_what_readers_see(super_client, live):
    response = super_client.get(preview_url(live))

    assert response.status_code == 200
    html = response.content.decode()
    assert LIVE_BANNER in html
    assert DRAFT_BANNER not in html
    assert f'href="{public_url(live)}"' in html  # the banner links to the public page


def test_the_preview_shows_the_story_exactly_as_the_public_page_does(editor_client, live):
    public = editor_client.get(public_url(live)).content.decode()
    preview = editor_client.get(preview_url(live)).content.decode()

    assert story_element(preview) == story_element(public)
    assert "preview-banner" not in public
    assert NOINDEX_META not in public


def test_the_preview_links_back_to_the_article_in_the_admin(editor_client, draft):
    html = editor_client.get(preview_url(draft)).content.decode()

    assert f'href="{reverse("admin:curation_article_change", args=[draft.pk])}"' in html


def test_a_missing_article_is_a_404_for_editors_too(editor_client):
    assert editor_client.get(preview_url("no_such_story")).status_code == 404


# -- never cached, never indexed --------------------------------------------------------------


def test_the_preview_is_never_cached_and_never_indexed(editor_client, draft):
    response = editor_client.get(preview_url(draft))

    directives = cache_directives(response)
    assert {"private", "no-store"} <= directives
    assert not any(d.startswith(("public", "s-maxage")) for d in directives)
    assert get_max_age(response) in (None, 0)
    assert response["X-Robots-Tag"] == "noindex"
    assert NOINDEX_META in response.content.decode()
    # Nothing a cache or a browser could revalidate with.
    assert "ETag" not in response
    assert "Last-Modified" not in response


def test_a_conditional_request_gets_the_whole_page_again(editor_client, draft):
    """Even a client sending validators gets a fresh page, never a 304 of an old one."""
    response = editor_client.get(
        preview_url(draft),
        headers={"if-none-match": "*", "if-modified-since": "Sun, 01 Jan 2040 00:00:00 GMT"},
    )

    assert response.status_code == 200
    assert DRAFT_BANNER in response.content.decode()


def test_the_preview_shows_an_edit_at_once(editor, editor_client, draft):
    assert DRAFT_BANNER in editor_client.get(preview_url(draft)).content.decode()
    editorial.apply_editorial_changes(
        draft, {"published": True}, user=editor, via=ArticleChange.Via.FORM
    )

    html = editor_client.get(preview_url(draft)).content.decode()
    assert LIVE_BANNER in html
    assert DRAFT_BANNER not in html


# -- everyone else: the public 404 ------------------------------------------------------------


@pytest.fixture
def staff_without_role(django_user_model):
    return django_user_model.objects.create_user("stan", password="pw", is_staff=True)


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("paula", password="pw")


@pytest.fixture
def inactive_editor(django_user_model):
    user = django_user_model.objects.create_user(
        "ivy", password="pw", is_staff=True, is_active=False
    )
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.mark.parametrize(
    "who", [None, "staff_without_role", "plain_user", "inactive_editor"], ids=str
)
@pytest.mark.parametrize("which", ["draft", "live", "missing"])
def test_anyone_else_gets_the_same_404_as_the_public_page(request, client, who, which):
    """Not a login redirect (which would say "something is here"): the very page the public
    address answers for an unpublished article, whether the article exists or not."""
    if who is not None:
        client.force_login(request.getfixturevalue(who))
    key = request.getfixturevalue(which).key if which != "missing" else "no_such_story"
    unpublished = make_article("hidden_story", published=False)

    response = client.get(preview_url(key))
    public_404 = client.get(public_url(unpublished))

    assert response.status_code == 404
    assert public_404.status_code == 404
    assert response.content == public_404.content
    assert "Location" not in response
    assert "preview" not in response.content.decode().lower()


# -- "View on site" ---------------------------------------------------------------------------


def test_view_on_site_opens_the_preview_for_an_unpublished_article(editor_client, draft):
    html = editor_client.get(reverse("admin:curation_article_change", args=[draft.pk])).content

    assert f'href="{preview_url(draft)}" class="viewsitelink"'.encode() in html


def test_view_on_site_opens_the_public_page_for_a_published_article(editor_client, live):
    html = editor_client.get(reverse("admin:curation_article_change", args=[live.pk])).content

    assert f'href="{public_url(live)}" class="viewsitelink"'.encode() in html


def test_view_on_site_follows_publishing(editor, editor_client, draft):
    editorial.apply_editorial_changes(
        draft, {"published": True}, user=editor, via=ArticleChange.Via.FORM
    )
    html = editor_client.get(reverse("admin:curation_article_change", args=[draft.pk])).content

    assert f'href="{public_url(draft)}" class="viewsitelink"'.encode() in html
