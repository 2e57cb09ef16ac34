"""Shareholdings: how a holder is coded, and two passes over all the founding stakes.

The groups and independents stages draw the stakes; :func:`assign_foreign` then puts the
foreign companies into the slots left for them, and :func:`fit_shares` keeps each firm's
stakes at or below 100 % in any order of a floating-point sum.
"""

from __future__ import annotations

import numpy as np

from loaders.generator.common import Rows, first_of_group
from loaders.generator.enterprises import FOREIGN, Firms

# Kinds of holder; a FOREIGN_SLOT stake waits for a foreign company (assign_foreign).
PERSON, ENTERPRISE, FOREIGN_SLOT = 0, 1, 2
HOLDER_TYPES = ("person", "enterprise")


def assign_foreign(rng: np.random.Generator, f: Firms, h: Rows) -> None:
    """Fill the foreign stakes: every foreign company at least once, a few big ones often."""
    slots = rng.permutation(np.flatnonzero(h["kind"] == FOREIGN_SLOT))
    foreign = rng.permutation(np.flatnonzero(f.kind == FOREIGN))
    first = min(len(slots), len(foreign))
    weights = 1.0 / np.sqrt(np.arange(1, len(foreign) + 1))
    more = rng.choice(len(foreign), len(slots) - first, p=weights / weights.sum())
    h["holder"][slots] = np.concatenate([foreign[:first], foreign[more]])
    h["kind"][slots] = ENTERPRISE


def fit_shares(h: Rows) -> None:
    """Keep every float sum of a firm's stakes at or below 1, whatever the order.

    Stakes are whole basis points adding up to 100 %. Two of them add up to exactly 1 in
    binary; three or more, such as 0.3333 + 0.3334 + 0.3333, may round just above 1
    depending on the order of the sum, so those firms give up one basis point of their
    largest stake (99.99 % leaves a margin far above the rounding error).
    """
    share = h["share"]
    known = ~np.isnan(share)
    bp = np.where(known, np.round(np.nan_to_num(share) * 10000), 0)
    order = np.lexsort((-bp, h["firm"]))
    starts = np.flatnonzero(first_of_group(h["firm"][order]))
    stakes = np.add.reduceat(known[order].astype(np.int64), starts)
    total = np.add.reduceat(bp[order], starts)
    top = order[starts[(stakes >= 3) & (total >= 10000)]]
    share[top] = (bp[top] - 1) / 10000
