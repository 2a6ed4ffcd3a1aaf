"""The simulator: deterministic, valid, and it contains the faults and lifecycles it promises,
appeals included (contract §10)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from sales_scorecard.cli.dispute_simulation import PAYROLL_ID
from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.disputes import Applied, DisputeBook, Placement
from sales_scorecard.core.periods import business_deadline, parse_timestamp
from sales_scorecard.schemas.records import dispute_record_from_event
from sales_scorecard.schemas.validation import Accepted, DisputeValidator, EventValidator
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE

CFG = SimulationConfig(seed=3, reps=30, teams=4, months=3, start_month="2026-09")


def test_same_seed_same_history_other_seed_other_history() -> None:
    assert simulate(CFG) == simulate(CFG)
    assert simulate(CFG) != simulate(SimulationConfig(seed=4, reps=30, teams=4, months=3, start_month="2026-09"))


def test_every_event_is_valid() -> None:
    validator = EventValidator("CNY")
    for event in simulate(CFG):
        result = validator.validate(TOPIC_FOR_TYPE[event["type"]].name, orjson.dumps(event))
        assert isinstance(result, Accepted), (event, result)


def test_roster_and_targets_come_first_and_lifecycles_are_there() -> None:
    events = simulate(CFG)
    kinds = [e["type"] for e in events]
    first_fact = next(i for i, k in enumerate(kinds) if k not in ("roster", "target"))
    assert set(kinds[:first_fact]) == {"roster", "target"}
    counts = Counter(e["event_id"] for e in events)
    assert any(n > 1 for n in counts.values()), "no duplicate deliveries"
    versions: dict[str, list[int]] = {}
    for e in events:
        if e["type"] == "deal":
            versions.setdefault(e["deal_id"], []).append(e["version"])
    assert any(v != sorted(v) for v in versions.values()), "no out-of-order versions"
    stages = Counter(e["stage"] for e in events if e["type"] == "deal")
    assert stages["won"] and stages["lost"] and stages["reversed"] and stages["open"]
    reps_by_deal: dict[str, set[str]] = {}
    for e in events:
        if e["type"] == "deal":
            reps_by_deal.setdefault(e["deal_id"], set()).add(e["rep_id"])
    assert any(len(r) > 1 for r in reps_by_deal.values()), "no reassignments"
    assert {e["status"] for e in events if e["type"] == "roster"} == {"active", "left"}
    kinds_seen = {e["kind"] for e in events if e["type"] == "activity"}
    assert kinds_seen == {"call", "visit", "meeting", "email", "demo", "campaign", "training", "survey"}
    factors = {e["territory_factor"] for e in events if e["type"] == "roster"}
    assert "1.0" in factors and len(factors) > 1  # mature and new markets


# -- appeals (contract §10) -----------------------------------------------------------------
APPEALS = SimulationConfig(seed=3, reps=60, teams=6, months=4, start_month="2026-09", dispute_rate=0.3)
DISPUTE_TYPES = ("dispute_opened", "dispute_resolved", "dispute_withdrawn")


def is_appeal(event: dict) -> bool:
    """A dispute event, or a deal version re-credited by an upheld dispute."""
    return event["type"] in DISPUTE_TYPES or (event["type"] == "deal" and "dispute_id" in event)


@pytest.fixture(scope="module")
def appeals() -> list[dict]:
    return simulate(APPEALS)


def test_appeals_are_deterministic_and_leave_the_rest_of_the_history_as_it_was(appeals: list[dict]) -> None:
    assert simulate(APPEALS) == appeals
    assert simulate(replace(APPEALS, seed=4)) != appeals
    assert [e for e in appeals if not is_appeal(e)] == simulate(replace(APPEALS, dispute_rate=0.0))
    assert not any(is_appeal(e) for e in simulate(CFG))  # off unless asked for (tests, benchmarks)


def test_every_appeal_event_is_valid(appeals: list[dict]) -> None:
    disputes, facts = DisputeValidator(), EventValidator("CNY")
    for event in appeals:
        if event["type"] in DISPUTE_TYPES:
            result = disputes.validate("sales.disputes", orjson.dumps(event))
        else:
            result = facts.validate(TOPIC_FOR_TYPE[event["type"]].name, orjson.dumps(event))
        assert isinstance(result, Accepted), (event, result)


def test_disputes_apply_in_delivery_order_without_a_single_rejection(appeals: list[dict]) -> None:
    places = {e["rep_id"]: Placement(e["team_id"], e["manager_id"]) for e in appeals if e["type"] == "roster"}
    book = DisputeBook(lambda rep, at: places.get(rep), APPEALS.timezone)
    validator = DisputeValidator()
    for event in appeals:
        if event["type"] in DISPUTE_TYPES:
            accepted = validator.validate("sales.disputes", orjson.dumps(event))
            assert isinstance(accepted, Accepted)
            outcome = book.apply(dispute_record_from_event(accepted.event))
            assert isinstance(outcome, Applied), (event, outcome)  # no invalid transition, no duplicate
    assert len(book.disputes) == sum(1 for e in appeals if e["type"] == "dispute_opened")


def outcomes(appeals: list[dict]) -> dict[str, Counter]:
    """How each dispute ended, for deal disputes and for figure (KPI, target, commission) ones."""
    zone = ZoneInfo(APPEALS.timezone)
    recredited = {e["dispute_id"] for e in appeals if e["type"] == "deal" and "dispute_id" in e}
    steps: dict[str, list[dict]] = {}
    for e in appeals:
        if e["type"] in DISPUTE_TYPES:
            steps.setdefault(e["dispute_id"], []).append(e)
    found: dict[str, Counter] = {"deal": Counter(), "figure": Counter()}
    for dispute_id, (opened, *rest) in steps.items():
        deadline = business_deadline(parse_timestamp(opened["occurred_at"]), 5, zone)
        end = rest[-1] if rest else None
        if end is None:
            how = "open"
        elif end["type"] == "dispute_withdrawn":
            how = "withdrawn"
        elif parse_timestamp(end["occurred_at"]) > deadline:
            how = "late"
        elif dispute_id in recredited:
            how = "recredited"
        else:
            how = "paid" if end.get("adjustment_amount") else end["decision"]
        found["deal" if opened["subject_kind"] == "deal" else "figure"][how] += 1
    return found


def test_appeals_end_in_every_way_in_realistic_shares(appeals: list[dict]) -> None:
    found = outcomes(appeals)
    deal, figure = found["deal"], found["figure"]
    assert set(deal) == {"recredited", "rejected", "withdrawn"}
    assert deal["recredited"] > deal.total() / 2  # a deal moved away from its closer is mostly given back
    assert set(figure) == {"paid", "rejected", "withdrawn", "late", "open"}
    shares = {how: n / figure.total() for how, n in figure.items()}
    assert shares["paid"] + shares["rejected"] > 0.5  # most are decided in time
    assert all(0.03 < shares[how] < 0.25 for how in ("withdrawn", "late", "open")), shares
    # About dispute_rate of the active rep-months are disputed; the last month's disputes would
    # be opened after the history ends (60 reps x 3 months x 0.3 = 54 expected).
    assert 40 <= figure.total() <= 70


def test_open_disputes_are_overdue_when_the_history_ends(appeals: list[dict]) -> None:
    zone = ZoneInfo(APPEALS.timezone)
    end = datetime(2027, 1, 1, tzinfo=zone)  # September to December 2026
    assert max(parse_timestamp(e["occurred_at"]) for e in appeals if is_appeal(e)) < end
    closed = {e["dispute_id"] for e in appeals if e["type"] in ("dispute_resolved", "dispute_withdrawn")}
    still_open = [e for e in appeals if e["type"] == "dispute_opened" and e["dispute_id"] not in closed]
    assert still_open
    for opened in still_open:
        assert business_deadline(parse_timestamp(opened["occurred_at"]), 5, zone) < end


def test_an_upheld_deal_dispute_gives_the_deal_back_with_a_newer_version(appeals: list[dict]) -> None:
    versions: dict[str, list[dict]] = {}
    for e in appeals:
        if e["type"] == "deal":
            versions.setdefault(e["deal_id"], []).append(e)
    disputes = {e["dispute_id"]: e for e in appeals if e["type"] == "dispute_opened"}
    decisions = {e["dispute_id"]: e for e in appeals if e["type"] == "dispute_resolved"}
    recredits = [e for e in appeals if e["type"] == "deal" and "dispute_id" in e]
    assert recredits
    for deal in recredits:
        dispute, decision = disputes[deal["dispute_id"]], decisions[deal["dispute_id"]]
        assert (dispute["subject_kind"], dispute["subject_ref"]) == ("deal", deal["deal_id"])
        assert deal["rep_id"] == dispute["rep_id"] and decision["decision"] == "upheld"
        assert "adjustment_amount" not in decision  # the deal itself corrects the figures
        assert deal["version"] > max(v["version"] for v in versions[deal["deal_id"]] if v is not deal)
        assert parse_timestamp(deal["occurred_at"]) > parse_timestamp(decision["occurred_at"])
        closed = parse_timestamp(deal["closed_at"]).astimezone(ZoneInfo(APPEALS.timezone))
        assert dispute["period"] == f"{closed.year}-{closed.month:02d}"


def test_who_opens_and_who_decides(appeals: list[dict]) -> None:
    managers = {e["rep_id"]: e["manager_id"] for e in appeals if e["type"] == "roster"}
    opened = {e["dispute_id"]: e for e in appeals if e["type"] == "dispute_opened"}
    openers = Counter("rep" if e["opened_by"] == e["rep_id"] else "manager" for e in opened.values())
    assert set(openers) == {"rep", "manager"} and openers["rep"] > openers["manager"]
    assert all(e["opened_by"] in (e["rep_id"], managers[e["rep_id"]]) for e in opened.values())
    for e in appeals:
        if e["type"] == "dispute_resolved":
            dispute = opened[e["dispute_id"]]
            assert e["resolved_by"] in (managers[dispute["rep_id"]], PAYROLL_ID)
            if dispute["subject_kind"] == "commission":
                assert e["resolved_by"] == PAYROLL_ID
        elif e["type"] == "dispute_withdrawn":
            assert e["withdrawn_by"] in (opened[e["dispute_id"]]["rep_id"], opened[e["dispute_id"]]["opened_by"])


def test_scorecard_simulate_writes_appeals_unless_told_not_to() -> None:
    from click.testing import CliRunner

    from sales_scorecard.cli.simulate import command

    runner = CliRunner()
    args = ["--seed", "3", "--reps", "20", "--teams", "2", "--months", "3", "--quiet"]
    with_appeals = runner.invoke(command, [*args, "--dispute-rate", "0.3"])
    assert with_appeals.exit_code == 0, with_appeals.output
    kinds = Counter(orjson.loads(line)["type"] for line in with_appeals.stdout.splitlines())
    assert kinds["dispute_opened"] and kinds["dispute_resolved"]
    without = runner.invoke(command, [*args, "--dispute-rate", "0"])
    assert not any(orjson.loads(line)["type"] in DISPUTE_TYPES for line in without.stdout.splitlines())
    bad = runner.invoke(command, [*args, "--dispute-rate", "1.5"])
    assert bad.exit_code == 2
    assert bad.output.strip() == "scorecard: error: --dispute-rate must be between 0 and 1 (a share of rep-months), " \
                                 "got 1.5"


def test_some_reps_above_target_miss_the_good_service_gate_and_some_earn_it() -> None:
    """Contract §11: the demo shows both outcomes of the 8 % band's csat gate."""
    from sales_scorecard.core.engine import ScorecardEngine
    from sales_scorecard.schemas.records import record_from_event
    engine = ScorecardEngine(CFG.timezone)
    events = simulate(CFG)
    for event in events:
        engine.apply(record_from_event(event))
    outcomes = Counter()
    for rep in sorted({e["rep_id"] for e in events if e["type"] == "roster"}):
        for month in ("2026-09", "2026-10", "2026-11"):
            bands = engine.commission_of(rep, month)[4].bands
            gated = [b for b in bands if b.gate]
            if gated:
                (band,) = gated
                surveyed = band.gate[0].actual is not None
                outcomes[(band.gate_passed, surveyed)] += 1
                # a failed gate pays the slice above target at 5 %, a held one at 8 %
                assert band.paid_rate == (band.rate if band.gate_passed else bands[0].rate)
    assert outcomes[(False, True)] >= 2, outcomes  # above target, csat below 4.5: 5 % on everything
    assert outcomes[(True, True)] >= 2, outcomes   # above target with csat >= 4.5: 8 % above target


def test_reviews_and_surveys_are_realistic() -> None:
    # contract §12: every role, self-ratings, revised reviews, reps with fewer than 3 distinct
    # peers (who do not count) and with 3 or more, teams below 3 respondents and above.
    events = simulate(CFG)
    reviews = [e for e in events if e["type"] == "review"]
    assert {r["reviewer_role"] for r in reviews} == {"manager", "peer", "customer", "self"}
    assert all(r["reviewer_id"] == r["subject_id"] for r in reviews if r["reviewer_role"] == "self")
    assert any(n > 1 for n in Counter(r["review_id"] for r in reviews).values())  # a revised review
    peers: dict[tuple[str, str], set[str]] = {}
    for r in reviews:
        if r["reviewer_role"] == "peer":
            peers.setdefault((r["subject_id"], r["period"]), set()).add(r["reviewer_id"])
    assert any(len(p) >= 3 for p in peers.values()) and any(0 < len(p) < 3 for p in peers.values())
    respondents: dict[tuple[str, str], set[str]] = {}
    for e in events:
        if e["type"] == "engagement":
            respondents.setdefault((e["team_id"], e["period"]), set()).add(e["respondent_id"])
    assert any(len(r) >= 3 for r in respondents.values()) and any(len(r) < 3 for r in respondents.values())
