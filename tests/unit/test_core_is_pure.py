"""The pure core never imports the streaming framework, Kafka clients or I/O-bound packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("faust", "mode", "aiokafka", "kafka", "aiohttp", "prometheus_client", "sales_scorecard.streams",
             "sales_scorecard.agents", "sales_scorecard.cli")
BARE = ("core", "schemas", "streams", "agents", "cli")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    for name in _imports(path):
        assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), f"{path.name} imports {name}"


@pytest.mark.parametrize(
    "path",
    sorted(p for d in BARE for p in (CORE.parent / d).glob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_no_bare_imports_of_generic_folder_names(path: Path) -> None:
    # `agents`, `schemas` and friends collide with other PyPI packages: import via sales_scorecard.
    for name in _imports(path):
        assert name.split(".")[0] not in BARE, f"{path} imports bare {name}"
