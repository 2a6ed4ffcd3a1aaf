"""The aggregation agent: apply facts to the engine, publish coalesced scorecards.

``apply_facts`` consumes ``sales.facts`` (one partition, concurrency 1). Each accepted
fact is applied to the in-memory ``ScorecardEngine`` and written once to the
``facts`` table (its changelog is the durable state; the engine is rebuilt from it
after a restart or rebalance). Scorecard updates are coalesced: dirty keys are
rendered at most once per ``SCORECARD_COALESCE_MS`` and published only when their
content changed, with a per-key revision kept in the ``emitted`` table. A timer sends
``tick`` records through the same topic so that pending updates are flushed inside
stream iteration (Faust tables can only be written there).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Awaitable, Callable, Iterable

import orjson

from sales_scorecard.core.alert_rules import AlertState, Transition, evaluate_complaints, evaluate_scorecard, load_alert_rules
from sales_scorecard.core.boards import METRICS, BoardCache
from sales_scorecard.core.engine import Outcome, ScorecardEngine, ScorecardKey, scorecard_key
from sales_scorecard.core.labels import period_kind
from sales_scorecard.core.payroll import PayrollLedger, PayrollOutput
from sales_scorecard.core.periods import format_timestamp
from sales_scorecard.core.publishing import fact_key, next_revision, scorecard_event_id, stale_published
from sales_scorecard.schemas.records import record_from_event
from sales_scorecard.streams.app import Pipeline
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE

log = logging.getLogger(__name__)

TICK = b'{"type":"tick"}'
REBUILD_ORDER = {"roster": 0, "target": 1, "close_period": 3}
#: Rendered scorecards are handed to the alert rules in chunks of this many, so a flush
#: of every key (after a rebuild, at 10,000 reps) never holds all contents at once.
ALERT_CHUNK = 1000
#: A flush waits for its sends to reach the broker after this many scorecards (and after
#: the months). Without that wait a flush of 400,000 keys (10,000 reps) kept the event loop
#: to itself for minutes: /metrics stopped answering and Faust logged "Thread keepalive is
#: not responding".
SEND_CHUNK = 1000
#: A flush that meets this many failing scorecards stops and gives the rest back.
MAX_FAILURES_PER_FLUSH = 10


async def publish_each(
    keys: list[ScorecardKey],
    publish_one: Callable[[ScorecardKey], Awaitable[None]],
    give_back: Callable[[Iterable[ScorecardKey]], None],
) -> int:
    """Publish every key with ``publish_one``, in order; a key that fails is logged and
    given back for the next flush without stopping the others. Returns the failures."""
    failures = 0
    for index, key in enumerate(keys):
        try:
            await publish_one(key)
        except Exception:  # noqa: BLE001 - one bad scorecard must not cost the others theirs
            failures += 1
            log.exception("scorecard %s could not be published; it is retried at the next flush", ":".join(key))
            give_back([key])
            if failures >= MAX_FAILURES_PER_FLUSH:
                # So many failures mean a fault of the whole flush (the producer), not of
                # one key: leave the untried keys for the next flush too.
                give_back(keys[index + 1:])
                break
    return failures


def new_engine(pipe: Pipeline) -> ScorecardEngine:
    """An empty engine configured from the settings (plans, time zone)."""
    from sales_scorecard.core.commission import load_plans
    from sales_scorecard.core.scoreplan import load_scorecard_plan

    s = pipe.settings
    return ScorecardEngine(
        s.timezone,
        load_scorecard_plan(s.scorecard_plan or None),
        load_plans(s.commission_plan or None),
    )


def register(pipe: Pipeline) -> None:
    """Attach the aggregation agent and its flush timer."""
    app, metrics, settings = pipe.app, pipe.metrics, pipe.settings
    facts, emitted, payroll_state = pipe.facts, pipe.emitted, pipe.payroll_state
    facts_topic, scorecards_topic, payroll_topic = pipe.facts_topic, pipe.scorecards_topic, pipe.payroll_topic
    leaderboards_topic, boards_emitted = pipe.leaderboards_topic, pipe.boards_emitted
    alerts_topic, alert_state = pipe.alerts_topic, pipe.alert_state
    assert leaderboards_topic is not None and boards_emitted is not None
    assert alerts_topic is not None and alert_state is not None
    alert_rules = load_alert_rules(settings.alert_rules or None)
    spike_severities = {s for r in alert_rules if r.kind == "complaints" for s in r.severities}
    assert facts is not None and emitted is not None and payroll_state is not None
    assert facts_topic is not None and scorecards_topic is not None and payroll_topic is not None
    interval = settings.coalesce_ms / 1000.0
    state = pipe.state
    state.update(engine=None, ledger=None, last_flush=0.0, boards=BoardCache(), boards_pending=set(), last_boards=0.0,
                 boards_gap=settings.leaderboard_ms / 1000.0,
                 last_clock=time.monotonic(), clock_at_refresh=None, flush_gap=interval)
    refresh_every = float(settings.clock_refresh_seconds)

    def refresh_clock(engine: ScorecardEngine) -> None:
        """Pace, expected-to-date and trailing windows move with the clock, not only with facts."""
        if settings.clock == "wall":
            engine.wall_clock = datetime.now(timezone.utc)
        if engine.clock() != state["clock_at_refresh"]:
            engine.touch_clock()
            state["clock_at_refresh"] = engine.clock()
            metrics.clock_rendered.set(engine.clock().timestamp())
        state["last_clock"] = time.monotonic()
    board_interval = settings.leaderboard_ms / 1000.0

    def load_engine() -> tuple[ScorecardEngine, PayrollLedger]:
        started = time.monotonic()
        engine = new_engine(pipe)
        # Roster and targets first: team attribution is then right on the first try and the
        # rebuild creates no transient keys (such as team "unassigned") that were never published.
        values = sorted(facts.values(), key=lambda v: REBUILD_ORDER.get(v["type"], 2))
        for value in values:
            engine.apply(record_from_event(value))
        count = len(values)
        ledger = PayrollLedger()
        for key, value in payroll_state.items():
            ledger.load(key, value)
        log.info("engine rebuilt from %d facts in %.2fs", count, time.monotonic() - started)
        metrics.ready.set(1)
        return engine, ledger

    async def publish_payroll(outputs: list[PayrollOutput]) -> None:
        for out in outputs:
            # Send, then record (see flush): a crash in between re-sends the same ids.
            await payroll_topic.send(key=out.state_key.encode(), value=orjson.dumps(out.event))
            payroll_state[out.state_key] = out.state.to_json()
            metrics.payroll.labels(out.event["type"]).inc()

    async def settle_payroll(engine: ScorecardEngine, ledger: PayrollLedger, closed: bool) -> None:
        """Post statements when a month closed, then adjustments for changed closed months."""
        posted_at = format_timestamp(datetime.now(timezone.utc))
        outputs = ledger.post_statements(engine, posted_at) if closed else []
        changes = engine.take_payroll_changes()
        if changes:
            outputs += ledger.adjust(engine, changes, posted_at)
        if outputs:
            await publish_payroll(outputs)

    class AlertStates:
        """The alert_state table seen as a mapping of AlertState."""

        def get(self, key: str, default: AlertState) -> AlertState:
            value = alert_state.get(key)
            return default if value is None else AlertState.from_json(value)

    async def publish_alerts(transitions: list[Transition]) -> None:
        for t in transitions:
            if t.event is not None:
                await alerts_topic.send(key=t.key.encode(), value=orjson.dumps(t.event))
                metrics.alerts.labels(t.event["rule"], t.event["state"]).inc()
            alert_state[t.key] = t.state.to_json()

    def manager_of(engine: ScorecardEngine, content: dict) -> str | None:
        if content["scope"] == "rep":
            return content["manager_id"]
        period = engine.period(content["period"])
        members = engine.roster.members_at_end(period.end).get(content["id"], []) if period else []
        entry = engine.roster.entry_before(members[0], period.end) if members and period else None
        return entry.manager_id if entry else None

    async def evaluate_alerts(engine: ScorecardEngine, contents: list[dict], emitted_at: str) -> None:
        """Alert rules on every scorecard just rendered (facts or the clock moved)."""
        states = AlertStates()
        transitions: list[Transition] = []
        reps = set()
        for content in contents:
            if content["scope"] in ("rep", "team"):
                transitions += evaluate_scorecard(alert_rules, content, states, manager_of(engine, content), emitted_at)
            if content["scope"] == "rep":
                reps.add((content["id"], content["manager_id"]))
        as_of = engine.clock()
        if reps and as_of is not None and spike_severities:
            by_rep: dict[str, list] = {}
            for c in engine.complaints.values():
                if c.severity in spike_severities:
                    by_rep.setdefault(c.rep_id, []).append((c.opened_at, c.severity))
            for rep, manager in sorted(reps, key=lambda pair: (pair[0], pair[1] or "")):
                transitions += evaluate_complaints(alert_rules, rep, by_rep.get(rep, []), as_of, states, manager,
                                                   emitted_at)
        await publish_alerts(transitions)

    async def withdraw(key: str, scope: str, id: str, label: str) -> None:
        """A published key whose last fact moved away: a tombstone removes it from the
        compacted topic; the revision is kept so a later comeback continues the sequence."""
        previous = emitted.get(key)
        if previous is None or previous[1] is None:
            return
        await scorecards_topic.send(key=key.encode(), value=None)
        emitted[key] = [previous[0], None]
        if scope == "rep":
            state["boards_pending"] |= state["boards"].remove(id, label)
        metrics.scorecards.inc()

    async def flush(engine: ScorecardEngine) -> None:
        started = time.monotonic()
        emitted_at = format_timestamp(datetime.now(timezone.utc))
        rendered: list[dict] = []
        republish, state["republish"] = state.get("republish", False), False
        months_sent = False
        unsent = 0

        async def publish_one(key_parts: ScorecardKey) -> None:
            nonlocal months_sent, unsent, rendered
            scope, id, label = key_parts
            if unsent >= SEND_CHUNK or (not months_sent and period_kind(label) != "month"):
                # Deliver what is rendered before going on: the month scorecards before the
                # slower rest (quarters, years, trailing windows), so a closed deal's month
                # figures reach consumers sooner, and no large flush buffers every update.
                await app.producer.flush()
                months_sent = months_sent or period_kind(label) != "month"
                unsent = 0
            key = scorecard_key(scope, id, label)
            content = engine.render(scope, id, label)
            if content is None:
                await withdraw(key, scope, id, label)
                return
            previous = emitted.get(key)
            decision = next_revision(previous, content)
            if decision is None and republish:
                # First flush after a rebuild: the previous owner may have recorded this
                # revision and died before its send left (two partitions, no order between
                # them), so send it again: same revision, same event id, same content.
                decision = (int(previous[0]), previous[1])
            if decision is not None:
                revision, digest = decision
                value = {**content, "event_id": scorecard_event_id(key, revision), "revision": revision,
                         "emitted_at": emitted_at}
                # Publish before recording: after a crash between the two, the same revision
                # is sent again (same event id and content) instead of never being sent.
                await scorecards_topic.send(key=key.encode(), value=orjson.dumps(value))
                emitted[key] = [revision, digest]
                metrics.scorecards.inc()
                unsent += 1
            # Boards and alerts only see a scorecard once it is published (or unchanged).
            if scope == "rep":
                state["boards_pending"] |= state["boards"].update(content)
            rendered.append(content)
            if len(rendered) >= ALERT_CHUNK:
                chunk, rendered = rendered, []
                await evaluate_alerts(engine, chunk, emitted_at)

        failures = await publish_each(engine.take_dirty(), publish_one, engine.give_back)  # months first
        if failures:
            metrics.errors.labels("publish").inc(failures)
        await evaluate_alerts(engine, rendered, emitted_at)
        state["last_flush"] = time.monotonic()
        took = state["last_flush"] - started
        metrics.flush_seconds.observe(took)
        # Under a backlog, rendering must not crowd out applying: space flushes by what the
        # last one took on top of the configured interval (at most half the time renders).
        # Twice the time made the gap feed on itself: seconds of latency at 50 events/s.
        state["flush_gap"] = interval + took
        if state["boards_pending"] and state["last_flush"] - state["last_boards"] >= state["boards_gap"]:
            await publish_boards(engine, emitted_at)

    async def publish_boards(engine: ScorecardEngine, emitted_at: str) -> None:
        """Leaderboard snapshots of the boards that moved, only when ranks or values changed."""
        cache: BoardCache = state["boards"]
        names = {rep: (h.entries[-1].name or rep) for rep, h in engine.roster.reps.items() if h.entries}
        started = time.monotonic()
        for board, period in sorted(state["boards_pending"]):
            ranked = cache.ranked(board, period)
            for metric in METRICS:
                rows = cache.board(board, period, metric, names, limit=settings.leaderboard_rows)
                key = f"{board}:{period}:{metric}"
                content = {"type": "leaderboard", "schema_version": 1, "board": board, "period": period,
                           "metric": metric, "ranked": ranked, "rows": rows}
                decision = next_revision(boards_emitted.get(key), content)
                if decision is None:
                    continue
                revision, digest = decision
                value = {**content, "event_id": f"leaderboard:{key}:{revision}", "revision": revision,
                         "emitted_at": emitted_at}
                await leaderboards_topic.send(key=key.encode(), value=orjson.dumps(value))
                boards_emitted[key] = [revision, digest]
                metrics.leaderboards.inc()
        state["boards_pending"] = set()
        state["last_boards"] = time.monotonic()
        # Ranking 10,000 reps per board takes a while: like flushes, space publications by
        # what the last one took (at most half the time goes to boards).
        state["boards_gap"] = board_interval + (state["last_boards"] - started)

    async def apply_facts(stream):
        async for event in stream.events():
            try:
                engine, ledger = state["engine"], state["ledger"]
                if engine is None:
                    engine, ledger = load_engine()
                    state["boards"] = BoardCache()
                    # Whatever a crash left unpaid is settled now (both rules are state-based).
                    await settle_payroll(engine, ledger, closed=True)
                    state.update(engine=engine, ledger=ledger, republish=True)
                    for key, scope, id, label in stale_published(emitted.items(), engine.exists):
                        await withdraw(key, scope, id, label)
                payload = orjson.loads(event.value)
                kind = payload.get("type")
                if kind != "tick":
                    outcome = engine.apply(record_from_event(payload))
                    metrics.facts.labels(kind, outcome.value).inc()
                    if outcome is Outcome.DUPLICATE:
                        metrics.duplicates.labels(TOPIC_FOR_TYPE[kind].name).inc()
                    if outcome is Outcome.APPLIED:
                        facts[fact_key(payload)] = payload
                        await settle_payroll(engine, ledger, closed=kind == "close_period")
                    if engine.as_of is not None:
                        metrics.event_clock.set(engine.as_of.timestamp())
                if time.monotonic() - state["last_clock"] >= refresh_every:
                    refresh_clock(engine)
                if engine.dirty and time.monotonic() - state["last_flush"] >= state["flush_gap"]:
                    await flush(engine)
                elif state["boards_pending"] and time.monotonic() - state["last_boards"] >= state["boards_gap"]:
                    await publish_boards(engine, format_timestamp(datetime.now(timezone.utc)))
                metrics.pending.set(len(engine.dirty))
            except Exception:  # noqa: BLE001 - never let one fact stop the aggregation
                log.exception("aggregation failed at facts offset %s", event.message.offset)
                metrics.errors.labels("aggregate").inc()
            finally:
                metrics.last_processed.labels("aggregate").set(time.time())

    app.agent(facts_topic, name="apply_facts", concurrency=1)(apply_facts)

    async def send_tick() -> None:
        engine = state["engine"]
        # On the event clock a refresh is due only if facts moved the clock since the last
        # one: an idle worker sends no ticks (and its group catches up with sales.facts).
        clock_due = time.monotonic() - state["last_clock"] >= refresh_every and (
            settings.clock == "wall" or engine is None or engine.clock() != state["clock_at_refresh"])
        if (engine is None or engine.dirty or state["boards_pending"] or clock_due) and pipe.owns_aggregation():
            await facts_topic.send(key=b"tick", value=TICK)

    app.timer(interval=interval, name="scorecards.tick")(send_tick)

    async def on_revoked(sender, revoked, **kwargs) -> None:
        # Another worker may own the facts partition next; drop the cached engine.
        if any(tp.topic == facts_topic.get_topic_name() for tp in revoked):
            state.update(engine=None, ledger=None, boards=BoardCache(), boards_pending=set())
            metrics.ready.set(0)

    app.on_partitions_revoked.connect(on_revoked)
