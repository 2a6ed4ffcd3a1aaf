"""Appeals on the live page in headless Chromium on a phone-sized screen (390×844): a rep
signs in, appeals a deal from their scorecard's explanation, and their manager, signed in
on another browser, sees the open dispute with its age and upholds it (contract §10)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from sales_scorecard.core.access import hash_token
from sales_scorecard.streams.settings import Settings
from tests.factories import deal, roster
from tests.integration.kafka_helpers import produce_events, wait_for
from tests.integration.test_appeals_http import Client

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

NOV = "2026-11-{:02d}T10:00:00+08:00"
PHONE = {"width": 390, "height": 844}


def sign_in(page: Any, port: int, token: str) -> None:
    page.goto(f"http://127.0.0.1:{port}/")
    page.wait_for_selector("#signin-form", state="visible", timeout=15000)
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-form", state="hidden", timeout=15000)


def fits_the_screen(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_rep_appeals_a_deal_from_the_explanation_and_the_manager_upholds_it(
        test_settings: Settings, run_worker: Any, chromium: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"""
tokens:
  - {{name: ops, sha256: {hash_token('tok-ops-1')}, role: admin}}
  - {{name: mia, sha256: {hash_token('tok-mia-1')}, role: manager, scope: [t1]}}
  - {{name: alice, sha256: {hash_token('tok-alice-1')}, role: rep, scope: r1}}
""")
    s = dataclasses.replace(test_settings, auth_tokens_file=str(tokens))
    worker = run_worker(s)
    produce_events(s, [
        {**roster("r1", "t1", manager_id="mia"), "name": "Alice"},
        {**roster("r2", "t1", manager_id="mia"), "name": "Bob"},
        deal("d1", "r1", "c1", "100.00", closed_at=NOV.format(3)),
        deal("d2", "r2", "c2", "200.00", closed_at=NOV.format(4)),
    ])
    assert wait_for(lambda: worker.readiness().get("engine_loaded"), timeout=60)
    time.sleep(1.0)  # let the first flush fill the board cache

    # The rep, on a phone: sign in, open her explanation, appeal deal d1.
    rep = chromium.new_page(viewport=PHONE)
    sign_in(rep, s.web_port, "tok-alice-1")
    rep.wait_for_function("document.querySelectorAll('#rows tr').length === 2", timeout=15000)
    rep.click("#rows tr[data-rep=r2]")  # Bob's figures are not hers, said in her language
    rep.wait_for_function("document.getElementById('appeal-msg').textContent !== ''", timeout=15000)
    assert rep.inner_text("#appeal-msg") == "You may not see this rep's figures."
    rep.click("#lang")
    assert rep.inner_text("#appeal-msg") == "你无权查看该销售的明细。"
    rep.click("#lang")
    rep.click("#rows tr[data-rep=r1]")
    rep.wait_for_selector("#explain-deals button[data-ref=d1]", timeout=15000)
    assert rep.inner_text("#appeal-msg") == ""
    assert fits_the_screen(rep)
    rep.click("#explain-deals button[data-ref=d1]")
    rep.fill("#claim", "d1 was closed by me, but the amount is missing a line item.")
    rep.screenshot(path=str(tmp_path / "appeals-rep.png"), full_page=True)
    rep.click("#appeal-form button[type=submit]")
    rep.wait_for_function("document.getElementById('appeal-msg').textContent.startsWith('Appeal sent')",
                          timeout=15000)
    dispute_id = rep.inner_text("#appeal-msg").split(": ", 1)[1]
    admin = Client(s.web_port)

    def served() -> dict[str, Any]:
        code, body, _ = admin.call("GET", f"/api/disputes/{dispute_id}", "tok-ops-1")
        return body if code == 200 else {}

    assert wait_for(lambda: served().get("state") == "open", timeout=60)
    opened = served()
    assert (opened["rep_id"], opened["subject_kind"], opened["subject_ref"], opened["period"],
            opened["history"][0]["by"]) == ("r1", "deal", "d1", "2026-11", "r1")

    # The manager, in Chinese, on a phone: the open dispute with its age; uphold it.
    manager = chromium.new_context(viewport=PHONE).new_page()
    sign_in(manager, s.web_port, "tok-mia-1")
    manager.click("#lang")
    card = f".dispute[data-id='{dispute_id}']"
    manager.wait_for_selector(card, timeout=15000)
    assert manager.inner_text(f"{card} .age") == "已开 0 天"
    assert "d1 was closed by me" in manager.inner_text(f"{card} .claim")
    assert fits_the_screen(manager)
    manager.fill(f"{card} .resolution", "核对了 CRM：确认属实。")
    # A language switch redraws the list at once (in the click's own task, before any
    # fetch could answer) and keeps what she typed, and where she types.
    switched = ("sel => { document.getElementById('lang').click(); return [document.querySelector(sel).textContent,"
                " document.activeElement.classList.contains('resolution')]; }")
    assert manager.evaluate(switched, f"{card} .age") == ["open 0 d", True]
    assert manager.input_value(f"{card} .resolution") == "核对了 CRM：确认属实。"
    manager.click("#lang")
    assert manager.inner_text(f"{card} .age") == "已开 0 天"
    manager.click(f"{card} button[data-decision=upheld]")
    manager.wait_for_function(f"document.querySelector(\"{card} .msg\").textContent === '处理结果已提交'",
                              timeout=15000)
    assert wait_for(lambda: served().get("state") == "resolved", timeout=60)
    resolved = served()
    assert (resolved["decision"], resolved["resolution"], resolved["history"][-1]["by"]) == (
        "upheld", "核对了 CRM：确认属实。", "mia")
    # Once processed, it leaves the manager's open list.
    manager.wait_for_selector(card, state="detached", timeout=15000)
    manager.screenshot(path=str(tmp_path / "appeals-manager.png"), full_page=True)
