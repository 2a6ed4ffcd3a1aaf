"""A seeded, realistic CRM history for demos, tests and benchmarks (pure, no Kafka).

Teams in mature markets (territory factor 1.0) and in new, hard markets (1.2–1.6);
monthly rep targets (some teams with quarterly targets only), market sizes and
new-customer targets; quarter-end seasonality; deal lifecycles (open → won/lost, amount
amendments, reassignments, reversals of won deals); complaints that get resolved;
calls, visits, meetings, e-mails, demos, surveys, campaigns and trainings; hires and
departures mid-way; and the delivery faults of a real feed: duplicates and older
versions arriving after newer ones. ``simulate`` returns events in delivery order.

With ``dispute_rate`` above 0 the history also holds appeals (contract §10,
``cli.dispute_simulation``): disputes opened, decided, withdrawn or left open, and deals
re-credited by an upheld dispute. They come from a random stream of their own, so every
other event is the same as without them; the default, 0, keeps the histories that tests
and benchmarks were measured with.

Open deals carry a pipeline (contract §13): each deal is created at a ``pipeline_stage``
with an ``expected_close_at``, and many move to another stage part-way to their close,
with a sharper expected date. The stage is drawn knowing the deal's outcome, so that deals at a
stage are won about as often as the default stage probability says (0.10, 0.25, 0.50,
0.75), and the expected date is the real close ± a few days. The pipeline comes from a
random stream of its own per deal and its stage updates are merged in after the feed's
faults, so every other event is what it was, but for the stage fields of a deal's first
version and the version numbers after a stage update.

Reviews and engagement surveys (contract §12, ``cli.review_simulation``) come from a
random stream of their own too and are slotted in by time (``reviews=False`` leaves them
out): managers review monthly, some reps get 3 or more peer reviews and others fewer,
customers and the reps themselves rate too, and some teams' surveys get fewer than 3
answers.

Reps differ in how well they serve customers: about half get mostly 4s and 5s in their
surveys, the rest the spread of before, so some reps above target earn the 8 % band and
some miss its ``csat >= 4.5`` gate (contract §11). Which profile a rep has comes from a
random stream of its own, so every event but the survey scores is what it was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sales_scorecard.cli.dispute_simulation import merge_by_time


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate."""

    seed: int = 7
    reps: int = 100
    teams: int = 10
    start_month: str = "2026-07"
    months: int = 5
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    duplicate_rate: float = 0.01
    out_of_order_rate: float = 0.02
    activity_scale: float = 1.0
    #: Share of a rep's active months disputed (plus half the reassigned won deals); 0: no appeals.
    dispute_rate: float = 0.0
    #: Reviews and engagement surveys (contract §12, ``cli.review_simulation``).
    reviews: bool = True
    #: One team (of at least two, not quarterly-only) gets monthly team targets split down
    #: to its reps instead of rep targets (contract §12), the rule turning equal, weights,
    #: history by month; False keeps the histories tests were measured with.
    split_targets: bool = False


#: Pipeline stages (contract §13) and their default probabilities of being won.
_STAGES = ("prospect", "qualified", "proposal", "negotiation")
_STAGE_P = (0.10, 0.25, 0.50, 0.75)
#: How often deals end at each stage before closing: with _STAGE_P it gives a win rate of
#: about 0.6, the simulator's; P(stage | won) and P(stage | lost) follow by Bayes.
_STAGE_PRIOR = (0.05, 0.10, 0.25, 0.60)
_IF_WON = tuple(q * p for q, p in zip(_STAGE_PRIOR, _STAGE_P, strict=True))
_IF_LOST = tuple(q * (1 - p) for q, p in zip(_STAGE_PRIOR, _STAGE_P, strict=True))


@dataclass(frozen=True)
class _PipelinePath:
    """An open deal's pipeline: its stage and expected close when created, and an optional
    later move to another stage (when, stage, sharper expected close)."""

    first_stage: str
    first_expected: datetime
    update: tuple[datetime, str, datetime] | None


def _split_team(cfg: SimulationConfig, teams: list[str], quarterly_only: dict[str, bool]) -> str | None:
    """The team whose monthly targets are split (contract §12), from a random stream of its own."""
    monthly = [t for t in teams if not quarterly_only[t]]
    return random.Random(f"{cfg.seed}:split").choice(monthly) if monthly else None


def _pipeline_path(seed: int, deal_id: str, created: datetime, closed: datetime, won: bool | None) -> _PipelinePath:
    """The pipeline of a deal created at ``created`` that closes at ``closed`` (won, lost, or
    None: still open at the end), from a random stream of the deal's own. Each of its two
    stages is drawn on its own from P(stage | outcome), so whenever a deal is seen at a
    stage it is won about as often as the stage's probability; a deal may also slip back."""
    rnd = random.Random(f"{seed}:pipeline:{deal_id}")
    if won is None:
        won = rnd.random() < 0.6
    weights = _IF_WON if won else _IF_LOST
    first, second = rnd.choices(range(len(_STAGES)), weights=weights, k=2)
    earliest = created + timedelta(hours=1)

    def expected(sigma_days: float) -> datetime:
        return max(earliest, closed + timedelta(hours=round(rnd.gauss(0, sigma_days * 24))))

    first_expected = expected(5)
    moved = created + (closed - created) * rnd.uniform(0.15, 0.5)
    update = (moved, _STAGES[second], expected(2)) if second != first else None
    return _PipelinePath(_STAGES[first], first_expected, update)


#: Survey score weights (1..5): a rep who serves well (mean 4.6), and the usual spread (mean 3.9).
_GOOD_SERVICE = (0, 0, 1, 3, 11)
_USUAL_SERVICE = (1, 1, 3, 6, 6)


def _months(start: str, count: int) -> list[date]:
    y, m = int(start[:4]), int(start[5:7])
    out = []
    for _ in range(count):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


class _Builder:
    def __init__(self, cfg: SimulationConfig) -> None:
        self.cfg = cfg
        self.rnd = random.Random(cfg.seed)
        self.zone = ZoneInfo(cfg.timezone)
        self.seq = 0
        self.events: list[tuple[datetime, int, dict[str, Any]]] = []
        #: stage updates of open deals (contract §13), merged in after the feed's faults
        self.pipeline: list[tuple[datetime, dict[str, Any]]] = []

    def ts(self, d: date, hour: int | None = None) -> datetime:
        h = self.rnd.randint(9, 19) if hour is None else hour
        return datetime(d.year, d.month, d.day, h, self.rnd.randint(0, 59), self.rnd.randint(0, 59), tzinfo=self.zone)

    def emit(self, when: datetime, event: dict[str, Any], prefix: str) -> dict[str, Any]:
        self.seq += 1
        full = {"event_id": f"{prefix}-{self.cfg.seed}-{self.seq}", "type": event.pop("type"), "schema_version": 1,
                "occurred_at": when.isoformat(), **event}
        self.events.append((when, self.seq, full))
        return full


def simulate(cfg: SimulationConfig = SimulationConfig()) -> list[dict[str, Any]]:
    """The event history in delivery order (deterministic for a seed)."""
    b = _Builder(cfg)
    rnd = b.rnd
    months = _months(cfg.start_month, cfg.months)
    sim_start = datetime(months[0].year, months[0].month, 1, tzinfo=b.zone)
    last = months[-1]
    sim_end = datetime(last.year + (last.month == 12), last.month % 12 + 1, 1, tzinfo=b.zone)
    span_days = (sim_end - sim_start).days

    teams = [f"t{i:02d}" for i in range(1, cfg.teams + 1)]
    new_market = {t: rnd.random() < 0.3 for t in teams}
    factor = {t: (Decimal(str(round(rnd.uniform(1.2, 1.6), 1))) if new_market[t] else Decimal("1.0")) for t in teams}
    quarterly_only = {t: rnd.random() < 0.2 for t in teams}
    reps = [f"r{i:03d}" for i in range(1, cfg.reps + 1)]
    team_of = {r: teams[i % len(teams)] for i, r in enumerate(reps)}
    customers = [f"c{i:05d}" for i in range(1, cfg.reps * 12 + 1)]
    tier = {c: rnd.choices("ABC", weights=(1, 3, 6))[0] for c in customers}
    survey_weights = {r: _GOOD_SERVICE if random.Random(f"{cfg.seed}:service:{r}").random() < 0.5 else _USUAL_SERVICE
                      for r in reps}
    book = {r: rnd.sample(customers, 25) for r in reps}

    # -- roster: most reps hired before the simulation, some mid-way; some leave --------
    hired: dict[str, datetime] = {}
    left: dict[str, datetime] = {}
    roster_first: list[dict[str, Any]] = []
    for r in reps:
        team = team_of[r]
        if rnd.random() < 0.08:
            when = b.ts(sim_start.date() + timedelta(days=rnd.randrange(5, max(6, span_days - 40))), hour=9)
        else:
            when = datetime(2025, rnd.randint(1, 12), 1, 9, tzinfo=b.zone)
        hired[r] = when
        event = {"type": "roster", "rep_id": r, "team_id": team, "manager_id": f"m{team[1:]}", "status": "active",
                 "effective_at": when.isoformat(), "hired_at": when.isoformat(), "name": f"Rep {r[1:]}",
                 "territory_factor": str(factor[team])}
        if when < sim_start:
            b.seq += 1
            roster_first.append({"event_id": f"roster-{cfg.seed}-{b.seq}", "type": "roster", "schema_version": 1,
                                 "occurred_at": when.isoformat(), **{k: v for k, v in event.items() if k != "type"}})
        else:
            b.emit(when, event, "roster")
        if rnd.random() < 0.05:
            gone = b.ts(sim_start.date() + timedelta(days=rnd.randrange(30, span_days)), hour=18)
            if gone > when:
                left[r] = gone
                b.emit(gone, {"type": "roster", "rep_id": r, "team_id": team, "manager_id": f"m{team[1:]}",
                              "status": "left", "effective_at": gone.isoformat(), "hired_at": when.isoformat(),
                              "name": f"Rep {r[1:]}", "territory_factor": str(factor[team])}, "roster")

    # -- targets: before the business starts ------------------------------------------
    targets: list[dict[str, Any]] = []
    plan_time = sim_start - timedelta(days=10)

    def target(scope: str, id: str, period: str, revenue: Decimal, **extra: Any) -> None:
        b.seq += 1
        targets.append({"event_id": f"target-{cfg.seed}-{b.seq}", "type": "target", "schema_version": 1,
                        "occurred_at": plan_time.isoformat(), "scope": scope, "id": id, "period": period,
                        "revenue": _money(revenue), **extra})

    base = {r: Decimal(rnd.randrange(80, 200)) * 1000 for r in reps}
    quarters = sorted({(m.year, (m.month - 1) // 3 + 1) for m in months})
    split_team = _split_team(cfg, teams, quarterly_only) if cfg.split_targets else None
    for r in reps:
        if quarterly_only[team_of[r]]:
            for y, q in quarters:
                target("rep", r, f"{y}-Q{q}", base[r] * 3)
        else:
            for m in months:
                extra = {"new_customers": rnd.randint(1, 3)} if rnd.random() < 0.3 else {}
                if team_of[r] == split_team:
                    b.seq += 1  # the same ids and draws as without the split
                else:
                    target("rep", r, f"{m.year}-{m.month:02d}", base[r], **extra)
    if split_team is not None:
        members = sorted(r for r in reps if team_of[r] == split_team)
        rules: tuple[Any, ...] = ("equal", {"weights": {r: str(1 + i % 3) for i, r in enumerate(members)}}, "history")
        for i, m in enumerate(months):  # ids of their own: every other event keeps its id
            targets.append({"event_id": f"target-{cfg.seed}-split-{i}", "type": "target", "schema_version": 1,
                            "occurred_at": plan_time.isoformat(), "scope": "team", "id": split_team,
                            "period": f"{m.year}-{m.month:02d}",
                            "revenue": _money(sum((base[r] for r in members), Decimal(0))),
                            "split": rules[i % len(rules)]})
    for t in teams:
        for y, q in quarters:
            size = Decimal(rnd.randrange(20, 60)) * 1_000_000
            target("team", t, f"{y}-Q{q}", sum((base[r] * 3 for r in reps if team_of[r] == t), Decimal(0)),
                   market_size=_money(size))
    target("company", "*", str(months[0].year), sum(base.values(), Decimal(0)) * 12,
           market_size=_money(Decimal(2_000_000_000)))

    def active(r: str, when: datetime) -> bool:
        return hired[r] <= when and (r not in left or when < left[r])

    # -- business ----------------------------------------------------------------------
    deal_no = complaint_no = 0
    for m in months:
        days = ((date(m.year + (m.month == 12), m.month % 12 + 1, 1)) - m).days
        quarter_end = m.month % 3 == 0
        for r in reps:
            def day(m: date = m, days: int = days) -> date:
                return m + timedelta(days=rnd.randrange(days))

            # Deals: created this month, closed 5–40 days later (still open past the end).
            for _ in range(rnd.randint(2, 6) + (2 if quarter_end else 0)):
                created = b.ts(day())
                if not active(r, created):
                    continue
                deal_no += 1
                deal_id = f"D{cfg.seed}-{deal_no:06d}"
                customer = rnd.choice(book[r]) if rnd.random() < 0.6 else rnd.choice(customers)
                amount = Decimal(rnd.randrange(5_000, 90_000)) * (Decimal("1.3") if quarter_end else 1)
                amount = amount.quantize(Decimal("0.01"))
                common = {"deal_id": deal_id, "customer_id": customer, "currency": cfg.currency,
                          "created_at": created.isoformat(), "customer_tier": tier[customer]}
                version = 1
                owner = r
                closed = created + timedelta(days=rnd.randint(5, 40), hours=rnd.randint(0, 8))
                stage = "open"
                if closed < sim_end:
                    stage = "won" if rnd.random() < (0.6 if not quarter_end else 0.68) else "lost"
                path = _pipeline_path(cfg.seed, deal_id, created, closed, None if stage == "open" else stage == "won")
                b.emit(created, {"type": "deal", **common, "rep_id": owner, "version": version, "stage": "open",
                                 "amount": _money(amount), "pipeline_stage": path.first_stage,
                                 "expected_close_at": path.first_expected.isoformat()}, "deal")
                if path.update is not None and path.update[0] < sim_end:
                    moved, moved_stage, moved_expected = path.update
                    version += 1
                    b.pipeline.append((moved, {
                        "event_id": f"pipeline-{cfg.seed}-{deal_no}", "type": "deal", "schema_version": 1,
                        "occurred_at": moved.isoformat(), **common, "rep_id": owner, "version": version,
                        "stage": "open", "amount": _money(amount), "pipeline_stage": moved_stage,
                        "expected_close_at": moved_expected.isoformat()}))
                if stage == "open":
                    continue
                version += 1
                b.emit(closed, {"type": "deal", **common, "rep_id": owner, "version": version, "stage": stage,
                                "amount": _money(amount), "closed_at": closed.isoformat()}, "deal")
                if stage != "won":
                    continue
                later = closed + timedelta(days=rnd.randint(1, 20))
                if later < sim_end and rnd.random() < 0.10:  # amendment of the amount
                    amount = (amount * Decimal(str(round(rnd.uniform(0.8, 1.2), 2)))).quantize(Decimal("0.01"))
                    version += 1
                    b.emit(later, {"type": "deal", **common, "rep_id": owner, "version": version, "stage": "won",
                                   "amount": _money(amount), "closed_at": closed.isoformat()}, "deal")
                    later += timedelta(days=rnd.randint(1, 10))
                if later < sim_end and rnd.random() < 0.05:  # reassignment to a teammate
                    mates = [x for x in reps if team_of[x] == team_of[r] and x != r]
                    if mates:
                        owner = rnd.choice(mates)
                        version += 1
                        b.emit(later, {"type": "deal", **common, "rep_id": owner, "version": version,
                                       "stage": "won", "amount": _money(amount), "closed_at": closed.isoformat()},
                               "deal")
                        later += timedelta(days=rnd.randint(1, 10))
                if later < sim_end and rnd.random() < 0.04:  # reversal (refund) of the win
                    version += 1
                    b.emit(later, {"type": "deal", **common, "rep_id": owner, "version": version,
                                   "stage": "reversed", "amount": _money(amount), "closed_at": closed.isoformat()},
                           "deal")

            # Complaints, most resolved within days.
            for _ in range(rnd.choices((0, 1, 2), weights=(6, 3, 1))[0]):
                opened = b.ts(day())
                if not active(r, opened):
                    continue
                complaint_no += 1
                cid = f"K{cfg.seed}-{complaint_no:05d}"
                common = {"complaint_id": cid, "rep_id": r, "customer_id": rnd.choice(book[r]),
                          "severity": rnd.choices(("low", "medium", "high", "critical"), weights=(5, 4, 2, 1))[0],
                          "opened_at": opened.isoformat()}
                b.emit(opened, {"type": "complaint", **common, "version": 1, "status": "open"}, "complaint")
                resolved = opened + timedelta(hours=rnd.randint(1, 120), minutes=rnd.randint(0, 59))
                if rnd.random() < 0.8 and resolved < sim_end:
                    b.emit(resolved, {"type": "complaint", **common, "version": 2, "status": "resolved",
                                      "resolved_at": resolved.isoformat()}, "complaint")

            # Activities.
            counts = {"call": 20, "email": 12, "visit": 4, "meeting": 3, "demo": 2, "survey": 2, "campaign": 1,
                      "training": 1}
            for kind, n in counts.items():
                for _ in range(max(0, round(rnd.gauss(n, n / 4) * cfg.activity_scale))):
                    when = b.ts(day())
                    if not active(r, when):
                        continue
                    ev: dict[str, Any] = {"type": "activity", "rep_id": r, "kind": kind}
                    if kind in ("call", "email", "visit", "meeting", "demo"):
                        ev["customer_id"] = rnd.choice(book[r])
                        ev["effective"] = rnd.random() < 0.8
                        ev["duration_minutes"] = rnd.randint(5, 90)
                    elif kind == "survey":
                        ev["customer_id"] = rnd.choice(book[r])
                        ev["score"] = rnd.choices((1, 2, 3, 4, 5), weights=survey_weights[r])[0]
                    elif kind == "campaign":
                        ev["campaign_id"] = f"camp-{m.year}{m.month:02d}-{rnd.randint(1, 3)}"
                    else:
                        ev["duration_minutes"] = rnd.choice((60, 90, 120, 240))
                    b.emit(when, ev, "activity")

    # -- delivery order: roster and targets first, then by time, with the feed's faults --
    b.events.sort(key=lambda e: (e[0], e[1]))
    stream = [e[2] for e in b.events]
    for i in range(len(stream) - 1):  # a deal version held back: it arrives after newer ones (stale)
        if stream[i]["type"] == "deal" and rnd.random() < cfg.out_of_order_rate:
            j = min(len(stream) - 1, i + rnd.randint(1, 50))
            stream.insert(j, stream.pop(i))
    dupes = [(rnd.randrange(len(stream)), ev) for ev in stream if rnd.random() < cfg.duplicate_rate]
    for position, ev in sorted(dupes, key=lambda d: -d[0]):
        stream.insert(min(len(stream), position + rnd.randint(1, 200)), dict(ev))
    b.pipeline.sort(key=lambda e: e[0])
    stream = merge_by_time(stream, [e for _, e in b.pipeline])
    if cfg.dispute_rate > 0:
        from sales_scorecard.cli.dispute_simulation import simulate_disputes

        appeals = simulate_disputes(roster_first + targets + stream, cfg.seed, cfg.dispute_rate, months, cfg.timezone)
        stream = merge_by_time(stream, appeals)
    if cfg.reviews:
        from sales_scorecard.cli.review_simulation import simulate_reviews

        reviews = simulate_reviews(roster_first + stream, cfg.seed, months, cfg.timezone)
        stream = merge_by_time(stream, reviews)
    return roster_first + targets + stream


def summary(events: list[dict[str, Any]]) -> dict[str, int]:
    """Counts per event type."""
    out: dict[str, int] = {}
    for ev in events:
        out[ev["type"]] = out.get(ev["type"], 0) + 1
    return out
