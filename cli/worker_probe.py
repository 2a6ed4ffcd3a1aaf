"""Reading a running worker over HTTP: a GET and its Prometheus samples.

Used by the benchmark and the tests, which watch real worker processes from outside.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET a path of a worker on this host; (status, body), status 0 when unreachable."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b""


def _samples(exposition: str, name: str, labels: dict[str, str]) -> Iterator[float]:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    for line in exposition.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            head, _, value = line.rpartition(" ")
            if all(w in head for w in wanted):
                yield float(value)


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """The value of the first sample of ``name`` with ``labels`` (0 when absent)."""
    return next(_samples(exposition, name, labels), 0.0)


def metric_sum(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(_samples(exposition, name, labels))
