"""End-to-end tests reuse the worker-process fixture of the integration tests; the page
tests share one headless Chromium fixture."""

from pathlib import Path

import pytest

from tests.e2e.test_leaderboard_page import CHROMIUM, FLAGS
from tests.integration.conftest import run_worker  # noqa: F401 - a fixture: pytest finds it by name


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()
