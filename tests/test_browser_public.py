"""The public site in a real browser: filter, page, open a story, and screenshots for the README."""

import datetime
import hashlib
import os
import re
from pathlib import Path

import pytest

from curation.importer import import_seeds
from curation.models import Article, ArticleTopic, Provider, Topic
from tests.conftest import ARTIFACTS, SAMPLE_SEEDS

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

DOCS = Path(__file__).resolve().parent.parent / "docs"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PALETTE = (205, 170, 35, 15, 265, 140, 190, 330)  # hues for the placeholder pictures


def _placeholder_image(route):
    """Outlets' images are not reachable from the test machine: answer with a calm placeholder."""
    digest = int(hashlib.sha256(route.request.url.encode()).hexdigest(), 16)
    hue = PALETTE[digest % len(PALETTE)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900" viewBox="0 0 16 9">'
        f'<defs><linearGradient id="g" x2="1" y2="1"><stop offset="0" stop-color="hsl({hue},35%,62%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 40) % 360},30%,38%)"/></linearGradient></defs>'
        '<rect width="16" height="9" fill="url(#g)"/>'
        '<circle cx="12" cy="3" r="1.4" fill="rgba(255,255,255,.35)"/>'
        '<path d="M0 9 L5 4.5 L8 7 L11 5 L16 9 Z" fill="rgba(0,0,0,.18)"/></svg>'
    )
    route.fulfill(status=200, content_type="image/svg+xml", body=svg)


IMAGES_ON_SCREEN_LOADED = """() => Array.from(document.images).every(
    (image) => image.complete || image.getBoundingClientRect().top > window.innerHeight)"""


def _screenshot(page, path: Path, **options) -> None:
    """Saved under test-artifacts/; the README's copies under docs/ are only rewritten when
    ``NEWSROOM_UPDATE_SCREENSHOTS=1`` asks, so a test run leaves the working tree clean."""
    page.wait_for_function(IMAGES_ON_SCREEN_LOADED)
    page.screenshot(path=str(ARTIFACTS / path.name), **options)
    if os.environ.get("NEWSROOM_UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(path), **options)


def _archive_articles(count: int) -> None:
    """Older published stories under one topic, enough for a second page."""
    topic, _ = Topic.objects.get_or_create(name="Archive")
    provider, _ = Provider.objects.get_or_create(
        name="Harbour Gazette", domain="harbourgazette.example"
    )
    start = datetime.datetime(2023, 6, 1, 9, 0, tzinfo=datetime.UTC)
    for n in range(count):
        article = Article.objects.create(
            title=f"From the archive: harbour notebook, part {n + 1}",
            excerpt="A look back at a week on the waterfront, from the pages of the Gazette.",
            published=True,
            published_at=start - datetime.timedelta(days=n),
            web_url=f"https://www.harbourgazette.example/archive/notebook-{n + 1}",
            provider=provider,
            category="news",
            type="article",
        )
        ArticleTopic.objects.create(article=article, topic=topic, position=0)


def test_reader_filters_by_topic_pages_forward_and_opens_a_story(page, live_server):
    from playwright.sync_api import expect

    import_seeds([SAMPLE_SEEDS], workers=1)
    _archive_articles(30)
    page.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), _placeholder_image)

    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Top stories")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

    page.get_by_label("Topic", exact=True).select_option("Archive")
    page.get_by_label("Sort by").select_option("newest")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"topic=Archive"))
    # Only what was chosen travels in the address: no empty parameters.
    assert "q=" not in page.url and "provider=" not in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Latest stories")
    expect(page.get_by_text("30 stories", exact=True)).to_be_visible()
    expect(page.get_by_label("Topic", exact=True)).to_have_value("Archive")
    expect(page.locator(".card")).to_have_count(25)

    page.get_by_role("link", name="Older stories").click()
    expect(page).to_have_url(re.compile(r"topic=Archive.*after="))
    expect(page.get_by_text("30 stories", exact=True)).to_be_visible()
    expect(page.locator(".card")).to_have_count(5)
    expect(page.get_by_role("link", name="Older stories")).to_have_count(0)
    first_title = page.locator(".card__title").first.inner_text()

    page.get_by_role("link", name="Newer stories").click()
    expect(page).to_have_url(re.compile(r"topic=Archive.*before="))
    expect(page.locator(".card")).to_have_count(25)
    expect(page.get_by_role("link", name="Newer stories")).to_have_count(0)
    page.get_by_role("link", name="Older stories").click()
    expect(page.locator(".card__title").first).to_have_text(first_title)

    page.get_by_role("link", name=re.compile(r"^Details")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"From the archive"))
    expect(page.get_by_role("heading", name="Related coverage")).to_be_visible()

    # A story from the sample seeds, with pictures and related coverage.
    page.goto(live_server.url + "/")
    page.get_by_role("link", name=re.compile(r"^Details")).first.click()
    expect(page.locator(".story__figure img").first).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size(DESKTOP)
    _screenshot(page, DOCS / "public-detail.png")
    page.screenshot(path=str(ARTIFACTS / "public-detail-full.png"), full_page=True)

    # A bad filter value explains itself and keeps the visitor's input.
    page.goto(live_server.url + "/?min_quality=abc&provider=1")
    expect(page.get_by_role("alert")).to_contain_text("Minimum quality")
    expect(page.locator("details.filters__more")).to_have_attribute("open", "")
    page.screenshot(path=str(ARTIFACTS / "public-bad-filter.png"), full_page=True)

    page.goto(live_server.url + "/")
    expect(page.locator(".card").first).to_be_visible()
    _screenshot(page, DOCS / "public-desktop.png")
    page.set_viewport_size(PHONE)
    page.reload()  # as a phone opens it: the filters folded (static/js/site.js)
    expect(page.locator(".card").first).to_be_visible()
    expect(page.locator("details.filters")).not_to_have_attribute("open", "")
    _screenshot(page, DOCS / "public-phone.png")
    # No sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
