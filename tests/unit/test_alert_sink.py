"""The webhook sink's retry schedule, delivery loop, dedup store and chat-robot formats."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from sales_scorecard.cli.alert_sink import MAX_DELAY, Delivered, backoff_delays, deliver
from tests.webhook import LocalWebhook, Reply


def test_full_jitter_backoff_grows_and_is_capped() -> None:
    gen = backoff_delays(random.Random(1), base=0.5, cap=MAX_DELAY)
    delays = [next(gen) for _ in range(12)]
    assert all(0 <= d <= min(MAX_DELAY, 0.5 * 2 ** i) for i, d in enumerate(delays))
    assert max(delays[8:]) > 1.0  # later attempts may wait much longer than the first


def test_deliver_retries_until_2xx_with_a_slack_text() -> None:
    answers = iter([500, 0, 503, 204])
    sent: list[bytes] = []
    slept: list[float] = []

    def send(url: str, body: bytes) -> tuple[int, bytes]:
        sent.append(body)
        return next(answers), b""

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


# -- chat robots: a local server that checks each platform's documented payload ---------------

ALERT = {"event_id": "attainment_below_pace:rep:r1:2026-11:1:firing", "rule": "attainment_below_pace",
         "message": "r1 is behind pace", "message_zh": "r1 进度落后"}
TEXT = "r1 is behind pace\nr1 进度落后"


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value == TEXT


#: format -> (the payload shape its platform documents, the platform's "ok" answer, an error answer)
ROBOTS: dict[str, tuple[Any, bytes, bytes]] = {
    # Slack incoming webhook: {"text": ...}; answers "ok" (text/plain), errors as 4xx
    "slack": (lambda b: set(b) == {"text"} and _is_text(b["text"]), b"ok", b""),
    # 企业微信 group robot: {"msgtype": "text", "text": {"content": ...}}; {"errcode": 0, "errmsg": "ok"}
    "wecom": (lambda b: b.get("msgtype") == "text" and set(b["text"]) == {"content"} and _is_text(b["text"]["content"]),
              b'{"errcode":0,"errmsg":"ok"}', b'{"errcode":45009,"errmsg":"api freq out of limit"}'),
    # 钉钉 custom robot: {"msgtype": "text", "text": {"content": ...}}; {"errcode": 0, "errmsg": "ok"}
    "dingtalk": (lambda b: b.get("msgtype") == "text" and _is_text(b["text"]["content"]),
                 b'{"errcode":0,"errmsg":"ok"}', b'{"errcode":130101,"errmsg":"send too fast"}'),
    # 飞书 custom bot: {"msg_type": "text", "content": {"text": ...}}; {"code": 0, "msg": "success"}
    "feishu": (lambda b: b.get("msg_type") == "text" and _is_text(b["content"]["text"]),
               b'{"code":0,"msg":"success","data":{}}', b'{"code":9499,"msg":"Bad Request","data":{}}'),
}


@pytest.mark.parametrize("fmt", list(ROBOTS))
def test_each_robot_format_is_the_documented_payload(fmt: str) -> None:
    shape, ok, error = ROBOTS[fmt]
    slept: list[float] = []
    with LocalWebhook(*(Reply(body=b) for b in ([error, ok] if error else [ok]))) as hook:
        attempts = deliver(hook.url, ALERT, iter([0.0, 0.0, 0.0]), sleep=slept.append, fmt=fmt)
    # a robot's 200 with an error code is not a delivery: posted again
    assert attempts == (2 if error else 1) and len(hook.posted) == attempts
    assert set(hook.content_types) == {"application/json"}
    assert all(shape(body) for body in hook.posted), hook.posted


def test_the_default_format_is_the_alert_with_a_text() -> None:
    with LocalWebhook() as hook:
        assert deliver(hook.url, ALERT, iter([0.0]), sleep=lambda _: None) == 1
    assert hook.received == [{**ALERT, "text": TEXT}]


def test_lang_picks_one_language_of_an_alert() -> None:
    from sales_scorecard.cli.alert_sink import message_text

    assert message_text(ALERT, "en") == "r1 is behind pace"
    assert message_text(ALERT, "zh") == "r1 进度落后"
    assert message_text(ALERT, "both") == TEXT
    assert message_text({"message": "only english"}, "zh") == "only english"  # a missing one falls back
