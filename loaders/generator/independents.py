"""Independent firms of the demo city (stage 3): who holds, represents and runs them.

Person shareholders with a heavy tail of serial entrepreneurs, corporate and foreign
investors, nominee legal representatives at agents' addresses, officers, and the
operators of individual businesses.
"""

from __future__ import annotations

import numpy as np

from loaders.generator.common import FOREVER, Rows, concat_rows, probabilities
from loaders.generator.enterprises import COMPANY, FOREIGN, INDIVIDUAL, Firms
from loaders.generator.holdings import ENTERPRISE, FOREIGN_SLOT, PERSON
from loaders.generator.knobs import Knobs
from loaders.generator.people import DIRECTOR, MANAGER, SUPERVISOR, People, officer_rows


def _serial_people(rng: np.random.Generator, n_slots: int, people: People, k: Knobs) -> np.ndarray:
    """A person for each role slot: most people fill one slot, serial ones up to max_roles."""
    if n_slots == 0:
        return np.zeros(0, dtype=np.int64)
    roles = 2 + np.floor(rng.pareto(k.serial_tail, n_slots)).astype(np.int64)
    roles = np.minimum(np.where(rng.random(n_slots) < k.single_role_share, 1, roles), k.max_roles)
    filled = np.cumsum(roles)
    n_people = int(np.searchsorted(filled, n_slots)) + 1
    roles = roles[:n_people].copy()
    roles[-1] -= int(filled[n_people - 1]) - n_slots
    return rng.permutation(np.repeat(people.take(n_people), roles))


def _separate(firm: np.ndarray, person: np.ndarray, people: People) -> None:
    """Give a new person to every slot that repeats a person already in the same firm."""
    order = np.lexsort((person, firm))
    again = np.zeros(len(firm), dtype=bool)
    again[1:] = (firm[order][1:] == firm[order][:-1]) & (person[order][1:] == person[order][:-1])
    dup = order[again]
    person[dup] = people.take(len(dup))


# long: one stage of the city: its random draws must stay in this order for a seed to
# give the same city, and its steps share the stage's arrays; split, they would be passed
# from function to function instead of read in sequence.
def draw_independents(
    rng: np.random.Generator, f: Firms, k: Knobs, people: People, n_group_foreign: int
) -> tuple[Rows, Rows, Rows]:
    """Holdings, legal reps and officers of the companies outside groups and of the
    individual businesses; sets their founding legal rep and a likely successor in ``f``."""
    reg = rng.permutation(np.flatnonzero((f.kind == COMPANY) & (f.group < 0)))
    ib = np.flatnonzero(f.kind == INDIVIDUAL)
    nr = len(reg)
    n_for = int(np.count_nonzero(f.kind == FOREIGN))
    # Enough foreign-invested firms (60 % wholly owned, 40 % joint ventures) for every
    # foreign company to hold at least one stake.
    wanted = max(n_for, round(k.foreign_stakes_per_foreign * n_for)) - n_group_foreign
    n_fi = int(min(nr // 2, max(wanted, 0)))
    n_wfoe = round(0.6 * n_fi)
    counts = 1 + rng.choice(len(k.holder_counts), nr, p=probabilities(k.holder_counts))
    counts[:n_wfoe] = 1
    counts[n_wfoe:n_fi] = np.maximum(counts[n_wfoe:n_fi], 2)
    starts = np.cumsum(counts) - counts
    fpos = np.repeat(np.arange(nr), counts)
    n_slots = len(fpos)
    j = np.arange(n_slots) - starts[fpos]
    firm = reg[fpos]
    kind = np.full(n_slots, PERSON, dtype=np.int64)
    kind[(fpos < n_fi) & (j == 0)] = FOREIGN_SLOT
    holder = np.full(n_slots, -1, dtype=np.int64)
    # Corporate investors: a company, bigger ones more often, holds the main stake. Firms
    # held this way invest in no one, and group members only above the deepest level, so
    # that ownership chains stay within about max_depth levels.
    corp = np.flatnonzero(
        (fpos >= n_fi) & (j == 0) & (rng.random(n_slots) < k.corporate_holder_share)
    )
    investor = (f.kind == COMPANY) & (f.depth < k.max_depth)
    investor[firm[corp]] = False
    comp = np.flatnonzero(investor)
    w = np.sqrt(f.capital[comp])
    pick = comp[rng.choice(len(comp), len(corp), p=w / w.sum())]
    ok = pick != firm[corp]
    kind[corp[ok]] = ENTERPRISE
    holder[corp[ok]] = pick[ok]

    # Stakes in basis points: the main holder tends to hold most, everyone at least 1 %,
    # and the stakes of a firm add up to exactly 100 %.
    g = rng.gamma(np.where(j == 0, 2.5, 1.0))
    free = 10000 - 100 * counts
    bp = 100 + np.floor(g / np.add.reduceat(g, starts)[fpos] * free[fpos])
    bp[starts] += 10000 - np.add.reduceat(bp, starts)
    share = bp / 10000
    subscribed = np.round(share * f.capital[firm], 2)
    share[(rng.random(nr) < k.unknown_share_share)[fpos]] = np.nan

    # People. Slots that need a person of their own: holders, legal reps who are not the
    # main holder, supervisors and managers from outside, operators of individual businesses.
    main_person = kind[starts] == PERSON
    nominee = (f.agent[reg] >= 0) & (rng.random(nr) < k.nominee_share)
    rep_main = main_person & (rng.random(nr) < k.rep_is_main_holder) & ~nominee
    rep_own = ~rep_main & ~nominee
    has_off = rng.random(nr) < k.officer_share
    second = (counts >= 2) & (kind[np.minimum(starts + 1, n_slots - 1)] == PERSON)
    sup_own = has_off & ~second
    mgr_own = has_off & (rng.random(nr) >= 0.7)
    hp = np.flatnonzero(kind == PERSON)
    segments = [firm[hp], reg[rep_own], reg[sup_own], reg[mgr_own], ib]
    slot_firm = np.concatenate(segments)
    slot_person = _serial_people(rng, len(slot_firm), people, k)
    _separate(slot_firm, slot_person, people)
    cuts = np.cumsum([len(s) for s in segments])[:-1]
    p_hold, p_rep, p_sup, p_mgr, p_ib = np.split(slot_person, cuts)
    holder[hp] = p_hold

    # Nominees at agents' addresses: each fronts for a few to max_roles shells (heavy
    # tail), taken in agent order so that a nominee's firms share the agent's address.
    nom = np.flatnonzero(nominee)
    nom = nom[np.argsort(f.agent[reg[nom]], kind="stable")]
    fronts = 3 + np.floor(rng.pareto(k.nominee_tail, len(nom) + 1) * 4).astype(np.int64)
    filled = np.cumsum(np.minimum(fronts, k.max_roles))
    nominees = people.take(int(np.searchsorted(filled, len(nom))) + 1)
    rep = np.full(nr, -1, dtype=np.int64)
    rep[rep_main] = holder[starts[rep_main]]
    rep[rep_own] = p_rep
    rep[nom] = nominees[np.searchsorted(filled, np.arange(len(nom)), side="right")]
    f.rep0[reg] = rep
    f.alt_rep[reg[second]] = holder[starts[second] + 1]
    f.rep0[ib] = p_ib

    est = f.est[reg]
    sup = np.full(nr, -1, dtype=np.int64)
    sup[has_off & second] = holder[starts[has_off & second] + 1]
    sup[sup_own] = p_sup
    mgr = rep.copy()
    mgr[mgr_own] = p_mgr
    director = has_off & (rng.random(nr) < 0.6)
    officers = concat_rows(
        [
            officer_rows(rep[director], reg[director], DIRECTOR, est[director]),
            officer_rows(sup[has_off], reg[has_off], SUPERVISOR, est[has_off]),
            officer_rows(mgr[has_off], reg[has_off], MANAGER, est[has_off]),
        ]
    )
    reps = {
        "person": np.concatenate([rep, p_ib]),
        "firm": np.concatenate([reg, ib]),
        "from": np.concatenate([est, f.est[ib]]),
        "to": np.full(nr + len(ib), FOREVER, dtype=np.int64),
    }
    start = f.est[firm]
    corp_rows = kind == ENTERPRISE
    start[corp_rows] = np.maximum(start[corp_rows], f.est[holder[corp_rows]])
    holdings = {
        "kind": kind,
        "holder": holder,
        "firm": firm,
        "share": share,
        "from": start,
        "to": np.full(n_slots, FOREVER, dtype=np.int64),
        "subscribed": subscribed,
    }
    return holdings, reps, officers
