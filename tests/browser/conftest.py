"""Fixtures for the agent page's browser tests: the real server as a subprocess and
Debian's Chromium driven by Playwright (never a downloaded browser).

A missing /usr/bin/chromium skips these tests, except under ``CI=true``, where it fails
them. Fixture names are specific to the agent page so other browser tests in this folder
keep their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.browsers import CHROMIUM_ARGS, require_chromium
from tests.browser.server import REPO, CallCenterServer

OUTPUT = REPO / "test-output"


@pytest.fixture(scope="module")
def agent_browser():  # type: ignore[no-untyped-def]
    """One Chromium per test module (Playwright's sync API allows one driver at a time)."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def cc_server(tmp_path_factory) -> Iterator[CallCenterServer]:  # type: ignore[no-untyped-def]
    """``callcenter serve --simulate`` with its demo users, on a fresh database."""
    require_chromium()
    server = CallCenterServer(tmp_path_factory.mktemp("callcenter"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        print(f"--- server output (tail) ---\n{server.output()[-4000:]}")


@pytest.fixture
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
