"""The schedule from the article list, by keyboard alone, in a real browser: the row's own date and
time picker, in the editor's time zone, saved with Enter, still there after a reload; a refused
schedule says why under its row and writes nothing."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from curation.models import SCHEDULE_ORDER_MESSAGE, Article, ArticleChange, Provider
from tests.conftest import ARTIFACTS
from tests.test_browser_admin import shot
from tests.test_browser_desk import (
    CHANGELIST,
    focused_name,
    log_in,
    row_index,
    tab_to,
    wait_for_version,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

HELSINKI = "Europe/Helsinki"
ALL = CHANGELIST + "?reviewed=all"


@pytest.fixture
def page(browser, request):
    """As conftest's page, in a US English browser: the picker's parts are month, day, year,
    hour, minute, AM/PM, in that order (the order the keys below are typed in)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def helsinki(settings):
    """The newsroom's clock (TIME_ZONE), which the list's times are typed and shown on."""
    settings.TIME_ZONE = HELSINKI
    return zoneinfo.ZoneInfo(HELSINKI)


@pytest.fixture
def story():
    provider = Provider.objects.create(name="Harbour Gazette", domain="harbourgazette.example")
    return Article.objects.create(
        key="schedule_0",
        title="Harbour cranes go electric",
        excerpt="An excerpt.",
        published=True,
        published_at=timezone.now() - datetime.timedelta(hours=1),
        provider=provider,
        category="news",
        type="article",
        quality=20,
        heat=10,
    )


@pytest.fixture
def desk(page, live_server, editor, story, helsinki):
    from playwright.sync_api import expect

    log_in(page, live_server, editor)
    page.goto(live_server.url + ALL)
    expect(page.locator("#desk-status")).to_be_attached()  # desk.js has run
    return page


def type_moment(page, month_day_year: str, hour_minute: str, half: str) -> None:
    """Into the focused picker: its date parts, then (the year takes up to six digits, so it
    does not move on by itself) the next part, then the time."""
    page.keyboard.type(month_day_year)
    page.keyboard.press("ArrowRight")
    page.keyboard.type(hour_minute + half)


def schedule_history(pk: int) -> list[tuple]:
    return list(
        ArticleChange.objects.filter(article_id=pk, field__in=["publish_at", "unpublish_at"])
        .order_by("pk")
        .values_list("field", "old_value", "new_value", "via", "user__username")
    )


def test_editor_sets_a_publication_time_from_the_list_by_keyboard_and_it_survives_a_reload(
    desk, live_server, story
):
    from playwright.sync_api import expect

    page = desk
    page.evaluate("window.deskNoReload = true")  # gone if anything reloads the page
    index = row_index(page, story.pk)
    tab_to(page, f"form-{index}-published")
    page.keyboard.press("Alt+t")  # the row's "publish at"
    assert focused_name(page) == f"form-{index}-publish_at"
    type_moment(page, "06032030", "0830", "A")
    page.keyboard.press("Enter")
    wait_for_version(page, index, story.version + 1)
    row = page.locator("#result_list tbody tr").filter(
        has=page.locator(f'input[name="form-{index}-publish_at"]')
    )
    expect(row.locator(".desk-row-state")).to_have_text("saved")
    expect(page.locator("#desk-status")).to_contain_text("saved.")
    assert page.evaluate("window.deskNoReload") is True

    # Typed on the newsroom's clock: 08:30 in Helsinki in June is 05:30 UTC.
    fresh = Article.objects.get(pk=story.pk)
    assert fresh.publish_at == datetime.datetime(2030, 6, 3, 5, 30, tzinfo=datetime.UTC)
    assert fresh.version == story.version + 1
    [(field, old, new, via, user)] = schedule_history(story.pk)
    assert (field, old, via, user) == ("publish_at", None, "list", "edna")
    assert datetime.datetime.fromisoformat(new) == fresh.publish_at
    # Scheduled for later, it has left the public site for now.
    assert not Article.objects.published().filter(pk=story.pk).exists()
    shot(page, "desk-schedule-saved")

    page.reload()
    publish_at = page.locator(f'input[name="form-{index}-publish_at"]')
    expect(publish_at).to_have_value("2030-06-03T08:30")
    expect(page.locator(f'input[name="form-{index}-unpublish_at"]')).to_have_value("")

    # Emptied (Backspace in each part) and saved: no schedule, on the site again.
    publish_at.focus()
    for _ in range(6):
        page.keyboard.press("Backspace")
        page.keyboard.press("ArrowRight")
    expect(publish_at).to_have_value("")
    page.keyboard.press("Enter")
    wait_for_version(page, index, story.version + 2)
    assert Article.objects.get(pk=story.pk).publish_at is None
    assert Article.objects.published().filter(pk=story.pk).exists()
    page.reload()
    expect(page.locator(f'input[name="form-{index}-publish_at"]')).to_have_value("")


def test_an_end_before_the_start_is_refused_under_the_row_and_nothing_is_written(desk, story):
    from playwright.sync_api import expect

    page = desk
    index = row_index(page, story.pk)
    tab_to(page, f"form-{index}-published")
    page.keyboard.press("Alt+t")
    type_moment(page, "06032030", "0830", "A")
    tab_to(page, f"form-{index}-unpublish_at")
    type_moment(page, "06012030", "0830", "A")
    page.keyboard.press("Enter")
    message = page.locator("tr.desk-row-message")
    expect(message).to_contain_text(SCHEDULE_ORDER_MESSAGE)
    expect(page.locator(f'input[name="form-{index}-unpublish_at"]')).to_have_attribute(
        "aria-invalid", "true"
    )
    fresh = Article.objects.get(pk=story.pk)
    assert (fresh.publish_at, fresh.unpublish_at, fresh.version) == (None, None, story.version)
    assert schedule_history(story.pk) == []


def test_a_half_typed_time_is_never_sent_as_an_empty_one(desk, story):
    from playwright.sync_api import expect

    Article.objects.filter(pk=story.pk).update(
        publish_at=datetime.datetime(2030, 6, 3, 5, 30, tzinfo=datetime.UTC)
    )
    page = desk
    page.reload()
    index = row_index(page, story.pk)
    publish_at = page.locator(f'input[name="form-{index}-publish_at"]')
    expect(publish_at).to_have_value("2030-06-03T08:30")
    tab_to(page, f"form-{index}-published")
    page.keyboard.press("Alt+t")
    page.keyboard.press("Backspace")  # the month gone: the picker now reads as empty
    expect(publish_at).to_have_value("")
    page.keyboard.press("Enter")
    expect(page.locator("tr.desk-row-message")).to_contain_text(
        "\u201cPublish at\u201d is not a whole date and time"
    )
    assert Article.objects.get(pk=story.pk).publish_at == datetime.datetime(
        2030, 6, 3, 5, 30, tzinfo=datetime.UTC
    )
    assert schedule_history(story.pk) == []
