"""The share of one worker's event loop that the flushes of its partitioned stages may take.

With partitioned stages the org stage and every rep partition a worker holds run on one
event loop, each with its own pacing. A leading-edge flush goes out right after the
message that made it due, so several stages doing so after every message, beside their
regular flushes, could together leave too little of the loop for the messages
themselves. A ``RenderBudget`` shared by those stages counts what all their flushes took:
each spends the seconds it took, credit comes back at ``share`` seconds per second of the
loop's time, up to ``burst``. A flush of keys set aside (quarters, years, trailing
windows: tens of milliseconds each) starts only while credit is left; a leading-edge flush
(the months a message changed: a millisecond or two) may also borrow, down to ``reserve``
seconds owed, so the months a leaderboard shows go first and the longer periods wait
their turn. Regular flushes keep their own cadence (the interval plus what the last one
took) and only spend.

Behind (a backlog), a stage spaces its flushes so that rendering takes about a tenth of
the time (``streams.aggregation.spacing_factor``). The budget also says how many stages of
the worker are flushing (``sharing``), and each stage spaces its regular and continuation
flushes that many times more: the stages of one worker together, not each of them, then
render about a tenth of the time. Each spacing alone, four rep partitions and the org
stage rendered up to half of it, and a rep partition's smaller flushes came more often:
3.6 to 4.2 times the single stage's updates for the same backlog (docs/benchmarks.md).

The single stage has the loop to itself and no budget (``NoBudget``): its regular flushes
already space themselves by what they took, and counting them paused its leading edge
whenever a busy neighbour made them slow (p50 156 -> 916 ms, docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Flushes off the cadence start while the flushes took at most this share of the worker's time ...
LOOP_SHARE = 0.5
#: ... give or take this much rendering in one go (seconds of credit at most).
BURST_SECONDS = 0.1
#: ... and a leading-edge flush may start while up to this many seconds are owed. It is
#: less than the most that can be owed (``MAX_WAIT_SECONDS`` x the share), so months
#: rendered faster than the share allows still wait for credit. Without it the longer
#: periods set aside, rendered whenever credit came back, kept the worker's credit near
#: zero at 100 events/s and the months waited for their cadence: p99 570-950 ms instead of
#: 300-410 ms (docs/benchmarks.md).
MONTHS_RESERVE_SECONDS = 0.5
#: However long a flush took, credit is back within this many seconds (what it owes is
#: capped): one flush of every month of 10,000 reps (180 s) would otherwise pause the
#: leading edge for six minutes. The cadence spaces flushes by at most as much
#: (``streams.aggregation.MAX_SPACING_SECONDS``).
MAX_WAIT_SECONDS = 2.0
#: A stage counts as flushing on the worker (``sharing``) for this long after its last
#: flush: longer than the widest spacing behind (``MAX_SPACING_SECONDS`` x
#: ``MAX_BEHIND_SPACING`` in streams/aggregation.py, 18 s), so a stage waiting out its
#: spacing still counts. A stage with nothing left to render drops out this long after
#: its last flush; a revoked one at once (``forget``).
SHARING_SECONDS = 30.0


@dataclass
class RenderBudget:
    """Seconds of rendering the stages of one worker may still spend now (monotonic times)."""

    share: float = LOOP_SHARE
    burst: float = BURST_SECONDS
    #: seconds a leading-edge flush may still borrow
    reserve: float = MONTHS_RESERVE_SECONDS
    #: seconds of credit as of ``at`` (negative: owed)
    credit: float = BURST_SECONDS
    #: when ``credit`` was last brought up to date; None before the first look
    at: float | None = None
    #: stage name -> when its last flush ended (``sharing``)
    flushed: dict[str, float] = field(default_factory=dict)

    def _refill(self, now: float) -> None:
        if self.at is not None and now > self.at:
            self.credit = min(self.burst, self.credit + (now - self.at) * self.share)
        if self.at is None or now > self.at:
            self.at = now

    def sharing(self, now: float, stage: str) -> int:
        """How many stages are flushing on the worker: ``stage`` (the one asking) and the
        others sharing the budget that flushed within ``SHARING_SECONDS`` before ``now``."""
        flushed = self.flushed
        for name in [name for name, at in flushed.items() if now - at > SHARING_SECONDS]:
            del flushed[name]
        return len(flushed) + (stage not in flushed)

    def forget(self, stage: str) -> None:
        """``stage`` stopped running here (its partition revoked): no longer counted."""
        self.flushed.pop(stage, None)

    def allows(self, now: float) -> bool:
        """Whether a flush of keys set aside may start at ``now``."""
        self._refill(now)
        return self.credit > 0

    def allows_months(self, now: float) -> bool:
        """Whether a leading-edge flush (months only) may start at ``now``."""
        self._refill(now)
        return self.credit > -self.reserve

    def spend(self, took: float, ended: float, stage: str) -> None:
        """A flush of ``stage`` (its name), sharing the budget, took ``took`` seconds, ending at ``ended``."""
        self.flushed[stage] = max(ended, self.flushed.get(stage, ended))
        self._refill(ended)
        self.credit = max(-MAX_WAIT_SECONDS * self.share, self.credit - took)


class NoBudget(RenderBudget):
    """A stage alone on its event loop (the single stage): every flush may start."""

    def allows(self, now: float) -> bool:
        return True

    def allows_months(self, now: float) -> bool:
        return True

    def spend(self, took: float, ended: float, stage: str) -> None:
        return None

    def sharing(self, now: float, stage: str) -> int:
        return 1
