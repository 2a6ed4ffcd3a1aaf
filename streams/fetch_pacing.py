"""How many bytes the broker gathers before it answers a worker's fetch, from the load.

Kafka's consumer asks the broker for at least ``fetch.min.bytes`` per fetch, waiting at
most ``fetch.max.wait.ms`` for them. Asking for 1 byte answers at once with whatever
arrived: the lowest latency, and hundreds of fetches a second on time, each costing the
worker alike however little it brings. Asking for a fill (``SCORECARD_FETCH_MIN_BYTES``)
makes every fetch wait up to ``SCORECARD_FETCH_WAIT_MS`` at low rates, on every hop, and
spares that CPU (docs/benchmarks.md).

``FetchPacing`` picks between them by the records the worker took over the last second:
at or above ``SCORECARD_FETCH_FILL_ABOVE`` records a second (CPU becomes scarce) fetches
wait for a fill; below half of it (a trickle: the worker idles, latency is what shows)
they are answered at once. Between the two the choice stays, so a rate near the line does
not switch every second. A window that spans a pause (a rebalance stops the flow) averages
the pause in; a backlog fills any fetch at once, so a second at the wrong choice after it
costs a few fetches, never a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: What a fetch asks for at a trickle: Kafka's default, answered as soon as a record is there.
AT_ONCE = 1


@dataclass(frozen=True)
class FetchSettings:
    """What a worker's fetches ask the broker for (the ``SCORECARD_FETCH_*`` settings)."""

    #: the broker's longest wait on a fetch, ms (None: Faust's 1,500)
    wait_ms: int | None = None
    #: the bytes a fetch waits for (None: aiokafka's 1)
    min_bytes: int | None = None
    #: input records a second from which fetches wait for ``min_bytes`` (0: always)
    fill_above: int = 0
    #: the topics whose records count for ``fill_above``: the input topics (the internal
    #: hops carry batches, as many as there are partitions and hops, not events)
    paced_topics: frozenset[str] = frozenset()

    def pacing(self) -> FetchPacing | None:
        """A pacing of the fill by the load, fresh (None: every fetch asks for ``min_bytes``;
        also when no topic is counted, so that the fill is never dropped for want of records)."""
        if not self.fill_above or self.min_bytes is None or not self.paced_topics:
            return None
        return FetchPacing(self.min_bytes, self.fill_above)


@dataclass
class FetchPacing:
    """The bytes to ask the broker for, from the records taken per window."""

    #: the bytes a fetch waits for under load (``SCORECARD_FETCH_MIN_BYTES``)
    fill_bytes: int
    #: records a second at or above which fetches wait for ``fill_bytes``; 0: always
    fill_above: int
    #: the seconds over which the records taken are counted
    window_seconds: float = 1.0
    #: the bytes fetches ask for now (a fill until a window shows a trickle)
    min_bytes: int = field(init=False)
    _window_start: float | None = field(default=None, init=False)
    _taken: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.min_bytes = self.fill_bytes

    def took(self, records: int, now: float, holds_paced: bool = True) -> int:
        """Note ``records`` taken at ``now`` (seconds, monotonic) from the counted topics;
        the bytes fetches should ask for from now on. ``holds_paced`` False: the worker
        fetches none of the counted topics' partitions, so their rate says nothing of its
        load, and it waits for a fill."""
        if self.fill_above <= 0:
            return self.min_bytes
        if not holds_paced:
            self._window_start, self._taken, self.min_bytes = None, 0, self.fill_bytes
            return self.min_bytes
        if self._window_start is None:
            self._window_start = now
        self._taken += records
        elapsed = now - self._window_start
        if elapsed < self.window_seconds:
            return self.min_bytes
        rate = self._taken / elapsed
        self._window_start, self._taken = now, 0
        if rate >= self.fill_above:
            self.min_bytes = self.fill_bytes
        elif rate < self.fill_above / 2:
            self.min_bytes = AT_ONCE
        return self.min_bytes
