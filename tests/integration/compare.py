"""Comparing a scorecard snapshot with the reference model."""

from __future__ import annotations

from sales_scorecard.core.kpis import CLOCK_KPIS, MONEY_KPIS
from tests.reference.model import ReferenceModel, percentile

RATIO_TOLERANCE = 1e-4 + 1e-9  # one unit in the 4th decimal: both sides round half-way cases independently


def assert_kpis_equal(key: tuple[str, str, str], got: dict, want: dict) -> None:
    """Money and counts exactly, ratios within 1e-4; clock-dependent KPIs are skipped."""
    for name, expected in want.items():
        if name in CLOCK_KPIS or name == "score":
            continue
        actual = got[name]
        counts = isinstance(expected, int) and not isinstance(expected, bool) and isinstance(actual, int)
        if expected is None or actual is None or isinstance(expected, (dict, str)) or name in MONEY_KPIS or counts:
            assert actual == expected, (key, name, actual, expected)
        else:
            assert abs(float(actual) - float(expected)) <= RATIO_TOLERANCE, (key, name, actual, expected)


def assert_score_equal(key: tuple[str, str, str], got: float | None, want: float | None) -> None:
    """The balanced score (contract §6, the scope's plan of §12) within 1e-4, or both null."""
    if got is None or want is None:
        assert got == want, (key, "score", got, want)
    else:
        assert abs(float(got) - float(want)) <= RATIO_TOLERANCE, (key, "score", got, want)


def assert_snapshot_matches(rows: list[dict], model: ReferenceModel, exact_keys: bool = False) -> int:
    """Every reference key is in the snapshot and every calendar key's KPIs and score match
    (a team's and the company's under the managers' plan); returns the count.
    ``exact_keys``: no other calendar key is published either (one whose facts moved away,
    e.g. a team's month after its only rep transferred, must have been withdrawn)."""
    snapshot = {(r["scope"], r["id"], r["period"]): r for r in rows}
    want_keys = model.keys()
    assert want_keys, "the reference model found no scorecards"
    missing = want_keys - set(snapshot)
    assert not missing, sorted(missing)[:20]
    if exact_keys:
        extra = {k for k in snapshot if k[2] not in ("R30D", "R90D")} - want_keys
        assert not extra, sorted(extra)[:20]
    compared = 0
    for key, row in sorted(snapshot.items()):
        if key[2] in ("R30D", "R90D"):
            continue
        want = model.kpis(*key)
        assert_kpis_equal(key, row["kpis"], want)
        assert_score_equal(key, row["score"], want["score"])
        compared += 1
    return compared


def assert_rep_teams_match(rows: list[dict], model: ReferenceModel) -> int:
    """Every calendar rep scorecard names the team and manager of the rep's roster entry at
    the period's end; returns the count."""
    checked = 0
    for r in rows:
        if r["scope"] == "rep" and r["period"] not in ("R30D", "R90D"):
            want = model.team_and_manager(r["id"], r["period"])
            assert (r["team_id"], r["manager_id"]) == want, (r["id"], r["period"], r["team_id"], r["manager_id"], want)
            checked += 1
    return checked


def latest_boards(values: list[dict]) -> dict[str, dict]:
    """The highest revision of every ``{board}:{period}:{metric}`` among decoded
    ``sales.leaderboards`` values (a re-sent revision repeats the same content)."""
    latest: dict[str, dict] = {}
    for v in values:
        key = f"{v['board']}:{v['period']}:{v['metric']}"
        if key not in latest or v["revision"] >= latest[key]["revision"]:
            latest[key] = v
    return latest


def boards_mismatch(boards: dict[str, dict], model: ReferenceModel, metric: str = "revenue") -> list[str]:
    """Differences between the published calendar leaderboards of ``metric`` and the reference
    rankings as (rank, rep_id, value, top_percent, top_decile) rows: every published board (an emptied one included)
    and every board the reference ranks someone on (company, and each team with a scorecard)."""
    wanted: set[tuple[str, str]] = set()
    keys = model.keys()  # the model's scorecard keys (a method of its own, not a dict's)
    for scope, id, period in keys:
        if scope in ("team", "company"):
            wanted.add(("company" if scope == "company" else f"team:{id}", period))
    published = {(b["board"], b["period"]) for b in boards.values()
                 if b["metric"] == metric and b["period"] not in ("R30D", "R90D")}
    problems = []
    for board, period in sorted(wanted | published):
        ranking = model.board(board, period, metric)
        want = [(rank, rep, value, *percentile(rank, len(ranking))) for rank, rep, value in ranking]
        got = boards.get(f"{board}:{period}:{metric}")
        rows = None if got is None else [(r["rank"], r["rep_id"], r["value"], r["top_percent"], r["top_decile"])
                                         for r in got["rows"]]
        if rows is None and not want:
            continue  # nothing to rank, nothing published
        if rows != want:
            problems.append(f"{board} {period} {metric}: published {rows}, reference {want}")
    return problems


def applied_total(exposition: str) -> float:
    """Facts applied, stale or duplicate in the aggregation stage (all outcomes)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines()
               if line.startswith("scorecard_facts_total{"))


#: Fields of a published scorecard that the offline render does not produce or that
#: depend on when the key was last rendered rather than on the facts.
UNRENDERED_FIELDS = {"revision", "event_id", "emitted_at", "as_of"}


def offline_scorecards(events: list[dict], timezone: str) -> dict[tuple[str, str, str], dict]:
    """Every scorecard a from-scratch engine renders over ``events`` (duplicates allowed)."""
    from sales_scorecard.core.engine import ScorecardEngine
    from sales_scorecard.schemas.records import record_from_event

    engine = ScorecardEngine(timezone=timezone)
    for event in events:
        engine.apply(record_from_event(event))
    engine.touch_clock()
    rendered = {}
    for key in engine.all_keys():
        content = engine.render(*key)
        if content is not None:
            rendered[tuple(key)] = content
    return rendered


def assert_snapshot_equals_offline(rows: list[dict], events: list[dict], timezone: str) -> int:
    """The published snapshot equals the offline recomputation exactly, key for key
    (all KPIs, score, components, team, finality); returns the number of keys."""
    want = offline_scorecards(events, timezone)
    got = {(r["scope"], r["id"], r["period"]): r for r in rows}
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, (f"{len(missing)} missing, e.g. {missing[:5]}; "
                                       f"{len(extra)} unexpected, e.g. {extra[:5]}")
    wrong = []
    for key, content in want.items():
        published = {k: v for k, v in got[key].items() if k not in UNRENDERED_FIELDS}
        expected = {k: v for k, v in content.items() if k not in UNRENDERED_FIELDS}
        if published != expected:
            diff = {k: (published.get(k), expected.get(k)) for k in set(published) | set(expected)
                    if published.get(k) != expected.get(k)}
            wrong.append(f"{key} (revision {got[key].get('revision')}): published != offline: {diff}")
    # Every differing key, not only the first: which periods and scopes differ tells a
    # fact lost (its month too) from a key not rendered again (only longer periods).
    assert not wrong, f"{len(wrong)} of {len(want)} keys differ:\n" + "\n".join(wrong[:12])
    return len(want)
