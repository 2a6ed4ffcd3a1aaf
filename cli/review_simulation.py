"""Simulated reviews and engagement surveys (contract §12) for a simulated history.

Every month each active rep gets a review from the team's manager (now and then a
revised one later in the month: the latest counts), usually a self-rating, a customer
review or two, and peer reviews from teammates: three or more for some reps, fewer (so
they do not count) for others. Each team runs an engagement survey in the month's last
week; some teams get fewer than 3 respondents (their ``team_engagement`` is null).

The events come from a random stream of their own and are slotted into the history by
time, so every other simulated event is the same as without them.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Event = dict[str, Any]


def _rating(rnd: random.Random, centre: float) -> str:
    """A rating 1.0–5.0 with one decimal, around ``centre``, as a decimal string."""
    value = min(5.0, max(1.0, rnd.gauss(centre, 0.6)))
    return f"{value:.1f}"


def simulate_reviews(history: list[Event], seed: int, months: list[date], timezone: str) -> list[Event]:
    """The reviews and engagement answers of ``history``'s reps and teams, by time."""
    rnd = random.Random(f"{seed}:reviews")
    zone = ZoneInfo(timezone)
    roster = [e for e in history if e["type"] == "roster"]
    team_of = {e["rep_id"]: e["team_id"] for e in roster}
    manager_of = {e["team_id"]: e["manager_id"] for e in roster}
    spans: dict[str, list[tuple[datetime, str]]] = {}
    for e in sorted(roster, key=lambda e: e["effective_at"]):
        spans.setdefault(e["rep_id"], []).append((datetime.fromisoformat(e["effective_at"]), e["status"]))
    quality = {r: rnd.uniform(3.0, 4.6) for r in sorted(team_of)}
    out: list[tuple[datetime, int, Event]] = []

    def emit(when: datetime, event: Event) -> None:
        n = len(out) + 1
        out.append((when, n, {"event_id": f"review-{seed}-{n}", "schema_version": 1,
                              "occurred_at": when.isoformat(), **event}))

    def active(rep: str, when: datetime) -> bool:
        status = None
        for effective, s in spans.get(rep, ()):
            if effective <= when:
                status = s
        return status == "active"

    for m in months:
        label = f"{m.year}-{m.month:02d}"
        last_day = (date(m.year + (m.month == 12), m.month % 12 + 1, 1) - timedelta(days=1)).day

        def at(day: int, m: date = m) -> datetime:
            return datetime(m.year, m.month, day, rnd.randint(9, 18), rnd.randint(0, 59), tzinfo=zone)

        members: dict[str, list[str]] = {}
        for rep in sorted(team_of):
            if active(rep, at(20)):
                members.setdefault(team_of[rep], []).append(rep)
        for team, reps in sorted(members.items()):
            for rep in reps:
                base = {"type": "review", "period": label, "subject_id": rep}
                if rnd.random() < 0.9:  # the manager's monthly review, sometimes revised
                    review_id = f"rv-{label}-{rep}-mgr"
                    emit(at(rnd.randint(22, 26)), {**base, "review_id": review_id, "reviewer_id": manager_of[team],
                                                  "reviewer_role": "manager", "rating": _rating(rnd, quality[rep])})
                    if rnd.random() < 0.1:
                        emit(at(rnd.randint(27, last_day)),
                             {**base, "review_id": review_id, "reviewer_id": manager_of[team],
                              "reviewer_role": "manager", "rating": _rating(rnd, quality[rep])})
                if rnd.random() < 0.7:
                    emit(at(rnd.randint(20, 25)), {**base, "review_id": f"rv-{label}-{rep}-self", "reviewer_id": rep,
                                                  "reviewer_role": "self", "rating": _rating(rnd, quality[rep] + 0.4)})
                for i in range(rnd.choice((0, 1, 1, 2))):
                    emit(at(rnd.randint(1, last_day)), {**base, "review_id": f"rv-{label}-{rep}-cust{i}",
                                                        "reviewer_id": f"cust-{rep}-{i}", "reviewer_role": "customer",
                                                        "rating": _rating(rnd, quality[rep])})
                mates = [x for x in reps if x != rep]
                for peer in rnd.sample(mates, min(len(mates), rnd.choice((0, 1, 2, 3, 4)))):
                    emit(at(rnd.randint(15, 25)), {**base, "review_id": f"rv-{label}-{rep}-{peer}",
                                                   "reviewer_id": peer, "reviewer_role": "peer",
                                                   "rating": _rating(rnd, quality[rep])})
            # The team's engagement survey: some teams get fewer than 3 answers.
            answering = min(len(reps), rnd.choice((1, 2, len(reps), len(reps))))
            for _ in range(answering):
                emit(at(rnd.randint(last_day - 6, last_day)),
                     {"type": "engagement", "period": label, "team_id": team,
                      "respondent_id": f"resp-{seed}-{label}-{team}-{rnd.randrange(10**6):06d}",
                      "rating": rnd.choice((2, 3, 3, 4, 4, 4, 5, 5))})
    out.sort(key=lambda e: (e[0], e[1]))
    return [e for _, _, e in out]
