"""The aggregation agents' adapter code (agents/scorecards.py) that needs no broker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from sales_scorecard.agents.scorecards import stage_lag
from sales_scorecard.streams.fact_batches import Batch

PARTITION = TP("sales.facts", 0)


def _app(highwater: int | None) -> Any:
    """An app whose consumer reports ``highwater`` for PARTITION."""
    return SimpleNamespace(consumer=SimpleNamespace(highwater=lambda tp: highwater if tp == PARTITION else 0))


def _message(offset: int, sent_at: float) -> Any:
    return SimpleNamespace(tp=PARTITION, offset=offset, timestamp=sent_at)


@pytest.mark.parametrize(("highwater", "expected"), [
    (42, 0.0),    # the batch is the partition's last message: on time, however old its input
    (43, 0.6),    # a later message waits: a backlog, paced by the input's age
    (None, 0.6),  # no fetch answered yet: taken as waiting, as before the high watermark was read
])
def test_the_stage_lag_reads_whether_a_message_waits_from_the_high_watermark(
        monkeypatch: pytest.MonkeyPatch, highwater: int | None, expected: float) -> None:
    monkeypatch.setattr("sales_scorecard.agents.scorecards.time.time", lambda: 1000.0)
    batch = Batch([{"type": "activity"}], since=999_400)  # its oldest input sent 0.6 s before now
    assert stage_lag(_app(highwater), batch, _message(41, sent_at=999.9)) == pytest.approx(expected)


def test_input_seconds_old_is_a_backlog_even_with_nothing_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sales_scorecard.agents.scorecards.time.time", lambda: 1000.0)
    batch = Batch([{"type": "activity"}], since=997_000)
    assert stage_lag(_app(42), batch, _message(41, sent_at=999.9)) == pytest.approx(3.0)
