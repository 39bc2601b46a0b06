"""Fails when a module or a function has grown past what reads in one sitting.

Every ``.py`` file under the repository (or under the paths given), except ``tests/``,
migrations, ``.venv`` and hidden or cache directories, may have at most ``MAX_MODULE_LINES``
lines, and every function or method (nested ones too) at most ``MAX_FUNCTION_LINES``, counted
from its ``def`` line to its last line, docstring included (decorators not). A module past the
limit becomes a package split by sub-domain (shared/STYLE.md); a function past it is split into
named steps. No allow-list: an exception would be the first of many.

Usage: ``python scripts/check_code_shape.py [PATH ...]``; exit status 1 lists the offenders.
Pure Python (``ast``), no imports from the project.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {"tests", "migrations", ".venv", "__pycache__", "node_modules"}


def python_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        if path.suffix == ".py":
            yield path
        return
    for child in sorted(path.iterdir()):
        if child.is_dir():
            if child.name in SKIPPED_DIRS or child.name.startswith("."):
                continue
            yield from python_files(child)
        elif child.suffix == ".py":
            yield child


def long_functions(tree: ast.AST) -> Iterator[tuple[int, str, int]]:
    """``(def line, qualified name, lines)`` of every function longer than the limit."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[int, str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    yield child.lineno, name, lines
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def offences(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    found = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{shown}: module of {lines} lines (at most {MAX_MODULE_LINES})")
    tree = ast.parse(text, filename=str(path))
    for line, name, length in long_functions(tree):
        found.append(
            f"{shown}:{line}: function {name} of {length} lines (at most {MAX_FUNCTION_LINES})"
        )
    return found


def main(argv: list[str]) -> int:
    roots = [Path(arg).resolve() for arg in argv] or [ROOT]
    found = [offence for root in roots for path in python_files(root) for offence in offences(path)]
    for offence in found:
        print(offence)
    if found:
        print(f"{len(found)} offender(s): see docs/architecture.md, 'Where things are'.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
