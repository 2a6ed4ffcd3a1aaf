"""The org stage: every fact, company scorecards, leaderboards, awards; the router.

``OrgStage`` consumes ``sales.facts`` (one partition). Its engine applies every fact,
pays nobody, and (``core.engine.ORG``) keeps and renders every team's and the company's
figures, or, beside a team stage (``send_to_team``; ``ORG_BESIDE_TEAMS``), the company's
and the ``unassigned`` team's only: the team partitions send it each team board's
summary (``team_rows``) and their teams' award figures. It forwards
each fact, batched per partition, to the partitions of the rep stage (and of the team
stage) that need it (``streams.fact_routes``, ``streams.team_routes``), with the
organisation's event clock. The rep stage
sends back, on ``sales.facts``, the board rows of the rep scorecards it published and
what it paid: the org stage keeps both in tables, ranks the leaderboards from the rows
(``core.boards.BoardCache``) and serves the payroll view from the paid states.

Awards (contract §11): at a close the org stage keeps the team figures of every period
the close ends (``core.award_reports.AwardReports``; beside a team stage only
``unassigned``'s); each rep partition reports its reps' figures of those periods once its
payroll for the close is out, and each team partition its teams' figures. When every
partition has reported a period, the org stage decides it (``core.awards.decide``), sends
the ``award`` events, sends each rep partition the events of its reps (whose bonuses it
posts) and each team partition word of the decision, then records the period in
``awards``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson

from sales_scorecard.core.award_figures import decided_at, period_order, periods_due, team_figures
from sales_scorecard.core.award_reports import REP, AwardReports, ReportChunk, Reporter, reporters
from sales_scorecard.core.awards import bonus_request, decide
from sales_scorecard.core.engine import (
    ORG,
    ORG_BESIDE_TEAM_VALUES,
    ORG_BESIDE_TEAMS,
    EngineRole,
    Outcome,
    ScorecardEngine,
)
from sales_scorecard.core.money import format_money
from sales_scorecard.core.periods import format_timestamp
from sales_scorecard.core.publishing import split_scorecard_key
from sales_scorecard.core.roster import UNASSIGNED
from sales_scorecard.core.team_values import CompanyValues
from sales_scorecard.schemas.fact_types import FACT_TYPES, SPLIT_TARGET, TEAM_FED

from .aggregation import AggregationStage, StageOutputs, StageTables
from .fact_batches import REBUILT, Batch, encode_batches, encode_clock, encode_rows
from .fact_routes import Fact, FactRoutes, partition_of
from .metrics import Metrics
from .publisher import KeyValue
from .render_budget import RenderBudget
from .settings import Settings
from .team_routes import TeamRoutes, reps_named

#: Sends one message to a partition of ``sales.rep-facts`` (or of the team stage's topic).
SendToPartition = Callable[[int, bytes], Awaitable[None]]


class Hop:
    """The facts routed to one partitioned stage by the message being processed, and the
    clock each of its partitions was last sent."""

    def __init__(self, send: SendToPartition, partitions: int) -> None:
        self.send = send
        self.partitions = partitions
        #: partition -> facts routed to it by the message being processed
        self.out: dict[int, list[Fact]] = {}
        #: partition -> the clock it was last sent
        self.clock_sent: dict[int, str] = {}

    def behind(self, clock: str) -> bool:
        """Whether a partition was not sent ``clock`` yet."""
        return any(self.clock_sent.get(p) != clock for p in range(self.partitions))

    async def send_batches(self, clock: str | None, since: int | None, broadcast: bool) -> int:
        """Send each partition its facts of the message with the clock (or, when
        ``broadcast``, the clock alone if it moved); returns the messages sent."""
        out, self.out = self.out, {}
        sent = 0
        for partition in range(self.partitions):
            facts = out.get(partition)
            if facts:
                for value in encode_batches((orjson.dumps(f) for f in facts), clock, since):
                    await self.send(partition, value)
                    sent += 1
                self.clock_sent[partition] = clock or ""
            elif broadcast and clock is not None and self.clock_sent.get(partition) != clock:
                await self.send(partition, encode_clock(clock))
                sent += 1
                self.clock_sent[partition] = clock
        return sent


def split_fact(engine: ScorecardEngine, rep_id: str) -> Fact:
    """Every share of split team targets a rep has (contract §12), as its partition gets them."""
    shares = engine.splits.of_rep(rep_id)
    return {"type": SPLIT_TARGET, "rep_id": rep_id,
            "shares": {period: format_money(share) for period, share in sorted(shares.items())}}


def board_row_key(rep_id: str, period: str) -> str:
    """The key of a rep scorecard's row in the org stage's ``board_rows`` table (and of a
    team scorecard's in ``team_rows``)."""
    return f"{rep_id}:{period}"


def keep_row(table: KeyValue, row: dict[str, Any]) -> bool:
    """Keep a board row (or team summary row) the rep (or team) stage sent in ``table``, or
    drop its key when the row says ``removed``, unless the row kept has a higher revision
    (a row from before a rebalance, overtaken); whether it was taken."""
    key = board_row_key(row["id"], row["period"])
    old = table.get(key)
    if old is not None and old["revision"] > row["revision"]:
        return False
    if not row.get("removed"):
        table[key] = row
    elif old is not None:
        del table[key]
    return True


class OrgStage(AggregationStage):
    """Team and company scorecards, the leaderboards, and the routing to the rep stage."""

    def __init__(self, settings: Settings, tables: StageTables, outputs: StageOutputs, metrics: Metrics,
                 send_to_rep: SendToPartition, board_rows: KeyValue,
                 monotonic: Callable[[], float] = time.monotonic, budget: RenderBudget | None = None,
                 send_to_team: SendToPartition | None = None, team_rows: KeyValue | None = None,
                 team_values: KeyValue | None = None, generation: Callable[[], int] = lambda: 0) -> None:
        super().__init__(settings, tables, outputs, metrics, monotonic, budget)
        self._send_to_rep = send_to_rep
        self._send_to_team = send_to_team
        self._new_routes()
        #: team partition -> what this stage recorded of its teams, sent after a rebuild
        self._handover: dict[int, list[dict[str, Any]]] = {}
        #: "{rep_id}:{period}" -> the last board row of that rep scorecard
        self.board_rows = board_rows
        #: "{team_id}:{period}" -> the last summary row of that team scorecard (team stage)
        self.team_rows: KeyValue = team_rows if team_rows is not None else {}
        #: with ``company_values`` beside a team stage: the team partitions' values the
        #: company's activities and complaints come from (``core.team_values``)
        partitions = settings.partitions
        self.company_values: CompanyValues | None = None
        if settings.company_values and send_to_team is not None:
            if team_values is None:
                raise ValueError("company_values: the org stage needs its team_values table")
            self.company_values = CompanyValues(team_values, partitions,
                                                lambda team_id: partition_of(team_id, partitions), generation)
        #: the consumer group's generation now (Faust's ``consumer_generation_id``)
        self._generation = generation
        self._last_clock_broadcast = 0.0
        #: the award figures collected per period until it is decided (contract §11)
        self.award_reports = AwardReports(tables.award_reports)

    #: a duplicate is routed as its stored version was, catch-ups send stored deals
    reads_facts = True

    def engine_role(self) -> EngineRole:
        if self.team_routes is None:
            return ORG
        return ORG_BESIDE_TEAMS if self.company_values is None else ORG_BESIDE_TEAM_VALUES

    def _new_routes(self) -> None:
        """Routes and hops with nothing routed yet (an assignment, a revocation)."""
        partitions = self.settings.partitions
        self.routes = FactRoutes(partitions)
        self.rep_hop = Hop(self._send_to_rep, partitions)
        #: with a team stage (``streams.team_stage``): its routes and hop, and rep -> the keys
        #: of the stored facts naming the rep (``reps_named``: a catch-up sends them)
        self.team_routes = TeamRoutes(partitions, self.routes) if self._send_to_team is not None else None
        self.team_hop = Hop(self._send_to_team, partitions) if self._send_to_team is not None else None
        self._keys_of_rep: dict[str, set[str]] = {}

    def on_revoked(self) -> None:
        super().on_revoked()
        self._new_routes()

    # ------------------------------------------------------------------ rebuild
    async def _load(self) -> ScorecardEngine:
        self._new_routes()
        engine = await super()._load()
        await self._request_reports()
        return engine

    def _loaded_fact(self, key: str, value: dict[str, Any]) -> None:
        self.routes.load(value)
        if self.team_routes is not None:
            self.team_routes.load(value)
            self._index(key, value)

    def _index(self, key: str, value: Fact) -> None:
        """Note the stored fact's key (the fact log's own string) under every rep it names
        (the catch-ups' index)."""
        for rep_id in reps_named(value):
            self._keys_of_rep.setdefault(rep_id, set()).add(key)

    def _loaded(self) -> None:
        for row in self.board_rows.values():
            self.boards_pending |= self.boards.update(row)
        for row in self.team_rows.values():
            self.boards.summarise(row)
        if self.team_hop is not None:
            if self.facts.latest:
                self._handover = self._team_records()
            else:
                # Nothing stored: every fact from now on is routed to the team partitions that
                # need it, so each holds every fact it needs from the start (no request, no
                # walk, and every close's awards reported at the close).
                for partition in range(self.team_hop.partitions):
                    self.team_hop.out.setdefault(partition, []).append({"type": TEAM_FED, "partition": partition})
        engine = self.engine
        if engine is not None and self.company_values is not None:
            self.company_values.restart_epochs(self._generation())
            self.company_values.load(engine)
            engine.values_clock = self.company_values.clock()
            engine.confirm_closed(self.company_values.closed())
        if engine is not None:
            # What a crash kept from the rep stage cannot be told apart: every rep who may
            # have shares (a member, ever, of a team with a target) gets all of them again;
            # a partition holding the same shares stores nothing.
            engine.take_split_reps()
            teams = engine.targets.ids("team")
            for rep_id in sorted(engine.roster.reps):
                if engine.roster.teams_ever(rep_id) & teams:
                    self._route(split_fact(engine, rep_id))

    def _team_records(self) -> dict[int, list[dict[str, Any]]]:
        """Partition -> what this stage recorded of the scorecards and alerts of the teams
        that partition owns (``streams.team_stage``: ``handover``)."""
        partitions = self.settings.partitions
        # every partition hears of the rebuild: one still waiting for its facts asks again
        out: dict[int, list[dict[str, Any]]] = {p: [{"table": REBUILT}] for p in range(partitions)}
        for table, items, rule in (("emitted", self.tables.emitted.items(), False),
                                   ("alert_state", self.tables.alert_state.items(), True)):
            for key, value in items:
                # an alert's key is its rule's name before the scorecard's key; an id may hold ':'
                scope, id, _ = split_scorecard_key(key.split(":", 1)[1] if rule else key)
                if scope == "team" and id != UNASSIGNED:
                    out.setdefault(partition_of(id, partitions), []).append(
                        {"table": table, "key": key, "value": value})
        return out

    def _answer_team_requests(self, batch: Batch) -> None:
        """Send each team partition that asked every stored fact it needs, and the split
        shares of every rep who may have some: one walk of the stored facts per message."""
        wanted = {row["partition"] for row in batch.team_requests}
        engine = self.engine
        if not wanted or self.team_routes is None or self.team_hop is None or engine is None:
            return
        out = self.team_hop.out
        self.team_routes.bootstrap(list(self.facts.latest.values()), wanted, out)
        teams = engine.targets.ids("team")
        self.team_routes.bootstrap((split_fact(engine, rep_id) for rep_id in sorted(engine.roster.reps)
                                    if engine.roster.teams_ever(rep_id) & teams), wanted, out)
        for partition in sorted(wanted):  # last: the partition holds every fact it needs now
            out.setdefault(partition, []).append({"type": TEAM_FED, "partition": partition})

    # ------------------------------------------------------------------ routing
    def _stored(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        value = self.routes.annotate(payload, self.facts.get(key))
        if self.team_routes is None:
            return value
        value = self.team_routes.annotate(value)
        self._index(key, value)
        return value

    def _route(self, value: Fact, repeated: bool = False) -> None:
        """Add ``value`` (as stored) to the batches of the partitions that need it."""
        self.routes.route(value, self.rep_hop.out, self._won_deals, repeated=repeated)
        if self.team_routes is not None and self.team_hop is not None:
            self.team_routes.route(value, self.team_hop.out, self._won_deals, self._facts_of_rep, repeated=repeated)

    def _facts_of_rep(self, rep_id: str) -> Iterator[Fact]:
        """Every stored fact of the rep, roster entries and targets first (as a rebuild
        applies them), and its split shares (a team-stage catch-up)."""
        stored = (self.facts.get(key) for key in self._keys_of_rep.get(rep_id, ()))
        yield from sorted((value for value in stored if value is not None),
                          key=lambda value: FACT_TYPES[value["type"]].rebuild_order)
        if self.engine is not None:
            yield split_fact(self.engine, rep_id)

    def _handled(self, payload: dict[str, Any], key: str, outcome: Outcome, stored: dict[str, Any] | None) -> None:
        # The stored version is routed, annotations and all; a duplicate or stale version
        # routes the stored one again, to every partition that may have missed an earlier
        # version, so what a crash kept from reaching the rep stage the first time gets
        # there now.
        value = stored if stored is not None else self.facts.get(key)
        self._route(value or payload, repeated=stored is None)
        engine = self.engine
        if engine is not None:
            # Right after the fact that moved them, so a close that follows finds them there.
            for rep_id in sorted(engine.take_split_reps()):
                self._route(split_fact(engine, rep_id))

    def _won_deals(self, customer: str) -> Iterator[Fact]:
        engine = self.engine
        if engine is None:
            return
        for deal_id in engine.customer_won_deal_ids(customer):
            value = self.facts.get("deal:" + deal_id)
            if value is not None:
                yield value

    def _clock_behind(self) -> bool:
        engine = self.engine
        if engine is None or engine.as_of is None:
            return False
        clock = format_timestamp(engine.as_of)
        return self.rep_hop.behind(clock) or (self.team_hop is not None and self.team_hop.behind(clock))

    def tick_due(self) -> bool:
        return super().tick_due() or self._clock_behind()

    async def _after_facts(self, engine: ScorecardEngine, batch: Batch) -> None:
        self._take_rows(batch)
        if batch.team_values and self.company_values is not None:
            self.company_values.take(batch.team_values, engine)
            self.metrics.team_values.inc(len(batch.team_values))
            engine.values_clock = self.company_values.clock()
            engine.confirm_closed(self.company_values.closed())
        await self._take_award_reports(batch)
        clock = format_timestamp(engine.as_of) if engine.as_of is not None else None
        now = self._monotonic()
        # Clock-only messages go out at most once per flush interval; every batch of
        # facts carries the clock anyway, and when its input was sent (the rep partition
        # is behind when the whole path is, not only its own hop).
        broadcast = now - self._last_clock_broadcast >= self.pacing.flush_interval
        self.metrics.rep_batches_sent.inc(await self.rep_hop.send_batches(clock, batch.since, broadcast))
        if self.team_hop is not None:
            self._answer_team_requests(batch)
            handover, self._handover = self._handover, {}
            for partition, rows in sorted(handover.items()):
                for value in encode_rows("handover", rows):
                    await self.team_hop.send(partition, value)
            self.metrics.team_batches_sent.inc(await self.team_hop.send_batches(clock, batch.since, broadcast))
        if broadcast:
            self._last_clock_broadcast = now

    # ------------------------------------------------------------------ rows from the rep stage
    def _take_rows(self, batch: Batch) -> None:
        moved: set[tuple[str, str]] = set()
        for row in batch.board_rows:
            if keep_row(self.board_rows, row):
                moved |= self.boards.remove(row["id"], row["period"]) if row.get("removed") else self.boards.update(row)
        for paid in batch.paid:
            self.tables.payroll_state[paid["key"]] = paid["state"]
        for row in batch.team_rows:
            if keep_row(self.team_rows, row) and self.boards.summarise(row):
                self.boards_changed.notify()  # the team board's page shows the summary
        if moved:
            self.boards_pending |= moved
            self.boards_changed.notify()

    # ------------------------------------------------------------------ awards
    async def _decide_awards(self, engine: ScorecardEngine, posted_at: str) -> None:
        """At a close (and after a rebuild): keep the team figures of every period the
        closed months end that is neither decided nor kept yet, as rendered now (right
        after the close, like the whole stage's; beside a team stage only those of the
        teams it publishes, ``unassigned``), then decide what is complete."""
        if self.outputs.awards is None:
            return
        reports, beside_teams = self.award_reports, self.team_hop is not None
        for period in periods_due(engine.closed_months, self.tables.awards.keys()):
            if not reports.captured(period, beside_teams):
                reports.capture(period, team_figures(engine, period), format_timestamp(decided_at(engine, period)),
                                beside_teams)
        await self._decide_complete(reports.pending())

    def _reporters(self) -> list[Reporter]:
        """Every partition whose report of a period a decision waits for: each rep
        partition, and each team partition beside a team stage."""
        partitions = self.settings.partitions
        return reporters(partitions, partitions if self.team_hop is not None else 0)

    async def _send_to_reporter(self, reporter: Reporter, value: bytes) -> None:
        if reporter.stage == REP:
            await self._send_to_rep(reporter.partition, value)
        elif self.team_hop is not None:
            await self.team_hop.send(reporter.partition, value)

    async def _take_award_reports(self, batch: Batch) -> None:
        """Keep the chunks partitions reported; a report of a decided period (a re-send
        after a partition's rebuild) gets that partition the decision again."""
        if not (batch.award_reports or batch.team_award_reports) or self.outputs.awards is None:
            return
        periods: set[str] = set()
        answer: dict[Reporter, set[str]] = {}
        for row in batch.award_reports + batch.team_award_reports:
            chunk = ReportChunk.from_json(row)
            if chunk.period in self.tables.awards:
                answer.setdefault(chunk.reporter, set()).add(chunk.period)
            else:
                self.award_reports.add(chunk)
                periods.add(chunk.period)
        for reporter, decided in sorted(answer.items(), key=lambda item: item[0].slot):
            await self._send_decisions(reporter, sorted(decided))
        await self._decide_complete(sorted(periods))

    async def _decide_complete(self, periods: list[str]) -> None:
        """Decide each of ``periods`` that every partition has reported: send its events,
        send each partition the decision (a rep partition with its reps' events, their
        bonuses), record it, forget its reports. A crash before the record decides it
        again from the same reports (same ids)."""
        send, waited = self.outputs.awards, self._reporters()
        assert send is not None
        for period in periods:
            if period in self.tables.awards:
                continue
            complete = self.award_reports.complete(period, waited)
            if complete is None:
                continue
            closed, at = complete
            decision = decide(self.award_plan, closed, at)
            for event in decision.events:
                await send(event["event_id"].encode(), orjson.dumps(event))
            events = list(decision.events)
            for reporter in waited:
                await self._send_decisions(reporter, [period], {period: events})
            self.tables.awards[period] = events
            # every team partition's rows too: some may be left from a run beside a team stage
            partitions = self.settings.partitions
            self.award_reports.forget(period, reporters(partitions, partitions))

    async def _send_decisions(self, reporter: Reporter, periods: list[str],
                              decided: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """Send a partition the decision of each period: to a rep partition the events of
        its reps that carry a bonus (none: the period is decided all the same), to a team
        partition none. ``decided``: the events of periods not recorded yet, else read
        from ``awards``."""
        rows, partitions = [], self.settings.partitions
        for period in periods:
            events = (decided or {}).get(period)
            if events is None:
                events = self.tables.awards.get(period) or []
            rows.append({"period": period, "events": [
                e for e in events if reporter.stage == REP and bonus_request(e) is not None
                and partition_of(e["winner_id"], partitions) == reporter.partition]})
        for value in encode_rows("award_decisions", rows):
            await self._send_to_reporter(reporter, value)

    async def _request_reports(self) -> None:
        """After a rebuild, ask each partition for its report of every period kept and not
        decided that lacks it: a kill -9 can lose the reports kept here (the record of a
        decision with them, so the period is kept again), and a partition that took the
        decision in has no reason to send its report again."""
        if self.outputs.awards is None:
            return
        wanted: dict[Reporter, list[dict[str, str]]] = {}
        for period in self.award_reports.pending():
            for reporter in self.award_reports.missing(period, self._reporters()):
                wanted.setdefault(reporter, []).append({"period": period})
        for reporter, rows in sorted(wanted.items(), key=lambda item: item[0].slot):
            for value in encode_rows("award_requests", rows):
                await self._send_to_reporter(reporter, value)

    async def _resend_awards(self) -> None:
        """After a rebuild, send every recorded ``award`` event again, unchanged, and every
        partition its decisions again (its bonuses: posted if lost, else sent again): a
        kill -9 can keep the record and lose the sends (contract §11)."""
        send = self.outputs.awards
        if send is None:
            return
        periods = sorted(self.tables.awards.keys(), key=period_order)
        for period in periods:
            for event in self.tables.awards[period]:
                await send(event["event_id"].encode(), orjson.dumps(event))
        if periods:
            for reporter in self._reporters():
                await self._send_decisions(reporter, periods)
