"""The model end to end on a small synthetic city: training, the artefact contract, scores,
grades, reasons with evidence, explanations later, the report and the command line."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from cities import loaded_city
from typer.testing import CliRunner

from cli.app import app
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot
from graph_model.store.ladybug import LadybugStore
from risk.data_home import DataHome
from risk.features import FeatureMatrix
from risk.features.catalog import load_catalog
from risk.features.context import FeatureContext
from risk.model import jobs
from risk.model.artefact import MANIFEST, ModelArtefact, load_artefact
from risk.model.dataset import FeatureSource, Register, build_dataset, in_operation
from risk.model.dates import shift_months
from risk.model.errors import ModelError
from risk.model.grades import GradePolicy
from risk.model.label_file import read_label_file
from risk.model.labels import DEFAULT_EVENTS, LabelDefinition
from risk.model.reasons import parse_reasons, reasons_json
from risk.model.scores import ReasonSettings, score_snapshot

ENTERPRISES = 6_000
SEED = 3


@dataclass(frozen=True)
class City:
    settings: Settings
    store: LadybugStore
    artefact: ModelArtefact
    scored: date


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """A 6,000-firm city loaded, trained on and scored on its last day, once per module."""
    root = tmp_path_factory.mktemp("model")
    settings = Settings(home=root / "home", train_threads=2)
    loaded_city(root, settings, ENTERPRISES, SEED)
    with LadybugStore(settings.embedded_store_path, read_only=True) as store:
        artefact = jobs.train_job(store, settings)
        day = jobs.observed_through(store, settings)
        jobs.score_job(settings, store, day)
        yield City(settings, store, artefact, day)


def _scores(city: City) -> list[dict]:
    path = city.settings.scores_dir / city.scored.isoformat() / f"{city.artefact.version}.parquet"
    return pq.read_table(path).sort_by("rank").to_pylist()


def test_training_compares_the_graph_with_the_baseline_on_later_dates(city: City) -> None:
    manifest = city.artefact.manifest
    split = manifest["training_data"]["split"]
    horizon = manifest["label"]["horizon_months"]
    last_valid, first_test = (
        date.fromisoformat(split[w][i]) for w, i in (("valid", -1), ("test", 0))
    )
    assert shift_months(last_valid, horizon) <= first_test
    assert shift_months(date.fromisoformat(split["test"][-1]), horizon) <= city.scored
    metrics = manifest["metrics"]["models"]
    graph, base = metrics["graph"], metrics["no_graph"]
    for key in ("roc_auc", "pr_auc", "ks", "recall_at_k", "brier", "brier_uncalibrated"):
        assert 0 <= graph[key] <= 1 and 0 <= base[key] <= 1
    assert graph["roc_auc"] > 0.6
    assert manifest["lift"]["roc_auc"] == pytest.approx(graph["roc_auc"] - base["roc_auc"])
    assert graph["brier"] < graph["brier_uncalibrated"]  # calibration helps
    assert len(manifest["training_data"]["fingerprint"]) == 64
    assert manifest["libraries"]["lightgbm"] == "4.7.0"
    baseline_features = manifest["models"]["no_graph"]["features"]
    catalog = load_catalog()
    assert baseline_features and not any(catalog.feature(f).graph for f in baseline_features)
    windows = set(city.artefact.predictions()["window"].to_pylist())
    assert windows == {"valid", "test"}


def test_the_same_data_and_seed_give_the_same_model(city: City) -> None:
    again = jobs.train_job(city.store, city.settings)
    assert again.version == city.artefact.version
    for name in ("graph.txt", "no_graph.txt"):
        assert (again.folder / name).read_bytes() == (city.artefact.folder / name).read_bytes()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["features"].__setitem__(0, "old_feature"),
            r"features added \['age_years'\], removed \['old_feature'\]",
        ),
        (lambda m: m["libraries"].update(lightgbm="3.3.5"), "trained with lightgbm 3.3.5"),
        (lambda m: m.update(catalog_sha256="0" * 64), "definitions of its features changed"),
        (lambda m: m.update(format=99), "format 99 is not supported"),
    ],
)
def test_loading_refuses_a_model_whose_contract_is_not_met(
    city: City, tmp_path: Path, change: object, message: str
) -> None:
    copy = tmp_path / city.artefact.version
    shutil.copytree(city.artefact.folder, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    assert callable(change)
    change(manifest)
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=message):
        load_artefact(tmp_path, city.artefact.version)


def test_scores_grades_and_ranks_for_every_firm_in_operation(city: City) -> None:
    rows = _scores(city)
    snapshot = Snapshot.load(city.settings.snapshots_dir / city.scored.isoformat())
    assert len(rows) == int(in_operation(snapshot.enterprises, city.scored).sum())
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(rows))
    shares = {g: sum(r["grade"] == g for r in rows) / len(rows) for g in "ABCD"}
    for grade, share in city.settings.grade_mix.items():
        assert shares[grade] == pytest.approx(share, abs=0.005)
    explained = [r for r in rows if r["reasons"] is not None]
    assert len(explained) == math.ceil(city.settings.reasons_share * len(rows))
    assert explained == rows[: len(explained)]
    assert {r["model_version"] for r in rows} == {city.artefact.version}


def test_reasons_are_catalog_sentences_of_the_largest_contributions(city: City) -> None:
    catalog = load_catalog()
    for row in _scores(city):
        if row["reasons"] is None:
            break
        reasons = parse_reasons(row["reasons"])
        assert 1 <= len(reasons) <= city.settings.reasons_top_k
        assert all(r.contribution > 0 for r in reasons)
        assert [r.contribution for r in reasons] == sorted(
            (r.contribution for r in reasons), reverse=True
        )
        for r in reasons:
            value = float("nan") if r.value is None else r.value
            assert r.sentence == catalog.feature(r.feature).sentence(value)
            if not catalog.feature(r.feature).graph:
                assert r.evidence == ()


def test_evidence_names_real_ties_of_the_snapshot(city: City) -> None:
    snapshot = Snapshot.load(city.settings.snapshots_dir / city.scored.isoformat())
    ctx = FeatureContext(snapshot)
    ids = np.concatenate(
        [snapshot.enterprises["id"].to_numpy(zero_copy_only=False),
         snapshot.persons["id"].to_numpy(zero_copy_only=False)]
    )  # fmt: skip
    tied = set()
    for rel in snapshot.relations.values():
        for a, b in zip(ids[rel.sources], ids[rel.indices], strict=True):
            tied |= {(a, b), (b, a)}
    bad = set(ids[: snapshot.n_enterprises][ctx.bad])
    contacts = {
        c: dict(zip(ids, snapshot.enterprises[c].to_pylist(), strict=False))
        for c in ("address", "phone", "email")
    }
    words = {"address": "address", "phone": "phone", "e-mail": "email"}
    checked = 0
    for row in _scores(city):
        if row["reasons"] is None:
            break
        for reason in parse_reasons(row["reasons"]):
            for item in reason.evidence:
                nodes = item.nodes
                assert nodes[0] == row["id"]
                checked += 1
                if item.text.startswith("same "):
                    contact = words[item.text.split()[1]]
                    value = contacts[contact][nodes[0]]
                    assert all(contacts[contact][n] == value for n in nodes[1:])
                    continue
                pairs = list(itertools.pairwise(nodes))
                if item.text.startswith(("guarantee cycle:", "cross-holding:")):
                    pairs.append((nodes[-1], nodes[0]))
                assert all(p in tied for p in pairs), item.text
                if reason.feature.endswith("_bad_share") or reason.feature.endswith("_bad"):
                    assert nodes[-1] in bad, item.text
    assert checked > 50


def test_a_grade_can_be_explained_later(city: City) -> None:
    rows = _scores(city)
    worst, plain = rows[0], rows[len(rows) // 2]
    record = jobs.explain_job(city.settings, None, worst["id"], city.scored)
    assert (record.grade, record.rank, record.population) == (worst["grade"], 1, len(rows))
    assert reasons_json(record.reasons or []) == worst["reasons"]
    # Not explained when scored: computed now, exactly as scoring would have stored them.
    assert plain["reasons"] is None
    later = jobs.explain_job(city.settings, None, plain["id"], city.scored)
    snapshot = Snapshot.load(city.settings.snapshots_dir / city.scored.isoformat())
    matrix = FeatureMatrix.load(city.settings.features_dir / f"{city.scored.isoformat()}.parquet")
    config = jobs.ModelConfig.from_settings(city.settings)
    table = score_snapshot(
        city.artefact, snapshot, matrix, config.policy, ReasonSettings(), (plain["id"],)
    )
    stored = table.filter(pc.equal(table["id"], plain["id"])).to_pylist()[0]["reasons"]
    assert reasons_json(later.reasons or []) == stored
    assert DataHome(city.settings).read_grade("91330000MA0000000X", city.scored) is None
    with pytest.raises(ModelError, match="no stored grade"):
        jobs.explain_job(city.settings, None, worst["id"], date(2020, 1, 31))


def test_grade_history_reads_every_scored_date(city: City) -> None:
    earlier = shift_months(city.scored, -6)
    jobs.score_job(city.settings, city.store, earlier)
    worst = _scores(city)[0]["id"]
    history = DataHome(city.settings).grade_history(worst)
    assert [h.as_of for h in history] == [earlier, city.scored]
    assert history[-1].rank == 1


def test_the_report_shows_both_models_with_plots(city: City) -> None:
    path, evaluation = jobs.evaluate_job(city.settings)
    html = path.read_text(encoding="utf-8")
    assert path == city.artefact.folder / "report.html"
    assert html.count("<svg") >= 7
    for text in ("ROC-AUC", "PR-AUC", "KS", "Brier", "PSI", "no-graph baseline", "graph model"):
        assert text in html
    saved = city.artefact.manifest["metrics"]["models"]["graph"]["roc_auc"]
    assert evaluation["models"]["graph"]["roc_auc"] == pytest.approx(saved)
    later = date.fromisoformat(city.artefact.manifest["training_data"]["split"]["test"][0])
    other = shift_months(later, -1)
    path, evaluation = jobs.evaluate_job(city.settings, as_of=(other,), store=city.store)
    assert evaluation["dates"] == [other.isoformat()] and evaluation["rows"] > 0


def test_training_refuses_test_dates_whose_outcome_is_not_known_yet(city: City) -> None:
    with pytest.raises(ModelError, match="label window ends"):
        jobs.train_job(city.store, city.settings, last_test=city.scored)


def test_grade_policy_from_settings_applies_at_scoring(city: City) -> None:
    policy = GradePolicy.of("bands", {}, {"A": 0.0, "B": 0.9})
    snapshot = Snapshot.load(city.settings.snapshots_dir / city.scored.isoformat())
    matrix = FeatureMatrix.load(city.settings.features_dir / f"{city.scored.isoformat()}.parquet")
    table = score_snapshot(city.artefact, snapshot, matrix, policy, ReasonSettings(share=0.0))
    assert set(table["grade"].to_pylist()) == {"A"}
    assert table["reasons"].null_count == table.num_rows


def test_command_line_trains_scores_and_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREDITGRAPH_TRAIN_THREADS", "2")
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "--enterprises", str(ENTERPRISES), "--seed", str(SEED)])
    assert result.exit_code == 0, result.output
    for text in ("4/7 training", "ROC-AUC", "5/7 evaluation report", "6/7 scoring", "demo done"):
        assert text in result.output
    worst = result.output.split("creditgraph explain ")[1].split()[0]
    result = runner.invoke(app, ["explain", worst, "--history"])
    assert result.exit_code == 0, result.output
    assert "rank 1 of" in result.output and "1. " in result.output and "history:" in result.output
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == 0 and "report:" in result.output
    result = runner.invoke(app, ["score", "--as-of", "2025-06-30", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "scored" in result.output and "#1 " in result.output
    result = runner.invoke(app, ["score", "--model", "nope"])
    assert result.exit_code == 2 and "no model 'nope'" in result.output
    result = runner.invoke(app, ["train", "--last-test", "2025-12-31", "--quiet"])
    assert result.exit_code == 2 and "label window ends" in result.output
    # Your own outcomes: the store's written out, checked, and trained on.
    labels = tmp_path / "labels.csv"
    result = runner.invoke(app, ["labels", "export", "--out", str(labels)])
    assert result.exit_code == 0 and f"→ {labels}" in result.output, result.output
    result = runner.invoke(app, ["labels", "check", str(labels)])
    assert result.exit_code == 0 and "events per label" in result.output, result.output
    result = runner.invoke(app, ["train", "--labels", str(labels), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"labels from: file {labels.resolve()} (csv, sha256 " in result.output
    trained = load_artefact(tmp_path / "home" / "models")
    day = shift_months(
        date.fromisoformat(trained.manifest["training_data"]["split"]["test"][0]), -1
    )
    result = runner.invoke(app, ["evaluate", "--as-of", str(day)])
    assert result.exit_code == 2 and "learnt from the labels file" in result.output
    result = runner.invoke(app, ["evaluate", "--as-of", str(day), "--labels", str(labels)])
    assert result.exit_code == 0 and "labels from: file" in result.output, result.output
    labels.write_text("enterprise_id,event_date,label\nX,2025-01-01,default\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "--labels", str(labels), "--quiet"])
    assert result.exit_code == 2
    assert "labels.csv line 2, enterprise_id = 'X': not an enterprise id" in result.output


# -- the user's own outcomes (train --labels) -------------------------------------------------

AUC_NOISE = 0.02
"""How far the test ROC-AUC may move when the same outcomes come from a labels file."""


def test_own_labels_file_gives_the_quality_of_the_store_labels(city: City, tmp_path: Path) -> None:
    """Hide the store's outcomes: write them out as a labels file and train on the same
    store with the store's events switched off (another event configured, which the file
    replaces): the same labels row by row, the same model quality."""
    _, observed = jobs.plan_windows(city.store, city.settings)
    path = tmp_path / "labels.csv"
    exported = jobs.export_labels_job(city.store, city.settings, path)
    assert len(exported.days) > 100
    settings = Settings(
        home=tmp_path / "home", train_threads=2, data_through=observed, label_events=["inspection"]
    )
    shutil.copytree(city.settings.features_dir, settings.features_dir)
    artefact = jobs.train_job(city.store, settings, labels=path)
    store_made, file_made = city.artefact.manifest, artefact.manifest
    assert file_made["training_data"]["split"] == store_made["training_data"]["split"]
    # The same rows with the same labels (the fingerprint hashes every id and label) ...
    assert file_made["training_data"]["fingerprint"] == store_made["training_data"]["fingerprint"]
    # ... so the same quality, within noise (here: exactly, the seed being the same).
    quality = file_made["metrics"]["models"]["graph"]["roc_auc"]
    assert abs(quality - store_made["metrics"]["models"]["graph"]["roc_auc"]) <= AUC_NOISE
    assert artefact.version != city.artefact.version
    label = file_made["label"]
    assert label["source"]["kind"] == "file"
    assert label["source"]["path"] == str(path.resolve())
    assert label["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert label["source"]["unknown_rows"] == 0 and label["observed_through"] == str(observed)
    assert label["counts"] == {k: v for k, v in store_made["label"]["counts"].items() if v}
    assert store_made["label"]["source"] == {"kind": "store", "events": list(DEFAULT_EVENTS)}
    report, _ = jobs.evaluate_job(settings)
    html = report.read_text(encoding="utf-8")
    assert f"file {path.resolve()} (csv, sha256 {label['source']['sha256']})" in html
    assert "events per label" in html and "black_list " in html


def test_file_labels_never_reach_before_the_as_of_date_or_past_the_data(
    city: City, tmp_path: Path
) -> None:
    """Every row's label is exactly: an event of the file after its as-of date, within the
    horizon and by the data-through day. Events planted on an as-of date and after the
    data-through day do not count, and the features of a row are those of its as-of date."""
    split, observed = jobs.plan_windows(city.store, city.settings)
    exported = jobs.export_labels_job(city.store, city.settings, tmp_path / "store.csv")
    first_test = split.test[0]
    register = Register.from_store(city.store, split.test[-1])
    population = register.population(first_test).to_pylist()
    bad_then = set(exported.enterprise_ids.to_pylist())
    quiet = [e for e in population if e not in bad_then][:2]
    planted = pa.table(
        {
            "enterprise_id": quiet,
            "event_date": pa.array([first_test, observed + timedelta(days=1)], pa.date32()),
            "label": ["planted", "planted"],
        }
    )
    path = tmp_path / "labels.csv"
    pacsv.write_csv(pa.concat_tables([exported.to_table(), planted]), path)
    labels = read_label_file(path)
    events = jobs.label_events(
        city.store, LabelDefinition(12, labels.names, True), split.train[0], observed, labels
    )
    assert events.source["after_data_through"] == 1
    source = FeatureSource(None, city.settings.features_dir, city.settings.snapshots_dir)
    dataset = build_dataset(source, events, register, split, 0, 7)
    truth = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={"enterprise_id": pa.string(), "event_date": pa.date32()}
    ))  # fmt: skip
    happened: dict[str, list[date]] = {}
    for firm, day in zip(
        truth["enterprise_id"].to_pylist(), truth["event_date"].to_pylist(), strict=True
    ):
        happened.setdefault(firm, []).append(day)
    checked = 0
    for rows in (dataset.train, dataset.valid, dataset.test):
        for firm, as_of, y in zip(rows.ids.to_pylist(), rows.as_of.tolist(), rows.y, strict=True):
            end = shift_months(as_of, 12)
            inside = [d for d in happened.get(firm, []) if as_of < d <= end and d <= observed]
            assert bool(y) == bool(inside), (firm, as_of)
            checked += 1
    assert checked == sum(len(r.y) for r in (dataset.train, dataset.valid, dataset.test))
    on_as_of = dataset.test.as_of == np.datetime64(first_test, "D")
    ids = dataset.test.ids.filter(pa.array(on_as_of)).to_pylist()
    assert not dataset.test.y[on_as_of][ids.index(quiet[0])]  # the event of its as-of day
    matrix = FeatureMatrix.load(city.settings.features_dir / f"{first_test.isoformat()}.parquet")
    rows_of = matrix.ids.to_pylist()
    take = [rows_of.index(i) for i in ids[:50]]
    np.testing.assert_array_equal(dataset.test.x[on_as_of][:50], matrix.values[take])


def test_months_computed_by_worker_processes_are_those_computed_one_by_one(
    city: City, tmp_path: Path
) -> None:
    days = [
        date.fromisoformat(d) for d in city.artefact.manifest["training_data"]["split"]["train"]
    ]
    days = days[:3]
    apart = FeatureSource(city.store, tmp_path / "apart", tmp_path / "snapshots")
    apart.prepare(days, workers=2)
    assert sorted(p.name for p in (tmp_path / "apart").iterdir()) == [
        f"{d.isoformat()}.parquet" for d in days
    ]
    alone = FeatureSource(city.store, tmp_path / "alone", tmp_path / "snapshots")
    for day in days:
        one, two = apart.matrix(day), alone.matrix(day)
        assert one.ids.equals(two.ids)
        assert np.array_equal(one.values, two.values, equal_nan=True)


def test_a_month_failing_in_a_worker_is_named(city: City, tmp_path: Path) -> None:
    days = [
        date.fromisoformat(d) for d in city.artefact.manifest["training_data"]["split"]["train"]
    ]
    broken = tmp_path / "snapshots" / days[1].isoformat()
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text('{"format": -1}')  # saved, in no format we read
    source = FeatureSource(city.store, tmp_path / "features", tmp_path / "snapshots")
    with pytest.raises(ModelError, match=f"worker process for {days[1]} "):
        source.prepare(days[:2], workers=2)
    assert (tmp_path / "features" / f"{days[0].isoformat()}.parquet").is_file()
    assert not (tmp_path / "features" / f"{days[1].isoformat()}.parquet").exists()
