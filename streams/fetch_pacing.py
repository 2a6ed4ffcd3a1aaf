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
not switch every second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: What a fetch asks for at a trickle: Kafka's default, answered as soon as a record is there.
AT_ONCE = 1


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

    def took(self, records: int, now: float) -> int | None:
        """Note ``records`` taken at ``now`` (seconds, monotonic); the bytes fetches should
        ask for from now on when that changes, else None."""
        if self.fill_above <= 0:
            return None
        if self._window_start is None:
            self._window_start = now
        self._taken += records
        elapsed = now - self._window_start
        if elapsed < self.window_seconds:
            return None
        rate = self._taken / elapsed
        self._window_start, self._taken = now, 0
        wanted = self.min_bytes
        if rate >= self.fill_above:
            wanted = self.fill_bytes
        elif rate < self.fill_above / 2:
            wanted = AT_ONCE
        if wanted == self.min_bytes:
            return None
        self.min_bytes = wanted
        return wanted
