"""The data commands: ``generate`` (a synthetic city), ``load`` (contract files into the
store), ``stats``, ``snapshot``, ``features``, ``demo`` (generate, load, score and supervise a
demo city in the data home) and ``docs`` (the generated data-contract.md and features.md).
"""

from __future__ import annotations

import itertools
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    EngineOption,
    MasterOption,
    fail,
    option_date,
    print_metrics,
    progress_lines,
    rate_table,
    read_settings,
    run_load,
    save_snapshot,
    snapshot_of,
    stored_gradings,
    with_master,
)
from graph_model.contract_doc import render_data_contract
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot
from graph_model.store.neo4j import redact_uri
from graph_model.store.open import open_store
from graph_model.store.protocol import UNFINISHED_LOAD
from loaders.demo_rates import DEMO_USD_RATE, write_demo_rates
from loaders.demo_supervision import demo_loan_book, write_demo_inspectors
from loaders.generator import generate_city
from loaders.read import ENCODINGS
from risk.data_home import ScoresMeta
from risk.features import FAMILIES, compute_features
from risk.features.doc import render_features_doc
from risk.model.dates import last_month_end_on_or_before, shift_months
from risk.model.errors import ModelError
from risk.model.jobs import evaluate_job, observed_through, score_job, train_job
from risk.spark.jobs import spark_features_job
from risk.supervision.registry import open_registry
from risk.supervision.warning_registry import save_warnings
from risk.supervision.warnings import DEFAULT_HOPS, compute_warnings
from risk.supervision.watchlists import add_members, create_watchlist

DEMO_ENTERPRISES = 20_000
EXIT_LOADED_WITH_REJECTS = 3
"""Exit code of a load that committed its accepted rows but rejected others (see the reject
file); 0 only when every row loaded."""
MAX_REJECT_RATE = 0.05
"""Default of ``load --max-reject-rate``: a load rejecting more of its rows writes nothing."""


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
    settings = read_settings(home="create")
    summary = run_load(settings, folder, strict, quiet, encoding.lower(), max_reject_rate)
    if summary.rejected:
        typer.echo(
            f"{summary.rejected:,} row(s) rejected, the rest loaded: exit code "
            f"{EXIT_LOADED_WITH_REJECTS}"
        )
        raise typer.Exit(code=EXIT_LOADED_WITH_REJECTS)


def stats() -> None:
    """Report what the store holds."""
    _print_stats(read_settings(home="store"))


def _warn_empty_kinds(as_of: date, enterprises: int, persons: int) -> None:
    """A warning for each kind of node the snapshot of ``as_of`` holds none of: features
    through it are all zero, which reads like a clean record (usually its file was not
    loaded, or all its rows were rejected)."""
    for kind, count, means in (
        ("enterprises", enterprises, "there is nothing to compute or score"),
        (
            "persons",
            persons,
            "every feature through people (legal representatives, officers, shareholders "
            "who are persons) is 0",
        ),
    ):
        if count == 0:
            typer.secho(
                f"warning: the snapshot of {as_of} holds no {kind}: {means}. Was "
                f"{kind}.csv loaded, or all its rows rejected? (`creditgraph stats` shows what "
                "the store holds)",
                err=True,
                fg=typer.colors.YELLOW,
            )


def _warn_empty_snapshot(snap: Snapshot) -> None:
    _warn_empty_kinds(snap.as_of, snap.n_enterprises, snap.n_nodes - snap.n_enterprises)


def snapshot(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
) -> None:
    """Export the graph as of a date to the data home's snapshots folder (warning when it
    holds no node of a kind, no persons for instance)."""
    _warn_empty_snapshot(save_snapshot(read_settings(), option_date(as_of)))


def _family_time(name: str, seconds: float) -> None:
    typer.echo(f"  {name:<12}{seconds:>8.1f} s")


def features(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
    family: Annotated[
        list[str] | None,
        typer.Option(help=f"Only these families (repeatable): {', '.join(FAMILIES)}."),
    ] = None,
    engine: EngineOption = "embedded",
    master: MasterOption = None,
) -> None:
    """Compute the feature catalog (docs/features.md) as of a date.

    Uses the saved snapshot of that date, taking it from the store first if needed; writes
    the data home's features/<date>.parquet (all families) and reports time per family.
    With --engine spark: streams the store's history up to that date out for Spark
    (spark/history/<date>/, once), cuts the snapshot there and writes
    spark/features/<date>/ (all families; docs/scale.md).
    """
    settings = with_master(read_settings(), master)
    day = option_date(as_of)
    unknown = sorted(set(family or ()) - set(FAMILIES))
    if unknown:
        raise typer.BadParameter(f"unknown --family {unknown}; choose from {list(FAMILIES)}")
    if engine == "spark" and family:
        raise typer.BadParameter("--engine spark computes every family: leave out --family")
    rates = rate_table(settings)
    if engine == "spark":
        started = time.perf_counter()
        run = spark_features_job(settings, day, rates, _family_time)
        _warn_empty_kinds(day, run.enterprises, run.persons)
        elapsed = time.perf_counter() - started
        typer.echo(f"{run.enterprises:,} enterprises on Spark in {elapsed:.1f} s → {run.folder}")
        return
    snap = snapshot_of(settings, day)
    _warn_empty_snapshot(snap)
    started = time.perf_counter()
    matrix = compute_features(
        snap,
        families=tuple(family) if family else None,
        progress=_family_time,
        rates=rates,
    )
    shape = f"{matrix.values.shape[0]:,} enterprises × {matrix.values.shape[1]} features"
    elapsed = time.perf_counter() - started
    if family:
        typer.echo(f"{shape} in {elapsed:.1f} s (partial: not saved)")
        return
    path = matrix.save(settings.features_dir / f"{day.isoformat()}.parquet")
    typer.echo(f"{shape} in {elapsed:.1f} s → {path}")


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
            artefact = train_job(store, settings, progress=progress_lines(quiet=True))
            print_metrics(artefact.manifest["metrics"])
            typer.echo("5/7 evaluation report")
            path, _ = evaluate_job(settings)
            typer.echo(f"  {path}")
            typer.echo(f"6/7 scoring and grading {len(days)} dates")
            for day in days:
                scores_path, table = score_job(settings, store, day)
                counts = ScoresMeta.of(table.schema).counts
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
        gradings = stored_gradings(settings, before, day)
        current = snapshot_of(settings, day)
        table = compute_warnings(snapshot_of(settings, before), current, *gradings)
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
        raise fail(
            f"the database {settings.neo4j_database!r} of {where} holds {held:,} nodes; "
            "the demo loads only into an empty database (for `./dev neo4j`'s server: "
            "./dev neo4j stop && rm -rf .neo4j/dev && ./dev neo4j start)"
        )


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
    settings = read_settings(home="create")
    if neo4j and not settings.neo4j_uri:
        raise fail("--neo4j needs CREDITGRAPH_NEO4J_URI and CREDITGRAPH_NEO4J_PASSWORD")
    if settings.neo4j_uri and not neo4j:
        typer.echo("the demo uses the embedded store of the data home (--neo4j for Neo4j)")
        settings = settings.model_copy(update={"neo4j_uri": None})
    started = time.perf_counter()
    store_dir = settings.embedded_store_path.parent
    marker = store_dir / "DEMO"
    if store_dir.exists() and not marker.exists():
        raise fail(
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
    run_load(settings, data, strict=True, quiet=True)
    typer.echo("3/7 what the store holds")
    _print_stats(settings)
    days = _demo_days(settings)
    _demo_rates(settings, days[-1] if days else date.today())
    _demo_model(settings, days)
    _demo_supervision(settings, data, seed, days)
    typer.echo(f"demo done in {time.perf_counter() - started:.1f} s")


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
