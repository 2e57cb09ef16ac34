"""History of the demo city (stage 4): how holdings, legal representatives and officers change.

Shares are sold and some bought back, legal representatives and officers are replaced,
and every relation ends when a firm at either end is deregistered.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from loaders.generator.common import (
    EPOCH,
    FOREVER,
    Rows,
    Span,
    concat_rows,
    probabilities,
    take_rows,
    uniform_days,
)
from loaders.generator.enterprises import COMPANY, Firms
from loaders.generator.holdings import ENTERPRISE, PERSON
from loaders.generator.knobs import Knobs
from loaders.generator.people import People


# long: one stage of the city: its random draws must stay in this order for a seed to
# give the same city, and its steps share the stage's arrays; split, they would be passed
# from function to function instead of read in sequence.
def draw_history(
    rng: np.random.Generator,
    f: Firms,
    span: Span,
    k: Knobs,
    people: People,
    holdings: Rows,
    reps: Rows,
    officers: Rows,
) -> tuple[Rows, Rows, Rows]:
    """Holdings, legal reps and officers with the changes of the period, each relation
    closed when a firm at either end is deregistered."""
    # Validity is half-open, as the stores read it: a relation holds from valid_from up
    # to, not including, valid_to. So a successor starts on the day its predecessor ends,
    # and no day sees both or neither.
    # Shares sold to a newcomer; a quarter of the sellers buy them back later.
    h = holdings
    n_h = len(h["firm"])
    corp = h["kind"] == ENTERPRISE
    holder_end = np.where(corp, f.dereg[np.where(corp, h["holder"], 0)], FOREVER)
    lo = np.maximum(h["from"], span.t0) + 30
    hi = np.minimum(np.minimum(f.dereg[h["firm"]], holder_end), span.t1) - 60
    sold = np.flatnonzero((rng.random(n_h) < k.transfer_share) & (lo < hi))
    t = uniform_days(rng, lo[sold], hi[sold] - 1)
    h["to"][sold] = t
    buyers = take_rows(h, sold)
    buyers["kind"] = np.full(len(sold), PERSON, dtype=np.int64)
    # Half the buyers already invest elsewhere (picked by activity, so serial investors
    # buy more); the rest are newcomers, as is anyone who would buy into a firm twice.
    investors = h["holder"][h["kind"] == PERSON]
    buyer = np.where(
        rng.random(len(sold)) < k.known_buyer_share,
        investors[rng.integers(0, len(investors), len(sold))],
        people.take(len(sold)),
    )
    span_p = people.count + 1
    held = h["firm"][h["kind"] == PERSON] * span_p + investors
    twice = np.isin(h["firm"][sold] * span_p + buyer, held)
    buyer[twice] = people.take(int(twice.sum()))
    buyers["holder"] = buyer
    buyers["from"] = t
    buyers["to"] = np.full(len(sold), FOREVER, dtype=np.int64)
    back = (rng.random(len(sold)) < k.rebuy_share) & (t + 90 < hi[sold])
    t2 = uniform_days(rng, t[back] + 90, hi[sold][back])
    buyers["to"][back] = t2
    again = take_rows(h, sold[back])
    again["from"] = t2
    again["to"] = np.full(len(t2), FOREVER, dtype=np.int64)
    holdings = concat_rows([h, buyers, again])

    # Legal representatives replaced once or twice; the second change sometimes brings
    # the first one back.
    r = reps
    firm = r["firm"]
    n_r = len(firm)
    changes = np.where(
        f.kind[firm] == COMPANY,
        rng.choice(len(k.rep_changes), n_r, p=probabilities(k.rep_changes)),
        0,
    )
    lo = np.maximum(f.est[firm], span.t0) + 90
    hi = np.minimum(f.dereg[firm], span.t1) - 30
    a = uniform_days(rng, lo, np.maximum(hi, lo))
    b = uniform_days(rng, lo, np.maximum(hi, lo))
    c1, c2 = np.minimum(a, b), np.maximum(a, b)
    one = np.flatnonzero((changes >= 1) & (hi - lo > 120))
    two = (changes[one] == 2) & (c2[one] - c1[one] >= 30)
    alt = f.alt_rep[firm[one]]
    fresh = people.take(len(one))
    succ = np.where((alt >= 0) & (rng.random(len(one)) < 0.5), alt, fresh)
    r["to"][one] = c1[one]
    first = {
        "person": succ,
        "firm": firm[one],
        "from": c1[one],
        "to": np.where(two, c2[one], FOREVER),
    }
    w = one[two]
    back = rng.random(len(w)) < 0.3
    second = {
        "person": np.where(back, r["person"][w], people.take(len(w))),
        "firm": firm[w],
        "from": c2[w],
        "to": np.full(len(w), FOREVER, dtype=np.int64),
    }
    reps = concat_rows([r, first, second])

    # Officers leave and are replaced; old firms' filings sometimes lack the start date.
    o = officers
    lo = np.maximum(o["from"], span.t0) + 60
    hi = np.minimum(f.dereg[o["firm"]], span.t1) - 30
    turn = np.flatnonzero((rng.random(len(lo)) < k.officer_turnover) & (lo < hi))
    t = uniform_days(rng, lo[turn], hi[turn])
    o["to"][turn] = t
    new = take_rows(o, turn)
    new["person"] = people.take(len(turn))
    new["from"] = t
    new["to"] = np.full(len(turn), FOREVER, dtype=np.int64)
    old = (o["from"] < (date(2010, 1, 1) - EPOCH).days) & (o["to"] == FOREVER)
    o["from"][old & (rng.random(len(lo)) < k.unknown_officer_start)] = -FOREVER
    officers = concat_rows([o, new])

    # Relations end when a firm at either end is deregistered.
    corp = holdings["kind"] == ENTERPRISE
    cap = np.minimum(
        f.dereg[holdings["firm"]],
        np.where(corp, f.dereg[np.where(corp, holdings["holder"], 0)], FOREVER),
    )
    return (
        _close(holdings, cap, span),
        _close(reps, f.dereg[reps["firm"]], span),
        _close(officers, f.dereg[officers["firm"]], span),
    )


def _close(rows: Rows, cap: np.ndarray, span: Span) -> Rows:
    """End rows at ``cap`` and drop those left empty or starting after the period."""
    rows["to"] = np.minimum(rows["to"], cap)
    keep = (rows["from"] < rows["to"]) & (rows["from"] <= span.t1)
    return take_rows(rows, np.flatnonzero(keep))
