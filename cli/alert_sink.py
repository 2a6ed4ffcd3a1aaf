"""``scorecard alert-sink --webhook URL``: deliver ``sales.alerts`` to a webhook, each once.

Each alert is POSTed as JSON: by default the alert plus a Slack-compatible ``text``; with
``--format`` the robot message of a chat platform (``FORMATS``: Slack, 企业微信 WeCom,
钉钉 DingTalk, 飞书 Feishu) whose text is the message in English and in 中文. Non-2xx
answers, answers whose body reports an error (the robots answer 200 with an error code)
and connection errors are retried with exponential backoff and full jitter
(capped at 30 s) until delivery. The Kafka offset is committed only after a 2xx, and
delivered ``event_id``s are kept in SQLite, so a redelivered record is not posted twice.
"""

from __future__ import annotations

import random
import sqlite3
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
import orjson

from sales_scorecard.cli.kafka_io import consume_committing, make_group_consumer
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ALERTS

if TYPE_CHECKING:
    from kafka import TopicPartition
    from kafka.consumer.fetcher import ConsumerRecord

BASE_DELAY = 0.5
MAX_DELAY = 30.0


def backoff_delays(rnd: random.Random, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """Full-jitter exponential backoff: attempt n waits uniform(0, min(cap, base × 2^n))."""
    attempt = 0
    while True:
        yield rnd.uniform(0, min(cap, base * 2 ** attempt))
        attempt += 1


class Delivered:
    """The event ids already delivered (SQLite)."""

    def __init__(self, path: str | Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("CREATE TABLE IF NOT EXISTS delivered (event_id TEXT PRIMARY KEY, at REAL)")

    def __contains__(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM delivered WHERE event_id = ?", (event_id,)).fetchone() is not None

    def add(self, event_id: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO delivered VALUES (?, ?)", (event_id, time.time()))

    def close(self) -> None:
        self.db.close()


def post(url: str, payload: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """POST JSON; the HTTP status (0 when the server could not be reached) and the answer's body."""
    request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def message_text(alert: dict) -> str:
    """The alert's message in English, then in 中文 (either may be missing)."""
    return f"{alert.get('message', '')}\n{alert.get('message_zh', '')}".strip()


def _body_code(body: bytes, *keys: str) -> bool:
    """True when the answer is JSON whose first present ``keys`` is 0 (a robot's "ok")."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(answer, dict):
        return False
    for key in keys:
        if key in answer:
            return answer[key] == 0
    return False


@dataclass(frozen=True)
class RobotFormat:
    """How one platform's webhook wants a message, and how its answer says it was taken."""

    #: the request body for an alert
    payload: Callable[[dict], dict]
    #: whether a 2xx answer's body means delivered (robots answer 200 with an error code)
    accepted: Callable[[bytes], bool]


#: Every ``--format``: ``json`` (the alert plus ``text``, the default) and the robot
#: messages of Slack incoming webhooks, 企业微信 group robots, 钉钉 custom robots and
#: 飞书 custom bots, each as its platform documents it.
FORMATS: dict[str, RobotFormat] = {
    "json": RobotFormat(lambda a: {**a, "text": message_text(a)}, lambda body: True),
    "slack": RobotFormat(lambda a: {"text": message_text(a)}, lambda body: True),
    "wecom": RobotFormat(lambda a: {"msgtype": "text", "text": {"content": message_text(a)}},
                         lambda body: _body_code(body, "errcode")),
    "dingtalk": RobotFormat(lambda a: {"msgtype": "text", "text": {"content": message_text(a)}},
                            lambda body: _body_code(body, "errcode")),
    "feishu": RobotFormat(lambda a: {"msg_type": "text", "content": {"text": message_text(a)}},
                          lambda body: _body_code(body, "code", "StatusCode")),
}


def deliver(url: str, alert: dict, delays: Iterable[float], sleep: Callable[[float], None] = time.sleep,
            send: Callable[[str, bytes], tuple[int, bytes]] = post, fmt: str = "json") -> int:
    """Post in format ``fmt`` until the platform takes it; returns the number of attempts."""
    robot = FORMATS[fmt]
    body = orjson.dumps(robot.payload(alert))
    for attempts, delay in enumerate(delays, start=1):
        status, answer = send(url, body)
        if 200 <= status < 300 and robot.accepted(answer):
            return attempts
        sleep(delay)
    raise AssertionError("unreachable: the delay generator is infinite")  # pragma: no cover


def run_sink(settings: Settings, url: str, db: Path, group: str, idle_exit: float | None = None,
             fmt: str = "json") -> Counter:
    """Deliver alerts until stopped (or caught up and idle for ``idle_exit`` seconds)."""
    consumer = make_group_consumer(settings, ALERTS.full_name(settings), group)
    delivered = Delivered(db)
    rnd = random.Random()

    def handle(tp: TopicPartition, record: ConsumerRecord) -> str:
        try:
            alert = orjson.loads(record.value)
            event_id = alert["event_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return "unreadable"  # not an alert this sink can post; counted, not retried forever
        if event_id in delivered:
            return "duplicate"
        deliver(url, alert, backoff_delays(rnd), fmt=fmt)
        delivered.add(event_id)
        return "delivered"

    try:
        return consume_committing(consumer, handle, idle_exit)
    finally:
        consumer.close()
        delivered.close()


@click.command("alert-sink")
@click.option("--webhook", required=True, help="URL to POST each alert to (Slack-compatible `text` included).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=Path("alert-sink.sqlite"),
              show_default=True, help="Delivered-alert store.")
@click.option("--group", default=None, help="Consumer group (default: <app id>-alert-sink).")
@click.option("--idle-exit", type=float, default=None, help="Stop once caught up and idle for this many seconds.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="json", show_default=True,
              help="Body: the alert as JSON with a `text`, or a chat robot's message (Slack, WeCom, DingTalk, Feishu).")
def command(webhook: str, db: Path, group: str | None, idle_exit: float | None, fmt: str) -> None:
    """Post every alert to a webhook exactly once, retrying with backoff until it answers 2xx."""
    settings = Settings.from_env()
    counts = run_sink(settings, webhook, db, group or f"{settings.app_id}-alert-sink", idle_exit, fmt)
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no records", err=True)
