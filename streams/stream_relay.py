"""The live page's event stream relayed from the worker that owns the aggregation stage.

A worker without the engine answers ``/api/stream`` by holding one streaming GET to the
owner's own ``/api/stream`` (with the caller's ``Authorization``, or the token of their
sign-in cookie) and writing its events to the caller as they come: no polling, and no
board is ranked for the relay. When the owner goes away (a rebalance, a restart) the relay
connects again, to whichever worker owns the stage then, after a back-off that doubles
from ``RECONNECT_SECONDS[0]`` to ``RECONNECT_SECONDS[1]``; meanwhile the caller gets
heartbeats, and an event equal to the last one it got is not sent again. The owner's
answer to the first request passes through when it refuses it (400, 401, 403, 404); a
refusal on a later connection (a revoked token) ends the stream. A token-less public
caller gets the owner's public rows, reduced again here all the same. Before each
reconnection, and on each answered connection, the relay asks this worker's own board
first (``LocalStream``): a page that connected to the owner while its boards were loading
gets the owner's own events once they are whole, not its stream through localhost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from aiohttp import ClientResponse, ClientSession, ClientTimeout
from aiohttp import web as aioweb

from sales_scorecard.core.access import public_row

#: Sent on a relayed request: a worker that gets one without the engine (it is named the
#: owner but has not loaded yet) answers 503 instead of relaying it on.
RELAYED_HEADER = "X-Scorecard-Relayed"
#: First and longest wait before connecting to the owner again (seconds).
RECONNECT_SECONDS = (0.25, 5.0)
#: A comment line sent when nothing else was written for this long (seconds).
HEARTBEAT_SECONDS = 15.0
HEARTBEAT = b": keep-alive\n\n"
#: Statuses with which the owner refuses the request itself (not a passing outage).
REFUSALS = frozenset({400, 401, 403, 404})


@dataclass
class Backoff:
    """The wait before the next connection: doubles from ``first`` to ``most``; ``reset``
    after a connection that streamed."""

    first: float = RECONNECT_SECONDS[0]
    most: float = RECONNECT_SECONDS[1]
    _next: float = 0.0

    def reset(self) -> None:
        self._next = self.first

    def next(self) -> float:
        wait = self._next or self.first
        self._next = min(wait * 2, self.most)
        return wait


@dataclass(frozen=True)
class OwnerStream:
    """What to ask the owner: its base URL (asked again at each connection: the owner may
    change), the stream's query and the caller's credentials."""

    owner_url: Callable[[], str]
    params: dict[str, str]
    authorization: str | None
    #: a token-less caller let in by the public-leaderboard setting
    public: bool


class LocalStream(Protocol):
    """The same stream from this worker's own boards, once it owns the stage."""

    def ready(self) -> bool:
        """True when this worker has the events itself (it owns the stage, its boards are whole)."""
        ...

    async def write(self, resp: aioweb.StreamResponse, first: dict[str, Any] | None = None) -> None:
        """Write the events to ``resp`` until this worker no longer has them."""
        ...


class NoLocalStream:
    """A relay only: this worker never has the events."""

    def ready(self) -> bool:
        return False

    async def write(self, resp: aioweb.StreamResponse, first: dict[str, Any] | None = None) -> None:
        return None


async def sse_blocks(response: ClientResponse) -> AsyncIterator[bytes]:
    """The events of an SSE body, each without its blank-line terminator. Read in chunks,
    not lines: one event holds a whole board (megabytes at 10,000 reps), longer than a line
    aiohttp reads."""
    buffer = bytearray()
    searched = 0
    async for chunk in response.content.iter_any():
        buffer += chunk
        while (end := buffer.find(b"\n\n", searched)) >= 0:
            yield bytes(buffer[:end])
            del buffer[:end + 2]
            searched = 0
        searched = max(len(buffer) - 1, 0)


def reduced(block: bytes) -> bytes:
    """A data event with public rows only (name, team, rank, value, percentiles) and no team."""
    event = orjson.loads(block[len(b"data: "):])
    event["rows"] = [public_row(r) for r in event.get("rows", [])]
    event["team"] = None
    return b"data: " + orjson.dumps(event)


class Relay:
    """One caller's relayed stream."""

    def __init__(self, target: OwnerStream, backoff: Backoff | None = None, local: LocalStream | None = None) -> None:
        self.target = target
        self.backoff = backoff if backoff is not None else Backoff()
        self.local: LocalStream = local if local is not None else NoLocalStream()
        self.last: bytes | None = None

    async def connect(self, session: ClientSession) -> ClientResponse | None:
        """A streaming GET of the owner's ``/api/stream``; None when nobody answers."""
        headers = {RELAYED_HEADER: "1"}
        if self.target.authorization:
            headers["Authorization"] = self.target.authorization
        try:
            url = f"{self.target.owner_url().rstrip('/')}/api/stream"
            return await session.get(url, params=self.target.params, headers=headers)
        except Exception:  # noqa: BLE001 - no owner known yet, or it is away: try again later
            return None

    async def serve(self, request: aioweb.Request) -> aioweb.StreamResponse:
        """Answer ``request`` with the owner's events until the caller goes away."""
        timeout = ClientTimeout(total=None, sock_connect=5, sock_read=3 * HEARTBEAT_SECONDS)
        async with ClientSession(timeout=timeout) as session:
            owner = await self.connect(session)
            if owner is not None and owner.status in REFUSALS:
                body = await owner.read()
                owner.release()
                return aioweb.Response(status=owner.status, body=body, content_type="application/json")
            resp = aioweb.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await resp.prepare(request)
            try:
                while True:
                    if owner is not None:
                        try:
                            if owner.status in REFUSALS:
                                break
                            if owner.status == 200:
                                self.backoff.reset()
                                if not self.local.ready():  # else the owner is this worker: released below
                                    await self.pump(owner, resp)
                        finally:
                            owner.release()
                    if self.local.ready():  # this worker owns the stage now: its own events
                        await self.local.write(resp)
                    await self.wait(resp, self.backoff.next())
                    owner = None if self.local.ready() else await self.connect(session)
            except (ConnectionResetError, asyncio.CancelledError):
                pass
        return resp

    async def pump(self, owner: ClientResponse, resp: aioweb.StreamResponse) -> None:
        """Write the owner's events to the caller until the owner's stream ends or breaks."""
        try:
            async for block in sse_blocks(owner):
                if block.startswith(b"data: "):
                    if block == self.last:
                        continue  # the owner's first event again after a reconnection
                    self.last = block
                    await resp.write((reduced(block) if self.target.public else block) + b"\n\n")
                elif block.startswith(b":"):
                    await resp.write(HEARTBEAT)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception:  # noqa: BLE001 - the owner went away mid-stream (a rebalance): reconnect
            return

    async def wait(self, resp: aioweb.StreamResponse, seconds: float) -> None:
        """Wait before connecting again; the caller gets a heartbeat meanwhile."""
        await resp.write(HEARTBEAT)
        await asyncio.sleep(seconds)

