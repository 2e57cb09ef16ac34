"""Scale benchmarks: generate, load, snapshot, path queries, features, supervision, warnings,
and the risk model (features of every training month, training, scoring), with raw floors.

``copy_floor`` is LadybugDB's own COPY of the rows the load stored, into a fresh database;
the snapshot step times the store's raw export of the same tables first. The table ends
with the ratios against those floors and the whole pipeline (generate, load, the features
of every training month, training, scoring): its time and the largest step's peak memory.

Run with ``./dev bench --enterprises 1000000`` (``--steps snapshot,features`` to run some
steps on an existing ``--work`` folder). Each step runs in a child
process so that its own peak memory (max RSS) is measured. Results are printed
as a Markdown table to paste into docs/benchmarks.md with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

STEPS = (
    "generate",
    "load",
    "copy_floor",
    "reload",
    "snapshot",
    "queries",
    "features",
    "supervision",
    "warnings",
    "model_data",
    "train",
    "score",
)
AS_OF = date(2025, 12, 31)
PREVIOUS = date(2025, 11, 30)
"""The warnings step compares the month before AS_OF with AS_OF."""


def _child(step: str, work: Path, enterprises: int) -> dict[str, object]:
    """Run one step in this process and return its figures."""
    from benchmarks.floors import copy_floor, export_floor
    from graph_model.settings import Settings
    from graph_model.snapshot import take_snapshot
    from graph_model.store.open import open_store
    from loaders.generator import generate_city
    from loaders.load import load_folder

    settings = Settings(home=work / "home")
    data = work / "data"
    started = time.perf_counter()
    figures: dict[str, object] = {}
    if step == "generate":
        summary = generate_city(data, enterprises, seed=1)
        figures["rows"] = sum(summary.rows.values())
    elif step in ("load", "reload"):
        with open_store(settings) as store:
            result = load_folder(
                store,
                data,
                salt=settings.person_id_salt,
                rejects_dir=settings.rejects_dir,
                batch_rows=settings.load_batch_rows,
                strict=True,
            )
        figures["rows"] = result.accepted
        if not settings.neo4j_uri:
            size = sum(p.stat().st_size for p in settings.embedded_store_path.parent.rglob("*"))
            figures["disk_mb"] = round(size / 1e6)
    elif step == "copy_floor":
        figures.update(copy_floor(settings.embedded_store_path, work))
    elif step == "snapshot":
        with open_store(settings, read_only=True) as store:
            figures["export_floor_s"] = round(export_floor(store, AS_OF), 1)
            started = time.perf_counter()
            snap = take_snapshot(store, AS_OF)
        snap.save(settings.snapshots_dir / AS_OF.isoformat())
        figures["rows"] = snap.n_nodes + sum(r.edge_count for r in snap.relations.values())
    elif step == "features":
        figures.update(_features(settings))
    elif step == "supervision":
        figures.update(_supervision(settings))
    elif step == "queries":
        figures.update(_queries(settings))
    elif step == "warnings":
        figures.update(_warnings(settings))
    elif step == "model_data":
        figures.update(_model_data(settings))
    elif step == "train":
        figures.update(_train(settings))
    elif step == "score":
        figures.update(_score(settings))
    figures["seconds"] = round(time.perf_counter() - started, 2)
    figures["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return figures


def _features(settings: object) -> dict[str, object]:
    """Seconds per feature family on the saved snapshot (its reading time included in total)."""
    from graph_model.snapshot import Snapshot
    from risk.features import compute_features

    snap = Snapshot.load(settings.snapshots_dir / AS_OF.isoformat())  # type: ignore[attr-defined]
    matrix = compute_features(snap)
    return {"features": len(matrix.names), **matrix.seconds}


def _supervision(settings: object) -> dict[str, object]:
    """A plan over the whole city with 2,000 inspectors (a third of them persons of the
    graph, a fifth with a former employer), and extension checks of every black-listed firm.
    Grades are a fixed synthetic grading (scores uniform, class mix 70/22/6/2 %): the draw's
    cost does not depend on where the grades come from."""
    import numpy as np
    import pyarrow as pa

    from graph_model.snapshot import Snapshot
    from risk.supervision.extension import black_listed, extension_checks
    from risk.supervision.inspectors import Inspector
    from risk.supervision.plans import draw_plan
    from risk.supervision.sampling import PlanSpec

    snap = Snapshot.load(settings.snapshots_dir / AS_OF.isoformat())  # type: ignore[attr-defined]
    rng = np.random.default_rng(3)
    score = rng.random(snap.n_enterprises)
    grade = np.select([score < 0.70, score < 0.92, score < 0.98], ["A", "B", "C"], "D")
    grading = pa.table({"id": snap.enterprises["id"], "grade": grade, "score": score})
    persons = snap.persons["id"].to_numpy(zero_copy_only=False)
    firms = snap.enterprises["id"].to_numpy(zero_copy_only=False)
    inspectors = [
        Inspector(
            id=f"I{k:04d}",
            name=f"inspector {k}",
            person=str(persons[k * 97]) if k % 3 == 0 else None,
            region_code=None,
            capacity=50,
            former_employers=(str(firms[k * 131]),) if k % 5 == 0 else (),
            relatives=(),
            relatives_masked=(),
        )
        for k in range(2000)
    ]
    spec = PlanSpec(item="benchmark", as_of=AS_OF, grading="synthetic", seed=1)
    started = time.perf_counter()
    plan = draw_plan(snap, grading, inspectors, spec)
    plan_seconds = time.perf_counter() - started
    started = time.perf_counter()
    table = extension_checks(snap, grading, hops=2)
    return {
        "plan_seconds": round(plan_seconds, 2),
        "plan_objects": len(plan.objects),
        "recusals": len(plan.recusals),
        "extension_seconds": round(time.perf_counter() - started, 2),
        "black_listed": len(black_listed(snap)),
        "extension_rows": table.num_rows,
    }


def _warnings(settings: object) -> dict[str, object]:
    """Warnings between PREVIOUS and AS_OF, stored in a fresh registry and stored again (a
    re-run finds every warning known). The previous snapshot is taken from the store first
    when it is not saved. Gradings are synthetic (the model is not part of this step): the
    city mix of DOMAIN.md, then 4 % of the firms one grade better or worse."""
    import numpy as np
    import pyarrow as pa

    from graph_model.snapshot import Snapshot, take_snapshot
    from graph_model.store.open import open_store
    from risk.supervision.registry import open_registry
    from risk.supervision.warning_registry import save_warnings
    from risk.supervision.warnings import DEFAULT_HOPS, compute_warnings

    saved = settings.snapshots_dir  # type: ignore[attr-defined]
    out: dict[str, object] = {}
    started = time.perf_counter()
    if not (saved / PREVIOUS.isoformat() / "manifest.json").exists():
        with open_store(settings, read_only=True) as store:  # type: ignore[arg-type]
            take_snapshot(store, PREVIOUS).save(saved / PREVIOUS.isoformat())
        out["previous_snapshot_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    previous = Snapshot.load(saved / PREVIOUS.isoformat())
    current = Snapshot.load(saved / AS_OF.isoformat())
    out["read_snapshots_seconds"] = round(time.perf_counter() - started, 1)

    rng = np.random.default_rng(5)
    n = current.n_enterprises
    before = rng.choice(4, n, p=(0.69, 0.22, 0.065, 0.025))
    moved = np.where(rng.random(n) < 0.04, rng.choice((-1, 1), n), 0)
    after = np.clip(before + moved, 0, 3)
    grades = [
        pa.table(
            {
                "id": current.enterprises["id"],
                "grade": np.array(list("ABCD"))[g],
                "score": (g + rng.random(n)) / 4,
            }
        )
        for g in (before, after)
    ]
    started = time.perf_counter()
    table = compute_warnings(previous, current, *grades, hops=DEFAULT_HOPS)
    out["compute_seconds"] = round(time.perf_counter() - started, 1)
    path = settings.supervision_path  # type: ignore[attr-defined]
    path.unlink(missing_ok=True)
    with open_registry(path) as registry:
        for label in ("save_seconds", "save_again_seconds"):
            started = time.perf_counter()
            run = save_warnings(registry, table, AS_OF, PREVIOUS, DEFAULT_HOPS, current)
            out[label] = round(time.perf_counter() - started, 1)
    out["warnings"] = run.found
    out.update(run.by_type)
    out["registry_mb"] = round(path.stat().st_size / 1e6)
    return out


def _model_data(settings: Any) -> dict[str, object]:
    """Feature matrices of every month-end of the default training, validation and test
    windows, cached in the data home for the train step (snapshots taken, not kept)."""
    from graph_model.store.open import open_store
    from risk.model.dataset import FeatureSource
    from risk.model.jobs import ModelConfig, plan_windows

    with open_store(settings, read_only=True) as store:
        split, _ = plan_windows(store, settings)
        source = FeatureSource(store, settings.features_dir, settings.snapshots_dir)
        started = time.perf_counter()
        source.prepare(split.dates, ModelConfig.from_settings(settings).feature_workers)
        for day in split.dates:
            source.matrix(day)
        seconds = time.perf_counter() - started
    return {
        "dates": len(split.dates),
        "first": split.dates[0].isoformat(),
        "last": split.dates[-1].isoformat(),
        "per_date_s": round(seconds / len(split.dates), 1),
        # The worker processes' peak; the parent's is the step's own max_rss_mb.
        "worker_max_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def _train(settings: Any) -> dict[str, object]:
    """Training on the cached features: labels from the store, the dataset (training months
    sampled), the graph model and the no-graph baseline, evaluation, artefact."""
    from graph_model.store.open import open_store
    from risk.model.jobs import train_job

    marks: list[tuple[float, str]] = []
    started = time.perf_counter()
    with open_store(settings, read_only=True) as store:
        artefact = train_job(
            store, settings, progress=lambda m: marks.append((time.perf_counter() - started, m))
        )
    ready = max(t for t, m in marks if m.startswith("test "))
    graph, baseline = (t for t, m in marks if " trees, validation" in m)
    manifest = artefact.manifest
    metrics = manifest["metrics"]["models"]
    return {
        "labels_and_data_s": round(ready, 1),
        "graph_model_s": round(graph - ready, 1),
        "baseline_s": round(baseline - graph, 1),
        "training_rows": manifest["training_data"]["training_rows"],
        "test_rows": manifest["metrics"]["rows"],
        "base_rate": round(manifest["metrics"]["base_rate"], 4),
        "trees": {k: v["best_iteration"] for k, v in manifest["models"].items()},
        "roc_auc": {k: round(v["roc_auc"], 3) for k, v in metrics.items()},
        "pr_auc": {k: round(v["pr_auc"], 3) for k, v in metrics.items()},
        "threads": manifest["threads"],
    }


def _score(settings: Any) -> dict[str, object]:
    """Scoring AS_OF: snapshot and features first (timed apart), then scores, grades and
    reasons with evidence for the worst share, and the stored file; scoring again without
    reasons isolates their cost."""
    from graph_model.store.open import open_store
    from risk.data_home import DataHome
    from risk.model.artefact import load_artefact
    from risk.model.dataset import FeatureSource
    from risk.model.jobs import ModelConfig
    from risk.model.scores import ReasonSettings, score_snapshot

    out: dict[str, object] = {}
    started = time.perf_counter()
    with open_store(settings, read_only=True) as store:
        source = FeatureSource(store, settings.features_dir, settings.snapshots_dir)
        snapshot = source.snapshot(AS_OF)
        out["snapshot_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        matrix = source.matrix(AS_OF, snapshot)
        out["features_s"] = round(time.perf_counter() - started, 1)
    config = ModelConfig.from_settings(settings)
    artefact = load_artefact(settings.models_dir)
    started = time.perf_counter()
    table = score_snapshot(artefact, snapshot, matrix, config.policy, config.reasons)
    DataHome(settings).save_scores(table)
    out["score_grade_reasons_s"] = round(time.perf_counter() - started, 1)
    out["scored"] = table.num_rows
    out["explained"] = table.num_rows - table["reasons"].null_count
    started = time.perf_counter()
    score_snapshot(artefact, snapshot, matrix, config.policy, ReasonSettings(share=0.0))
    out["without_reasons_s"] = round(time.perf_counter() - started, 1)
    return out


def _queries(settings: object) -> dict[str, object]:
    """p50 / p99 latency of the key path queries on random enterprises."""
    import random

    from graph_model.store.open import open_store

    with open_store(settings, read_only=True) as store:  # type: ignore[arg-type]
        ids = [
            row["id"]
            for page in store.export_nodes("Enterprise", date.today(), 10**7)
            for row in page.select(["id"]).to_pylist()
        ]
        rng = random.Random(7)
        sample = rng.sample(ids, 200)
        out: dict[str, object] = {}
        calls = {
            "related_parties_2hop": lambda e: store.related_parties(e, 2, limit=100),
            "ownership_up_4": lambda e: store.ownership(e, "up", 4),
            "guarantee_out_4": lambda e: store.guarantee_paths(e, "out", 4),
            "get_entity": store.get_entity,
        }
        for name, call in calls.items():
            times = []
            for e in sample:
                t0 = time.perf_counter()
                call(e)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            out[name] = (
                f"p50 {times[len(times) // 2]:.1f} ms, p99 {times[int(len(times) * 0.99)]:.1f} ms"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None, help="Working folder (default: temp)")
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"Comma-separated steps of {', '.join(STEPS)}"
    )
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="creditgraph-bench-"))
    if args.step:
        print(json.dumps(_child(args.step, work, args.enterprises)))
        return
    steps = args.steps.split(",")
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {', '.join(STEPS)}")
    results = {}
    for step in steps:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.run",
                "--step",
                step,
                "--enterprises",
                str(args.enterprises),
                "--work",
                str(work),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results[step] = json.loads(proc.stdout.strip().splitlines()[-1])
        sys.stderr.write(f"{step}: {results[step]}\n")
    print(
        f"\n{args.enterprises:,} enterprises — {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {date.today()}\n"
    )
    print_table(results)


PIPELINE = ("generate", "load", "model_data", "train", "score")
"""The steps of the whole job: generate to scored, every training month's features included."""


def print_table(results: dict[str, dict[str, object]]) -> None:
    """The figures of each step as a Markdown table, to paste into docs/benchmarks.md, then
    the ratios against the raw floors and the whole pipeline, where their steps ran."""
    print("| step | time (s) | peak RSS (MB) | detail |")
    print("|---|---|---|---|")
    for step, fig in results.items():
        detail = {k: v for k, v in fig.items() if k not in ("seconds", "max_rss_mb")}
        print(f"| {step} | {fig.get('seconds', '')} | {fig.get('max_rss_mb', '')} | {detail} |")
    seconds = {step: float(fig["seconds"]) for step, fig in results.items()}  # type: ignore[arg-type]
    if "load" in results and "copy_floor" in results:
        floor = float(results["copy_floor"]["copy_floor_s"])  # type: ignore[arg-type]
        print(f"\nvalidated load / raw COPY: {seconds['load'] / floor:.2f}")
    if "snapshot" in results:
        floor = float(results["snapshot"]["export_floor_s"])  # type: ignore[arg-type]
        print(f"snapshot / raw export: {seconds['snapshot'] / floor:.2f}")
    if all(step in results for step in PIPELINE):
        total = sum(seconds[step] for step in PIPELINE)
        peak = max(int(results[step]["max_rss_mb"]) for step in PIPELINE)  # type: ignore[call-overload]
        print(f"whole pipeline ({', '.join(PIPELINE)}): {total:.0f} s, peak RSS {peak:,} MB")


if __name__ == "__main__":
    main()
