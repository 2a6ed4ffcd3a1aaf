"""The aggregation stage: facts in, scorecards, payroll, alerts and leaderboards out.

``AggregationStage`` holds the in-memory ``ScorecardEngine`` and everything published
from it. It knows no Faust: its durable state is a set of key-value tables
(``StageTables``, Faust tables in the worker, dicts in unit tests) and its outputs are
async senders (``StageOutputs``). The Faust agent around it (agents/scorecards.py)
hands it one ``sales.facts`` message at a time, so every table write happens inside
stream iteration, on the partition of the message being processed.

- ``on_batch(facts)`` applies a batch of validated facts: the new ones are written to the
  ``facts`` table as one row (``FactLog``; its changelog is the durable state, the engine
  is rebuilt from it), payroll is settled, and due flushes run.
- Scorecard updates are coalesced: dirty keys are rendered at most once per
  ``SCORECARD_COALESCE_MS`` (plus what the last flush took) and published only when their
  content changed, with a per-key revision (``Publisher``).
- ``tick_due()`` tells the timer whether a ``tick`` message should run pending work.
- An ``appeal_adjustment`` fact (an upheld appeal's adjustment, from the dispute stage) is
  kept with the facts and handed to the payroll ledger, again after every rebuild; each
  payroll adjustment naming a dispute is sent back to the dispute stage as an
  ``AdjustmentLink`` (``StageOutputs.links``), right after the adjustment itself.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from sales_scorecard.core.alert_rules import (
    AlertState,
    Rule,
    Transition,
    evaluate_complaints,
    evaluate_scorecard,
    load_alert_rules,
)
from sales_scorecard.core.award_figures import closed_period, decided_at, periods_due
from sales_scorecard.core.awards import BonusRequest, bonus_request, decide, load_awards
from sales_scorecard.core.boards import METRICS, BoardCache, RosterNames, RowParts
from sales_scorecard.core.commission import load_plans
from sales_scorecard.core.dirty_keys import KeyQueue
from sales_scorecard.core.disputes import AdjustmentLink, AdjustmentRequest
from sales_scorecard.core.engine import (
    WHOLE,
    EngineRole,
    Outcome,
    ScorecardEngine,
    ScorecardKey,
    flush_order,
    scorecard_key,
)
from sales_scorecard.core.forecast import load_stage_probabilities
from sales_scorecard.core.labels import is_month, period_kind
from sales_scorecard.core.payroll import PayrollLedger, PayrollOutput, dispute_links
from sales_scorecard.core.periods import format_timestamp, parse_timestamp
from sales_scorecard.core.publishing import scorecard_event_id, stale_published
from sales_scorecard.core.scoreplan import load_scorecard_plan
from sales_scorecard.schemas.fact_types import BULK_REBUILD_ORDER, FACT_TYPES
from sales_scorecard.schemas.records import record_from_stored

from .fact_batches import Batch
from .fact_log import FactLog
from .metrics import Metrics
from .publisher import KeyValue, Publisher, Send
from .render_budget import NoBudget, RenderBudget
from .settings import Settings
from .topics import TOPIC_FOR_TYPE

log = logging.getLogger(__name__)

#: Rendered scorecards are handed to the alert rules in chunks of this many, so a flush
#: of every key (after a rebuild, at 10,000 reps) never holds all contents at once.
ALERT_CHUNK = 1000
#: A flush waits for its sends to reach the broker after this many scorecards (and after
#: the months). Without that wait a flush of 400,000 keys (10,000 reps) kept the event loop
#: to itself for minutes: /metrics stopped answering and Faust logged "Thread keepalive is
#: not responding".
SEND_CHUNK = 1000
#: A flush of more keys than this delivers its month scorecards before rendering the rest.
#: A smaller one renders in a few tens of milliseconds: waiting for the broker in between
#: (the producer's linger plus a round trip) would only hold up the stage.
MONTHS_FIRST_KEYS = 200
#: A flush renders quarters, years and trailing windows for at most this long (after
#: every month), then sets the rest aside; continuation flushes render them, each after
#: what the last flush took: a long flush no longer holds the next months (and the facts)
#: back, and no longer waits a whole interval per budget (10,000 reps starved for minutes).
#: This is the budget while behind (a backlog: larger chunks digest it faster) ...
LONG_PERIODS_BUDGET_SECONDS = 0.15
#: ... and on time it is this share of it, so a message waits at most ~50 ms behind one.
ON_TIME_BUDGET_SHARE = 1 / 3
#: What a flush took spaces the next one by at most this much. Every month of 10,000 reps
#: at once took 180 s, and the rest then waited 180 s more with nothing else to do.
MAX_SPACING_SECONDS = 2.0
#: Behind, the next flush waits what the last one took times the lag in short intervals
#: (``spacing_factor``), at most this many times: under a backlog of seconds at most a
#: tenth of the time renders, so the facts waiting go first (a scorecard shown while its
#: facts are still queued is out of date anyway) and the backlog drains sooner; a stage
#: only just behind (a burst, a slow flush) keeps rendering about as often as on time.
MAX_BEHIND_SPACING = 9
#: Input older than this marks a backlog even when no later message waits on the stage's
#: partition: the ingest is then seconds behind, and on a worker that runs both, renders
#: after every message would slow it further (``backlog_lag``).
UPSTREAM_BACKLOG_SECONDS = 2.0
#: A flush takes at most this many of the keys set aside, more than a budget renders:
#: taking all of them cost as much as rendering once 80,000 waited (10,000 reps).
SET_ASIDE_CHUNK = 1000
#: A flush that meets this many failing scorecards stops and gives the rest back.
MAX_FAILURES_PER_FLUSH = 10
#: A leading-edge stage is asked this many times per short interval whether work is due,
#: so a month key that waited for its interval goes out soon after it passed ...
TICKS_PER_INTERVAL = 5
#: ... but not more often than every this many seconds, and at least this often (keys a
#: budget set aside go out one tick at a time once the facts stop: with a 10 s interval,
#: a tick every 2 s left 150,000 of them waiting for over an hour).
MIN_TICK_SECONDS = 0.02
MAX_TICK_SECONDS = 0.1


@dataclass
class StageTables:
    """The stage's durable state (one partition each)."""

    #: rows of applied facts (``streams.fact_log.FactLog``; fact keys: schemas/fact_types.py)
    facts: KeyValue
    #: scorecard key -> [revision, digest] of the last published update
    emitted: KeyValue
    #: "{rep_id}:{month}" -> what has been paid (core.payroll.PaidState)
    payroll_state: KeyValue
    #: "{board}:{period}:{metric}" -> [revision, digest] of the last published snapshot
    boards_emitted: KeyValue
    #: "{rule}:{scope}:{id}:{period}" -> core.alert_rules.AlertState
    alert_state: KeyValue
    #: period -> the ``award`` events decided at its close (contract §11), once per period
    awards: KeyValue = field(default_factory=dict)
    #: partitioned stages: the award figures reported per closed period until it is decided
    #: (core.award_reports: ``AwardReports`` in the org stage, ``PartitionReports`` in a rep partition)
    award_reports: KeyValue = field(default_factory=dict)


@dataclass
class StageOutputs:
    """Where the stage publishes; ``drain`` waits until queued sends reached the broker."""

    scorecards: Send
    payroll: Send
    leaderboards: Send
    alerts: Send
    drain: Callable[[], Awaitable[None]]
    #: the dispute stage's way in: a payroll adjustment that names a dispute
    links: Callable[[AdjustmentLink], Awaitable[None]]
    #: ``sales.awards``; None: this stage decides no awards
    awards: Send | None = None


@dataclass
class Pacing:
    """When flushes, leaderboards and clock refreshes last ran (monotonic seconds) and
    how long to wait before the next: under a backlog the gaps grow by what the last run
    took, so rendering never takes more than about half the time."""

    flush_interval: float
    long_interval: float
    board_interval: float
    #: when the last regular flush (months, and every kind when full) ended
    last_flush: float = 0.0
    #: when the last flush of every period kind (not only months) ran
    last_full_flush: float = 0.0
    #: what the last regular flush took (at most ``MAX_SPACING_SECONDS``): the next one
    #: waits the interval plus this times the stage's spacing factor at the time it looks
    flush_took: float = 0.0
    #: when the last flush that rendered keys a budget had set aside ended
    last_set_aside: float = 0.0
    #: when the last flush of any sort ended, and what it took
    last_end: float = 0.0
    last_took: float = 0.0
    #: month keys rendered within the short interval (leading edge), oldest first
    recent_months: OrderedDict[ScorecardKey, float] = field(default_factory=OrderedDict)

    def held_months(self, now: float) -> OrderedDict[ScorecardKey, float]:
        """The month keys rendered less than the short interval before ``now``."""
        recent, since = self.recent_months, now - self.flush_interval
        while recent:
            key, at = next(iter(recent.items()))
            if at > since:
                break
            del recent[key]
        return recent

    def rendered_months(self, keys: Iterable[ScorecardKey], at: float) -> None:
        """These month keys were rendered by a flush that ended at ``at``."""
        recent = self.recent_months
        for key in keys:
            recent[key] = at
            recent.move_to_end(key)
    last_boards: float = 0.0
    #: what the last leaderboard publication took (at most ``MAX_SPACING_SECONDS``): the
    #: next waits the board interval plus this times the spacing factor, as a flush does
    boards_took: float = 0.0
    last_clock: float = field(default_factory=time.monotonic)
    clock_at_refresh: datetime | None = None


def spacing_factor(lag: float, interval: float) -> float:
    """How many times what the last flush took the next one waits, ``lag`` seconds behind
    with a short interval of ``interval``: once on time or up to one interval behind, the
    lag in intervals beyond that, at most ``MAX_BEHIND_SPACING`` (always, behind with no
    short interval: coalescing off)."""
    if lag <= interval:
        return 1.0
    return float(MAX_BEHIND_SPACING) if interval <= 0 else min(float(MAX_BEHIND_SPACING), lag / interval)


def backlog_lag(age: float, waiting: bool) -> float:
    """The lag a stage paces its flushes by (``on_batch``): the batch's ``age`` (``Batch.age``)
    while a later message already waits on the stage's partition, or once the input is more
    than ``UPSTREAM_BACKLOG_SECONDS`` old; else 0. Input a few hundred milliseconds old with
    nothing waiting is on time: the delay was upstream, and rendering now holds up no fact.
    Taken as behind, such a stage stopped its leading edge and spaced its flushes though
    nothing waited (docs/benchmarks.md)."""
    return age if waiting or age > UPSTREAM_BACKLOG_SECONDS else 0.0


async def publish_each(
    keys: list[ScorecardKey],
    publish_one: Callable[[ScorecardKey], Awaitable[None]],
    give_back: Callable[[Iterable[ScorecardKey]], None],
    stop: Callable[[ScorecardKey], bool] | None = None,
    set_aside: Callable[[Iterable[ScorecardKey]], None] | None = None,
) -> int:
    """Publish every key with ``publish_one``, in order; a key that fails is logged and
    given back for the next flush without stopping the others. When ``stop(key)`` says
    so, that key and the rest are handed untried to ``set_aside`` (by default given
    back). Returns the failures."""
    failures = 0
    for index, key in enumerate(keys):
        if stop is not None and stop(key):
            (set_aside or give_back)(keys[index:])
            break
        try:
            await publish_one(key)
        except Exception:
            failures += 1
            log.exception("scorecard %s could not be published; it is retried at the next flush", ":".join(key))
            give_back([key])
            if failures >= MAX_FAILURES_PER_FLUSH:
                # So many failures mean a fault of the whole flush (the producer), not of
                # one key: leave the untried keys for the next flush too.
                give_back(keys[index + 1:])
                break
    return failures


def new_engine(settings: Settings, role: EngineRole = WHOLE) -> ScorecardEngine:
    """An empty engine configured from the settings (plans, time zone)."""
    return ScorecardEngine(
        settings.timezone,
        load_scorecard_plan(settings.scorecard_plan or None),
        load_plans(settings.commission_plan or None),
        role,
        load_stage_probabilities(settings.forecast_plan or None),
    )


class Signal:
    """A change counter that waiters can sleep on (the live page waits on the boards)."""

    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Count a change and wake the current waiters."""
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int, timeout: float) -> bool:
        """Return once ``version`` differs from ``seen`` (True) or after ``timeout`` s (False)."""
        if self.version != seen:
            return True
        try:
            await asyncio.wait_for(self._event.wait(), max(timeout, 0.0))
        except TimeoutError:
            return False
        return True


class AlertStateTable:
    """The alert_state table seen as the alert states it stores."""

    def __init__(self, table: KeyValue) -> None:
        self._table = table

    def get(self, key: str, default: AlertState) -> AlertState:
        value = self._table.get(key)
        return default if value is None else AlertState.from_json(value)


def apply_fact(engine: ScorecardEngine, value: dict[str, Any]) -> Outcome:
    """Apply one fact to the engine: an input record, or a rep's split targets computed
    by the org stage (``split_target``, contract §12). Every fact was validated before (by
    the ingest agents before it was sent on, or before it was stored), so its timestamps
    are read without being checked again (``record_from_stored``)."""
    fact_type = FACT_TYPES[value["type"]]
    if fact_type.marker:
        return Outcome.APPLIED  # kept with the facts, read by the stage (``team_fed``)
    if fact_type.derived:
        return engine.apply_split_shares(value["rep_id"], {p: Decimal(v) for p, v in value["shares"].items()})
    return engine.apply(record_from_stored(value))


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


class AggregationStage:
    """The engine, the ledger and the board cache of the whole organisation.

    The worker runs its two halves (``streams.org_stage.OrgStage`` and
    ``streams.rep_stage.RepPartitionStage``), which override the hooks below; this class
    alone is the whole computation, the oracle the split is tested against.
    """

    def __init__(self, settings: Settings, tables: StageTables, outputs: StageOutputs, metrics: Metrics,
                 monotonic: Callable[[], float] = time.monotonic, budget: RenderBudget | None = None) -> None:
        self.settings = settings
        self.tables = tables
        self.facts = FactLog(tables.facts, readable=self.reads_facts)
        self.outputs = outputs
        self.metrics = metrics
        self._monotonic = monotonic
        self.alert_rules: tuple[Rule, ...] = load_alert_rules(settings.alert_rules or None)
        self.award_plan = load_awards(settings.award_plan or None)
        self._spike_severities = {s for r in self.alert_rules if r.kind == "complaints" for s in r.severities}
        self.scorecards = Publisher(outputs.scorecards, tables.emitted, scorecard_event_id)
        self.leaderboards = Publisher(outputs.leaderboards, tables.boards_emitted,
                                      lambda key, revision: f"leaderboard:{key}:{revision}")
        long_ms = max(settings.coalesce_long_ms, settings.coalesce_ms)
        # The clock's last refresh on the stage's own clock (a test's clock is not time.monotonic).
        self.pacing = Pacing(settings.coalesce_ms / 1000.0, long_ms / 1000.0, settings.leaderboard_ms / 1000.0,
                             last_clock=monotonic())
        #: the loop time left for flushes off the cadence (shared by the partitioned stages of
        #: a worker; none for a stage alone on its loop)
        self.budget = budget if budget is not None else NoBudget()
        #: None until the first message after an assignment rebuilds it from ``facts``.
        self.engine: ScorecardEngine | None = None
        self.ledger = PayrollLedger()
        self.boards = BoardCache()
        self.boards_pending: set[tuple[str, str]] = set()
        #: Notified after a flush that changed the board cache (the live page pushes then).
        self.boards_changed = Signal()
        #: Whether the board cache holds every rep scorecard: False from an assignment until
        #: the first flush after the rebuild re-rendered every key (``/api/leaderboard``
        #: answers 503 meanwhile rather than a partial board).
        self.boards_ready = False
        #: First flush after a rebuild re-sends unchanged keys (see ``_publish_scorecard``).
        self._republish = False
        #: The bonuses of the recorded awards, owed a post or a re-send since the last rebuild
        #: (``_resend_awards``): each goes out once its month is known closed again.
        self._bonuses_owed: list[BonusRequest] = []
        #: Longer-period keys a flush's budget left untried: continuation flushes render them.
        self.set_aside = KeyQueue()
        #: seconds since the input of the last batch of facts was sent (``Batch.age``); 0
        #: once no facts came for an interval
        self.lag = 0.0
        #: when the last batch of facts arrived (monotonic seconds)
        self.last_facts_at = 0.0

    # ------------------------------------------------------------------ lifecycle
    def on_assigned(self) -> None:
        """This worker owns the stage now: until its rebuild it owes a render of every key,
        and says so (``pending``), so nobody takes the stage for settled meanwhile."""
        self.metrics.progress.report(self.name, self.pending())

    def on_revoked(self) -> None:
        """Another worker may own ``sales.facts`` next: drop the cached engine and stop
        reporting this stage's progress here."""
        self.engine = None
        self.boards, self.boards_pending, self.boards_ready = BoardCache(), set(), False
        self.metrics.progress.forget(self.name)
        self.budget.forget(self.name)
        if self.owns_worker_gauges:
            self.metrics.ready.set(0)

    async def rebuild(self) -> ScorecardEngine:
        """Rebuild the engine from the tables now (else the next message does)."""
        engine = self.engine or await self._load()
        return engine

    async def _load(self) -> ScorecardEngine:
        """Rebuild the engine and ledger from the tables, settle what a crash left unpaid
        and withdraw keys that were published but no longer exist."""
        started = time.monotonic()
        engine = new_engine(self.settings, self.engine_role())
        # In one go, never yielding to the event loop: a revocation that ran in between would
        # leave this message to be acknowledged with its facts unapplied, and lost. Heartbeats
        # do not wait for it: Faust's consumer runs in a thread of its own.
        # Streamed from the table, not held: every decoded fact at once was the peak of a
        # recovering worker's memory (docs/benchmarks.md).
        loaded, requests = self._replay(engine)
        ledger = PayrollLedger()
        for key, paid in self.tables.payroll_state.items():
            ledger.load(key, paid)
        for request in requests:  # posted below when their month is closed, once
            ledger.request_appeal(request)
        log.info("engine rebuilt from %d facts in %.2fs", loaded, time.monotonic() - started)
        self.engine, self.ledger, self.boards = engine, ledger, BoardCache()
        # Whole after the first flush renders every key; with no key to render (no sale
        # yet) no flush comes, and the empty cache is the whole one.
        self.boards_ready = not engine.dirty
        self.set_aside = KeyQueue()  # the first flush after a rebuild renders every key
        self._loaded()
        if self.owns_worker_gauges:
            self.metrics.ready.set(1)
        # What a crash may have recorded without its sends leaving goes out again first.
        await self._resend_awards()
        # Whatever a crash left unpaid is settled now (both rules are state-based).
        await self._settle_payroll(engine, closed=True)
        self._republish = True
        if self.withdraws_stale():
            await self.withdraw_stale(engine)
        return engine

    def withdraws_stale(self) -> bool:
        """Whether the engine holds every fact its published keys need (after a rebuild,
        a key it does not have is withdrawn)."""
        return True

    async def withdraw_stale(self, engine: ScorecardEngine) -> None:
        """Withdraw the keys still published that the engine does not have, of those its role
        publishes: an org stage that published the teams before a team stage ran leaves
        their keys to the team partitions."""
        def exists(scope: str, id: str, label: str) -> bool:
            return not engine.role.keeps(scope, id) or engine.exists(scope, id, label)

        for key, scope, id, label in stale_published(self.tables.emitted.items(), exists):
            await self.withdraw(key, scope, id, label)

    @property
    def answering(self) -> ScorecardEngine | None:
        """The engine the query API renders this stage's scorecards from (None: loading)."""
        return self.engine

    def _replay(self, engine: ScorecardEngine) -> tuple[int, list[AdjustmentRequest]]:
        """Apply every stored fact to ``engine``; returns how many were read and the
        appeals' adjustment requests among them (for the ledger).

        The engine applies them the rebuild's way (``begin_rebuild``): the first flush after
        a rebuild renders every key, so a mark of every existing key at the end replaces
        the marks each fact made (a quarter of the rebuild's CPU), and each customer's
        acquisition is worked out once, not at every deal. The cyclic garbage collector is
        off meanwhile: the engine makes no cycles, and the collector only walked the
        growing state again and again (the replay never yields to the event loop)."""
        loaded, requests = 0, []
        role = engine.begin_rebuild()
        collecting = gc.isenabled()
        gc.disable()
        try:
            for key, value in self.facts.replay(lambda v: FACT_TYPES[v["type"]].rebuild_order, BULK_REBUILD_ORDER):
                if FACT_TYPES[value["type"]].ledger:
                    requests.append(AdjustmentRequest.from_json(value))
                else:
                    apply_fact(engine, value)
                self._loaded_fact(key, value)
                loaded += 1
        finally:
            engine.end_rebuild(role)
            if collecting:
                gc.enable()
        return loaded, requests

    # ------------------------------------------------------------------ hooks
    def engine_role(self) -> EngineRole:
        """What this stage's engine renders and pays."""
        return WHOLE

    def _loaded_fact(self, key: str, value: dict[str, Any]) -> None:
        """A stored fact (its key in the fact log) was applied while rebuilding."""

    def _loaded(self) -> None:
        """The engine and ledger were rebuilt from the tables."""

    #: the stage's name in the worker's progress figures (``Metrics.progress``)
    name = "aggregation"
    #: the ``stage`` label of its error count and last-processed time
    stage_label = "aggregate"
    #: whether this stage's engine is the worker's ``scorecard_ready`` and its clock the
    #: worker's ``scorecard_event_clock_timestamp_seconds``
    owns_worker_gauges = True
    #: whether the stage reads its stored facts back between rebuilds (``FactLog.get``)
    reads_facts = False
    #: whether a month scorecard not rendered within the short interval goes out right
    #: after the message that changed it (leading edge), instead of at the next flush
    leading_edge = True

    def _count(self, kind: str, outcome: Outcome) -> None:
        """Count a fact that went through the engine."""
        self.metrics.count_fact(kind, outcome.value)
        if outcome is Outcome.DUPLICATE:
            self.metrics.duplicates.labels(TOPIC_FOR_TYPE[kind].name).inc()

    def _stored(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        """What the fact log keeps of a newly applied fact (before it is stored)."""
        return payload

    def _handled(self, payload: dict[str, Any], key: str, outcome: Outcome, stored: dict[str, Any] | None) -> None:
        """A fact went through the engine (whatever the outcome); ``stored``: what the fact
        log now keeps of it when it was applied, else None."""

    async def _before_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        """A message arrived; its facts are applied next."""

    async def _after_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        """The message's facts are applied (and their row written)."""

    async def _after_run(self, engine: ScorecardEngine) -> None:
        """Due work (flushes, boards) ran."""

    def _rep_published(self, content: dict[str, Any]) -> set[tuple[str, str]]:
        """A rep scorecard was published (or is unchanged); returns the boards it moved."""
        return self.boards.update(content)

    def _rep_withdrawn(self, rep_id: str, label: str) -> set[tuple[str, str]]:
        """A rep scorecard stopped existing; returns the boards it left."""
        return self.boards.remove(rep_id, label)

    def _team_published(self, engine: ScorecardEngine, content: dict[str, Any]) -> None:
        """A team scorecard was published (or is unchanged)."""

    def _team_withdrawn(self, team_id: str, label: str) -> None:
        """A team scorecard stopped existing."""

    # ------------------------------------------------------------------ input
    async def on_batch(self, batch: Batch, offset: int | None = None, lag: float = 0.0) -> None:
        """Apply one internal message (possibly no fact: a tick) and run due work. ``lag``:
        seconds since the input of its facts was sent (``Batch.age``); a stage behind by
        more than the short interval flushes on the cadence only (leading-edge flushes
        would crowd out the facts waiting), until a batch of facts is on time again or
        none came for an interval."""
        now = self._monotonic()
        if batch.facts:
            self.lag, self.last_facts_at = lag, now
        elif self.drained(now):
            self.lag = 0.0  # no facts for an interval: nothing is waiting
        try:
            engine = self.engine or await self._load()
        except Exception:
            log.exception("the engine could not be rebuilt (facts offset %s)", offset)
            self.metrics.errors.labels(self.stage_label).inc()
            return
        await self._before_facts(engine, batch)
        changed = False
        for payload in batch.facts:
            try:
                changed = await self._apply(engine, payload) or changed
            except Exception:
                log.exception("aggregation failed on a fact at facts offset %s", offset)
                self.metrics.errors.labels(self.stage_label).inc()
        try:
            self.facts.write()
            await self._after_facts(engine, batch)
            if changed:
                await self._settle_payroll(engine, closed=False)
            if engine.as_of is not None and self.owns_worker_gauges:
                self.metrics.event_clock.set(engine.as_of.timestamp())
            await self._run_due(engine)
            await self._after_run(engine)
        except Exception:
            log.exception("aggregation failed after facts offset %s", offset)
            self.metrics.errors.labels(self.stage_label).inc()
        finally:
            self.metrics.last_processed.labels(self.stage_label).set(time.time())

    async def _apply(self, engine: ScorecardEngine, payload: dict[str, Any]) -> bool:
        """Apply one fact; True when it changed the fact state."""
        kind = payload["type"]
        fact = FACT_TYPES[kind]
        key = fact.fact_key(payload)
        if fact.ledger:
            await self._apply_appeal(engine, payload, key)
            return False
        outcome = apply_fact(engine, payload)
        self._count(kind, outcome)
        stored = None
        if outcome is Outcome.APPLIED:
            stored = self._stored(payload, key)
            self.facts.put(key, stored)
        elif outcome is Outcome.DUPLICATE:
            self._store_again(engine, payload, key)
        self._handled(payload, key, outcome, stored)
        if outcome is not Outcome.APPLIED:
            return False
        if kind == "close_period":
            # Statements at the close reflect exactly the facts applied before it.
            await self._settle_payroll(engine, closed=True)
        return True

    def _store_again(self, engine: ScorecardEngine, payload: dict[str, Any], key: str) -> None:
        """Write a duplicate's fact again. After a kill -9 the restarted worker's local
        store can hold a row whose changelog record was lost; the engine rebuilt from it
        then takes the re-delivered message for a duplicate, and without this write the
        fact would live only on that disk: the next owner, restoring from the changelog,
        would never have it. The same event id is the same event (contract §3), so the
        payload is what was stored; a second close of a month is another event and is
        not stored again unless it is the close that was applied. A derived fact (split
        shares) is not: its sender sends it again after each of its own rebuilds."""
        if FACT_TYPES[payload["type"]].derived:
            return
        if self.reads_facts:
            kept = self.facts.get(key)
            if kept is not None:
                self.facts.put(key, kept)
            return
        if payload["type"] == "close_period":
            applied = engine.closed_at.get(payload["period"])
            if applied is None or applied != parse_timestamp(payload["occurred_at"]):
                return
        self.facts.put(key, payload)

    async def _apply_appeal(self, engine: ScorecardEngine, payload: dict[str, Any], key: str) -> None:
        """Keep an appeal's adjustment with the facts (stored again when sent again: the
        ledger pays an id once) and, when this stage pays, post it or hold it until its
        month closes (contract §10)."""
        self._count(payload["type"], Outcome.APPLIED)
        stored = self._stored(payload, key)
        self.facts.put(key, stored)
        self._handled(payload, key, Outcome.APPLIED, stored)
        if engine.role.pays:
            await self._publish_payroll(self.ledger.post_appeal(engine, AdjustmentRequest.from_json(payload), _now()))

    def tick_seconds(self) -> float:
        """How often the worker's timer asks ``tick_due``."""
        if not self.leading_edge:
            return max(self.pacing.flush_interval, MIN_TICK_SECONDS)
        return min(max(self.pacing.flush_interval / TICKS_PER_INTERVAL, MIN_TICK_SECONDS), MAX_TICK_SECONDS)

    def tick_due(self) -> bool:
        """Whether pending work (or a first rebuild) warrants a tick message now. On the
        event clock a clock refresh is due only if facts moved the clock since the last
        one, so an idle worker sends no ticks and its group catches up with sales.facts."""
        engine, pacing = self.engine, self.pacing
        if engine is None or engine.dirty or self.set_aside or self.boards_pending:
            return True
        return self._monotonic() - pacing.last_clock >= self.settings.clock_refresh_seconds and (
            self.settings.clock == "wall" or engine.clock() != pacing.clock_at_refresh)

    async def _run_due(self, engine: ScorecardEngine) -> None:
        pacing, now = self.pacing, self._monotonic()
        if now - pacing.last_clock >= self.settings.clock_refresh_seconds:
            self._refresh_clock(engine)
        drained = self.drained(now)
        if engine.dirty and (drained or now - pacing.last_flush
                             >= pacing.flush_interval + self._gap(pacing.flush_took)):
            await self.flush(engine)
        elif (self.leading_edge and not self.behind and self.budget.allows_months(now)
              and engine.month_ready(pacing.held_months(now))):
            await self.flush(engine, leading=True)
        elif (self.set_aside and (drained or now - pacing.last_end >= self._gap(pacing.last_took))
              and self.budget.allows(now)):
            await self.flush(engine, continuation=True)
        elif self._boards_due(now):
            await self.publish_boards(engine, _now())
        self.metrics.progress.report(self.name, self.pending())

    @property
    def behind(self) -> bool:
        """Whether the last batch of facts was sent more than the short interval ago."""
        return self.lag > self.pacing.flush_interval

    def drained(self, now: float) -> bool:
        """Whether no facts came for a short interval (``now``: monotonic seconds). A
        drained stage has nothing left to coalesce and no fact waiting behind its flushes,
        so what is pending goes out now, with the backlog's budget, one flush after the
        other instead of spaced by what the last one took (after a backlog the last
        scorecards waited seconds of that spacing; docs/benchmarks.md). Longer periods
        still wait for their long interval: facts a second apart would otherwise have each
        rendered them, the company's among them (half a second at 10,000 reps)."""
        return now - self.last_facts_at > self.pacing.flush_interval

    def _boards_due(self, now: float) -> bool:
        """Whether moved boards are published at ``now``: the board interval after the last
        publication, plus what it took spaced as flushes are (``_gap``). Behind, a
        publication ranks for boards that the next facts move again: spaced only by what it
        took, it cost about a tenth of the org stage's CPU under a backlog (docs/benchmarks.md).
        At most the board interval plus ``MAX_SPACING_SECONDS`` x ``MAX_BEHIND_SPACING``."""
        pacing = self.pacing
        return bool(self.boards_pending) and (
            now - pacing.last_boards >= pacing.board_interval + self._gap(pacing.boards_took))

    def _gap(self, took: float) -> float:
        """Seconds the next flush waits after one that took ``took``, beyond the interval
        for a regular flush: ``took`` times ``spacing_factor``; behind, also times the
        stages of the worker flushing (``RenderBudget.sharing``), so together they render
        about a tenth of the time. At most ``MAX_SPACING_SECONDS`` x ``MAX_BEHIND_SPACING``."""
        factor = spacing_factor(self.lag, self.pacing.flush_interval)
        if factor > 1.0:
            factor *= self.budget.sharing(self._monotonic(), self.name)
        return min(took * factor, MAX_SPACING_SECONDS * MAX_BEHIND_SPACING)

    def pending(self) -> int:
        """Scorecard keys waiting for a flush (dirty, or set aside by a flush's budget); 1
        before the rebuild (its first flush renders every key)."""
        engine = self.engine
        return 1 if engine is None else len(engine.dirty) + len(self.set_aside)

    def _refresh_clock(self, engine: ScorecardEngine) -> None:
        """Pace, expected-to-date and trailing windows move with the clock, not only with facts."""
        if self.settings.clock == "wall":
            engine.wall_clock = datetime.now(UTC)
        clock = engine.clock()
        if clock != self.pacing.clock_at_refresh:
            engine.touch_clock()
            self.pacing.clock_at_refresh = clock
            if clock is not None:
                self.metrics.progress.report(self.name, self.pending(), clock.timestamp())
        self.pacing.last_clock = self._monotonic()

    # ------------------------------------------------------------------ payroll
    async def _settle_payroll(self, engine: ScorecardEngine, closed: bool) -> None:
        """Post statements when a month closed, then adjustments for changed closed months
        (an engine that pays); after a close, the awards (``_decide_awards``, every stage)."""
        posted_at = _now()
        if engine.role.pays:
            outputs = self.ledger.post_statements(engine, posted_at) if closed else []
            changes = engine.take_payroll_changes()
            if changes:
                outputs += self.ledger.adjust(engine, changes, posted_at)
            await self._publish_payroll(outputs)
        if closed:
            await self._decide_awards(engine, posted_at)

    async def _decide_awards(self, engine: ScorecardEngine, posted_at: str) -> None:
        """Decide the awards of every closed period not decided yet (contract §11): send
        its ``award`` events (``emitted_at``: the close of its last month), post their
        bonuses, then record the period, so a second close or a rebuild decides nothing
        again (a crash before the record re-sends the same events, and the bonuses: a
        bonus already in the paid state is sent again, not paid again)."""
        send = self.outputs.awards
        if send is None:
            return
        await self._settle_owed_bonuses(engine, posted_at)
        for period in periods_due(engine.closed_months, self.tables.awards.keys()):
            decision = decide(self.award_plan, closed_period(engine, period),
                              format_timestamp(decided_at(engine, period)))
            for event in decision.events:
                await send(event["event_id"].encode(), orjson.dumps(event))
            await self._publish_payroll([out for bonus in decision.bonuses
                                         for out in self.ledger.post_bonus(engine, bonus, posted_at)])
            self.tables.awards[period] = list(decision.events)

    async def _resend_awards(self) -> None:
        """After a rebuild, send every recorded ``award`` event again, unchanged, and owe
        its bonus a post or a re-send (``_decide_awards`` settles it; contract §11): the
        period's record, the paid states, the facts and the events go to different
        partitions, which Kafka does not order, so a killed worker can leave a recorded
        period whose events or bonuses never left, even one whose close it must read again
        (the kill -9 test at the closes lost both without this)."""
        send = self.outputs.awards
        if send is None:
            return
        self._bonuses_owed = []
        for _, events in sorted(self.tables.awards.items(), key=lambda item: item[0]):
            for event in events:
                await send(event["event_id"].encode(), orjson.dumps(event))
            self._bonuses_owed += filter(None, map(bonus_request, events))

    async def _settle_owed_bonuses(self, engine: ScorecardEngine, posted_at: str) -> None:
        """Post or send again each owed bonus whose month the engine knows closed."""
        owed, self._bonuses_owed = self._bonuses_owed, []
        outs: list[PayrollOutput] = []
        for request in owed:
            if request.original_period not in engine.closed_months:
                self._bonuses_owed.append(request)
                continue
            outs += self.ledger.post_bonus(engine, request, posted_at)
        await self._publish_payroll(outs)

    async def _publish_payroll(self, outs: Sequence[PayrollOutput]) -> None:
        """Send the events (and their dispute links), wait until the broker has them all,
        then record the paid states. The send and the record go to different partitions,
        which Kafka does not order: recorded before the send is acknowledged, a kill -9
        could keep a paid state whose event never reached ``sales.payroll``, and nothing
        would ever pay it again. Recorded after, a crash in between re-sends the same ids."""
        if not outs:
            return
        for out in outs:
            await self.outputs.payroll(out.state_key.encode(), orjson.dumps(out.event))
        for link in dispute_links(outs):
            await self.outputs.links(link)
        await self.outputs.drain()
        for out in outs:
            self.tables.payroll_state[out.state_key] = out.state.to_json()
            self.metrics.payroll.labels(out.event["type"]).inc()

    # ------------------------------------------------------------------ alerts
    def _manager_of(self, engine: ScorecardEngine, content: dict[str, Any]) -> str | None:
        if content["scope"] == "rep":
            manager: str | None = content["manager_id"]
            return manager
        period = engine.period(content["period"])
        members = engine.roster.members_at_end(period.end).get(content["id"], []) if period else []
        entry = engine.roster.entry_before(members[0], period.end) if members and period else None
        return entry.manager_id if entry else None

    async def evaluate_alerts(self, engine: ScorecardEngine, contents: list[dict[str, Any]], emitted_at: str) -> None:
        """Alert rules on every scorecard just rendered (facts or the clock moved)."""
        states = AlertStateTable(self.tables.alert_state)
        rules = self.alert_rules
        transitions: list[Transition] = []
        reps = set()
        for content in contents:
            if content["scope"] in ("rep", "team"):
                transitions += evaluate_scorecard(rules, content, states, self._manager_of(engine, content), emitted_at)
            if content["scope"] == "rep":
                reps.add((content["id"], content["manager_id"]))
        as_of = engine.clock()
        if reps and as_of is not None and self._spike_severities:
            by_rep: dict[str, list] = {}
            for c in engine.complaints.values():
                if c.severity in self._spike_severities:
                    by_rep.setdefault(c.rep_id, []).append((c.opened_at, c.severity))
            for rep, manager in sorted(reps, key=lambda pair: (pair[0], pair[1] or "")):
                transitions += evaluate_complaints(rules, rep, by_rep.get(rep, []), as_of, states, manager, emitted_at)
        for t in transitions:
            if t.event is not None:
                await self.outputs.alerts(t.key.encode(), orjson.dumps(t.event))
                self.metrics.alerts.labels(t.event["rule"], t.event["state"]).inc()
            self.tables.alert_state[t.key] = t.state.to_json()

    # ------------------------------------------------------------------ scorecards
    async def withdraw(self, key: str, scope: str, id: str, label: str) -> None:
        """A published key whose last fact moved away: a tombstone removes it from the
        compacted topic; the revision is kept so a later comeback continues the sequence."""
        if await self.scorecards.withdraw(key):
            if scope == "rep":
                self.boards_pending |= self._rep_withdrawn(id, label)
            elif scope == "team":
                self._team_withdrawn(id, label)
            self.metrics.scorecards.inc()

    def _full_flush_due(self, started: float) -> bool:
        """Whether a flush renders every period kind: after a rebuild, or when the long
        interval passed, nothing set aside is still waiting, and the last flush that
        rendered keys set aside (they may be dirty again) ended a short interval ago."""
        pacing = self.pacing
        return self._republish or (
            not self.set_aside
            and started - pacing.last_full_flush >= pacing.long_interval
            and started - pacing.last_set_aside >= pacing.flush_interval)

    def _take_set_aside(self, engine: ScorecardEngine) -> list[ScorecardKey]:
        """The next keys a budget set aside (at most ``SET_ASIDE_CHUNK``), no longer marked
        dirty: rendering now covers them. What the budget leaves of them queues again."""
        keys = self.set_aside.take(SET_ASIDE_CHUNK)
        engine.dirty.discard_all(keys)
        return keys

    async def flush(self, engine: ScorecardEngine, continuation: bool = False, leading: bool = False) -> None:
        """Render and publish the dirty months and the keys a budget set aside, and every
        other dirty key when the longer interval passed (months first); then alerts and,
        when due, boards. Month keys rendered within the short interval wait (leading
        edge). A continuation renders only the keys set aside; a leading flush only the
        months, and it does not move the short interval's cadence."""
        started = self._monotonic()
        pacing = self.pacing
        if self._republish:  # the first flush after a rebuild renders every key, none held back
            continuation = leading = False
        renders_set_aside = bool(self.set_aside) and not leading
        if continuation:
            keys = self._take_set_aside(engine)
        else:
            full = not leading and self._full_flush_due(started)
            keys = engine.take_dirty(months_only=not full, held=() if self._republish else pacing.held_months(started))
            if renders_set_aside:  # never rendered since they were taken: no interval to wait
                keys = sorted({*keys, *self._take_set_aside(engine)}, key=flush_order)
            if full:
                pacing.last_full_flush = started
            elif not keys:
                if not leading:
                    pacing.last_flush = started  # only longer periods are dirty, not due yet: look again later
                return
        emitted_at = _now()
        republish, self._republish = self._republish, False
        run = _FlushRun(self, engine, emitted_at, republish, months_first=len(keys) > MONTHS_FIRST_KEYS)
        # The first flush after a rebuild re-sends everything in one go; any other stops the
        # longer periods after the budget and sets the rest aside for continuation flushes.
        over_budget = None if republish else run.over_budget
        failures = await publish_each(keys, run.publish_one, engine.give_back, over_budget, self.set_aside.extend)
        if failures:
            self.metrics.errors.labels("publish").inc(failures)
        if republish:  # every key rendered again: the board cache is whole (a failed key is given back dirty)
            self.boards_ready = True
        await self.evaluate_alerts(engine, run.rendered, emitted_at)
        if run.boards_moved:
            self.boards_changed.notify()
        ended = self._monotonic()
        took = ended - started
        self.metrics.flush_seconds.observe(took)
        # A leading or continuation flush waits what the last flush took: at most about
        # half the time renders.
        spacing = min(took, MAX_SPACING_SECONDS)
        pacing.last_end, pacing.last_took = ended, spacing
        self.budget.spend(took, ended, self.name)
        if self.leading_edge:
            pacing.rendered_months(run.months, ended)
        if renders_set_aside:
            pacing.last_set_aside = ended
        if not (continuation or leading):
            # Rendering must not crowd out applying: on top of the configured interval,
            # space flushes by what the last one took (at most half the time renders), and
            # behind by up to MAX_BEHIND_SPACING times that (a tenth; each render then
            # covers more facts), as far behind as the stage is when it looks again: once the
            # facts stop or catch up, the next flush waits as on time. Twice the time on
            # time made the gap feed on itself: seconds of latency at 50 events/s.
            pacing.last_flush, pacing.flush_took = ended, spacing
        if self._boards_due(ended):
            await self.publish_boards(engine, emitted_at)

    async def publish_boards(self, engine: ScorecardEngine, emitted_at: str) -> None:
        """Leaderboard snapshots of the boards that moved, only when ranks or values changed."""
        cache = self.boards
        started, began = self._monotonic(), time.perf_counter()
        for board, period in sorted(self.boards_pending):
            parts = RowParts()  # a rep's row on this board by every metric: built once
            ranked = cache.ranked(board, period)
            window = engine.period(period)
            # the names /api/leaderboard shows too: the roster's at the period's end
            names = RosterNames(engine.roster, window.end if window is not None else None)
            for metric in METRICS:
                rows = cache.board(board, period, metric, names, limit=self.settings.leaderboard_rows, parts=parts)
                content = {"type": "leaderboard", "schema_version": 1, "board": board, "period": period,
                           "metric": metric, "ranked": ranked, "rows": rows}
                if await self.leaderboards.publish(f"{board}:{period}:{metric}", content, emitted_at):
                    self.metrics.leaderboards.inc()
        self.boards_pending = set()
        pacing = self.pacing
        pacing.last_boards = self._monotonic()
        self.metrics.board_seconds.observe(time.perf_counter() - began)  # real time: the stage's clock may be a test's
        # Ranking 10,000 reps per board takes a while: like flushes, space publications by
        # what the last one took (at most half the time goes to boards; behind, less).
        pacing.boards_took = min(pacing.last_boards - started, MAX_SPACING_SECONDS)


class _FlushRun:
    """One flush: renders and publishes keys one at a time, draining sends in chunks."""

    def __init__(self, stage: AggregationStage, engine: ScorecardEngine, emitted_at: str, republish: bool,
                 months_first: bool = True) -> None:
        self.stage, self.engine, self.emitted_at, self.republish = stage, engine, emitted_at, republish
        #: seconds of longer periods this flush renders (after every month)
        self.budget = LONG_PERIODS_BUDGET_SECONDS * (
            1.0 if stage.behind or stage.drained(stage._monotonic()) else ON_TIME_BUDGET_SHARE)
        self.rendered: list[dict[str, Any]] = []
        #: True once nothing needs delivering before the longer periods (small flushes: from the start)
        self.months_sent = not months_first
        self.unsent = 0
        self.boards_moved = False
        #: real time, not the stage's (test) clock: the budget is of rendering work
        self.started = time.perf_counter()
        self.long_periods = 0  # longer-period keys let through by ``over_budget``
        #: the month keys rendered (or tried)
        self.months: list[ScorecardKey] = []

    def over_budget(self, key: ScorecardKey) -> bool:
        """Whether to stop before ``key``: a longer period reached after the budget ran out
        (and after at least one longer period was rendered, so every flush makes progress)."""
        if period_kind(key[2]) == "month":
            return False
        if self.long_periods == 0 or time.perf_counter() - self.started < self.budget:
            self.long_periods += 1
            return False
        return True

    async def publish_one(self, key_parts: ScorecardKey) -> None:
        stage, engine = self.stage, self.engine
        scope, id, label = key_parts
        if self.unsent >= SEND_CHUNK or (not self.months_sent and period_kind(label) != "month"):
            # Deliver what is rendered before going on: the month scorecards before the
            # slower rest (quarters, years, trailing windows), so a closed deal's month
            # figures reach consumers sooner, and no large flush buffers every update.
            await stage.outputs.drain()
            self.months_sent = self.months_sent or period_kind(label) != "month"
            self.unsent = 0
        key = scorecard_key(scope, id, label)
        if is_month(label):
            # Counted before trying: a key that fails waits its interval too, so a send
            # that left before the failure is never followed by another too soon.
            self.months.append(key_parts)
        content = engine.render(scope, id, label)
        if content is None:
            await stage.withdraw(key, scope, id, label)
            return
        # First flush after a rebuild: the previous owner may have recorded this revision
        # and died before its send left (two partitions, no order between them), so an
        # unchanged key is sent again: same revision, same event id, same content.
        if await stage.scorecards.publish(key, content, self.emitted_at, resend=self.republish):
            stage.metrics.scorecards.inc()
            self.unsent += 1
        # Boards and alerts only see a scorecard once it is published (or unchanged).
        if scope == "rep":
            moved = stage._rep_published(content)
            stage.boards_pending |= moved
            self.boards_moved = self.boards_moved or bool(moved)
        elif scope == "team":
            stage._team_published(engine, content)
        self.rendered.append(content)
        if len(self.rendered) >= ALERT_CHUNK:
            chunk, self.rendered = self.rendered, []
            await stage.evaluate_alerts(engine, chunk, self.emitted_at)
