"""Browser tests: Playwright (sync API) driving Debian's Chromium against a live uvicorn server.

Playwright's own browser download does not work here, so the tests launch ``/usr/bin/chromium``
(the ``chromium`` apt package). Without it they are skipped with the reason, unless
``PUBDATA_REQUIRE_E2E=1`` (set in CI), in which case they fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import builders

CHROMIUM = Path(os.environ.get("PUBDATA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _unavailable()
    if reason:
        if os.environ.get("PUBDATA_REQUIRE_E2E") == "1":
            pytest.fail(f"browser tests are required (PUBDATA_REQUIRE_E2E=1) but {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


def _new_page(browser: Any, live_server: Any, page_errors: list[str], width: int = 1280) -> tuple[Any, Any]:
    """(context, page): a fresh browser context (no cookies) with the live server as base URL.
    Console errors and uncaught exceptions are collected in ``page_errors``."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": width, "height": 900},
        reduced_motion="reduce",  # charts draw at once, so screenshots show them whole
    )
    context.set_default_timeout(15_000)
    pg = context.new_page()
    pg.on("console", lambda msg: page_errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: page_errors.append(str(exc)))
    return context, pg


@pytest.fixture
def page(browser: Any, live_server: Any, page_errors: list[str]) -> Iterator[Any]:
    """A fresh browser context on a desktop-sized window."""
    context, pg = _new_page(browser, live_server, page_errors)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def as_user(browser: Any, live_server: Any, page_errors: list[str]) -> Iterator[Any]:
    """``as_user(username, width=1280)``: a fresh browser context signed in as that user (through
    the login form)."""
    contexts = []

    def open_as(username: str, width: int = 1280) -> Any:
        context, pg = _new_page(browser, live_server, page_errors, width)
        contexts.append(context)
        pg.goto("/user/login")
        pg.fill("#login-username", username)
        pg.fill("#login-password", builders.PASSWORD)
        pg.click("#login-form button[type=submit]")
        pg.wait_for_url(re.compile(r"/$"))
        return pg

    yield open_as
    for context in contexts:
        context.close()


def assert_fits(pg: Any) -> None:
    """The page fits the window's width: no sideways scrolling (on a phone)."""
    overflow = pg.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (pg.url, overflow)
