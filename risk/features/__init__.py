"""Graph features: the documented catalog (catalog.yaml) computed on a snapshot.

``compute_features(snapshot)`` returns a :class:`FeatureMatrix`: one row per
enterprise of the snapshot (in snapshot order), one float32 column per catalog
feature, NaN where a value is unknown. Families run in catalog order and each
must return exactly its catalog columns. Amounts in other currencies are converted with
the rate table given (the data home's ``rates.csv``, graph_model/rates.py); the matrix
records the rates it used, so that a cached one computed with other rates is not reused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from graph_model.rates import RateTable
from graph_model.snapshot import Snapshot
from risk.features.catalog import Catalog, load_catalog
from risk.features.community import community_features
from risk.features.contagion import contagion_features
from risk.features.context import FeatureContext
from risk.features.guarantees import guarantee_features
from risk.features.own import own_features
from risk.features.ownership import ownership_features
from risk.features.people import people_features
from risk.features.suspected import suspected_features

Family = Callable[[FeatureContext], dict[str, np.ndarray]]

FAMILIES: Mapping[str, Family] = MappingProxyType(
    {
        "own": own_features,
        "people": people_features,
        "ownership": ownership_features,
        "guarantees": guarantee_features,
        "contagion": contagion_features,
        "suspected": suspected_features,
        "community": community_features,
    }
)


@dataclass(frozen=True)
class FeatureMatrix:
    """Features of every enterprise of a snapshot, with the seconds each family took and the
    rates (CNY per unit of each currency) its amounts were converted with."""

    as_of: date
    ids: pa.Array
    names: tuple[str, ...]
    values: np.ndarray
    seconds: dict[str, float]
    rates: dict[str, float]

    def column(self, name: str) -> np.ndarray:
        """One feature's values, in row order."""
        return self.values[:, self.names.index(name)]

    def to_table(self) -> pa.Table:
        """The matrix as an Arrow table: ``id`` then one column per feature."""
        columns = {"id": self.ids, **{n: self.values[:, i] for i, n in enumerate(self.names)}}
        return pa.table(columns)

    def save(self, path: Path) -> Path:
        """Write the matrix as Parquet, the as-of date and timings in its metadata."""
        path.parent.mkdir(parents=True, exist_ok=True)
        table = self.to_table()
        meta = {
            b"creditgraph": json.dumps(
                {"as_of": self.as_of.isoformat(), "seconds": self.seconds, "rates": self.rates}
            )
        }
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path

    @classmethod
    def load(cls, path: Path) -> FeatureMatrix:
        """Read a matrix written by :meth:`save`; refuses columns the catalog does not list,
        and a matrix that does not say which rates it used (it counted amounts in other
        currencies as nothing)."""
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[b"creditgraph"])
        names = tuple(table.column_names[1:])
        expected = load_catalog().names
        if names != expected or not isinstance(meta.get("rates"), dict):
            raise ValueError(
                f"{path}: its feature columns differ from the catalog "
                "(computed by another version); compute the features again"
            )
        values = np.column_stack([table[n].to_numpy() for n in names]).astype(np.float32)
        return cls(
            as_of=date.fromisoformat(meta["as_of"]),
            ids=table["id"].combine_chunks(),
            names=names,
            values=values,
            seconds=meta["seconds"],
            rates={str(k): float(v) for k, v in meta["rates"].items()},
        )


def compute_features(
    snapshot: Snapshot,
    families: tuple[str, ...] | None = None,
    progress: Callable[[str, float], None] | None = None,
    rates: RateTable | None = None,
) -> FeatureMatrix:
    """Compute the catalog's features (or the named families) on ``snapshot``.

    ``progress`` is called with each family's name and its seconds once it is done. Amounts
    convert to CNY with ``rates``; without it, amounts in other currencies are unknown.
    """
    catalog: Catalog = load_catalog()
    chosen = families or tuple(f.name for f in catalog.families)
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown feature families {unknown}; known: {list(FAMILIES)}")
    ctx = FeatureContext(snapshot, rates)
    names: list[str] = []
    columns: list[np.ndarray] = []
    seconds: dict[str, float] = {}
    for family in catalog.families:
        if family.name not in chosen:
            continue
        started = time.perf_counter()
        result = FAMILIES[family.name](ctx)
        expected = [f.name for f in family.features]
        if sorted(result) != sorted(expected):
            raise RuntimeError(
                f"feature family {family.name!r} returned {sorted(result)}, "
                f"the catalog lists {sorted(expected)}"
            )
        for name in expected:
            names.append(name)
            columns.append(np.asarray(result[name], dtype=np.float32))
        seconds[family.name] = round(time.perf_counter() - started, 3)
        if progress is not None:
            progress(family.name, seconds[family.name])
    values = np.column_stack(columns) if columns else np.empty((snapshot.n_enterprises, 0))
    return FeatureMatrix(
        as_of=snapshot.as_of,
        ids=snapshot.enterprises["id"].combine_chunks(),
        names=tuple(names),
        values=values.astype(np.float32),
        seconds=seconds,
        rates=ctx.rates.on(snapshot.as_of),
    )
