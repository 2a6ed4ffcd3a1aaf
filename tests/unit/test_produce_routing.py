"""``scorecard produce`` routes every input type, the appeal inputs included, without a broker
(a fake producer stands in); ``sales.disputes`` is in the topic registry but the worker does
not read it (contract §2, §10)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sales_scorecard.cli import produce
from sales_scorecard.cli.main import UserError
from sales_scorecard.streams.lag import lag_topics
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ALL_TOPICS, DISPUTES, INPUT_TOPICS, STAGE_INPUT_TOPICS, TOPIC_FOR_TYPE
from tests.factories import deal, dispute_opened, dispute_resolved, dispute_withdrawn, engagement, review, roster

SETTINGS = Settings(topic_prefix="t1.")


def line(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


@pytest.mark.parametrize("event, topic, key", [
    (dispute_opened("dsp-1", "r1"), "t1.sales.disputes", b"dsp-1"),
    (dispute_resolved("dsp-1", adjustment_amount="-10.00"), "t1.sales.disputes", b"dsp-1"),
    (dispute_withdrawn("dsp-2"), "t1.sales.disputes", b"dsp-2"),
    (deal("D1", "r1", "c1", "10.00"), "t1.sales.deals", b"D1"),
    ({**deal("D1", "r2", "c1", "10.00"), "dispute_id": "dsp-1"}, "t1.sales.deals", b"D1"),  # a correction
    (roster("r1", "t1"), "t1.sales.roster", b"r1"),
    # contract §12: keyed {subject_id}:{period} and {team_id}:{period}
    (review("rv-1", "r2", "m1", "peer", 4), "t1.sales.reviews", b"r2:2026-11"),
    (engagement("t7", "e1", 4), "t1.sales.reviews", b"t7:2026-11"),
])
def test_each_type_goes_to_its_topic_with_its_key(event: dict[str, Any], topic: str, key: bytes) -> None:
    assert produce.route(line(event), SETTINGS) == (topic, key)


@pytest.mark.parametrize("raw, message", [
    (line({"type": "dispute_resolved", "decision": "upheld"}), "missing key field 'dispute_id'"),
    (line({"type": "refund"}), "unknown type 'refund' (expected one of activity, close_period, complaint, deal, "
                               "dispute_opened, dispute_resolved, dispute_withdrawn, engagement, review, roster, "
                               "target)"),
    (line({"dispute_id": "d1"}), "unknown type None"),
    (b"{not json", "not JSON"),
    (b"[1]", "not a JSON object"),
])
def test_a_line_that_cannot_be_routed_says_what_to_fix_in_one_line(raw: bytes, message: str) -> None:
    with pytest.raises(produce.LineError) as exc:
        produce.route(raw, SETTINGS)
    assert message in str(exc.value) and "\n" not in str(exc.value)


class FakeProducer:
    """Stands in for kafka-python's producer: keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes) -> Any:
        self.sent.append((topic, key, value))

        class Done:
            def get(self, timeout: float) -> None:
                return None

        return Done()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_produce_lines_sends_disputes_and_reports_bad_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeProducer()
    monkeypatch.setattr(produce, "make_producer", lambda settings: fake)
    lines = [line(roster("r1", "t1")), line(dispute_opened("dsp-1", "r1")), b"{}",
             line(dispute_resolved("dsp-1")), b"\n"]
    counts, problems = produce.produce_lines(SETTINGS, lines, quiet=True)
    assert counts == {"t1.sales.roster": 1, "t1.sales.disputes": 2}
    assert [(t, k) for t, k, _ in fake.sent] == [("t1.sales.roster", b"r1"), ("t1.sales.disputes", b"dsp-1"),
                                                 ("t1.sales.disputes", b"dsp-1")]
    assert fake.sent[1][2] == lines[1]  # the bytes go unchanged
    assert problems == ["line 3: unknown type None (expected one of activity, close_period, complaint, deal, "
                        "dispute_opened, dispute_resolved, dispute_withdrawn, engagement, review, roster, target)"]
    with pytest.raises(UserError, match=r"^line 1: missing key field 'dispute_id' \(stopped: --strict\)$"):
        produce.produce_lines(SETTINGS, [line({"type": "dispute_withdrawn"})], strict=True, quiet=True)


def test_sales_disputes_is_read_by_the_dispute_stage_not_by_ingest() -> None:
    assert DISPUTES.name == "sales.disputes" and DISPUTES.key == "dispute_id"
    # one partition, like sales.facts: the dispute stage runs beside the engine (its roster, its clock)
    assert (DISPUTES.cleanup, DISPUTES.partition_count(SETTINGS)) == ("delete", 1)
    assert DISPUTES in ALL_TOPICS  # `scorecard topics create` makes it
    assert DISPUTES not in INPUT_TOPICS  # the worker's ingest subscribes to INPUT_TOPICS only
    assert DISPUTES in STAGE_INPUT_TOPICS
    assert "t1.sales.disputes" in lag_topics(SETTINGS)
    assert not {"dispute_opened", "dispute_resolved", "dispute_withdrawn"} & set(TOPIC_FOR_TYPE)
