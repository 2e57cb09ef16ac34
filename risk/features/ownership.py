"""Ownership: shareholders, chains, integrated stakes, beneficial owners and cross-holdings.

Integrated (indirect) ownership follows DOMAIN.md: the stake of holder h in
enterprise e is the sum over every ownership path from h to e of the product of
the stakes on it. With S the enterprise-to-enterprise stake matrix and D the
direct stakes of every holder, the integrated stakes are the series
``D + D S + D S² + …``; cross-holdings (cycles of S) make it infinite but
converging, and it is summed until a term adds less than ``TOLERANCE`` (at most
``MAX_TERMS`` terms). For enterprise holders, walks that pass through the holder
again are removed (first-passage sums). Stakes with unknown size count as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from risk.features.context import (
    FeatureContext,
    condensed_chains,
    count_by,
    max_by,
    numbers,
    strong_components,
)

BENEFICIAL_OWNER_SHARE = 0.25
"""PBoC/SAMR Order 〔2024〕3号: a natural person with at least 25 % of the equity."""

MAX_TERMS = 200
TOLERANCE = 1e-9
PRUNE_BELOW = 1e-6
"""Path products below this are dropped from the series: they cannot move a 25 % test and
they would otherwise fill the matrix with dust from long chains."""


@dataclass(frozen=True)
class Stakes:
    """Integrated stakes: ``matrix[h, e]`` is holder node ``h``'s stake in enterprise ``e``."""

    direct: sp.csr_matrix
    integrated: sp.csr_matrix
    terms: int


def direct_stakes(ctx: FeatureContext) -> sp.csr_matrix:
    """Known direct stakes, holder node × enterprise; a pair held twice keeps its largest stake.

    When the stakes in one enterprise sum to more than 1 (inconsistent sources), they are
    scaled down to sum to 1, so that the series converges.
    """
    ed = ctx.edges("HOLDS_SHARES")
    share = np.nan_to_num(numbers(ed.properties["share"]), nan=0.0)
    n, e = ctx.n_nodes, ctx.n_enterprises
    keys = ed.src.astype(np.int64) * e + ed.dst
    unique, inverse = np.unique(keys, return_inverse=True)
    best = np.zeros(len(unique))
    np.maximum.at(best, inverse, share)
    matrix = sp.csr_matrix((best, (unique // e, unique % e)), shape=(n, e))
    matrix.eliminate_zeros()
    total = np.asarray(matrix.sum(axis=0)).ravel()
    scale = np.where(total > 1.0, 1.0 / np.where(total > 0, total, 1.0), 1.0)
    return (matrix @ sp.diags(scale)).tocsr()


def integrated_stakes(ctx: FeatureContext) -> Stakes:
    """The converging series of DOMAIN.md over all holders (persons and enterprises)."""
    direct = direct_stakes(ctx)
    e = ctx.n_enterprises
    between = direct[:e].tocsr()
    total = direct.copy()
    term = direct
    terms = 1
    while terms < MAX_TERMS:
        term = (term @ between).tocsr()
        term.data[term.data < PRUNE_BELOW] = 0.0
        term.eliminate_zeros()
        if term.nnz == 0:
            break
        total = total + term
        terms += 1
        if term.data.sum() < TOLERANCE:
            break
    total = total.tocsr()
    # For an enterprise holder in a cross-holding, walks that come back to it and leave
    # again count its stake several times. Its own stake is the first-passage sum, which is
    # the walk sum divided by 1 + (walks from it back to itself); its stake in itself is none.
    returns = np.zeros(ctx.n_nodes)
    returns[:e] = total[:e].diagonal()
    total = (sp.diags(1.0 / (1.0 + returns)) @ total).tocsr()
    total.setdiag(0.0)
    total.eliminate_zeros()
    # A cycle whose stakes leak nothing to outsiders (inconsistent data) does not converge
    # within MAX_TERMS; no stake can pass 1.
    np.minimum(total.data, 1.0, out=total.data)
    return Stakes(direct=direct, integrated=total, terms=terms)


def ownership_features(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Columns of the ``ownership`` family (see catalog.yaml)."""
    n = ctx.n_enterprises
    out, controller = ownership_by_firm(ctx)
    controlled = controller >= 0
    group = np.bincount(controller[controlled], minlength=ctx.n_nodes - n)
    group_size = np.zeros(n)
    group_size[controlled] = group[controller[controlled]]
    return {**out, "controller_group_size": group_size}


def ownership_by_firm(ctx: FeatureContext) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every ``ownership`` column but ``controller_group_size``, and each enterprise's
    controller (a beneficial owner with the largest integrated stake, alone at the top): the
    person's number from 0, -1 when none. Each column reads only the enterprise's holders
    and the holding chains above it; the group size counts every firm of the controller."""
    n = ctx.n_enterprises
    ed = ctx.edges("HOLDS_SHARES")
    keys = np.unique(ed.src.astype(np.int64) * n + ed.dst)
    holder, held = keys // n, keys % n
    by_firm = holder < n

    cycle_labels = strong_components(holder[by_firm], held[by_firm], n)
    depth, _ = condensed_chains(holder[by_firm], held[by_firm], cycle_labels)
    cycles = np.bincount(cycle_labels)[cycle_labels] > 1
    looped = np.zeros(n, dtype=bool)
    looped[holder[by_firm & (holder == held)]] = True

    stakes = integrated_stakes(ctx)
    direct = stakes.direct.tocoo()
    known = direct.data > 0
    top_share = max_by(direct.col[known], direct.data[known], n)
    hhi = count_by(direct.col[known], n, direct.data[known] ** 2)
    hhi[np.isnan(top_share)] = np.nan

    people = stakes.integrated[n:].tocoo()
    top = _top_per_column(people.row, people.col, people.data, n)
    direct_people = stakes.direct[n:].tocsr()
    has_top = top.row >= 0
    top_direct = np.zeros(n)
    top_direct[has_top] = np.asarray(
        direct_people[top.row[has_top], np.flatnonzero(has_top)]
    ).ravel()
    indirect = np.full(n, np.nan)
    indirect[has_top] = (top.value[has_top] - top_direct[has_top]) / top.value[has_top]

    controller = np.where(
        has_top & (top.value >= BENEFICIAL_OWNER_SHARE) & (top.second < top.value), top.row, -1
    )
    out = {
        "shareholders": count_by(held, n),
        "enterprise_shareholders": count_by(held[by_firm], n),
        "top_share": top_share,
        "share_hhi": hhi,
        "holdings": count_by(holder[by_firm], n),
        "ownership_depth": depth,
        "beneficial_owners": count_by(people.col[people.data >= BENEFICIAL_OWNER_SHARE - 1e-12], n),
        "top_person_stake": np.where(has_top, top.value, np.nan),
        "indirect_share_of_top_person": indirect,
        "cross_holding": (cycles | looped).astype(float),
    }
    return out, controller


@dataclass(frozen=True)
class _Top:
    row: np.ndarray
    value: np.ndarray
    second: np.ndarray


def _top_per_column(row: np.ndarray, col: np.ndarray, value: np.ndarray, n: int) -> _Top:
    """Row and value of the largest entry per column, and the second-largest value."""
    order = np.lexsort((-value, col))
    col_s, row_s, val_s = col[order], row[order], value[order]
    first = (
        np.flatnonzero(np.r_[True, col_s[1:] != col_s[:-1]]) if len(col_s) else np.array([], int)
    )
    top_row = np.full(n, -1)
    top_val = np.zeros(n)
    second = np.zeros(n)
    top_row[col_s[first]] = row_s[first]
    top_val[col_s[first]] = val_s[first]
    nxt = first + 1
    has_second = nxt < len(col_s)
    has_second[has_second] = col_s[nxt[has_second]] == col_s[first[has_second]]
    second[col_s[first[has_second]]] = val_s[nxt[has_second]]
    return _Top(top_row, top_val, second)
