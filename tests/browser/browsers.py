"""What the browser tests need from the machine: Debian's Chromium (never a downloaded
browser), and for the softphone tests Kamailio with its WebSocket module.

Missing tools skip a test on a developer's machine and fail it under ``CI=true``, where
every browser test must run."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.softphone.http_server import SIPJS_DIR
from tests.browser.softphone.kamailio import find_kamailio, find_module_dir

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless as root, and quiet: without the background-networking flags Chromium keeps
# trying hosts this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Fake microphone/speaker and no permission prompt, for the softphone.
MEDIA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI=true: the browser tests must run)")
    pytest.skip(what)


def chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        missing(f"chromium is not installed ({CHROMIUM}; apt-get install chromium)")
    assert path is not None
    return path


def require_softphone_tools() -> None:
    if find_kamailio() is None:
        missing("kamailio is not installed (apt-get install kamailio kamailio-websocket-modules)")
    if find_module_dir() is None:
        missing("kamailio websocket module missing (apt-get install kamailio-websocket-modules)")
    require_chromium()
    assert (SIPJS_DIR / "lib" / "index.js").exists(), "node_modules/sip.js missing: run npm ci"


@contextlib.contextmanager
def media_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, with a fake microphone and speaker: for the
    softphone tests (Playwright's ``Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=require_chromium(), headless=True,
                                      args=CHROMIUM_ARGS + MEDIA_ARGS)  # fmt: skip
        try:
            yield instance
        finally:
            instance.close()
