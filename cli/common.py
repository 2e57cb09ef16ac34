"""What the command groups share: the settings read once when a command starts (with the
API keys for the commands that serve), the one way a command refuses (``fail``, exit code 2),
date and language options, snapshots taken or reused, the load with its summary, and the
model's progress lines and test metrics (printed by ``train`` and ``demo``).
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from pydantic import ValidationError
from tqdm import tqdm

from access.settings import AccessSettings
from graph_model.rates import RatesError, RateTable, read_rates
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.open import open_store
from loaders.load import load_folder
from loaders.summary import LoadRefused, LoadSummary, percent
from risk.data_home import DataHome
from risk.model.train import BASELINE_MODEL, GRAPH_MODEL
from risk.wording import LANGUAGES, Language

S = TypeVar("S", bound=Settings)

EXIT_REFUSED = 2
"""Exit code of a command that refused (bad input, nothing done); a refused load wrote nothing."""


def fail(message: str, code: int = EXIT_REFUSED) -> typer.Exit:
    """Say ``error: message`` on stderr; the exit to raise, with ``code``."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=code)


EngineOption = Annotated[
    Literal["embedded", "spark"],
    typer.Option(
        help="Where the work runs: embedded (this process) or spark (PySpark; Java 17+; "
        "docs/scale.md)."
    ),
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        help="Spark master URL (local[*], spark://host:7077, yarn, k8s://…); default: "
        "CREDITGRAPH_SPARK_MASTER."
    ),
]


def with_master(settings: Settings, master: str | None) -> Settings:
    """The settings with ``--master`` as the Spark master, when given."""
    return settings.model_copy(update={"spark_master": master}) if master else settings


def read_settings(home: Literal["read", "create", "store"] = "read") -> Settings:
    """The settings of this command, and its data home checked.

    ``home`` says what the command does with the data home: ``read`` (the default) needs it
    to exist, and refuses before anything is written, so that a mistyped ``CREDITGRAPH_HOME``
    is said instead of a new empty home being made there; ``create`` may make it (load,
    demo); ``store`` needs it only for the embedded store (Neo4j keeps the graph elsewhere).
    """
    return _home_checked(_from_environment(Settings), home)


def read_access_settings() -> AccessSettings:
    """The settings of a command that serves (board, serve): every command's and the API
    keys (access/settings.py); the data home must exist, as for :func:`read_settings`."""
    return _home_checked(_from_environment(AccessSettings), "read")


def _from_environment(kind: type[S]) -> S:
    """``kind`` read from the ``CREDITGRAPH_*`` environment, or refused in one line."""
    try:
        return kind()
    except ValidationError as exc:
        # Each error's own message only: pydantic's full text quotes the input (secrets).
        reasons = "; ".join(
            (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "")
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise fail(f"invalid CREDITGRAPH_* settings: {reasons}") from None


def _home_checked(settings: S, home: Literal["read", "create", "store"]) -> S:
    """``settings``, with their data home made (``create``) or refused when it is missing."""
    if home == "create":
        # The command that makes a data home makes it whole, whichever store holds the graph:
        # the next command (snapshot, stats) finds it.
        settings.home.mkdir(parents=True, exist_ok=True)
        return settings
    needed = home == "read" or (home == "store" and not settings.neo4j_uri)
    if needed and not settings.home.is_dir():
        given = os.environ.get("CREDITGRAPH_HOME")
        which = f"CREDITGRAPH_HOME={given}" if given else "CREDITGRAPH_HOME is unset: ./var"
        raise fail(
            f"no data home at {settings.home.absolute()} ({which}): the folder does not "
            "exist. Point CREDITGRAPH_HOME at your data home, or make one with `creditgraph "
            "load FOLDER` or `creditgraph demo`; this command creates nothing."
        )
    return settings


def option_date(text: str, option: str = "--as-of") -> date:
    """The date of a date option, refused when it is not a date or lies after today.

    Every command reads its date options through here, before it does anything. A future
    date would be accepted by the store (nothing ended yet, nothing new) and its snapshot,
    scores or plan saved and served as if that day had been seen.
    """
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} {text!r} is not a date (yyyy-mm-dd)") from None
    today = date.today()
    if day > today:
        raise typer.BadParameter(
            f"{option} {day} is after today ({today}): nothing is known of that day yet; "
            "give today or an earlier date"
        )
    return day


LanguageOption = Annotated[
    str | None,
    typer.Option(
        "--language",
        help="zh or en: reasons, evidence and warning words in that language (risk/wording.py);"
        " without it, as stored.",
    ),
]


def parse_language(value: str | None) -> Language | None:
    """The ``--language`` asked for: None to print as stored; zh or en, else a usage error."""
    if value is None:
        return None
    if value not in LANGUAGES:
        raise typer.BadParameter(f"--language must be zh or en, not {value!r}")
    return "zh" if value == "zh" else "en"


def save_snapshot(settings: Settings, day: date) -> Snapshot:
    """Export the snapshot of ``day`` from the store and save it in the data home."""
    started = time.perf_counter()
    with open_store(settings, read_only=True) as store:
        snap = take_snapshot(store, day)
    folder = DataHome(settings).save_snapshot(snap)
    edges = sum(r.edge_count for r in snap.relations.values())
    persons = snap.n_nodes - snap.n_enterprises
    typer.echo(
        f"snapshot {day}: {snap.n_enterprises:,} enterprises, {persons:,} "
        f"persons, {edges:,} relations, {snap.records.num_rows:,} records → {folder} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return snap


def snapshot_of(settings: Settings, day: date) -> Snapshot:
    """The saved snapshot of ``day``, taken from the store first if there is none or it was
    saved in an older format (before the record rules, for instance)."""
    home = DataHome(settings)
    if home.has_snapshot(day, readable=True):
        return home.snapshot(day)
    return save_snapshot(settings, day)


def rate_table(settings: Settings) -> RateTable:
    """The data home's currency rate table (docs/data-contract.md); a bad one stops the
    command with its file, line, field and reason."""
    try:
        return read_rates(settings.rates_path)
    except RatesError as exc:
        raise fail(f"the currency rate table is refused: {exc}") from None


def progress_bars(quiet: bool) -> Callable[[str, int | None], Callable[[int], None]]:
    """Progress factory for the loader: one tqdm bar per stage, on stderr."""

    def stage(name: str, total: int | None) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=name, unit="row", unit_scale=True, disable=quiet, leave=False)

        def advance(n: int) -> None:
            bar.update(n)

        return advance

    return stage


def _print_summary(summary: LoadSummary) -> None:
    typer.echo(f"{'file':<26}{'read':>12}{'accepted':>12}{'rejected':>12}")
    for t in summary.tables:
        typer.echo(f"{t.file:<26}{t.read:>12,}{t.accepted:>12,}{t.rejected:>12,}")
    typer.echo(f"{'total':<26}{'':>12}{summary.accepted:>12,}{summary.rejected:>12,}")
    if summary.persons_by_name:
        typer.echo(
            f"{summary.persons_by_name:,} person(s) known by name only (no ID number nor source "
            "id), each kept apart per enterprise that names them"
        )
    if summary.ignored_files:
        typer.echo("ignored (not contract files): " + ", ".join(summary.ignored_files))
    for t in summary.tables:
        if t.ignored_columns:
            typer.echo(
                f"{t.file} line 1: column(s) not in the data contract, ignored: "
                + ", ".join(t.ignored_columns)
            )
    for t in summary.tables:
        if t.dependent:
            typer.echo(
                f"{t.file}: {t.dependent:,} row(s) rejected only because the row they name "
                f"was rejected in {', '.join(t.depends_on)} (counted on its line of the "
                "reject file)"
            )
    for title, rows, path in (
        ("warnings (rows loaded, check them)", summary.warnings, summary.warnings_file),
        ("rejects", summary.rejects, summary.rejects_file),
    ):
        if path is None:
            continue
        typer.echo(f"{title}: {path}")
        for r in rows[:5]:
            typer.echo(f"  {r.file} line {r.line}, {r.field} = {r.value!r}: {r.reason}")
        if len(rows) > 5:
            typer.echo(f"  … and {len(rows) - 5} more in {path.name}")
    for t in summary.shrunk():
        lost = (
            f"none of its {t.read:,} row(s) loaded"
            if not t.accepted
            else f"{t.rejected:,} of its {t.read:,} rows ({percent(t.lost)}) rejected"
        )
        typer.secho(f"warning: {t.file}: {lost}", err=True, fg=typer.colors.YELLOW)


def run_load(
    settings: Settings,
    folder: Path,
    strict: bool,
    quiet: bool,
    encoding: str = "utf-8",
    max_reject_rate: float = 1.0,
) -> LoadSummary:
    """Load ``folder`` into the store and print its summary; refuse (exit 2) a load that was
    refused or accepted no row."""
    try:
        with open_store(settings) as store:
            summary = load_folder(
                store,
                folder,
                salt=settings.person_id_salt,
                rejects_dir=settings.rejects_dir,
                batch_rows=settings.load_batch_rows,
                strict=strict,
                progress=progress_bars(quiet),
                encoding=encoding,
                max_reject_rate=max_reject_rate,
            )
    except LoadRefused as exc:
        if exc.summary is not None:
            _print_summary(exc.summary)
        raise fail(str(exc)) from None
    _print_summary(summary)
    if summary.accepted == 0:
        # Nothing useful went in: not a success, whatever the reason.
        why = (
            "every row was rejected (see the reject file)"
            if summary.rejected
            else "the files hold no data rows"
        )
        raise fail(f"nothing loaded from {folder}: {why}")
    rate = summary.accepted / summary.seconds if summary.seconds else 0.0
    typer.echo(f"loaded {summary.accepted:,} rows in {summary.seconds:.1f} s ({rate:,.0f} rows/s)")
    return summary


def progress_lines(quiet: bool) -> Callable[[str], None]:
    """Progress lines with the seconds since the command started."""
    started = time.perf_counter()

    def note(message: str) -> None:
        if not quiet:
            typer.echo(f"  {time.perf_counter() - started:6.1f} s  {message}")

    return note


_METRICS = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("ks", "KS"),
    ("recall_at_k", "recall in the top K"),
    ("brier", "Brier (calibrated)"),
)


def print_metrics(evaluation: dict[str, Any]) -> None:
    """The test metrics, graph model beside the no-graph baseline."""
    graph, base = evaluation["models"][GRAPH_MODEL], evaluation["models"][BASELINE_MODEL]
    typer.echo(
        f"test window {', '.join(evaluation['dates'])}: {evaluation['rows']:,} rows, "
        f"{evaluation['positives']:,} bad ({evaluation['base_rate']:.2%})"
    )
    typer.echo(f"  {'':<22}{'graph':>9}{'no graph':>10}{'lift':>9}")
    for key, title in _METRICS:
        a, b = graph.get(key, float("nan")), base.get(key, float("nan"))
        typer.echo(f"  {title:<22}{a:>9.3f}{b:>10.3f}{a - b:>+9.3f}")


def stored_gradings(settings: Settings, before: date, day: date) -> tuple[pa.Table, ...]:
    """The model's stored grades of both dates, of one model version (grades of two models
    are not comparable); none when either date was not scored with it."""
    home = DataHome(settings)
    current = home.scores_file(day)
    if current is None:
        typer.echo(f"no stored scores of {day}: no grade warnings (creditgraph score --as-of …)")
        return ()
    previous = home.scores_file(before, current.stem)
    if previous is None:
        typer.echo(f"no scores of {before} by model {current.stem}: no grade warnings")
        return ()
    return tuple(pq.read_table(p, columns=["id", "grade", "score"]) for p in (previous, current))


def not_shown(shown: int, total: int, what: str, more: str = "") -> None:
    """Say how many rows a printed list left out, and how to get them: ``--limit`` to print
    them all, and ``more`` (e.g. "--out FILE writes them to a CSV file") when given."""
    if total > shown:
        how = f"--limit {total} prints them all" + (f"; {more}" if more else "")
        typer.echo(f"… {total - shown:,} more {what} not shown ({how})")


def read_table(path: Path, what: str) -> pa.Table:
    """A CSV (all columns as text) or Parquet file, or a clear error."""
    if not path.is_file():
        raise fail(f"{what} {path}: no such file")
    if path.suffix == ".parquet":
        return pq.read_table(path)
    try:
        # Every column as text: ids such as 330200… must not turn into numbers.
        with path.open(encoding="utf-8") as fh:
            names = next(csv.reader(fh), [])
        types = {name: pa.string() for name in names}
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise fail(f"{what} {path}: {exc}") from None


def read_grading(path: Path, day: date) -> pa.Table:
    """Grades (id, grade, score) from a file: the model's scores, or a grading of your own."""
    table = read_table(path, "grades")
    missing = {"id", "grade", "score"} - set(table.column_names)
    if missing:
        raise fail(f"grades {path}: missing column(s) {', '.join(sorted(missing))}")
    try:
        score = table["score"].cast(pa.float64())
    except pa.ArrowInvalid:
        raise fail(f"grades {path}: column score must be numbers") from None
    return pa.table(
        {
            "id": table["id"].cast(pa.string()),
            "grade": table["grade"].cast(pa.string()),
            "score": score,
        }
    )
