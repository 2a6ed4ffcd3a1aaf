"""Awards on the live page (contract §11) in headless Chromium, at desktop (1280×800) and
phone (390×844) sizes, in English and 中文: a badge beside each winner's row of the
chosen period and a hall of fame listing the period's awards, read from
``/api/awards?period=``; nothing wider than the phone's screen.

November, hand-worked: Alice (r1) and Bob (r2) of team t1 sell 120,000.00 each on a
target of 100,000.00 with the same single won deal, so their scores are equal (every
achievement is capped at 1.0) and both reach target: both win ``star_rep`` (a tie), each
with the plan's 2,000.00 bonus. Carol (r3, team t2) sells 90,000.00 of 100,000.00: not
eligible, no badge. Team t1 reaches 240,000.00 of 200,000.00 and t2 90,000.00 of
100,000.00, so t1 alone wins ``star_manager``, its manager m-t1."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from sales_scorecard.streams.settings import Settings
from tests.factories import close_period, deal, roster, target
from tests.integration.compare import applied_total
from tests.integration.kafka_helpers import produce_events, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

NOV = "2026-11-{:02d}T10:00:00+08:00"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PLAN = """awards:
  - {award: star_rep, rule: top_rep_score, period: month, min_attainment: "1.0", bonus: "2000.00"}
  - {award: star_manager, rule: top_team_score, period: month, min_attainment: "1.0"}
"""

#: lang -> what the hall of fame shows per award (name, winners, bonus), and the badge
EXPECTED = {
    "en": {"title": "Hall of fame · 2026-11",
           "star_rep": ("★ Sales star of the month", "Alice, Bob (tied)", "· bonus ¥2,000.00 each"),
           "star_manager": ("★ Best sales manager of the month", "team t1 (manager m-t1)", ""),
           "badge": "★ Star"},
    "zh": {"title": "荣誉榜 · 2026-11",
           "star_rep": ("★ 月度销售之星", "Alice、Bob (并列)", "· 奖金 ¥2,000.00 每人"),
           "star_manager": ("★ 最佳销售管理之星", "团队 t1 (经理 m-t1)", ""),
           "badge": "★ 销售之星"},
}


def history() -> list[dict]:
    people = [("r1", "t1", "Alice", "120000.00"), ("r2", "t1", "Bob", "120000.00"), ("r3", "t2", "Carol", "90000.00")]
    events: list[dict] = []
    for i, (rep, team, name, amount) in enumerate(people, start=1):
        events += [{**roster(rep, team, manager_id=f"m-{team}"), "name": name},
                   target("rep", rep, "2026-11", "100000.00"),
                   deal(f"d{i}", rep, f"c{i}", amount, closed_at=NOV.format(10))]
    return events + [target("team", "t1", "2026-11", "200000.00"), target("team", "t2", "2026-11", "100000.00")]


def hall(page: Any) -> dict[str, tuple[str, str, str]]:
    """award -> (its name, the winners, the bonus) as the hall of fame shows them."""
    rows = page.eval_on_selector_all(
        "#hall-list li", "lis => lis.map(li => [li.dataset.award, "
                         "['.award-name', '.winners', '.bonus'].map(c => li.querySelector(c).textContent)])")
    return {award: tuple(texts) for award, texts in rows}


def badges(page: Any) -> dict[str, list[str]]:
    """rep id -> the badge texts in its row's name cell."""
    return page.eval_on_selector_all(
        "#rows tr", "rows => Object.fromEntries(rows.map(r => [r.dataset.rep, "
                    "[...r.querySelectorAll('.name .badge')].map(b => b.textContent)]))")


def boxes(page: Any, rep: str) -> list[dict[str, float]]:
    """The row, name cell and badge boxes of one rep, read in one step.

    The page re-renders its rows on each pushed update, so element handles taken one
    by one can go stale between calls; one evaluate reads a single rendering."""
    return page.evaluate(
        "rep => ['', ' .name', ' .badge'].map(s => { "
        "const r = document.querySelector(`#rows tr[data-rep=${rep}]${s}`).getBoundingClientRect(); "
        "return {x: r.x, y: r.y, width: r.width, height: r.height}; })", rep)


def check_page(page: Any, lang: str, width: int) -> None:
    want = EXPECTED[lang]
    page.wait_for_function(f"document.querySelectorAll('#rows .badge').length === 2 && "
                           f"document.getElementById('hall-period').textContent === '2026-11' && "
                           f"document.documentElement.lang === '{'zh-CN' if lang == 'zh' else 'en'}'",
                           timeout=15000)
    assert page.is_visible("#hall")
    assert page.inner_text("#hall h2") == want["title"]
    assert hall(page) == {"star_rep": want["star_rep"], "star_manager": want["star_manager"]}
    assert badges(page) == {"r1": [want["badge"]], "r2": [want["badge"]], "r3": []}
    # each badge sits in its winner's row, right of the name, inside the screen
    for rep in ("r1", "r2"):
        row, name, badge = boxes(page, rep)
        assert row["y"] <= badge["y"] and badge["y"] + badge["height"] <= row["y"] + row["height"], (row, badge)
        assert name["x"] <= badge["x"] and badge["x"] + badge["width"] <= name["x"] + name["width"] + 0.5
        assert badge["x"] + badge["width"] <= width
    for box in page.eval_on_selector_all(
            "#hall-list li", "lis => lis.map(li => { const r = li.getBoundingClientRect(); "
                             "return {x: r.x, width: r.width}; })"):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_badges_and_hall_of_fame_in_english_and_chinese(
        test_settings: Settings, run_worker: Any, chromium: Any, tmp_path: Path, size: str) -> None:
    plan = tmp_path / "awards.yaml"
    plan.write_text(PLAN)
    s = dataclasses.replace(test_settings, award_plan=str(plan))
    worker = run_worker(s)
    events = history()
    produce_events(s, events)
    assert wait_for(lambda: applied_total(worker.metrics()) >= len(events), timeout=90)
    produce_events(s, [close_period("2026-11")])

    def decided() -> bool:
        status, body = worker.get("/api/awards?period=2026-11")
        return status == 200 and len(orjson.loads(body)["awards"]) == 3

    assert wait_for(decided, timeout=60), worker.get("/api/awards?period=2026-11")

    viewport = DESKTOP if size == "desktop" else PHONE
    page = chromium.new_page(viewport=viewport)
    page.goto(f"http://127.0.0.1:{s.web_port}/")
    page.wait_for_function("document.querySelectorAll('#period option').length > 0", timeout=15000)
    page.select_option("#period", "2026-11")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3", timeout=15000)
    check_page(page, "en", viewport["width"])
    page.click("#lang")
    check_page(page, "zh", viewport["width"])
    page.screenshot(path=str(tmp_path / f"awards-{size}.png"), full_page=True)

    # A period not decided yet (December is open) shows no hall of fame and no badge.
    page.evaluate("state.period = '2026-12'; loadAwards()")
    page.wait_for_function("document.getElementById('hall').hidden", timeout=10000)
    assert page.query_selector_all("#rows .badge") == []
    page.close()
