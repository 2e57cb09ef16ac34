"""Guarantees: exposure, circles (担保圈), mutual guarantees, chains and DebtRank stress.

A guarantee circle is a strongly connected component of the guarantee graph
with two or more members: every member lies on a directed cycle, so a default
can travel back to it. Chains are measured on the condensation (circles
collapsed to one node), which is acyclic, so the longest chain is exact and
linear to compute. Amounts are summed in CNY, converted with the context's rate table
(graph_model/rates.py); an amount in a currency without a rate is unknown (NaN), so a sum
that holds one is unknown too, never a smaller number. Circle totals add up what converts
and report the rest per currency (:attr:`Circle.unconverted`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from graph_model.rates import BASE_CURRENCY
from risk.features.context import (
    FeatureContext,
    condensed_chains,
    count_by,
    flags,
    numbers,
    strong_components,
    unique_pairs,
)

MAX_CYCLE_LENGTH = 8
"""Shortest cycles are searched up to this many guarantees."""

DEBTRANK_ROUNDS = 50
"""DebtRank stops after this many rounds (each distressed firm propagates once, so it
usually stops much earlier)."""


@dataclass(frozen=True)
class GuaranteeGraph:
    """Guarantees in force between enterprises, with their amounts and defaults.

    ``amount`` is in CNY, NaN where the currency has no rate; ``original`` is the amount as
    given, in the currency ``currencies[currency[e]]`` of guarantee ``e``.
    """

    src: np.ndarray
    dst: np.ndarray
    amount: np.ndarray
    defaulted: np.ndarray
    n: int
    original: np.ndarray
    currency: np.ndarray
    currencies: tuple[str, ...]

    def currency_of(self, edge: int) -> str:
        """ISO 4217 code of one guarantee."""
        return self.currencies[int(self.currency[edge])]

    def unconverted(self, edges: np.ndarray) -> dict[str, float]:
        """Amounts of ``edges`` (indices) without a CNY value, summed per currency (by code)."""
        edges = np.asarray(edges, dtype=np.int64)
        edges = edges[np.isnan(self.amount[edges]) & np.isfinite(self.original[edges])]
        sums = np.bincount(
            self.currency[edges], weights=self.original[edges], minlength=len(self.currencies)
        )
        present = np.bincount(self.currency[edges], minlength=len(self.currencies)) > 0
        found = {self.currencies[k]: float(sums[k]) for k in np.flatnonzero(present)}
        return dict(sorted(found.items()))

    def matrix(self, weights: np.ndarray | None = None) -> sp.csr_matrix:
        data = np.ones(len(self.src)) if weights is None else weights
        return sp.csr_matrix((data, (self.src, self.dst)), shape=(self.n, self.n))


@dataclass(frozen=True)
class Circle:
    """A guarantee circle: its members (enterprise indices) and the guarantees between them.
    ``amount`` is the CNY total of the guarantees that convert; ``unconverted`` the others,
    per currency, in that currency."""

    members: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    amount: float
    unconverted: dict[str, float]


def guarantee_graph(ctx: FeatureContext) -> GuaranteeGraph:
    """The snapshot's guarantees in enterprise indices, amounts converted to CNY on the
    snapshot's date (NaN where the currency has no rate, and where the amount itself is
    unknown: a guarantee published without its amount is never counted as 0)."""
    ed = ctx.edges("GUARANTEES")
    codes = pc.fill_null(pc.cast(ed.properties["currency"], pa.string()), BASE_CURRENCY)
    encoded = pc.dictionary_encode(
        codes.combine_chunks() if isinstance(codes, pa.ChunkedArray) else codes
    )
    original = numbers(ed.properties["amount"])
    amount = ctx.rates.to_cny(original, codes, ctx.as_of)
    defaulted = flags(pc.is_valid(ed.properties["defaulted_on"]))
    return GuaranteeGraph(
        ed.src,
        ed.dst,
        amount,
        defaulted,
        ctx.n_enterprises,
        original,
        np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64),
        tuple(encoded.dictionary.to_pylist()),
    )


def circle_labels(graph: GuaranteeGraph) -> tuple[np.ndarray, np.ndarray]:
    """Strong component label of each enterprise and the size of each component."""
    labels = strong_components(graph.src, graph.dst, graph.n)
    return labels, np.bincount(labels)


def guarantee_circles(ctx: FeatureContext) -> list[Circle]:
    """Every guarantee circle, largest total amount first (ties: lowest member first)."""
    graph = guarantee_graph(ctx)
    labels, sizes = circle_labels(graph)
    in_circle = np.flatnonzero(sizes[labels] > 1)
    if len(in_circle) == 0:  # guarantees without a cycle, or none at all
        return []
    members = in_circle[np.argsort(labels[in_circle], kind="stable")]
    member_bounds = np.searchsorted(labels[members], np.unique(labels[members]), side="left")
    inside = (labels[graph.src] == labels[graph.dst]) & (sizes[labels[graph.src]] > 1)
    order = np.argsort(labels[graph.src[inside]], kind="stable")
    edges = np.flatnonzero(inside)[order]
    src, dst = graph.src[edges], graph.dst[edges]
    amount = graph.amount[edges]
    edge_bounds = np.searchsorted(labels[src], labels[members[member_bounds]], side="left")
    ends = np.r_[member_bounds[1:], len(members)]
    edge_ends = np.r_[edge_bounds[1:], len(src)]
    circles = [
        Circle(
            members[a:b],
            src[c:d],
            dst[c:d],
            float(np.nansum(amount[c:d])),
            graph.unconverted(edges[c:d]) if np.isnan(amount[c:d]).any() else {},
        )
        for a, b, c, d in zip(member_bounds, ends, edge_bounds, edge_ends, strict=True)
    ]
    circles.sort(key=lambda c: (-c.amount, int(c.members[0])))
    return circles


def cycle_lengths(graph: GuaranteeGraph, labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Length of the shortest guarantee cycle through each enterprise, NaN when none of at
    most ``MAX_CYCLE_LENGTH``.

    Only edges inside circles can close a cycle. Rows of circle members are walked
    together, ``MAX_CYCLE_LENGTH`` sparse products per chunk; chunks are sized so that a
    chunk's reach stays near ``_REACH_ENTRIES`` entries even in a giant circle.
    """
    n = graph.n
    out = np.full(n, np.nan)
    out[graph.src[graph.src == graph.dst]] = 1.0
    inside = (labels[graph.src] == labels[graph.dst]) & (graph.src != graph.dst)
    members = np.flatnonzero(sizes[labels] > 1)
    if len(members) == 0:
        return out
    step = sp.csr_matrix(
        (np.ones(int(inside.sum())), (graph.src[inside], graph.dst[inside])), shape=(n, n)
    )
    chunk = max(1, _REACH_ENTRIES // int(sizes.max()))
    for start in range(0, len(members), chunk):
        rows = members[start : start + chunk]
        reach = sp.csr_matrix(
            (np.ones(len(rows)), (np.arange(len(rows)), rows)), shape=(len(rows), n)
        )
        for length in range(1, MAX_CYCLE_LENGTH + 1):
            reach = (reach @ step).tocsr()
            reach.data[:] = 1.0
            back = np.asarray(reach[np.arange(len(rows)), rows]).ravel() > 0
            fresh = back & np.isnan(out[rows])
            out[rows[fresh]] = length
            if not np.isnan(out[rows]).any():
                break
    return out


_REACH_ENTRIES = 4_000_000


def debtrank(graph: GuaranteeGraph, capital: np.ndarray, distressed: np.ndarray) -> np.ndarray:
    """DebtRank distress (0–1) of every enterprise after the ``distressed`` ones default.

    A guarantor of a defaulting firm loses the guaranteed amount relative to its capital
    (impact capped at 1; unknown or zero capital counts as fully exposed). Each distressed
    firm passes its distress on once (Battiston et al., 2012), so the process ends.

    An amount without a CNY value may be anything from nothing to more than the guarantor's
    capital: the process runs once with each end, and a firm whose distress differs between
    the two depends on that amount and is unknown (NaN). Twice the cost, only when such an
    amount is there.
    """
    unknown = np.isnan(graph.amount)
    if not unknown.any():
        return _debtrank(graph, graph.amount, capital, distressed)
    # An unknown amount as nothing, then as at least the guarantor's whole capital.
    low = _debtrank(graph, np.where(unknown, 0.0, graph.amount), capital, distressed)
    high = _debtrank(graph, np.where(unknown, np.inf, graph.amount), capital, distressed)
    return np.where(np.isclose(low, high, rtol=0, atol=1e-12), low, np.nan)


def _debtrank(
    graph: GuaranteeGraph, amount: np.ndarray, capital: np.ndarray, distressed: np.ndarray
) -> np.ndarray:
    n = graph.n
    exposure = graph.matrix(amount)
    exposure.sum_duplicates()
    holder = np.repeat(np.arange(n), np.diff(exposure.indptr))
    cap = capital[holder]
    impact = np.where(np.isfinite(cap) & (cap > 0), exposure.data / np.where(cap > 0, cap, 1), 1.0)
    weights = sp.csr_matrix((np.minimum(impact, 1.0), exposure.indices, exposure.indptr), (n, n))
    h = distressed.astype(float)
    active = h > 0
    done = np.zeros(n, dtype=bool)
    for _ in range(DEBTRANK_ROUNDS):
        if not active.any():
            break
        h_next = np.minimum(1.0, h + weights @ np.where(active, h, 0.0))
        done |= active
        active = (h_next > 0) & ~done
        h = h_next
    return h


def guarantee_features(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Columns of the ``guarantees`` family (see catalog.yaml)."""
    n = ctx.n_enterprises
    graph = guarantee_graph(ctx)
    src, dst, amount = graph.src, graph.dst, graph.amount
    capital = np.where(ctx.capital > 0, ctx.capital, np.nan)
    bad = ctx.bad

    labels, sizes = circle_labels(graph)
    circle = np.where(sizes[labels] > 1, sizes[labels], 0).astype(float)

    pair_a, pair_b = unique_pairs(src[src != dst], dst[src != dst], n)
    forward = pair_a * n + pair_b
    mutual = np.isin(pair_b * n + pair_a, forward, assume_unique=True)

    ending, starting = condensed_chains(src, dst, labels)

    given_amount = count_by(src, n, amount)
    bad_amount = count_by(src, n, np.where(bad[dst], amount, 0.0))
    gpair_g, gpair_d = unique_pairs(src, dst, n)
    own_default = count_by(dst[graph.defaulted], n)
    distressed = bad | (own_default > 0)
    h = debtrank(graph, ctx.capital, distressed)

    return {
        "guarantees_given": count_by(src, n),
        "guarantees_received": count_by(dst, n),
        "guaranteed_amount_to_capital": given_amount / capital,
        "received_amount_to_capital": count_by(dst, n, amount) / capital,
        "guarantee_circle_size": circle,
        "guarantee_cycle_length": cycle_lengths(graph, labels, sizes),
        "mutual_guarantees": count_by(pair_a[mutual], n),
        "guarantee_chain_length": ending + starting,
        "guaranteed_bad_share": np.where(given_amount > 0, bad_amount, np.nan)
        / np.where(given_amount > 0, given_amount, 1.0),
        "guarantors_bad": count_by(gpair_d, n, bad[gpair_g].astype(float)),
        "own_loans_defaulted": own_default,
        "liable_for_defaults": count_by(src[graph.defaulted], n),
        "stress_loss": np.where(distressed, 0.0, h),
    }
