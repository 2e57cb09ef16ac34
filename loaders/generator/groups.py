"""Holding groups of the demo city (stage 2).

Trees of up to ``max_depth`` levels under a top company, some closing an ownership cycle
by a cross-holding, and a small pool of people per group (a boss, executives, staff) who
represent, direct and supervise every member.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loaders.generator.common import FOREVER, Rows, Span, concat_rows, uniform_days
from loaders.generator.enterprises import ACTIVE, COMPANY, DEREGISTERED, Firms
from loaders.generator.holdings import ENTERPRISE, FOREIGN_SLOT, PERSON
from loaders.generator.knobs import Knobs
from loaders.generator.people import DIRECTOR, MANAGER, SUPERVISOR, People, officer_rows


@dataclass(frozen=True)
class Groups:
    """The trees of the holding groups, one entry per member."""

    member: np.ndarray  # firm number of each member; a group's members are contiguous
    gid: np.ndarray  # group of each member
    parent: np.ndarray  # firm number of the member's parent in the tree, -1 for the top
    sizes: np.ndarray  # members per group


# long: one stage of the city: its random draws must stay in this order for a seed to
# give the same city, and its steps share the stage's arrays; split, they would be passed
# from function to function instead of read in sequence.
def draw_groups(
    rng: np.random.Generator, f: Firms, span: Span, k: Knobs, people: People
) -> tuple[Rows, Rows, Rows, int, Groups]:
    """Holdings, legal reps and officers of the group members, the number of foreign stakes
    among them (the independents add as many as the foreign companies need), and the trees.

    Sets the members' group, depth, dates, status, capital and legal reps in ``f``.
    """
    comp = rng.permutation(np.flatnonzero(f.kind == COMPANY))
    target = int(len(comp) * k.group_share)
    empty = np.zeros(0, dtype=np.int64)
    if target < 3:
        return {}, {}, {}, 0, Groups(empty, empty, empty, empty)
    cap = int(min(k.group_size_cap, max(6, target // 4)))
    draws = 3 + np.floor(rng.pareto(k.group_size_tail, target // 3 + 1) * 3).astype(np.int64)
    sizes = np.minimum(draws, cap)
    n_groups = int(np.searchsorted(np.cumsum(sizes), target)) + 1
    sizes = sizes[:n_groups]
    total = int(sizes.sum())
    offs = np.cumsum(sizes) - sizes
    gid = np.repeat(np.arange(n_groups), sizes)
    pos = np.arange(total) - offs[gid]
    member = comp[:total]
    top = offs[gid]

    # Tree: each member hangs under an earlier one, biased towards the top, or under the
    # previous member (long chains); depth is capped by re-hanging under the top.
    earlier = np.floor(pos * rng.random(total) ** 1.5).astype(np.int64)
    parent = offs[gid] + np.where(rng.random(total) < k.chain_bias, pos - 1, earlier)
    parent[pos == 0] = -1
    depth = np.zeros(total, dtype=np.int64)
    est = np.zeros(total, dtype=np.int64)
    est[offs] = span.t0 - rng.integers(180, 15 * 365, n_groups)
    gap = rng.integers(30, 3 * 365, total)
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(int(sizes.max()) + 1))
    for p in range(1, int(sizes.max())):
        sel = order[bounds[p] : bounds[p + 1]]
        par = np.where(depth[parent[sel]] >= k.max_depth, top[sel], parent[sel])
        parent[sel] = par
        depth[sel] = depth[par] + 1
        # A subsidiary is founded after its parent.
        est[sel] = np.minimum(est[par] + gap[sel], span.t1 - 90)

    # Only leaves of the tree end, so that no holding hangs from a vanished parent.
    has_child = np.zeros(total, dtype=bool)
    has_child[parent[parent >= 0]] = True
    lo = np.maximum(est + 180, span.t0)
    gone = ~has_child & (rng.random(total) < k.group_dereg_share) & (lo < span.t1)
    dereg = np.full(total, FOREVER, dtype=np.int64)
    dereg[gone] = uniform_days(rng, lo[gone], np.full(int(gone.sum()), span.t1 - 1))
    f.est[member] = est
    f.dereg[member] = dereg
    f.status[member] = np.where(gone, DEREGISTERED, ACTIVE)
    f.agent[member] = -1
    f.group[member] = gid
    f.depth[member] = depth
    f.is_top[member[offs]] = True
    f.capital[member] *= np.where(pos == 0, 20.0, 3.0)

    # People: a boss and a few executives per group run all its members; a few staff act
    # as supervisors. The boss represents the top company and up to ~20 others.
    pool_size = 1 + np.ceil(np.sqrt(sizes) / 1.5).astype(np.int64)
    pool_start = people.take(int(pool_size.sum()))[0] + np.cumsum(pool_size) - pool_size
    sup_size = np.ceil(np.sqrt(sizes) / 2).astype(np.int64)
    sup_start = people.take(int(sup_size.sum()))[0] + np.cumsum(sup_size) - sup_size
    ps, pz = pool_start[gid], pool_size[gid]
    boss_p = np.minimum(0.3, 20.0 / sizes)[gid]
    execs = ps + 1 + np.floor(rng.random(total) * (pz - 1)).astype(np.int64)
    rep = np.where((pos == 0) | (rng.random(total) < boss_p), ps, execs)
    f.rep0[member] = rep
    f.alt_rep[member] = ps + (rep - ps + 1) % pz
    reps = {"person": rep, "firm": member, "from": est, "to": np.full(total, FOREVER)}

    n_dir = np.where((rng.random(total) < 0.4) & (pz >= 3), 3, 1)
    off = np.floor(rng.random(total) * pz).astype(np.int64)
    o_parts = []
    for j in range(3):
        m = n_dir > j
        o_parts.append(officer_rows(ps[m] + (off[m] + j) % pz[m], member[m], DIRECTOR, est[m]))
    sups = sup_start[gid] + np.floor(rng.random(total) * sup_size[gid]).astype(np.int64)
    o_parts.append(officer_rows(sups, member, SUPERVISOR, est))
    mgr = np.where(rng.random(total) < 0.5, rep, ps + np.floor(rng.random(total) * pz).astype(int))
    o_parts.append(officer_rows(mgr, member, MANAGER, est))

    # Holdings: the parent holds all or most of a member; the rest belongs to an executive,
    # to a member higher up the tree (so chains stay within max_depth), or is not on file.
    h_parts = []
    child = pos > 0
    pct = np.where(rng.random(total) < 0.55, 100, rng.integers(51, 96, total))
    c = np.flatnonzero(child)
    h_parts.append(_holding_rows(ENTERPRISE, member[parent[c]], member[c], pct[c], est[c]))
    r = rng.random(total)
    rest = child & (pct < 100)
    to_exec = np.flatnonzero(rest & (r < 0.5))
    h_parts.append(
        _holding_rows(
            PERSON,
            ps[to_exec] + np.floor(rng.random(len(to_exec)) * pz[to_exec]).astype(int),
            member[to_exec],
            100 - pct[to_exec],
            est[to_exec],
        )
    )
    cand = offs[gid] + np.floor(rng.random(total) * sizes[gid]).astype(np.int64)
    to_member = np.flatnonzero(
        rest & (r >= 0.5) & (r < 0.8) & (depth[cand] < depth) & (cand != parent)
    )
    h_parts.append(
        _holding_rows(
            ENTERPRISE,
            member[cand[to_member]],
            member[to_member],
            100 - pct[to_member],
            np.maximum(est[to_member], est[cand[to_member]]),
        )
    )

    # The top company: the boss, perhaps a second person and a foreign investor, and in a
    # few groups a deep member holding a slice of the top, which closes an ownership cycle.
    deepest = np.lexsort((-depth, gid))[offs]
    cross = np.where(
        (rng.random(n_groups) < k.cross_holding_share) & (depth[deepest] >= 2),
        rng.integers(5, 21, n_groups),
        0,
    )
    foreign = np.where(
        rng.random(n_groups) < k.foreign_top_share, rng.integers(10, 61, n_groups), 0
    )
    foreign = np.minimum(foreign, 80 - cross)
    second = np.where(rng.random(n_groups) < 0.35, rng.integers(10, 46, n_groups), 0)
    second = np.minimum(second, 80 - cross - foreign)
    boss_pct = 100 - cross - foreign - second
    tops, t_est = member[offs], est[offs]
    h_parts.append(_holding_rows(PERSON, pool_start, tops, boss_pct, t_est))
    s = np.flatnonzero(second > 0)
    h_parts.append(_holding_rows(PERSON, pool_start[s] + 1, tops[s], second[s], t_est[s]))
    s = np.flatnonzero(foreign > 0)
    h_parts.append(_holding_rows(FOREIGN_SLOT, np.full(len(s), -1), tops[s], foreign[s], t_est[s]))
    s = np.flatnonzero(cross > 0)
    x_from = np.maximum(t_est[s], est[deepest[s]]) + rng.integers(30, 730, len(s))
    h_parts.append(_holding_rows(ENTERPRISE, member[deepest[s]], tops[s], cross[s], x_from))

    holdings = concat_rows(h_parts)
    holdings["subscribed"] = np.round(holdings["share"] * f.capital[holdings["firm"]], 2)
    parent_firm = np.where(parent >= 0, member[np.maximum(parent, 0)], -1)
    groups = Groups(member=member, gid=gid, parent=parent_firm, sizes=sizes)
    return holdings, reps, concat_rows(o_parts), int(np.count_nonzero(foreign)), groups


def _holding_rows(
    kind: int, holder: np.ndarray, firm: np.ndarray, pct: np.ndarray, start: np.ndarray
) -> Rows:
    n = len(firm)
    return {
        "kind": np.full(n, kind, dtype=np.int64),
        "holder": holder.astype(np.int64),
        "firm": firm.astype(np.int64),
        "share": np.asarray(pct, dtype=np.float64) / 100.0,
        "from": start.astype(np.int64),
        "to": np.full(n, FOREVER, dtype=np.int64),
    }
