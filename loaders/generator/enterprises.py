"""The enterprises of the demo city (stage 1) and the places and industries they have.

:func:`draw_firms` draws each firm's kind, district, industry, registered capital,
establishment, deregistration or revocation, and the agents' addresses (集中登记地) that
host many small firms; the foreign shareholders come last. Its :class:`Firms` holds the
working columns that the later stages fill in (groups, legal representatives).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from loaders.generator.common import EPOCH, FOREVER, Span, probabilities, uniform_days
from loaders.generator.knobs import Knobs

COMPANY, INDIVIDUAL, FOREIGN = 0, 1, 2

STATUS = ("active", "suspended", "revoked", "deregistered", "moved_out")
ACTIVE, SUSPENDED, REVOKED, DEREGISTERED, MOVED_OUT = range(5)

# Ningbo's districts and county-level cities: code, name in authority names, prefix of
# company names, abbreviation in document numbers, share of firms.
DISTRICTS: tuple[tuple[str, str, str, str, float], ...] = (
    ("330203", "宁波市海曙区", "宁波", "甬海", 0.12),
    ("330205", "宁波市江北区", "宁波", "甬江", 0.07),
    ("330206", "宁波市北仑区", "宁波", "甬仑", 0.12),
    ("330211", "宁波市镇海区", "宁波", "甬镇", 0.06),
    ("330212", "宁波市鄞州区", "宁波", "甬鄞", 0.20),
    ("330213", "宁波市奉化区", "宁波", "甬奉", 0.06),
    ("330225", "象山县", "象山县", "象", 0.05),
    ("330226", "宁海县", "宁海县", "宁海", 0.05),
    ("330281", "余姚市", "余姚市", "余", 0.12),
    ("330282", "慈溪市", "慈溪市", "慈", 0.15),
)

# GB/T 4754-2017 sections with a rough Ningbo mix (manufacturing and trade dominate)
# and the words that end the names of firms in them.
SECTIONS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("A", 0.010, ("农业发展", "生态农业", "水产养殖")),
    ("B", 0.001, ("矿业",)),
    (
        "C",
        0.250,
        (
            "机械",
            "电器",
            "塑业",
            "模具",
            "五金",
            "纺织",
            "服饰",
            "汽车部件",
            "新材料",
            "电子",
            "轴承",
            "文具",
        ),
    ),
    ("D", 0.004, ("新能源", "热力")),
    ("E", 0.050, ("建设工程", "建筑装饰", "市政工程")),
    ("F", 0.340, ("贸易", "商贸", "进出口", "国际贸易", "供应链管理", "电子商务")),
    ("G", 0.050, ("物流", "国际货运代理", "运输")),
    ("H", 0.040, ("餐饮管理", "酒店管理")),
    ("I", 0.050, ("网络科技", "信息技术", "软件")),
    ("J", 0.010, ("投资管理", "资产管理")),
    ("K", 0.020, ("房地产开发", "置业")),
    ("L", 0.080, ("企业管理咨询", "商务信息咨询", "人力资源")),
    ("M", 0.040, ("科技", "检测技术", "工程设计")),
    ("N", 0.005, ("环境工程", "园林绿化")),
    ("O", 0.030, ("家政服务", "汽车服务")),
    ("P", 0.010, ("教育科技", "培训")),
    ("Q", 0.005, ("健康管理", "医疗科技")),
    ("R", 0.010, ("文化传媒", "体育发展")),
    ("S", 0.000, ("服务",)),
    ("T", 0.000, ("服务",)),
)
_SHELL_SECTIONS = ("F", "L", "I")

# Home countries of foreign shareholders and the endings of their names.
COUNTRIES: tuple[tuple[str, float, str], ...] = (
    ("HK", 0.55, " (Hong Kong) Limited"),
    ("VG", 0.15, " International Ltd."),
    ("SG", 0.08, " Pte. Ltd."),
    ("KY", 0.05, " Holdings Ltd."),
    ("US", 0.05, " Inc."),
    ("JP", 0.04, " Co., Ltd."),
    ("KR", 0.03, " Co., Ltd."),
    ("DE", 0.03, " GmbH"),
    ("GB", 0.02, " Limited"),
)


@dataclass
class Firms:
    """Working columns of the enterprises; foreign ones last."""

    kind: np.ndarray  # COMPANY, INDIVIDUAL or FOREIGN
    region: np.ndarray  # index into DISTRICTS, -1 for foreign firms
    industry: np.ndarray  # index into SECTIONS, -1 for foreign firms
    capital: np.ndarray  # CNY, NaN when unknown
    est: np.ndarray  # establishment day, -FOREVER when unknown
    dereg: np.ndarray  # deregistration day, FOREVER while the firm exists
    status: np.ndarray  # index into STATUS, -1 when unknown
    agent: np.ndarray  # agent address hosting the firm, -1 if none
    n_agents: int
    agent_region: np.ndarray  # district of each agent address
    group: np.ndarray  # holding group, -1 if none
    depth: np.ndarray  # level in the group tree (0 at the top), -1 outside groups
    is_top: np.ndarray  # top company of its group
    country: np.ndarray  # index into COUNTRIES, -1 for domestic firms
    rep0: np.ndarray  # founding legal representative (person number), -1 if none
    alt_rep: np.ndarray  # a plausible successor as legal representative, -1 if none

    @property
    def n(self) -> int:
        return len(self.kind)

    @property
    def n_dom(self) -> int:
        return int(np.count_nonzero(self.kind != FOREIGN))


def draw_firms(rng: np.random.Generator, n: int, span: Span, k: Knobs) -> Firms:
    """The enterprises, foreign shareholders last; later stages fill in groups and legal reps."""
    n_for = max(1, round(n * k.foreign_share))
    n_dom = n - n_for
    kind = np.full(n, FOREIGN, dtype=np.int8)
    kind[:n_dom] = np.where(rng.random(n_dom) < k.individual_share, INDIVIDUAL, COMPANY)
    region = np.full(n, -1, dtype=np.int64)
    region[:n_dom] = rng.choice(len(DISTRICTS), n_dom, p=probabilities(d[4] for d in DISTRICTS))
    industry = np.full(n, -1, dtype=np.int64)
    industry[:n_dom] = rng.choice(len(SECTIONS), n_dom, p=probabilities(s[1] for s in SECTIONS))

    # Agents' addresses: a Zipf-like few host most of the firms registered at agents, all
    # in the agent's district and mostly in trade, business services or IT (shells).
    n_agents = max(3, n_dom // k.enterprises_per_agent)
    agent = np.full(n, -1, dtype=np.int64)
    at_agent = np.flatnonzero(rng.random(n_dom) < k.agent_share)
    weights = 1.0 / np.arange(1, n_agents + 1) ** k.agent_concentration
    agent[at_agent] = rng.choice(n_agents, len(at_agent), p=weights / weights.sum())
    agent_region = rng.choice(len(DISTRICTS), n_agents, p=probabilities(d[4] for d in DISTRICTS))
    region[at_agent] = agent_region[agent[at_agent]]
    shells = at_agent[rng.random(len(at_agent)) < 0.6]
    letters = [s[0] for s in SECTIONS]
    shell_idx = np.array([letters.index(s) for s in _SHELL_SECTIONS])
    industry[shells] = shell_idx[rng.integers(0, len(shell_idx), len(shells))]

    # Establishment: some inside the period, the rest before it with younger firms more common.
    est = np.full(n, -FOREVER, dtype=np.int64)
    inside = rng.random(n_dom) < k.established_inside_share
    est_in = span.t0 + np.floor(rng.random(n_dom) * (span.t1 - span.t0 - 90)).astype(np.int64)
    age = np.floor(rng.exponential(k.age_scale_years * 365.25, n_dom)).astype(np.int64)
    est_out = np.maximum(span.t0 - 1 - age, (date(1990, 1, 1) - EPOCH).days)
    est[:n_dom] = np.where(inside, est_in, est_out)

    # Deregistrations and revocations happen inside the period, at least half a year after
    # establishment; a few firms are suspended or have moved out (no date for those).
    dereg = np.full(n, FOREVER, dtype=np.int64)
    status = np.full(n, -1, dtype=np.int64)
    status[:n_dom] = ACTIVE
    share = np.where(kind[:n_dom] == INDIVIDUAL, k.individual_dereg_share, k.company_dereg_share)
    lo = np.maximum(est[:n_dom] + 180, span.t0)
    gone = (rng.random(n_dom) < share) & (lo < span.t1)
    dereg[:n_dom][gone] = uniform_days(rng, lo[gone], np.full(int(gone.sum()), span.t1 - 1))
    status[:n_dom][gone] = np.where(
        rng.random(int(gone.sum())) < k.revoked_share, REVOKED, DEREGISTERED
    )
    other = rng.random(n_dom)
    status[:n_dom][~gone & (other < 0.01)] = SUSPENDED
    status[:n_dom][~gone & (other > 0.99)] = MOVED_OUT

    capital = np.full(n, np.nan)
    comp = rng.lognormal(math.log(1e6), 1.2, n_dom)
    indiv = rng.lognormal(math.log(5e4), 0.8, n_dom)
    capital[:n_dom] = np.where(
        kind[:n_dom] == INDIVIDUAL,
        np.maximum(np.round(indiv / 1e3) * 1e3, 1e3),
        np.maximum(np.round(comp / 1e4) * 1e4, 1e4),
    )
    country = np.full(n, -1, dtype=np.int64)
    country[n_dom:] = rng.choice(len(COUNTRIES), n_for, p=probabilities(c[1] for c in COUNTRIES))
    return Firms(
        kind=kind,
        region=region,
        industry=industry,
        capital=capital,
        est=est,
        dereg=dereg,
        status=status,
        agent=agent,
        n_agents=n_agents,
        agent_region=agent_region,
        group=np.full(n, -1, dtype=np.int64),
        depth=np.full(n, -1, dtype=np.int64),
        is_top=np.zeros(n, dtype=bool),
        country=country,
        rep0=np.full(n, -1, dtype=np.int64),
        alt_rep=np.full(n, -1, dtype=np.int64),
    )
