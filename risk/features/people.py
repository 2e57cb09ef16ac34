"""People: what the enterprise's legal representatives and officers bring with them.

A person *leads* an enterprise when they are its legal representative or an
officer. Only roles in force on the as-of date are in the snapshot, so "firms
led" means firms led on that day. A person known by name only leads no *other*
firm: a shared name is not a shared person (同名同姓), so only persons identified by an
ID number or a source id carry risk from one firm to another.
"""

from __future__ import annotations

import numpy as np

from risk.features.context import FeatureContext, count_by, max_by, unique_pairs

BLACK_LIST_YEARS = 3
"""DOMAIN: the legal representative of a black-listed firm is barred for 3 years."""


def black_listed_recently(ctx: FeatureContext) -> np.ndarray:
    """1.0 for enterprises black-listed within the last ``BLACK_LIST_YEARS``, else 0.0."""
    rec = ctx.records
    recent = rec.of("black_list") & (rec.start >= ctx.as_of_days - 365.25 * BLACK_LIST_YEARS)
    return (count_by(rec.enterprise[recent], ctx.n_enterprises) > 0).astype(float)


def people_features(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Columns of the ``people`` family (see catalog.yaml)."""
    n = ctx.n_enterprises
    n_persons = ctx.n_nodes - n
    rep = ctx.edges("LEGAL_REP")
    off = ctx.edges("OFFICER")
    rep_p, rep_e = unique_pairs(rep.src - n, rep.dst, n)
    off_p, off_e = unique_pairs(off.src - n, off.dst, n)
    lead_p, lead_e = unique_pairs(np.concatenate([rep_p, off_p]), np.concatenate([rep_e, off_e]), n)

    bad = ctx.bad.astype(float)
    led = count_by(lead_p, n_persons)
    led_bad = count_by(lead_p, n_persons, bad[lead_e])

    black = black_listed_recently(ctx)
    led_black = count_by(lead_p, n_persons, black[lead_e])

    ties = ctx.ties_firms

    def others(p: np.ndarray, total: np.ndarray, own: np.ndarray | float) -> np.ndarray:
        """What persons ``p`` bring from their other firms: ``total`` over the firms they
        lead minus ``own``, this firm's share; 0 for persons known by name only."""
        return np.where(ties[p], total[p] - own, 0.0)

    # Other firms of a person: everything they lead, minus this enterprise when they lead it.
    people_p, people_e = ctx.person_links
    lead_keys = lead_p * n + lead_e
    leads_this = np.isin(people_p * n + people_e, lead_keys, assume_unique=True)
    other_black = others(people_p, led_black, np.where(leads_this, black[people_e], 0.0))

    return {
        "legal_rep_other_firms": max_by(rep_e, others(rep_p, led, 1.0), n, empty=0.0),
        "legal_rep_other_firms_bad": max_by(
            rep_e, others(rep_p, led_bad, bad[rep_e]), n, empty=0.0
        ),
        "officers": count_by(off_e, n),
        "officers_other_firms": count_by(off_e, n, others(off_p, led, 1.0)),
        "officers_other_firms_bad": count_by(off_e, n, others(off_p, led_bad, bad[off_e])),
        "people_black_listed_3y": count_by(people_e, n, (other_black > 0).astype(float)),
    }
