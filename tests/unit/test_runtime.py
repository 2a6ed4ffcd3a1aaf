"""The worker's runtime settings (streams/runtime.py): SCORECARD_EVENT_LOOP and
SCORECARD_FAUST_CYTHON parse, refuse bad values with one line, and really select the
event loop and Faust's Cython paths of the worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import faust.streams
import pytest

from sales_scorecard.cli.main import main
from sales_scorecard.streams import runtime
from sales_scorecard.streams.app import create_app
from sales_scorecard.streams.settings import Settings, SettingsError


def test_defaults_and_every_value_parse() -> None:
    default = Settings.from_env({})
    assert (default.event_loop, default.faust_cython) == ("uvloop", "off")
    for loop in runtime.EVENT_LOOPS:
        assert Settings.from_env({"SCORECARD_EVENT_LOOP": loop}).event_loop == loop
    for cython in runtime.FAUST_CYTHON:
        assert Settings.from_env({"SCORECARD_FAUST_CYTHON": cython}).faust_cython == cython
    assert Settings.from_env({}).to_env()["SCORECARD_EVENT_LOOP"] == default.event_loop  # reaches child processes


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("SCORECARD_EVENT_LOOP", "tokio", "SCORECARD_EVENT_LOOP must be asyncio or uvloop, got 'tokio'"),
    ("SCORECARD_EVENT_LOOP", "", "SCORECARD_EVENT_LOOP must be asyncio or uvloop, got ''"),
    ("SCORECARD_FAUST_CYTHON", "1", "SCORECARD_FAUST_CYTHON must be on, optimized or off, got '1'"),
    ("SCORECARD_FAUST_CYTHON", "true", "SCORECARD_FAUST_CYTHON must be on, optimized or off, got 'true'"),
    ("SCORECARD_MALLOC_ARENAS", "-1", "SCORECARD_MALLOC_ARENAS must be >= 0 (0: glibc's default)"),
    ("SCORECARD_GC_THRESHOLD", "0", "SCORECARD_GC_THRESHOLD must be >= 1 (Python's default: 700)"),
])
def test_bad_values_are_refused(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({variable: value})
    assert str(info.value) == message


def test_a_bad_value_stops_the_worker_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SCORECARD_EVENT_LOOP", "tokio")
    with pytest.raises(SystemExit) as exit_info:
        main(["worker"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == "scorecard: error: SCORECARD_EVENT_LOOP must be asyncio or uvloop, got 'tokio'\n"


@pytest.fixture
def own_loop_policy() -> Iterator[None]:
    """Gives the process its event loop policy back after a test that installs one."""
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)


@pytest.mark.usefixtures("own_loop_policy")
@pytest.mark.parametrize(("name", "module"), [("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_install_loop_makes_a_loop_of_the_setting(name: str, module: str) -> None:
    loop = runtime.install_loop(Settings(event_loop=name))
    try:
        assert type(loop).__module__.split(".")[0] == module
        assert runtime.loop_name(loop) == name
        # the policy too: the loops Faust's helper threads make for themselves are of the same kind
        other = asyncio.new_event_loop()
        assert runtime.loop_name(other) == name
        other.close()
        assert loop.run_until_complete(_running_loop_name()) == name
    finally:
        loop.close()


async def _running_loop_name() -> str:
    return runtime.loop_name(asyncio.get_running_loop())


#: What ``scorecard worker`` does up to starting (cli/worker.py ``build_worker``), in a fresh
#: interpreter as the worker is: prints the worker's loop, the app's loop, the loop running
#: a task of the worker, and the Cython state Faust took.
WORKER_PROBE = textwrap.dedent("""
    import asyncio, json, sys
    from sales_scorecard.cli.worker import build_worker
    from sales_scorecard.streams import runtime
    from sales_scorecard.streams.settings import Settings

    settings = Settings(data_dir=sys.argv[1], store="memory", event_loop=sys.argv[2], faust_cython=sys.argv[3])
    worker = build_worker(settings, "WARNING")

    async def running() -> dict:
        return runtime.describe(asyncio.get_running_loop(), bool(worker.app.conf.cython_optimizations))

    print(json.dumps({"worker": runtime.loop_name(worker.loop), "app": runtime.loop_name(worker.app.loop),
                      "same": worker.loop is worker.app.loop, **worker.loop.run_until_complete(running())}))
""")


@pytest.mark.parametrize("event_loop", runtime.EVENT_LOOPS)
@pytest.mark.parametrize("cython", runtime.FAUST_CYTHON)
def test_the_worker_runs_on_the_configured_loop_and_cython(tmp_path: Path, event_loop: str, cython: str) -> None:
    import json

    env = {"PATH": "/usr/bin:/bin", "NO_CYTHON": "0"}  # a stray NO_CYTHON (even "0") must not decide
    done = subprocess.run([sys.executable, "-c", WORKER_PROBE, str(tmp_path), event_loop, cython],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "worker": event_loop, "app": event_loop, "same": True, "event_loop": event_loop, "faust_cython": cython,
        "gc_threshold": "20000"}  # the setting's default (docs/configuration.md), not Python's 700


def test_faust_ships_its_cython_extensions_and_the_probe_reads_them() -> None:
    """The cp311 manylinux wheel of faust-streaming is compiled; ``cython_state`` reads the
    module global Faust chooses its stream iterator by (renamed in an upgrade: fails here)."""
    assert runtime.cython_available()
    assert hasattr(faust.streams, "_CStreamIterator")
    assert runtime.cython_state(optimizations=False) == "on"
    assert runtime.cython_state(optimizations=True) == "optimized"


def test_select_cython_sets_and_clears_no_cython(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("NO_CYTHON", "0")  # Faust reads any non-empty value as set
    runtime.select_cython(Settings(faust_cython="on"))
    assert "NO_CYTHON" not in os.environ
    runtime.select_cython(Settings(faust_cython="off"))
    assert os.environ["NO_CYTHON"] == "1"


def test_off_after_faust_was_imported_is_refused() -> None:
    with pytest.raises(SettingsError, match="Faust was imported before NO_CYTHON could be set"):
        runtime.check_cython(Settings(faust_cython="off"), optimizations=False)


@pytest.mark.parametrize(("cython", "optimizations"), [("on", False), ("optimized", True), ("off", False)])
def test_the_setting_reaches_fausts_cython_optimizations(tmp_path: Path, cython: str, optimizations: bool) -> None:
    app = create_app(Settings(data_dir=str(tmp_path), store="memory", faust_cython=cython)).app
    assert app.conf.cython_optimizations is optimizations


def test_fausts_own_variable_cannot_override_the_setting_silently(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYTHON_OPTIMIZATIONS", "1")
    settings = Settings(data_dir=str(tmp_path), store="memory", faust_cython="on")
    app = create_app(settings).app
    assert app.conf.cython_optimizations is True  # Faust lets its variable win over the app's argument
    with pytest.raises(SettingsError, match="unset CYTHON_OPTIMIZATIONS"):
        runtime.check_cython(settings, bool(app.conf.cython_optimizations))


#: Starts threads that each allocate from malloc at once, then prints glibc's arena count
#: (``malloc_stats`` writes one "Arena N:" block per arena to stderr).
ARENA_PROBE = textwrap.dedent("""
    import ctypes, sys, threading
    from sales_scorecard.streams import runtime
    from sales_scorecard.streams.settings import Settings
    if sys.argv[1] == "worker":  # what `scorecard worker` does before it starts (cli/worker.py)
        from sales_scorecard.cli.worker import build_worker
        import dataclasses
        build_worker(dataclasses.replace(Settings.from_env(), data_dir=sys.argv[2], store="memory"), "WARNING")
    else:
        print(runtime.limit_malloc_arenas(Settings.from_env()))
    start = threading.Barrier(6)
    def work():
        start.wait()
        kept = [bytearray(20_000) for _ in range(200)]  # above pymalloc's 512 B: malloc's
        start.wait()
    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads: t.start()
    start.wait(); start.wait()
    for t in threads: t.join()
    sys.stderr.flush()
    ctypes.CDLL(None).malloc_stats()
""")


def _arenas(arenas: str, *how: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", ARENA_PROBE, *(how or ("runtime",))], capture_output=True,
                          text=True, check=True, env={**os.environ, "SCORECARD_MALLOC_ARENAS": arenas})
    return done.stdout.strip(), sum(line.startswith("Arena ") for line in done.stderr.splitlines())


def test_the_worker_caps_glibc_malloc_arenas_before_its_threads_start() -> None:
    assert Settings.from_env({}).malloc_arenas == 2
    capped, count = _arenas("2")
    assert capped == "True"
    assert 1 <= count <= 2
    # glibc's own default gives each of the five threads an arena of its own
    left, count = _arenas("0")
    assert left == "False"
    assert count >= 4


def test_scorecard_worker_caps_the_arenas_as_it_is_built(tmp_path: Path) -> None:
    _, count = _arenas("1", "worker", str(tmp_path))
    assert count == 1


COLLECTOR_PROBE = textwrap.dedent("""
    import dataclasses, gc, sys
    from sales_scorecard.cli.worker import build_worker
    from sales_scorecard.streams.settings import Settings
    before = gc.get_threshold()
    build_worker(dataclasses.replace(Settings.from_env(), data_dir=sys.argv[1], store="memory"), "WARNING")
    print(before, gc.get_threshold())
""")


@pytest.mark.parametrize(("value", "youngest"), [(None, 20_000), ("700", 700), ("5000", 5000)])
def test_the_worker_sets_the_collectors_youngest_generation_threshold(tmp_path: Path, value: str | None,
                                                                       youngest: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SCORECARD_GC_THRESHOLD"}
    if value is not None:
        env["SCORECARD_GC_THRESHOLD"] = value
    done = subprocess.run([sys.executable, "-c", COLLECTOR_PROBE, str(tmp_path)], capture_output=True, text=True,
                          check=True, env=env)
    # Python's own thresholds before; after, the youngest generation's set, the older ones Python's
    assert done.stdout.strip() == f"(700, 10, 10) ({youngest}, 10, 10)"
