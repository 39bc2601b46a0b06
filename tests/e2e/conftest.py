"""Browser tests of the embedded mode, exactly as `make run` serves it.

The server is the real `python manage.py serve` in a subprocess: SQLite in a fresh data folder,
the in-process Dramatiq worker, in-memory live updates. Its environment is the test process's
minus every services-mode variable (DATABASE_URL, REDIS_URL, STUDIO_*, DJANGO_*), plus the fake
Hub's address. The tests drive it with Playwright (sync API) on the system Chromium and never
touch a database themselves: they must not request pytest-django's `db` fixtures.

Run them on their own: `pytest tests/e2e -m browser`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"
# Debian's chromium (`make setup-test` installs it); Playwright's own browsers are never used.
CHROMIUM = (
    os.environ.get("STUDIO_E2E_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
    or "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT = 60.0
# Variables of the services mode and of the rest of the suite (DATABASE_URL, REDIS_URL, the
# STUDIO_* test knobs, DJANGO_SETTINGS_MODULE=tests.settings set by pytest-django, ...):
# `make run` has none of them, so the server gets config.settings and the embedded mode.
_DROPPED_PREFIXES = ("STUDIO_", "DJANGO_", "HF_", "HUGGINGFACE_")
_DROPPED = {"DATABASE_URL", "REDIS_URL"}

E2E_DIR = Path(__file__).resolve().parent
# The demo account's password on the demo servers (its default is random, printed at start).
DEMO_PASSWORD = "e2e-demo-password"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test (also marked in the module, belt and braces)."""
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# ---- the server subprocess ------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(*, data_dir: Path, hub_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
    }
    env.update(
        STUDIO_DATA_DIR=str(data_dir),
        HF_ENDPOINT=hub_url,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(data_dir / "hf-home"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until_up(server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"`serve` exited with {server.process.returncode}:\n{server.log()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(server.url + "/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"`serve` did not answer within {STARTUP_TIMEOUT}s:\n{server.log()[-4000:]}")


@contextlib.contextmanager
def run_server(*, hub_url: str, name: str, demo: bool) -> Iterator[LiveServer]:
    """Start `manage.py serve` on a free port with a fresh data folder; stop it afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"studio-e2e-{name}-"))
    port = _free_port()
    command = [sys.executable, "manage.py", "serve", "--port", str(port)]
    if not demo:
        command.append("--no-demo")
    log_path = data_dir / "serve.log"
    env = embedded_env(data_dir=data_dir, hub_url=hub_url)
    if demo:
        env["STUDIO_DEMO_PASSWORD"] = DEMO_PASSWORD
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, log_path, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copyfile(log_path, ARTIFACTS / f"server-{name}.log")
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def studio_server(hub_server_session) -> Iterator[LiveServer]:
    """The embedded-mode server without the demo project, shared by the session."""
    with run_server(hub_url=hub_server_session.url, name="main", demo=False) as server:
        yield server


@pytest.fixture
def demo_server(hub_server_session) -> Iterator[LiveServer]:
    """A second server, as a brand-new `make run` starts it: with the demo project."""
    with run_server(hub_url=hub_server_session.url, name="demo", demo=True) as server:
        yield server


# ---- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request) -> Iterator[object]:
    """A fresh browser context (no cookies) and page; a screenshot is kept if the test fails."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def shot(request) -> object:
    """`shot(page, "step")` saves test-artifacts/e2e/<test>-NN-step.png (full page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(page, step: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
