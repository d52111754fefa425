"""The front page in a real browser, on a desktop and a phone: the ordering's heading, a pin
and its end, a scheduled story appearing and vanishing, dark mode and the phone's first screen.

The clock moves by patching ``django.utils.timezone.now`` (the live server runs in this
process), never by sleeping."""

import datetime
import re

import pytest
from django.utils import timezone

from curation.models import Article, ArticleTopic, Provider, Topic
from tests.test_browser_public import DESKTOP, PHONE, _placeholder_image

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock(monkeypatch):
    from curation import filters

    moment = {"now": NOW}
    monkeypatch.setattr(timezone, "now", lambda: moment["now"])
    # With the clock stopped, two tests' writes carry the same times: forget the moments read.
    filters._DERIVED.clear()
    return moment


def _stories(count: int = 8) -> None:
    provider, _ = Provider.objects.get_or_create(name="Harbour Gazette", domain="hg.example")
    topic, _ = Topic.objects.get_or_create(name="Harbour")
    for n in range(count):
        article = Article.objects.create(
            title=f"Harbour story number {n + 1}",
            excerpt="The tide, the ferries and the people who work the quays.",
            published=True,
            published_at=NOW - datetime.timedelta(hours=n + 1),
            heat=10 * (count - n),
            web_url=f"https://hg.example/{n}",
            provider=provider,
        )
        ArticleTopic.objects.create(article=article, topic=topic, position=0)


def _titles(page) -> list[str]:
    return [title.strip() for title in page.locator(".card__title").all_inner_texts()]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_ordering_heading_pin_and_schedule_move_with_the_clock(page, live_server, clock, viewport):
    from playwright.sync_api import expect

    page.set_viewport_size(viewport)
    page.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), _placeholder_image)
    _stories()
    Article.objects.create(
        title="Pinned harbour notice",
        published=True,
        published_at=NOW - datetime.timedelta(days=3),
        pinned_until=NOW + datetime.timedelta(hours=1),
        web_url="https://hg.example/pinned",
    )
    Article.objects.create(
        title="Embargoed ferry timetable",
        published=True,
        published_at=NOW,
        heat=500,
        publish_at=NOW + datetime.timedelta(minutes=30),
        unpublish_at=NOW + datetime.timedelta(hours=2),
        web_url="https://hg.example/embargo",
    )

    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Top stories")
    assert _titles(page)[0] == "Pinned harbour notice"
    expect(page.locator(".card").first.locator(".badge--pinned")).to_have_text("Pinned")
    assert "Embargoed ferry timetable" not in _titles(page)

    page.get_by_role("link", name="Latest", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Latest stories")
    assert _titles(page)[0] == "Harbour story number 1"

    clock["now"] = NOW + datetime.timedelta(minutes=31)  # the embargo lifts
    page.goto(live_server.url + "/")
    assert _titles(page)[:2] == ["Pinned harbour notice", "Embargoed ferry timetable"]

    clock["now"] = NOW + datetime.timedelta(minutes=90)  # the pin ends by itself
    page.goto(live_server.url + "/")
    titles = _titles(page)
    assert titles[0] == "Embargoed ferry timetable" and titles[-1] == "Pinned harbour notice"
    expect(page.locator(".badge--pinned")).to_have_count(0)

    clock["now"] = NOW + datetime.timedelta(hours=3)  # the story is taken off on time
    page.goto(live_server.url + "/")
    assert "Embargoed ferry timetable" not in _titles(page)
    response = page.goto(
        live_server.url
        + "/articles/"
        + Article.objects.get(title="Embargoed ferry timetable").key
        + "/"
    )
    assert response.status == 404


def test_dark_mode_follows_the_readers_choice(page, live_server, clock):
    _stories(3)
    page.emulate_media(color_scheme="light")
    page.goto(live_server.url + "/")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light == "rgb(250, 248, 244)"
    assert dark == "rgb(20, 19, 17)"
    card = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
    assert card == "rgb(30, 28, 25)"


def test_on_a_phone_the_first_story_is_on_the_first_screen(page, live_server, clock):
    from playwright.sync_api import expect

    from curation.models import ArticleImage

    _stories()
    for article in Article.objects.all()[:2]:
        ArticleImage.objects.create(
            article=article, position=0, url=f"https://img.example/broken-{article.pk}.jpg"
        )
    page.set_viewport_size(PHONE)
    page.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), _placeholder_image)
    page.route(re.compile(r"broken-"), lambda route: route.fulfill(status=404, body=""))
    page.goto(live_server.url + "/")
    # The filters are folded behind their button; the first story's title is on screen.
    expect(page.locator("details.filters")).not_to_have_attribute("open", "")
    expect(page.get_by_label("Search")).to_be_hidden()
    box = page.locator(".card__title").first.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"], box
    page.get_by_text("Filter and sort stories").click()
    expect(page.get_by_label("Search")).to_be_visible()
    # A picture that fails to load gives way to the placeholder, as a missing one does.
    expect(page.locator(".card__media.is-missing")).to_have_count(page.locator(".card").count())
    expect(page.locator(".card__media img")).to_have_count(0)
    expect(page.locator(".card__placeholder").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
