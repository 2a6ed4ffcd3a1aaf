"""The live leaderboard page in headless Chromium (Debian's, driven by Playwright):
rows reorder within 2 s of a won deal without a reload; language and metric switch; money
shown with the currency and thousands separators."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from sales_scorecard.streams.settings import Settings
from tests.factories import deal, roster
from tests.integration.kafka_helpers import produce_events, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOV = "2026-11-{:02d}T10:00:00+08:00"


@pytest.fixture
def browser_page(tmp_path: Path):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone-sized screen
        yield page
        browser.close()


def rep_order(page) -> list[str]:
    return page.eval_on_selector_all("#rows tr", "rows => rows.map(r => r.dataset.rep)")


def explained_kpis(page) -> dict[str, tuple[str, str]]:
    """The explanation's KPIs: id -> (name shown, value shown)."""
    rows = page.eval_on_selector_all(
        "#explain-kpis tr", "rows => rows.map(r => [r.querySelector('button').dataset.ref, "
        "r.querySelector('.label').textContent, r.querySelector('.value').textContent])")
    return {kpi: (name, value) for kpi, name, value in rows}


def test_rows_reorder_live_and_labels_switch(test_settings: Settings, run_worker, browser_page, tmp_path: Path) -> None:
    s = test_settings
    worker = run_worker(s)
    produce_events(s, [
        roster("r1", "t1"), roster("r2", "t1"), roster("r3", "t2"),
        deal("d1", "r1", "c1", "100.00", closed_at=NOV.format(3)),
        deal("d2", "r2", "c2", "200.00", closed_at=NOV.format(4)),
        deal("d3", "r3", "c3", "50.00", closed_at=NOV.format(5)),
    ])
    page = browser_page
    assert wait_for(lambda: worker.readiness().get("engine_loaded"), timeout=60)
    time.sleep(1.0)  # let the first flush fill the board cache
    page.goto(f"http://127.0.0.1:{s.web_port}/")
    page.click("button[data-metric=revenue]")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3", timeout=15000)
    assert rep_order(page) == ["r2", "r1", "r3"]
    page.evaluate("window.__no_reload_marker = 42")

    produce_events(s, [deal("d4", "r1", "c4", "1150.50", closed_at=NOV.format(6))])
    started = time.monotonic()
    page.wait_for_function("document.querySelector('#rows tr').dataset.rep === 'r1'", timeout=10000)
    elapsed = time.monotonic() - started
    assert rep_order(page) == ["r1", "r2", "r3"]
    assert page.evaluate("window.__no_reload_marker") == 42  # same document: no reload
    assert elapsed <= 2.0, f"reordered after {elapsed:.2f}s"
    # 100.00 + 1,150.50, with the currency (CNY) and a thousands separator
    assert page.inner_text("#rows tr:first-child .revenue") == "¥1,250.50"
    assert page.inner_text("#rows tr:first-child td.up") == "▲"

    page.click("#lang")
    assert page.inner_text("h1") == "销售排行榜"
    assert page.inner_text("button[data-metric=revenue]") == "销售额"
    page.click("button[data-metric=score]")
    page.wait_for_function("document.querySelector('button[data-metric=score]').classList.contains('active')")
    page.click("#lang")
    assert page.inner_text("h1") == "Sales leaderboard"

    page.click("#rows tr:first-child")
    page.wait_for_function("document.getElementById('explain').textContent.includes('credited_deals')")
    amounts = page.eval_on_selector_all("#explain-deals .value", "cells => cells.map(c => c.textContent)")
    assert amounts == ["¥100.00", "¥1,150.50"]
    # each KPI by its name, money with the currency, ratios as percentages (contract §5)
    assert explained_kpis(page)["revenue"] == ("Revenue", "¥1,250.50")
    assert explained_kpis(page)["avg_deal_size"] == ("Average deal size", "¥625.25")  # 1,250.50 / 2
    assert explained_kpis(page)["win_rate"] == ("Win rate", "100.0%")  # 2 won, none lost
    assert explained_kpis(page)["won_deals"] == ("Deals won", "2")
    page.click("#explain-kpis button[data-ref=revenue]")
    assert page.inner_text("#appeal-subject") == "Appeal: Revenue"
    page.click("#lang")  # the explanation and the open appeal follow the language
    assert explained_kpis(page)["revenue"] == ("销售额", "¥1,250.50")
    assert page.inner_text("#appeal-subject") == "申诉: 销售额"
    page.click("#lang")
    shot = tmp_path / "leaderboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000


def test_a_team_board_shows_its_manager_and_the_team_score_by_dimension(test_settings: Settings, run_worker,
                                                                         browser_page) -> None:
    s = test_settings
    worker = run_worker(s)
    produce_events(s, [
        {**roster("r1", "t1", manager_id="m-7"), "name": "Konstantin Alexandrovich-Konstantinopolsky"},
        roster("r2", "t1", manager_id="m-7"),
        {**roster("m-7", "t-lead", manager_id="boss"), "name": "Li Na"},
        deal("d1", "r1", "c1", "1234567.89", closed_at=NOV.format(3)),
        deal("d2", "r2", "c2", "200.00", closed_at=NOV.format(4)),
    ])
    page = browser_page
    assert wait_for(lambda: worker.readiness().get("engine_loaded"), timeout=60)
    time.sleep(1.0)
    page.goto(f"http://127.0.0.1:{s.web_port}/")
    page.wait_for_function("[...document.querySelectorAll('#board option')].some(o => o.value === 'team:t1')",
                           timeout=15000)
    page.select_option("#board", "team:t1")
    page.wait_for_function("!document.getElementById('team-head').hidden", timeout=15000)
    # t1 in November under the team plan (contract §12): attainment null (no target); csat
    # null; complaint_rate 0 → 1; contact_coverage 0; review_coverage 0 of 2; turnover_rate 0
    # → 1; team_engagement null: score 100 × (10 + 0 + 0 + 10) / 40 = 50.
    assert page.inner_text("#team-manager") == "Li Na"
    assert page.inner_text("#team-score") == "50.0"
    assert page.inner_text("#team-dims") == "· Financial — · Customer 100.0 · Process 0.0 · Learning 100.0"
    page.click("#lang")
    assert page.inner_text("#team-dims") == "· 财务 — · 客户 100.0 · 流程 0.0 · 学习与成长 100.0"
    assert "经理" in page.inner_text("#team-head")
    # on the phone a long name wraps: the board stays within the page's margins
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 2", timeout=15000)
    assert page.inner_text("#rows tr:first-child .revenue") == "¥1,234,567.89"
    table_right, content_right = page.evaluate(
        "[document.getElementById('rows').closest('table').getBoundingClientRect().right, "
        "(m => m.getBoundingClientRect().right - parseFloat(getComputedStyle(m).paddingRight))"
        "(document.querySelector('main'))]")
    assert table_right <= content_right + 0.5, (table_right, content_right)
    page.select_option("#board", "company")
    page.wait_for_function("document.getElementById('team-head').hidden", timeout=15000)


def test_public_page_shows_names_and_the_metric_without_a_token(
        test_settings: Settings, run_worker, browser_page, tmp_path: Path) -> None:
    import dataclasses

    from sales_scorecard.core.access import hash_token

    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"- {{name: ops, sha256: {hash_token('tok-ops')}, role: admin}}\n")
    s = dataclasses.replace(test_settings, auth_tokens_file=str(tokens), public_leaderboard=True)
    worker = run_worker(s)
    produce_events(s, [
        {**roster("r1", "t1"), "name": "Alice"}, {**roster("r2", "t2"), "name": "Bob"},
        deal("d1", "r1", "c1", "100.00", closed_at=NOV.format(3)),
        deal("d2", "r2", "c2", "200.00", closed_at=NOV.format(4)),
    ])
    assert wait_for(lambda: worker.readiness().get("engine_loaded"), timeout=60)
    time.sleep(1.0)
    page = browser_page
    page.goto(f"http://127.0.0.1:{s.web_port}/")
    page.click("button[data-metric=revenue]")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 2", timeout=15000)
    names = page.eval_on_selector_all("#rows tr .name", "cells => cells.map(c => c.textContent)")
    assert names == ["Bob", "Alice"]
    assert page.inner_text("#rows tr:first-child .revenue") == "¥200.00"
    assert page.inner_text("#rows tr:first-child .team") == "t2"
    page.click("#rows tr:first-child")  # no drill-down without a token
    time.sleep(0.5)
    assert not page.is_visible("#explain")
