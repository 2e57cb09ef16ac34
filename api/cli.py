"""The ``creditgraph`` command line: the jobs (generate, load, stats, snapshot, features, demo,
docs).

Heavy work runs here, never inside an API request. Settings are read once from
the environment (``CREDITGRAPH_*``) when a command starts and passed down.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from tqdm import tqdm

from graph_model.contract_doc import render_data_contract
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.neo4j import redact_uri
from graph_model.store.open import open_store
from graph_model.store.protocol import StoreError
from loaders.generator import generate_city
from loaders.load import LoadRefused, LoadSummary, load_folder
from risk.features import FAMILIES, compute_features
from risk.features.doc import render_features_doc

app = typer.Typer(
    help="CreditGraph: graph analytics for enterprise credit supervision.",
    no_args_is_help=True,
    add_completion=False,
)

DEMO_ENTERPRISES = 20_000


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise typer.BadParameter(f"invalid CREDITGRAPH_* settings: {exc}") from None


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


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
    if summary.ignored_files:
        typer.echo("ignored (not contract files): " + ", ".join(summary.ignored_files))
    if summary.rejects_file:
        typer.echo(f"rejects: {summary.rejects_file}")
        for r in summary.rejects[:5]:
            typer.echo(f"  {r.file} line {r.line}, {r.field} = {r.value!r}: {r.reason}")
        if len(summary.rejects) > 5:
            typer.echo(f"  … and {len(summary.rejects) - 5} more in the reject file")


def _run_load(settings: Settings, folder: Path, strict: bool, quiet: bool) -> LoadSummary:
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
            )
    except LoadRefused as exc:
        if exc.summary is not None:
            _print_summary(exc.summary)
        raise _fail(str(exc)) from None
    except StoreError as exc:
        raise _fail(str(exc)) from None
    _print_summary(summary)
    rate = summary.accepted / summary.seconds if summary.seconds else 0.0
    typer.echo(f"loaded {summary.accepted:,} rows in {summary.seconds:.1f} s ({rate:,.0f} rows/s)")
    return summary


def _print_stats(settings: Settings) -> None:
    try:
        with open_store(settings, read_only=True) as store:
            counts = store.counts()
    except StoreError as exc:
        raise _fail(str(exc)) from None
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
    folder: Annotated[Path, typer.Argument(help="Folder of contract files (CSV or Parquet).")],
    strict: Annotated[bool, typer.Option(help="Refuse the whole load if any row is bad.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Validate and load contract files into the store (idempotent)."""
    _run_load(_settings(), folder, strict, quiet)


@app.command()
def stats() -> None:
    """Report what the store holds."""
    _print_stats(_settings())


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"--as-of {text!r} is not a date (yyyy-mm-dd)") from None


def _take_snapshot(settings: Settings, day: date) -> Snapshot:
    """Export the snapshot of ``day`` from the store and save it in the data home."""
    started = time.perf_counter()
    try:
        with open_store(settings, read_only=True) as store:
            snap = take_snapshot(store, day)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    folder = snap.save(settings.snapshots_dir / day.isoformat())
    edges = sum(r.edge_count for r in snap.relations.values())
    persons = snap.n_nodes - snap.n_enterprises
    typer.echo(
        f"snapshot {day}: {snap.n_enterprises:,} enterprises, {persons:,} "
        f"persons, {edges:,} relations, {snap.records.num_rows:,} records → {folder} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return snap


def _snapshot(settings: Settings, day: date) -> Snapshot:
    """The saved snapshot of ``day``, taken from the store first if there is none."""
    folder = settings.snapshots_dir / day.isoformat()
    if (folder / "manifest.json").exists():
        return Snapshot.load(folder)
    return _take_snapshot(settings, day)


@app.command()
def snapshot(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
) -> None:
    """Export the graph as of a date to the data home's snapshots folder."""
    _take_snapshot(_settings(), _as_of(as_of))


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
    snap = _snapshot(settings, day)
    started = time.perf_counter()
    matrix = compute_features(
        snap,
        families=tuple(family) if family else None,
        progress=lambda name, seconds: typer.echo(f"  {name:<12}{seconds:>8.1f} s"),
    )
    shape = f"{matrix.values.shape[0]:,} enterprises × {matrix.values.shape[1]} features"
    elapsed = time.perf_counter() - started
    if family:
        typer.echo(f"{shape} in {elapsed:.1f} s (partial: not saved)")
        return
    path = matrix.save(settings.features_dir / f"{day.isoformat()}.parquet")
    typer.echo(f"{shape} in {elapsed:.1f} s → {path}")


@app.command()
def demo(
    enterprises: Annotated[
        int, typer.Option(min=100, help="Size of the demo city.")
    ] = DEMO_ENTERPRISES,
    seed: Annotated[int, typer.Option(help="Random seed of the demo city.")] = 0,
) -> None:
    """Generate a demo city, load it into a fresh embedded store and report what it holds.

    The demo replaces the store of the data home only if an earlier demo made it. It never
    writes to Neo4j: synthetic firms must not land in a real database.
    """
    settings = _settings()
    if settings.neo4j_uri:
        typer.echo("the demo uses the embedded store of the data home, not Neo4j")
        settings = settings.model_copy(update={"neo4j_uri": None})
    started = time.perf_counter()
    store_dir = settings.embedded_store_path.parent
    marker = store_dir / "DEMO"
    if store_dir.exists() and not marker.exists():
        raise _fail(
            f"{store_dir} holds a store that is not a demo; "
            "point CREDITGRAPH_HOME to another folder to run the demo"
        )
    shutil.rmtree(store_dir, ignore_errors=True)
    data = settings.home / "demo-data"
    shutil.rmtree(data, ignore_errors=True)
    typer.echo(f"1/3 generating a synthetic city of {enterprises:,} enterprises (seed {seed})")
    generate_city(data, enterprises, seed=seed, fmt="parquet")
    typer.echo(f"2/3 loading {data} into {settings.embedded_store_path}")
    store_dir.mkdir(parents=True)
    marker.write_text("made by `creditgraph demo`; the next demo replaces this store\n")
    _run_load(settings, data, strict=True, quiet=True)
    typer.echo("3/3 what the store holds")
    _print_stats(settings)
    typer.echo(f"demo done in {time.perf_counter() - started:.1f} s")


@app.command()
def docs(
    out: Annotated[Path, typer.Option(help="Docs folder.")] = Path("docs"),
) -> None:
    """Regenerate the generated docs: data-contract.md (domain.yaml) and features.md
    (the feature catalog)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("data-contract.md", render_data_contract()),
        ("features.md", render_features_doc()),
    ):
        (out / name).write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out / name}")
