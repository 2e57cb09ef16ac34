"""The demo city for the notebooks: the data home's store, made by a demo if missing.

Notebooks read ``CREDITGRAPH_HOME`` (default ``./var``) like every command. If it holds no
store yet, a 20,000-enterprise demo city is generated and loaded first (a few seconds), and
if it holds no model yet, one is trained and the last observed month scored (about half a
minute), so each notebook runs top to bottom on a fresh machine. Every notebook answers as of
:func:`demo_day`, the date the board and the API serve.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from graph_model.settings import Settings
from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.open import open_store
from loaders.demo_rates import write_demo_rates
from loaders.generator import generate_city
from loaders.load import load_folder
from risk.data_home import DataHome
from risk.model.artefact import ModelArtefact, current_version, load_artefact
from risk.model.jobs import observed_through, score_job, train_job

DEMO_ENTERPRISES = 20_000


def demo_settings() -> Settings:
    """The settings of the data home, with a demo store loaded into it if it had none."""
    settings = Settings()
    if not settings.embedded_store_path.exists():
        data = settings.home / "demo-data"
        generate_city(data, DEMO_ENTERPRISES, seed=0)
        settings.embedded_store_path.parent.mkdir(parents=True, exist_ok=True)
        (settings.embedded_store_path.parent / "DEMO").write_text("made by a notebook\n")
        with open_store(settings) as store:
            load_folder(
                store,
                data,
                salt=settings.person_id_salt,
                rejects_dir=settings.rejects_dir,
                strict=True,
            )
            # Its USD guarantees convert at the demo's rate, as after `creditgraph demo`.
            write_demo_rates(settings.rates_path, observed_through(store, settings))
    return settings


def demo_snapshot(as_of: date) -> Snapshot:
    """The snapshot of ``as_of``: read if saved, else taken from the store and saved."""
    settings = demo_settings()
    home = DataHome(settings)
    if home.has_snapshot(as_of):
        return home.snapshot(as_of)
    with open_store(settings, read_only=True) as store:
        snap = take_snapshot(store, as_of)
    home.save_snapshot(snap)
    return snap


def demo_model() -> tuple[ModelArtefact, Path]:
    """The current model and its scores of the last fully observed month-end, trained and
    scored first if the data home has none."""
    settings = demo_settings()
    with open_store(settings, read_only=True) as store:
        if current_version(settings.models_dir) is None:
            train_job(store, settings)
        artefact = load_artefact(settings.models_dir)
        day = observed_through(store, settings)
        scores = DataHome(settings).scores_file(day, artefact.version)
        if scores is None:
            scores, _ = score_job(settings, store, day)
    return artefact, scores


def demo_day() -> date:
    """The date the notebooks answer as of: the one the board and the API serve after
    ``creditgraph demo`` — the last day of the data, scored (trained and scored first if the
    data home has no model), so that a figure here can be found there."""
    _, scores = demo_model()
    return date.fromisoformat(scores.parent.name)
