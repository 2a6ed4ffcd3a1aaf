"""``scorecard whatif`` without a broker (contract §13): its user errors, the facts it reads
from the ``facts`` table's changelog records, and its CSV, HTML and text outputs."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from sales_scorecard.cli.main import cli
from sales_scorecard.cli.whatif import apply_facts, stored_facts
from sales_scorecard.cli.whatif_report import distribution, summary, write_csv, write_html
from sales_scorecard.core.whatif import WhatIf, recompute, rep_engine
from sales_scorecard.schemas.fact_types import FACT_TYPES
from sales_scorecard.streams.fact_log import FactLog
from tests.unit.test_whatif import CURRENT, history, six_nine

D = Decimal


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text('default: {plan_id: p, tiers: [{from: "0", to: null, rate: "0.05"}]}\n')
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2026-7", "--to", "2026-12"], "--from must be a month like 2026-07, got '2026-7'"),
    (["--from", "2026-12", "--to", "2026-07"], "--from 2026-12 is after --to 2026-07: swap them"),
    (["--from", "2026-07", "--to", "2026-12", "--out", "x.pdf"], "--out x.pdf: the file must end in .csv or .html"),
])
def test_user_errors_are_one_line_before_any_kafka(plan: Path, args: list[str], message: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCORECARD_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing listens: must not be reached
    result = CliRunner().invoke(cli, ["whatif", "--commission-plan", str(plan), *args])
    assert result.exit_code == 2
    assert result.output == f"scorecard: error: {message}\n"


def test_a_bad_plan_file_says_which_file_and_key(tmp_path: Path, plan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCORECARD_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    bad = tmp_path / "bad.yaml"
    bad.write_text('default: {plan_id: p, tiers: [{from: "0", to: null, rate: "5%"}]}\n')
    months = ["--from", "2026-07", "--to", "2026-12"]
    result = CliRunner().invoke(cli, ["whatif", "--commission-plan", str(bad), *months])
    assert result.exit_code == 2
    assert result.output == f"scorecard: error: --commission-plan {bad}: default.tiers[0].rate: not a decimal: '5%'\n"
    missing = CliRunner().invoke(cli, ["whatif", "--commission-plan", str(tmp_path / "none.yaml"), *months])
    assert missing.exit_code == 2 and missing.output.startswith("scorecard: error: --commission-plan ")
    assert "cannot read commission plan" in missing.output and len(missing.output.splitlines()) == 1
    score = CliRunner().invoke(cli, ["whatif", "--commission-plan", str(plan), "--scorecard-plan", str(bad), *months])
    assert score.exit_code == 2
    assert score.output == f"scorecard: error: --scorecard-plan {bad}: default: unknown key " \
                           "(expected one of components, plan_id, scopes)\n"


def changelog_records() -> list[tuple[bytes | None, bytes | None]]:
    """The hand-worked history as a worker's ``facts`` changelog holds it: rows of two facts
    keyed by JSON strings, an entry of the older fact-keyed layout (a raw key), a tombstone
    and an appeal's adjustment."""
    table: dict[str, object] = {}
    log = FactLog(table)
    facts = history()
    for i, fact in enumerate(facts[1:]):
        log.put(FACT_TYPES[fact["type"]].fact_key(fact), fact)
        if i % 2:
            log.write()
    log.put("appeal:D-1", {"type": "appeal_adjustment", "dispute_id": "D-1", "rep_id": "r1", "amount": "100.00"})
    log.write()
    records: list[tuple[bytes | None, bytes | None]] = [(b"roster:" + facts[0]["event_id"].encode(),
                                                         orjson.dumps(facts[0]))]
    records += [(orjson.dumps(key), orjson.dumps(value)) for key, value in table.items()]  # Faust's JSON keys
    return [*records, (b'"000000000099.00000000"', None)]


def hand_worked(tmp_path: Path) -> WhatIf:
    engine = rep_engine("Asia/Shanghai", CURRENT)
    counts = apply_facts(engine, stored_facts(changelog_records()))
    assert counts == {"applied": len(history()), "appeal adjustments left out": 1}
    return recompute(engine, six_nine(tmp_path), "2026-10", "2026-11")


def test_the_changelog_gives_the_hand_worked_figures(tmp_path: Path) -> None:
    report = hand_worked(tmp_path)
    # the figures of tests/unit/test_whatif.py::test_six_and_nine_percent_by_hand
    assert [(r.rep_id, r.period, r.commission_current, r.commission_candidate) for r in report.rows] == [
        ("r1", "2026-10", D("6600.00"), D("7800.00")), ("r1", "2026-11", D("2500.00"), D("3000.00")),
        ("r2", "2026-11", D("12500.00"), D("15000.00")), ("r3", "2026-11", D("500.00"), D("600.00"))]


def test_csv_has_one_row_per_rep_month(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_csv(hand_worked(tmp_path), path, 10)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["rep_id", "period", "commission_current", "commission_candidate", "score_current", "score_candidate"],
        # scores of the default plan, worked in tests/unit/test_whatif.py
        ["r1", "2026-10", "6600.00", "7800.00", "72.2222", "72.2222"],
        ["r1", "2026-11", "2500.00", "3000.00", "50.0000", "50.0000"],
        ["r2", "2026-11", "12500.00", "15000.00", "73.8889", "73.8889"],
        ["r3", "2026-11", "500.00", "600.00", "50.0000", "50.0000"],
    ]


def test_html_is_self_contained_with_totals_teams_changes_and_a_chart(tmp_path: Path) -> None:
    path = tmp_path / "out.html"
    write_html(hand_worked(tmp_path), path, 2)
    page = path.read_text()
    assert "<script" not in page and not re.search(r"(src|href)=", page)
    assert "22,100.00" in page and "26,400.00" in page and "+4,300.00" in page  # totals
    assert "<td>t1</td><td>3</td><td>21,600.00</td><td>25,800.00</td><td>+4,200.00</td>" in page
    assert "<td>r2</td><td>2026-11</td><td>t1</td><td>12,500.00</td><td>15,000.00</td><td>+2,500.00</td>" in page
    assert "<td>r1</td><td>2026-10</td>" in page and "<td>r1</td><td>2026-11</td>" not in page  # top 2 only
    svg = page[page.index("<svg"):page.index("</svg>")]
    # Δ of 100, 500, 1,200 and 2,500 in 20 bars of (2,500 − 100) / 20 = 120: bars 0, 3, 9 and 19
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]
    assert len(heights) == 20 and [i for i, h in enumerate(heights) if h > 0] == [0, 3, 9, 19]


def test_distribution() -> None:
    bars = distribution([D(-10), D(0), D(0), D(30)], bins=4)
    # width (30 − (−10)) / 4 = 10: [−10, 0) 1, [0, 10) 2, [10, 20) 0, [20, 30] 1
    assert [(b.low, b.high, b.count) for b in bars] == [(D(-10), D(0), 1), (D(0), D(10), 2), (D(10), D(20), 0),
                                                        (D(20), D(30), 1)]
    assert [(b.low, b.count) for b in distribution([D(0)] * 3)] == [(D(0), 3)]
    assert distribution([]) == []


def test_summary_lists_totals_teams_and_the_largest_changes(tmp_path: Path) -> None:
    text = summary(hand_worked(tmp_path), CURRENT, six_nine(tmp_path), 1)
    lines = text.splitlines()
    assert lines[0] == "what-if 2026-10..2026-11: 4 rep-months"
    assert "candidate plans: standard-2026 / balanced-2026" in lines
    assert re.search(r"^all\s+4\s+22,100\.00\s+26,400\.00\s+\+4,300\.00$", text, re.M)
    assert re.search(r"^t2\s+1\s+500\.00\s+600\.00\s+\+100\.00$", text, re.M)
    assert re.search(r"^r2\s+2026-11\s+t1\s+12,500\.00\s+15,000\.00\s+\+2,500\.00\s+73\.8889\s+73\.8889$", text, re.M)
    assert "r1 " not in text.split("largest changes")[1]


def test_the_bench_part_runs_the_command_s_functions_on_a_small_history() -> None:
    from sales_scorecard.cli.bench.whatif import measure

    said: list[str] = []
    result = measure(12, 2, said.append)
    assert sum(result["outcomes"].values()) == result["facts"] > 0
    assert result["rep_months"] >= 20  # 12 reps × 2 months, a few hired or gone mid-way
    # 6 % / 9 % pays more than 5 % / 8 % as soon as anyone sold anything
    assert Decimal(result["commission_candidate"]) > Decimal(result["commission_current"]) > 0
    assert said[0] == "whatif: simulating 12 reps x 2 months (setup, not timed as the command's work)"
    # the command's work and the setup are reported apart
    assert {"total_s", "total_cpu_s", "setup_simulate_s", "setup_encode_s"} <= result.keys()


def test_the_load_leaves_the_cyclic_collector_as_it_found_it() -> None:
    import gc

    assert gc.isenabled()
    apply_facts(rep_engine("Asia/Shanghai", CURRENT), stored_facts(changelog_records()))
    assert gc.isenabled()
    gc.disable()
    try:
        apply_facts(rep_engine("Asia/Shanghai", CURRENT), stored_facts(changelog_records()))
        assert not gc.isenabled()
    finally:
        gc.enable()
