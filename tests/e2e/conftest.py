"""Browser tests: Debian's Chromium, driven by pytest-playwright, against the app served live.

Every test here is marked `e2e`. Without /usr/bin/chromium they are skipped, or failed when
REQUIRE_E2E=1 (CI, where a silent skip would hide that nothing ran).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# CI runs three suites side by side on two cores: give pages time to arrive before an
# expectation fails (the default is 5 s).
expect.set_options(timeout=15_000)

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "Debian's chromium is not installed: apt-get install -y chromium"

E2E_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = E2E_DIR.parent.parent
# Test runs keep their screenshots out of git (not in test-results/, which pytest-playwright
# empties at every start); `make screenshots` writes the README's.
SCREENSHOTS = PROJECT_ROOT / os.environ.get("SCREENSHOT_DIR", ".screenshots")

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the items of the whole run; mark only those collected below this folder.
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _chromium_installed() -> None:
    """Skip (or with REQUIRE_E2E=1 fail) before anything tries to launch the browser."""
    if CHROMIUM.exists():
        return
    if os.environ.get("REQUIRE_E2E") == "1":
        pytest.fail(NO_CHROMIUM, pytrace=False)
    pytest.skip(NO_CHROMIUM)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ],
    }


def _closed_before_sending(app: Flask) -> WSGIApplication:
    """The app with each answer read whole and closed before the server writes it.

    Werkzeug's development server closes an answer only after draining the request socket,
    and a browser that drops the connection makes that drain raise first: the answer of a
    static file then leaves its file open, a ResourceWarning (an error here) in a later test.
    """

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = app(environ, start_response)
        try:
            return list(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app served over HTTP on a free port; yields the base URL (no trailing /)."""
    server = make_server("127.0.0.1", 0, _closed_before_sending(app), threaded=True)
    # A short poll interval: shutdown() waits for the loop's next poll (0.5 s by default).
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(pytestconfig: pytest.Config) -> str | None:
    """The same value as pytest-playwright's own `base_url`, as a plain function.

    The plugin's fixture is an instance method of a session-scoped class, which pytest 9.2
    deprecates (PytestRemovedIn10Warning, an error under filterwarnings=error). It must stay
    session-scoped because the plugin's session-scoped `browser_context_args` asks for it; the
    live server's URL reaches the browser through `browser_context_args` below instead.
    """
    return pytestconfig.getoption("--base-url", None) or pytestconfig.getini("base_url") or None


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], live_server: str) -> dict[str, Any]:
    """Every page opens relative paths on the live server, at a desktop size.

    Function-scoped on purpose (the plugin's is session-scoped): the server is per test.
    Depending on live_server also makes the browser context close before the server stops.
    """
    return {**browser_context_args, "base_url": live_server, "viewport": DESKTOP}


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """Save a PNG of the page as NAME.png in SCREENSHOTS (NAME may hold a folder): the whole
    page, or with full_page=False what the window shows."""

    def take(page: Page, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 0
        return path

    return take
