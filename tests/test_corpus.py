"""The hostile and broken input corpus: one folder per case under ``tests/corpus/``.

Each case holds ``input/`` (the folder given to ``creditgraph load``) and ``expected.toml``
(what it proves, and the exact outcome). Every case is loaded through the CLI into a copy of
a data home that already holds ``tests/corpus/_base``, so that a refused load can be shown to
leave a non-empty store exactly as it was. ``tests/corpus/README.md`` lists the keys.

Beyond each case's own expectations, every case must:
- never print or write an input's resident ID number unmasked (stdout, stderr, reject and
  warning files), nor a traceback;
- exit 2 (refused) exactly when the store is left unchanged; 3 when rows were rejected
  but the rest loaded, 0 when every row loaded.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import SALT, graph_state
from typer.testing import CliRunner

import cli.common
from cli.app import app
from graph_model.identifiers import is_valid_uscc
from graph_model.settings import Settings
from graph_model.store.ladybug import LadybugStore

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.toml").is_file())
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_INTERNALS = ("Traceback", 'File "', '.py"', ".pxi")
_KEYS = {"about", "strict", "max_reject_rate", "encoding", "setup", "during", "env", "outcome"}
_OUTCOME_KEYS = {"exit", "message", "absent", "rejects", "warnings", "accepted", "unchanged"}


@dataclass(frozen=True)
class Case:
    """A corpus case as its ``expected.toml`` states it."""

    name: str
    about: str
    strict: bool = False
    max_reject_rate: float | None = None
    encoding: str | None = None
    setup: tuple[str, ...] = ()
    during: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    exit: int = 0
    message: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    rejects: tuple[tuple[Any, ...], ...] = ()
    warnings: tuple[tuple[Any, ...], ...] = ()
    accepted: int | None = None
    unchanged: bool = False

    @classmethod
    def read(cls, name: str) -> Case:
        raw = tomllib.loads((CORPUS / name / "expected.toml").read_text(encoding="utf-8"))
        assert set(raw) <= _KEYS, f"{name}: unknown keys {set(raw) - _KEYS}"
        outcome = raw.get("outcome", {})
        assert set(outcome) <= _OUTCOME_KEYS, f"{name}: unknown {set(outcome) - _OUTCOME_KEYS}"
        return cls(
            name=name,
            about=raw["about"],
            strict=raw.get("strict", False),
            max_reject_rate=raw.get("max_reject_rate"),
            encoding=raw.get("encoding"),
            setup=tuple(raw.get("setup", ())),
            during=raw.get("during"),
            env=raw.get("env", {}),
            exit=outcome.get("exit", 0),
            message=tuple(outcome.get("message", ())),
            absent=tuple(outcome.get("absent", ())),
            rejects=tuple(tuple(r) for r in outcome.get("rejects", ())),
            warnings=tuple(tuple(r) for r in outcome.get("warnings", ())),
            accepted=outcome.get("accepted"),
            unchanged=outcome.get("unchanged", False),
        )


def _settings(home: Path) -> Settings:
    return Settings(home=home, person_id_salt=SALT)


def _state(db: Path) -> dict[str, Any]:
    with LadybugStore(db, read_only=True) as store:
        return graph_state(store)


def _rows(state: dict[str, Any]) -> int:
    counts = state["counts"]
    return sum((*counts.nodes.values(), *counts.relations.values(), *counts.records.values()))


def _use_env(monkeypatch: pytest.MonkeyPatch, home: Path, extra: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith("CREDITGRAPH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CREDITGRAPH_HOME", str(home))
    monkeypatch.setenv("CREDITGRAPH_PERSON_ID_SALT", SALT)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def base_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A data home holding ``_base``, and its state."""
    home = tmp_path_factory.mktemp("corpus-base")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _use_env(monkeypatch, home, {})
        result = CliRunner().invoke(app, ["load", str(CORPUS / "_base"), "--strict", "--quiet"])
    assert result.exit_code == 0, result.output
    yield home, _state(_settings(home).embedded_store_path)


def _act(action: str, folder: Path) -> Callable[[], None]:
    verb, name = action.split(" ", 1)
    path = folder / name
    if verb == "truncate":

        def truncate() -> None:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

        return truncate
    if verb == "delete":
        return path.unlink
    raise ValueError(f"unknown action {action!r}")


def _setup(action: str, folder: Path) -> None:
    verb, name = action.split(" ", 1)
    if verb == "fifo":
        os.mkfifo(folder / name)
        return
    raise ValueError(f"unknown setup {action!r}")


def _report(folder: Path, kind: str) -> list[tuple[str, int, str, str, str]]:
    files = sorted(folder.glob(f"{kind}-*.csv")) if folder.is_dir() else []
    assert len(files) <= 1
    if not files:
        return []
    with files[0].open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [(r["file"], int(r["line"]), r["field"], r["value"], r["reason"]) for r in rows]


def _raw_ids(folder: Path) -> set[str]:
    """Every run in the input that may be a resident ID number (valid USCCs aside)."""
    found: set[str] = set()
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if path.suffix == ".parquet":
            try:
                text = str(pq.read_table(path).to_pylist())
            except Exception:
                continue
        elif path.suffix == ".xlsx" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as book:  # the sheets' XML, where the cells are
                text = "".join(
                    book.read(p).decode("utf-8", errors="replace")
                    for p in book.namelist()
                    if p.endswith(".xml") and book.getinfo(p).file_size < 1 << 20
                )
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
        found |= {m for m in _ID_LIKE.findall(text) if not is_valid_uscc(m)}
    return found


def _check_rows(
    got: list[tuple[str, int, str, str, str]], expected: tuple[tuple[Any, ...], ...]
) -> None:
    assert [g[:4] for g in got] == [tuple(e[:4]) for e in expected]
    for (*_, reason), (*_, words) in zip(got, expected, strict=True):
        assert words in reason, (reason, words)


def test_every_case_says_what_it_proves() -> None:
    assert len(CASES) >= 40
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir() and p.name != "_base"}
    assert folders == set(CASES)
    for name in CASES:
        case = Case.read(name)
        # git keeps no empty folder: a case whose input is made by `setup` may have none.
        assert case.about and ((CORPUS / name / "input").is_dir() or case.setup)
        assert case.exit in (0, 2, 3)
        assert case.unchanged == (case.exit == 2), f"{name}: a refused load must change nothing"
        # 3 exactly when rows were rejected (and the load was written).
        assert (case.exit == 3) == (case.exit != 2 and bool(case.rejects)), name


@pytest.mark.parametrize("name", CASES)
def test_case(
    name: str,
    base_home: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = Case.read(name)
    base, before = base_home
    home = tmp_path / "home"
    shutil.copytree(base, home)
    work = tmp_path / "case"
    shutil.copytree(CORPUS / name, work, symlinks=True)
    folder = work / "input"
    folder.mkdir(exist_ok=True)
    for action in case.setup:
        _setup(action, folder)
    if case.during:
        act = _act(case.during, folder)
        target = f"validate {case.during.split(' ', 1)[1]}"

        def bars(quiet: bool) -> Callable[[str, int | None], Callable[[int], None]]:
            def stage(name: str, total: int | None) -> Callable[[int], None]:
                if name == target:
                    act()
                return lambda n: None

            return stage

        monkeypatch.setattr(cli.common, "progress_bars", bars)
    secrets = _raw_ids(work)
    db = _settings(home).embedded_store_path
    _use_env(monkeypatch, home, case.env)

    args = ["load", str(folder), "--quiet", *(["--strict"] if case.strict else [])]
    if case.max_reject_rate is not None:
        args += ["--max-reject-rate", str(case.max_reject_rate)]
    if case.encoding:
        args += ["--encoding", case.encoding]
    result = CliRunner().invoke(app, args)
    output = result.output

    assert result.exit_code == case.exit, output
    for words in case.message:
        assert words in output, (words, output)
    reports = home / "rejects"
    rejects, warnings = _report(reports, "rejects"), _report(reports, "warnings")
    _check_rows(rejects, case.rejects)
    _check_rows(warnings, case.warnings)
    written = output + "".join(p.read_text(encoding="utf-8") for p in reports.glob("*.csv"))
    for secret in secrets:
        assert secret not in written, f"raw ID number {secret[:6]}… echoed"
    for words in (*case.absent, *_INTERNALS):
        assert words not in written, words
    after = _state(db)
    if case.unchanged:
        assert after == before
    if case.accepted is not None:
        assert _rows(after) - _rows(before) == case.accepted
