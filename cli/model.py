"""The risk model's commands (docs/model.md): ``train``, ``evaluate``, ``score`` and
``explain``, and the ``labels`` group (``labels export``, ``labels check``): labels files of
your own outcomes for ``train --labels``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import (
    EngineOption,
    LanguageOption,
    MasterOption,
    fail,
    option_date,
    parse_language,
    print_metrics,
    progress_lines,
    read_settings,
    with_master,
)
from graph_model.store.open import open_store
from risk.data_home import DataHome, ScoresMeta
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
from risk.model.scores import GradeRecord
from risk.spark.jobs import spark_score_job
from risk.wording import Language, evidence_text, reason_sentence

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
    settings = read_settings()
    day = option_date(last_test, "--last-test") if last_test else None
    with open_store(settings, read_only=True) as store:
        artefact = train_job(store, settings, day, not recompute, progress_lines(quiet), labels)
    _print_labels(artefact.manifest["label"])
    print_metrics(artefact.manifest["metrics"])
    typer.echo(f"model {artefact.version} → {artefact.folder} (now current)")


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
    settings = read_settings()
    dates = tuple(option_date(d) for d in as_of or ())
    if dates:
        with open_store(settings, read_only=True) as store:
            path, evaluation = evaluate_job(settings, model, dates, store, out, labels=labels)
    else:
        path, evaluation = evaluate_job(settings, model, out=out, labels=labels)
    tested = evaluation.get("labels")
    if isinstance(tested, dict):
        _print_labels(tested)
    print_metrics(evaluation)
    typer.echo(f"report: {path}")


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
    engine: EngineOption = "embedded",
    master: MasterOption = None,
) -> None:
    """Score, grade and explain every enterprise in operation on a date.

    Writes the data home's scores/<date>/<model>.parquet: score (calibrated probability of a
    bad outcome within the horizon), rank, grade, and reasons with graph evidence for the
    worst scores (CREDITGRAPH_REASONS_SHARE) and the --explain ids. With --engine spark the
    model scores the features of `features --engine spark` across the cluster (same table).
    """
    settings = with_master(read_settings(), master)
    given = option_date(as_of) if as_of else None
    with open_store(settings, read_only=True) as store:
        day = given or observed_through(store, settings)
        if engine == "spark":
            snapshot = DataHome(settings).snapshot(day)
            path, table = spark_score_job(settings, snapshot, model, tuple(explain_ids or ()))
        else:
            path, table = score_job(
                settings, store, day, model, tuple(explain_ids or ()), progress_lines(quiet)
            )
    meta = ScoresMeta.of(table.schema)
    typer.echo(f"scored {meta.population:,} enterprises as of {day} with {meta.model_version}")
    cutoffs = {"": None, **meta.raw["cutoffs"]}
    for (grade, count), cut in zip(meta.counts.items(), cutoffs.values(), strict=True):
        above = f"score > {cut:.4f}" if cut is not None else ""
        typer.echo(f"  {grade}  {count:>10,}  {count / max(meta.population, 1):>6.1%}  {above}")
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
    settings = read_settings()
    lang = parse_language(language)
    if as_of:
        day = option_date(as_of)
    else:
        scored = DataHome(settings).scored_dates()
        if not scored:
            raise fail("no date has been scored yet: run `creditgraph score` first")
        day = scored[-1]
    with open_store(settings, read_only=True) as store:
        record = explain_job(settings, store, enterprise_id, day, model)
    _print_grade(record, lang)
    if history:
        typer.echo("history:")
        for past in DataHome(settings).grade_history(enterprise_id):
            typer.echo(
                f"  {past.as_of}  {past.grade}  {past.score:.4f}  rank {past.rank:,} of "
                f"{past.population:,}  ({past.model_version})"
            )


labels_app = typer.Typer(
    help="Labels files: your own outcomes for train --labels (docs/model.md).",
    no_args_is_help=True,
)


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
    settings = read_settings()
    day = option_date(since, "--since") if since else None
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
    settings = read_settings()
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
