"""The files the browser pages (``/`` and ``/me``) share: ``/static/scorecard.css`` (colours,
header, controls) and ``/static/scorecard.js`` (money formatting, the sign-in, CSRF).

Each is a fixed route to one packaged file (no path from the request reaches the file
system); the access middleware treats them like the pages themselves (kind ``page``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from faust import web as faust_web

from .pipeline import Pipeline


@dataclass(frozen=True)
class Asset:
    """One shared file: its route, its name under ``streams/static`` and its content type."""

    route: str
    file: str
    content_type: str


ASSETS = (
    Asset("/static/scorecard.css", "scorecard.css", "text/css; charset=utf-8"),
    Asset("/static/scorecard.js", "scorecard.js", "text/javascript; charset=utf-8"),
)


def static_file(name: str) -> bytes:
    """The bytes of a packaged file under ``streams/static``."""
    return resources.files("sales_scorecard.streams").joinpath(f"static/{name}").read_bytes()


def register(pipe: Pipeline) -> None:
    """Attach a route per shared file."""
    for asset in ASSETS:
        _serve(pipe, asset, static_file(asset.file))


def _serve(pipe: Pipeline, asset: Asset, body: bytes) -> None:
    @pipe.app.page(asset.route)
    async def view(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        # in the header: aiohttp refuses a charset in ``content_type``
        return self.bytes(body, headers={"Content-Type": asset.content_type})
