"""What registries and courts add to the demo city (stage 7).

Paid-in capital, branches, guarantees published with unknown parts, lawsuits and
enforcements (every dishonest debtor was sued and enforced against first), serious tax
violations and status events (bankruptcy, deregistration, revocation). The stage draws
from a random stream of its own, so that the stages before it draw as they did before
it existed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from loaders.generator.common import (
    FOREVER,
    Rows,
    Span,
    add_months,
    concat_rows,
    keep_first,
    null_after,
    take_rows,
    uniform_days,
)
from loaders.generator.enterprises import COMPANY, DEREGISTERED, FOREIGN, REVOKED, Firms
from loaders.generator.knobs import Knobs

CAUSES = (
    "买卖合同纠纷",
    "借款合同纠纷",
    "金融借款合同纠纷",
    "劳动争议",
    "房屋租赁合同纠纷",
    "建设工程施工合同纠纷",
    "承揽合同纠纷",
    "服务合同纠纷",
)
_DEBT_CAUSES = (1, 2)  # the suits behind an unpaid judgment are about loans
LAWSUIT_ROLES = ("plaintiff", "defendant", "third_party")
_PLAINTIFF, _DEFENDANT, _THIRD_PARTY = range(3)
TAX_REASONS = ("偷税", "虚开增值税专用发票", "逃避追缴欠税", "骗取出口退税")
STATUS_EVENTS = ("bankruptcy", "deregistration", "revocation")
BANKRUPTCY, DEREGISTRATION, REVOCATION = range(3)
REVOCATION_REASONS = (
    "成立后无正当理由超过6个月未开业",
    "开业后自行停业连续6个月以上",
    "被列入严重违法失信名单",
)
_HEAD_OFFICE_CAPITAL = 5e6


@dataclass(frozen=True)
class Extras:
    """What registries and court sources add to the city."""

    paid_in: np.ndarray  # paid-in share of the registered capital per firm, NaN when unknown
    branches: Rows  # head, branch, from, to
    blank_contract: np.ndarray  # guarantees published without contract number
    blank_amount: np.ndarray  # ... without amount
    blank_start: np.ndarray  # ... without start
    records: dict[str, Rows]  # lawsuit, enforcement, tax_violation, status_event


def draw_extras(
    rng: np.random.Generator,
    f: Firms,
    span: Span,
    k: Knobs,
    guar: Rows,
    records: dict[str, Rows],
) -> Extras:
    """Paid-in capital, branches, guarantees with unknown parts, court records, tax violations
    and status events. Troubled firms (dishonest debtors, defaulted borrowers) are sued,
    enforced against and fail more; firms at agents' addresses commit tax fraud more."""
    n = f.n
    dom = f.kind != FOREIGN
    lo = np.where(dom, np.maximum(f.est, span.t0), FOREVER)
    hi = np.minimum(f.dereg, span.t1)
    years = np.where(lo <= hi, (hi - lo + 1) / 365.25, 0.0)

    u = rng.random(n)
    ratio = np.where(
        u < k.paid_in_mix[0],
        1.0,
        np.where(u < sum(k.paid_in_mix), 0.0, np.round(rng.uniform(0.1, 0.9, n), 2)),
    )
    paid_in = np.where((f.kind == COMPANY) & (rng.random(n) < k.paid_in_known), ratio, np.nan)

    # Branches: bigger independent companies open 1-4 branches among the other independent
    # companies founded after them; a branch closes when either end is deregistered.
    independent = (f.kind == COMPANY) & (f.group < 0) & (f.agent < 0)
    big = independent & (f.capital >= _HEAD_OFFICE_CAPITAL)
    heads = np.flatnonzero(big & (rng.random(n) < k.head_office_share))
    per_head = 1 + rng.poisson(k.branches_per_head, len(heads))
    pool = rng.permutation(np.flatnonzero(independent & ~np.isin(np.arange(n), heads)))
    total = min(int(per_head.sum()), len(pool))
    head = np.repeat(heads, per_head)[:total]
    branch = pool[:total]
    start = np.maximum(f.est[branch], f.est[head])
    end = np.minimum(f.dereg[branch], f.dereg[head])
    keep = (start < end) & (start <= span.t1)
    branches = {
        "head": head[keep],
        "branch": branch[keep],
        "from": start[keep],
        "to": np.where(end[keep] <= span.t1, end[keep], FOREVER),
    }

    m = len(guar["guarantor"])
    blank_amount = rng.random(m) < k.guarantee_unknowns[1]
    blank_start = rng.random(m) < k.guarantee_unknowns[2]
    blank_contract = (rng.random(m) < k.guarantee_unknowns[0]) & ~blank_amount & ~blank_start
    # Without a contract number a guarantee is keyed by its parties, start, amount and
    # currency: keep only rows that these tell apart.
    fields = [guar[c] for c in ("guarantor", "guaranteed", "from", "amount", "currency")]
    _, first, counts = np.unique(np.rec.fromarrays(fields), return_index=True, return_counts=True)
    unique = np.zeros(m, dtype=bool)
    unique[first[counts == 1]] = True
    blank_contract &= unique

    trouble = np.full(n, FOREVER, dtype=np.int64)
    debt = records["dishonest_debtor"]
    np.minimum.at(trouble, debt["firm"], debt["start"])
    gone = guar["defaulted"] < FOREVER
    np.minimum.at(trouble, guar["guaranteed"][gone], guar["defaulted"][gone])
    lawsuit, enforcement = _court_records(rng, f, span, k, lo, hi, years, debt)
    return Extras(
        paid_in=paid_in,
        branches=branches,
        blank_contract=blank_contract,
        blank_amount=blank_amount,
        blank_start=blank_start,
        records={
            "lawsuit": lawsuit,
            "enforcement": enforcement,
            "tax_violation": _tax_violations(rng, f, span, k, lo, hi, years, trouble),
            "status_event": _status_events(rng, f, span, k, lo, hi, trouble),
        },
    )


def _court_records(
    rng: np.random.Generator,
    f: Firms,
    span: Span,
    k: Knobs,
    lo: np.ndarray,
    hi: np.ndarray,
    years: np.ndarray,
    debt: Rows,
) -> tuple[Rows, Rows]:
    """Lawsuits (one row per party on file, sharing the case number) and enforcements: every
    dishonest debtor was sued and enforced against first; some other lost suits go to
    enforcement too."""
    n = f.n
    got = np.repeat(np.arange(n), rng.poisson(k.lawsuits_per_year * years))
    day = uniform_days(rng, lo[got], hi[got])
    role = rng.choice(3, len(got), p=(0.45, 0.45, 0.10))
    amount = np.round(rng.lognormal(math.log(2e5), 1.3, len(got)), -2)
    cause = rng.integers(0, len(CAUSES), len(got))
    d_firm, d_day = debt["firm"], debt["start"]
    sued = d_day - rng.integers(180, 540, len(d_firm))
    ok = sued >= lo[d_firm]
    firm = np.concatenate([got, d_firm[ok]])
    day = np.concatenate([day, sued[ok]])
    role = np.concatenate([role, np.full(int(ok.sum()), _DEFENDANT)])
    share = rng.uniform(0.8, 1.0, int(ok.sum()))
    amount = np.concatenate([amount, np.round(debt["amount"][ok] * share, -2)])
    cause = np.concatenate([cause, rng.choice(_DEBT_CAUSES, int(ok.sum()))])
    amount[rng.random(len(amount)) < 0.15] = np.nan  # not published, or not a money claim
    case = {
        "firm": firm,
        "start": day,
        "end": np.full(len(firm), FOREVER, dtype=np.int64),
        "role": role,
        "amount": amount,
        "cause": cause,
        "court": f.region[firm],
        "case": np.arange(len(firm)),  # the parties of one case share its number
    }
    # The other party, when it is a firm of the city alive that day.
    other = rng.integers(0, n, len(firm))
    has = (
        (rng.random(len(firm)) < k.lawsuit_counterpart)
        & (role != _THIRD_PARTY)
        & (other != firm)
        & (lo[other] <= day)
        & (day <= hi[other])
    )
    counterpart = take_rows(case, np.flatnonzero(has))
    counterpart["firm"] = other[has]
    counterpart["role"] = np.where(role[has] == _DEFENDANT, _PLAINTIFF, _DEFENDANT)
    lawsuit = concat_rows([case, counterpart])

    # Enforcement: before every dishonest-debtor listing, and after some lost suits.
    before = d_day - rng.integers(30, 150, len(d_firm))
    ok = before >= lo[d_firm]
    lost = np.flatnonzero(
        (lawsuit["role"] == _DEFENDANT)
        & (rng.random(len(lawsuit["firm"])) < k.enforcement_after_suit)
    )
    after = lawsuit["start"][lost] + rng.integers(150, 420, len(lost))
    e_firm = lawsuit["firm"][lost]
    ok_after = after <= hi[e_firm]
    closed = after + rng.integers(60, 500, len(lost))
    e_end = np.where(rng.random(len(lost)) < 0.55, closed, FOREVER)
    firm = np.concatenate([d_firm[ok], e_firm[ok_after]])
    start = np.concatenate([before[ok], after[ok_after]])
    end = np.concatenate([debt["end"][ok], e_end[ok_after]])
    amount = np.concatenate([debt["amount"][ok], lawsuit["amount"][lost][ok_after]])
    amount[rng.random(len(amount)) < 0.05] = np.nan
    enforcement = {
        "firm": firm,
        "start": start,
        "end": null_after(end, span),
        "amount": amount,
    }
    return lawsuit, enforcement


def _tax_violations(
    rng: np.random.Generator,
    f: Firms,
    span: Span,
    k: Knobs,
    lo: np.ndarray,
    hi: np.ndarray,
    years: np.ndarray,
    trouble: np.ndarray,
) -> Rows:
    """Serious tax violations: published three years, a quarter removed early once paid."""
    rate = k.tax_violation_rate * np.where(f.agent >= 0, 6.0, 1.0)
    rate = rate * np.where(trouble < FOREVER, 3.0, 1.0)
    got = np.repeat(np.arange(f.n), rng.poisson(rate * years))
    day = uniform_days(rng, lo[got], hi[got])
    keep = keep_first(got, day)
    got, day = got[keep], day[keep]
    m = len(got)
    natural = add_months(day, 36)
    paid = add_months(day, rng.integers(6, 24, m))
    end = np.where(rng.random(m) < 0.25, paid, natural)
    return {
        "firm": got,
        "start": day,
        "end": null_after(end, span),
        "reason": rng.integers(0, len(TAX_REASONS), m),
        "amount": np.round(rng.lognormal(math.log(5e5), 1.2, m), -2),
    }


def _status_events(
    rng: np.random.Generator,
    f: Firms,
    span: Span,
    k: Knobs,
    lo: np.ndarray,
    hi: np.ndarray,
    trouble: np.ndarray,
) -> Rows:
    """Revocations and deregistrations on the day a firm ends inside the period, and
    bankruptcies of some troubled firms a few months to two years into their trouble."""
    ended = (f.dereg >= span.t0) & (f.dereg <= span.t1) & (f.kind != FOREIGN)
    revoked = np.flatnonzero(ended & (f.status == REVOKED))
    dereg = np.flatnonzero(ended & (f.status == DEREGISTERED))
    troubled = np.flatnonzero(trouble < FOREVER)
    failing = troubled[rng.random(len(troubled)) < k.bankruptcy_after_trouble]
    when = trouble[failing] + rng.integers(90, 720, len(failing))
    ok = (when >= lo[failing]) & (when <= hi[failing])
    firm = np.concatenate([failing[ok], dereg, revoked])
    event = np.concatenate(
        [
            np.full(int(ok.sum()), BANKRUPTCY),
            np.full(len(dereg), DEREGISTRATION),
            np.full(len(revoked), REVOCATION),
        ]
    )
    return {
        "firm": firm,
        "start": np.concatenate([when[ok], f.dereg[dereg], f.dereg[revoked]]),
        "end": np.full(len(firm), FOREVER, dtype=np.int64),
        "event": event,
        "reason": np.where(
            event == REVOCATION, rng.integers(0, len(REVOCATION_REASONS), len(firm)), -1
        ),
    }
