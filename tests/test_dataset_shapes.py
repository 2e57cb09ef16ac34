"""Any dataset shape works: no guarantee circle, no guarantees, no persons, one enterprise, no
records. Features and the served snapshot index are built, and answer "none" where there is
none (a city without circles once broke the index, so the API served no snapshot at all)."""

from __future__ import annotations

import numpy as np
import pytest
from feature_graphs import SnapshotBuilder

from risk.features import compute_features
from risk.features.context import FeatureContext
from risk.features.guarantees import guarantee_circles
from risk.snapshot_index import SnapshotIndex


def _chain() -> SnapshotBuilder:
    b = SnapshotBuilder().firms_named("A", "B", "C").person("p")
    b.tie("GUARANTEES", "A", "B", amount=1e6).tie("GUARANTEES", "B", "C", amount=2e6)
    return b.tie("LEGAL_REP", "p", "A").tie("HOLDS_SHARES", "B", "C", share=0.5)


def _no_guarantees() -> SnapshotBuilder:
    b = SnapshotBuilder().firms_named("A", "B").person("p")
    return b.tie("LEGAL_REP", "p", "A").tie("OFFICER", "p", "B", role="director")


def _no_persons() -> SnapshotBuilder:
    return SnapshotBuilder().firms_named("A", "B").tie("HOLDS_SHARES", "A", "B", share=1.0)


SHAPES = {
    "guarantees without a circle": _chain,
    "no guarantees": _no_guarantees,
    "no persons": _no_persons,
    "one enterprise, nothing else": lambda: SnapshotBuilder().firms_named("A"),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_features_and_the_index_are_built(shape: str) -> None:
    snapshot = SHAPES[shape]().build()
    assert guarantee_circles(FeatureContext(snapshot)) == []
    matrix = compute_features(snapshot)
    assert matrix.values.shape == (snapshot.n_enterprises, len(matrix.names))
    index = SnapshotIndex(snapshot)
    assert index.enterprise(str(snapshot.enterprises["id"][0])) is not None


def test_a_circle_still_is_found_beside_a_chain() -> None:
    b = _chain().tie("GUARANTEES", "C", "A", amount=3e6)
    circles = guarantee_circles(FeatureContext(b.build()))
    assert len(circles) == 1
    assert np.array_equal(np.sort(circles[0].members), [0, 1, 2])
