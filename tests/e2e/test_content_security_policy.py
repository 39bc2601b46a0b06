"""The main pages work under the Content-Security-Policy, with no violation: the designer and
its preview, a run page with its live socket, credentials and their connection test, the export
page, API tokens, and the API docs, which show their operations with nothing from the network
but this server (django-ninja's own Swagger UI files)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD
from tests.e2e.test_walkthrough import log_in, start_run, wait_live

pytestmark = pytest.mark.browser

VIOLATION_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def watch(page: Page, origin: str) -> tuple[list[str], list[str]]:
    """CSP console messages and violation events, and requests to any other origin (aborted)."""
    violations: list[str] = []
    elsewhere: list[str] = []
    page.context.add_init_script(VIOLATION_PROBE)
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    def only_this_server(route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == urlsplit(origin).netloc:
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_this_server)
    return violations, elsewhere


def events(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_main_pages_run_under_the_policy_without_violations(page: Page, demo_server) -> None:
    base = demo_server.url
    violations, elsewhere = watch(page, base)
    seen: list[str] = []

    def check(step: str) -> None:
        seen.extend(f"{step}: {v}" for v in events(page))

    log_in(page, base, "demo", DEMO_PASSWORD)
    response = page.request.get(base + "/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    check("projects")

    page.get_by_role("link", name=re.compile("Demo: trivia questions")).click()
    check("project")
    page.get_by_role("link", name="Offline simulator").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-result")).not_to_be_empty()
    check("credential")
    page.go_back()

    page.get_by_role("link", name="Trivia QA").click()
    page.locator("#preview-button").click()
    expect(page.locator("#preview")).to_contain_text("[simulated]", timeout=20_000)
    page.locator("#add-column").click()
    expect(page.locator("li.column")).to_have_count(5)
    check("designer")

    start_run(page, 5)
    wait_live(page)
    expect(page.locator("#run-progress")).to_have_text("5 / 5 rows", timeout=30_000)
    expect(page.locator(".row-card")).to_have_count(5)
    check("run page")

    page.get_by_role("link", name="API tokens").click()
    page.fill("#id_name", "csp test")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    check("tokens")

    page.goto(base + "/api/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    assert page.locator(".opblock").count() > 20
    expect(page.locator(".opblock-summary-path", has_text="/api/projects").first).to_be_visible()
    check("api docs")

    assert seen == [] and violations == [], seen + violations
    assert elsewhere == []
    assert page.js_errors == []  # type: ignore[attr-defined]
