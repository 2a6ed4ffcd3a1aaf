"""The browser pages and the files they share: ``/`` (the live leaderboard) and ``/me`` (My
scorecard), ``/static/scorecard.css`` (colours, header, controls) and
``/static/scorecard.js`` (money formatting, translations, the sign-in, CSRF).

The pages share parts of their markup: a page's file names a part with
``<!-- part: NAME -->`` (``head.html``, which opens the document; ``appeal-form.html``), and
the part's file under ``streams/static`` takes its place once, when the routes are attached.
Each route serves one packaged file or page (no path from the request reaches the file
system); the access middleware treats them all as kind ``page``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from faust import web as faust_web

from .pipeline import Pipeline


@dataclass(frozen=True)
class Asset:
    """One route: a shared file or a page, its name under ``streams/static`` and its content type."""

    route: str
    file: str
    content_type: str


ASSETS = (
    Asset("/static/scorecard.css", "scorecard.css", "text/css; charset=utf-8"),
    Asset("/static/scorecard.js", "scorecard.js", "text/javascript; charset=utf-8"),
)
#: Pages: the HTML files put together from their parts (``page_html``).
PAGES = (
    Asset("/", "leaderboard.html", "text/html; charset=utf-8"),
    Asset("/me", "me.html", "text/html; charset=utf-8"),
)
#: Where a page takes a shared part: ``<!-- part: NAME -->``, NAME a file under ``streams/static``.
PART = re.compile(rb"<!-- part: ([a-z-]+\.html) -->")


def static_file(name: str) -> bytes:
    """The bytes of a packaged file under ``streams/static``."""
    return resources.files("sales_scorecard.streams").joinpath(f"static/{name}").read_bytes()


def page_html(name: str) -> bytes:
    """A page's file with each part it names in its place (a part names no part itself)."""
    return PART.sub(lambda found: static_file(found.group(1).decode()).rstrip(b"\n"), static_file(name))


def register(pipe: Pipeline) -> None:
    """Attach a route per page and per shared file."""
    # Faust's own index view also claims "/": drop it (it only says {"status": "OK"}).
    blueprints = pipe.app.web.blueprints
    blueprints._enabled = [(p, bp) for p, bp in blueprints._enabled if "production_index" not in str(bp)]
    for page in PAGES:
        _serve(pipe, page.route, page_html(page.file), page.content_type)
    for asset in ASSETS:
        _serve(pipe, asset.route, static_file(asset.file), asset.content_type)


def _serve(pipe: Pipeline, route: str, body: bytes, content_type: str) -> None:
    @pipe.app.page(route, name=route)
    async def view(self: faust_web.View, request: faust_web.Request) -> faust_web.Response:
        # in the header: aiohttp refuses a charset in ``content_type``
        return self.bytes(body, headers={"Content-Type": content_type})
