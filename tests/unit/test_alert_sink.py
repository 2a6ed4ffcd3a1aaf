"""The webhook sink's retry schedule, delivery loop and dedup store."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from sales_scorecard.cli.alert_sink import MAX_DELAY, Delivered, backoff_delays, deliver


def test_full_jitter_backoff_grows_and_is_capped() -> None:
    gen = backoff_delays(random.Random(1), base=0.5, cap=MAX_DELAY)
    delays = [next(gen) for _ in range(12)]
    assert all(0 <= d <= min(MAX_DELAY, 0.5 * 2 ** i) for i, d in enumerate(delays))
    assert max(delays[8:]) > 1.0  # later attempts may wait much longer than the first


def test_deliver_retries_until_2xx_with_a_slack_text() -> None:
    answers = iter([500, 0, 503, 204])
    sent: list[bytes] = []
    slept: list[float] = []

    def send(url: str, body: bytes) -> int:
        sent.append(body)
        return next(answers)

    attempts = deliver("http://x", {"event_id": "a", "message": "hi", "message_zh": "你好"},
                       iter([1.0, 2.0, 4.0, 8.0]), sleep=slept.append, send=send)
    assert attempts == 4 and slept == [1.0, 2.0, 4.0]
    assert orjson.loads(sent[-1])["text"] == "hi\n你好"


def test_delivered_store_survives_reopen(tmp_path: Path) -> None:
    store = Delivered(tmp_path / "d.sqlite")
    store.add("e1")
    store.close()
    again = Delivered(tmp_path / "d.sqlite")
    assert "e1" in again and "e2" not in again
