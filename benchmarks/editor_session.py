"""``uv run python -m benchmarks.editor_session``: an editor scores and publishes 20 articles.

A scripted session in headless Chromium against a real server (``runserver`` on a free port, a
temporary SQLite file with the sample seeds and the demo editor, as ``manage.py demo`` sets it
up), the same work three ways:

- ``before, Save per article``: the plain list without JavaScript; for each article type quality
  and heat, tick published, press Save (the page reloads). Saving as you go is what keeps work
  safe on the plain list: one stale row refuses the whole page.
- ``before, one Save``: the plain list without JavaScript; all twenty rows, then one Save.
- ``after, keyboard``: JavaScript on (static/js/desk.js); Tab into the first row, then per
  article Space (publishes, saved at once), Tab, quality, Tab, heat, Enter (saves the row),
  Tab to the next row; each row save is waited for.

Counted from opening the list (the login is not counted): page loads (main-frame navigations),
HTTP requests to the server (every request the browser makes to it: pages, redirects, static
files, row saves; the outlets' pictures are answered by a local placeholder and not counted) and
wall-clock seconds (median of ``--runs``; the typing itself is instant, so the seconds are the
server and browser work an editor waits for). Every run checks in the database that the twenty
articles carry exactly the values typed. The figures go to BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CHANGELIST = "/admin/curation/article/"
EDITOR = ("editor", "newsroom-editor")  # the demo editor (curation/management/commands/demo.py)
MODES = {
    "before_each": "before, Save per article",
    "before_once": "before, one Save",
    "after": "after, keyboard + row saves",
}
TIMEOUT_MS = 15_000
OUTSIDE = re.compile(r"^https?://(?!localhost|127\.0\.0\.1)")
PLACEHOLDER = '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90"/>'


@dataclass
class Session:
    page_loads: int
    requests: int
    row_saves: int
    seconds: float


def target_values(position: int) -> tuple[int, int]:
    """The quality and heat typed for the ``position``-th article of the session."""
    return 50 + position, 10 + position


# -- the server ---------------------------------------------------------------------------------


def _environment(database: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        # A local debug setup, as `manage.py demo` wants it: runserver serves the static files.
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY="benchmarks-only-not-secret-0123456789abcdefghijklmnop",
        DATABASE_URL=f"sqlite:///{database}",
    )
    env.pop("DJANGO_ALLOWED_HOSTS", None)
    return env


def prepare_database(path: Path) -> None:
    """Migrations, the sample seeds and the demo logins, exactly as ``manage.py demo``."""
    subprocess.run(
        [sys.executable, "manage.py", "demo", "--no-serve"],
        cwd=PROJECT_DIR,
        env=_environment(path),
        check=True,
        capture_output=True,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(database: Path) -> Iterator[str]:
    """``runserver`` on a free port for the duration of one session; yields its base URL."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=PROJECT_DIR,
        env=_environment(database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/admin/login/", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("runserver did not start") from None
                time.sleep(0.2)  # polling a starting process; no page is involved yet
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


# -- the session --------------------------------------------------------------------------------


def _row_pks(page) -> list[int]:
    values = page.locator("#result_list tbody tr input.action-select").evaluate_all(
        "boxes => boxes.map(box => box.value)"
    )
    return [int(value) for value in values]


def _row_index(page, pk: int) -> int:
    name = page.locator(f'#changelist-form input[name$="-id"][value="{pk}"]').get_attribute("name")
    return int(name.split("-")[1])


def _log_in(page, url: str) -> None:
    page.goto(url + "/admin/login/")
    page.get_by_label("Username").fill(EDITOR[0])
    page.get_by_label("Password").fill(EDITOR[1])
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")


def _before(page, url: str, count: int, *, save_each: bool) -> list[int]:
    page.goto(url + CHANGELIST)
    targets = _row_pks(page)[:count]
    for position, pk in enumerate(targets):
        index = _row_index(page, pk)
        quality, heat = target_values(position)
        page.locator(f'input[name="form-{index}-quality"]').fill(str(quality))
        page.locator(f'input[name="form-{index}-heat"]').fill(str(heat))
        page.locator(f'input[name="form-{index}-published"]').check()
        if save_each:
            _save_page(page)
    if not save_each:
        _save_page(page)
    return targets


def _save_page(page) -> None:
    with page.expect_navigation():
        page.locator('.paginator input[name="_save"]').click()
    messages = page.locator(".messagelist").inner_text()
    if "changed successfully" not in messages:
        raise RuntimeError(f"the list was not saved: {messages or page.title()}")


def _is_row_save(response) -> bool:
    return response.url.endswith("/editorial/") and response.ok


def _after(page, url: str, count: int) -> list[int]:
    from playwright.sync_api import expect

    page.goto(url + CHANGELIST)
    expect(page.locator("#desk-status")).to_be_attached()
    targets = _row_pks(page)[:count]
    first = f"form-{_row_index(page, targets[0])}-published"
    for _ in range(100):
        if page.evaluate("document.activeElement.name || ''") == first:
            break
        page.keyboard.press("Tab")
    else:
        raise RuntimeError("Tab never reached the first row")
    for position, pk in enumerate(targets):
        index = _row_index(page, pk)
        quality, heat = target_values(position)
        if not page.locator(f'input[name="form-{index}-published"]').is_checked():
            with page.expect_response(_is_row_save):
                page.keyboard.press("Space")  # publish (an editor sees the box is not ticked)
        page.keyboard.press("Tab")
        page.keyboard.type(str(quality))
        page.keyboard.press("Tab")
        page.keyboard.type(str(heat))
        with page.expect_response(_is_row_save):
            page.keyboard.press("Enter")
        page.keyboard.press("Tab")
    expect(page.locator("#result_list tr.desk-dirty")).to_have_count(0)
    return targets


def _placeholder(route) -> None:
    route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER)


def run_session(browser, url: str, mode: str, count: int) -> tuple[Session, list[int]]:
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, java_script_enabled=mode == "after"
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _log_in(page, url)
        # The outlets' pictures are not reachable from a benchmark machine (and are not ours to
        # time): a local placeholder answers them, and they are not counted.
        page.route(OUTSIDE, _placeholder)
        requests: list[str] = []
        loads: list[str] = []

        def requested(request) -> None:
            if request.url.startswith(url):
                requests.append(request.url)

        def navigated(frame) -> None:
            if frame == page.main_frame:
                loads.append(frame.url)

        context.on("request", requested)
        page.on("framenavigated", navigated)
        started = time.perf_counter()
        if mode == "after":
            targets = _after(page, url, count)
        else:
            targets = _before(page, url, count, save_each=mode == "before_each")
        seconds = time.perf_counter() - started
        row_saves = sum(1 for address in requests if address.endswith("/editorial/"))
        return Session(len(loads), len(requests), row_saves, seconds), targets
    finally:
        context.close()


def check_database(database: Path, targets: list[int]) -> None:
    """The twenty articles hold exactly what was typed, published, each raised in version."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        for position, pk in enumerate(targets):
            row = connection.execute(
                "SELECT published, quality, heat FROM curation_article WHERE id = ?", (pk,)
            ).fetchone()
            if row != (1, *target_values(position)):
                raise RuntimeError(f"article {pk} holds {row}, not what was typed")


# -- the table ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.editor_session", description=__doc__
    )
    parser.add_argument("--articles", type=int, default=20, help="Articles to score and publish.")
    parser.add_argument("--runs", type=int, default=3, help="Sessions per way (median seconds).")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    results: dict[str, list[Session]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="newsroom-editor-session-") as folder:
        pristine = Path(folder) / "pristine.sqlite3"
        prepare_database(pristine)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for run in range(args.runs):
                    for mode in MODES:
                        database = Path(folder) / f"{mode}-{run}.sqlite3"
                        shutil.copy(pristine, database)
                        with serving(database) as url:
                            session, targets = run_session(browser, url, mode, args.articles)
                        if len(targets) != args.articles:
                            raise RuntimeError(f"only {len(targets)} articles on the list")
                        check_database(database, targets)
                        results[mode].append(session)
                        print(f"{MODES[mode]}: {session}", file=sys.stderr)
            finally:
                browser.close()

    print(f"Score and publish {args.articles} articles (median of {args.runs} sessions)")
    header = f"{'way':<30} {'page loads':>10} {'requests':>9} {'row saves':>9} {'seconds':>8}"
    print(header)
    print("-" * len(header))
    for mode, label in MODES.items():
        sessions = results[mode]
        print(
            f"{label:<30} {statistics.median(s.page_loads for s in sessions):>10.0f} "
            f"{statistics.median(s.requests for s in sessions):>9.0f} "
            f"{statistics.median(s.row_saves for s in sessions):>9.0f} "
            f"{statistics.median(s.seconds for s in sessions):>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
