"""The house stays readable: no module of the project over 600 lines, no function over 80,
unless a ``# long: <why>`` comment says why (on the lines just above a function's ``def``
or its decorators; in the first lines of a module)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph_model", "loaders", "risk", "access", "api", "dashboard", "cli")
MODULE_LINES = 600
FUNCTION_LINES = 80
MARK = "# long:"


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _says_why(lines: list[str], first: int) -> bool:
    """A ``# long:`` comment on the lines just above line ``first`` (1-based), comments only."""
    at = first - 2
    while at >= 0 and lines[at].strip().startswith("#"):
        if lines[at].strip().startswith(MARK) and len(lines[at].strip()) > len(MARK) + 10:
            return True
        at -= 1
    return False


def too_long(path: Path) -> list[str]:
    """What in ``path`` is over the limits without saying why."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    head = [line.strip() for line in lines[:40]]
    if len(lines) > MODULE_LINES and not any(
        line.startswith(MARK) and len(line) > len(MARK) + 10 for line in head
    ):
        found.append(f"{len(lines)} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if length > FUNCTION_LINES and not _says_why(lines, first):
                found.append(f"{node.name} (line {node.lineno}): {length} lines")
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_short_or_say_why(path: Path) -> None:
    assert not too_long(path), (
        f"{path.relative_to(ROOT)}: over {MODULE_LINES} lines a module, over {FUNCTION_LINES} "
        f"a function, without a `{MARK} <why>` comment: {too_long(path)}"
    )


def test_the_check_finds_what_is_too_long(tmp_path: Path) -> None:
    body = "\n".join(f"    x = {i}" for i in range(FUNCTION_LINES))
    plain = tmp_path / "plain.py"
    plain.write_text(f"def f() -> None:\n{body}\n", encoding="utf-8")
    assert too_long(plain) == [f"f (line 1): {FUNCTION_LINES + 1} lines"]
    marked = tmp_path / "marked.py"
    marked.write_text(
        f"# long: one table of the contract, row by row\ndef f() -> None:\n{body}\n",
        encoding="utf-8",
    )
    assert too_long(marked) == []
    bare = tmp_path / "bare.py"
    bare.write_text(f"# long:\ndef f() -> None:\n{body}\n", encoding="utf-8")
    assert too_long(bare) == [f"f (line 2): {FUNCTION_LINES + 1} lines"]
