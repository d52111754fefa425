"""The editorial admin in a real browser: an editor unpublishes, runs a bulk action, meets a stale
save. Screenshots of the key moments land in test-artifacts/."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from curation import editorial
from curation.models import Article, ArticleImage, Provider
from tests.conftest import ARTIFACTS, PASSWORD, editors_group

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

OUTSIDE = re.compile(r"^https?://(?!localhost|127\.0\.0\.1)")
PLACEHOLDER = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90">'
    '<rect width="160" height="90" fill="#7a9cb8"/></svg>'
)


def _placeholder(route):
    """Outlets' images are not reachable from the test machine: answer with a plain picture."""
    route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER)


@pytest.fixture
def articles():
    provider = Provider.objects.create(name="Harbour Gazette", domain="harbourgazette.example")
    now = timezone.now()
    made = []
    for n, title in enumerate(
        [
            "Port trials AI to predict berth congestion",
            "Ferry timetable shake-up for the winter",
            "Harbour cranes go electric",
            "Fish market moves to the old customs house",
        ]
    ):
        article = Article.objects.create(
            key=f"browser_{n}",
            title=title,
            excerpt="An excerpt.",
            published=True,
            published_at=now - datetime.timedelta(hours=n + 1),
            provider=provider,
            category="news",
            type="article",
            quality=10 + n,
            heat=n,
        )
        ArticleImage.objects.create(
            article=article, position=0, url=f"https://img.harbourgazette.example/{n}.jpg"
        )
        made.append(article)
    return made


@pytest.fixture
def editor_page(page, live_server, editor, articles):
    """The page, logged in as an editor; outlets' images are replaced by a placeholder."""
    page.route(OUTSIDE, _placeholder)
    page.goto(live_server.url + reverse("admin:login"))
    page.get_by_label("Username").fill(editor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    from playwright.sync_api import expect

    expect(page.locator("#user-tools")).to_contain_text(editor.username)
    return page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


def row_of(page, article: Article):
    return page.locator("#result_list tbody tr").filter(
        has=page.locator(f'input[name="_selected_action"][value="{article.pk}"]')
    )


def test_editor_unpublishes_from_the_list_and_the_story_leaves_the_public_site(
    editor_page, live_server, articles
):
    from playwright.sync_api import expect

    page = editor_page
    target, other = articles[2], articles[0]
    page.goto(live_server.url + "/")
    expect(page.locator("body")).to_contain_text(target.title)

    # "All articles": in the list's default view (the queue, issue 12) the row leaves the page
    # once saved, as the save reviews it.
    page.goto(live_server.url + reverse("admin:curation_article_changelist") + "?reviewed=all")
    row = row_of(page, target)
    checkbox = row.locator('input[name$="-published"]')
    expect(checkbox).to_be_checked()
    shot(page, "list-before-save")
    # The toggle saves its row at once, without reloading the page (static/js/desk.js, issue
    # 12); the plain form's Save is tested without JavaScript in test_browser_desk.py.
    checkbox.uncheck()
    expect(row.locator(".desk-row-state")).to_have_text("saved")
    shot(page, "list-after-unpublish")
    page.reload()
    expect(row_of(page, target).locator('input[name$="-published"]')).not_to_be_checked()

    page.goto(live_server.url + "/")
    expect(page.locator("body")).to_contain_text(other.title)
    expect(page.locator("body")).not_to_contain_text(target.title)
    assert not Article.objects.get(pk=target.pk).published


def test_editor_sets_quality_on_selected_articles_with_a_bulk_action(
    editor_page, live_server, articles
):
    from playwright.sync_api import expect

    page = editor_page
    page.goto(live_server.url + reverse("admin:curation_article_changelist"))
    chosen = articles[:2]
    for article in chosen:
        row_of(page, article).locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option("set_quality")
    page.get_by_role("button", name="Go").first.click()

    expect(page.locator("h1")).to_contain_text("Set quality on 2 articles")
    page.get_by_label("New quality").fill("90")
    shot(page, "set-quality-form")
    page.get_by_role("button", name="Set quality").click()

    expect(page.locator(".messagelist")).to_contain_text("Quality set to 90 on 2 articles.")
    shot(page, "set-quality-done")
    assert [a.quality for a in Article.objects.filter(pk__in=[a.pk for a in chosen])] == [90, 90]
    assert Article.objects.get(pk=articles[2].pk).quality == 12


def test_editor_saving_a_stale_change_form_is_refused(
    editor_page, live_server, articles, django_user_model
):
    from playwright.sync_api import expect

    page = editor_page
    article = articles[1]
    page.goto(live_server.url + reverse("admin:curation_article_change", args=[article.pk]))
    page.get_by_label("Quality").fill("77")

    # Meanwhile another editor saves the same article.
    colleague = django_user_model.objects.create_user("otto", is_staff=True)
    editorial.apply_editorial_changes(
        Article.objects.get(pk=article.pk), {"heat": 99}, user=colleague, via="form"
    )

    page.locator('input[name="_save"]').first.click()
    expect(page.locator(".errornote, .errorlist").first).to_be_visible()
    expect(page.locator("#content")).to_contain_text("someone else saved it while you were working")
    expect(page.locator("#content")).to_contain_text(
        "It now reads: published yes; quality 11; heat 99"
    )
    shot(page, "stale-save-refused")
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.quality, fresh.heat) == (11, 99)


def test_editor_saves_the_change_form_and_finds_the_change_in_the_history(
    editor_page, live_server, articles
):
    from playwright.sync_api import expect

    page = editor_page
    article = articles[3]
    page.goto(live_server.url + reverse("admin:curation_article_change", args=[article.pk]))
    expect(page.get_by_label("Title")).to_have_count(0)  # read-only for editors: text, no input
    expect(page.locator(".field-image_gallery img")).to_have_count(1)
    shot(page, "change-form-editor")
    page.get_by_label("Quality").fill("61")
    page.get_by_role("button", name="Save and continue editing").first.click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.get_by_role("link", name="History").click()
    row = page.locator("#change-history tbody tr").first
    expect(row).to_contain_text("edna")
    expect(row).to_contain_text("change form")
    expect(row).to_contain_text("quality")
    expect(row.locator("td").nth(3)).to_have_text("13")
    expect(row.locator("td").nth(4)).to_have_text("61")
    shot(page, "history")


def test_the_readme_desk_screenshot_is_what_demo_shows(page, live_server):
    """The README's admin picture: the sample seeds and the demo editor, exactly as ``demo`` sets
    them up (its own code, without serving), at a laptop's width."""
    import os

    from django.core.management import call_command
    from playwright.sync_api import expect

    from curation.management.commands.demo import DEMO_EDITOR
    from tests.conftest import PROJECT_DIR

    editors_group()
    # The test database is not a local debug setup, so demo needs --force (and warns).
    devnull = open(os.devnull, "w")  # noqa: SIM115
    call_command("demo", "--no-serve", "--force", stdout=devnull, stderr=devnull)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.route(OUTSIDE, _placeholder)
    page.goto(live_server.url + reverse("admin:login"))
    page.get_by_label("Username").fill(DEMO_EDITOR[0])
    page.get_by_label("Password").fill(DEMO_EDITOR[1])
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + reverse("admin:curation_article_changelist"))

    expect(page.locator("#result_list tbody tr")).to_have_count(Article.objects.count())
    first_row = page.locator("#result_list tbody tr").first
    for field in ("published", "quality", "heat"):
        expect(first_row.locator(f'input[name$="-{field}"]')).to_be_visible()
    shot(page, "readme-desk")
    if os.environ.get("NEWSROOM_UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(PROJECT_DIR / "docs" / "admin-desk.png"))
