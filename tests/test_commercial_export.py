"""Issue 16, Proof: a commercial data provider's export of a few thousand SMEs (persons by
name only or by the provider's person id, Chinese region and industry names, mixed date
forms, Excel workbooks, branches, court records, about 5 % dirty optional values) goes
through the command line end to end, on the real embedded store: it loads with field
warnings and without cascade loss, its snapshot and features are taken, a model is trained
on the user's own outcomes (``train --labels``) and the evaluation says where its labels
came from. The data set is tests/commercial_export.py."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from commercial_export import Export, write_export
from typer.testing import CliRunner

from cli.app import app
from graph_model.store.ladybug import LadybugStore
from risk.features import FeatureMatrix

FAR = date(2999, 1, 1)
AS_OF = "2025-06-30"
WINDOWS = {
    # A six-month horizon and short windows: 21 months of history train a model in seconds.
    "CREDITGRAPH_LABEL_HORIZON_MONTHS": "6",
    "CREDITGRAPH_TRAIN_MONTHS": "3",
    "CREDITGRAPH_VALID_MONTHS": "1",
    "CREDITGRAPH_TEST_MONTHS": "1",
    "CREDITGRAPH_TRAIN_THREADS": "2",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    monkeypatch.delenv("CREDITGRAPH_DATA_THROUGH", raising=False)
    for name, value in WINDOWS.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "home"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _reported_file(out: str, title: str) -> Path:
    line = next(line for line in out.splitlines() if line.startswith(title))
    return Path(line.split(": ", 1)[1])


def _table(store: LadybugStore, label: str) -> pa.Table:
    return pa.concat_tables(store.export_nodes(label, FAR, 1_000_000))


def _check_the_load(export: Export, out: str, store: LadybugStore) -> None:
    # One reject line per root cause (the three mistyped USCCs), naming its dependent rows.
    rejects = _report(_reported_file(out, "rejects"))
    assert [(r["file"], int(r["line"]), r["field"], r["value"]) for r in rejects] == [
        ("enterprises.xlsx", line, "id", uscc) for uscc, line in export.mistyped
    ]
    named = sum(export.naming_mistyped.values())
    dependents = [int(r["reason"].split("; and ")[1].split()[0]) for r in rejects]
    assert sum(dependents) == named and all("rejected with it" in r["reason"] for r in rejects)

    # Every dirty optional value is a warning with file, line and field, and nothing else is.
    warnings = _report(_reported_file(out, "warnings"))
    planted = {(f, line, c) for (f, c), lines in export.dirty.items() for line in lines}
    assert {(w["file"], int(w["line"]), w["field"]) for w in warnings} == planted
    assert all(w["reason"].endswith("loaded without it") for w in warnings)
    shares = {c: len(lines) / export.rows[f] for (f, c), lines in export.dirty.items()}
    assert all(0.03 < shares[c] < 0.07 for c in ("region_code", "industry")), shares

    # No cascade loss: every relation row loads but those naming a mistyped enterprise.
    stored_counts = store.counts()
    for file, relation in (
        ("legal_reps.csv", "LEGAL_REP"),
        ("officers.csv", "OFFICER"),
        ("shareholdings.xlsx", "HOLDS_SHARES"),
        ("branches.csv", "HAS_BRANCH"),
    ):
        assert stored_counts.relations[relation] == export.rows[file] - export.naming_mistyped[file]
    assert stored_counts.nodes["Enterprise"] == len(export.firms) - len(export.mistyped)
    for file, kind in (
        ("lawsuits.csv", "lawsuit"),
        ("enforcements.csv", "enforcement"),
        ("dishonest_debtors.csv", "dishonest_debtor"),
    ):
        assert stored_counts.records[kind] == export.rows[file]

    # Persons: the provider's by their id, the others by name, one per enterprise naming them.
    persons = _table(store, "Person")
    kinds, counts = np.unique(persons["identity"].to_numpy(False), return_counts=True)
    identity = dict(zip(kinds.tolist(), counts.tolist(), strict=True))
    assert identity == {"source_id": export.source_persons, "name": export.name_only_persons}
    by_name = persons.filter(pc.equal(persons["identity"], "name"))
    assert pc.count_distinct(by_name["scope"]).as_py() > len(export.firms) * 0.9
    assert f"{export.name_only_persons:,} person(s) known by name only" in out

    # Chinese region and industry names, codes and the dates of every form are stored as the
    # contract's values; a dirty one is empty.
    firms = _table(store, "Enterprise").to_pylist()
    stored = {f["id"]: f for f in firms}
    assert stored.keys() == export.expected.keys()
    for firm_id, want in export.expected.items():
        got = stored[firm_id]
        assert {c: got[c] for c in want} == want, firm_id

    # Stakes without a percentage are derived from the subscribed amount and flagged.
    holdings = pa.concat_tables(store.export_relations("HOLDS_SHARES", FAR, 1_000_000))
    derived = pc.fill_null(holdings["share_derived"], False)
    assert pc.sum(derived).as_py() == export.stakes["derived"] > 0
    assert holdings["share"].null_count == export.stakes["unknown"]


def test_a_providers_export_loads_trains_and_is_evaluated_end_to_end(
    home: Path, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export", tmp_path / "outcomes.csv")
    folder, labels = str(export.folder), str(export.labels)

    # --strict refuses (rows were rejected) and writes nothing.
    code, out = run("load", folder, "--strict", "--quiet")
    assert code == 2 and "nothing written" in out, out
    with LadybugStore(home / "store" / "graph.lbdb", read_only=True) as store:
        assert store.counts().nodes["Enterprise"] == 0

    # The default load writes what is good: exit 3, rows were rejected.
    code, out = run("load", folder, "--quiet")
    assert code == 3, out
    assert "rejected, the rest loaded: exit code 3" in out
    with LadybugStore(home / "store" / "graph.lbdb", read_only=True) as store:
        _check_the_load(export, out, store)

    code, out = run("snapshot", "--as-of", AS_OF)
    assert code == 0, out
    assert f"{len(export.firms) - len(export.mistyped):,} enterprises" in out
    code, out = run("features", "--as-of", AS_OF)
    assert code == 0, out
    matrix = FeatureMatrix.load(home / "features" / f"{AS_OF}.parquet")
    for feature in ("lawsuits_defendant_12m", "enforcement_active", "branches"):
        assert np.nansum(matrix.column(feature)) > 0, feature

    # A model learns from the user's outcomes, and says where they came from.
    code, out = run("train", "--labels", labels, "--quiet")
    assert code == 0, out
    manifest = json.loads(next((home / "models").glob("*/manifest.json")).read_text())
    label = manifest["label"]
    first = date.fromisoformat(manifest["training_data"]["split"]["train"][0])
    through = date.fromisoformat(label["observed_through"])
    used = {"吊销": 0, "破产": 0}
    for firm in export.firms:
        if firm.outcome and firm.id in export.expected and first < firm.outcome[0] <= through:
            used[firm.outcome[1]] += 1
    assert label["counts"] == used and min(used.values()) > 50
    source = label["source"]
    assert (source["kind"], source["rows"], source["unknown_rows"]) == (
        "file",
        sum(export.labelled.values()),
        export.labels_unknown,
    )
    assert source["ignored_columns"] == ["备注"]
    assert f"labels from: file {export.labels.resolve()}" in out
    assert f"events per label: 吊销 {used['吊销']}; 破产 {used['破产']}" in out
    assert f"{export.labels_unknown} rows of {export.labels_unknown} enterprises" in out
    # The risky leave traces before their outcome: the model ranks them on later dates.
    graph_auc = manifest["metrics"]["models"]["graph"]["roc_auc"]
    assert graph_auc > 0.7, manifest["metrics"]["models"]

    code, out = run("evaluate")
    assert code == 0, out
    report = _reported_file(out, "report").read_text(encoding="utf-8")
    assert str(export.labels.resolve()) in report and "吊销 " in report and "破产 " in report

    # Tested on another date, a model that learnt from a file needs the outcomes again.
    code, out = run("evaluate", "--as-of", "2025-02-28")
    assert code == 2 and "give --labels FILE" in out, out
    code, out = run("evaluate", "--as-of", "2025-02-28", "--labels", labels)
    assert code == 0, out
    assert "labels from: file" in out and "events per label: 吊销" in out
