"""Guarantees of the demo city (stage 5): circles, pairs, chains, group and single ones.

Bigger manufacturers and traders guarantee most; defaults come in crises that hit a
whole structure, circles most often.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from loaders.generator.common import (
    FOREVER,
    Rows,
    Span,
    add_months,
    probabilities,
    take_rows,
    uniform_days,
)
from loaders.generator.enterprises import COMPANY, SECTIONS, Firms
from loaders.generator.groups import Groups
from loaders.generator.knobs import Knobs

GUARANTEE_KINDS = ("circle", "mutual", "chain", "group", "single")

BANKS = ("NBCB", "ICBC", "ABC", "BOC", "CCB", "BOCOM", "CZB", "NBRCB")


def _walks(
    rng: np.random.Generator,
    pick: Callable[[int], np.ndarray],
    n_walks: int,
    lengths: Sequence[int],
    probs: Sequence[float],
    closed: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Guarantee circles (closed) or chains: edges and the walk of each edge.

    Walks that visit a firm twice are dropped.
    """
    size = np.asarray(lengths)[rng.choice(len(lengths), n_walks, p=probabilities(probs))]
    nodes = pick(int(size.sum()))
    wid = np.repeat(np.arange(n_walks), size)
    off = np.cumsum(size) - size
    idx = np.arange(len(nodes)) - off[wid]
    last = idx == size[wid] - 1
    nxt = np.where(last, off[wid], np.arange(len(nodes)) + 1)
    order = np.lexsort((nodes, wid))
    repeat = np.zeros(len(nodes), dtype=bool)
    repeat[1:] = (wid[order][1:] == wid[order][:-1]) & (nodes[order][1:] == nodes[order][:-1])
    bad = np.zeros(n_walks, dtype=bool)
    bad[wid[order][repeat]] = True
    keep = ~bad[wid] & (closed | ~last)
    return nodes[keep], nodes[np.minimum(nxt, len(nodes) - 1)][keep], wid[keep]


# long: one stage of the city: its random draws must stay in this order for a seed to
# give the same city, and its steps share the stage's arrays; split, they would be passed
# from function to function instead of read in sequence.
def draw_guarantees(
    rng: np.random.Generator, f: Firms, groups: Groups, span: Span, k: Knobs
) -> Rows:
    """Guarantees in random order: parties, amount, currency, term, default day, structure
    (an index into :data:`GUARANTEE_KINDS`), bank and contract sequence number."""
    comp = np.flatnonzero(f.kind == COMPANY)
    letters = [s[0] for s in SECTIONS]
    busy = np.isin(f.industry[comp], [letters.index("C"), letters.index("F")])
    # Bigger manufacturers and traders guarantee most (the Zhejiang pattern of 担保圈).
    w = np.sqrt(f.capital[comp]) * np.where(busy, 2.0, 1.0)
    p = w / w.sum()

    def pick(m: int) -> np.ndarray:
        return comp[rng.choice(len(comp), m, p=p)]

    # About a tenth of the drawn structures are dropped below (a firm twice in one walk, or
    # firms whose lives do not overlap); draw that much more.
    target = np.asarray(k.guarantee_mix) * k.guarantees_per_enterprise * f.n_dom * 1.1
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    circle_len, circle_p = (3, 4, 5, 6, 7, 8), (0.35, 0.25, 0.15, 0.10, 0.08, 0.07)
    n_circles = round(target[0] / float(np.dot(circle_len, probabilities(circle_p))))
    parts.append(_walks(rng, pick, n_circles, circle_len, circle_p, closed=True))
    n_pairs = round(target[1] / 2)
    a, b = pick(n_pairs), pick(n_pairs)
    pair = np.flatnonzero(a != b)
    parts.append(
        (
            np.concatenate([a[pair], b[pair]]),
            np.concatenate([b[pair], a[pair]]),
            np.concatenate([pair, pair]),
        )
    )
    chain_len, chain_p = (3, 4, 5, 6, 7), (0.4, 0.25, 0.15, 0.12, 0.08)
    n_chains = round(target[2] / (float(np.dot(chain_len, probabilities(chain_p))) - 1))
    parts.append(_walks(rng, pick, n_chains, chain_len, chain_p, closed=False))
    inner = np.flatnonzero(groups.parent >= 0)
    inner = rng.permutation(inner)[: min(len(inner), round(target[3]))]
    parts.append((groups.parent[inner], groups.member[inner], np.arange(len(inner))))
    n_single = round(target[4])
    a, b = pick(n_single), comp[rng.integers(0, len(comp), n_single)]
    single = np.flatnonzero(a != b)
    parts.append((a[single], b[single], single))

    src = np.concatenate([q[0] for q in parts])
    dst = np.concatenate([q[1] for q in parts])
    sizes = [int(q[2].max()) + 1 if len(q[2]) else 0 for q in parts]
    base = np.cumsum(sizes) - sizes
    sid = np.concatenate([q[2] + o for q, o in zip(parts, base, strict=True)])
    stype = np.repeat(np.arange(len(parts)), sizes)

    # One date window per structure: all its firms exist; guarantees may predate `start`
    # by up to two years so that the period opens with guarantees in force.
    n_s = int(sum(sizes))
    lo_s = np.full(n_s, -FOREVER, dtype=np.int64)
    hi_s = np.full(n_s, FOREVER, dtype=np.int64)
    np.maximum.at(lo_s, sid, np.maximum(f.est[src], f.est[dst]))
    np.minimum.at(hi_s, sid, np.minimum(f.dereg[src], f.dereg[dst]))
    lo_s = np.maximum(lo_s + 30, span.t0 - 730)
    hi_s = np.minimum(hi_s, span.t1) - 30
    ok = lo_s[sid] <= hi_s[sid]
    src, dst, sid = src[ok], dst[ok], sid[ok]
    valid = lo_s <= hi_s
    day_s = np.full(n_s, FOREVER, dtype=np.int64)
    day_s[valid] = uniform_days(rng, lo_s[valid], hi_s[valid])
    n = len(src)
    start = np.minimum(day_s[sid] + rng.integers(0, 90, n), hi_s[sid])
    months = np.asarray((12, 24, 36, 0))[rng.choice(4, n, p=(0.4, 0.25, 0.25, 0.1))]
    end = np.where(months > 0, add_months(start, months), FOREVER)
    end = np.maximum(np.minimum(end, np.minimum(f.dereg[src], f.dereg[dst])), start)

    # Defaults come in crises that hit a whole structure: circles most often.
    crisis_lo = day_s + 90
    crisis_hi = np.minimum(hi_s + 30, span.t1)
    crisis = (
        valid & (crisis_lo <= crisis_hi) & (rng.random(n_s) < np.asarray(k.crisis_share)[stype])
    )
    crisis_day = np.full(n_s, FOREVER, dtype=np.int64)
    crisis_day[crisis] = uniform_days(rng, crisis_lo[crisis], crisis_hi[crisis])
    hit = crisis[sid] & (rng.random(n) < np.asarray(k.default_in_crisis)[stype[sid]])
    when = np.maximum(crisis_day[sid] + rng.integers(0, 60, n), start + 30)
    defaulted = np.where(hit & (when <= np.minimum(end, span.t1)), when, FOREVER)

    amount = np.maximum(np.round(rng.lognormal(math.log(3e6), 1.1, n) / 1e4) * 1e4, 1e4)
    order = rng.permutation(n)
    rows = {
        "guarantor": src,
        "guaranteed": dst,
        "amount": amount,
        "currency": (rng.random(n) < 0.02).astype(np.int64),
        "from": start,
        "to": end,
        "defaulted": defaulted,
        "structure": stype[sid],
        "bank": rng.integers(0, len(BANKS), n),
        "seq": rng.permutation(n) + 1,
    }
    return take_rows(rows, order)
