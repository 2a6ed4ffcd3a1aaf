"""My scorecard (``/me``, contract §13) in headless Chromium against one real worker for the
whole module: a rep signs in on a phone (390×844) and sees their own month, quarter and year
in English and 中文, is refused another rep's and appeals a deal from the explanation; a
manager picks a member of their team and is refused another team's rep; on a desktop the
page does not overflow.

The history, worked out by hand (default plans, contract §6, §7, §13; Asia/Shanghai):

- Alice (r1, team t1): 1,000.00 in August, 8,000.00 in October (customer c1), and in
  November 12,000.50 (c1, the 3rd) and 30,000.00 (c2, the 8th) on a November target of
  100,000.00; an open deal of 50,000.00 at ``proposal`` (probability 0.50) expected on the
  25th; a complaint from c2; an effective call to c1 and 60 minutes of training.
  November: revenue 42,000.50, attainment 42.0 %, forecast 42,000.50 + 25,000.00 =
  67,000.50 (67.0 %), commission 5 % = 2,100.025 → 2,100.03 (half-up), next band 8 % at
  100 % attainment: 100,000.00 − 42,000.50 = 57,999.50 more (gated on csat ≥ 4.5).
  2026-Q4: 50,000.50, no target (only November has one), forecast 75,000.50.
  2026: 51,000.50, forecast 76,000.50. Growth on October: 34,000.50 / 8,000.00 = +425.0 %.
  Score components by dimension: financial weighted_attainment 0.420005 → 42.0; customer
  new_customers 1 of 2 (c1 was won in October) → 0.5, csat none, complaint_rate 1 complaint
  / 2 customers served = 0.5 against 0.05 → 0.1: (5 + 1) / 20 → 30.0; process win_rate 2/2
  → 1, contact_coverage 0 → (10 + 0) / 20 → 50.0; learning training 1 h of 4 → 0.25,
  review none → 25.0.
- Bob (r2, t1): 9,000.00 in October, 20,000.00 in November, no target.
- Carol (r3, t2): 60,000.00 in November.

Ranks (contract §6: ties share a rank; §11: top_percent = 100 × rank / ranked, one decimal;
top_decile = rank ≤ ⌈ranked / 10⌉), served by ``/api/me/ranks``:

- By revenue in November: company Carol, Alice, Bob (Alice 2 of 3, top 66.7 %; in October
  Bob, Alice: 2, unchanged; Bob 3 of 3, first of two in October: down two); team t1 Alice,
  Bob (Alice 1 of 2, top 50 %, in the top decile as ⌈2 / 10⌉ = 1; in October 2: up one).
- By score in November (default plan, §6: 100 × Σ w·a / Σ w over the components with a
  value): Alice 100 × (40 × 0.420005 + 10 × 0.5 + 10 × 0.1 + 10 × 1 + 10 × 0 + 10 × 0.25)
  / 90 = 39.2; Bob and Carol have no target (no weighted_attainment), won all they closed
  (win_rate 1), one new customer of two, no complaint (complaint_rate 0: full achievement),
  no effective contact with their book (contact_coverage 0) and no training:
  100 × (10 + 5 + 10 + 0 + 0) / 50 = 50.0 each. So Bob and Carol tie first, and Alice is
  3 of 3 (top 100 %); on t1 Bob 1, Alice 2 of 2. In October Alice (8,000.00 to c1, new) and
  Bob (9,000.00 to c9) have the same components as Bob in November: 50.0 each, tied first on
  both boards. Alice's score rank moves down two on the company board and one on t1's.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sales_scorecard.core.access import hash_token
from sales_scorecard.streams.settings import Settings
from tests.conftest import isolated_settings
from tests.factories import activity, complaint, deal, roster, target
from tests.integration.compare import applied_total
from tests.integration.conftest import WorkerProcess
from tests.integration.kafka_helpers import metric_value, produce_events, wait_for
from tests.integration.test_appeals_http import Client

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

NOV = "2026-11-{:02d}T10:00:00+08:00"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
TOKENS = {"alice": "tok-alice-me", "mia": "tok-mia-me", "ops": "tok-ops-me"}
#: Set to a directory (docs/img) to keep the phone screenshots there (docs/testing.md).
SCREENSHOTS_ENV = "SCORECARD_DOC_SCREENSHOTS"


def history() -> list[dict[str, Any]]:
    return [
        {**roster("r1", "t1", manager_id="mia"), "name": "Alice"},
        {**roster("r2", "t1", manager_id="mia"), "name": "Bob"},
        {**roster("r3", "t2", manager_id="max"), "name": "Carol"},
        target("rep", "r1", "2026-11", "100000.00"),
        deal("d-aug", "r1", "c0", "1000.00", closed_at="2026-08-15T10:00:00+08:00"),
        deal("d0", "r1", "c1", "8000.00", closed_at="2026-10-20T10:00:00+08:00"),
        deal("d9", "r2", "c9", "9000.00", closed_at="2026-10-21T10:00:00+08:00"),
        deal("d1", "r1", "c1", "12000.50", closed_at=NOV.format(3)),
        deal("d2", "r1", "c2", "30000.00", closed_at=NOV.format(8)),
        deal("d3", "r1", "c3", "50000.00", stage="open", closed_at=None, pipeline_stage="proposal",
             expected_close_at=NOV.format(25), occurred_at=NOV.format(9)),
        deal("d4", "r2", "c4", "20000.00", closed_at=NOV.format(5)),
        deal("d5", "r3", "c5", "60000.00", closed_at=NOV.format(6)),
        complaint("k1", "r1", "c2", opened_at="2026-11-05T09:00:00+08:00"),
        activity("r1", "call", occurred_at="2026-11-05T09:00:00+08:00", customer_id="c1", effective=True),
        activity("r1", "training", occurred_at="2026-11-06T09:00:00+08:00", duration_minutes=60),
    ]


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, WorkerProcess]]:
    """One worker for the module, with a tokens file and the history applied."""
    base = tmp_path_factory.mktemp(f"me-{uuid.uuid4().hex[:6]}")
    tokens = base / "tokens.yaml"
    tokens.write_text(f"""
tokens:
  - {{name: ops, sha256: {hash_token(TOKENS['ops'])}, role: admin}}
  - {{name: mia, sha256: {hash_token(TOKENS['mia'])}, role: manager, scope: [t1]}}
  - {{name: alice, sha256: {hash_token(TOKENS['alice'])}, role: rep, scope: r1}}
""")
    s = dataclasses.replace(isolated_settings(kafka_bootstrap, base / "data"), auth_tokens_file=str(tokens))
    w = WorkerProcess(s, base / "worker.log")
    try:
        w.wait_ready()
        events = history()
        produce_events(s, events)
        # every fact applied and every scorecard flushed (the ranks are the flushed ones)
        assert wait_for(lambda: applied_total(m := w.metrics()) >= len(events)
                        and metric_value(m, "scorecard_pending_updates") == 0, timeout=90)
        yield s, w
    finally:
        w.stop()


def sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url)
    page.wait_for_selector("#signin-form", state="visible", timeout=15000)
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-form", state="hidden", timeout=15000)


def period_figures(page: Any, kind: str) -> dict[str, str]:
    """What one period card shows: its label and each figure by name."""
    return page.evaluate(
        "kind => { const box = document.getElementById('p-' + kind); const out = {label: box.querySelector('.label')"
        ".textContent}; box.querySelectorAll('[data-k]').forEach(el => { out[el.dataset.k] = el.textContent; }); "
        "return out; }", kind)


def table(page: Any, id: str) -> list[list[str]]:
    return page.eval_on_selector_all(f"#{id} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")


def dimensions(page: Any) -> dict[str, tuple[str, list[str]]]:
    """dimension -> (its score, the KPIs listed under it)."""
    rows = page.eval_on_selector_all(
        "#dimensions [data-dimension]",
        "ds => ds.map(d => [d.dataset.dimension, d.querySelector('.dim-score').textContent, "
        "[...d.querySelectorAll('tr[data-kpi]')].map(r => r.dataset.kpi)])")
    return {dim: (score, kpis) for dim, score, kpis in rows}


def rank_cell(page: Any, board: str, metric: str) -> str:
    """The rank, of how many, the move and the percentile, as one line ("2 / 3 – top 66.7%")."""
    return " ".join(page.inner_text(f"#ranks tr[data-board={board}] td[data-metric={metric}]").split())


def in_top_decile(page: Any, board: str, metric: str) -> bool:
    return page.eval_on_selector(f"#ranks tr[data-board={board}] td[data-metric={metric}] .top",
                                 "e => e.classList.contains('decile')")


def fits(page: Any, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def heights(page: Any, selector: str) -> list[float]:
    """The rendered heights of the visible elements matching ``selector``, in CSS pixels."""
    return page.eval_on_selector_all(selector,
                                     "es => es.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().height)")


def lines_of(page: Any, selector: str, text: str) -> int:
    """On how many lines the characters of ``text`` are laid out within the element."""
    return page.eval_on_selector(selector, """(el, text) => {
        const start = el.textContent.indexOf(text), tops = new Set();
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let pos = 0, node;
        while ((node = walker.nextNode())) {
          for (let i = 0; i < node.length; i++, pos++) {
            if (pos < start || pos >= start + text.length) continue;
            const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
            tops.add(Math.round(r.getBoundingClientRect().top));
          }
        }
        return start < 0 ? 0 : tops.size; }""", text)


def tables_fit(page: Any) -> bool:
    """No table is wider than its box (nothing hidden to scroll to)."""
    return page.eval_on_selector_all(".scroll", "ss => ss.every(s => s.scrollWidth <= s.clientWidth)")


def wait_for_figures(page: Any, rep_name: str) -> None:
    page.wait_for_function(f"!document.getElementById('card').hidden && "
                           f"document.getElementById('rep-name').textContent === '{rep_name}' && "
                           "document.querySelectorAll('#ranks .rank').length === 4", timeout=20000)


def keep_screenshot(page: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    target_dir = os.environ.get(SCREENSHOTS_ENV)
    if target_dir:
        shutil.copy(shot, Path(target_dir) / name)


def test_a_rep_sees_their_own_numbers_on_a_phone_in_english_and_chinese(
        worker: tuple[Settings, WorkerProcess], chromium: Any, tmp_path: Path) -> None:
    s, _ = worker
    page = chromium.new_page(viewport=PHONE)
    sign_in(page, f"http://127.0.0.1:{s.web_port}/me", TOKENS["alice"])
    wait_for_figures(page, "Alice")
    assert page.input_value("#month") == "2026-11"  # the clock's month
    assert page.inner_text("#rep-team") == "team t1"
    assert period_figures(page, "month") == {
        "label": "2026-11", "revenue": "¥42,000.50", "target": "¥100,000.00", "attainment": "42.0%",
        "forecast_revenue": "¥67,000.50", "forecast_attainment": "67.0%", "commission": "¥2,100.03"}
    assert period_figures(page, "quarter") == {
        "label": "2026-Q4", "revenue": "¥50,000.50", "target": "—", "attainment": "—",
        "forecast_revenue": "¥75,000.50", "forecast_attainment": "—"}
    assert period_figures(page, "year") == {
        "label": "2026", "revenue": "¥51,000.50", "target": "—", "attainment": "—",
        "forecast_revenue": "¥76,000.50", "forecast_attainment": "—"}
    assert page.inner_text("#next-band-text") == "Sell ¥57,999.50 more to reach 8%"
    assert page.inner_text("#next-band-gate") == "also needs Customer satisfaction >= 4.5"
    assert dimensions(page) == {
        "financial": ("42.0", ["weighted_attainment"]),
        "customer": ("30.0", ["new_customers", "csat", "complaint_rate"]),
        "process": ("50.0", ["win_rate", "contact_coverage"]),
        "learning": ("25.0", ["training_hours", "review_score"]),
    }
    assert page.inner_text("#dimensions tr[data-kpi=win_rate] .value") == "100.0%"
    assert page.inner_text("#dimensions tr[data-kpi=win_rate] .goal") == "30.0%"
    assert page.inner_text("#dimensions tr[data-kpi=training_hours] .achieved") == "25.0%"
    # ranks, worked out above
    assert rank_cell(page, "company", "revenue") == "2 / 3 – top 66.7%"
    assert rank_cell(page, "team", "revenue") == "1 / 2 ▲1 top 50%"
    assert rank_cell(page, "company", "score") == "3 / 3 ▼2 top 100%"
    assert rank_cell(page, "team", "score") == "2 / 2 ▼1 top 100%"
    assert in_top_decile(page, "team", "revenue") and not in_top_decile(page, "company", "revenue")
    assert page.inner_text("#trend") == "Revenue +425.0% against 2026-10 (¥8,000.00)."
    # the explanation as tables
    assert table(page, "deals") == [["d1", "c1", "2026-11-03 10:00", "¥12,000.50", "Appeal"],
                                    ["d2", "c2", "2026-11-08 10:00", "¥30,000.00", "Appeal"]]
    assert table(page, "complaints") == [["k1", "c2", "high", "open", "2026-11-05 09:00"]]
    assert table(page, "activities") == [["2026-11-05 09:00", "Call", "c1", ""],
                                         ["2026-11-06 09:00", "Training", "—", "60 min"]]
    # a finger can hit the buttons and menus, and every table fits its box
    assert min(heights(page, "#deals button.appeal")) >= 32
    assert min(heights(page, "header button, #month")) >= 36
    assert tables_fit(page)
    assert fits(page, PHONE["width"])
    keep_screenshot(page, tmp_path, "me-phone-en.png")

    page.click("#lang")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.inner_text("h1") == "我的业绩"
    assert page.inner_text("#next-band-text") == "再卖 ¥57,999.50 达到 8%"
    assert page.inner_text("#p-month h2 span:first-child") == "月度"
    assert period_figures(page, "month")["revenue"] == "¥42,000.50"
    assert page.inner_text("#dimensions [data-dimension=learning] .dim-name") == "学习与成长"
    assert table(page, "complaints") == [["k1", "c2", "高", "处理中", "2026-11-05 09:00"]]
    assert table(page, "activities")[1] == ["2026-11-06 09:00", "培训", "—", "60 分钟"]
    assert page.inner_text("#trend") == "销售额较 2026-10 +425.0%（¥8,000.00）。"
    assert rank_cell(page, "company", "revenue") == "2 / 3 – 前 66.7%"
    # a 中文 heading or button never splits between its characters
    assert lines_of(page, "#deals thead th:first-child", "订单") == 1
    assert lines_of(page, "#deals button[data-ref=d1]", "申诉") == 1
    assert tables_fit(page)
    assert fits(page, PHONE["width"])
    keep_screenshot(page, tmp_path, "me-phone-zh.png")

    # Another month: October (no target there, so no next band).
    page.select_option("#month", "2026-10")
    page.wait_for_function("document.querySelector('#p-month .label').textContent === '2026-10'", timeout=15000)
    assert period_figures(page, "month")["revenue"] == "¥8,000.00"
    assert page.inner_text("#next-band-text") == "本月未设目标。"
    # October's ranks (nothing before: not ranked in September, •): Alice and Bob tie by score
    page.wait_for_function("document.querySelector('#ranks tr[data-board=company] td[data-metric=revenue]')"
                           ".textContent.startsWith('2 / 2 ')", timeout=15000)
    assert rank_cell(page, "company", "score") == "1 / 2 • 前 50%"
    assert rank_cell(page, "team", "revenue") == "2 / 2 • 前 100%"


def test_a_rep_appeals_a_deal_from_the_explanation(worker: tuple[Settings, WorkerProcess], chromium: Any) -> None:
    s, _ = worker
    page = chromium.new_page(viewport=PHONE)
    sign_in(page, f"http://127.0.0.1:{s.web_port}/me", TOKENS["alice"])
    wait_for_figures(page, "Alice")
    page.click("#deals button[data-ref=d2]")
    assert page.inner_text("#appeal-subject") == "Appeal deal d2 (2026-11)"
    page.click("#lang")  # the open form follows the language
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.inner_text("#appeal-subject") == "申诉订单 d2（2026-11）"
    page.click("#lang")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.inner_text("#appeal-subject") == "Appeal deal d2 (2026-11)"
    page.fill("#claim", "The signed contract says 32,000.00.")
    page.click("#appeal-form button[type=submit]")
    page.wait_for_function("document.getElementById('appeal-msg').textContent.startsWith('Appeal sent: ')",
                           timeout=15000)
    dispute_id = page.inner_text("#appeal-msg").split(": ", 1)[1]
    row = f"#disputes tr[data-id='{dispute_id}']"
    page.wait_for_selector(row, timeout=30000)
    cells = page.eval_on_selector(row, "r => [...r.cells].map(c => c.textContent)")
    assert cells[1:] == ["deal d2 · 2026-11", "open", "The signed contract says 32,000.00."]
    _, served, _ = Client(s.web_port).call("GET", f"/api/disputes/{dispute_id}", TOKENS["ops"])
    assert (served["rep_id"], served["period"], served["subject_kind"], served["subject_ref"], served["state"],
            served["history"][0]["by"]) == ("r1", "2026-11", "deal", "d2", "open", "r1")
    page.click("#lang")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.eval_on_selector(row, "r => [...r.cells].slice(1, 3).map(c => c.textContent)") == [
        "订单 d2 · 2026-11", "处理中"]
    assert fits(page, PHONE["width"])


def test_a_rep_is_refused_another_reps_scorecard(worker: tuple[Settings, WorkerProcess], chromium: Any) -> None:
    s, _ = worker
    page = chromium.new_page(viewport=PHONE)
    sign_in(page, f"http://127.0.0.1:{s.web_port}/me?rep=r2", TOKENS["alice"])
    page.wait_for_function("document.getElementById('msg').textContent !== ''", timeout=15000)
    assert page.inner_text("#msg").startswith("You may not see this scorecard.")
    assert page.is_hidden("#card")
    text = page.inner_text("body")
    assert "Bob" not in text and "20,000.00" not in text and "9,000.00" not in text
    # the API behind it: 403 for r2, and the rep's own /api/me names them
    client = Client(s.web_port)
    status, body, _ = client.call("GET", "/api/me?rep=r2", TOKENS["alice"])
    assert status == 403 and set(body) == {"error"}
    status, body, _ = client.call("GET", "/api/me", TOKENS["alice"])
    assert status == 200
    assert body["principal"] == {"name": "alice", "role": "rep", "scope": ["r1"], "rep_id": "r1"}
    assert (body["currency"], body["members"]) == ("CNY", [])
    assert body["rep"] == {"rep_id": "r1", "name": "Alice", "team_id": "t1",
                           "months": ["2026-11", "2026-10", "2026-08"], "current_month": "2026-11"}
    assert client.call("GET", "/api/me", None)[0] == 401
    # the ranks behind the page, under the same rules: a rank, never a board
    assert client.call("GET", "/api/me/ranks?rep=r2", TOKENS["alice"])[0] == 403
    assert client.call("GET", "/api/me/ranks", None)[0] == 401
    status, ranks, _ = client.call("GET", "/api/me/ranks", TOKENS["alice"])
    assert status == 200
    assert ranks == {"rep_id": "r1", "month": "2026-11", "previous_month": "2026-10", "boards": {
        "company": {"board": "company",
                    "score": {"rank": 3, "of": 3, "top_percent": 100.0, "top_decile": False, "previous_rank": 1},
                    "revenue": {"rank": 2, "of": 3, "top_percent": 66.7, "top_decile": False, "previous_rank": 2}},
        "team": {"board": "team:t1",
                 "score": {"rank": 2, "of": 2, "top_percent": 100.0, "top_decile": False, "previous_rank": 1},
                 "revenue": {"rank": 1, "of": 2, "top_percent": 50.0, "top_decile": True, "previous_rank": 2}}}}
    assert client.call("GET", "/api/me/ranks?month=2026-09", TOKENS["alice"])[0] == 404  # no scorecard then
    assert client.call("GET", "/api/me/ranks?month=2026-13", TOKENS["alice"])[0] == 400


def test_a_manager_sees_a_member_of_their_team_and_not_another_teams_rep(
        worker: tuple[Settings, WorkerProcess], chromium: Any) -> None:
    s, _ = worker
    page = chromium.new_page(viewport=PHONE)
    sign_in(page, f"http://127.0.0.1:{s.web_port}/me", TOKENS["mia"])
    page.wait_for_selector("#rep-select", state="visible", timeout=15000)
    options = page.eval_on_selector_all("#rep-select option", "os => os.map(o => o.value)")
    assert options == ["", "r1", "r2"]  # t1's members only
    assert page.inner_text("#msg") == "Choose a rep to see their scorecard."
    page.select_option("#rep-select", "r2")
    wait_for_figures(page, "Bob")
    assert page.url.endswith("/me?rep=r2")
    assert period_figures(page, "month") == {
        "label": "2026-11", "revenue": "¥20,000.00", "target": "—", "attainment": "—",
        "forecast_revenue": "¥20,000.00", "forecast_attainment": "—", "commission": "¥1,000.00"}
    assert page.inner_text("#next-band-text") == "No target for this month."
    assert rank_cell(page, "company", "revenue") == "3 / 3 ▼2 top 100%"  # October: first of two
    assert rank_cell(page, "company", "score") == "1 / 3 – top 33.3%"  # tied with Carol; with Alice in October
    assert table(page, "deals") == [["d4", "c4", "2026-11-05 10:00", "¥20,000.00", "Appeal"]]
    assert fits(page, PHONE["width"])

    page.goto(f"http://127.0.0.1:{s.web_port}/me?rep=r3")  # Carol is t2's
    page.wait_for_function("document.getElementById('msg').textContent !== ''", timeout=15000)
    assert page.inner_text("#msg").startswith("You may not see this scorecard.")
    assert page.is_hidden("#card") and "60,000.00" not in page.inner_text("body")


def test_on_a_desktop_the_page_does_not_overflow_and_money_is_formatted_exactly(
        worker: tuple[Settings, WorkerProcess], chromium: Any) -> None:
    s, _ = worker
    page = chromium.new_page(viewport=DESKTOP)
    sign_in(page, f"http://127.0.0.1:{s.web_port}/me?lang=zh", TOKENS["alice"])
    wait_for_figures(page, "Alice")
    assert page.inner_text("h1") == "我的业绩"
    assert fits(page, DESKTOP["width"])
    # the three periods side by side
    tops = page.eval_on_selector_all(".period", "ps => ps.map(p => Math.round(p.getBoundingClientRect().top))")
    assert len(set(tops)) == 1, tops
    # the four dimensions' tables line their columns up
    for column in (2, 3, 4):
        lefts = page.eval_on_selector_all(f"#dimensions thead th:nth-child({column})",
                                          "ths => ths.map(th => Math.round(th.getBoundingClientRect().left))")
        assert len(lefts) == 4 and len(set(lefts)) == 1, (column, lefts)
    # money on the digits: no float rounding, whatever the magnitude
    cases = {"0.10": "¥0.10", "999.99": "¥999.99", "1000.00": "¥1,000.00", "-1234.50": "-¥1,234.50",
             "123456789012345678.99": "¥123,456,789,012,345,678.99", "9007199254740993.01": "¥9,007,199,254,740,993.01"}
    shown = page.evaluate("cases => Object.fromEntries(Object.keys(cases).map(k => [k, fmtMoney(k, 'CNY')]))", cases)
    assert shown == cases
    assert page.evaluate("[fmtMoney('1500.00', 'CHF'), fmtMoney(null, 'CNY'), fmtMoney('—', 'CNY')]") == [
        "1,500.00 CHF", "—", "—"]
    assert page.evaluate("[fmtRate(0.07), fmtRate(0.125)]") == ["7%", "12.5%"]
