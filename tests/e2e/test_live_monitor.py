"""The live run page in real browsers: two pages watch one run and each shows every row exactly
once; a dropped socket reconnects without gaps or duplicates; pause in one page shows in the
other; the errors panel, "retry these", the row panel and the budget; the dashboard's run board.

A probe installed before any page script records, for every row card, how many times it newly
appeared in the row list (a card swapped in place or a list replaced by the same rows does not
count), whether the list ever held a row twice, and the most cards it held. Rows are paced by
the credential's requests per minute, so they stream while the pages watch.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_walkthrough import (
    PASSWORD,
    add_openai_compatible_credential,
    create_project,
    credential_label,
    fill_schema,
    log_in,
    save_schema,
    sign_up,
    wait_live,
)

pytestmark = pytest.mark.browser

LIVE_ROWS_SHOWN = 50  # generation.live.LIVE_ROWS_SHOWN; the server is another process

ROW_PROBE = """
(() => {
  const probe = { appeared: {}, twice: false, most: 0 };
  let present = new Set();
  new MutationObserver(() => {
    const ids = Array.from(document.querySelectorAll("#run-rows > .row-card"), (c) => c.id);
    const now = new Set(ids);
    if (now.size !== ids.length) probe.twice = true;
    for (const id of now) if (!present.has(id)) probe.appeared[id] = (probe.appeared[id] || 0) + 1;
    probe.most = Math.max(probe.most, ids.length);
    present = now;
  }).observe(document, { childList: true, subtree: true });
  window.__rowProbe = probe;
})();
"""


# ---- helpers -----------------------------------------------------------------------------------


def watching_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    context.add_init_script(ROW_PROBE)
    return context


def open_page(context: BrowserContext) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


def set_up_schema(page: Page, base: str, llm_server, *, user: str, rpm: int) -> None:
    """Sign up, a project, a credential paced at ``rpm``, a saved QA schema (ends on it)."""
    llm_server.valid_keys = None
    sign_up(page, base, user)
    create_project(page, f"Live {user}")
    add_openai_compatible_credential(
        page,
        name="Paced",
        base_url=llm_server.openai_base_url,
        api_key="sk-live-key-7777",
        requests_per_minute=rpm,
    )
    page.get_by_role("link", name="New schema").click()
    fill_schema(page, name="Live QA", credential=credential_label(page, "Paced"))
    save_schema(page, "Live QA")


def start_run(page: Page, rows: int, budget: str | None = None) -> str:
    """From the schema page; returns the run page's URL."""
    page.fill('input[name="num_rows"]', str(rows))
    if budget is not None:
        page.fill('input[name="budget_usd"]', budget)
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    return page.url


def run_id_of(url: str) -> int:
    return int(url.rstrip("/").rsplit("/", 1)[1])


def db_row_ids(page: Page, base: str, run_id: int) -> set[str]:
    """The run's finished rows, as card ids, from the API (the page's session signs in)."""
    answer = page.request.get(f"{base}/api/runs/{run_id}/rows?page_size=500").json()
    return {f"row-{row['id']}" for row in answer["items"] if row["status"] != "pending"}


def probe(page: Page) -> dict:
    return page.evaluate("window.__rowProbe")


def shown_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all("#run-rows > .row-card", "cards => cards.map(c => c.id)")


def wait_finished(page: Page, rows: int, timeout: float = 60_000) -> None:
    expect(page.locator("#run-progress")).to_have_text(f"{rows} / {rows} rows", timeout=timeout)
    expect(page.locator("#run-status")).to_have_text(re.compile("Finished"))


def wait_provider_idle(llm_server, quiet: float = 1.5, timeout: float = 60.0) -> None:
    """Until the fake provider has had no request for ``quiet`` seconds: calls of a cancelled
    run that were already waiting for the limiter still go out, and would take the failures
    queued for the next run."""
    deadline = time.monotonic() + timeout
    count, since = len(llm_server.requests), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if len(llm_server.requests) != count:
            count, since = len(llm_server.requests), time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError("the fake provider never went quiet")


def view_shot(page: Page, name: str) -> None:
    """What a person sees without scrolling, top of the page: test-artifacts/e2e/live-<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"live-{name}.png"))


def assert_every_row_exactly_once(page: Page, expected: set[str]) -> None:
    seen = probe(page)
    assert not seen["twice"], "the row list held a row twice"
    assert set(seen["appeared"]) == expected, "a row never appeared, or one from elsewhere did"
    assert set(seen["appeared"].values()) == {1}, f"rows appeared again: {seen['appeared']}"
    assert set(shown_ids(page)) == expected  # fewer than LIVE_ROWS_SHOWN: all still shown


class DroppingProxy:
    """A TCP proxy in front of the server whose connections can be cut at once (the browser
    sees an abnormal close, 1006, as when a network drops) and new ones refused for a while."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.refusing = threading.Event()
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing.is_set():
                self._cut(client)
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.connections += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    @staticmethod
    def _cut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked on it
        with contextlib.suppress(OSError):
            sock.close()  # linger 0: a reset, not a goodbye

    def drop_all(self) -> None:
        with self.lock:
            connections, self.connections = self.connections, []
        for sock in connections:
            self._cut(sock)

    def close(self) -> None:
        self.listener.close()
        self.drop_all()


@pytest.fixture
def proxy(studio_server) -> Iterator[DroppingProxy]:
    proxy = DroppingProxy(int(studio_server.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


# ---- tests -------------------------------------------------------------------------------------


def test_two_browsers_watch_one_run_and_each_sees_every_row_exactly_once(
    browser: Browser, studio_server, llm_server, shot
) -> None:
    base = studio_server.url
    first_context, second_context = watching_context(browser), watching_context(browser)
    try:
        first, second = open_page(first_context), open_page(second_context)
        set_up_schema(first, base, llm_server, user="live-dana", rpm=240)  # 4 rows a second
        run_url = start_run(first, 40)
        wait_live(first)
        # The second browser joins late: the rows so far come in its first message.
        log_in(second, base, "live-dana", PASSWORD)
        second.goto(run_url)
        wait_live(second)
        expect(second.locator("#run-progress")).not_to_have_text("40 / 40 rows")
        for page in (first, second):
            wait_finished(page, 40)
        expected = db_row_ids(first, base, run_id_of(run_url))
        assert len(expected) == 40
        for page in (first, second):
            assert_every_row_exactly_once(page, expected)
            assert page.evaluate('performance.getEntriesByType("navigation").length') == 1
            assert page.js_errors == []  # type: ignore[attr-defined]
        shot(second, "second-browser")
    finally:
        first_context.close()
        second_context.close()


def test_a_run_longer_than_the_list_keeps_the_page_bounded_and_ends_as_a_reload_shows_it(
    browser: Browser, studio_server, llm_server, shot
) -> None:
    """Rows pushed out of the bounded list are taken out by the page (the push names them on
    #run-rows-trim): the page never holds more than LIVE_ROWS_SHOWN cards, never one twice, and
    ends with exactly the rows a plain reload shows, in the same order."""
    base = studio_server.url
    context = watching_context(browser)
    try:
        page = open_page(context)
        set_up_schema(page, base, llm_server, user="live-hana", rpm=3000)  # ~50 rows a second
        rows = 3 * LIVE_ROWS_SHOWN
        start_run(page, rows)
        wait_live(page)
        wait_finished(page, rows)
        page.wait_for_timeout(500)  # the last push
        seen = probe(page)
        assert not seen["twice"], "the row list held a row twice"
        assert seen["most"] == LIVE_ROWS_SHOWN, f"the page held {seen['most']} rows"
        assert set(seen["appeared"].values()) == {1}, "a row came back after it was taken out"
        live_list = shown_ids(page)
        assert len(live_list) == LIVE_ROWS_SHOWN
        assert page.js_errors == []  # type: ignore[attr-defined]
        shot(page, "bounded")
        page.reload()
        assert shown_ids(page) == live_list
    finally:
        context.close()


def test_a_dropped_socket_reconnects_without_gaps_or_duplicates(
    browser: Browser, proxy: DroppingProxy, llm_server, shot
) -> None:
    base = proxy.url  # every request and the websocket go through the proxy
    context = watching_context(browser)
    try:
        page = open_page(context)
        set_up_schema(page, base, llm_server, user="live-erin", rpm=240)
        run_url = start_run(page, 40)
        wait_live(page)
        expect(page.locator("#run-rows > .row-card").nth(4)).to_be_attached()  # 5 cards or more

        proxy.refusing.set()
        proxy.drop_all()
        expect(page.locator("#live-indicator")).to_have_text("○ reconnecting…")
        before = page.locator("#run-progress").inner_text()
        page.wait_for_timeout(2500)  # about ten rows finish while the page is cut off
        assert page.locator("#run-progress").inner_text() == before  # nothing came through
        proxy.refusing.clear()

        # htmx's ws extension reconnects by itself, after a growing random delay.
        expect(page.locator("#live-indicator")).to_have_text("● live", timeout=30_000)
        wait_finished(page, 40)
        assert_every_row_exactly_once(page, db_row_ids(page, base, run_id_of(run_url)))
        assert page.evaluate('performance.getEntriesByType("navigation").length') == 1
        assert page.js_errors == []  # type: ignore[attr-defined]
        shot(page, "reconnected")
    finally:
        context.close()


def test_pause_in_one_browser_shows_paused_in_the_other(
    browser: Browser, studio_server, llm_server, shot
) -> None:
    base = studio_server.url
    first_context, second_context = watching_context(browser), watching_context(browser)
    try:
        first, second = open_page(first_context), open_page(second_context)
        # Four rows a second: calls already waiting for the limiter when the run is cancelled
        # still happen, so a slower pace would keep the shared worker busy for the next tests.
        set_up_schema(first, base, llm_server, user="live-fay", rpm=240)
        run_url = start_run(first, 80)
        log_in(second, base, "live-fay", PASSWORD)
        second.goto(run_url)
        for page in (first, second):
            wait_live(page)
            expect(page.locator("#run-status")).to_have_text("Running")

        first.locator("#run-pause").click()
        expect(second.locator("#run-status")).to_have_text("Paused")
        expect(second.locator("#run-resume")).to_be_visible()
        expect(second.locator("#run-pause")).to_have_count(0)
        expect(first.locator("#run-status")).to_have_text("Paused")
        shot(second, "paused-elsewhere")
        view_shot(second, "paused-in-the-other-browser")

        second.locator("#run-resume").click()
        expect(first.locator("#run-status")).to_have_text("Running")
        expect(first.locator("#run-pause")).to_be_visible()

        second.once("dialog", lambda dialog: dialog.accept())
        second.locator("#run-cancel").click()
        expect(first.locator("#run-status")).to_have_text("Cancelled")
        expect(first.locator("#run-controls button")).to_have_count(0)
        assert first.js_errors == [] and second.js_errors == []  # type: ignore[attr-defined]
        wait_provider_idle(llm_server)
    finally:
        first_context.close()
        second_context.close()


def test_errors_panel_retry_these_row_panel_budget_and_run_board(
    browser: Browser, studio_server, llm_server, shot
) -> None:
    base = studio_server.url
    context = watching_context(browser)
    try:
        page = open_page(context)
        set_up_schema(page, base, llm_server, user="live-gus", rpm=600)
        wait_provider_idle(llm_server)
        # Four rows fail for good with one message, two with another.
        llm_server.fail_next(4, status=400, message="The prompt was refused by policy.")
        llm_server.fail_next(2, status=404, message="The model does not exist.")
        run_url = start_run(page, 30, budget="5")
        wait_live(page)
        expect(page.locator("#run-progress")).to_have_text("30 / 30 rows", timeout=60_000)
        expect(page.locator("#run-status")).to_have_text("Finished with failures")
        expect(page.locator("#count-failed")).to_have_text("6")
        expect(page.locator("#run-cost")).to_contain_text("of $5.0000")
        expect(page.locator("#run-budget")).to_be_visible()

        errors = page.locator("#run-errors")
        expect(errors.locator("li")).to_have_count(2)
        refused = errors.locator("li", has_text="refused by policy")
        expect(refused.locator(".count")).to_have_text("4×")
        expect(errors.locator("li", has_text="does not exist").locator(".count")).to_have_text("2×")

        # The row panel of a failed row: its prompt, the error, no answer.
        failed = page.locator(".row-card.row-failed").first
        failed.locator(".row-details").click()
        panel = page.locator("#row-panel")
        expect(panel).to_be_visible()
        expect(panel.locator(".call-prompt")).to_have_text(re.compile("Write a question about"))
        expect(panel.locator(".call-error")).to_contain_text(re.compile("refused|does not exist"))
        expect(failed).to_have_class(re.compile(r"\bselected\b"))
        shot(page, "errors-and-row-panel")
        view_shot(page, "run-page-errors-budget-panel")

        # A generated row's panel shows the raw answer; Escape closes the panel.
        page.locator(".row-card.row-generated .row-details").first.click()
        expect(panel.locator(".call-raw")).to_contain_text("Simulated answer to: Write a question")
        expect(panel).to_contain_text("1 attempt")
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()

        # Retry only the rows refused by policy: they are generated now, the others still fail.
        refused.get_by_role("button", name="Retry these 4").click()
        expect(page.locator("#count-failed")).to_have_text("2", timeout=20_000)
        expect(page.locator("#count-generated")).to_have_text("28")
        expect(errors.locator("li")).to_have_count(1)
        expect(errors).to_contain_text("does not exist")
        expect(page.locator(".row-card.row-failed")).to_have_count(2)
        expect(page.locator(".row-card")).to_have_count(30)
        assert not probe(page)["twice"]
        shot(page, "retried-these")

        # The dashboard and the project page show the run with its status and progress.
        page.goto(base + "/")
        line = page.locator(f"#recent-runs #run-line-{run_id_of(run_url)}")
        expect(line).to_contain_text("30 / 30 rows · 2 failed")
        expect(line.locator(".status")).to_have_text("Finished with failures")
        shot(page, "dashboard")
        view_shot(page, "dashboard")
        assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        context.close()


def test_dashboard_follows_a_running_run_until_it_finishes(
    browser: Browser, studio_server, llm_server, shot
) -> None:
    base = studio_server.url
    context = watching_context(browser)
    try:
        page = open_page(context)
        set_up_schema(page, base, llm_server, user="live-hal", rpm=120)  # two rows a second
        run_url = start_run(page, 12)
        project_url = page.locator(".crumbs a").nth(1).get_attribute("href")
        page.goto(base + project_url)
        line = page.locator(f"#project-runs #run-line-{run_id_of(run_url)}")
        expect(line.locator(".status")).to_have_text("Running")
        first = line.inner_text()
        expect(line).not_to_have_text(first, timeout=10_000)  # progress moves by itself
        shot(page, "project-page-running")
        view_shot(page, "project-page-running")
        expect(line.locator(".status")).to_have_text("Finished", timeout=30_000)
        expect(line).to_contain_text("12 / 12 rows")
        # Nothing goes any more: the board stopped polling.
        expect(page.locator("#project-runs")).not_to_have_attribute("hx-trigger", re.compile("."))
        assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        context.close()
