"""The model end to end on a small synthetic city: training, the artefact contract, scores,
grades, reasons with evidence, explanations later, the report and the command line."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from api.cli import app
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot
from graph_model.store.ladybug import LadybugStore
from loaders.generator import generate_city
from loaders.load import load_folder
from risk.features import FeatureMatrix
from risk.features.catalog import load_catalog
from risk.features.context import FeatureContext
from risk.model import jobs
from risk.model.artefact import MANIFEST, ModelArtefact, load_artefact
from risk.model.dataset import in_operation
from risk.model.dates import shift_months
from risk.model.errors import ModelError
from risk.model.grades import GradePolicy
from risk.model.reasons import parse_reasons, reasons_json
from risk.model.scores import ReasonSettings, grade_history, read_grade, score_snapshot

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
    generate_city(root / "data", ENTERPRISES, seed=SEED)
    settings.embedded_store_path.parent.mkdir(parents=True)
    with LadybugStore(settings.embedded_store_path) as store:
        load_folder(
            store, root / "data", salt=settings.person_id_salt,
            rejects_dir=settings.rejects_dir, strict=True,
        )  # fmt: skip
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
    assert read_grade(city.settings.scores_dir, "91330000MA0000000X", city.scored) is None
    with pytest.raises(ModelError, match="no stored grade"):
        jobs.explain_job(city.settings, None, worst["id"], date(2020, 1, 31))


def test_grade_history_reads_every_scored_date(city: City) -> None:
    earlier = shift_months(city.scored, -6)
    jobs.score_job(city.settings, city.store, earlier)
    worst = _scores(city)[0]["id"]
    history = grade_history(city.settings.scores_dir, worst)
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
