"""Community: Leiden communities of the related-enterprise graph.

igraph draws Leiden's random choices from its process-wide random generator;
``communities`` installs a generator seeded for the call and puts igraph's
default back afterwards, so the same snapshot always gives the same
communities.
"""

from __future__ import annotations

import random

import igraph as ig
import numpy as np
import scipy.sparse as sp

from risk.features.context import FeatureContext

LEIDEN_ITERATIONS = 2
SEED = 0


def communities(graph: sp.csr_matrix, seed: int = SEED) -> np.ndarray:
    """Leiden community (modularity) of each node of an undirected graph."""
    upper = sp.triu(graph, k=1).tocoo()
    g = ig.Graph(n=graph.shape[0], edges=np.column_stack([upper.row, upper.col]), directed=False)
    ig.set_random_number_generator(random.Random(seed))
    try:
        parts = g.community_leiden(objective_function="modularity", n_iterations=LEIDEN_ITERATIONS)
    finally:
        ig.set_random_number_generator(random)
    return np.asarray(parts.membership, dtype=np.int64)


def community_features(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Columns of the ``community`` family (see catalog.yaml)."""
    membership = communities(ctx.related)
    size = np.bincount(membership).astype(float)
    listed = ctx.listed.astype(float)
    listed_in = np.bincount(membership, weights=listed)
    others = size[membership] - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(others > 0, (listed_in[membership] - listed) / others, np.nan)
    return {"community_size": size[membership], "community_listed_share": share}
