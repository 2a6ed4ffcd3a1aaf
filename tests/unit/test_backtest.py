"""The forecast backtest (contract §13): its arithmetic worked by hand on a tiny history,
and on a small simulated history the forecast beats the run rate at both checkpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from sales_scorecard.cli.forecast import History
from sales_scorecard.cli.main import cli
from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.backtest import replay
from sales_scorecard.core.engine import ScorecardEngine
from tests.factories import deal, roster, target

CST = "+08:00"


def _history(events: list[dict[str, Any]], tmp_path: Path) -> Path:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def _records(events: list[dict[str, Any]], tmp_path: Path) -> History:
    with _history(events, tmp_path).open("rb") as lines:
        return History(lines, "CNY")


TINY = [
    roster("r1", "t1"),
    target("rep", "r1", "2026-11", "2000.00"),
    # a negotiation deal (0.75) in the pipeline from 2 November, won on 25 November
    deal("d1", "r1", "c1", "1000.00", stage="open", closed_at=None, occurred_at=f"2026-11-02T10:00:00{CST}",
         pipeline_stage="negotiation", expected_close_at=f"2026-11-25T10:00:00{CST}"),
    deal("d1", "r1", "c1", "1000.00", version=2, closed_at=f"2026-11-25T10:00:00{CST}"),
    deal("d2", "r1", "c2", "300.00", closed_at=f"2026-11-05T10:00:00{CST}"),  # won before 1/3
]


def test_tiny_history_worked_by_hand(tmp_path: Path) -> None:
    # November has 30 days: 1/3 is 11 November 00:00 local, 2/3 is 21 November 00:00.
    # Actual: 1300. At 1/3: revenue 300, run rate 300 / (1/3) = 900 (error 400);
    # forecast 300 + 1000 × 0.75 = 1050 (error 250). At 2/3: run rate 300 / (2/3) = 450
    # (error 850); forecast 1050 (error 250).
    history = _records(TINY, tmp_path)
    result = replay(ScorecardEngine("Asia/Shanghai"), history.records).to_json()
    assert result["months"] == ["2026-11"]
    first, second = result["checkpoints"]
    assert (first["checkpoint"], first["rep_months"], first["actual_revenue"]) == ("1/3", 1, "1300.00")
    assert (first["forecast_abs_error"], first["run_rate_abs_error"]) == ("250.00", "400.00")
    assert (first["forecast_wape"], first["run_rate_wape"]) == (0.1923, 0.3077)  # 250/1300, 400/1300
    assert (second["forecast_abs_error"], second["run_rate_abs_error"]) == ("250.00", "850.00")
    assert (second["forecast_wape"], second["run_rate_wape"]) == (0.1923, 0.6538)  # 850/1300


def test_forecast_beats_the_run_rate_on_a_simulated_history(tmp_path: Path) -> None:
    events = simulate(SimulationConfig(seed=3, reps=30, teams=4, months=3, start_month="2026-09"))
    history = _records(events, tmp_path)
    result = replay(ScorecardEngine("Asia/Shanghai"), history.records)
    assert result.months == ["2026-09", "2026-10", "2026-11"]
    for score in result.overall.values():
        assert score.rep_months > 50
        forecast, run_rate = score.forecast.wape, score.run_rate.wape
        assert forecast is not None and run_rate is not None
        assert forecast < run_rate, (score.checkpoint, forecast, run_rate)


def test_the_command_prints_and_writes_both_errors(tmp_path: Path) -> None:
    bad = {**TINY[4], "amount": 5.0}  # a JSON number: invalid_money
    appeal = {"type": "dispute_opened", "event_id": "x"}
    path = _history([*TINY, bad, appeal], tmp_path)
    out = tmp_path / "backtest.json"
    result = CliRunner().invoke(cli, ["forecast", "backtest", "--events", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "19.2 %" in result.output and "65.4 %" in result.output
    assert "skipped 1 of other types; rejected 1 (invalid_money: 1)" in result.output
    written = json.loads(out.read_text())
    assert [c["forecast_wape"] for c in written["checkpoints"]] == [0.1923, 0.1923]


@pytest.mark.parametrize("content", [b"", b"not json\n"])
def test_a_history_without_events_is_one_line_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["forecast", "backtest", "--events", str(path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "holds no valid input event" in result.output
