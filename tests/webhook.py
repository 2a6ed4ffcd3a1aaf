"""A local HTTP webhook for the tests of the sinks: it records what is posted to it and
answers each post with the next scripted reply (HTTP 200 with an empty body once the
script is used up)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType

import orjson


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""


class _Server(HTTPServer):
    webhook: LocalWebhook


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        reply = self.server.webhook.record(orjson.loads(raw), self.headers.get("Content-Type", ""))
        self.send_response(reply.status)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, *args: object) -> None:
        pass


class LocalWebhook:
    """A webhook on a free loopback port, as a context manager. ``received`` holds the JSON
    bodies answered with a 2xx status, ``posted`` every body,
    ``content_types`` the Content-Type of every post."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.received: list[dict] = []
        self.posted: list[dict] = []
        self.content_types: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.webhook = self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def record(self, body: dict, content_type: str) -> Reply:
        """Records one post; the reply to send."""
        with self._lock:
            reply = self.replies.pop(0) if self.replies else Reply()
            self.posted.append(body)
            self.content_types.append(content_type)
            if 200 <= reply.status < 300:
                self.received.append(body)
            return reply

    def __enter__(self) -> LocalWebhook:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
