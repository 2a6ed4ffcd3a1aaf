"""Property: the figures kept between renders (core/derived_figures.py, the target book's
memo, the calendar's periods) are never stale. An engine that renders every key, pays
and reads every target after each fact equals one built from the same facts without a
render in between: scorecards, payroll, revenue targets and commissions (contract §3,
§7, §11, §12), under its own plans and a what-if view's (§13), and for the partitioned
roles (the org engine and a rep partition fed the split shares it computes)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_scorecard.core import labels as L
from sales_scorecard.core.commission import CommissionPlan, PlanSet, Tier, load_plans
from sales_scorecard.core.engine import COMPANY, ORG, WHOLE, EngineRole, ScorecardEngine, rep_partition
from sales_scorecard.core.payroll import PayrollLedger
from sales_scorecard.core.scoreplan import load_scorecard_plan
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, close_period, review, roster, target
from tests.unit.test_engine_properties import CUSTOMERS, FIXED_CLOCK, INSTANTS, REPS, TEAMS, histories

#: Every calendar label the histories touch, and their neighbours (a target derives across them).
MONTHS = ("2025-10", "2025-11", "2025-12", "2026-01", "2026-03", "2026-04", "2026-09", "2026-10", "2026-11",
          "2026-12", "2027-01")
LABELS = MONTHS + ("2025-Q4", "2026-Q1", "2026-Q3", "2026-Q4", "2027-Q1", "2025", "2026", "2027")
TARGET_PERIODS = ("2025-11", "2025-Q4", "2025", "2026-10", "2026-11", "2026-12", "2026-Q3", "2026-Q4", "2026")
#: The instants of the histories in a month a close may end, and that month.
CLOSABLE = {"2025-11-15T10:00:00+08:00": "2025-11", "2026-09-30T16:00:00Z": "2026-10",
            "2026-10-15T12:00:00+08:00": "2026-10", "2026-11-01T00:00:00+08:00": "2026-11",
            "2026-11-20T09:30:00+08:00": "2026-11"}
#: Hire dates that make some month a new hire's third (the ramp, contract §5).
HIRED = ["2025-06-01T00:00:00+08:00", "2026-09-01T00:00:00+08:00", "2025-09-15T10:00:00+08:00"]
#: Clocks the first engine runs on between facts (None: the event clock).
CLOCKS = [None, datetime(2025, 12, 20, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC),
          datetime(2026, 11, 30, 15, 59, tzinfo=UTC), FIXED_CLOCK, datetime(2027, 1, 2, tzinfo=UTC)]
POSTED = "2026-12-01T00:00:00Z"
EVERY, REP = WHOLE.scopes, frozenset({"rep"})
#: What-if plans (contract §13): a team and a rep override, gates on KPIs of the month.
WHATIF_PLANS = """
default:
  plan_id: whatif-default
  mode: retroactive
  tiers:
    - {from: "0", to: "0.5", rate: "0.02"}
    - from: "0.5"
      to: null
      rate: "0.1"
      requires:
        - {kpi: csat, op: ">=", value: "3", when_missing: fail}
teams:
  t2:
    plan_id: whatif-t2
    mode: marginal
    threshold: "0.2"
    tiers:
      - {from: "0", to: "1.0", rate: "0.04"}
      - from: "1.0"
        to: null
        rate: "0.2"
        requires:
          - {kpi: complaints, op: "<=", value: "0", when_missing: pass}
reps:
  r3:
    plan_id: whatif-r3
    mode: marginal
    cap: "150.00"
    tiers:
      - {from: "0", to: null, rate: "0.07"}
"""

#: The engines' own plans: the packaged default, and team t1's own flat 10 % (contract §7),
#: so a roster entry that moves a rep in or out of t1 at a closed month's end moves its pay.
OWN_PLANS = dataclasses.replace(load_plans(None), by_team={
    "t1": CommissionPlan("own-t1", (Tier(Decimal(0), None, Decimal("0.10")),))})

money = st.integers(min_value=0, max_value=500_000).map(lambda c: f"{c // 100}.{c % 100:02d}")


@st.composite
def extra_facts(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Facts ``histories`` lacks: targets of every scope and period kind, surveys (the
    default plan's csat gate), roster moves with other hire dates, reviews, closes."""
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 4))):
        scope = draw(st.sampled_from(["rep", "rep", "team", "company"]))
        id = {"rep": draw(st.sampled_from(REPS)), "team": draw(st.sampled_from(TEAMS)), "company": COMPANY}[scope]
        out.append(target(scope, id, draw(st.sampled_from(TARGET_PERIODS)), draw(money),
                          new_customers=draw(st.sampled_from([None, 2])),
                          market_size=draw(st.sampled_from([None, "90000.00"])) if scope != "rep" else None,
                          occurred_at=draw(st.sampled_from(INSTANTS))))
    for _ in range(draw(st.integers(0, 3))):
        out.append(activity(draw(st.sampled_from(REPS)), "survey", occurred_at=draw(st.sampled_from(INSTANTS)),
                            score=draw(st.integers(1, 5))))
    for rep in draw(st.lists(st.sampled_from(REPS), max_size=2, unique=True)):
        out.append(roster(rep, draw(st.sampled_from(TEAMS)), effective_at=draw(st.sampled_from(INSTANTS)),
                          hired_at=draw(st.sampled_from(HIRED))))
    for i in range(draw(st.integers(0, 2))):
        rep = draw(st.sampled_from(REPS))
        role = draw(st.sampled_from(["manager", "self", "peer"]))
        out.append(review(f"v{i}", rep, rep if role == "self" else "m-1", role, draw(st.integers(1, 5)),
                          period=draw(st.sampled_from(["2026-10", "2026-11"]))))
    for month in draw(st.lists(st.sampled_from(sorted(set(CLOSABLE.values()))), max_size=2, unique=True)):
        out.append(close_period(month))
    return out


@st.composite
def runs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Facts in delivery order (every version, duplicates), with clock moves among them
    (``{"type": "clock", "at": ...}``, the first engine's wall clock); each says whether
    the figures read after it are read under the what-if plans first (``whatif_first``)."""
    _, delivered = draw(histories())
    events = draw(st.permutations(delivered + draw(extra_facts())))
    # Late roster entries after closes, last of all: a rep who won a deal moves at a closed
    # month's end and nothing after it restates the month (contract §8 pays the plan of the
    # team the rep is in now: t1's or another's, OWN_PLANS).
    wins = sorted({(ev["rep_id"], CLOSABLE[ev["closed_at"]]) for ev in events
                   if ev["type"] == "deal" and ev["stage"] == "won" and ev["closed_at"] in CLOSABLE})
    if wins:
        for rep, month in draw(st.lists(st.sampled_from(wins), min_size=1, max_size=2, unique=True)):
            moved_at = draw(st.sampled_from([at for at, closed in CLOSABLE.items() if closed == month]))
            events += [close_period(month), roster(rep, draw(st.sampled_from(TEAMS)), effective_at=moved_at,
                                                   hired_at=draw(st.sampled_from(HIRED)))]
    for _ in range(draw(st.integers(0, 3))):
        events.insert(draw(st.integers(0, len(events))), {"type": "clock", "at": draw(st.sampled_from(CLOCKS))})
    return [{**ev, "whatif_first": draw(st.booleans())} for ev in events]


@pytest.fixture(scope="module")
def whatif_plans(tmp_path_factory: pytest.TempPathFactory) -> PlanSet:
    path = tmp_path_factory.mktemp("plans") / "commission.yaml"
    path.write_text(WHATIF_PLANS)
    return load_plans(str(path))


def _record(ev: dict[str, Any]) -> Any:
    return record_from_event({k: v for k, v in ev.items() if k != "whatif_first"})


def _facts(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (ev for ev in events if ev["type"] != "clock")


def _built(role: EngineRole, events: list[dict[str, Any]]) -> ScorecardEngine:
    """An engine of ``role`` given the facts with no render in between, on the fixed clock."""
    engine = ScorecardEngine("Asia/Shanghai", commission_plans=OWN_PLANS, role=role)
    engine.wall_clock = FIXED_CLOCK
    for ev in _facts(events):
        engine.apply(_record(ev))
    return engine


def _figures(engine: ScorecardEngine, scopes: frozenset[str], whatif: PlanSet | None = None,
             reps: tuple[str, ...] = tuple(REPS), whatif_first: bool = False) -> dict[str, Any]:
    """Every scorecard of ``scopes``, every revenue target and every rep month's commission
    (reps of ``reps`` only) of ``engine``, also under the ``whatif`` plans (a view made
    now: a shallow copy reads the clock it is made with): what a render reads from its
    caches. A rep month's commission is kept under one plan set at a time (the last read),
    so ``whatif_first`` reads under the view's plans first (what the engine kept last)."""
    readers = [engine] if whatif is None else [engine, engine.with_plans(load_scorecard_plan(None), whatif)]
    if whatif_first:
        readers.reverse()
    out: dict[str, Any] = {}
    for reader in readers:
        name = "view" if reader is not engine else "own"
        for key in engine.all_keys():
            if key[0] in scopes and (key[0] != "rep" or key[1] in reps):
                out[f"{name} render {key}"] = reader.render(*key)
        if "rep" in scopes:
            for rep in reps:
                for month in MONTHS:
                    team, plan, revenue, target_, result = reader.commission_of(rep, month)
                    out[f"{name} pay {rep} {month}"] = (team, plan.plan_id, str(revenue), target_, result)
    ids = {"rep": reps, "team": TEAMS, "company": [COMPANY]}
    for scope in sorted(scopes):
        for id in ids[scope]:
            for label in LABELS:
                out[f"target {scope} {id} {label}"] = engine.revenue_target(scope, id, label)
    return out


def _paid(ledger: PayrollLedger) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    return {key: (state.paid_revenue, state.paid_commission) for key, state in ledger.paid.items()}


def _pay(ledger: PayrollLedger, engine: ScorecardEngine) -> None:
    """Adjust what was paid for the changes since the last call, then post what is due."""
    ledger.adjust(engine, engine.take_payroll_changes(), POSTED)
    ledger.post_statements(engine, POSTED)


def _kept_whatif(events: list[dict[str, Any]]) -> bool:
    """Whether the last reads after ``events`` left commissions kept under the what-if
    plans (read last): then the final reads start with them, which finds any stale one."""
    return bool(events) and not events[-1]["whatif_first"]


def _by_value(figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` with each commission's revenue as a number, not as written: a rep
    partition restates a fact only when the rep's own contribution moves, the whole engine
    also when its team does, so a bucket left with no revenue may hold 0.00 in one and 0 in
    the other (every output writes 0.00)."""
    return {name: (value[0], value[1], Decimal(value[2]), *value[3:]) if " pay " in name else value
            for name, value in figures.items()}


def _take(engine: ScorecardEngine, ev: dict[str, Any]) -> None:
    """Apply a fact, or move the engine's wall clock (a ``clock`` event of ``runs``)."""
    if ev["type"] == "clock":
        engine.wall_clock = ev["at"]
        engine.touch_clock()
    else:
        engine.apply(_record(ev))


def _compare(warm: dict[str, Any], cold: dict[str, Any]) -> None:
    assert warm.keys() == cold.keys()
    for name in warm:
        assert warm[name] == cold[name], name


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(runs())
def test_an_engine_rendering_after_every_fact_equals_one_built_without_renders(
        whatif_plans: PlanSet, events: list[dict[str, Any]]) -> None:
    warm = ScorecardEngine("Asia/Shanghai", commission_plans=OWN_PLANS)
    ledger = PayrollLedger()
    for ev in events:
        _take(warm, ev)
        _pay(ledger, warm)
        _figures(warm, EVERY, whatif_plans, whatif_first=ev["whatif_first"])
        warm.take_dirty()
    warm.wall_clock = FIXED_CLOCK
    cold = _built(WHOLE, events)
    _compare(_figures(warm, EVERY, whatif_plans, whatif_first=_kept_whatif(events)),
             _figures(cold, EVERY, whatif_plans))
    _pay(ledger, warm)
    cold_ledger = PayrollLedger()
    cold_ledger.post_statements(cold, POSTED)
    # What was paid, adjustments included, is what the formula pays on the final facts: the
    # same (revenue, commission) for every rep month that has a statement on either side
    # (a rep month that lost its last fact after its statement was adjusted down to 0).
    paid, due = _paid(ledger), _paid(cold_ledger)
    zero = (Decimal(0), Decimal(0))
    for key in paid.keys() | due.keys():
        assert paid.get(key, zero) == due.get(key, zero), key


@st.composite
def contact_runs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """``runs`` with more calls on the customers the deals win (effective contacts), at
    random places: customers cross the two contacts of contact_coverage in either
    direction before and after their wins (duplicates retract nothing, later calls add)."""
    events = draw(runs())
    for _ in range(draw(st.integers(2, 10))):
        call = activity(draw(st.sampled_from(REPS)), "call", occurred_at=draw(st.sampled_from(INSTANTS)),
                        customer_id=draw(st.sampled_from(CUSTOMERS)))
        events.insert(draw(st.integers(0, len(events))), {**call, "whatif_first": False})
    return events


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contact_runs())
def test_covered_customers_kept_for_every_team_and_company_month_equal_a_count(events: list[dict[str, Any]]) -> None:
    """The covered customers of contact_coverage kept per team and company month
    (core/book_counts.py ``CoveredCounts``, kept here from the first render of any month)
    equal those counted at each render, after every fact: through contacts, wins,
    reassignments, roster moves and duplicates; and at the end those of an engine built
    without renders."""
    teams_and_company = frozenset({"team", "company"})
    kept, counted = (ScorecardEngine("Asia/Shanghai", commission_plans=OWN_PLANS) for _ in range(2))
    for ev in events:
        for engine, keep_from in ((kept, 0), (counted, 10**9)):
            _take(engine, ev)
            with patch("sales_scorecard.core.engine.KEEP_COVERED_FROM", keep_from):
                rendered = {key: engine.render(*key) for key in engine.all_keys() if key[0] in teams_and_company}
            if engine is kept:
                kept_renders = rendered
                # every month rendered is kept here: otherwise the comparison tests nothing
                assert all(kept._covered.get((scope, id), label) is not None
                           for scope, id, label in rendered if L.is_month(label))
        assert kept_renders == rendered, ev
    kept.wall_clock = FIXED_CLOCK
    _compare(_figures(kept, teams_and_company), _figures(_built(WHOLE, events), teams_and_company))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_the_org_engine_and_a_rep_partition_fed_split_shares_keep_no_stale_figure(
        events: list[dict[str, Any]]) -> None:
    # The org engine computes the split shares (contract §12) and hands them to the rep
    # partition (``apply_split_shares``) right after the fact that moved them, as the org
    # stage does; both render what they own after every fact.
    owned = ("r1", "r2")
    org = ScorecardEngine("Asia/Shanghai", commission_plans=OWN_PLANS, role=ORG)
    part = ScorecardEngine("Asia/Shanghai", commission_plans=OWN_PLANS, role=rep_partition(lambda rep: rep in owned))
    for ev in events:
        for engine in (org, part):
            if ev["type"] == "clock":
                engine.wall_clock = ev["at"]
                engine.touch_clock()
            else:
                engine.apply(_record(ev))
        for rep in sorted(org.take_split_reps()):
            part.apply_split_shares(rep, org.splits.of_rep(rep))
        _figures(org, ORG.scopes)
        _figures(part, REP, reps=owned)
    org.wall_clock = part.wall_clock = FIXED_CLOCK
    whole = _built(WHOLE, events)
    _compare(_figures(org, ORG.scopes), _figures(_built(ORG, events), ORG.scopes))
    _compare(_figures(org, ORG.scopes), _figures(whole, ORG.scopes))
    _compare(_by_value(_figures(part, REP, reps=owned)), _by_value(_figures(whole, REP, reps=owned)))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(runs(), st.integers(0, 10_000))
def test_figures_read_before_and_during_a_rebuild_are_not_kept_past_it(
        whatif_plans: PlanSet, events: list[dict[str, Any]], cut: int) -> None:
    # A rebuild (``begin_rebuild``) works each customer's acquisition out at its end: a
    # figure read meanwhile, acquisitions missing, is dropped when they are credited. The
    # same facts the same way without a render are the reference (a rebuild may leave a
    # sum's exponent unlike applying one by one, e.g. 0 for 0.00, which no figure shows).
    cut = cut % (len(events) + 1)

    def rebuilt(render: bool) -> ScorecardEngine:
        engine = ScorecardEngine("Asia/Shanghai", commission_plans=OWN_PLANS)
        role: EngineRole | None = None
        for i, ev in enumerate(events):
            if i == cut:
                role = engine.begin_rebuild()
            if ev["type"] == "clock":
                engine.wall_clock = ev["at"]
            else:
                engine.apply(_record(ev))
            if render:
                _figures(engine, EVERY, whatif_plans, whatif_first=ev["whatif_first"])
        engine.end_rebuild(role if role is not None else engine.begin_rebuild())
        engine.wall_clock = FIXED_CLOCK
        return engine

    _compare(_figures(rebuilt(True), EVERY, whatif_plans, whatif_first=_kept_whatif(events)),
             _figures(rebuilt(False), EVERY, whatif_plans))
