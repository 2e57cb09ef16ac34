"""The ``creditgraph`` command line: the jobs (generate, load, stats, snapshot, features, train,
evaluate, score, explain, plans, demo, docs), the board and the API server (serve).

Heavy work runs here, never inside an API request. Settings are read once from
the environment (``CREDITGRAPH_*``) when a command starts and passed down.
"""

from __future__ import annotations

import csv
import functools
import inspect
import ipaddress
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
import uvicorn
from pydantic import ValidationError
from tqdm import tqdm

from api.app import create_app
from api.names import PathWords, person_names, with_names
from graph_model.contract_doc import render_data_contract
from graph_model.csv_cells import write_safe_csv
from graph_model.errors import CreditGraphError
from graph_model.rates import RatesError, RateTable, read_rates
from graph_model.settings import Settings
from graph_model.snapshot import FORMAT_VERSION as SNAPSHOT_FORMAT
from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.neo4j import redact_uri
from graph_model.store.open import open_store
from graph_model.store.protocol import UNFINISHED_LOAD
from loaders.demo_rates import DEMO_USD_RATE, write_demo_rates
from loaders.demo_supervision import demo_loan_book, write_demo_inspectors
from loaders.generator import generate_city
from loaders.load import LoadRefused, LoadSummary, load_folder, percent
from loaders.read import ENCODINGS
from risk.features import FAMILIES, compute_features
from risk.features.doc import render_features_doc
from risk.model.artefact import current_version
from risk.model.dates import last_month_end_on_or_before, shift_months
from risk.model.errors import ModelError
from risk.model.jobs import (
    evaluate_job,
    explain_job,
    export_labels_job,
    label_events,
    observed_through,
    score_job,
    train_job,
)
from risk.model.label_file import read_label_file
from risk.model.labels import LabelDefinition, label_source_lines
from risk.model.scores import GradeRecord, grade_history, scores_file
from risk.model.train import BASELINE_MODEL, GRAPH_MODEL
from risk.supervision.expiry import due_escalations
from risk.supervision.extension import extension_checks
from risk.supervision.inspectors import read_inspectors
from risk.supervision.plans import (
    PlanRecord,
    draw_plan,
    publication,
    replay,
    results_to_inspections,
)
from risk.supervision.registry import Registry, open_registry
from risk.supervision.sampling import Forced, PlanSpec, presets
from risk.supervision.warnings import (
    DEFAULT_HOPS,
    MAX_HOPS,
    WARNING_TYPES,
    StoredWarning,
    compute_warnings,
    count_warnings,
    get_warning,
    list_warnings,
    save_warnings,
    set_state,
)
from risk.supervision.watchlists import (
    OWNER_KINDS,
    add_members,
    all_watchlists,
    create_watchlist,
    remove_members,
    show_watchlist,
)
from risk.wording import (
    LANGUAGES,
    Language,
    evidence_text,
    reason_sentence,
    warning_evidence,
    warning_subject,
    word,
)

LanguageOption = Annotated[
    str | None,
    typer.Option(
        "--language",
        help="zh or en: reasons, evidence and warning words in that language (risk/wording.py);"
        " without it, as stored.",
    ),
]


def _language(value: str | None) -> Language | None:
    """The ``--language`` asked for: None to print as stored; zh or en, else a usage error."""
    if value is None:
        return None
    if value not in LANGUAGES:
        raise typer.BadParameter(f"--language must be zh or en, not {value!r}")
    return "zh" if value == "zh" else "en"


app = typer.Typer(
    help="CreditGraph: graph analytics for enterprise credit supervision.",
    no_args_is_help=True,
    add_completion=False,
)

DEMO_ENTERPRISES = 20_000
EXIT_REFUSED = 2
"""Exit code of a command that refused (bad input, nothing done); a refused load wrote nothing."""
EXIT_LOADED_WITH_REJECTS = 3
"""Exit code of a load that committed its accepted rows but rejected others (see the reject
file); 0 only when every row loaded."""
MAX_REJECT_RATE = 0.05
"""Default of ``load --max-reject-rate``: a load rejecting more of its rows writes nothing."""


def _settings(home: Literal["read", "create", "store"] = "read") -> Settings:
    """The settings of this command, and its data home checked.

    ``home`` says what the command does with the data home: ``read`` (the default) needs it
    to exist, and refuses before anything is written, so that a mistyped ``CREDITGRAPH_HOME``
    is said instead of a new empty home being made there; ``create`` may make it (load,
    demo); ``store`` needs it only for the embedded store (Neo4j keeps the graph elsewhere).
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        # Each error's own message only: pydantic's full text quotes the input (secrets).
        reasons = "; ".join(
            (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "")
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise _fail(f"invalid CREDITGRAPH_* settings: {reasons}") from None
    if home == "create":
        # The command that makes a data home makes it whole, whichever store holds the graph:
        # the next command (snapshot, stats) finds it.
        settings.home.mkdir(parents=True, exist_ok=True)
        return settings
    needed = home == "read" or (home == "store" and not settings.neo4j_uri)
    if needed and not settings.home.is_dir():
        given = os.environ.get("CREDITGRAPH_HOME")
        which = f"CREDITGRAPH_HOME={given}" if given else "CREDITGRAPH_HOME is unset: ./var"
        raise _fail(
            f"no data home at {settings.home.absolute()} ({which}): the folder does not "
            "exist. Point CREDITGRAPH_HOME at your data home, or make one with `creditgraph "
            "load FOLDER` or `creditgraph demo`; this command creates nothing."
        )
    return settings


def _fail(message: str, code: int = EXIT_REFUSED) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=code)


def _not_shown(shown: int, total: int, what: str, more: str = "") -> None:
    """Say how many rows a printed list left out, and how to get them: ``--limit`` to print
    them all, and ``more`` (e.g. "--out FILE writes them to a CSV file") when given."""
    if total > shown:
        how = f"--limit {total} prints them all" + (f"; {more}" if more else "")
        typer.echo(f"… {total - shown:,} more {what} not shown ({how})")


def _bars(quiet: bool) -> Callable[[str, int | None], Callable[[int], None]]:
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


def _run_load(
    settings: Settings,
    folder: Path,
    strict: bool,
    quiet: bool,
    encoding: str = "utf-8",
    max_reject_rate: float = 1.0,
) -> LoadSummary:
    try:
        with open_store(settings) as store:
            summary = load_folder(
                store,
                folder,
                salt=settings.person_id_salt,
                rejects_dir=settings.rejects_dir,
                batch_rows=settings.load_batch_rows,
                strict=strict,
                progress=_bars(quiet),
                encoding=encoding,
                max_reject_rate=max_reject_rate,
            )
    except LoadRefused as exc:
        if exc.summary is not None:
            _print_summary(exc.summary)
        raise _fail(str(exc)) from None
    _print_summary(summary)
    if summary.accepted == 0:
        # Nothing useful went in: not a success, whatever the reason.
        why = (
            "every row was rejected (see the reject file)"
            if summary.rejected
            else "the files hold no data rows"
        )
        raise _fail(f"nothing loaded from {folder}: {why}")
    rate = summary.accepted / summary.seconds if summary.seconds else 0.0
    typer.echo(f"loaded {summary.accepted:,} rows in {summary.seconds:.1f} s ({rate:,.0f} rows/s)")
    return summary


def _print_stats(settings: Settings) -> None:
    with open_store(settings, read_only=True, unfinished_ok=True) as store:
        counts = store.counts()
        unfinished = store.meta(UNFINISHED_LOAD)
    if settings.neo4j_uri:
        where = f"Neo4j at {redact_uri(settings.neo4j_uri)}, database {settings.neo4j_database}"
        typer.echo(f"store: {where}")
    else:
        typer.echo(f"store: {settings.embedded_store_path}")
    for title, group in (
        ("nodes", counts.nodes),
        ("relations", counts.relations),
        ("records", counts.records),
    ):
        typer.echo(f"{title}:")
        for name, n in group.items():
            typer.echo(f"  {name:<20}{n:>12,}")
    if not settings.neo4j_uri:
        size = sum(
            p.stat().st_size for p in settings.embedded_store_path.parent.rglob("*") if p.is_file()
        )
        typer.echo(f"on disk: {size / 1e6:,.1f} MB")
    if unfinished:
        typer.secho(
            f"warning: the last load did not finish ({unfinished}); these counts hold part of "
            "it. Run `creditgraph load` on that folder again to complete it.",
            err=True,
            fg=typer.colors.YELLOW,
        )


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the contract files to.")],
    enterprises: Annotated[
        int, typer.Option(min=100, help="Number of enterprises.")
    ] = DEMO_ENTERPRISES,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same city.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Generate a synthetic demo city (see docs/demo-data.md; not real data)."""
    if fmt not in ("parquet", "csv"):
        raise typer.BadParameter("--format must be parquet or csv")
    started = time.perf_counter()
    summary = generate_city(
        out,
        enterprises,
        seed=seed,
        fmt="csv" if fmt == "csv" else "parquet",
        progress=lambda message: typer.echo(message),
    )
    rows = sum(summary.rows.values())
    typer.echo(f"wrote {rows:,} rows to {out} in {time.perf_counter() - started:.1f} s")


@app.command()
def load(
    folder: Annotated[
        Path, typer.Argument(help="Folder of contract files (CSV, Excel .xlsx or Parquet).")
    ],
    strict: Annotated[
        bool, typer.Option(help="Refuse the whole load if any row is bad (--max-reject-rate 0).")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    encoding: Annotated[
        str, typer.Option(help="Encoding of the CSV files: utf-8, or gb18030 for GBK exports.")
    ] = "utf-8",
    max_reject_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Refuse the whole load when more than this share of the rows read is "
            "rejected, or when a file with rows loads none of them; 1 refuses for neither.",
        ),
    ] = MAX_REJECT_RATE,
) -> None:
    """Validate and load contract files into the store (idempotent).

    A bad value of an optional field is emptied with a warning and its row loads; a bad
    required or identifying value rejects the row (docs/data-contract.md).

    Exit codes: 0 every row loaded (warnings aside); 3 the load was written but rows were
    rejected (see the reject file); 2 refused, nothing written: a file could not be used,
    a file with rows would load none of them, more rows were rejected than
    --max-reject-rate allows (--strict: any), or no row at all was accepted.
    """
    if encoding.lower() not in ENCODINGS:
        raise typer.BadParameter(f"--encoding must be one of {', '.join(ENCODINGS)}")
    settings = _settings(home="create")
    summary = _run_load(settings, folder, strict, quiet, encoding.lower(), max_reject_rate)
    if summary.rejected:
        typer.echo(
            f"{summary.rejected:,} row(s) rejected, the rest loaded: exit code "
            f"{EXIT_LOADED_WITH_REJECTS}"
        )
        raise typer.Exit(code=EXIT_LOADED_WITH_REJECTS)


@app.command()
def stats() -> None:
    """Report what the store holds."""
    _print_stats(_settings(home="store"))


def _as_of(text: str, option: str = "--as-of") -> date:
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


def _take_snapshot(settings: Settings, day: date) -> Snapshot:
    """Export the snapshot of ``day`` from the store and save it in the data home."""
    started = time.perf_counter()
    with open_store(settings, read_only=True) as store:
        snap = take_snapshot(store, day)
    folder = snap.save(settings.snapshots_dir / day.isoformat())
    edges = sum(r.edge_count for r in snap.relations.values())
    persons = snap.n_nodes - snap.n_enterprises
    typer.echo(
        f"snapshot {day}: {snap.n_enterprises:,} enterprises, {persons:,} "
        f"persons, {edges:,} relations, {snap.records.num_rows:,} records → {folder} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return snap


def _rates(settings: Settings) -> RateTable:
    """The data home's currency rate table (docs/data-contract.md); a bad one stops the
    command with its file, line, field and reason."""
    try:
        return read_rates(settings.rates_path)
    except RatesError as exc:
        raise _fail(f"the currency rate table is refused: {exc}") from None


def _warn_empty_kinds(snap: Snapshot) -> None:
    """A warning for each kind of node the snapshot holds none of: features through it are
    all zero, which reads like a clean record (usually its file was not loaded, or all its
    rows were rejected)."""
    for kind, table, means in (
        ("enterprises", snap.enterprises, "there is nothing to compute or score"),
        (
            "persons",
            snap.persons,
            "every feature through people (legal representatives, officers, shareholders "
            "who are persons) is 0",
        ),
    ):
        if table.num_rows == 0:
            typer.secho(
                f"warning: the snapshot of {snap.as_of} holds no {kind}: {means}. Was "
                f"{kind}.csv loaded, or all its rows rejected? (`creditgraph stats` shows what "
                "the store holds)",
                err=True,
                fg=typer.colors.YELLOW,
            )


def _snapshot(settings: Settings, day: date) -> Snapshot:
    """The saved snapshot of ``day``, taken from the store first if there is none or it was
    saved in an older format (before the record rules, for instance)."""
    manifest = settings.snapshots_dir / day.isoformat() / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text())["format"] == SNAPSHOT_FORMAT:
        return Snapshot.load(manifest.parent)
    return _take_snapshot(settings, day)


@app.command()
def snapshot(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
) -> None:
    """Export the graph as of a date to the data home's snapshots folder (warning when it
    holds no node of a kind, no persons for instance)."""
    _warn_empty_kinds(_take_snapshot(_settings(), _as_of(as_of)))


@app.command()
def features(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
    family: Annotated[
        list[str] | None,
        typer.Option(help=f"Only these families (repeatable): {', '.join(FAMILIES)}."),
    ] = None,
) -> None:
    """Compute the feature catalog (docs/features.md) as of a date.

    Uses the saved snapshot of that date, taking it from the store first if needed; writes
    the data home's features/<date>.parquet (all families) and reports time per family.
    """
    settings = _settings()
    day = _as_of(as_of)
    unknown = sorted(set(family or ()) - set(FAMILIES))
    if unknown:
        raise typer.BadParameter(f"unknown --family {unknown}; choose from {list(FAMILIES)}")
    rates = _rates(settings)
    snap = _snapshot(settings, day)
    _warn_empty_kinds(snap)
    started = time.perf_counter()
    matrix = compute_features(
        snap,
        families=tuple(family) if family else None,
        progress=lambda name, seconds: typer.echo(f"  {name:<12}{seconds:>8.1f} s"),
        rates=rates,
    )
    shape = f"{matrix.values.shape[0]:,} enterprises × {matrix.values.shape[1]} features"
    elapsed = time.perf_counter() - started
    if family:
        typer.echo(f"{shape} in {elapsed:.1f} s (partial: not saved)")
        return
    path = matrix.save(settings.features_dir / f"{day.isoformat()}.parquet")
    typer.echo(f"{shape} in {elapsed:.1f} s → {path}")


# -- risk model (docs/model.md) -------------------------------------------------------

_METRICS = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("ks", "KS"),
    ("recall_at_k", "recall in the top K"),
    ("brier", "Brier (calibrated)"),
)


def _progress(quiet: bool) -> Callable[[str], None]:
    """Progress lines with the seconds since the command started."""
    started = time.perf_counter()

    def note(message: str) -> None:
        if not quiet:
            typer.echo(f"  {time.perf_counter() - started:6.1f} s  {message}")

    return note


def _print_metrics(evaluation: dict[str, Any]) -> None:
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


LabelsOption = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        help="Your own outcomes, a CSV or Parquet file of enterprise_id, event_date, label "
        "(docs/model.md, 'Bringing your own labels'): every label in it counts as a bad "
        "outcome, instead of the store's events.",
    ),
]


def _print_labels(label: Mapping[str, Any]) -> None:
    """Where the labels came from, how many of each and what was left out."""
    for title, text in label_source_lines(label):
        typer.echo(f"  {title}: {text}")


@app.command()
def train(
    last_test: Annotated[
        str | None,
        typer.Option(
            help="Last as-of date of the test window (yyyy-mm-dd); default: the latest "
            "month-end whose label window is fully observed."
        ),
    ] = None,
    labels: LabelsOption = None,
    recompute: Annotated[
        bool,
        typer.Option(
            help="Compute every date's features again instead of reusing the data home's "
            "(after reloading past data)."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
) -> None:
    """Train the risk model and its no-graph baseline (docs/model.md).

    Monthly snapshots are split by time (training, validation, test, a label horizon
    apart); the model is evaluated on the test window, saved with its contract under the
    data home's models/ and becomes the current model. With --labels, the outcomes are
    the file's; the data are then complete through its latest event unless
    CREDITGRAPH_DATA_THROUGH says otherwise.
    """
    settings = _settings()
    day = _as_of(last_test, "--last-test") if last_test else None
    with open_store(settings, read_only=True) as store:
        artefact = train_job(store, settings, day, not recompute, _progress(quiet), labels)
    _print_labels(artefact.manifest["label"])
    _print_metrics(artefact.manifest["metrics"])
    typer.echo(f"model {artefact.version} → {artefact.folder} (now current)")


@app.command()
def evaluate(
    model: Annotated[str | None, typer.Option(help="Model version; default: current.")] = None,
    as_of: Annotated[
        list[str] | None,
        typer.Option(
            help="Test on these fully observed as-of dates instead of the model's own test "
            "window (repeatable)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report file; default: the model's report.html.")
    ] = None,
    labels: LabelsOption = None,
) -> None:
    """Write the evaluation report: the graph model beside its no-graph baseline.

    The report (HTML with plots) holds ROC-AUC, PR-AUC, KS, recall in the top K, calibration
    and Brier, PSI between dates and the bad rate per grade, and says where the labels came
    from. With --as-of, --labels gives the outcomes of those dates (a model that learnt from
    a labels file needs one).
    """
    settings = _settings()
    dates = tuple(_as_of(d) for d in as_of or ())
    if dates:
        with open_store(settings, read_only=True) as store:
            path, evaluation = evaluate_job(settings, model, dates, store, out, labels=labels)
    else:
        path, evaluation = evaluate_job(settings, model, out=out, labels=labels)
    tested = evaluation.get("labels")
    if isinstance(tested, dict):
        _print_labels(tested)
    _print_metrics(evaluation)
    typer.echo(f"report: {path}")


@app.command()
def score(
    as_of: Annotated[
        str | None,
        typer.Option(help="Date, yyyy-mm-dd; default: the last day the data are complete for."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model version; default: current.")] = None,
    explain_ids: Annotated[
        list[str] | None,
        typer.Option("--explain", help="Also store the reasons of this enterprise (repeatable)."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
) -> None:
    """Score, grade and explain every enterprise in operation on a date.

    Writes the data home's scores/<date>/<model>.parquet: score (calibrated probability of a
    bad outcome within the horizon), rank, grade, and reasons with graph evidence for the
    worst scores (CREDITGRAPH_REASONS_SHARE) and the --explain ids.
    """
    settings = _settings()
    given = _as_of(as_of) if as_of else None
    with open_store(settings, read_only=True) as store:
        day = given or observed_through(store, settings)
        path, table = score_job(
            settings, store, day, model, tuple(explain_ids or ()), _progress(quiet)
        )
    meta = json.loads(table.schema.metadata[b"creditgraph"])
    typer.echo(
        f"scored {meta['population']:,} enterprises as of {day} with {meta['model_version']}"
    )
    cutoffs = {"": None, **meta["cutoffs"]}
    for (grade, count), cut in zip(meta["counts"].items(), cutoffs.values(), strict=True):
        above = f"score > {cut:.4f}" if cut is not None else ""
        typer.echo(f"  {grade}  {count:>10,}  {count / max(meta['population'], 1):>6.1%}  {above}")
    worst = table.sort_by("rank").slice(0, 5).to_pylist()
    for row in worst:
        reasons = json.loads(row["reasons"]) if row["reasons"] else []
        first = reasons[0]["sentence"] if reasons else ""
        typer.echo(f"  #{row['rank']} {row['id']} {row['grade']} {row['score']:.3f}  {first}")
    scored = set(table["id"].to_pylist()) if explain_ids else set()
    for missing in sorted(set(explain_ids or ()) - scored):
        typer.echo(f"  --explain {missing}: not an enterprise in operation on {day}, not scored")
    typer.echo(f"scores: {path}")


def _print_grade(record: GradeRecord, lang: Language | None = None) -> None:
    """Grade, score, rank and reasons; the reasons in ``lang`` when given, else as stored."""
    typer.echo(
        f"{record.enterprise_id} as of {record.as_of} (model {record.model_version}): grade "
        f"{record.grade}, score {record.score:.4f}, rank {record.rank:,} of {record.population:,}"
    )
    for i, reason in enumerate(record.reasons or [], 1):
        sentence = reason.sentence
        if lang is not None:
            sentence = reason_sentence(reason.feature, reason.value, lang, reason.sentence)
        typer.echo(f"  {i}. {sentence}  (+{reason.contribution:.2f} log-odds)")
        for item in reason.evidence:
            said = item.text if lang is None else evidence_text(item.steps, lang, item.text)
            typer.echo(f"       · {said}")
    if record.reasons == []:
        typer.echo("  no feature raised its score above the average")


@app.command()
def explain(
    enterprise_id: Annotated[str, typer.Argument(help="Enterprise id (USCC or external id).")],
    as_of: Annotated[
        str | None, typer.Option(help="Scored date, yyyy-mm-dd; default: the latest scored.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model version; default: current, else latest.")
    ] = None,
    history: Annotated[bool, typer.Option(help="Also list its grades on every date.")] = False,
    language: LanguageOption = None,
) -> None:
    """Why an enterprise got its grade on a date: score, rank, reasons and graph evidence.

    The reasons are those stored when the date was scored, or computed the same way when the
    enterprise was not explained then.
    """
    settings = _settings()
    lang = _language(language)
    if as_of:
        day = _as_of(as_of)
    else:
        scored = sorted(p.name for p in settings.scores_dir.glob("*") if p.is_dir())
        if not scored:
            raise _fail("no date has been scored yet: run `creditgraph score` first")
        day = date.fromisoformat(scored[-1])
    with open_store(settings, read_only=True) as store:
        record = explain_job(settings, store, enterprise_id, day, model)
    _print_grade(record, lang)
    if history:
        typer.echo("history:")
        for past in grade_history(settings.scores_dir, enterprise_id):
            typer.echo(
                f"  {past.as_of}  {past.grade}  {past.score:.4f}  rank {past.rank:,} of "
                f"{past.population:,}  ({past.model_version})"
            )


plan_app = typer.Typer(
    help="双随机 sampling plans: draw, list, show, replay, export, import results.",
    no_args_is_help=True,
)
app.add_typer(plan_app, name="plan")


def _read_table(path: Path, what: str) -> pa.Table:
    """A CSV (all columns as text) or Parquet file, or a clear error."""
    if not path.is_file():
        raise _fail(f"{what} {path}: no such file")
    if path.suffix == ".parquet":
        return pq.read_table(path)
    try:
        # Every column as text: ids such as 330200… must not turn into numbers.
        with path.open(encoding="utf-8") as fh:
            names = next(csv.reader(fh), [])
        types = {name: pa.string() for name in names}
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _fail(f"{what} {path}: {exc}") from None


def _grading(path: Path, day: date) -> pa.Table:
    """Grades (id, grade, score) from a file: the model's scores, or a grading of your own."""
    table = _read_table(path, "grades")
    missing = {"id", "grade", "score"} - set(table.column_names)
    if missing:
        raise _fail(f"grades {path}: missing column(s) {', '.join(sorted(missing))}")
    try:
        score = table["score"].cast(pa.float64())
    except pa.ArrowInvalid:
        raise _fail(f"grades {path}: column score must be numbers") from None
    return pa.table(
        {
            "id": table["id"].cast(pa.string()),
            "grade": table["grade"].cast(pa.string()),
            "score": score,
        }
    )


def _plan_grading(
    settings: Settings, day: date, grades: Path | None, model_version: str | None = None
) -> tuple[pa.Table, str]:
    """(grades, name of the grading): the file given, else the model's stored scores of
    ``day`` (of ``model_version`` if given, else of the current model)."""
    if grades is not None:
        return _grading(grades, day), grades.name
    path = scores_file(
        settings.scores_dir, day, model_version, preferred=current_version(settings.models_dir)
    )
    if path is None:
        which = f" by model {model_version}" if model_version else ""
        raise _fail(
            f"no stored scores of {day}{which}: run creditgraph score --as-of {day}, "
            "or give --grades FILE (id, grade, score)"
        )
    return pq.read_table(path, columns=["id", "grade", "score"]), path.stem


def _ratios(values: list[str]) -> dict[str, float]:
    out = {}
    for text in values:
        grade, sep, ratio = text.partition("=")
        try:
            out[grade.strip()] = float(ratio)
        except ValueError:
            raise typer.BadParameter(f"--ratio {text!r}: write CLASS=RATIO, e.g. C=0.15") from None
        if not sep:
            raise typer.BadParameter(f"--ratio {text!r}: write CLASS=RATIO, e.g. C=0.15")
    return out


@plan_app.command("draw")
def plan_draw(
    as_of: Annotated[str, typer.Option(help="Date of the grades and the graph, yyyy-mm-dd.")],
    item: Annotated[str, typer.Option(help="Inspection item (抽查事项).")],
    inspectors: Annotated[Path, typer.Option(help="Inspector file (see docs/supervision.md).")],
    grades: Annotated[
        Path | None,
        typer.Option(help="Grades file (id, grade, score); default: the model's stored scores."),
    ] = None,
    preset: Annotated[
        str, typer.Option(help=f"Local rule: {', '.join(presets()['presets'])}.")
    ] = "henan_2021",
    ratio: Annotated[list[str] | None, typer.Option(help="Override, e.g. C=0.15.")] = None,
    region: Annotated[list[str] | None, typer.Option(help="Region code prefix.")] = None,
    industry: Annotated[list[str] | None, typer.Option(help="Industry section.")] = None,
    forced: Annotated[
        Path | None, typer.Option(help="CSV of id, reason: complaints, leads, referrals.")
    ] = None,
    recent_months: Annotated[int, typer.Option(help="无事不扰 window for class A.")] = 12,
    extension_hops: Annotated[
        int | None, typer.Option(help="Force in firms tied to black-listed ones within k hops.")
    ] = None,
    recusal_hops: Annotated[int, typer.Option(help="Conflict of interest within k hops.")] = 2,
    recuse_same_region: Annotated[
        bool, typer.Option(help="Recuse inspectors of the region.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Seed; chosen at random when not given.")] = None,
) -> None:
    """Draw a sampling plan with inspectors and recusals, and record it for replay."""
    settings = _settings()
    day = _as_of(as_of)
    grading, grading_name = _plan_grading(settings, day, grades)
    forced_rows = _read_table(forced, "forced objects").to_pylist() if forced else []
    try:
        spec = PlanSpec(
            item=item,
            as_of=day,
            grading=grading_name,
            regions=tuple(region or ()),
            industries=tuple(industry or ()),
            preset=preset,
            ratios=_ratios(ratio or []),
            recent_months=recent_months,
            forced=tuple(
                Forced(id=r.get("id", ""), reason=r.get("reason", "")) for r in forced_rows
            ),
            extension_hops=extension_hops,
            recusal_hops=recusal_hops,
            recuse_same_region=recuse_same_region,
            seed=seed,
        )
    except ValidationError as exc:
        raise _fail(str(exc)) from None
    pool_of_inspectors = read_inspectors(inspectors, settings.person_id_salt)
    snap = _snapshot(settings, day)
    started = time.perf_counter()
    record = draw_plan(snap, grading, pool_of_inspectors, spec)
    record, path, created = record.save(settings.plans_dir)
    _print_plan(record)
    if not created:
        typer.echo(
            f"plan {record.plan_id} already exists (recorded {record.created_at}): the same "
            f"draw, shown above; a recorded plan is never replaced → {path}"
        )
        return
    typer.echo(
        f"plan {record.plan_id} (seed {record.seed}) → {path} "
        f"({time.perf_counter() - started:.1f} s)"
    )


def _print_plan(record: PlanRecord) -> None:
    typer.echo(f"{'class':<6}{'pool':>10}{'eligible':>10}{'forced':>8}{'drawn':>8}")
    drawn: dict[str, int] = {}
    for o in record.objects:
        drawn[o["grade"]] = drawn.get(o["grade"], 0) + 1
    for grade, sizes in record.pool_classes.items():
        typer.echo(
            f"{grade:<6}{sizes['pool']:>10,}{sizes['eligible']:>10,}{sizes['forced']:>8,}"
            f"{drawn.get(grade, 0):>8,}"
        )
    typer.echo(
        f"objects {len(record.objects):,}, recusals {len(record.recusals):,}, "
        f"without enough inspectors {len(record.unassigned):,}"
    )


def _load_plan(settings: Settings, plan_id: str) -> PlanRecord:
    return PlanRecord.load(settings.plans_dir, plan_id)


@plan_app.command("list")
def plan_list(
    limit: Annotated[int, typer.Option(min=1, help="The newest plans printed at most.")] = 50,
) -> None:
    """List recorded plans, newest last."""
    folder = _settings().plans_dir
    # Recorded to the second; the file's time orders plans drawn within one second.
    paths = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    records = sorted((PlanRecord.load(folder, p.stem) for p in paths), key=lambda r: r.created_at)
    if not records:
        typer.echo(f"no plans in {folder}")
    _not_shown(min(limit, len(records)), len(records), "older plans")
    for record in records[-limit:]:
        typer.echo(
            f"{record.plan_id}  {record.created_at}  {record.spec['item']}  "
            f"{len(record.objects):,} objects"
        )


@plan_app.command("show")
def plan_show(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    limit: Annotated[int, typer.Option(min=1, help="Objects and recusals printed at most.")] = 10,
) -> None:
    """Show a plan's parameters, class sizes and its first objects and recusals."""
    record = _load_plan(_settings(), plan_id)
    typer.echo(json.dumps(record.spec, ensure_ascii=False, indent=1))
    _print_plan(record)
    for o in record.objects[:limit]:
        typer.echo(
            f"  {o['id']} {o['grade']} {o['selected']:<7}{' '.join(o['inspectors'])}  {o['reason']}"
        )
    export = f"`creditgraph plan export {plan_id} --out FILE` writes them for publication"
    _not_shown(min(limit, len(record.objects)), len(record.objects), "objects", export)
    for r in record.recusals[:limit]:
        typer.echo(
            f"  recused {r['inspector']} from {r['enterprise']}: {r['reason']}, {r['hops']} hop(s)"
        )
    _not_shown(min(limit, len(record.recusals)), len(record.recusals), "recusals")


@plan_app.command("replay")
def plan_replay(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    inspectors: Annotated[Path, typer.Option(help="The inspector file it was drawn with.")],
    grades: Annotated[
        Path | None,
        typer.Option(help="The grades file it was drawn with; default: the stored scores."),
    ] = None,
) -> None:
    """Re-derive a plan from its record; fails if the pool, the inspectors or the result differ."""
    settings = _settings()
    record = _load_plan(settings, plan_id)
    spec = PlanSpec.model_validate(record.spec)
    stored_version = None if grades is not None else spec.grading
    grading, _ = _plan_grading(settings, spec.as_of, grades, stored_version)
    people = read_inspectors(inspectors, settings.person_id_salt)
    replay(record, _snapshot(settings, spec.as_of), grading, people)
    typer.echo(
        f"plan {plan_id} replayed: same pool, same {len(record.objects):,} objects and inspectors"
    )


@plan_app.command("export")
def plan_export(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    out: Annotated[Path, typer.Option(help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
) -> None:
    """Write the plan for publication (一公开): no grades, scores or forced reasons."""
    record = _load_plan(_settings(), plan_id)
    text = publication(record, fmt)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {len(record.objects):,} objects to {out}")


@plan_app.command("import-results")
def plan_import_results(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    results: Annotated[
        Path, typer.Argument(help="CSV/Parquet: enterprise_id, finding, inspected_on.")
    ],
    authority: Annotated[str, typer.Option(help="Inspecting authority.")],
) -> None:
    """Load a plan's inspection results as inspection records (they feed the next grading)."""
    settings = _settings()
    record = _load_plan(settings, plan_id)
    rows = results_to_inspections(record, _read_table(results, "results"), authority)
    with tempfile.TemporaryDirectory() as tmp:
        pacsv.write_csv(rows, Path(tmp) / "inspections.csv")
        _run_load(settings, Path(tmp), strict=True, quiet=True)


@app.command("extension-check")
def extension_check(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
    grades: Annotated[
        Path | None,
        typer.Option(help="Grades file to rank by; default: the stored scores, if any."),
    ] = None,
    hops: Annotated[int, typer.Option(min=1, max=4, help="Hops through people and holdings.")] = 2,
    out: Annotated[Path | None, typer.Option(help="Write the whole list as CSV here.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows printed, the first of the list.")] = 20,
) -> None:
    """延伸检查: firms tied to black-listed enterprises, ranked by score, with the paths."""
    settings = _settings()
    day = _as_of(as_of)
    snap = _snapshot(settings, day)
    started = time.perf_counter()
    stored = scores_file(settings.scores_dir, day, preferred=current_version(settings.models_dir))
    if grades is not None or stored is not None:
        grading: pa.Table | None = _plan_grading(settings, day, grades)[0]
    else:
        grading = None
        typer.echo(f"no scores of {day}: related firms ranked by hops, not by risk")
    table = extension_checks(snap, grading, hops)
    black = len(set(table["black_listed_id"].to_pylist()))
    typer.echo(
        f"{table.num_rows:,} related firms of {black:,} black-listed enterprises "
        f"({time.perf_counter() - started:.1f} s)"
    )
    if out is not None:
        write_safe_csv(table, out)
        typer.echo(f"wrote {out}")
        return
    shown, words = table.slice(0, limit), PathWords(snap)
    if shown.num_rows:
        typer.echo("  grade, hops: the path from the black-listed firm to the related one")
    for row in shown.to_pylist():
        path = words.text(row["black_listed_id"], row["path"])
        typer.echo(f"  {row['grade'] or '-'} {row['hops']} hop(s)  {path} {row['related_name']}")
    _not_shown(shown.num_rows, table.num_rows, "related firms", "--out FILE writes them to CSV")


DEMO_MONTHS = 3
"""Dates the demo scores: the last day of its data and the month-ends before it, so that
the board has grade changes, a month-by-month chart and warnings between months."""

DEMO_WATCHLIST, DEMO_BANK = "demo-loans", "甬城银行"
"""The demo's watchlist and the (invented) bank that watches it."""


def _demo_rates(settings: Settings, day: date) -> None:
    """The demo's rate table (rates.csv in the data home), dated ``day``; one already there
    is the data home's own and stays."""
    path = settings.rates_path
    if write_demo_rates(path, day):
        said = f"1 USD = {DEMO_USD_RATE} CNY on {day} (illustrative)"
        typer.echo(f"  currency rates: {said} → {path}")
    else:
        typer.echo(f"  currency rates: {path} kept")


def _demo_days(settings: Settings) -> list[date]:
    """The demo's dates, oldest first: the last day of the data and the month-ends before it
    (none when the store holds no records)."""
    try:
        with open_store(settings, read_only=True) as store:
            latest = observed_through(store, settings)
    except ModelError:
        return []
    before = last_month_end_on_or_before(latest - timedelta(days=1))
    return [shift_months(before, -k) for k in range(DEMO_MONTHS - 2, -1, -1)] + [latest]


def _demo_model(settings: Settings, days: list[date]) -> None:
    """Train, evaluate and score ``days`` on the demo store; a city too small to train on is
    said so, not an error."""
    try:
        with open_store(settings, read_only=True) as store:
            typer.echo("4/7 training the risk model on monthly snapshots (docs/model.md)")
            artefact = train_job(store, settings, progress=_progress(quiet=True))
            _print_metrics(artefact.manifest["metrics"])
            typer.echo("5/7 evaluation report")
            path, _ = evaluate_job(settings)
            typer.echo(f"  {path}")
            typer.echo(f"6/7 scoring and grading {len(days)} dates")
            for day in days:
                scores_path, table = score_job(settings, store, day)
                counts = json.loads(table.schema.metadata[b"creditgraph"])["counts"]
                grades = ", ".join(f"{g} {n:,}" for g, n in counts.items())
                typer.echo(f"  {day}: {grades} → {scores_path}")
    except ModelError as exc:
        typer.echo(f"model skipped: {exc}")
        return
    worst = table.sort_by("rank").slice(0, 1).to_pylist()[0]
    typer.echo(f"  why is the worst graded {worst['grade']}? creditgraph explain {worst['id']}")


def _demo_supervision(settings: Settings, city: Path, seed: int, days: list[date]) -> None:
    """What supervisors work with, so that every page of the board and every documented
    command has data: warnings between the scored dates, an inspector file and a bank's
    watchlist (all synthetic, loaders/demo_supervision.py)."""
    typer.echo("7/7 warnings, inspectors and a watchlist (docs/supervision.md)")
    for before, day in itertools.pairwise(days):
        gradings = _stored_gradings(settings, before, day)
        current = _snapshot(settings, day)
        table = compute_warnings(_snapshot(settings, before), current, *gradings)
        with open_registry(settings.supervision_path) as registry:
            run = save_warnings(registry, table, day, before, DEFAULT_HOPS, current)
        typer.echo(f"  warnings {before} → {day}: {run.found:,} found, {run.added:,} new")
    inspectors = write_demo_inspectors(city, settings.inspectors_dir / "demo-inspectors.csv", seed)
    typer.echo(
        f"  inspectors: {inspectors.count} ({inspectors.with_ties} tied to firms of the city, "
        f"for recusals) → {inspectors.path}"
    )
    members = demo_loan_book(city, seed)
    with open_registry(settings.supervision_path) as registry:
        create_watchlist(registry, DEMO_WATCHLIST, DEMO_BANK, "bank")
        add_members(registry, DEMO_WATCHLIST, members)
    typer.echo(f"  watchlist {DEMO_WATCHLIST!r} of {DEMO_BANK}: {len(members)} borrowers")


def _require_empty(settings: Settings) -> None:
    """Refuse a Neo4j database that holds anything: synthetic firms must not mix with real."""
    with open_store(settings) as store:
        counts = store.counts()
    held = sum(counts.nodes.values()) + sum(counts.records.values())
    if held:
        where = f"Neo4j at {redact_uri(settings.neo4j_uri or '')}"
        raise _fail(
            f"the database {settings.neo4j_database!r} of {where} holds {held:,} nodes; "
            "the demo loads only into an empty database (for `./dev neo4j`'s server: "
            "./dev neo4j stop && rm -rf .neo4j/dev && ./dev neo4j start)"
        )


@app.command()
def demo(
    enterprises: Annotated[
        int, typer.Option(min=100, help="Size of the demo city.")
    ] = DEMO_ENTERPRISES,
    seed: Annotated[int, typer.Option(help="Random seed of the demo city.")] = 0,
    neo4j: Annotated[
        bool,
        typer.Option(
            "--neo4j",
            help="Load into the Neo4j server of CREDITGRAPH_NEO4J_URI (an empty database) "
            "instead of the embedded store.",
        ),
    ] = False,
) -> None:
    """Generate, load and score a synthetic demo city in the data home.

    The city goes into a fresh embedded store; the command reports what it holds, trains
    and evaluates the risk model, scores the last day of the data and the two month-ends
    before it, raises the warnings between them, and writes an inspector file and a bank's
    watchlist: every page of the board and every documented command has data. Its foreign
    guarantees (USD) convert at an illustrative rate written to the data home's rates.csv
    (kept when there is one).

    The demo replaces the data home's store, warnings and watchlists only if an earlier
    demo made them (recorded plans stay: nothing deletes a plan). It writes
    to Neo4j only when asked with --neo4j, and then only into an empty database: synthetic
    firms must not land among real ones.
    """
    settings = _settings(home="create")
    if neo4j and not settings.neo4j_uri:
        raise _fail("--neo4j needs CREDITGRAPH_NEO4J_URI and CREDITGRAPH_NEO4J_PASSWORD")
    if settings.neo4j_uri and not neo4j:
        typer.echo("the demo uses the embedded store of the data home (--neo4j for Neo4j)")
        settings = settings.model_copy(update={"neo4j_uri": None})
    started = time.perf_counter()
    store_dir = settings.embedded_store_path.parent
    marker = store_dir / "DEMO"
    if store_dir.exists() and not marker.exists():
        raise _fail(
            f"{store_dir} holds a store that is not a demo; "
            "point CREDITGRAPH_HOME to another folder to run the demo"
        )
    if neo4j:
        _require_empty(settings)
    # Everything derived from the old demo store goes with it: a new city must not reuse
    # its snapshots, features, models, scores, warnings or watchlists.
    for derived in (
        store_dir,
        settings.snapshots_dir,
        settings.features_dir,
        settings.models_dir,
        settings.scores_dir,
    ):
        shutil.rmtree(derived, ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{settings.supervision_path}{suffix}").unlink(missing_ok=True)
    data = settings.home / "demo-data"
    shutil.rmtree(data, ignore_errors=True)
    typer.echo(f"1/7 generating a synthetic city of {enterprises:,} enterprises (seed {seed})")
    generate_city(data, enterprises, seed=seed, fmt="parquet")
    if neo4j:
        target = f"Neo4j at {redact_uri(settings.neo4j_uri or '')}"
    else:
        target = str(settings.embedded_store_path)
        store_dir.mkdir(parents=True)
        marker.write_text("made by `creditgraph demo`; the next demo replaces this store\n")
    typer.echo(f"2/7 loading {data} into {target}")
    _run_load(settings, data, strict=True, quiet=True)
    typer.echo("3/7 what the store holds")
    _print_stats(settings)
    days = _demo_days(settings)
    _demo_rates(settings, days[-1] if days else date.today())
    _demo_model(settings, days)
    _demo_supervision(settings, data, seed, days)
    typer.echo(f"demo done in {time.perf_counter() - started:.1f} s")


warnings_app = typer.Typer(
    help="Warnings (风险预警) between two as-of dates: raise, list, show, set-state.",
    no_args_is_help=True,
)
app.add_typer(warnings_app, name="warnings")
watchlist_app = typer.Typer(
    help="Watchlists: the enterprises a bank or a regulator watches.", no_args_is_help=True
)
app.add_typer(watchlist_app, name="watchlist")
records_app = typer.Typer(help="Records by the rules of their kind.", no_args_is_help=True)
app.add_typer(records_app, name="records")
labels_app = typer.Typer(
    help="Labels files: your own outcomes for train --labels (docs/model.md).",
    no_args_is_help=True,
)
app.add_typer(labels_app, name="labels")


@labels_app.command("export")
def labels_export(
    out: Annotated[Path, typer.Option(help="The labels file to write, .csv or .parquet.")],
    since: Annotated[
        str | None,
        typer.Option(help="Events after this date (yyyy-mm-dd); default: the first training date."),
    ] = None,
) -> None:
    """Write the store's outcome events (CREDITGRAPH_LABEL_EVENTS) as a labels file.

    The rows are enterprise_id, event_date, label (the event's name): the events training
    reads, through the day the data are complete for. Edit or merge it with your own
    outcomes and train with --labels.
    """
    settings = _settings()
    day = _as_of(since, "--since") if since else None
    with open_store(settings, read_only=True) as store:
        events = export_labels_job(store, settings, out, day)
    counts = ", ".join(f"{name} {n:,}" for name, n in events.counts().items())
    typer.echo(
        f"{len(events.days):,} events after {day or 'the first training date'} through "
        f"{events.observed_through} ({counts}) → {out}"
    )


@labels_app.command("check")
def labels_check(
    file: Annotated[Path, typer.Argument(help="A labels file, .csv or .parquet.")],
) -> None:
    """Check a labels file as train --labels reads it, without training.

    Every problem is named by line, field and reason (the file is refused whole); the
    events per label, the enterprises the store does not hold and the events after the
    data-through day are counted.
    """
    settings = _settings()
    given = read_label_file(file)
    with open_store(settings, read_only=True) as store:
        observed = observed_through(store, settings, given)
        events = label_events(
            store,
            LabelDefinition(from_file=True, events=given.names),
            date.min,
            observed,
            given,
        )
    typer.echo(
        f"{file}: {given.rows:,} rows, events {given.earliest} … {given.latest}; data "
        f"complete through {observed}"
    )
    _print_labels({"events": list(given.names), "source": dict(events.source)})
    counts = "; ".join(f"{name} {n:,}" for name, n in events.counts().items())
    typer.echo(f"  events per label (enterprises of the store, through {observed}): {counts}")


def _stored_gradings(settings: Settings, before: date, day: date) -> tuple[pa.Table, ...]:
    """The model's stored grades of both dates, of one model version (grades of two models
    are not comparable); none when either date was not scored with it."""
    current = scores_file(settings.scores_dir, day, preferred=current_version(settings.models_dir))
    if current is None:
        typer.echo(f"no stored scores of {day}: no grade warnings (creditgraph score --as-of …)")
        return ()
    previous = scores_file(settings.scores_dir, before, model_version=current.stem)
    if previous is None:
        typer.echo(f"no scores of {before} by model {current.stem}: no grade warnings")
        return ()
    return tuple(pq.read_table(p, columns=["id", "grade", "score"]) for p in (previous, current))


@contextmanager
def _read_registry(settings: Settings) -> Iterator[Registry]:
    """The supervision registry for a command that only reads it. A data home without one
    reads as an empty registry (in memory): a read must not create the file."""
    with open_registry(settings.supervision_path, read_only=True) as registry:
        yield registry


@warnings_app.command("raise")
def warnings_raise(
    as_of: Annotated[str, typer.Option(help="Current date, yyyy-mm-dd.")],
    previous: Annotated[str, typer.Option(help="Previous date (the last run), yyyy-mm-dd.")],
    hops: Annotated[
        int, typer.Option(min=1, max=MAX_HOPS, help="Related parties within this many hops.")
    ] = DEFAULT_HOPS,
    grades: Annotated[
        Path | None, typer.Option(help="Grades of --as-of (id, grade, score); default: stored.")
    ] = None,
    previous_grades: Annotated[
        Path | None, typer.Option(help="Grades of --previous; default: stored scores.")
    ] = None,
) -> None:
    """Raise the warnings between two dates and store the new ones.

    A warning already known is not stored again. Uses the saved snapshots of both dates, taken
    from the store when missing, and for worse grades the grade files given or else the
    model's stored scores.
    """
    settings = _settings()
    day, before = _as_of(as_of), _as_of(previous, "--previous")
    if (grades is None) != (previous_grades is None):
        raise typer.BadParameter("give both --grades and --previous-grades, or neither")
    if before >= day:
        raise typer.BadParameter(f"--previous {before} must come before --as-of {day}")
    if grades is not None and previous_grades is not None:
        gradings = (_grading(previous_grades, before), _grading(grades, day))
    else:
        gradings = _stored_gradings(settings, before, day)
    earlier, current = _snapshot(settings, before), _snapshot(settings, day)
    started = time.perf_counter()
    table = compute_warnings(earlier, current, *gradings, hops=hops)
    with open_registry(settings.supervision_path) as registry:
        run = save_warnings(registry, table, day, before, hops, current)
    for kind, n in run.by_type.items():
        typer.echo(f"  {kind:<24}{n:>10,}")
    typer.echo(
        f"run {run.run_id}: {run.found:,} warnings, {run.added:,} new, "
        f"{run.found - run.added:,} known already, {run.closed:,} closed (record repaired "
        f"or annulled) in {time.perf_counter() - started:.1f} s → {settings.supervision_path}"
    )


def _print_warning(w: StoredWarning, names: dict[str, str], lang: Language | None = None) -> None:
    """A warning in two lines; persons of its evidence by name (``names``), where known;
    type, state and evidence in words of ``lang`` when given."""
    mark = " DISPUTED" if w.disputed else ""
    if lang is None:
        typer.echo(f"#{w.id} {w.state:<6} {w.type:<22} {w.enterprise_id}  {w.event_on}{mark}")
        typer.echo(f"    {with_names(w.evidence, names)}")
        return
    state, kind = word("warning_state", w.state, lang), word("warning_type", w.type, lang)
    typer.echo(f"#{w.id} {state}  {kind}  {w.enterprise_id}  {w.event_on}{mark}")
    typer.echo(f"    {warning_evidence(w.evidence, lang, names.get)}")


def _warning_names(settings: Settings, warnings: list[StoredWarning]) -> dict[str, str]:
    """Names of the persons in these warnings, from the saved snapshots of their dates."""
    return person_names(settings.snapshots_dir, (date.fromisoformat(w.as_of) for w in warnings))


@warnings_app.command("list")
def warnings_list(
    state: Annotated[str | None, typer.Option(help="new, seen or closed.")] = None,
    watchlist: Annotated[str | None, typer.Option(help="Only the members of this list.")] = None,
    kind: Annotated[
        str | None, typer.Option("--type", help=f"One of {', '.join(WARNING_TYPES)}.")
    ] = None,
    enterprise: Annotated[str | None, typer.Option(help="Only this enterprise.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Only raised for this date.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    language: LanguageOption = None,
) -> None:
    """Stored warnings, newest run first."""
    settings = _settings()
    lang = _language(language)
    day = _as_of(as_of) if as_of else None
    with _read_registry(settings) as registry:
        found = list_warnings(
            registry,
            state=state,
            watchlist=watchlist,
            type_=kind,
            enterprise_id=enterprise,
            as_of=day,
            limit=limit,
        )
        total = count_warnings(
            registry,
            state=state,
            watchlist=watchlist,
            type_=kind,
            enterprise_id=enterprise,
            as_of=day,
        )
    names = _warning_names(settings, found)
    for w in found:
        _print_warning(w, names, lang)
    _not_shown(len(found), total, "warnings")
    typer.echo(f"{total:,} warning(s)")
    if not settings.supervision_path.exists():
        typer.echo(f"no warnings raised in {settings.home} yet: `creditgraph warnings raise`")


@warnings_app.command("show")
def warnings_show(
    warning_id: Annotated[int, typer.Argument(help="Warning number.")],
    language: LanguageOption = None,
) -> None:
    """A warning with its evidence and the history of its state."""
    settings = _settings()
    lang = _language(language)
    with _read_registry(settings) as registry:
        w, history = get_warning(registry, warning_id)
    _print_warning(w, _warning_names(settings, [w]), lang)
    subject = w.subject if lang is None else warning_subject(w.subject, lang)
    typer.echo(f"    subject {subject}, raised for {w.as_of}")
    for h in history:
        note = f": {h.note}" if h.note else ""
        typer.echo(f"    {h.at} {h.actor} {h.from_state} → {h.to_state}{note}")


@warnings_app.command("set-state")
def warnings_set_state(
    warning_id: Annotated[int, typer.Argument(help="Warning number.")],
    state: Annotated[str, typer.Argument(help="seen or closed.")],
    by: Annotated[str, typer.Option(help="Who changes it (recorded).")],
    note: Annotated[str | None, typer.Option(help="Why (recorded).")] = None,
) -> None:
    """Mark a warning seen or closed; who and when are recorded."""
    with open_registry(_settings().supervision_path) as registry:
        w = set_state(registry, warning_id, state, by, note)
    typer.echo(f"warning #{w.id} is {w.state}")


@watchlist_app.command("create")
def watchlist_create(
    name: Annotated[str, typer.Argument(help="Name of the list, unique.")],
    owner: Annotated[str, typer.Option(help="The bank or the regulator that watches.")],
    owner_kind: Annotated[str, typer.Option(help=f"One of {', '.join(OWNER_KINDS)}.")],
) -> None:
    """Create an empty watchlist."""
    with open_registry(_settings().supervision_path) as registry:
        create_watchlist(registry, name, owner, owner_kind)
    typer.echo(f"watchlist {name!r} created for {owner} ({owner_kind})")


@watchlist_app.command("add")
def watchlist_add(
    name: Annotated[str, typer.Argument(help="Watchlist.")],
    ids: Annotated[list[str], typer.Argument(help="Enterprise ids (USCC or external ids).")],
) -> None:
    """Add enterprises the store knows to a watchlist."""
    settings = _settings()
    with open_store(settings, read_only=True) as store:
        known = store.existing_keys("Enterprise", pa.array(ids, pa.string()))
    unknown = [i for i, ok in zip(ids, known.to_pylist(), strict=True) if not ok]
    if unknown:
        raise _fail(f"no such enterprise in the store: {', '.join(unknown)}; nothing added")
    with open_registry(settings.supervision_path) as registry:
        added = add_members(registry, name, ids)
    typer.echo(f"{added} added to {name!r} ({len(set(ids)) - added} were on it already)")


@watchlist_app.command("remove")
def watchlist_remove(
    name: Annotated[str, typer.Argument(help="Watchlist.")],
    ids: Annotated[list[str], typer.Argument(help="Enterprise ids.")],
) -> None:
    """Remove enterprises from a watchlist."""
    with open_registry(_settings().supervision_path) as registry:
        removed = remove_members(registry, name, ids)
    typer.echo(f"{removed} removed from {name!r}")


@watchlist_app.command("show")
def watchlist_show(
    name: Annotated[str, typer.Argument(help="Watchlist.")],
    limit: Annotated[int, typer.Option(min=1, help="Members printed at most.")] = 50,
) -> None:
    """A watchlist's owner and members."""
    with _read_registry(_settings()) as registry:
        w = show_watchlist(registry, name)
    typer.echo(f"{w.name}: {w.owner} ({w.owner_kind}), created {w.created_at}")
    for member in w.members[:limit]:
        typer.echo(f"  {member}")
    _not_shown(min(limit, len(w.members)), len(w.members), "members")
    typer.echo(f"{len(w.members):,} member(s)")


@watchlist_app.command("list")
def watchlist_list(
    limit: Annotated[int, typer.Option(min=1, help="Watchlists printed at most.")] = 50,
) -> None:
    """Every watchlist with its owner and size."""
    settings = _settings()
    with _read_registry(settings) as registry:
        lists = all_watchlists(registry)
    for name, owner, kind, members in lists[:limit]:
        typer.echo(f"{name:<24}{owner} ({kind}){members:>10,} member(s)")
    _not_shown(min(limit, len(lists)), len(lists), "watchlists")
    if not lists:
        typer.echo(f"no watchlists in {settings.home}: `creditgraph watchlist create`")


@records_app.command("due-escalations")
def records_due_escalations(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
    out: Annotated[Path | None, typer.Option(help="Write every row to this CSV file.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows printed.")] = 50,
) -> None:
    """Abnormal-list entries due for the black list: still in force three years after listing.

    Moving one is a decision of the listing authority; nothing is written to the store.
    """
    settings = _settings()
    due = due_escalations(_snapshot(settings, _as_of(as_of)))
    shown = due.slice(0, limit)
    for row in shown.to_pylist():
        mark = " DISPUTED" if row["disputed"] else ""
        typer.echo(
            f"{row['enterprise_id']}  {row['name']}  {row['record_id']}  listed "
            f"{row['listed_on']}, due {row['due_on']} ({row['days_overdue']} days ago) "
            f"→ {row['to']}{mark}"
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_safe_csv(due, out)
        typer.echo(f"wrote {out}")
    else:
        _not_shown(shown.num_rows, due.num_rows, "escalations", "--out FILE writes them to CSV")
    typer.echo(f"{due.num_rows:,} escalation(s) due on {as_of}")


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def _check_bind(host: str, allow_remote: bool, what: str) -> None:
    """Refuse an address other machines can reach unless ``--allow-remote`` says it is meant;
    with the flag, warn that it must sit behind TLS. Shared by ``board`` and ``serve``."""
    if _is_loopback(host):
        return
    if not allow_remote:
        raise _fail(
            f"--host {host} is not a loopback address: {what} would serve grades to the network "
            "and take API keys from it. Listen on 127.0.0.1 (the default) behind a reverse "
            "proxy with TLS, or pass --allow-remote when this address is behind one."
        )
    typer.secho(
        f"warning: {what} listens on {host}, reachable from the network; it serves grades and "
        "takes API keys, so it must sit behind TLS (a reverse proxy with HTTPS).",
        err=True,
        fg=typer.colors.YELLOW,
    )


@app.command()
def board(
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; one other machines reach needs --allow-remote."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8050,
    language: Annotated[str, typer.Option(help="Language shown first: zh or en.")] = "zh",
    as_of: Annotated[
        str | None, typer.Option(help="Date shown first; default: the latest saved snapshot.")
    ] = None,
    warm: Annotated[
        bool, typer.Option(help="Prepare the first date before serving (fast first pages).")
    ] = True,
    time_zone: Annotated[
        str, typer.Option(help="Time zone the board shows times in (an IANA name).")
    ] = "Asia/Shanghai",
    allow_remote: Annotated[
        bool,
        typer.Option(
            help="Allow a --host other machines can reach (behind TLS only); the login cookie "
            "is then sent over HTTPS only."
        ),
    ] = False,
) -> None:
    """Serve the board (docs/dashboard.md) over the data home, in Chinese and English.

    Pages: overview, warnings, enterprises, extension checks, guarantee circles and sampling
    plans. Log in with a regulator or analyst key of CREDITGRAPH_API_KEYS.
    """
    # Imported here: Dash and Plotly take about a second to import and only this command
    # needs them.
    from dashboard.app import create_app
    from dashboard.auth import BOARD_ROLES
    from dashboard.config import BoardConfig

    first_day = _as_of(as_of) if as_of else None
    settings = _settings()
    if not any(c.role in BOARD_ROLES for c in settings.api_clients().values()):
        raise _fail(
            "no regulator or analyst key in CREDITGRAPH_API_KEYS: nobody could log in to the "
            'board. Set it first, e.g. export CREDITGRAPH_API_KEYS=\'{"<long random key>": '
            '{"name": "<who holds it>", "role": "regulator"}}\' (docs/dashboard.md)'
        )
    _check_bind(host, allow_remote, "the board")
    _rates(settings)  # guarantee circles convert with it: refuse a bad one before serving
    try:
        config = BoardConfig.model_validate(
            {
                "language": language,
                "as_of": first_day,
                "warm": warm,
                "time_zone": time_zone,
                "secure_cookie": allow_remote and not _is_loopback(host),
            }
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["loc"] == ("time_zone",):
            raise typer.BadParameter(f"--time-zone: {error['msg']}") from None
        raise typer.BadParameter(f"--language must be zh or en: {error['msg']}") from None
    if not settings.snapshots_dir.is_dir() or not any(settings.snapshots_dir.iterdir()):
        typer.echo(
            f"no saved snapshot in {settings.snapshots_dir}: the board will be empty until "
            "`creditgraph score` (or `creditgraph snapshot`) saves one"
        )
    started = time.perf_counter()
    application = create_app(settings, config)
    typer.echo(
        f"board ready in {time.perf_counter() - started:.1f} s: http://{host}:{port}/ "
        "(Ctrl+C to stop)"
    )
    application.run(host=host, port=port, debug=False)


@app.command()
def serve(
    host: Annotated[
        str,
        typer.Option(help="Interface to listen on; one other machines reach needs --allow-remote."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    allow_remote: Annotated[
        bool,
        typer.Option(help="Allow a --host other machines can reach (behind TLS only)."),
    ] = False,
) -> None:
    """Serve the HTTP API (docs/api.md) with uvicorn.

    It reads the store (read-only), the latest saved snapshot and the stored grades of the
    data home; API keys come from CREDITGRAPH_API_KEYS.

    Loading and serving are separate: the embedded store cannot be opened read-only while a
    load writes to it, so stop the server, load, snapshot and score, then start it again.
    """
    settings = _settings()
    _check_bind(host, allow_remote, "the API")
    started = time.perf_counter()
    api = create_app(settings)
    services = api.state.services
    typer.echo(
        f"serving {settings.home} (snapshot {services.index.as_of if services.index else 'none'}, "
        f"grades {services.grades.as_of if services.grades else 'none'}, "
        f"{len(services.keyring)} API key(s)), ready in {time.perf_counter() - started:.1f} s"
    )
    if (mismatch := services.mismatch()) is not None:
        typer.secho(f"warning: {mismatch}", err=True, fg=typer.colors.YELLOW)
    # No access log: every request is in the audit log already, and the line costs time.
    uvicorn.run(api, host=host, port=port, log_level=log_level, access_log=False)


@app.command()
def docs(
    out: Annotated[Path, typer.Option(help="Docs folder.")] = Path("docs"),
) -> None:
    """Regenerate the generated docs: data-contract.md and features.md.

    data-contract.md comes from graph_model/domain.yaml, features.md from the feature catalog.
    """
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("data-contract.md", render_data_contract()),
        ("features.md", render_features_doc()),
    ):
        (out / name).write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out / name}")


def _whole_help(typer_app: typer.Typer) -> None:
    """Give every command its docstring as help with each paragraph on one line.

    Typer's rich help keeps a docstring's line breaks (in the command list, and in every
    paragraph after the first), so text wrapped for the source breaks mid-sentence on the
    screen; unwrapped, it is wrapped to the terminal instead. Runs once all commands are
    registered (this module's last statement).
    """
    for info in typer_app.registered_commands:
        doc = inspect.getdoc(info.callback) or ""
        info.help = "\n\n".join(" ".join(p.split()) for p in doc.split("\n\n"))
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _whole_help(group.typer_instance)


def _refusals_exit(typer_app: typer.Typer) -> None:
    """Make every command answer a :class:`~graph_model.errors.CreditGraphError` the same
    way: its message after ``error:`` and its exit code, never a traceback. The one place
    the command line maps the domain's errors; runs once all commands are registered."""

    def mapped(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except CreditGraphError as exc:
                raise _fail(str(exc), exc.exit_code) from None

        return run

    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = mapped(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _refusals_exit(group.typer_instance)


_whole_help(app)
_refusals_exit(app)
