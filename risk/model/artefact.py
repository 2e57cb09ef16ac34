"""The model artefact and its contract.

A trained model is a folder ``models/<version>/`` in the data home:

- ``graph.txt`` and ``no_graph.txt``: the two LightGBM models (text format, best
  iteration only);
- ``manifest.json``: the contract — the feature names in matrix order, a hash of their
  catalog definitions, the versions of LightGBM, NumPy and scikit-learn, the training-data
  fingerprint (hash of every as-of date, enterprise id and label), seed and thread count,
  the label definition and horizon, the time split, the grade policy, the LightGBM
  parameters, each model's calibration, and the metrics of the evaluation;
- ``predictions.parquet``: the validation and test rows with labels and both models' scores,
  from which ``creditgraph evaluate`` draws its report.

``models/CURRENT`` names the version that scoring uses by default.

Loading refuses, with a message naming the difference, a model whose features or their
definitions differ from the installed catalog, or whose libraries differ in major or minor
version from the installed ones: their scores could silently change meaning.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pyarrow as pa
import pyarrow.parquet as pq

from risk.features.catalog import load_catalog
from risk.model.errors import ModelError
from risk.model.train import BASELINE_MODEL, GRAPH_MODEL, Calibration, FittedModel

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PREDICTIONS = "predictions.parquet"
CURRENT = "CURRENT"
MODEL_VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
"""What a model version may look like wherever one is given (it names a folder and a file):
no separator, no leading dot, so it never leads out of the models or scores folder."""
LIBRARIES = ("lightgbm", "numpy", "scikit-learn")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model depends on, and Python's."""
    return {
        **{name: package_version(name) for name in LIBRARIES},
        "python": platform.python_version(),
    }


def catalog_hash() -> str:
    """Hash of what the features mean: name, family, definition, unit and graph flag, in
    matrix order. Sentences and reasons may change without retraining; these may not."""
    rows = [[f.name, f.family, f.definition, f.unit, f.graph] for f in load_catalog().features]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def _major_minor(text: str) -> tuple[str, ...]:
    return tuple(text.split(".")[:2])


def check_manifest(manifest: dict[str, Any]) -> None:
    """Refuse a manifest whose contract the installation does not meet."""
    name = manifest.get("model_version", "?")
    if manifest.get("format") != FORMAT_VERSION:
        raise ModelError(
            f"model {name}: artefact format {manifest.get('format')} is not supported "
            f"(this version reads format {FORMAT_VERSION}); train again"
        )
    current = load_catalog().names
    trained = tuple(manifest["features"])
    if trained != current:
        added = [n for n in current if n not in trained]
        removed = [n for n in trained if n not in current]
        detail = (
            f"features added {added}, removed {removed}"
            if added or removed
            else "the same features in another order"
        )
        raise ModelError(
            f"model {name} was trained on other features than the installed catalog has "
            f"({detail}); train a new model (creditgraph train)"
        )
    if manifest["catalog_sha256"] != catalog_hash():
        raise ModelError(
            f"model {name}: the definitions of its features changed in the catalog since it "
            "was trained (same names, other meaning or unit); train a new model"
        )
    installed = library_versions()
    for lib in LIBRARIES:
        had = manifest["libraries"][lib]
        if _major_minor(had) != _major_minor(installed[lib]):
            raise ModelError(
                f"model {name} was trained with {lib} {had} and {installed[lib]} is installed; "
                f"install {lib}=={had} or train a new model"
            )


@dataclass(frozen=True)
class ModelArtefact:
    """A saved model: its folder, manifest, and the graph and no-graph models."""

    folder: Path
    manifest: dict[str, Any]
    models: dict[str, FittedModel]

    @property
    def version(self) -> str:
        return str(self.manifest["model_version"])

    @property
    def graph(self) -> FittedModel:
        return self.models[GRAPH_MODEL]

    @property
    def baseline(self) -> FittedModel:
        return self.models[BASELINE_MODEL]

    @property
    def features(self) -> tuple[str, ...]:
        """All feature names, in the order of the feature matrix the artefact reads."""
        return tuple(self.manifest["features"])

    def columns(self, model: FittedModel) -> list[int]:
        """Columns of the full feature matrix that ``model`` reads."""
        return [self.features.index(n) for n in model.features]

    def predictions(self) -> pa.Table:
        """Validation and test rows with labels and scores, as saved at training."""
        return pq.read_table(self.folder / PREDICTIONS)


def save_artefact(
    models_dir: Path,
    manifest: dict[str, Any],
    models: tuple[FittedModel, ...],
    predictions: pa.Table,
    make_current: bool = True,
) -> ModelArtefact:
    """Write the models, manifest and predictions to ``models_dir/<version>/``."""
    version = str(manifest["model_version"])
    folder = models_dir / version
    folder.mkdir(parents=True, exist_ok=True)
    entries = dict(manifest.get("models", {}))
    for model in models:
        file = f"{model.name}.txt"
        model.booster.save_model(str(folder / file))
        entries[model.name] = {
            **entries.get(model.name, {}),
            "file": file,
            "features": list(model.features),
            "best_iteration": model.best_iteration,
            "valid_auc": model.valid_auc,
            "calibration": {
                "slope": model.calibration.slope,
                "intercept": model.calibration.intercept,
            },
        }
    manifest = {**manifest, "format": FORMAT_VERSION, "models": entries}
    pq.write_table(predictions, folder / PREDICTIONS)
    (folder / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=True), encoding="utf-8"
    )
    if make_current:
        (models_dir / CURRENT).write_text(version + "\n", encoding="utf-8")
    return ModelArtefact(folder, manifest, {m.name: m for m in models})


def current_version(models_dir: Path) -> str | None:
    """The version named by ``models/CURRENT``, or None before the first training."""
    path = models_dir / CURRENT
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def load_artefact(models_dir: Path, version: str | None = None) -> ModelArtefact:
    """Load a model (default: the current one), checking its contract first."""
    version = version or current_version(models_dir)
    if version is None:
        raise ModelError(f"no trained model in {models_dir}: run `creditgraph train` first")
    folder = models_dir / version
    if not (folder / MANIFEST).exists():
        known = sorted(p.name for p in models_dir.iterdir() if (p / MANIFEST).exists())
        raise ModelError(f"no model {version!r} in {models_dir}; trained models: {known}")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    check_manifest(manifest)
    models = {}
    for name, entry in manifest["models"].items():
        booster = lgb.Booster(model_file=str(folder / entry["file"]))
        if tuple(booster.feature_name()) != tuple(entry["features"]):
            raise ModelError(
                f"model {version}: {entry['file']} reads other features than its manifest lists; "
                "the folder was altered, train again"
            )
        models[name] = FittedModel(
            name=name,
            features=tuple(entry["features"]),
            booster=booster,
            calibration=Calibration(**entry["calibration"]),
            best_iteration=entry["best_iteration"],
            valid_auc=entry["valid_auc"],
        )
    return ModelArtefact(folder, manifest, models)
