"""Synthetic cities for tests that need a whole data home: generated, then loaded into the
embedded store of the settings' data home, as ``creditgraph generate`` and ``load`` do."""

from __future__ import annotations

from pathlib import Path

from graph_model.settings import Settings
from graph_model.store.ladybug import LadybugStore
from loaders.generator import generate_city
from loaders.load import load_folder


def loaded_city(root: Path, settings: Settings, enterprises: int, seed: int) -> None:
    """Generate a city of ``enterprises`` into ``root / "data"`` and load it strictly."""
    generate_city(root / "data", enterprises, seed=seed)
    settings.embedded_store_path.parent.mkdir(parents=True)
    with LadybugStore(settings.embedded_store_path) as store:
        load_folder(
            store, root / "data", salt=settings.person_id_salt,
            rejects_dir=settings.rejects_dir, strict=True,
        )  # fmt: skip
