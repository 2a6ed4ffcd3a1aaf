"""Run mypy on the installed package ``sales_scorecard`` (``make lint``).

The package's folders are mapped by ``[tool.setuptools.package-dir]`` (``core/`` is
``sales_scorecard.core``, ...). The editable install finds them through an import hook
that mypy does not run, so this script first lays a tree of symbolic links in
``.cache/typecheck`` that has the installed layout (``sales_scorecard/core`` -> ``core/``),
read from the same table of pyproject.toml. mypy's configuration ([tool.mypy]) points its
search path there; reported paths are turned back into the repository's own
(``core/money.py``, not ``.cache/typecheck/sales_scorecard/core/money.py``).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / ".cache" / "typecheck"


def package_dirs(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, Path]:
    """Import name -> source folder, as ``[tool.setuptools.package-dir]`` maps them."""
    with open(pyproject, "rb") as f:
        table = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {name: (pyproject.parent / folder).resolve() for name, folder in table.items()}


def lay_tree(mapping: dict[str, Path], tree: Path = TREE) -> None:
    """Lay ``tree`` anew: a folder per mapped package, whose entries link to the source
    folder's, except for mapped sub-packages, which get folders of their own."""
    shutil.rmtree(tree, ignore_errors=True)
    for name in sorted(mapping, key=lambda n: n.count(".")):
        target = tree.joinpath(*name.split("."))
        target.mkdir(parents=True, exist_ok=True)
        mapped_children = {child for parent, _, child in (other.rpartition(".") for other in mapping) if parent == name}
        for entry in mapping[name].iterdir():
            if entry.name not in mapped_children and entry.name != "__pycache__":
                (target / entry.name).symlink_to(entry)


def real_paths(text: str, tree: Path = TREE, root: Path = ROOT) -> str:
    """mypy's output with paths inside ``tree`` replaced by the files they link to."""
    def repl(match: re.Match[str]) -> str:
        real = Path(os.path.realpath(root / match.group(0)))
        return str(real.relative_to(root)) if real.is_relative_to(root) else str(real)

    prefix = re.escape(str(tree.relative_to(root)) + os.sep)
    return re.sub(prefix + r"[^\s:]+\.pyi?", repl, text)


def main(argv: list[str]) -> int:
    """Lay the tree and run mypy with pyproject.toml's configuration; mypy's exit status."""
    from mypy import api

    os.chdir(ROOT)
    lay_tree(package_dirs())
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), *argv])
    sys.stdout.write(real_paths(out))
    sys.stderr.write(real_paths(err))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
