"""Regulators' records of the demo city (stage 6).

Abnormal list, black list, dishonest debtors and penalties at base hazards per firm and
kind, then contagion along shared people, shareholders and guarantees; abnormal listings
escalate to the black list; commitments are broken and inspections find problems more
often at risky firms, and inspections follow bad records.
"""

from __future__ import annotations

import math

import numpy as np

from loaders.generator.common import (
    FOREVER,
    Rows,
    Span,
    add_months,
    calendar_years,
    first_of_group,
    keep_first,
    null_after,
    probabilities,
    uniform_days,
)
from loaders.generator.enterprises import DISTRICTS, FOREIGN, SECTIONS, Firms
from loaders.generator.holdings import PERSON
from loaders.generator.knobs import Knobs

ABNORMAL_REASONS = (
    "no_annual_report",
    "failure_to_disclose",
    "false_disclosure",
    "unreachable_address",
)
BLACK_REASONS = (
    "列入经营异常名录届满3年仍未履行相关义务",
    "提交虚假材料或者采取其他欺诈手段隐瞒重要事实取得登记",
    "因严重违法行为被吊销营业执照",
    "拒不履行生效行政处罚决定",
    "严重危害人民群众生命健康安全",
)
SEVERITIES = ("minor", "general", "severe")
SECTORS = ("general", "food", "drugs", "special_equipment")
# Authorities deciding penalties besides the district market regulators.
OTHER_AUTHORITIES: tuple[tuple[str, str], ...] = (
    ("宁波市生态环境局", "甬环罚"),
    ("国家税务总局宁波市税务局", "甬税罚"),
    ("宁波市应急管理局", "甬应急罚"),
    ("宁波市消防救援支队", "甬消行罚"),
    ("宁波市交通运输局", "甬交罚"),
    ("宁波市住房和城乡建设局", "甬建罚"),
)
COMMITMENT_AUTHORITIES: tuple[tuple[str, str], ...] = (
    ("宁波市市场监督管理局", "甬市监诺"),
    ("国家税务总局宁波市税务局", "甬税诺"),
    ("宁波市商务局", "甬商诺"),
    ("宁波市住房和城乡建设局", "甬建诺"),
)
INSPECTION_ITEMS = (
    "登记事项的检查",
    "年度报告公示信息的检查",
    "营业执照规范使用情况的检查",
    "产品质量的检查",
    "食品安全的检查",
    "广告发布行为的检查",
    "计量器具的检查",
    "价格行为的检查",
)
FINDINGS = ("no_problem", "problem_found", "not_found_at_address", "refused")

# Bad-record kinds that take part in contagion.
_ABNORMAL, _BLACK, _DEBTOR, _PENALTY = range(4)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` over pairs, without a Python loop."""
    counts = counts.astype(np.int64)
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    return np.repeat(starts.astype(np.int64) - (ends - counts), counts) + np.arange(total)


def _links(
    n: int, n_people: int, holdings: Rows, reps: Rows, officers: Rows, guar: Rows
) -> tuple[np.ndarray, ...]:
    """Firms related through a shared person, shareholder or guarantee, as two CSR maps.

    A link ("connector") is a person, a holding company (with the firms it holds) or one
    guarantee; firms sharing a connector are related. Returns the connectors of each
    firm and the firms of each connector, so that spreading a record never builds the
    quadratic list of related pairs.
    """
    is_person = holdings["kind"] == PERSON
    corp = ~is_person
    g = np.arange(len(guar["guarantor"]))
    con = np.concatenate(
        [
            reps["person"],
            officers["person"],
            holdings["holder"][is_person],
            n_people + holdings["holder"][corp],
            n_people + holdings["holder"][corp],
            n_people + n + g,
            n_people + n + g,
        ]
    )
    firm = np.concatenate(
        [
            reps["firm"],
            officers["firm"],
            holdings["firm"][is_person],
            holdings["holder"][corp],
            holdings["firm"][corp],
            guar["guarantor"],
            guar["guaranteed"],
        ]
    )
    con, firm = np.divmod(np.unique(con * n + firm), n)
    size = np.bincount(con)
    keep = size[con] >= 2
    con, firm = con[keep], firm[keep]
    con = np.cumsum(first_of_group(con)) - 1
    c_size = np.bincount(con)
    c_ptr = np.concatenate([[0], np.cumsum(c_size)])
    order = np.argsort(firm, kind="stable")
    f_ptr = np.concatenate([[0], np.cumsum(np.bincount(firm, minlength=n))])
    return f_ptr, con[order], c_ptr, firm, c_size


def _spread(
    rng: np.random.Generator,
    links: tuple[np.ndarray, ...],
    src: np.ndarray,
    day: np.ndarray,
    k: Knobs,
) -> tuple[np.ndarray, np.ndarray]:
    """Records caused by records: each related firm may get one some months later.

    A connector shared by many firms passes a record on at most ``contagion_hub`` times
    on average, so that a boss of fifty firms does not list them all at once.
    """
    f_ptr, f_con, c_ptr, c_firm, c_size = links
    n_con = f_ptr[src + 1] - f_ptr[src]
    event = np.repeat(np.arange(len(src)), n_con)
    con = f_con[_ranges(f_ptr[src], n_con)]
    size = c_size[con]
    event = np.repeat(event, size)
    width = np.repeat(size, size)
    other = c_firm[_ranges(c_ptr[con], size)]
    chance = k.contagion * np.minimum(1.0, k.contagion_hub / (width - 1))
    hit = (other != src[event]) & (rng.random(len(other)) < chance)
    later = 15 + np.floor(rng.exponential(k.contagion_delay_days, int(hit.sum())))
    return other[hit], day[event[hit]] + later.astype(np.int64)


def _jan_first(years: np.ndarray) -> np.ndarray:
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


# long: one stage of the city: its random draws must stay in this order for a seed to
# give the same city, and its steps share the stage's arrays; split, they would be passed
# from function to function instead of read in sequence.
def draw_records(
    rng: np.random.Generator,
    f: Firms,
    span: Span,
    k: Knobs,
    n_people: int,
    holdings: Rows,
    reps: Rows,
    officers: Rows,
    guar: Rows,
) -> dict[str, Rows]:
    """The regulators' records by kind: ``abnormal_list``, ``black_list``,
    ``dishonest_debtor``, ``penalty``, ``commitment`` and ``inspection``."""
    n = f.n
    dom = f.kind != FOREIGN
    # Records fall inside the period and the firm's life; foreign firms get none.
    lo = np.where(dom, np.maximum(f.est, span.t0), FOREVER)
    hi = np.minimum(f.dereg, span.t1)
    years = np.where(lo <= hi, (hi - lo + 1) / 365.25, 0.0)
    risk = rng.lognormal(-(k.risk_sigma**2) / 2, k.risk_sigma, n)
    risk *= np.where(f.agent >= 0, k.agent_risk, 1.0)

    # Bad records of the firms' own making, at a base rate per kind scaled by their risk.
    firm, day, kind = [], [], []
    for which, rate in enumerate(k.base_rates):
        got = np.repeat(np.arange(n), rng.poisson(rate * risk * years))
        firm.append(got)
        day.append(uniform_days(rng, lo[got], hi[got]))
        kind.append(np.full(len(got), which))
    # A defaulted guarantee brings a judgment against the borrower, sometimes the guarantor.
    gone = np.flatnonzero(guar["defaulted"] < FOREVER)
    for side, chance, delay in (
        ("guaranteed", k.debtor_after_default[0], (60, 400)),
        ("guarantor", k.debtor_after_default[1], (90, 500)),
    ):
        hit = gone[rng.random(len(gone)) < chance]
        got = guar[side][hit]
        when = guar["defaulted"][hit] + rng.integers(delay[0], delay[1], len(hit))
        ok = (when >= lo[got]) & (when <= hi[got])
        firm.append(got[ok])
        day.append(when[ok])
        kind.append(np.full(int(ok.sum()), _DEBTOR))

    # Contagion, generation by generation, along shared people, shareholders and guarantees.
    links = _links(n, n_people, holdings, reps, officers, guar)
    src, src_day = np.concatenate(firm), np.concatenate(day)
    for _ in range(k.contagion_generations):
        got, when = _spread(rng, links, src, src_day, k)
        ok = (when >= lo[got]) & (when <= hi[got])
        src, src_day = got[ok], when[ok]
        if not len(src):
            break
        firm.append(src)
        day.append(src_day)
        kind.append(rng.choice(4, len(src), p=probabilities(k.contagion_kinds)))
    firm_all, day_all, kind_all = np.concatenate(firm), np.concatenate(day), np.concatenate(kind)

    out: dict[str, Rows] = {}
    abnormal, escalated = _abnormal(
        rng, f, span, k, lo, hi, firm_all[kind_all == _ABNORMAL], day_all[kind_all == _ABNORMAL]
    )
    out["abnormal_list"] = abnormal
    out["black_list"] = _black(
        rng, span, firm_all[kind_all == _BLACK], day_all[kind_all == _BLACK], *escalated
    )
    out["dishonest_debtor"] = _debtors(
        rng, span, firm_all[kind_all == _DEBTOR], day_all[kind_all == _DEBTOR]
    )
    out["penalty"] = _penalties(
        rng, f, span, firm_all[kind_all == _PENALTY], day_all[kind_all == _PENALTY]
    )

    # Commitments are broken, and inspections find problems, more often at risky firms and
    # firms already on record; inspections follow bad records (问题企业 drawn again).
    first_bad = np.full(n, FOREVER, dtype=np.int64)
    for rows in out.values():
        np.minimum.at(first_bad, rows["firm"], rows["start"])
    bad = first_bad < FOREVER
    got = np.repeat(np.arange(n), rng.poisson(k.commitments_per_year * years))
    when = uniform_days(rng, lo[got], hi[got])
    broken = np.minimum(0.5, k.broken_commitment * risk[got] * np.where(bad[got], 3.0, 1.0))
    u = rng.random(len(got))
    kept = np.where(u < broken, 0, np.where(rng.random(len(got)) < 0.3, -1, 1))
    out["commitment"] = {
        "firm": got,
        "start": when,
        "end": np.full(len(got), FOREVER, dtype=np.int64),
        "kept": kept,
        "authority": rng.integers(0, len(COMMITMENT_AUTHORITIES), len(got)),
    }

    routine = np.repeat(np.arange(n), rng.poisson(k.inspections_per_year * years))
    r_day = uniform_days(rng, lo[routine], hi[routine])
    follow = np.repeat(np.flatnonzero(bad), rng.poisson(k.follow_up_inspections, int(bad.sum())))
    f_day = first_bad[follow] + rng.integers(30, 365, len(follow))
    ok = f_day <= hi[follow]
    got = np.concatenate([routine, follow[ok]])
    when = np.concatenate([r_day, f_day[ok]])
    targeted = np.concatenate([np.zeros(len(routine), dtype=bool), np.ones(int(ok.sum()), bool)])
    p_absent = np.where(f.agent[got] >= 0, 0.15, 0.02)
    p_problem = np.minimum(0.5, 0.06 * risk[got] + np.where(targeted, 0.15, 0.0))
    u = rng.random(len(got))
    finding = np.select(
        [u < p_absent, u < p_absent + 0.01, u < p_absent + 0.01 + p_problem], [2, 3, 1], 0
    )
    out["inspection"] = {
        "firm": got,
        "start": when,
        "end": np.full(len(got), FOREVER, dtype=np.int64),
        "finding": finding,
        "item": rng.integers(0, len(INSPECTION_ITEMS), len(got)),
    }
    return out


def _abnormal(
    rng: np.random.Generator,
    f: Firms,
    span: Span,
    k: Knobs,
    lo: np.ndarray,
    hi: np.ndarray,
    firm: np.ndarray,
    day: np.ndarray,
) -> tuple[Rows, tuple[np.ndarray, np.ndarray]]:
    """Abnormal-list entries, and the (firm, day) of those moved to the black list."""
    reason = rng.choice(4, len(firm), p=(0.70, 0.08, 0.04, 0.18))
    # Missed annual reports are listed in the weeks after the 30 June deadline, for firms
    # that existed in the year reported on.
    year = calendar_years(day)
    listed = add_months(_jan_first(year), 6) + rng.integers(0, 45, len(firm))
    annual = reason == 0
    ok = annual & (f.est[firm] < _jan_first(year)) & (listed >= lo[firm]) & (listed <= hi[firm])
    day = np.where(ok, listed, day)
    reason = np.where(annual & ~ok, 3, reason)
    keep = keep_first(firm * 10000 + calendar_years(day), day)
    firm, day, reason = firm[keep], day[keep], reason[keep]
    m = len(firm)
    cured = rng.random(m) < k.abnormal_cure_share
    end = null_after(np.where(cured, day + rng.integers(20, 900, m), FOREVER), span)
    # Still listed after three years: moved to the black list (the entry ends that day).
    moved_on = add_months(day, 36)
    moved = ~cured & (rng.random(m) < k.escalation_share) & (moved_on <= hi[firm])
    end[moved] = moved_on[moved]
    rows = {"firm": firm, "start": day, "end": end, "reason": reason, "region": f.region[firm]}
    return rows, (firm[moved], moved_on[moved])


def _black(
    rng: np.random.Generator,
    span: Span,
    firm: np.ndarray,
    day: np.ndarray,
    moved: np.ndarray,
    moved_on: np.ndarray,
) -> Rows:
    reason = np.concatenate(
        [rng.integers(1, len(BLACK_REASONS), len(firm)), np.zeros(len(moved), dtype=np.int64)]
    )
    firm, day = np.concatenate([firm, moved]), np.concatenate([day, moved_on])
    keep = keep_first(firm * 10000 + calendar_years(day), day)
    firm, day, reason = firm[keep], day[keep], reason[keep]
    # Three years on the list; some leave early on application after one year.
    early = rng.random(len(firm)) < 0.15
    end = np.where(
        early, add_months(day, 12) + rng.integers(0, 365, len(firm)), add_months(day, 36)
    )
    return {"firm": firm, "start": day, "end": null_after(end, span), "reason": reason}


def _debtors(rng: np.random.Generator, span: Span, firm: np.ndarray, day: np.ndarray) -> Rows:
    m = len(firm)
    # Two years, extended by one to three for some; removed early once the judgment is paid.
    extend = np.where(rng.random(m) < 0.15, 12 * rng.integers(1, 4, m), 0)
    natural = add_months(day, 24 + extend)
    paid = np.minimum(day + rng.integers(30, 700, m), natural)
    end = np.where(rng.random(m) < 0.4, paid, natural)
    amount = np.round(rng.lognormal(math.log(3e5), 1.2, m), 2)
    return {"firm": firm, "start": day, "end": null_after(end, span), "amount": amount}


def _penalties(
    rng: np.random.Generator, f: Firms, span: Span, firm: np.ndarray, day: np.ndarray
) -> Rows:
    m = len(firm)
    severity = rng.choice(3, m, p=(0.55, 0.38, 0.07))
    letters = np.array([s[0] for s in SECTIONS])[f.industry[firm]]
    u = rng.random(m)
    sector = np.select(
        [
            (letters == "H") & (u < 0.6),
            (letters == "Q") & (u < 0.4),
            (letters == "C") & (u < 0.08),
            (letters == "C") & (u < 0.12),
            (letters == "F") & (u < 0.08),
            (letters == "F") & (u < 0.10),
        ],
        [1, 2, 3, 1, 1, 2],
        0,
    )
    # Market regulators decide most penalties and all sector ones; other bureaus the rest.
    other = rng.integers(0, len(OTHER_AUTHORITIES), m)
    authority = np.where(
        (sector > 0) | (rng.random(m) < 0.6), f.region[firm], len(DISTRICTS) + other
    )
    fine = np.select(
        [severity == 0, severity == 1],
        [
            np.where(rng.random(m) < 0.4, 0.0, np.round(rng.uniform(500, 5000, m), -2)),
            np.round(rng.lognormal(math.log(2e4), 1.0, m), -2),
        ],
        np.round(rng.lognormal(math.log(2e5), 1.2, m), -2),
    )
    # Publicity: 3 months for minor penalties, 3 years otherwise; repair possible after
    # 6 months (a year for food, drugs and special equipment).
    natural = add_months(day, np.where(severity == 0, 3, 36))
    wait = np.where(sector > 0, 12, 6)
    repaired = (severity > 0) & (rng.random(m) < 0.10)
    repair_day = add_months(day, wait) + rng.integers(0, 180, m)
    end = np.where(repaired, np.minimum(repair_day, natural), natural)
    return {
        "firm": firm,
        "start": day,
        "end": null_after(end, span),
        "severity": severity,
        "sector": sector,
        "authority": authority,
        "amount": fine,
    }
