"""Contagion: bad records among related enterprises, and closeness to listed ones.

Hops are counted on the related-enterprise graph (see
:attr:`FeatureContext.related`): two firms sharing a legal representative are
1 hop apart. Two-hop sets are built a chunk of rows at a time, so memory stays
bounded by the chunk, not by the whole square of the graph.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from risk.features.context import FeatureContext, count_by, unique_pairs

DAMPING = 0.85
PAGERANK_ROUNDS = 40
PAGERANK_TOLERANCE = 1e-10
TWO_HOP_CHUNK = 65_536
ENFORCED_KINDS = ("enforcement", "dishonest_debtor")
"""Court enforcement against a firm: 被执行人, and 失信被执行人 (a debtor defying the judgment)."""


def personalised_pagerank(graph: sp.csr_matrix, seeds: np.ndarray) -> np.ndarray:
    """PageRank of an undirected graph restarting at ``seeds`` (power iteration, ≤ 40 rounds).

    Dangling nodes send their mass back to the seeds. Returns scores that sum to 1; all
    zeros when there are no seeds.
    """
    n = graph.shape[0]
    if not seeds.any():
        return np.zeros(n)
    restart = seeds / seeds.sum()
    degree = np.asarray(graph.sum(axis=1)).ravel()
    inverse = np.divide(1.0, degree, out=np.zeros(n), where=degree > 0)
    walk = graph.T.tocsr()
    score = restart.copy()
    for _ in range(PAGERANK_ROUNDS):
        spread = walk @ (score * inverse)
        dangling = score[degree == 0].sum()
        nxt = DAMPING * (spread + dangling * restart) + (1 - DAMPING) * restart
        if np.abs(nxt - score).sum() < PAGERANK_TOLERANCE:
            score = nxt
            break
        score = nxt
    return np.asarray(score)


def active_of(ctx: FeatureContext, kinds: tuple[str, ...]) -> np.ndarray:
    """1.0 for enterprises with a record in force of one of ``kinds``, else 0.0."""
    rec = ctx.records
    mask = rec.active & np.isin(rec.kind, kinds)
    return (count_by(rec.enterprise[mask], ctx.n_enterprises) > 0).astype(float)


def _branches(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Head office and branches (HAS_BRANCH in force): a head office answers for its
    branches' debts, and a branch trades on its head office's standing."""
    n = ctx.n_enterprises
    ed = ctx.edges("HAS_BRANCH")
    head, branch = unique_pairs(ed.src, ed.dst, n)
    return {
        "branches": count_by(head, n),
        "branches_bad": count_by(head, n, ctx.bad[branch].astype(float)),
        "head_office_listed": (count_by(branch, n, ctx.listed[head].astype(float)) > 0).astype(
            float
        ),
    }


def contagion_features(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Columns of the ``contagion`` family (see catalog.yaml)."""
    n = ctx.n_enterprises
    related = ctx.related
    bad = ctx.bad.astype(float)
    listing_day = ctx.latest_listing_day

    near = np.diff(related.indptr).astype(float)
    near_bad = related @ bad

    within2 = np.zeros(n)
    within2_bad = np.zeros(n)
    latest = np.zeros(n)
    for start in range(0, n, TWO_HOP_CHUNK):
        stop = min(n, start + TWO_HOP_CHUNK)
        rows = related[start:stop]
        reach = (rows @ related + rows).tocoo()
        keep = reach.col != reach.row + start
        row, col = reach.row[keep], reach.col[keep]
        within2[start:stop] = np.bincount(row, minlength=stop - start)
        within2_bad[start:stop] = np.bincount(row, weights=bad[col], minlength=stop - start)
        np.maximum.at(latest[start:stop], row, listing_day[col])

    score = personalised_pagerank(ctx.combined, np.r_[ctx.listed, np.zeros(ctx.n_nodes - n, bool)])
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            **_branches(ctx),
            "related_1hop_enforced": related @ active_of(ctx, ENFORCED_KINDS),
            "related_1hop_tax_violators": related @ active_of(ctx, ("tax_violation",)),
            "related_1hop": near,
            "related_1hop_bad_share": np.where(near > 0, near_bad / near, np.nan),
            "related_2hop": within2,
            "related_2hop_bad_share": np.where(within2 > 0, within2_bad / within2, np.nan),
            "listed_pagerank": score[:n] * ctx.n_nodes,
            "days_since_related_listing": np.where(latest > 0, ctx.as_of_days - latest, np.nan),
        }
