"""``scorecard alert-sink --webhook URL``: deliver ``sales.alerts`` and ``sales.awards`` to a webhook, each once.

Each alert is POSTed as JSON: by default the alert plus a Slack-compatible ``text``; with
``--format`` the robot message of a chat platform (``FORMATS``: Slack, 企业微信 WeCom,
钉钉 DingTalk, 飞书 Feishu) whose text is the message in English and in 中文 (``--lang``
picks one). Awards (contract §11) are announced once per award and period, naming every
winner of a tie: their events wait in the SQLite store until the sink has read its topics
to the end, then go out as one message (``cli/award_messages.py``). Non-2xx answers,
answers whose body reports an error (the robots answer 200 with an error code) and
connection errors are retried with exponential backoff and full jitter (capped at 30 s)
until delivery. The Kafka offset is committed only after a 2xx (an award: once it is in
the store), and delivered ``event_id``s are kept in SQLite, so a redelivered record is
not posted twice.
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
from typing import TYPE_CHECKING, Any

import click
import orjson

from sales_scorecard.cli.award_messages import LANGS, award_text
from sales_scorecard.cli.kafka_io import consume_committing, make_group_consumer
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ALERTS, AWARDS, TopicSpec

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


def message_text(alert: dict, lang: str = "both") -> str:
    """The alert's message in ``lang`` (``en``, ``zh``, or ``both``: English, then 中文;
    either may be missing)."""
    en, zh = alert.get("message", ""), alert.get("message_zh", "")
    if lang == "en":
        return en or zh
    if lang == "zh":
        return zh or en
    return f"{en}\n{zh}".strip()


def awards_text(events: list[dict], lang: str, currency: str) -> str:
    """The announcement of one award's winners in ``lang`` (``both``: English, then 中文)."""
    return "\n".join(award_text(events, one, currency) for one in (LANGS if lang == "both" else (lang,)))


def awards_body(events: list[dict]) -> dict[str, Any]:
    """The JSON form of one award's announcement (``--format json``, before ``text``)."""
    return {"type": "award", "award": events[0]["award"], "period": events[0]["period"], "awards": events}


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

    #: the request body for a record (an alert, or an award's announcement) and its text
    payload: Callable[[dict, str], dict]
    #: whether a 2xx answer's body means delivered (robots answer 200 with an error code)
    accepted: Callable[[bytes], bool]


#: Every ``--format``: ``json`` (the alert plus ``text``, the default) and the robot
#: messages of Slack incoming webhooks, 企业微信 group robots, 钉钉 custom robots and
#: 飞书 custom bots, each as its platform documents it.
FORMATS: dict[str, RobotFormat] = {
    "json": RobotFormat(lambda a, text: {**a, "text": text}, lambda body: True),
    "slack": RobotFormat(lambda a, text: {"text": text}, lambda body: True),
    "wecom": RobotFormat(lambda a, text: {"msgtype": "text", "text": {"content": text}},
                         lambda body: _body_code(body, "errcode")),
    "dingtalk": RobotFormat(lambda a, text: {"msgtype": "text", "text": {"content": text}},
                            lambda body: _body_code(body, "errcode")),
    "feishu": RobotFormat(lambda a, text: {"msg_type": "text", "content": {"text": text}},
                          lambda body: _body_code(body, "code", "StatusCode")),
}


#: ``--deliver``: which topics the sink reads.
DELIVERIES: dict[str, tuple[TopicSpec, ...]] = {"both": (ALERTS, AWARDS), "alerts": (ALERTS,), "awards": (AWARDS,)}


def deliver(url: str, alert: dict, delays: Iterable[float], sleep: Callable[[float], None] = time.sleep,
            send: Callable[[str, bytes], tuple[int, bytes]] = post, fmt: str = "json",
            text: str | None = None) -> int:
    """Post in format ``fmt`` until the platform takes it; returns the number of attempts.
    ``text``: the message (default: the alert's, in both languages)."""
    robot = FORMATS[fmt]
    body = orjson.dumps(robot.payload(alert, message_text(alert) if text is None else text))
    for attempts, delay in enumerate(delays, start=1):
        status, answer = send(url, body)
        if 200 <= status < 300 and robot.accepted(answer):
            return attempts
        sleep(delay)
    raise AssertionError("unreachable: the delay generator is infinite")  # pragma: no cover


class PendingAwards:
    """Award events read but not announced yet (SQLite, beside the delivered ids), so the
    offset can be committed before the announcement and a restart still announces them."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.execute("CREATE TABLE IF NOT EXISTS pending_awards (event_id TEXT PRIMARY KEY, award TEXT, "
                        "period TEXT, body BLOB)")

    def add(self, event: dict) -> None:
        self.db.execute("INSERT OR IGNORE INTO pending_awards VALUES (?, ?, ?, ?)",
                        (event["event_id"], event["award"], event["period"], orjson.dumps(event)))

    def groups(self) -> list[list[dict]]:
        """The pending events by award and period (in period, then award order), each by id."""
        rows = self.db.execute("SELECT body FROM pending_awards ORDER BY period, award, event_id").fetchall()
        grouped: dict[tuple[str, str], list[dict]] = {}
        for (body,) in rows:
            event = orjson.loads(body)
            grouped.setdefault((event["period"], event["award"]), []).append(event)
        return list(grouped.values())

    def remove(self, events: list[dict]) -> None:
        self.db.executemany("DELETE FROM pending_awards WHERE event_id = ?", [(e["event_id"],) for e in events])


def _award_event(value: bytes) -> dict | None:
    """The ``award`` event in a record, or None when it is not one this sink can announce."""
    try:
        event = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    keys = ("event_id", "award", "period", "winner_id")
    if not isinstance(event, dict) or event.get("type") != "award" or \
            not all(isinstance(event.get(k), str) for k in keys):
        return None
    return event


def run_sink(settings: Settings, url: str, db: Path, group: str, idle_exit: float | None = None,
             fmt: str = "json", lang: str = "both", what: str = "both") -> Counter:
    """Deliver alerts and/or awards (``what``) until stopped (or caught up and idle for
    ``idle_exit`` seconds)."""
    topics = {spec.full_name(settings): spec for spec in DELIVERIES[what]}
    consumer = make_group_consumer(settings, list(topics), group)
    delivered = Delivered(db)
    pending = PendingAwards(delivered.db)
    rnd = random.Random()

    def handle_alert(record: ConsumerRecord) -> str:
        try:
            alert = orjson.loads(record.value)
            event_id = alert["event_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return "unreadable"  # not an alert this sink can post; counted, not retried forever
        if event_id in delivered:
            return "duplicate"
        deliver(url, alert, backoff_delays(rnd), fmt=fmt, text=message_text(alert, lang))
        delivered.add(event_id)
        return "delivered"

    def handle_award(record: ConsumerRecord) -> str:
        event = _award_event(record.value)
        if event is None:
            return "unreadable"
        if event["event_id"] in delivered:
            return "duplicate"
        pending.add(event)
        return "award read"

    def handle(tp: TopicPartition, record: ConsumerRecord) -> str:
        return handle_award(record) if topics[tp.topic] is AWARDS else handle_alert(record)

    def announce(caught_up: Callable[[], bool]) -> Counter:
        """Once every topic is read to its end, one message per pending award and period."""
        counts: Counter = Counter()
        groups = pending.groups()
        if not groups or not caught_up():
            return counts
        for group in groups:
            events = [e for e in group if e["event_id"] not in delivered]
            if events:
                deliver(url, awards_body(events), backoff_delays(rnd), fmt=fmt,
                        text=awards_text(events, lang, settings.currency))
                for event in events:
                    delivered.add(event["event_id"])
                counts["award announced"] += 1
            pending.remove(group)
        return counts

    try:
        return consume_committing(consumer, handle, idle_exit, on_idle=announce)
    finally:
        consumer.close()
        delivered.close()


@click.command("alert-sink")
@click.option("--webhook", required=True, help="URL to POST each alert and award to (with a Slack-compatible `text`).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=Path("alert-sink.sqlite"),
              show_default=True, help="Delivered-alert store.")
@click.option("--group", default=None, help="Consumer group (default: <app id>-alert-sink).")
@click.option("--idle-exit", type=float, default=None, help="Stop once caught up and idle for this many seconds.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="json", show_default=True,
              help="Body: the alert as JSON with a `text`, or a chat robot's message (Slack, WeCom, DingTalk, Feishu).")
@click.option("--lang", type=click.Choice(["both", *LANGS]), default="both", show_default=True,
              help="Language of the messages: English, 中文, or both (English first).")
@click.option("--deliver", "what", type=click.Choice(list(DELIVERIES)), default="both", show_default=True,
              help="What to post: alerts (sales.alerts), awards (sales.awards) or both.")
def command(webhook: str, db: Path, group: str | None, idle_exit: float | None, fmt: str, lang: str,
            what: str) -> None:
    """Post every alert and award to a webhook exactly once, retrying with backoff until it answers 2xx."""
    settings = Settings.from_env()
    counts = run_sink(settings, webhook, db, group or f"{settings.app_id}-alert-sink", idle_exit, fmt, lang, what)
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no records", err=True)
