"""The editor's desk from the keyboard alone, in a real browser: score and publish without
reloading, Enter never runs a bulk action, unsaved edits are never dropped silently, a stale row
save is refused. After each step the database and the history are checked."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from curation import editorial
from curation.models import EDITORIAL_FIELDS, Article, ArticleChange, Provider
from tests.test_browser_admin import OUTSIDE, PASSWORD, _placeholder, shot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

CHANGELIST = reverse("admin:curation_article_changelist")
ROWS = 12


@pytest.fixture
def articles():
    """Twelve unrated, unpublished arrivals: a morning's queue."""
    provider = Provider.objects.create(name="Harbour Gazette", domain="harbourgazette.example")
    now = timezone.now()
    return [
        Article.objects.create(
            key=f"desk_{n:02d}",
            title=f"Harbour story number {n}",
            excerpt="An excerpt.",
            published=False,
            published_at=now - datetime.timedelta(hours=n + 1),
            provider=provider,
            category="news",
            type="article",
        )
        for n in range(ROWS)
    ]


def log_in(page, live_server, editor) -> None:
    """Typed, and sent with Enter."""
    from playwright.sync_api import expect

    page.route(OUTSIDE, _placeholder)
    page.goto(live_server.url + reverse("admin:login"))
    page.get_by_label("Username").press_sequentially(editor.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#user-tools")).to_contain_text(editor.username)


@pytest.fixture
def desk(page, live_server, editor, articles):
    """Logged in, on the article list (the queue, where it exists), the script ready."""
    log_in(page, live_server, editor)
    open_list(page, live_server)
    return page


def open_list(page, live_server) -> None:
    from playwright.sync_api import expect

    page.goto(live_server.url + CHANGELIST)
    expect(page.locator("#desk-status")).to_be_attached()  # desk.js has run


def row_pks(page) -> list[int]:
    """The articles in the order the list shows them."""
    values = page.locator("#result_list tbody tr input.action-select").evaluate_all(
        "boxes => boxes.map(box => box.value)"
    )
    return [int(value) for value in values]


def row_index(page, pk: int) -> int:
    """The formset index of an article's row (its inputs are named form-<index>-...)."""
    name = page.locator(f'#changelist-form input[name$="-id"][value="{pk}"]').get_attribute("name")
    return int(name.split("-")[1])


def focused_name(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.name || ''")


def tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the input called ``name`` has the focus (keyboard only)."""
    for _ in range(limit):
        if focused_name(page) == name:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {name}; ended on {focused_name(page)!r}")


def wait_for_version(page, index: int, version: int) -> None:
    """A row save is done when the page holds the version the server answered with."""
    from playwright.sync_api import expect

    expect(page.locator(f'input[name="form-{index}-expected_version"]')).to_have_value(str(version))


def editorial_history(pk: int) -> list[tuple]:
    return list(
        ArticleChange.objects.filter(article_id=pk, field__in=EDITORIAL_FIELDS)
        .order_by("changed_at", "pk")
        .values_list("field", "old_value", "new_value", "via", "user__username")
    )


def test_editor_scores_ten_publishes_three_previews_one_and_reverts_one_by_keyboard(desk):
    from playwright.sync_api import expect

    page = desk
    pks = row_pks(page)
    assert len(pks) == ROWS
    page.evaluate("window.deskNoReload = true")  # gone if anything reloads the page
    first = row_index(page, pks[0])
    tab_to(page, f"form-{first}-published")

    for n, pk in enumerate(pks[:10]):
        index = row_index(page, pk)
        version = Article.objects.get(pk=pk).version
        assert focused_name(page) == f"form-{index}-published"
        if n < 3:
            # Publish with the toggle: Space saves the row at once.
            page.keyboard.press("Space")
            version += 1
            wait_for_version(page, index, version)
            article = Article.objects.get(pk=pk)
            assert (article.published, article.version) == (True, version)
            assert editorial_history(pk)[-1] == ("published", False, True, "list", "edna")
            expect(page.locator("#desk-status")).to_contain_text("published.")
        quality, heat = 100 + n, 40 + n
        page.keyboard.press("Tab")
        assert focused_name(page) == f"form-{index}-quality"
        page.keyboard.type(str(quality))
        page.keyboard.press("Tab")
        assert focused_name(page) == f"form-{index}-heat"
        page.keyboard.type(str(heat))
        page.keyboard.press("Enter")
        version += 1
        wait_for_version(page, index, version)
        row = page.locator("#result_list tbody tr").nth(n)
        expect(row.locator(".desk-row-state")).to_have_text("saved")
        expect(row).not_to_have_class(re.compile("desk-dirty"))
        article = Article.objects.get(pk=pk)
        assert (article.quality, article.heat, article.version) == (quality, heat, version)
        assert editorial_history(pk)[-2:] == [
            ("quality", None, quality, "list", "edna"),
            ("heat", None, heat, "list", "edna"),
        ]
        if n == 0:
            shot(page, "desk-first-row-saved")
        page.keyboard.press("Tab")  # heat -> the next row's published

    assert page.evaluate("window.deskNoReload") is True
    assert Article.objects.filter(published=True).count() == 3
    assert set(Article.objects.filter(published=True).values_list("pk", flat=True)) == set(pks[:3])
    assert Article.objects.filter(quality__isnull=False).count() == 10
    untouched = Article.objects.get(pk=pks[10])
    assert (untouched.quality, untouched.version, untouched.published) == (None, 1, False)
    shot(page, "desk-ten-scored")

    # Preview one scored, still unpublished story before it goes out: its title link, then
    # "View on site", which for an unpublished article is the staff-only preview.
    previewed = Article.objects.get(pk=pks[3])
    page.locator("#result_list tbody tr").nth(3).locator(".field-title_shown a").focus()
    page.keyboard.press("Enter")
    view_on_site = page.get_by_role("link", name="View on site")
    view_on_site.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".preview-banner")).to_contain_text("Preview: not published")
    expect(page.locator("h1")).to_contain_text(previewed.title)
    assert "/preview/" in page.url
    shot(page, "desk-preview")
    assert Article.objects.get(pk=pks[3]).version == previewed.version  # looking changes nothing

    # Revert one change: the History of that article offers "Restore quality: ...".
    page.go_back()
    history = page.get_by_role("link", name="History")
    history.focus()
    page.keyboard.press("Enter")
    restore = page.get_by_role("button", name=re.compile(r"^Restore quality"))
    restore.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".messagelist")).to_be_visible()
    reverted = Article.objects.get(pk=pks[3])
    assert (reverted.quality, reverted.heat) == (None, 43)
    assert reverted.version == previewed.version + 1
    assert editorial_history(pks[3])[-1] == ("quality", 103, None, "revert", "edna")
    shot(page, "desk-restored")


def test_enter_in_a_quality_box_with_an_action_selected_saves_the_row_not_the_action(desk):
    from playwright.sync_api import expect

    page = desk
    pks = row_pks(page)
    chosen, edited = pks[0], pks[1]
    page.evaluate("window.deskNoReload = true")
    page.locator(f'input.action-select[value="{chosen}"]').check()
    page.locator('select[name="action"]').select_option("publish")
    index = row_index(page, edited)
    page.locator(f'input[name="form-{index}-quality"]').focus()
    page.keyboard.type("77")
    page.keyboard.press("Enter")

    wait_for_version(page, index, 2)
    assert Article.objects.get(pk=edited).quality == 77
    assert not Article.objects.filter(published=True).exists()  # the action did not run
    assert page.evaluate("window.deskNoReload") is True
    expect(page.locator(".messagelist")).to_have_count(0)


def test_ctrl_s_saves_every_edited_row(desk):
    page = desk
    pks = row_pks(page)
    first, second = row_index(page, pks[0]), row_index(page, pks[1])
    page.locator(f'input[name="form-{first}-quality"]').focus()
    page.keyboard.type("5")
    page.locator(f'input[name="form-{second}-heat"]').focus()
    page.keyboard.type("6")
    page.keyboard.press("Control+s")
    wait_for_version(page, first, 2)
    wait_for_version(page, second, 2)
    assert (Article.objects.get(pk=pks[0]).quality, Article.objects.get(pk=pks[1]).heat) == (5, 6)


def test_running_an_action_with_unsaved_edits_asks_first_and_loses_nothing(desk):
    from playwright.sync_api import expect

    page = desk
    pks = row_pks(page)
    edited, chosen = pks[0], pks[2]
    index = row_index(page, edited)
    page.locator(f'input[name="form-{index}-quality"]').focus()
    page.keyboard.type("64")  # not saved: no Enter
    page.locator(f'input.action-select[value="{chosen}"]').check()
    page.locator('select[name="action"]').select_option("publish")
    go = page.get_by_role("button", name="Go").first
    go.focus()
    page.keyboard.press("Enter")

    question = page.locator("#desk-unsaved")
    expect(question).to_be_visible()
    expect(question).to_contain_text("1 row has unsaved edits")
    expect(question).to_contain_text(Article.objects.get(pk=edited).title)
    shot(page, "desk-unsaved-edits-question")
    page.keyboard.press("Escape")
    expect(question).to_be_hidden()
    assert Article.objects.get(pk=edited).quality is None
    assert not Article.objects.filter(published=True).exists()
    expect(page.locator(f'input[name="form-{index}-quality"]')).to_have_value("64")

    go.focus()
    page.keyboard.press("Enter")
    expect(question).to_be_visible()
    page.get_by_role("button", name="Save edits first, then run the action").click()
    expect(page.locator(".messagelist")).to_contain_text("1 article published.")
    assert Article.objects.get(pk=edited).quality == 64
    assert list(Article.objects.filter(published=True).values_list("pk", flat=True)) == [chosen]
    assert editorial_history(edited) == [("quality", None, 64, "list", "edna")]


def test_discarding_edits_to_run_an_action_is_the_editors_explicit_choice(desk):
    from playwright.sync_api import expect

    page = desk
    pks = row_pks(page)
    index = row_index(page, pks[0])
    page.locator(f'input[name="form-{index}-heat"]').focus()
    page.keyboard.type("9")
    page.locator(f'input.action-select[value="{pks[1]}"]').check()
    page.locator('select[name="action"]').select_option("publish")
    page.get_by_role("button", name="Go").first.click()
    page.get_by_role("button", name="Discard edits and run the action").click()
    expect(page.locator(".messagelist")).to_contain_text("1 article published.")
    assert Article.objects.get(pk=pks[0]).heat is None
    assert Article.objects.get(pk=pks[1]).published


def test_a_stale_row_save_shows_the_refusal_and_changes_nothing(desk, django_user_model):
    from playwright.sync_api import expect

    page = desk
    pks = row_pks(page)
    pk = pks[3]
    index = row_index(page, pk)
    colleague = django_user_model.objects.create_user("otto", is_staff=True)
    editorial.apply_editorial_changes(
        Article.objects.get(pk=pk), {"heat": 99}, user=colleague, via="form"
    )

    page.locator(f'input[name="form-{index}-quality"]').focus()
    page.keyboard.type("55")
    page.keyboard.press("Enter")

    row = page.locator("#result_list tbody tr").nth(3)
    expect(row.locator(".desk-row-state")).to_have_text("not saved")
    message = page.locator("#result_list tr.desk-row-message")
    expect(message).to_contain_text("was not saved: someone else saved it while you were working")
    expect(message).to_contain_text("It now reads: published no; quality empty; heat 99.")
    expect(page.locator("#desk-status")).to_contain_text("was not saved")
    expect(row).to_have_class(re.compile("desk-dirty"))  # the typed value is kept, unsaved
    expect(page.locator(f'input[name="form-{index}-quality"]')).to_have_value("55")
    shot(page, "desk-stale-row-refused")
    article = Article.objects.get(pk=pk)
    assert (article.quality, article.heat, article.version) == (None, 99, 2)
    assert editorial_history(pk) == [("heat", None, 99, "form", "otto")]


def test_an_out_of_range_score_is_refused_with_the_fields_message(desk):
    from playwright.sync_api import expect

    page = desk
    pk = row_pks(page)[0]
    index = row_index(page, pk)
    box = page.locator(f'input[name="form-{index}-quality"]')
    box.focus()
    page.keyboard.type("3000")
    page.keyboard.press("Enter")
    expect(page.locator("#result_list tr.desk-row-message")).to_contain_text(
        "Quality runs from 0 to 1000; 3000 is outside that range."
    )
    expect(box).to_have_attribute("aria-invalid", "true")
    assert Article.objects.get(pk=pk).quality is None


def test_question_mark_shows_the_shortcuts_and_escape_closes_them(desk):
    from playwright.sync_api import expect

    page = desk
    page.locator("body").press("?")
    dialog = page.locator("#desk-shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Ctrl+S")
    expect(dialog).to_contain_text("published → quality → heat → the next row")
    shot(page, "desk-shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_leaving_with_unsaved_edits_asks_first(desk):
    page = desk
    index = row_index(page, row_pks(page)[0])
    page.locator(f'input[name="form-{index}-quality"]').focus()
    page.keyboard.type("12")
    page.evaluate("window.deskNoReload = true")
    asked: list[str] = []

    def stay(dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.once("dialog", stay)
    page.locator("#user-tools").get_by_role("link", name="View site").click()
    assert asked == ["beforeunload"]
    assert page.evaluate("window.deskNoReload") is True
    assert page.locator(f'input[name="form-{index}-quality"]').input_value() == "12"


def test_the_save_bar_stays_in_view(desk):
    from playwright.sync_api import expect

    page = desk
    page.set_viewport_size({"width": 1280, "height": 420})
    first_row = page.locator("#result_list tbody tr").first
    first_row.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator('.paginator input[name="_save"]')).to_be_in_viewport()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    expect(page.locator('.paginator input[name="_save"]')).to_be_in_viewport()


def test_at_phone_size_one_row_is_scored_and_published_from_the_keyboard(
    browser, live_server, editor, articles
):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, live_server, editor)
        open_list(page, live_server)
        pk = row_pks(page)[0]
        index = row_index(page, pk)
        tab_to(page, f"form-{index}-published")
        expect(page.locator(f'input[name="form-{index}-published"]')).to_be_in_viewport()
        page.keyboard.press("Space")
        wait_for_version(page, index, 2)
        page.keyboard.press("Tab")
        page.keyboard.type("88")
        expect(page.locator(f'input[name="form-{index}-quality"]')).to_be_in_viewport()
        page.keyboard.press("Tab")
        page.keyboard.type("20")
        page.keyboard.press("Enter")
        wait_for_version(page, index, 3)
        shot(page, "desk-phone-row-saved")
        article = Article.objects.get(pk=pk)
        assert (article.published, article.quality, article.heat) == (True, 88, 20)
        assert [change[0] for change in editorial_history(pk)] == [
            "published",
            "quality",
            "heat",
        ]
    finally:
        context.close()


def test_without_javascript_enter_saves_the_list_and_never_runs_the_action(
    browser, live_server, editor, articles
):
    """The plain form: the template's hidden first Save button is the form's default button."""
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.route(OUTSIDE, _placeholder)
        page.goto(live_server.url + reverse("admin:login"))
        page.get_by_label("Username").fill(editor.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Password").press("Enter")
        page.goto(live_server.url + CHANGELIST)
        pks = row_pks(page)
        chosen, edited = pks[0], pks[1]
        page.locator(f'input.action-select[value="{chosen}"]').check()
        page.locator('select[name="action"]').select_option("publish")
        index = row_index(page, edited)
        page.locator(f'input[name="form-{index}-quality"]').fill("31")
        page.locator(f'input[name="form-{index}-quality"]').press("Enter")
        expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
        assert Article.objects.get(pk=edited).quality == 31
        assert not Article.objects.filter(published=True).exists()
        assert editorial_history(edited) == [("quality", None, 31, "list", "edna")]
    finally:
        context.close()


def test_the_save_button_still_saves_the_whole_list_without_asking(desk):
    from playwright.sync_api import expect

    page = desk
    pks = row_pks(page)
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    for n, pk in enumerate(pks[:2]):
        page.locator(f'input[name="form-{row_index(page, pk)}-heat"]').fill(str(30 + n))
    page.locator('.paginator input[name="_save"]').click()
    expect(page.locator(".messagelist")).to_contain_text("2 articles were changed successfully")
    assert asked == []  # no "leave the page?" for the form's own submission
    assert [Article.objects.get(pk=pk).heat for pk in pks[:2]] == [30, 31]
    assert editorial_history(pks[0]) == [("heat", None, 30, "list", "edna")]
