"""The desk's layout in a real browser (issue 12, point 4): the article list fits a 1366 px
laptop without a horizontal scroll, titles are two lines with the whole title on hover, the
filters sit in a drawer the keyboard opens and closes, a phone shows each row's editorial inputs,
and "Article changes" fits too, with values written the same way as everywhere else.

Screenshots land in test-artifacts/ (desk-*.png)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from curation import editorial
from curation.importer import import_seeds
from curation.models import Article, ArticleChange
from curation.templatetags.feedtext import isolate_text
from tests.conftest import ARTIFACTS, SAMPLE_SEEDS
from tests.test_browser_admin import OUTSIDE, PASSWORD, _placeholder, editors_group

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
CHANGELIST = reverse("admin:curation_article_changelist")
CHANGES = reverse("admin:curation_articlechange_changelist")
# Longer than two lines of the title column at any width the desk has.
LONG_TITLE = (
    "Harbour authority confirms the long-delayed second phase of the container terminal "
    "expansion will go ahead next spring after months of talks with unions, residents and "
    "the regional transport board \u202egnp.exe"
)

# The page's own horizontal overflow, and that of the list's scroll box (Django puts the table
# in a box that scrolls sideways on its own: a scroll there hides columns just the same).
OVERFLOW = """() => {
    const results = document.querySelector('#changelist-form .results');
    return {
        page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        list: results.scrollWidth - results.clientWidth,
    };
}"""


@pytest.fixture
def seeded():
    """The project's sample seeds, as the desk shows them after an import, plus one story with
    a very long title (newest arrival: first in the queue)."""
    report = import_seeds([SAMPLE_SEEDS])
    assert not report.failed
    return Article.objects.create(
        key="desk_long_title",
        title=LONG_TITLE,
        excerpt="An excerpt.",
        published_at=timezone.now() - datetime.timedelta(hours=1),
        quality=10,
        heat=5,
    )


@pytest.fixture
def desk_editor(django_user_model):
    user = django_user_model.objects.create_user("desk", password=PASSWORD, is_staff=True)
    user.groups.add(editors_group())
    return user


def log_in(page, live_server, user, viewport) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(viewport)
    page.route(OUTSIDE, _placeholder)
    page.goto(live_server.url + reverse("admin:login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(user.username)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"desk-{name}.png"))


def assert_no_horizontal_scroll(page) -> None:
    overflow = page.evaluate(OVERFLOW)
    assert overflow["page"] <= 0, f"the page scrolls sideways by {overflow['page']} px"
    assert overflow["list"] <= 0, f"the list scrolls sideways by {overflow['list']} px"


def test_the_article_list_fits_1366_px_without_a_horizontal_scroll(
    page, live_server, seeded, desk_editor
):
    from playwright.sync_api import expect

    log_in(page, live_server, desk_editor, LAPTOP)
    page.goto(live_server.url + CHANGELIST)
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 10

    assert_no_horizontal_scroll(page)
    # Every column, the last one (topics) included, ends inside the window.
    boxes = [header.bounding_box() for header in page.locator("#result_list thead th").all()]
    assert max(box["x"] + box["width"] for box in boxes) <= LAPTOP["width"]
    expect(page.locator("#result_list thead th.column-topic_names")).to_be_in_viewport()
    shot(page, "list-1366")


def test_titles_are_two_lines_with_the_whole_title_on_hover(page, live_server, seeded, desk_editor):
    from playwright.sync_api import expect

    log_in(page, live_server, desk_editor, LAPTOP)
    page.goto(live_server.url + CHANGELIST)
    title = page.locator("#result_list th.field-title_shown .desk-title").filter(
        has_text="second phase of the container terminal"
    )
    expect(title).to_be_visible()

    # The whole title, bidi-isolated as every attribute of feed text is, is the hover text.
    assert title.get_attribute("title") == isolate_text(LONG_TITLE)
    # Two lines shown, the rest cut.
    lines = title.evaluate(
        "el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)"
    )
    assert lines <= 2.05
    assert title.evaluate("el => el.scrollHeight > el.clientHeight + 1")
    title.hover()
    shot(page, "title-hover")

    # A keyboard user cannot hover: the focused link shows the whole title.
    title.locator("xpath=ancestor::a").focus()
    assert title.evaluate("el => el.scrollHeight <= el.clientHeight + 1")


def test_the_filter_drawer_closes_and_opens_from_the_keyboard(
    page, live_server, seeded, desk_editor
):
    from playwright.sync_api import expect

    log_in(page, live_server, desk_editor, LAPTOP)
    page.goto(live_server.url + CHANGELIST)
    filters = page.locator("#changelist-filter")
    toggle = page.locator(".desk-filters > summary")
    expect(filters).to_be_visible()
    width_with_filters = page.locator("#changelist-form .results").bounding_box()["width"]

    toggle.focus()
    page.keyboard.press("Enter")
    expect(filters).to_be_hidden()
    expect(toggle).to_be_focused()
    # The list takes the room the filters had (all but the drawer's button).
    assert page.locator("#changelist-form .results").bounding_box()["width"] > (
        width_with_filters + 100
    )
    assert_no_horizontal_scroll(page)
    shot(page, "list-1366-drawer-closed")

    # Closed stays closed on the next page of the session (Django's filters.js remembers it).
    page.reload()
    expect(filters).to_be_hidden()

    page.locator(".desk-filters > summary").focus()
    page.keyboard.press("Space")
    expect(filters).to_be_visible()
    expect(filters.get_by_role("link", name="Yes").first).to_be_visible()
    assert_no_horizontal_scroll(page)


def test_a_phone_shows_every_rows_editorial_inputs(page, live_server, seeded, desk_editor):
    from playwright.sync_api import expect

    log_in(page, live_server, desk_editor, PHONE)
    page.goto(live_server.url + CHANGELIST)
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_be_visible()

    assert page.evaluate(OVERFLOW)["page"] <= 0
    for row in rows.all():
        boxes = []
        for field in ("published", "quality", "heat"):
            field_input = row.locator(f'input[name$="-{field}"]')
            expect(field_input).to_be_visible()
            boxes.append(field_input.bounding_box())
        for box in boxes:
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= PHONE["width"]
        # Side by side, in the order Tab takes them.
        assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    # The column headings are not shown on a phone: each input says what it is.
    labels = [
        rows.first.locator(f"td.field-{field}").evaluate(
            "td => getComputedStyle(td, '::before').content"
        )
        for field in ("published", "quality", "heat")
    ]
    assert labels == ['"Published"', '"Quality"', '"Heat"']
    shot(page, "list-390")


def test_article_changes_fit_1366_px_and_read_like_the_history(
    page, live_server, seeded, desk_editor, django_user_model
):
    from playwright.sync_api import expect

    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    article = Article.objects.get(key="desk_long_title")
    editorial.apply_editorial_changes(
        article,
        {"published": True, "quality": 55, "heat": None},
        user=desk_editor,
        via=ArticleChange.Via.FORM,
    )
    article.refresh_from_db()
    editorial.apply_editorial_changes(
        article,
        {"title": LONG_TITLE + " (corrected)", "body": "A new paragraph. " * 300},
        user=root,
        via=ArticleChange.Via.FORM,
    )

    log_in(page, live_server, desk_editor, LAPTOP)
    page.goto(live_server.url + CHANGES)
    expect(page.locator("#result_list tbody tr").first).to_be_visible()
    assert_no_horizontal_scroll(page)
    shot(page, "changes-1366")

    published_row = page.locator("#result_list tbody tr").filter(
        has=page.locator("td.field-field", has_text="published")
    )
    heat_row = page.locator("#result_list tbody tr").filter(
        has=page.locator("td.field-field", has_text="heat")
    )
    # The same words as the article's History page and the messages: yes/no, empty.
    old, new = 'td[class*="field-old"]', 'td[class*="field-new"]'
    expect(published_row.locator(old)).to_have_text("no")
    expect(published_row.locator(new)).to_have_text("yes")
    expect(heat_row.locator(old)).to_have_text("5")
    expect(heat_row.locator(new)).to_have_text("empty")

    page.goto(live_server.url + reverse("admin:curation_article_history", args=[article.pk]))
    cells = page.locator("#change-history tbody tr").filter(has_text="published").locator("td")
    expect(cells.nth(3)).to_have_text("no")
    expect(cells.nth(4)).to_have_text("yes")


def test_view_on_site_opens_the_preview_of_an_unpublished_story(
    page, live_server, seeded, desk_editor
):
    from playwright.sync_api import expect

    article = Article.objects.get(key="desk_long_title")
    assert not article.published
    log_in(page, live_server, desk_editor, LAPTOP)
    page.goto(live_server.url + reverse("admin:curation_article_change", args=[article.pk]))
    page.get_by_role("link", name="View on site").click()

    expect(page).to_have_url(
        live_server.url + reverse("curation:article-preview", kwargs={"key": article.key})
    )
    expect(page.locator(".preview-banner")).to_contain_text("Preview: not published")
    expect(page.locator("#story-title")).to_contain_text("second phase of the container terminal")
    shot(page, "preview-unpublished")

    page.get_by_role("link", name="Back to the article in the admin").click()
    expect(page.locator("#content h2, #content h1").first).to_be_visible()
    assert page.url.endswith(reverse("admin:curation_article_change", args=[article.pk]))
