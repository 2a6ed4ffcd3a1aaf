"""Where the pipeline worker's CPU goes: py-spy samples of the worker during the
throughput part (``scorecard bench --profile``), summarised by stage.

py-spy (``pip install 'sales-scorecard[profile]'``) samples the worker process from
outside, without instrumenting it; ``--nonblocking`` keeps it from pausing the worker.
The raw output (one collapsed stack per line, ``frame;frame;... count``) is kept next
to the results, so it can be opened in a flame-graph viewer such as speedscope.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

#: Samples per second: enough for shares to the percent over a run of a minute or more.
RATE = 50

Stack = list[str]


def _frames_in(stack: Stack, path: str, function: str | None = None) -> bool:
    """Whether a frame of ``stack`` is in a file whose path contains ``path`` (and in
    ``function``, a bare or qualified name). py-spy writes frames as
    ``Qualified.name (short/path.py:line)``."""
    for frame in stack:
        name, _, where = frame.partition(" (")
        if path in where and (function is None or name == function or name.endswith("." + function)):
            return True
    return False


def _ingest(stack: Stack) -> bool:
    return _frames_in(stack, "agents/ingest.py", "validate_and_forward")


def _aggregation(stack: Stack) -> bool:
    return _frames_in(stack, "agents/scorecards.py", "apply_facts")


#: Stages, each a test on a sample's stack. A sample counts in every stage its stack
#: passes through: "ingest: ..." are parts of "ingest agents, in all", and so on.
STAGES: tuple[tuple[str, Callable[[Stack], bool]], ...] = (
    ("ingest agents, in all", _ingest),
    ("ingest: validation", lambda s: _ingest(s) and _frames_in(s, "schemas/validation.py")),
    ("ingest: forward to sales.facts (Topic.send)", lambda s: _ingest(s) and _frames_in(s, "faust/topics.py", "send")),
    ("aggregation agent, in all", _aggregation),
    ("aggregation: engine apply", lambda s: _aggregation(s) and _frames_in(s, "core/engine.py", "apply")),
    ("aggregation: facts table write (changelog)", lambda s: _aggregation(s) and _frames_in(s, "faust/tables/")
     and not _frames_in(s, "streams/aggregation.py", "flush")),
    ("aggregation: flush (render, publish, alerts, boards)",
     lambda s: _aggregation(s) and _frames_in(s, "streams/aggregation.py", "flush")),
    ("aggregation: flush: render", lambda s: _frames_in(s, "core/engine.py", "render")),
    ("Faust stream iteration (both agents)", lambda s: _frames_in(s, "faust/streams.py")),
    ("aiokafka (fetch, produce, commit)", lambda s: _frames_in(s, "aiokafka/")),
    ("outside the agents (Faust and aiokafka tasks, web, timers)", lambda s: not _ingest(s) and not _aggregation(s)),
)


def parse_collapsed(text: str) -> list[tuple[Stack, int]]:
    """(stack from the outermost frame in, sample count) per line of py-spy's raw output."""
    out = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append((stack.split(";"), int(count)))
    return out


def summarise(text: str, top: int = 12) -> dict:
    """Shares (percent of samples) per stage, and the functions with the most self time."""
    samples = parse_collapsed(text)
    total = sum(count for _, count in samples)
    if not total:
        return {"samples": 0, "stages": {}, "top_self": []}
    stages = {name: round(100 * sum(c for stack, c in samples if test(stack)) / total, 1) for name, test in STAGES}
    leaves: Counter[str] = Counter()
    for stack, count in samples:
        leaves[stack[-1]] += count
    top_self = [[frame, round(100 * count / total, 1)] for frame, count in leaves.most_common(top)]
    return {"samples": total, "stages": stages, "top_self": top_self}


def py_spy() -> str:
    """The py-spy executable (next to this Python first), or a one-line error."""
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise FileNotFoundError(
            "py-spy is not installed: pip install 'sales-scorecard[profile]' (or make bench-profile)")
    return found


class Sampler:
    """py-spy recording one process until ``stop``."""

    def __init__(self, pid: int, output: Path, rate: int = RATE) -> None:
        self.output = output
        self.proc = subprocess.Popen(
            [py_spy(), "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--nonblocking",
             "--output", str(output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def stop(self) -> dict:
        """Stop sampling; the summary of what was recorded."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if not self.output.exists():
            raise RuntimeError(f"py-spy recorded nothing: {err.decode(errors='replace').strip()[-300:]}")
        summary = summarise(self.output.read_text())
        summary["collapsed_stacks"] = str(self.output)
        return summary
