"""The command line, run in-process on a small city in a temporary data home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_resident_id
from typer.testing import CliRunner

from cli.app import app
from graph_model.rates import read_rates


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(tmp_path / "home"))
    # These tests are about the embedded store, even where Neo4j is set up for the contract suite.
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    return tmp_path / "home"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_a_bad_rate_table_stops_a_command_that_converts(home: Path) -> None:
    home.mkdir()
    (home / "rates.csv").write_text(
        "currency,cny_per_unit,as_of,source\nUSD,7.1,2025-06-30,ok\nEUR,-1,2025-06-30,bad\n",
        encoding="utf-8",
    )
    code, out = run("features", "--as-of", "2025-06-30")
    assert code == 2
    assert f"{home / 'rates.csv'}, line 3, field cny_per_unit:" in out, out


def test_demo_loads_a_city_and_reports_the_store(home: Path) -> None:
    code, out = run("demo", "--enterprises", "500", "--seed", "3")
    assert code == 0, out
    assert "rejected" in out and "Enterprise" in out and "demo done" in out
    # Its USD guarantees convert at a stated, dated rate (graph_model/rates.py reads it).
    rates = read_rates(home / "rates.csv").rates
    assert [(r.currency, r.cny_per_unit) for r in rates] == [("USD", 7.1)]
    assert "illustrative" in rates[0].source and f"on {rates[0].as_of}" in out
    code, stats = run("stats")
    assert code == 0
    enterprises = next(line for line in stats.splitlines() if "Enterprise" in line)
    assert enterprises.split()[-1] == "500"
    # A second demo replaces its own store and gives the same counts.
    assert run("demo", "--enterprises", "500", "--seed", "3")[0] == 0
    assert run("stats")[1] == stats


def test_demo_refuses_to_replace_a_store_it_did_not_make(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "city"
    assert run("generate", "--out", str(data), "--enterprises", "300")[0] == 0
    assert run("load", str(data), "--quiet")[0] == 0
    code, out = run("demo", "--enterprises", "300")
    assert code == 2
    assert "not a demo" in out
    assert "Enterprise" in run("stats")[1]


def test_load_refusal_is_a_message_not_a_traceback(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "enterprises.csv").write_text("name\nfoo\n", encoding="utf-8")
    code, out = run("load", str(bad), "--quiet")
    assert code == 2
    assert "missing required column(s) id" in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("id,name\n", "nothing loaded from {folder}: the files hold no data rows"),
        (
            "id,name\n91350100M000100Y44,bad check\n",
            "load refused, nothing written: every row of enterprises.csv (1) was rejected",
        ),
    ],
    ids=["header only", "every row rejected"],
)
def test_a_load_that_loads_nothing_is_not_a_success(
    home: Path, tmp_path: Path, content: str, why: str
) -> None:
    folder = tmp_path / "nothing"
    folder.mkdir()
    (folder / "enterprises.csv").write_text(content, encoding="utf-8")
    code, out = run("load", str(folder), "--quiet")
    assert code == 2, out
    assert why.format(folder=folder) in out


def test_strict_load_prints_rejects_and_writes_nothing(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "enterprises.csv").write_text(
        "id,name\n91350100M000100Y43,ok\n91350100M000100Y44,bad check\n", encoding="utf-8"
    )
    code, out = run("load", str(bad), "--strict", "--quiet")
    assert code == 2
    assert "enterprises.csv line 3, id" in out and "nothing written" in out
    code, out = run("stats")
    enterprises = next(line for line in out.splitlines() if "Enterprise" in line)
    assert enterprises.split()[-1] == "0"


def test_stats_without_a_store_says_what_to_do(home: Path) -> None:
    code, out = run("stats")
    assert code == 2
    assert "creditgraph load" in out


@pytest.mark.parametrize("command", ["serve", "board"])
def test_bad_api_keys_stop_the_servers_in_one_line_that_shows_no_key(
    home: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir()
    monkeypatch.setenv("CREDITGRAPH_API_KEYS", '{"a-secret-key": {"name": "x", "role": "boss"}}')
    code, out = run(command)
    assert code == 2
    assert out == (
        "error: invalid CREDITGRAPH_* settings: CREDITGRAPH_API_KEYS entry 1: role: Input "
        "should be 'regulator', 'bank' or 'analyst'\n"
    )


def test_the_jobs_do_not_read_the_api_keys(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ``serve`` and ``board`` take keys (access/settings.py): a job runs whatever the
    servers' keys say."""
    home.mkdir()
    monkeypatch.setenv("CREDITGRAPH_API_KEYS", "not JSON")
    code, out = run("plan", "list")
    assert code == 0, out
    assert "no plans in" in out


def test_snapshot_writes_a_readable_folder(home: Path) -> None:
    from graph_model.snapshot import Snapshot

    assert run("demo", "--enterprises", "400")[0] == 0
    code, out = run("snapshot", "--as-of", "2023-06-30")
    assert code == 0, out
    snap = Snapshot.load(home / "snapshots" / "2023-06-30")
    assert 0 < snap.n_enterprises <= 400
    assert run("snapshot", "--as-of", "June")[0] != 0


def test_features_takes_the_snapshot_it_needs_and_saves_the_matrix(home: Path) -> None:
    from risk.features import FeatureMatrix
    from risk.features.catalog import load_catalog

    assert run("demo", "--enterprises", "400")[0] == 0
    code, out = run("features", "--as-of", "2024-06-30")
    assert code == 0, out
    assert "snapshot 2024-06-30" in out  # taken because none was saved
    assert "guarantees" in out and "community" in out  # time per family
    matrix = FeatureMatrix.load(home / "features" / "2024-06-30.parquet")
    assert matrix.names == load_catalog().names
    code, out = run("features", "--as-of", "2024-06-30", "--family", "own")
    assert code == 0 and "snapshot" not in out and "not saved" in out
    code, out = run("features", "--as-of", "2024-06-30", "--family", "tarot")
    assert code != 0 and "unknown --family" in out


def test_plan_draw_show_export_replay_and_results(home: Path, tmp_path: Path) -> None:
    import json

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from graph_model.snapshot import Snapshot

    assert run("demo", "--enterprises", "400")[0] == 0
    assert run("snapshot", "--as-of", "2024-06-30")[0] == 0
    snap = Snapshot.load(home / "snapshots" / "2024-06-30")
    ids = snap.enterprises["id"].to_pylist()
    grades = tmp_path / "grades.csv"
    score = [i / len(ids) for i in range(len(ids))]
    grade = ["A" if s < 0.7 else "B" if s < 0.9 else "C" if s < 0.97 else "D" for s in score]
    pacsv.write_csv(pa.table({"id": ids, "grade": grade, "score": score}), grades)
    inspectors = tmp_path / "inspectors.csv"
    rows = "".join(f"I{k},检查员{k},,,20,,\n" for k in range(12))
    inspectors.write_text(
        "inspector_id,name,id_number,region_code,capacity,former_employers,relatives\n" + rows,
        encoding="utf-8",
    )
    common = ["--grades", str(grades), "--inspectors", str(inspectors)]
    code, out = run(
        "plan", "draw", "--as-of", "2024-06-30", "--item", "广告发布", *common, "--seed", "5",
        "--ratio", "C=0.5", "--extension-hops", "2",
    )  # fmt: skip
    assert code == 0, out
    plan_id = out.split("plan ")[-1].split(" ")[0]
    assert (home / "plans" / f"{plan_id}.json").is_file()
    assert plan_id in run("plan", "list")[1]
    assert "广告发布" in run("plan", "show", plan_id)[1]
    code, out = run("plan", "replay", plan_id, *common)
    assert code == 0 and "replayed" in out, out
    published = tmp_path / "plan.csv"
    assert run("plan", "export", plan_id, "--out", str(published))[0] == 0
    lines = published.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("plan_id,item,enterprise_id") and "grade" not in lines[0]

    first = lines[1].split(",")[2]
    results = tmp_path / "results.csv"
    results.write_text(
        f"enterprise_id,finding,inspected_on\n{first},problem_found,2024-07-20\n", encoding="utf-8"
    )
    code, out = run("plan", "import-results", plan_id, str(results), "--authority", "海曙区局")
    assert code == 0 and "inspections" in out, out
    results.write_text("enterprise_id,finding,inspected_on\nNOPE,fine,2024-07-20\n")
    code, out = run("plan", "import-results", plan_id, str(results), "--authority", "x")
    assert code == 2 and "not an object of the plan" in out

    code, out = run("extension-check", "--as-of", "2024-06-30", "--grades", str(grades))
    assert code == 0 and "black-listed enterprises" in out, out

    # Without --grades, plans use the model's stored scores of the date (here: a stand-in
    # scores file of a model version "m1", in the place the scorer writes it).
    code, out = run(
        "plan", "draw", "--as-of", "2024-06-30", "--item", "x", "--inspectors", str(inspectors)
    )
    assert code == 2 and "no stored scores of 2024-06-30" in out
    stored = home / "scores" / "2024-06-30" / "m1.parquet"
    stored.parent.mkdir(parents=True)
    pq.write_table(pacsv.read_csv(grades), stored)
    code, out = run(
        "plan", "draw", "--as-of", "2024-06-30", "--item", "x", "--inspectors", str(inspectors)
    )
    assert code == 0, out
    stored_plan = out.split("plan ")[-1].split(" ")[0]
    assert (
        json.loads((home / "plans" / f"{stored_plan}.json").read_text())["spec"]["grading"] == "m1"
    )
    code, out = run("plan", "replay", stored_plan, "--inspectors", str(inspectors))
    assert code == 0 and "replayed" in out, out
    code, out = run(
        "plan", "draw", "--as-of", "2024-06-30", "--item", "x", *common, "--preset", "z"
    )
    assert code == 2 and "unknown preset" in out


def test_a_load_with_another_salt_is_refused(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "city"
    assert run("generate", "--out", str(data), "--enterprises", "200")[0] == 0
    monkeypatch.setenv("CREDITGRAPH_PERSON_ID_SALT", "the-first-salt-of-this-store")
    assert run("load", str(data), "--quiet")[0] == 0
    before = run("stats")[1]
    monkeypatch.setenv("CREDITGRAPH_PERSON_ID_SALT", "another-salt-entirely-0123")
    code, out = run("load", str(data), "--quiet")
    assert code == 2, out
    assert "another CREDITGRAPH_PERSON_ID_SALT" in out and "twice" in out
    assert "the-first-salt" not in out and "another-salt-entirely" not in out
    assert run("stats")[1] == before


def test_unknown_columns_are_reported_and_ignored(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "enterprises.csv").write_text(
        "id,name,favourite_colour\n91350100M000100Y43,ok,blue\n", encoding="utf-8"
    )
    code, out = run("load", str(folder), "--quiet")
    assert code == 0, out
    assert "enterprises.csv line 1: column(s) not in the data contract, ignored: " in out
    assert "favourite_colour" in out


def test_a_headerless_persons_file_is_refused_without_echoing_the_id_number(
    home: Path, tmp_path: Path
) -> None:
    # Without its header, the first person's row is read as the header.
    folder = tmp_path / "headerless"
    folder.mkdir()
    id_number = make_resident_id(7)
    (folder / "persons.csv").write_text(
        f"{id_number},张三\n{make_resident_id(8)},李四\n", encoding="utf-8"
    )
    code, out = run("load", str(folder), "--quiet")
    assert code == 2, out
    assert "persons.csv line 1: missing required column(s)" in out
    assert id_number not in out and id_number[:6] + "********" + id_number[-4:] in out


# -- Every command: a wrong data home is refused, a future date is refused -------------------

WRITERS = {"generate", "load", "demo", "docs"}
"""Commands that may create the data home (or, for generate and docs, write elsewhere)."""

DATE_OPTIONS = {"as_of", "previous", "last_test", "since"}
"""Options that take a date (yyyy-mm-dd), all read through the CLI's one date helper."""


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every command of the CLI with its click command, subcommands by their full path."""
    import typer

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    return list(walk(typer.main.get_command(app), ()))


def _minimal_args(command: Any, **given: str) -> list[str]:
    """Arguments and required options filled with placeholders ("1", a past date), and the
    options of ``given`` (by parameter name) set."""
    args: list[str] = []
    for param in command.params:
        if param.name in given:
            args += [param.opts[0], given[param.name]]
        elif param.required:
            value = "2024-06-30" if param.name in DATE_OPTIONS else "1"
            args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    return args


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize(
    "path",
    [p for p, _ in _commands() if p[0] not in WRITERS],
    ids=lambda p: " ".join(p),
)
def test_a_missing_data_home_is_refused_and_not_created(
    home: Path, path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    command = dict(_commands())[path]
    monkeypatch.setenv("CREDITGRAPH_API_KEYS", '{"k": {"name": "x", "role": "regulator"}}')
    code, out = run(*path, *_minimal_args(command))
    assert code == 2, out
    assert f"no data home at {home}" in out and f"CREDITGRAPH_HOME={home}" in out, out
    assert not home.exists()


@pytest.mark.parametrize(
    ("path", "option"),
    [(p, o.name) for p, c in _commands() for o in c.params if o.name in DATE_OPTIONS],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_a_date_after_today_is_refused_by_every_command(
    home: Path, path: tuple[str, ...], option: str
) -> None:
    from datetime import date, timedelta

    home.mkdir()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    command = dict(_commands())[path]
    code, out = run(*path, *_minimal_args(command, **{option: tomorrow}))
    assert code == 2, out
    assert f"{tomorrow} is after today" in " ".join(out.replace("│", " ").split()), out
    assert _files(home) == []


def test_every_date_option_is_known() -> None:
    # A new option taking a date must join DATE_OPTIONS, so the test above covers it.
    for path, command in _commands():
        for param in command.params:
            if "yyyy-mm-dd" in (param.help or "") or "date" in param.name:
                assert param.name in DATE_OPTIONS, (path, param.name)


@pytest.mark.parametrize(
    "args",
    [
        ("warnings", "list"),
        ("warnings", "show", "1"),
        ("watchlist", "list"),
        ("watchlist", "show", "loans"),
        ("plan", "list"),
        ("stats",),
    ],
    ids=" ".join,
)
def test_reads_write_nothing_into_an_empty_home(home: Path, args: tuple[str, ...]) -> None:
    home.mkdir()
    run(*args)
    assert _files(home) == []


def _command_paths() -> list[tuple[str, ...]]:
    """The root, every group and every command, as command lines."""
    groups = {p[:k] for p, _ in _commands() for k in range(len(p))}
    return sorted(groups | {p for p, _ in _commands()})


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(("creditgraph", *p)))
def test_every_help_text_reads_whole(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wide terminal: a line that breaks before it is full was broken by the text itself.
    width = 200
    monkeypatch.setenv("COLUMNS", str(width))
    code, out = run(*path, "--help")
    assert code == 0, out
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if line.strip().startswith("Usage:")) + 1
    end = next((k for k, line in enumerate(lines) if line.startswith("╭")), len(lines))
    prose = [line.strip() for line in lines[start:end]]
    paragraphs = "\n".join(prose).strip().split("\n\n")
    assert paragraphs[0] and paragraphs[0].endswith("."), f"summary: {paragraphs[0]!r}"
    for paragraph in paragraphs:
        *broken, _last = paragraph.split("\n")
        assert all(len(line) > width - 40 for line in broken), f"broken: {paragraph!r}"
    # The command list: each command's summary on one line, ending a sentence.
    in_commands = False
    for line in lines:
        if line.startswith("╭─ Commands"):
            in_commands = True
        elif line.startswith("╰"):
            in_commands = False
        elif in_commands:
            cell = line.strip("│ ")
            assert not line.startswith("│  "), f"summary broken: {line.strip()!r}"
            assert cell.endswith("."), f"summary is not a sentence: {cell!r}"


# -- The demo's data home: every page and list has data; lists say what they leave out ------

DEMO_SIZE = "2000"


@pytest.fixture(scope="module")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home as ``creditgraph demo --enterprises 2000`` leaves it (shared: tests that
    write to it draw plans only)."""
    home = tmp_path_factory.mktemp("demo") / "home"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CREDITGRAPH_HOME", str(home))
        env.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
        code, out = run("demo", "--enterprises", DEMO_SIZE)
    assert code == 0, out
    return home


@pytest.fixture
def on_demo(demo_city: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(demo_city))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    return demo_city


def _scored(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "scores").iterdir())


def test_the_demo_prepares_what_every_page_needs(on_demo: Path) -> None:
    from datetime import date

    from graph_model.settings import Settings
    from risk.model.dates import is_month_end, shift_months
    from risk.supervision.inspectors import read_inspectors

    # Three scored dates, a month apart: grade changes and the month-by-month chart.
    scored = [date.fromisoformat(d) for d in _scored(on_demo)]
    assert len(scored) == 3, scored
    assert all(is_month_end(d) for d in scored[:2])
    assert scored[0] == shift_months(scored[1], -1) and scored[1] < scored[2]
    assert shift_months(scored[1], 1) >= scored[2]
    for day in scored:
        assert (on_demo / "snapshots" / day.isoformat() / "manifest.json").is_file()
    # Warnings raised for the latest date, and for the month before.
    for day in scored[1:]:
        code, out = run("warnings", "list", "--as-of", day.isoformat(), "--limit", "1")
        assert code == 0 and out.startswith("#"), out
    # An inspector list the board finds (Draw enabled) and a plan can be staffed from.
    files = sorted((on_demo / "inspectors").glob("*.csv"))
    assert len(files) == 1
    inspectors = read_inspectors(files[0], Settings().person_id_salt)
    assert len(inspectors) >= 20
    code, out = run(
        "plan", "draw", "--as-of", scored[-1].isoformat(), "--item", "抽查",
        "--inspectors", str(files[0]), "--seed", "1",
    )  # fmt: skip
    assert code == 0 and "without enough inspectors 0" in out, out
    # A bank's watchlist with warnings to read.
    code, out = run("watchlist", "list")
    assert code == 0 and "demo-loans" in out and "甬城银行" in out, out
    code, out = run("warnings", "list", "--watchlist", "demo-loans")
    assert code == 0 and "0 warning(s)" not in out, out


def test_the_demo_is_the_same_every_time(on_demo: Path, tmp_path: Path) -> None:
    import filecmp

    from loaders.demo_supervision import demo_loan_book, write_demo_inspectors

    again = write_demo_inspectors(on_demo / "demo-data", tmp_path / "again.csv", seed=0)
    assert filecmp.cmp(again.path, on_demo / "inspectors" / "demo-inspectors.csv", shallow=False)
    members = run("watchlist", "show", "demo-loans")[1].split()
    assert all(m in members for m in demo_loan_book(on_demo / "demo-data", seed=0))


LIST_COMMANDS = {
    ("extension-check",),
    ("warnings", "list"),
    ("watchlist", "show"),
    ("watchlist", "list"),
    ("plan", "list"),
    ("plan", "show"),
    ("records", "due-escalations"),
    ("history",),
}
"""Commands that print a list that may be long; each takes --limit and says what it left out."""


def test_every_list_command_takes_a_limit() -> None:
    commands = dict(_commands())
    for path in LIST_COMMANDS:
        assert "limit" in [p.name for p in commands[path].params], path


def _left_out(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("… ")]


def _not_shown(out: str) -> tuple[int, int]:
    """(rows left out, the --limit that prints them all) from a list's "… N more" line."""
    line = _left_out(out)[0]
    return int(line.split()[1].replace(",", "")), int(line.split("--limit ")[1].split()[0])


def test_lists_say_how_many_they_leave_out_and_how_to_get_them(on_demo: Path) -> None:
    latest = _scored(on_demo)[-1]
    code, out = run("extension-check", "--as-of", latest)
    assert code == 0, out
    total = int(out.split()[0].replace(",", ""))
    assert total > 20 and _not_shown(out) == (total - 20, total), out
    assert "--out FILE" in out
    code, out = run("extension-check", "--as-of", latest, "--limit", str(total))
    assert code == 0 and not _left_out(out) and len(out.splitlines()) == total + 2

    code, out = run("warnings", "list")
    total = int(out.splitlines()[-1].split()[0].replace(",", ""))
    assert total > 50 and _not_shown(out) == (total - 50, total), out
    assert out.count("\n#") + out.startswith("#") == 50
    code, out = run("warnings", "list", "--limit", str(total))
    assert out.count("\n#") + out.startswith("#") == total and not _left_out(out)

    code, out = run("watchlist", "show", "demo-loans", "--limit", "5")
    assert code == 0 and _not_shown(out) == (25, 30) and "30 member(s)" in out, out

    code, out = run("records", "due-escalations", "--as-of", latest, "--limit", "2")
    total = int(out.splitlines()[-1].split()[0].replace(",", ""))
    assert code == 0 and total > 2 and _not_shown(out) == (total - 2, total), out

    inspectors = str(on_demo / "inspectors" / "demo-inspectors.csv")
    for seed in ("2", "3"):
        code, out = run(
            "plan", "draw", "--as-of", latest, "--item", "x", "--inspectors", inspectors,
            "--seed", seed,
        )  # fmt: skip
        assert code == 0, out
    plan_id = out.split("plan ")[-1].split(" ")[0]
    code, out = run("plan", "list", "--limit", "1")
    plans = len(list((on_demo / "plans").glob("*.json")))
    assert code == 0 and _not_shown(out) == (plans - 1, plans) and plan_id in out, out
    code, out = run("plan", "show", plan_id, "--limit", "3")
    assert code == 0 and f"creditgraph plan export {plan_id} --out FILE" in out, out


def test_persons_are_shown_by_name(on_demo: Path) -> None:
    import json

    import pyarrow.csv as pacsv

    from api.names import PERSON_KEY
    from graph_model.snapshot import Snapshot

    latest = _scored(on_demo)[-1]
    persons_table = Snapshot.load(on_demo / "snapshots" / latest).persons
    names = dict(zip(*persons_table.select(["id", "name"]).to_pydict().values(), strict=True))
    csv_file = on_demo.parent / "ext.csv"
    assert run("extension-check", "--as-of", latest, "--out", str(csv_file))[0] == 0
    table = pacsv.read_csv(csv_file)
    code, out = run("extension-check", "--as-of", latest, "--limit", str(table.num_rows))
    assert code == 0 and not PERSON_KEY.search(out), out
    persons = {
        node for path in table["path"].to_pylist() for step in json.loads(path)
        for node in (step[0], step[2]) if PERSON_KEY.fullmatch(node)
    }  # fmt: skip
    assert persons and all(names[p] in out for p in persons)
    # Officers by their role, not only as officers.
    assert any(f"—{role}→" in out for role in ("director", "supervisor", "manager"))

    code, out = run("warnings", "list", "--type", "person_tied_to_listed", "--limit", "1000")
    assert code == 0 and "<-[" in out and not PERSON_KEY.search(out), out
    warning = out.split("#")[1].split()[0]
    code, out = run("warnings", "show", warning)
    assert code == 0 and not PERSON_KEY.search(out), out


def test_explain_and_warnings_speak_the_language_asked_for(on_demo: Path) -> None:
    """``--language zh`` puts reasons, evidence and warning words in Chinese (risk/wording.py,
    as the board and the API do); without it, they print as stored."""
    import re

    import pyarrow.parquet as pq

    (scores,) = (on_demo / "scores" / _scored(on_demo)[-1]).glob("*.parquet")
    table = pq.read_table(scores, columns=["id", "rank"]).sort_by("rank")
    worst = str(table["id"][0])
    code, chinese = run("explain", worst, "--language", "zh")
    assert code == 0, chinese
    reasons = [line for line in chinese.splitlines() if line.startswith("  ")]
    assert reasons and all(not re.search(r"\b[a-z]{3,}\b", r.split("(+")[0]) for r in reasons)
    code, english = run("explain", worst, "--language", "en")
    assert code == 0 and re.search(r"\b[a-z]{3,}\b", english.splitlines()[1]), english
    code, out = run("warnings", "list", "--limit", "20", "--language", "zh")
    assert code == 0 and "-[" not in out and "]-" not in out, out
    assert any(w in out for w in ("担保圈成员违约", "关联企业新增不良记录")), out
    warning = out.split("#")[1].split()[0]
    code, out = run("warnings", "show", warning, "--language", "zh")
    assert code == 0 and "-[" not in out, out
    assert run("warnings", "list", "--language", "fr")[0] == 2


def test_ownership_prints_the_tree_the_controller_and_the_json(home: Path) -> None:
    import json

    from conftest import make_uscc
    from feature_graphs import AS_OF, SnapshotBuilder

    firm, hold, wide = (make_uscc(k) for k in (1, 2, 3))
    city = SnapshotBuilder().firms_named(firm, hold, wide).person("张三丰", "李四")
    city.tie("HOLDS_SHARES", "张三丰", hold, share=0.6).tie("HOLDS_SHARES", "李四", hold, share=0.4)
    city.tie("HOLDS_SHARES", hold, firm, share=0.9).tie("HOLDS_SHARES", wide, firm, share=0.1)
    holders = [f"h{k:02d}" for k in range(15)]
    city.person(*holders)
    for holder in holders:
        city.tie("HOLDS_SHARES", holder, wide, share=1 / 15)
    city.build().save(home / "snapshots" / AS_OF.isoformat())
    code, out = run("ownership", firm, "--children", "3")
    assert code == 0, out
    lines = out.splitlines()
    assert f"├ {hold} ({hold}) 90.0%, 90.0%" in lines
    assert "  ├ 张三丰 (person) 60.0%, 54.0%" in lines
    assert "  └ … and 12 more (80.0%)" in lines  # 15 holders of wide, 3 shown
    assert any(
        line.startswith("actual controller: 张三丰 (holds 54.0% through all paths")
        and line.endswith(f"chain: 张三丰 → 60.0% {hold} → 90.0% {firm}")
        for line in lines
    ), out
    assert "beneficial owners (≥ 25 %): 张三丰 54.0%, 李四 36.0%" in lines
    code, out = run("ownership", hold, "--down", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["direction"] == "down"
    assert [c["node"]["id"] for c in body["tree"]["children"]] == [firm]
    assert body["controller"]["basis"] == "majority"
    code, out = run("ownership", make_uscc(9))
    assert code == 2 and "no enterprise" in out


def test_history_lists_changes_newest_first_as_text_and_json(on_demo: Path) -> None:
    import json

    import pyarrow.parquet as pq

    from api.names import PERSON_KEY

    (scores,) = (on_demo / "scores" / _scored(on_demo)[-1]).glob("*.parquet")
    firm = str(pq.read_table(scores, columns=["id"])["id"][0])
    code, out = run("history", firm, "--json")
    assert code == 0, out
    rows = json.loads(out)
    days = [r["day"] for r in rows if r["day"]]
    assert rows and days == sorted(days, reverse=True)
    code, text = run("history", firm, "--limit", "1")
    assert code == 0 and text.startswith(f"{firm} ") and rows[0]["kind"] in text, text
    assert len(rows) == 1 or _not_shown(text) == (len(rows) - 1, len(rows))
    assert not PERSON_KEY.search(text.split("\n", 1)[1].split("…")[0].replace(firm, ""))
    code, recent = run("history", firm, "--since", days[0], "--json")
    assert code == 0 and all(r["day"] == days[0] for r in json.loads(recent))
    code, out = run("history", firm[:-1] + "X")
    assert code != 0 and "no enterprise" in out
