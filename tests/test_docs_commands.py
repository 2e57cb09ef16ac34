"""Every ``creditgraph`` command of README.md and docs/*.md runs on the demo data home.

The commands are read from the Markdown code blocks (``bash`` or untagged), in order:
README.md, then docs/*.md by name. One ``creditgraph demo`` is built for the test; the
commands run in a working folder whose data home is ``./var`` (``CREDITGRAPH_HOME`` unset,
as for a reader in the repository after ``./dev demo``), and each must exit 0. A documented
``creditgraph demo`` restores that build instead of building it again: the same seeded
command, run once.

The runner follows the conventions of the docs:

- ``...`` stands for the arguments of the first command of its block with the same
  subcommand (``plan draw ... --seed 3``);
- ``<plan-id>`` is the plan that the last ``plan draw`` recorded;
- ``export NAME=VALUE`` sets the environment of the commands after it;
- files a reader brings (complaints, inspection results, gradings of their own) are made
  from the demo just before the first command that names them (:data:`USER_FILES`); so
  are the contract files the mapping scripts of docs/bring-your-own-data.md make from the
  sample exports in tests/byod/, by running those scripts as the doc's line before does.

Commands that cannot run here are :data:`EXCEPTIONS`, each with its reason, and the list
must be exactly the commands the rules find: ``serve`` and ``board`` serve until stopped,
so they run with the server call replaced (everything up to listening runs); commands of a
block that starts or points at a Neo4j server, or with ``--neo4j``, are parsed only (their
subcommand and options must exist; tests/test_neo4j_equality.py runs ``demo --neo4j`` on a
live server); so are commands with ``--engine spark`` (tests/test_spark.py runs those jobs).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from cli.app import app
from graph_model.identifiers import is_valid_uscc

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console"}
NEO4J_SETUP = re.compile(r"dev neo4j start|docker compose|CREDITGRAPH_NEO4J_URI=")
PLAN_ID = re.compile(r"^plan (\S+) ", re.M)

SERVES = "serves until stopped: runs with the server call replaced"
NEO4J = "needs a Neo4j server: arguments parsed only"
SPARK = "runs on Spark: arguments parsed only (tests/test_spark.py runs these jobs, local mode)"
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("README.md", "creditgraph board"): SERVES,
    ("README.md", "creditgraph serve --port 8000"): SERVES,
    ("README.md", "creditgraph demo --neo4j"): NEO4J,
    ("README.md", "creditgraph generate --out city/ --enterprises 100000 --seed 7"): NEO4J,
    ("README.md", "creditgraph load city/"): NEO4J,
    ("README.md", "creditgraph stats"): NEO4J,
    ("README.md", "creditgraph snapshot --as-of 2024-12-31"): NEO4J,
    ("docs/api.md", "creditgraph serve --port 8000"): SERVES,
    ("docs/api.md", "creditgraph serve"): SERVES,
    ("docs/dashboard.md", "creditgraph board"): SERVES,
    ("docs/dashboard.md", "creditgraph board --port 8050 --language en --as-of 2025-11-30"): SERVES,
    ("docs/dashboard.md", "creditgraph board --host 0.0.0.0 --allow-remote"): SERVES,
    ("docs/neo4j.md", "creditgraph demo --neo4j --enterprises 6000"): NEO4J,
    ("docs/scale.md", "creditgraph features --as-of 2025-12-31 --engine spark"): SPARK,
    (
        "docs/scale.md",
        "creditgraph score --as-of 2025-12-31 --engine spark --master spark://spark-master:7077",
    ): SPARK,
    ("docs/neo4j.md", "creditgraph stats"): NEO4J,
}
"""(file, command) → why it does not simply run here. A command written twice in one file
with the same reason is one entry."""


@dataclass(frozen=True)
class DocCommand:
    """A ``creditgraph`` command of the docs, as written (placeholders not yet filled)."""

    file: str
    line: int
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    neo4j: bool
    block: int

    @property
    def text(self) -> str:
        return "creditgraph " + shlex.join(self.argv)

    def why_not_run(self) -> str | None:
        """The rule that keeps this command from simply running here, if any."""
        if self.neo4j or "--neo4j" in self.argv:
            return NEO4J
        if self.argv[0] in ("serve", "board"):
            return SERVES
        engine = self.argv.index("--engine") + 1 if "--engine" in self.argv else len(self.argv)
        if self.argv[engine : engine + 1] == ("spark",):
            return SPARK
        return None


def _logical_lines(block: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line offset, raw text, shell words) of each command line of a block: backslash
    continuations and quotes over several lines joined, comments dropped."""
    lines = block.split("\n")
    k = 0
    while k < len(lines):
        start, text = k, lines[k]
        while True:
            if text.endswith("\\") and k + 1 < len(lines):
                k += 1
                text = text[:-1] + " " + lines[k]
                continue
            try:
                words = shlex.split(text, comments=True)
            except ValueError:  # a quote open at the end of the line
                if k + 1 >= len(lines):
                    raise
                k += 1
                text += "\n" + lines[k]
                continue
            break
        k += 1
        if words:
            yield start, text, words


def doc_commands() -> list[DocCommand]:
    """Every ``creditgraph`` command of the docs, in reading order."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(ROOT))
        for number, match in enumerate(BLOCK.finditer(text)):
            if match[1] not in SHELL_BLOCKS:
                continue
            first = text[: match.start(2)].count("\n") + 1
            env: dict[str, str] = {}
            neo4j = False
            for offset, raw, words in _logical_lines(match[2]):
                neo4j = neo4j or bool(NEO4J_SETUP.search(raw))
                parts: list[list[str]] = [[]]
                for word in words:
                    if word == "&&":
                        parts.append([])
                    else:
                        parts[-1].append(word)
                for part in parts:
                    if part and part[0] == "export" and "=" in part[1]:
                        key, value = part[1].split("=", 1)
                        env[key] = value
                    elif part and Path(part[0]).name == "creditgraph":
                        found.append(
                            DocCommand(
                                name,
                                first + offset,
                                tuple(part[1:]),
                                tuple(env.items()),
                                neo4j,
                                number,
                            )
                        )
    return found


# -- Files a reader brings, made from the demo ----------------------------------------------


def _scores(work: Path) -> list[Path]:
    """The stored scores files of the home, oldest date first."""
    return sorted((work / "var" / "scores").glob("*/*.parquet"))


def _complaints(work: Path) -> None:
    ids = pq.read_table(_scores(work)[-1], columns=["id"])["id"].to_pylist()
    pacsv.write_csv(
        pa.table({"id": ids[:2], "reason": ["投诉举报", "转办线索"]}), work / "complaints.csv"
    )


def _results(work: Path) -> None:
    published = pacsv.read_csv(
        work / "plan.csv",
        convert_options=pacsv.ConvertOptions(column_types={"enterprise_id": pa.string()}),
    )
    firms = published["enterprise_id"].to_pylist()[:3]
    findings = ["no_problem", "problem_found", "not_found_at_address"][: len(firms)]
    table = pa.table(
        {"enterprise_id": firms, "finding": findings, "inspected_on": ["2026-01-15"] * len(firms)}
    )
    pacsv.write_csv(table, work / "results.csv")


def _gradings(work: Path) -> None:
    previous, current = _scores(work)[-2:]
    for path, name in ((current, "g.parquet"), (previous, "g0.parquet")):
        pq.write_table(pq.read_table(path, columns=["id", "grade", "score"]), work / name)


def _mapped(script: str, sample: str, *outputs: str) -> Callable[[Path], None]:
    """``python docs/examples/<script>.py tests/byod/<sample>/ OUTPUTS`` in the work folder."""

    def make(work: Path) -> None:
        command = [sys.executable, str(ROOT / "docs" / "examples" / f"{script}.py")]
        command += [str(ROOT / "tests" / "byod" / sample), *(str(work / o) for o in outputs)]
        subprocess.run(command, check=True, capture_output=True)

    return make


def _outcomes(work: Path) -> None:
    """``(cat store-outcomes.csv; tail -n +2 bank-labels.csv) > outcomes.csv``."""
    store, bank = (work / name for name in ("store-outcomes.csv", "bank-labels.csv"))
    text = store.read_text(encoding="utf-8").rstrip("\n") + "\n"
    (work / "outcomes.csv").write_text(
        text + bank.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8"
    )


_BANK = _mapped("bank_ledger", "bank", "bank-contract", "bank-labels.csv")

USER_FILES: dict[str, Callable[[Path], None]] = {
    "complaints.csv": _complaints,  # id,reason: two firms of the demo
    "results.csv": _results,  # three objects of the plan exported to plan.csv
    "g.parquet": _gradings,  # "your own gradings": the demo's stored grades
    "g0.parquet": _gradings,
    # docs/bring-your-own-data.md: a mapping script's output from its sample export
    "registry-contract": _mapped("registry_export", "registry", "registry-contract"),
    "provider-contract": _mapped("provider_export", "provider", "provider-contract"),
    "bank-contract": _BANK,
    "bank-labels.csv": _BANK,
    "outcomes.csv": _outcomes,  # the store's outcomes and the bank's defaults, merged
}


# -- Running them ---------------------------------------------------------------------------


def _invoke(argv: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.output


def _parse_only(argv: tuple[str, ...]) -> None:
    """Resolve the subcommand and parse its options, without running it."""
    command: Any = typer.main.get_command(app)
    args = list(argv)
    while hasattr(command, "commands"):
        command = command.commands[args.pop(0)]
    command.make_context(command.name, args)


def _filled(cmd: DocCommand, commands: list[DocCommand], plan_id: str | None) -> list[str]:
    """The command's words with ``...`` and ``<plan-id>`` filled in."""
    argv: list[str] = []
    for k, word in enumerate(cmd.argv):
        if word == "...":
            prefix = cmd.argv[:k]
            base = next(
                c
                for c in commands
                if (c.file, c.block) == (cmd.file, cmd.block)
                and c.argv[:k] == prefix
                and "..." not in c.argv
            )
            argv += base.argv[k:]
        elif word == "<plan-id>":
            if plan_id is None:
                raise LookupError("no plan was drawn before it")
            argv.append(plan_id)
        else:
            argv.append(word)
    return argv


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data home ``creditgraph demo`` makes, built once."""
    home = tmp_path_factory.mktemp("docs-demo") / "var"
    with pytest.MonkeyPatch.context() as env:
        _clean_env(env)
        env.setenv("CREDITGRAPH_HOME", str(home))
        code, out = _invoke(["demo"])
    assert code == 0, out
    return home


def _clean_env(env: pytest.MonkeyPatch) -> None:
    """No CREDITGRAPH_* setting of the machine, as for a reader's fresh shell."""
    for name in list(os.environ):
        if name.startswith("CREDITGRAPH_"):
            env.delenv(name)


def test_the_exceptions_are_exactly_the_commands_that_cannot_run_here() -> None:
    found = {(c.file, c.text): c.why_not_run() for c in doc_commands() if c.why_not_run()}
    assert found == EXCEPTIONS


def test_every_documented_command_runs_on_the_demo(
    demo_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dash
    import uvicorn
    from fastapi.testclient import TestClient

    served: list[str] = []

    def serve_api(api: Any, **_: Any) -> None:
        # Start-up and shutdown run (the shutdown closes the store the server opened).
        with TestClient(api):
            served.append("api")

    monkeypatch.setattr(uvicorn, "run", serve_api)
    monkeypatch.setattr(dash.Dash, "run", lambda *a, **k: served.append("board"))
    _clean_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(demo_build, tmp_path / "var")
    commands = doc_commands()
    failures, plan_id, ran = [], None, 0
    for cmd in commands:
        where = f"{cmd.file}:{cmd.line}: {cmd.text}"
        try:
            argv = _filled(cmd, commands, plan_id)
        except LookupError as exc:
            failures.append(f"{where}\n  {exc}")
            continue
        if cmd.why_not_run() in (NEO4J, SPARK):
            try:
                _parse_only(tuple(argv))
            except Exception as exc:
                failures.append(f"{where}\n  does not parse: {exc}")
            continue
        if argv == ["demo"]:
            shutil.rmtree(tmp_path / "var")
            shutil.copytree(demo_build, tmp_path / "var")
            continue
        for name, make in USER_FILES.items():
            if any(Path(word).name == name for word in argv) and not (tmp_path / name).exists():
                make(tmp_path)
        for key, value in cmd.env:
            if not key.startswith("CREDITGRAPH_NEO4J_"):
                monkeypatch.setenv(key, value)
        before = len(served)
        code, out = _invoke(argv)
        ran += 1
        if code != 0:
            failures.append(f"{where}\n  exit {code}:\n{out}")
        elif cmd.why_not_run() == SERVES and len(served) != before + 1:
            failures.append(f"{where}\n  did not start its server:\n{out}")
        drawn = PLAN_ID.search(out) if argv[:2] == ["plan", "draw"] and code == 0 else None
        plan_id = drawn[1] if drawn else plan_id
    assert not failures, f"{len(failures)} of {ran} documented commands failed:\n\n" + "\n\n".join(
        failures
    )


def test_sample_ids_in_the_docs_are_firms_of_the_demo(tmp_path: Path) -> None:
    from cli.data import DEMO_ENTERPRISES
    from loaders.generator import generate_city

    generate_city(tmp_path, DEMO_ENTERPRISES, seed=0)
    firms = set(pq.read_table(tmp_path / "enterprises.parquet", columns=["id"])["id"].to_pylist())
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for found in re.finditer(r"(?<![0-9A-Z])9[0-9A-Z]{17}(?![0-9A-Z])", text):
            uscc = found[0]
            line = text[: found.start()].count("\n") + 1
            # An invalid code is an example of a refused one; a valid one must be a demo firm.
            if is_valid_uscc(uscc):
                assert uscc in firms, f"{path.name}:{line}: {uscc} is not a firm of the demo"
