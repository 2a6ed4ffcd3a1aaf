"""The worker's runtime: the event loop it runs on and which of Faust's Cython paths it takes.

Both are settings (``SCORECARD_EVENT_LOOP``, ``SCORECARD_FAUST_CYTHON``), and
``scorecard bench --only loops`` measures every combination against the others on the
same events (docs/benchmarks.md); the defaults are what was faster there.

- **Event loop.** ``asyncio`` is the standard library's selector loop, ``uvloop`` the
  libuv one. The choice is made as the event loop *policy* of the process, the way
  ``faust worker --loop uvloop`` does it (mode's ``mode.loop.use``), so the loops that
  Faust's helper threads create for themselves are of the same kind as the main one.
- **Faust's Cython.** The faust-streaming wheel for CPython 3.11 on manylinux ships its
  extensions compiled (``faust/_cython``, ``faust/transport/_cython``, ``faust/models/_cython``),
  and Faust takes them whenever they import, unless ``NO_CYTHON`` is set when its modules
  are first imported. ``on`` is that, as released; ``optimized`` adds the two repaired fast
  paths behind Faust's ``cython_optimizations`` setting (the stream iterator takes an event
  already queued without awaiting the channel; the conductor decodes a message once for
  every channel of the same types); ``off`` sets ``NO_CYTHON``: Faust's pure-Python paths.

- **Allocator arenas.** glibc's malloc gives a thread that finds the main arena locked an
  arena of its own, up to eight per core; Faust's consumer thread and RocksDB's background
  threads allocate there, and memory freed in one arena serves no other. ``SCORECARD_MALLOC_ARENAS``
  caps them (``mallopt(M_ARENA_MAX)``, the variable ``MALLOC_ARENA_MAX`` set from inside) before
  any thread starts; on a C library other than glibc it does nothing.

- **Garbage collector.** CPython's cyclic collector runs its youngest generation every 700
  net allocations of container objects and, every hundred such runs, a full pass over
  every object (once the long-lived ones grew by a quarter). Over the worker's state,
  tuples, slotted records and dicts that refcounting frees, the full passes collected
  nothing and cost more as the state grew. ``SCORECARD_GC_THRESHOLD`` sets the youngest generation's
  threshold (:func:`tune_collector`); the older generations keep Python's ratios.

The order matters: :func:`limit_malloc_arenas` and :func:`select_cython` before anything imports ``faust.streams``, then
:func:`install_loop`, then the app is built, then :func:`check_cython` confirms what Faust
took.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib.util
import logging
import os
from typing import TYPE_CHECKING

from .settings import Settings, SettingsError

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger(__name__)

#: Values of ``SCORECARD_EVENT_LOOP``.
EVENT_LOOPS = ("asyncio", "uvloop")
#: Values of ``SCORECARD_FAUST_CYTHON``.
FAUST_CYTHON = ("on", "optimized", "off")


#: CPython's own threshold of the collector's youngest generation (``gc.get_threshold()[0]``
#: at start-up): the stock runtime's.
PYTHON_GC_THRESHOLD = 700

#: glibc's ``mallopt`` parameter for the most arenas (malloc.h ``M_ARENA_MAX``).
M_ARENA_MAX = -8


def limit_malloc_arenas(settings: Settings) -> bool:
    """Cap glibc's malloc arenas at ``settings.malloc_arenas`` (0: leave glibc's default);
    call it before any thread starts. Whether the cap is in place (False without glibc)."""
    if settings.malloc_arenas == 0:
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to cap
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, settings.malloc_arenas))


def tune_collector(settings: Settings) -> None:
    """Set the cyclic garbage collector's youngest-generation threshold to
    ``settings.gc_threshold`` (the older generations' thresholds unchanged)."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(settings.gc_threshold, older, oldest)


def select_cython(settings: Settings) -> None:
    """Set or clear Faust's ``NO_CYTHON`` for ``settings.faust_cython``; call it before
    ``faust.streams`` is imported (Faust reads the variable once, at import, and takes any
    non-empty value, even ``0``, as set: so the settings object decides, not a stray
    variable)."""
    if settings.faust_cython == "off":
        os.environ["NO_CYTHON"] = "1"
    else:
        os.environ.pop("NO_CYTHON", None)


def event_loop_policy(name: str) -> asyncio.AbstractEventLoopPolicy:
    """The event loop policy of ``SCORECARD_EVENT_LOOP=name``."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise SettingsError("SCORECARD_EVENT_LOOP=uvloop: uvloop is not installed") from None
        return uvloop.EventLoopPolicy()
    if name == "asyncio":
        return asyncio.DefaultEventLoopPolicy()
    raise SettingsError(f"SCORECARD_EVENT_LOOP must be asyncio or uvloop, got {name!r}")


def install_loop(settings: Settings) -> asyncio.AbstractEventLoop:
    """Make ``settings.event_loop`` the policy of the process and return a new loop of it,
    set as the current loop (the one Faust's app and worker then run on)."""
    asyncio.set_event_loop_policy(event_loop_policy(settings.event_loop))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: the kind of ``loop``, as the setting names it."""
    return "uvloop" if type(loop).__module__.split(".")[0] == "uvloop" else "asyncio"


def cython_available() -> bool:
    """Whether Faust's compiled stream iterator is installed (it is in the cp311 manylinux wheel)."""
    return importlib.util.find_spec("faust._cython.streams") is not None


def cython_state(optimizations: bool) -> str:
    """``on``, ``optimized`` or ``off``: what Faust's streams run on in this process
    (imports ``faust.streams``); ``optimizations`` is the app's ``cython_optimizations``."""
    import faust.streams

    if getattr(faust.streams, "_CStreamIterator", None) is None:
        return "off"
    return "optimized" if optimizations else "on"


def check_cython(settings: Settings, optimizations: bool) -> None:
    """Raise ``SettingsError`` when Faust did not take ``settings.faust_cython`` (Faust was
    imported before :func:`select_cython`, or ``CYTHON_OPTIMIZATIONS`` in the environment
    overrode the app's setting: Faust lets its own variables win over the app's arguments)."""
    wanted, state = settings.faust_cython, cython_state(optimizations)
    if state == wanted:
        return
    if state == "off" and not cython_available():
        # A platform without the compiled wheel: Faust falls back to Python by itself.
        log.warning("SCORECARD_FAUST_CYTHON=%s: Faust's Cython extensions are not installed; running pure Python",
                    wanted)
        return
    if (state == "off") != (wanted == "off"):
        raise SettingsError(f"SCORECARD_FAUST_CYTHON={wanted}: Faust was imported before NO_CYTHON could be "
                            f"{'set' if wanted == 'off' else 'cleared'}")
    raise SettingsError(f"SCORECARD_FAUST_CYTHON={wanted}: CYTHON_OPTIMIZATIONS in the environment overrides it; "
                        "unset CYTHON_OPTIMIZATIONS")


def describe(loop: asyncio.AbstractEventLoop, optimizations: bool) -> dict[str, str]:
    """What this process runs on: ``{"event_loop": ..., "faust_cython": ..., "gc_threshold": ...}``
    (the collector's youngest generation threshold in force)."""
    return {"event_loop": loop_name(loop), "faust_cython": cython_state(optimizations),
            "gc_threshold": str(gc.get_threshold()[0])}


def register(pipe: Pipeline) -> None:
    """Report the running loop, Cython state and collector threshold as ``scorecard_runtime_info``
    once started."""
    app = pipe.app

    async def report_runtime() -> None:
        running = describe(asyncio.get_running_loop(), bool(app.conf.cython_optimizations))
        pipe.metrics.runtime.labels(**running).set(1)

    app.task(report_runtime)
