"""Synthetic demo city: a seeded, entirely invented register of Ningbo-like enterprises.

:func:`generate_city` writes one file per table of the data contract
(``graph_model/domain.yaml``): enterprises, persons, every relation file and every
record file, as Parquet or CSV. Nothing in them describes a real enterprise or
person; the codes pass the USCC and ID-number checks only so that the loaders accept
them. ``docs/demo-data.md`` describes the city and its knobs.

The city is drawn in stages, each from its own random stream spawned from the seed,
so that changing one stage does not reshuffle the others:

1. enterprises: kind, district, industry, capital, establishment, deregistration and
   the agents' addresses (集中登记地) that host many small firms;
2. holding groups: trees of up to six levels under a boss, with cross-holdings that
   close ownership cycles and a small pool of people who run every member;
3. independent firms: person shareholders with a heavy tail of serial entrepreneurs,
   nominee legal representatives at agents' addresses, foreign investors;
4. history: shares sold and re-bought, legal representatives and officers replaced,
   relations closed when a firm is deregistered;
5. guarantees: circles, mutual pairs, chains, group-internal and single guarantees,
   with defaults that hit circles hardest;
6. records: base hazards per firm and kind, then contagion along shared people,
   shareholders and guarantees, the abnormal list escalating to the black list,
   commitments and inspections that look at risky firms more often;
7. what registries and courts add: paid-in capital, branches, guarantees published with
   unknown parts, lawsuits and enforcements (dishonest debtors were sued and enforced
   against first), serious tax violations, and status events (bankruptcy, deregistration,
   revocation), from a stream of its own so the stages above draw as before;
8. contact data, names, identifiers, and the files.

Every stage works on whole NumPy columns; Python loops run over stages, contagion
generations or positions in a group tree, never over rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graph_model.domain import FieldSpec, load_domain
from graph_model.identifiers import (
    USCC_ALPHABET,
    resident_id_check_char_array,
    uscc_check_char_array,
)

MIN_ENTERPRISES = 100
"""Smallest city :func:`generate_city` draws; below it the structures do not fit."""

# Day numbers (days since 1970-01-01) stand for dates; this one stands for "no date":
# an open end, a firm that still exists, an unknown start (negated).
_FOREVER = 1_000_000_000
_EPOCH = date(1970, 1, 1)

_COMPANY, _INDIVIDUAL, _FOREIGN = 0, 1, 2
_PERSON, _ENTERPRISE, _FOREIGN_SLOT = 0, 1, 2
_HOLDER_TYPES = ("person", "enterprise")
_STATUS = ("active", "suspended", "revoked", "deregistered", "moved_out")
_ACTIVE, _SUSPENDED, _REVOKED, _DEREGISTERED, _MOVED_OUT = range(5)
_ROLES = ("director", "supervisor", "manager")
_DIRECTOR, _SUPERVISOR, _MANAGER = range(3)

# Ningbo's districts and county-level cities: code, name in authority names, prefix of
# company names, abbreviation in document numbers, share of firms.
_DISTRICTS: tuple[tuple[str, str, str, str, float], ...] = (
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
_SECTIONS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
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
_INDIVIDUAL_WORDS = ("商行", "百货店", "五金店", "服装店", "经营部", "便利店", "小吃店", "修理部")
_BRAND_CHARS = tuple(
    dict.fromkeys(
        "鑫华盛泰宏达祥瑞恒通汇丰利源永安嘉隆昌富强德顺裕新星辰海天宇博远伟金银龙凤明光东方"
        "中联创诚信立邦凯美佳和润康益兴旺发荣晟越骏腾飞扬帆舜甬港湾江南北宁慧智杰豪锦程旭阳晨曦"
    )
)
_ROADS = (
    "中山东路",
    "解放南路",
    "天童南路",
    "四明中路",
    "甬江大道",
    "长江路",
    "明州路",
    "新城路",
    "兴宁路",
    "宁穿路",
    "首南路",
    "学士路",
    "鄞县大道",
    "泰康中路",
    "贸城西路",
    "大闸路",
    "人民路",
    "环城北路",
    "北环东路",
    "新华路",
    "中兴路",
    "江南路",
    "杭州湾大道",
    "三北大街",
    "新城大道",
    "阳明西路",
    "东环北路",
    "开发区大道",
    "科技大道",
    "工业园区一路",
    "金港路",
    "环湖路",
    "沿江路",
    "清风路",
    "通途路",
    "院士路",
    "聚贤路",
    "江东北路",
    "世纪大道",
    "丹山路",
)

_SURNAMES = tuple(
    "陈王张李徐周吴林胡杨黄赵刘朱孙郑何沈金叶俞马郭罗蒋谢董潘戴钱邵任孔汪应方韩梁宋唐许冯"
    "邓曹彭曾肖田袁余杜程苏魏吕丁姚卢姜崔钟谭陆范石廖贾夏付白邹孟熊秦邱江尹薛段雷侯龙史陶"
)
_MALE_GIVEN = tuple(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁浩建国志文海东林峰俊鸿宇晨昊毅晓立永德荣"
)
_FEMALE_GIVEN = tuple("芳娜敏静丽艳娟霞燕玲婷慧萍红洁琳雪颖倩梅莉琴云兰月晶欣怡佳丹彤璐瑶蓉蕾")

# Where people's ID numbers were issued: mostly Ningbo (including codes retired since, such
# as 330204 Jiangdong and 330283 Fenghua city), the rest of Zhejiang, and other provinces.
_BIRTH_REGIONS: tuple[tuple[str, float], ...] = (
    ("330203", 0.10),
    ("330204", 0.06),
    ("330205", 0.05),
    ("330206", 0.07),
    ("330211", 0.04),
    ("330212", 0.12),
    ("330283", 0.04),
    ("330225", 0.04),
    ("330226", 0.04),
    ("330281", 0.08),
    ("330282", 0.10),
    ("330102", 0.02),
    ("330302", 0.03),
    ("330602", 0.02),
    ("331002", 0.02),
    ("330402", 0.01),
    ("340102", 0.02),
    ("360102", 0.02),
    ("410102", 0.02),
    ("420102", 0.02),
    ("510104", 0.02),
    ("350102", 0.02),
    ("430102", 0.02),
    ("522101", 0.01),
)

# Home countries of foreign shareholders and the endings of their names.
_COUNTRIES: tuple[tuple[str, float, str], ...] = (
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
_FOREIGN_WORDS = (
    "Golden",
    "Pacific",
    "Ocean",
    "Dragon",
    "Asia",
    "Harbour",
    "Sunrise",
    "Everbright",
    "Silver",
    "Eastern",
    "Union",
    "Grand",
    "Jade",
    "Summit",
    "Pearl",
    "Crown",
    "Orient",
)

_ABNORMAL_REASONS = (
    "no_annual_report",
    "failure_to_disclose",
    "false_disclosure",
    "unreachable_address",
)
_BLACK_REASONS = (
    "列入经营异常名录届满3年仍未履行相关义务",
    "提交虚假材料或者采取其他欺诈手段隐瞒重要事实取得登记",
    "因严重违法行为被吊销营业执照",
    "拒不履行生效行政处罚决定",
    "严重危害人民群众生命健康安全",
)
_SEVERITIES = ("minor", "general", "severe")
_SECTORS = ("general", "food", "drugs", "special_equipment")
# Authorities deciding penalties besides the district market regulators.
_OTHER_AUTHORITIES: tuple[tuple[str, str], ...] = (
    ("宁波市生态环境局", "甬环罚"),
    ("国家税务总局宁波市税务局", "甬税罚"),
    ("宁波市应急管理局", "甬应急罚"),
    ("宁波市消防救援支队", "甬消行罚"),
    ("宁波市交通运输局", "甬交罚"),
    ("宁波市住房和城乡建设局", "甬建罚"),
)
_COMMITMENT_AUTHORITIES: tuple[tuple[str, str], ...] = (
    ("宁波市市场监督管理局", "甬市监诺"),
    ("国家税务总局宁波市税务局", "甬税诺"),
    ("宁波市商务局", "甬商诺"),
    ("宁波市住房和城乡建设局", "甬建诺"),
)
_INSPECTION_ITEMS = (
    "登记事项的检查",
    "年度报告公示信息的检查",
    "营业执照规范使用情况的检查",
    "产品质量的检查",
    "食品安全的检查",
    "广告发布行为的检查",
    "计量器具的检查",
    "价格行为的检查",
)
_FINDINGS = ("no_problem", "problem_found", "not_found_at_address", "refused")
_BANKS = ("NBCB", "ICBC", "ABC", "BOC", "CCB", "BOCOM", "CZB", "NBRCB")
_EMAIL_DOMAINS = ("163.com", "126.com", "qq.com", "sina.com", "139.com")

# Bad-record kinds that take part in contagion.
_ABNORMAL, _BLACK, _DEBTOR, _PENALTY = range(4)
_GUARANTEE_KINDS = ("circle", "mutual", "chain", "group", "single")

_Rows = dict[str, np.ndarray]


@dataclass(frozen=True)
class _Knobs:
    """Shape of the city. Documented in docs/demo-data.md; change there too."""

    foreign_share: float = 0.005  # enterprises rows that are foreign shareholders
    individual_share: float = 0.10  # 个体工商户 (92…): an operator, no shareholders
    established_inside_share: float = 0.42  # firms founded inside [start, end]
    age_scale_years: float = 6.0  # mean age at `start` of the older firms
    company_dereg_share: float = 0.09  # companies deregistered or revoked inside the period
    individual_dereg_share: float = 0.22
    revoked_share: float = 0.25  # of the firms that end, those revoked rather than deregistered
    enterprises_per_agent: int = 2000  # one agent address per this many firms
    agent_share: float = 0.06  # firms registered at an agent's address
    agent_concentration: float = 0.8  # Zipf exponent of firms over agents
    group_share: float = 0.08  # companies that belong to a holding group
    group_size_cap: int = 300
    group_size_tail: float = 1.2  # Pareto index of group sizes (smaller: heavier tail)
    chain_bias: float = 0.35  # chance a member hangs under the previous one (long chains)
    max_depth: int = 6  # ownership levels below a group's top company
    group_dereg_share: float = 0.06  # leaves of a group tree that end inside the period
    cross_holding_share: float = 0.12  # groups where a deep member holds shares of the top
    foreign_top_share: float = 0.06  # groups whose top company has a foreign shareholder
    foreign_stakes_per_foreign: float = 1.6  # stakes per foreign company
    holder_counts: tuple[float, ...] = (0.55, 0.27, 0.10, 0.04, 0.02, 0.01, 0.01)  # 1..7
    corporate_holder_share: float = 0.04  # independent firms whose main holder is a company
    unknown_share_share: float = 0.005  # firms whose stakes are filed without a fraction
    rep_is_main_holder: float = 0.85
    nominee_share: float = 0.35  # firms at agents' addresses with a nominee legal rep
    nominee_tail: float = 1.2  # Pareto index of the firms a nominee fronts for (3 to max_roles)
    officer_share: float = 0.35  # independent companies that file officers
    single_role_share: float = 0.80  # people with one role; the rest are serial
    serial_tail: float = 1.3  # Pareto index of the roles of serial people
    max_roles: int = 30
    transfer_share: float = 0.08  # holdings sold inside the period
    rebuy_share: float = 0.25  # of those, bought back later by the seller
    known_buyer_share: float = 0.5  # buyers who already hold shares elsewhere
    rep_changes: tuple[float, ...] = (0.82, 0.14, 0.04)  # 0, 1, 2 changes of legal rep
    officer_turnover: float = 0.10
    unknown_officer_start: float = 0.03  # officer rows of old firms without a start date
    guarantees_per_enterprise: float = 0.30
    guarantee_mix: tuple[float, ...] = (0.18, 0.14, 0.22, 0.12, 0.34)  # see _GUARANTEE_KINDS
    crisis_share: tuple[float, ...] = (0.22, 0.10, 0.08, 0.03, 0.03)  # structures in default
    default_in_crisis: tuple[float, ...] = (0.7, 0.6, 0.6, 1.0, 1.0)  # edges of those
    risk_sigma: float = 0.8  # spread of the firms' own risk (log-normal)
    agent_risk: float = 2.5  # risk factor of firms at agents' addresses
    base_rates: tuple[float, ...] = (0.0075, 0.00015, 0.0008, 0.0065)  # per firm-year, _ABNORMAL..
    contagion: float = 0.10  # chance a bad record spreads along one link
    contagion_hub: float = 3.0  # a link shared by many firms passes at most this many times
    contagion_delay_days: float = 240.0
    contagion_generations: int = 3
    contagion_kinds: tuple[float, ...] = (0.50, 0.04, 0.10, 0.36)  # kind of a spread record
    debtor_after_default: tuple[float, float] = (0.30, 0.12)  # guaranteed firm, guarantor
    abnormal_cure_share: float = 0.50
    escalation_share: float = 0.35  # uncured abnormal listings moved to the black list
    commitments_per_year: float = 0.03
    broken_commitment: float = 0.04
    inspections_per_year: float = 0.04
    follow_up_inspections: float = 0.5  # after a bad record
    # What registries and court sources add (stream 7, so the stages above are unchanged).
    paid_in_known: float = 0.70  # companies that publish their paid-in capital
    paid_in_mix: tuple[float, float] = (0.45, 0.35)  # of those: all paid in, nothing (rest: part)
    head_office_share: float = 0.15  # independent companies with ≥ ¥5 M capital and branches
    branches_per_head: float = 0.8  # branches beyond the first (Poisson)
    lawsuits_per_year: float = 0.06  # suits per firm-year, besides those behind judgments
    lawsuit_counterpart: float = 0.4  # suits whose other party is a firm of the city
    enforcement_after_suit: float = 0.2  # suits as defendant that go to enforcement
    tax_violation_rate: float = 0.0004  # serious tax violations per firm-year (×6 at agents)
    bankruptcy_after_trouble: float = 0.10  # dishonest debtors and defaulted borrowers that fail
    # Guarantees published without contract number, without amount, without start.
    guarantee_unknowns: tuple[float, float, float] = (0.01, 0.003, 0.003)


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate_city` wrote.

    Attributes:
        out_dir: Folder holding the files.
        fmt: ``"parquet"`` or ``"csv"``.
        seed: Seed the city was drawn from.
        rows: Rows written per contract file name (``"enterprises"``, ``"guarantees"``, …).
    """

    out_dir: Path
    fmt: str
    seed: int
    rows: Mapping[str, int] = field(hash=False)

    @property
    def total_rows(self) -> int:
        """Rows over all files."""
        return sum(self.rows.values())

    def path(self, file: str) -> Path:
        """Path of one contract file, e.g. ``summary.path("guarantees")``."""
        return self.out_dir / f"{file}.{self.fmt}"


@dataclass(frozen=True)
class _Span:
    t0: int  # first day of the history
    t1: int  # last day of the history


@dataclass
class _Firms:
    """Working columns of the enterprises; foreign ones last."""

    kind: np.ndarray  # _COMPANY, _INDIVIDUAL or _FOREIGN
    region: np.ndarray  # index into _DISTRICTS, -1 for foreign firms
    industry: np.ndarray  # index into _SECTIONS, -1 for foreign firms
    capital: np.ndarray  # CNY, NaN when unknown
    est: np.ndarray  # establishment day, -_FOREVER when unknown
    dereg: np.ndarray  # deregistration day, _FOREVER while the firm exists
    status: np.ndarray  # index into _STATUS, -1 when unknown
    agent: np.ndarray  # agent address hosting the firm, -1 if none
    n_agents: int
    agent_region: np.ndarray  # district of each agent address
    group: np.ndarray  # holding group, -1 if none
    depth: np.ndarray  # level in the group tree (0 at the top), -1 outside groups
    is_top: np.ndarray  # top company of its group
    country: np.ndarray  # index into _COUNTRIES, -1 for domestic firms
    rep0: np.ndarray  # founding legal representative (person number), -1 if none
    alt_rep: np.ndarray  # a plausible successor as legal representative, -1 if none

    @property
    def n(self) -> int:
        return len(self.kind)

    @property
    def n_dom(self) -> int:
        return int(np.count_nonzero(self.kind != _FOREIGN))


class _People:
    """Hands out consecutive person numbers; unused numbers are dropped at the end."""

    def __init__(self) -> None:
        self.count = 0

    def take(self, n: int) -> np.ndarray:
        out = np.arange(self.count, self.count + n, dtype=np.int64)
        self.count += n
        return out


def generate_city(
    out_dir: Path,
    n_enterprises: int,
    seed: int = 0,
    fmt: Literal["parquet", "csv"] = "parquet",
    start: date = date(2019, 1, 1),
    end: date = date(2025, 12, 31),
    progress: Callable[[str], None] | None = None,
) -> GenerationSummary:
    """Draw a synthetic city and write it as contract files.

    The same arguments always give the same tables (and byte-identical Parquet files
    with the same pyarrow version).

    Args:
        out_dir: Folder for the files; created if missing. Existing files of the same
            names are replaced.
        n_enterprises: Rows of ``enterprises``, foreign shareholders included (about
            0.5 % of them). At least :data:`MIN_ENTERPRISES`.
        seed: Seed of every random draw.
        fmt: ``"parquet"`` (typed columns) or ``"csv"`` (UTF-8, header row, ISO dates,
            ``true``/``false``, empty cells for nulls).
        start: First day of the history: records, deregistrations, changes of
            shareholders and officers fall in ``[start, end]``; firms may be older.
        end: Last day of the history; the files describe the city as of this day.
        progress: Called with a short message after each stage.

    Returns:
        The folder, the format, the seed and the rows written per file.

    Raises:
        ValueError: On an unknown format, too few enterprises, or a period shorter
            than two years.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    if n_enterprises < MIN_ENTERPRISES:
        raise ValueError(f"n_enterprises must be at least {MIN_ENTERPRISES}")
    if (end - start).days < 730:
        raise ValueError("the period from start to end must span at least two years")
    note = progress if progress is not None else _quiet
    knobs = _Knobs()
    span = _Span((start - _EPOCH).days, (end - _EPOCH).days)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    people = _People()

    firms = _make_firms(streams[0], n_enterprises, span, knobs)
    g_hold, g_reps, g_off, g_foreign, groups = _groups(streams[1], firms, span, knobs, people)
    i_hold, i_reps, i_off = _independents(streams[2], firms, knobs, people, g_foreign)
    holdings = _cat([g_hold, i_hold])
    _assign_foreign(streams[2], firms, holdings)
    _fit_shares(holdings)
    reps, officers = _cat([g_reps, i_reps]), _cat([g_off, i_off])
    note(f"enterprises: {firms.n:,} drawn, {len(groups.sizes):,} holding groups")

    holdings, reps, officers = _history(
        streams[3], firms, span, knobs, people, holdings, reps, officers
    )
    note(
        f"history: {len(holdings['firm']):,} holdings, {len(reps['firm']):,} legal reps, "
        f"{len(officers['firm']):,} officers"
    )

    guarantees = _guarantees(streams[4], firms, groups, span, knobs)
    per_kind = np.bincount(guarantees["structure"], minlength=len(_GUARANTEE_KINDS))
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in zip(_GUARANTEE_KINDS, per_kind, strict=True))
    note(f"guarantees: {len(guarantees['guarantor']):,} ({kinds})")

    n_people = _compact_people(people.count, firms, holdings, reps, officers)
    records = _records(
        streams[5], firms, span, knobs, n_people, holdings, reps, officers, guarantees
    )
    extras = _real_sources(streams[7], firms, span, knobs, guarantees, records)
    records |= extras.records
    note("records: " + ", ".join(f"{k} {len(v['firm']):,}" for k, v in records.items()))

    tables = _tables(
        streams[6],
        firms,
        groups,
        n_people,
        holdings,
        reps,
        officers,
        guarantees,
        records,
        span,
        extras,
    )
    note("columns built")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for name, table in tables.items():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path, compression="zstd")
        else:
            pacsv.write_csv(table, path)
        rows[name] = table.num_rows
        note(f"wrote {path.name}: {table.num_rows:,} rows")
    return GenerationSummary(out_dir, fmt, seed, MappingProxyType(rows))


def _quiet(_message: str) -> None:
    return None


# --------------------------------------------------------------------------- helpers


def _probs(weights: Iterable[float]) -> np.ndarray:
    w = np.asarray(list(weights), dtype=np.float64)
    return np.asarray(w / w.sum())


def _cat(parts: Sequence[_Rows]) -> _Rows:
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _take(rows: _Rows, idx: np.ndarray) -> _Rows:
    return {key: col[idx] for key, col in rows.items()}


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` over pairs, without a Python loop."""
    counts = counts.astype(np.int64)
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    return np.repeat(starts.astype(np.int64) - (ends - counts), counts) + np.arange(total)


def _uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A day in ``[lo, hi]`` for each pair (callers ensure lo <= hi)."""
    return np.asarray(lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64))


def _distinct(rng: np.random.Generator, n: int, high: int) -> np.ndarray:
    """``n`` distinct random integers in ``[0, high)``, in random order."""
    out = rng.integers(0, high, n)
    while True:
        _, first = np.unique(out, return_index=True)
        if len(first) == n:
            return out
        again = np.ones(n, dtype=bool)
        again[first] = False
        out[again] = rng.integers(0, high, int(again.sum()))


def _years(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _add_months(days: np.ndarray, months: int | np.ndarray) -> np.ndarray:
    """Same day of the month ``months`` later (the last day when the month is shorter)."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months).astype("timedelta64[M]")
    last = (target + np.timedelta64(1, "M")).astype("datetime64[D]").astype(np.int64) - 1
    return np.asarray(
        np.minimum(target.astype("datetime64[D]").astype(np.int64) + day_of_month, last)
    )


def _first_of_group(keys: np.ndarray) -> np.ndarray:
    """Mask of rows whose key differs from the previous row's (keys sorted)."""
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


def _keep_first(keys: np.ndarray, order_by: np.ndarray) -> np.ndarray:
    """Indices of the first row (smallest ``order_by``) of each distinct key."""
    order = np.lexsort((order_by, keys))
    return np.sort(order[_first_of_group(keys[order])])


# --------------------------------------------------------------------------- enterprises


def _make_firms(rng: np.random.Generator, n: int, span: _Span, k: _Knobs) -> _Firms:
    n_for = max(1, round(n * k.foreign_share))
    n_dom = n - n_for
    kind = np.full(n, _FOREIGN, dtype=np.int8)
    kind[:n_dom] = np.where(rng.random(n_dom) < k.individual_share, _INDIVIDUAL, _COMPANY)
    region = np.full(n, -1, dtype=np.int64)
    region[:n_dom] = rng.choice(len(_DISTRICTS), n_dom, p=_probs(d[4] for d in _DISTRICTS))
    industry = np.full(n, -1, dtype=np.int64)
    industry[:n_dom] = rng.choice(len(_SECTIONS), n_dom, p=_probs(s[1] for s in _SECTIONS))

    # Agents' addresses: a Zipf-like few host most of the firms registered at agents, all
    # in the agent's district and mostly in trade, business services or IT (shells).
    n_agents = max(3, n_dom // k.enterprises_per_agent)
    agent = np.full(n, -1, dtype=np.int64)
    at_agent = np.flatnonzero(rng.random(n_dom) < k.agent_share)
    weights = 1.0 / np.arange(1, n_agents + 1) ** k.agent_concentration
    agent[at_agent] = rng.choice(n_agents, len(at_agent), p=weights / weights.sum())
    agent_region = rng.choice(len(_DISTRICTS), n_agents, p=_probs(d[4] for d in _DISTRICTS))
    region[at_agent] = agent_region[agent[at_agent]]
    shells = at_agent[rng.random(len(at_agent)) < 0.6]
    letters = [s[0] for s in _SECTIONS]
    shell_idx = np.array([letters.index(s) for s in _SHELL_SECTIONS])
    industry[shells] = shell_idx[rng.integers(0, len(shell_idx), len(shells))]

    # Establishment: some inside the period, the rest before it with younger firms more common.
    est = np.full(n, -_FOREVER, dtype=np.int64)
    inside = rng.random(n_dom) < k.established_inside_share
    est_in = span.t0 + np.floor(rng.random(n_dom) * (span.t1 - span.t0 - 90)).astype(np.int64)
    age = np.floor(rng.exponential(k.age_scale_years * 365.25, n_dom)).astype(np.int64)
    est_out = np.maximum(span.t0 - 1 - age, (date(1990, 1, 1) - _EPOCH).days)
    est[:n_dom] = np.where(inside, est_in, est_out)

    # Deregistrations and revocations happen inside the period, at least half a year after
    # establishment; a few firms are suspended or have moved out (no date for those).
    dereg = np.full(n, _FOREVER, dtype=np.int64)
    status = np.full(n, -1, dtype=np.int64)
    status[:n_dom] = _ACTIVE
    share = np.where(kind[:n_dom] == _INDIVIDUAL, k.individual_dereg_share, k.company_dereg_share)
    lo = np.maximum(est[:n_dom] + 180, span.t0)
    gone = (rng.random(n_dom) < share) & (lo < span.t1)
    dereg[:n_dom][gone] = _uniform_days(rng, lo[gone], np.full(int(gone.sum()), span.t1 - 1))
    status[:n_dom][gone] = np.where(
        rng.random(int(gone.sum())) < k.revoked_share, _REVOKED, _DEREGISTERED
    )
    other = rng.random(n_dom)
    status[:n_dom][~gone & (other < 0.01)] = _SUSPENDED
    status[:n_dom][~gone & (other > 0.99)] = _MOVED_OUT

    capital = np.full(n, np.nan)
    comp = rng.lognormal(math.log(1e6), 1.2, n_dom)
    indiv = rng.lognormal(math.log(5e4), 0.8, n_dom)
    capital[:n_dom] = np.where(
        kind[:n_dom] == _INDIVIDUAL,
        np.maximum(np.round(indiv / 1e3) * 1e3, 1e3),
        np.maximum(np.round(comp / 1e4) * 1e4, 1e4),
    )
    country = np.full(n, -1, dtype=np.int64)
    country[n_dom:] = rng.choice(len(_COUNTRIES), n_for, p=_probs(c[1] for c in _COUNTRIES))
    return _Firms(
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


# --------------------------------------------------------------------------- holding groups


@dataclass(frozen=True)
class _Groups:
    member: np.ndarray  # firm number of each member; a group's members are contiguous
    gid: np.ndarray  # group of each member
    parent: np.ndarray  # firm number of the member's parent in the tree, -1 for the top
    sizes: np.ndarray  # members per group


def _groups(
    rng: np.random.Generator, f: _Firms, span: _Span, k: _Knobs, people: _People
) -> tuple[_Rows, _Rows, _Rows, int, _Groups]:
    comp = rng.permutation(np.flatnonzero(f.kind == _COMPANY))
    target = int(len(comp) * k.group_share)
    empty = np.zeros(0, dtype=np.int64)
    if target < 3:
        return {}, {}, {}, 0, _Groups(empty, empty, empty, empty)
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
    dereg = np.full(total, _FOREVER, dtype=np.int64)
    dereg[gone] = _uniform_days(rng, lo[gone], np.full(int(gone.sum()), span.t1 - 1))
    f.est[member] = est
    f.dereg[member] = dereg
    f.status[member] = np.where(gone, _DEREGISTERED, _ACTIVE)
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
    reps = {"person": rep, "firm": member, "from": est, "to": np.full(total, _FOREVER)}

    n_dir = np.where((rng.random(total) < 0.4) & (pz >= 3), 3, 1)
    off = np.floor(rng.random(total) * pz).astype(np.int64)
    o_parts = []
    for j in range(3):
        m = n_dir > j
        o_parts.append(_officer_rows(ps[m] + (off[m] + j) % pz[m], member[m], _DIRECTOR, est[m]))
    sups = sup_start[gid] + np.floor(rng.random(total) * sup_size[gid]).astype(np.int64)
    o_parts.append(_officer_rows(sups, member, _SUPERVISOR, est))
    mgr = np.where(rng.random(total) < 0.5, rep, ps + np.floor(rng.random(total) * pz).astype(int))
    o_parts.append(_officer_rows(mgr, member, _MANAGER, est))

    # Holdings: the parent holds all or most of a member; the rest belongs to an executive,
    # to a member higher up the tree (so chains stay within max_depth), or is not on file.
    h_parts = []
    child = pos > 0
    pct = np.where(rng.random(total) < 0.55, 100, rng.integers(51, 96, total))
    c = np.flatnonzero(child)
    h_parts.append(_holding_rows(_ENTERPRISE, member[parent[c]], member[c], pct[c], est[c]))
    r = rng.random(total)
    rest = child & (pct < 100)
    to_exec = np.flatnonzero(rest & (r < 0.5))
    h_parts.append(
        _holding_rows(
            _PERSON,
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
            _ENTERPRISE,
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
    h_parts.append(_holding_rows(_PERSON, pool_start, tops, boss_pct, t_est))
    s = np.flatnonzero(second > 0)
    h_parts.append(_holding_rows(_PERSON, pool_start[s] + 1, tops[s], second[s], t_est[s]))
    s = np.flatnonzero(foreign > 0)
    h_parts.append(_holding_rows(_FOREIGN_SLOT, np.full(len(s), -1), tops[s], foreign[s], t_est[s]))
    s = np.flatnonzero(cross > 0)
    x_from = np.maximum(t_est[s], est[deepest[s]]) + rng.integers(30, 730, len(s))
    h_parts.append(_holding_rows(_ENTERPRISE, member[deepest[s]], tops[s], cross[s], x_from))

    holdings = _cat(h_parts)
    holdings["subscribed"] = np.round(holdings["share"] * f.capital[holdings["firm"]], 2)
    parent_firm = np.where(parent >= 0, member[np.maximum(parent, 0)], -1)
    groups = _Groups(member=member, gid=gid, parent=parent_firm, sizes=sizes)
    return holdings, reps, _cat(o_parts), int(np.count_nonzero(foreign)), groups


def _holding_rows(
    kind: int, holder: np.ndarray, firm: np.ndarray, pct: np.ndarray, start: np.ndarray
) -> _Rows:
    n = len(firm)
    return {
        "kind": np.full(n, kind, dtype=np.int64),
        "holder": holder.astype(np.int64),
        "firm": firm.astype(np.int64),
        "share": np.asarray(pct, dtype=np.float64) / 100.0,
        "from": start.astype(np.int64),
        "to": np.full(n, _FOREVER, dtype=np.int64),
    }


def _officer_rows(person: np.ndarray, firm: np.ndarray, role: int, start: np.ndarray) -> _Rows:
    n = len(firm)
    return {
        "person": person.astype(np.int64),
        "firm": firm.astype(np.int64),
        "role": np.full(n, role, dtype=np.int64),
        "from": start.astype(np.int64),
        "to": np.full(n, _FOREVER, dtype=np.int64),
    }


# --------------------------------------------------------------------------- independent firms


def _serial_people(
    rng: np.random.Generator, n_slots: int, people: _People, k: _Knobs
) -> np.ndarray:
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


def _separate(firm: np.ndarray, person: np.ndarray, people: _People) -> None:
    """Give a new person to every slot that repeats a person already in the same firm."""
    order = np.lexsort((person, firm))
    again = np.zeros(len(firm), dtype=bool)
    again[1:] = (firm[order][1:] == firm[order][:-1]) & (person[order][1:] == person[order][:-1])
    dup = order[again]
    person[dup] = people.take(len(dup))


def _independents(
    rng: np.random.Generator, f: _Firms, k: _Knobs, people: _People, n_group_foreign: int
) -> tuple[_Rows, _Rows, _Rows]:
    reg = rng.permutation(np.flatnonzero((f.kind == _COMPANY) & (f.group < 0)))
    ib = np.flatnonzero(f.kind == _INDIVIDUAL)
    nr = len(reg)
    n_for = int(np.count_nonzero(f.kind == _FOREIGN))
    # Enough foreign-invested firms (60 % wholly owned, 40 % joint ventures) for every
    # foreign company to hold at least one stake.
    wanted = max(n_for, round(k.foreign_stakes_per_foreign * n_for)) - n_group_foreign
    n_fi = int(min(nr // 2, max(wanted, 0)))
    n_wfoe = round(0.6 * n_fi)
    counts = 1 + rng.choice(len(k.holder_counts), nr, p=_probs(k.holder_counts))
    counts[:n_wfoe] = 1
    counts[n_wfoe:n_fi] = np.maximum(counts[n_wfoe:n_fi], 2)
    starts = np.cumsum(counts) - counts
    fpos = np.repeat(np.arange(nr), counts)
    n_slots = len(fpos)
    j = np.arange(n_slots) - starts[fpos]
    firm = reg[fpos]
    kind = np.full(n_slots, _PERSON, dtype=np.int64)
    kind[(fpos < n_fi) & (j == 0)] = _FOREIGN_SLOT
    holder = np.full(n_slots, -1, dtype=np.int64)
    # Corporate investors: a company, bigger ones more often, holds the main stake. Firms
    # held this way invest in no one, and group members only above the deepest level, so
    # that ownership chains stay within about max_depth levels.
    corp = np.flatnonzero(
        (fpos >= n_fi) & (j == 0) & (rng.random(n_slots) < k.corporate_holder_share)
    )
    investor = (f.kind == _COMPANY) & (f.depth < k.max_depth)
    investor[firm[corp]] = False
    comp = np.flatnonzero(investor)
    w = np.sqrt(f.capital[comp])
    pick = comp[rng.choice(len(comp), len(corp), p=w / w.sum())]
    ok = pick != firm[corp]
    kind[corp[ok]] = _ENTERPRISE
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
    main_person = kind[starts] == _PERSON
    nominee = (f.agent[reg] >= 0) & (rng.random(nr) < k.nominee_share)
    rep_main = main_person & (rng.random(nr) < k.rep_is_main_holder) & ~nominee
    rep_own = ~rep_main & ~nominee
    has_off = rng.random(nr) < k.officer_share
    second = (counts >= 2) & (kind[np.minimum(starts + 1, n_slots - 1)] == _PERSON)
    sup_own = has_off & ~second
    mgr_own = has_off & (rng.random(nr) >= 0.7)
    hp = np.flatnonzero(kind == _PERSON)
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
    officers = _cat(
        [
            _officer_rows(rep[director], reg[director], _DIRECTOR, est[director]),
            _officer_rows(sup[has_off], reg[has_off], _SUPERVISOR, est[has_off]),
            _officer_rows(mgr[has_off], reg[has_off], _MANAGER, est[has_off]),
        ]
    )
    reps = {
        "person": np.concatenate([rep, p_ib]),
        "firm": np.concatenate([reg, ib]),
        "from": np.concatenate([est, f.est[ib]]),
        "to": np.full(nr + len(ib), _FOREVER, dtype=np.int64),
    }
    start = f.est[firm]
    corp_rows = kind == _ENTERPRISE
    start[corp_rows] = np.maximum(start[corp_rows], f.est[holder[corp_rows]])
    holdings = {
        "kind": kind,
        "holder": holder,
        "firm": firm,
        "share": share,
        "from": start,
        "to": np.full(n_slots, _FOREVER, dtype=np.int64),
        "subscribed": subscribed,
    }
    return holdings, reps, officers


def _assign_foreign(rng: np.random.Generator, f: _Firms, h: _Rows) -> None:
    """Fill the foreign stakes: every foreign company at least once, a few big ones often."""
    slots = rng.permutation(np.flatnonzero(h["kind"] == _FOREIGN_SLOT))
    foreign = rng.permutation(np.flatnonzero(f.kind == _FOREIGN))
    first = min(len(slots), len(foreign))
    weights = 1.0 / np.sqrt(np.arange(1, len(foreign) + 1))
    more = rng.choice(len(foreign), len(slots) - first, p=weights / weights.sum())
    h["holder"][slots] = np.concatenate([foreign[:first], foreign[more]])
    h["kind"][slots] = _ENTERPRISE


def _fit_shares(h: _Rows) -> None:
    """Keep every float sum of a firm's stakes at or below 1, whatever the order.

    Stakes are whole basis points adding up to 100 %. Two of them add up to exactly 1 in
    binary; three or more, such as 0.3333 + 0.3334 + 0.3333, may round just above 1
    depending on the order of the sum, so those firms give up one basis point of their
    largest stake (99.99 % leaves a margin far above the rounding error).
    """
    share = h["share"]
    known = ~np.isnan(share)
    bp = np.where(known, np.round(np.nan_to_num(share) * 10000), 0)
    order = np.lexsort((-bp, h["firm"]))
    starts = np.flatnonzero(_first_of_group(h["firm"][order]))
    stakes = np.add.reduceat(known[order].astype(np.int64), starts)
    total = np.add.reduceat(bp[order], starts)
    top = order[starts[(stakes >= 3) & (total >= 10000)]]
    share[top] = (bp[top] - 1) / 10000


# --------------------------------------------------------------------------- history


def _history(
    rng: np.random.Generator,
    f: _Firms,
    span: _Span,
    k: _Knobs,
    people: _People,
    holdings: _Rows,
    reps: _Rows,
    officers: _Rows,
) -> tuple[_Rows, _Rows, _Rows]:
    # Validity is half-open, as the stores read it: a relation holds from valid_from up
    # to, not including, valid_to. So a successor starts on the day its predecessor ends,
    # and no day sees both or neither.
    # Shares sold to a newcomer; a quarter of the sellers buy them back later.
    h = holdings
    n_h = len(h["firm"])
    corp = h["kind"] == _ENTERPRISE
    holder_end = np.where(corp, f.dereg[np.where(corp, h["holder"], 0)], _FOREVER)
    lo = np.maximum(h["from"], span.t0) + 30
    hi = np.minimum(np.minimum(f.dereg[h["firm"]], holder_end), span.t1) - 60
    sold = np.flatnonzero((rng.random(n_h) < k.transfer_share) & (lo < hi))
    t = _uniform_days(rng, lo[sold], hi[sold] - 1)
    h["to"][sold] = t
    buyers = _take(h, sold)
    buyers["kind"] = np.full(len(sold), _PERSON, dtype=np.int64)
    # Half the buyers already invest elsewhere (picked by activity, so serial investors
    # buy more); the rest are newcomers, as is anyone who would buy into a firm twice.
    investors = h["holder"][h["kind"] == _PERSON]
    buyer = np.where(
        rng.random(len(sold)) < k.known_buyer_share,
        investors[rng.integers(0, len(investors), len(sold))],
        people.take(len(sold)),
    )
    span_p = people.count + 1
    held = h["firm"][h["kind"] == _PERSON] * span_p + investors
    twice = np.isin(h["firm"][sold] * span_p + buyer, held)
    buyer[twice] = people.take(int(twice.sum()))
    buyers["holder"] = buyer
    buyers["from"] = t
    buyers["to"] = np.full(len(sold), _FOREVER, dtype=np.int64)
    back = (rng.random(len(sold)) < k.rebuy_share) & (t + 90 < hi[sold])
    t2 = _uniform_days(rng, t[back] + 90, hi[sold][back])
    buyers["to"][back] = t2
    again = _take(h, sold[back])
    again["from"] = t2
    again["to"] = np.full(len(t2), _FOREVER, dtype=np.int64)
    holdings = _cat([h, buyers, again])

    # Legal representatives replaced once or twice; the second change sometimes brings
    # the first one back.
    r = reps
    firm = r["firm"]
    n_r = len(firm)
    changes = np.where(
        f.kind[firm] == _COMPANY, rng.choice(len(k.rep_changes), n_r, p=_probs(k.rep_changes)), 0
    )
    lo = np.maximum(f.est[firm], span.t0) + 90
    hi = np.minimum(f.dereg[firm], span.t1) - 30
    a = _uniform_days(rng, lo, np.maximum(hi, lo))
    b = _uniform_days(rng, lo, np.maximum(hi, lo))
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
        "to": np.where(two, c2[one], _FOREVER),
    }
    w = one[two]
    back = rng.random(len(w)) < 0.3
    second = {
        "person": np.where(back, r["person"][w], people.take(len(w))),
        "firm": firm[w],
        "from": c2[w],
        "to": np.full(len(w), _FOREVER, dtype=np.int64),
    }
    reps = _cat([r, first, second])

    # Officers leave and are replaced; old firms' filings sometimes lack the start date.
    o = officers
    lo = np.maximum(o["from"], span.t0) + 60
    hi = np.minimum(f.dereg[o["firm"]], span.t1) - 30
    turn = np.flatnonzero((rng.random(len(lo)) < k.officer_turnover) & (lo < hi))
    t = _uniform_days(rng, lo[turn], hi[turn])
    o["to"][turn] = t
    new = _take(o, turn)
    new["person"] = people.take(len(turn))
    new["from"] = t
    new["to"] = np.full(len(turn), _FOREVER, dtype=np.int64)
    old = (o["from"] < (date(2010, 1, 1) - _EPOCH).days) & (o["to"] == _FOREVER)
    o["from"][old & (rng.random(len(lo)) < k.unknown_officer_start)] = -_FOREVER
    officers = _cat([o, new])

    # Relations end when a firm at either end is deregistered.
    corp = holdings["kind"] == _ENTERPRISE
    cap = np.minimum(
        f.dereg[holdings["firm"]],
        np.where(corp, f.dereg[np.where(corp, holdings["holder"], 0)], _FOREVER),
    )
    return (
        _close(holdings, cap, span),
        _close(reps, f.dereg[reps["firm"]], span),
        _close(officers, f.dereg[officers["firm"]], span),
    )


def _close(rows: _Rows, cap: np.ndarray, span: _Span) -> _Rows:
    """End rows at ``cap`` and drop those left empty or starting after the period."""
    rows["to"] = np.minimum(rows["to"], cap)
    keep = (rows["from"] < rows["to"]) & (rows["from"] <= span.t1)
    return _take(rows, np.flatnonzero(keep))


def _compact_people(count: int, f: _Firms, holdings: _Rows, reps: _Rows, officers: _Rows) -> int:
    """Renumber the people who hold a role as 0..n-1 and return n."""
    is_person = holdings["kind"] == _PERSON
    used = np.zeros(count, dtype=bool)
    used[reps["person"]] = True
    used[officers["person"]] = True
    used[holdings["holder"][is_person]] = True
    number = np.cumsum(used) - 1
    reps["person"] = number[reps["person"]]
    officers["person"] = number[officers["person"]]
    holdings["holder"] = np.where(
        is_person, number[np.maximum(holdings["holder"], 0)], holdings["holder"]
    )
    known = f.rep0 >= 0
    f.rep0 = np.where(known & used[np.maximum(f.rep0, 0)], number[np.maximum(f.rep0, 0)], -1)
    return int(used.sum())


# --------------------------------------------------------------------------- guarantees


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
    size = np.asarray(lengths)[rng.choice(len(lengths), n_walks, p=_probs(probs))]
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


def _guarantees(
    rng: np.random.Generator, f: _Firms, groups: _Groups, span: _Span, k: _Knobs
) -> _Rows:
    comp = np.flatnonzero(f.kind == _COMPANY)
    letters = [s[0] for s in _SECTIONS]
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
    n_circles = round(target[0] / float(np.dot(circle_len, _probs(circle_p))))
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
    n_chains = round(target[2] / (float(np.dot(chain_len, _probs(chain_p))) - 1))
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
    lo_s = np.full(n_s, -_FOREVER, dtype=np.int64)
    hi_s = np.full(n_s, _FOREVER, dtype=np.int64)
    np.maximum.at(lo_s, sid, np.maximum(f.est[src], f.est[dst]))
    np.minimum.at(hi_s, sid, np.minimum(f.dereg[src], f.dereg[dst]))
    lo_s = np.maximum(lo_s + 30, span.t0 - 730)
    hi_s = np.minimum(hi_s, span.t1) - 30
    ok = lo_s[sid] <= hi_s[sid]
    src, dst, sid = src[ok], dst[ok], sid[ok]
    valid = lo_s <= hi_s
    day_s = np.full(n_s, _FOREVER, dtype=np.int64)
    day_s[valid] = _uniform_days(rng, lo_s[valid], hi_s[valid])
    n = len(src)
    start = np.minimum(day_s[sid] + rng.integers(0, 90, n), hi_s[sid])
    months = np.asarray((12, 24, 36, 0))[rng.choice(4, n, p=(0.4, 0.25, 0.25, 0.1))]
    end = np.where(months > 0, _add_months(start, months), _FOREVER)
    end = np.maximum(np.minimum(end, np.minimum(f.dereg[src], f.dereg[dst])), start)

    # Defaults come in crises that hit a whole structure: circles most often.
    crisis_lo = day_s + 90
    crisis_hi = np.minimum(hi_s + 30, span.t1)
    crisis = (
        valid & (crisis_lo <= crisis_hi) & (rng.random(n_s) < np.asarray(k.crisis_share)[stype])
    )
    crisis_day = np.full(n_s, _FOREVER, dtype=np.int64)
    crisis_day[crisis] = _uniform_days(rng, crisis_lo[crisis], crisis_hi[crisis])
    hit = crisis[sid] & (rng.random(n) < np.asarray(k.default_in_crisis)[stype[sid]])
    when = np.maximum(crisis_day[sid] + rng.integers(0, 60, n), start + 30)
    defaulted = np.where(hit & (when <= np.minimum(end, span.t1)), when, _FOREVER)

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
        "bank": rng.integers(0, len(_BANKS), n),
        "seq": rng.permutation(n) + 1,
    }
    return _take(rows, order)


# --------------------------------------------------------------------------- records


def _links(
    n: int, n_people: int, holdings: _Rows, reps: _Rows, officers: _Rows, guar: _Rows
) -> tuple[np.ndarray, ...]:
    """Firms related through a shared person, shareholder or guarantee, as two CSR maps.

    A link ("connector") is a person, a holding company (with the firms it holds) or one
    guarantee; firms sharing a connector are related. Returns the connectors of each
    firm and the firms of each connector, so that spreading a record never builds the
    quadratic list of related pairs.
    """
    is_person = holdings["kind"] == _PERSON
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
    con = np.cumsum(_first_of_group(con)) - 1
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
    k: _Knobs,
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


def _null_after(days: np.ndarray, span: _Span) -> np.ndarray:
    """Ends after the last day of the history are not known yet: the record is active."""
    return np.where(days <= span.t1, days, _FOREVER)


def _records(
    rng: np.random.Generator,
    f: _Firms,
    span: _Span,
    k: _Knobs,
    n_people: int,
    holdings: _Rows,
    reps: _Rows,
    officers: _Rows,
    guar: _Rows,
) -> dict[str, _Rows]:
    n = f.n
    dom = f.kind != _FOREIGN
    # Records fall inside the period and the firm's life; foreign firms get none.
    lo = np.where(dom, np.maximum(f.est, span.t0), _FOREVER)
    hi = np.minimum(f.dereg, span.t1)
    years = np.where(lo <= hi, (hi - lo + 1) / 365.25, 0.0)
    risk = rng.lognormal(-(k.risk_sigma**2) / 2, k.risk_sigma, n)
    risk *= np.where(f.agent >= 0, k.agent_risk, 1.0)

    # Bad records of the firms' own making, at a base rate per kind scaled by their risk.
    firm, day, kind = [], [], []
    for which, rate in enumerate(k.base_rates):
        got = np.repeat(np.arange(n), rng.poisson(rate * risk * years))
        firm.append(got)
        day.append(_uniform_days(rng, lo[got], hi[got]))
        kind.append(np.full(len(got), which))
    # A defaulted guarantee brings a judgment against the borrower, sometimes the guarantor.
    gone = np.flatnonzero(guar["defaulted"] < _FOREVER)
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
        kind.append(rng.choice(4, len(src), p=_probs(k.contagion_kinds)))
    firm_all, day_all, kind_all = np.concatenate(firm), np.concatenate(day), np.concatenate(kind)

    out: dict[str, _Rows] = {}
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
    first_bad = np.full(n, _FOREVER, dtype=np.int64)
    for rows in out.values():
        np.minimum.at(first_bad, rows["firm"], rows["start"])
    bad = first_bad < _FOREVER
    got = np.repeat(np.arange(n), rng.poisson(k.commitments_per_year * years))
    when = _uniform_days(rng, lo[got], hi[got])
    broken = np.minimum(0.5, k.broken_commitment * risk[got] * np.where(bad[got], 3.0, 1.0))
    u = rng.random(len(got))
    kept = np.where(u < broken, 0, np.where(rng.random(len(got)) < 0.3, -1, 1))
    out["commitment"] = {
        "firm": got,
        "start": when,
        "end": np.full(len(got), _FOREVER, dtype=np.int64),
        "kept": kept,
        "authority": rng.integers(0, len(_COMMITMENT_AUTHORITIES), len(got)),
    }

    routine = np.repeat(np.arange(n), rng.poisson(k.inspections_per_year * years))
    r_day = _uniform_days(rng, lo[routine], hi[routine])
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
        "end": np.full(len(got), _FOREVER, dtype=np.int64),
        "finding": finding,
        "item": rng.integers(0, len(_INSPECTION_ITEMS), len(got)),
    }
    return out


def _abnormal(
    rng: np.random.Generator,
    f: _Firms,
    span: _Span,
    k: _Knobs,
    lo: np.ndarray,
    hi: np.ndarray,
    firm: np.ndarray,
    day: np.ndarray,
) -> tuple[_Rows, tuple[np.ndarray, np.ndarray]]:
    """Abnormal-list entries, and the (firm, day) of those moved to the black list."""
    reason = rng.choice(4, len(firm), p=(0.70, 0.08, 0.04, 0.18))
    # Missed annual reports are listed in the weeks after the 30 June deadline, for firms
    # that existed in the year reported on.
    year = _years(day)
    listed = _add_months(_jan_first(year), 6) + rng.integers(0, 45, len(firm))
    annual = reason == 0
    ok = annual & (f.est[firm] < _jan_first(year)) & (listed >= lo[firm]) & (listed <= hi[firm])
    day = np.where(ok, listed, day)
    reason = np.where(annual & ~ok, 3, reason)
    keep = _keep_first(firm * 10000 + _years(day), day)
    firm, day, reason = firm[keep], day[keep], reason[keep]
    m = len(firm)
    cured = rng.random(m) < k.abnormal_cure_share
    end = _null_after(np.where(cured, day + rng.integers(20, 900, m), _FOREVER), span)
    # Still listed after three years: moved to the black list (the entry ends that day).
    moved_on = _add_months(day, 36)
    moved = ~cured & (rng.random(m) < k.escalation_share) & (moved_on <= hi[firm])
    end[moved] = moved_on[moved]
    rows = {"firm": firm, "start": day, "end": end, "reason": reason, "region": f.region[firm]}
    return rows, (firm[moved], moved_on[moved])


def _black(
    rng: np.random.Generator,
    span: _Span,
    firm: np.ndarray,
    day: np.ndarray,
    moved: np.ndarray,
    moved_on: np.ndarray,
) -> _Rows:
    reason = np.concatenate(
        [rng.integers(1, len(_BLACK_REASONS), len(firm)), np.zeros(len(moved), dtype=np.int64)]
    )
    firm, day = np.concatenate([firm, moved]), np.concatenate([day, moved_on])
    keep = _keep_first(firm * 10000 + _years(day), day)
    firm, day, reason = firm[keep], day[keep], reason[keep]
    # Three years on the list; some leave early on application after one year.
    early = rng.random(len(firm)) < 0.15
    end = np.where(
        early, _add_months(day, 12) + rng.integers(0, 365, len(firm)), _add_months(day, 36)
    )
    return {"firm": firm, "start": day, "end": _null_after(end, span), "reason": reason}


def _debtors(rng: np.random.Generator, span: _Span, firm: np.ndarray, day: np.ndarray) -> _Rows:
    m = len(firm)
    # Two years, extended by one to three for some; removed early once the judgment is paid.
    extend = np.where(rng.random(m) < 0.15, 12 * rng.integers(1, 4, m), 0)
    natural = _add_months(day, 24 + extend)
    paid = np.minimum(day + rng.integers(30, 700, m), natural)
    end = np.where(rng.random(m) < 0.4, paid, natural)
    amount = np.round(rng.lognormal(math.log(3e5), 1.2, m), 2)
    return {"firm": firm, "start": day, "end": _null_after(end, span), "amount": amount}


def _penalties(
    rng: np.random.Generator, f: _Firms, span: _Span, firm: np.ndarray, day: np.ndarray
) -> _Rows:
    m = len(firm)
    severity = rng.choice(3, m, p=(0.55, 0.38, 0.07))
    letters = np.array([s[0] for s in _SECTIONS])[f.industry[firm]]
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
    other = rng.integers(0, len(_OTHER_AUTHORITIES), m)
    authority = np.where(
        (sector > 0) | (rng.random(m) < 0.6), f.region[firm], len(_DISTRICTS) + other
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
    natural = _add_months(day, np.where(severity == 0, 3, 36))
    wait = np.where(sector > 0, 12, 6)
    repaired = (severity > 0) & (rng.random(m) < 0.10)
    repair_day = _add_months(day, wait) + rng.integers(0, 180, m)
    end = np.where(repaired, np.minimum(repair_day, natural), natural)
    return {
        "firm": firm,
        "start": day,
        "end": _null_after(end, span),
        "severity": severity,
        "sector": sector,
        "authority": authority,
        "amount": fine,
    }


# --------------------------------------------------------------------------- real sources

_CAUSES = (
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
_LAWSUIT_ROLES = ("plaintiff", "defendant", "third_party")
_PLAINTIFF, _DEFENDANT, _THIRD_PARTY = range(3)
_TAX_REASONS = ("偷税", "虚开增值税专用发票", "逃避追缴欠税", "骗取出口退税")
_STATUS_EVENTS = ("bankruptcy", "deregistration", "revocation")
_BANKRUPTCY, _DEREGISTRATION, _REVOCATION = range(3)
_REVOCATION_REASONS = (
    "成立后无正当理由超过6个月未开业",
    "开业后自行停业连续6个月以上",
    "被列入严重违法失信名单",
)
_HEAD_OFFICE_CAPITAL = 5e6


@dataclass(frozen=True)
class _Extras:
    """What registries and court sources add to the city."""

    paid_in: np.ndarray  # paid-in share of the registered capital per firm, NaN when unknown
    branches: _Rows  # head, branch, from, to
    blank_contract: np.ndarray  # guarantees published without contract number
    blank_amount: np.ndarray  # ... without amount
    blank_start: np.ndarray  # ... without start
    records: dict[str, _Rows]  # lawsuit, enforcement, tax_violation, status_event


def _real_sources(
    rng: np.random.Generator,
    f: _Firms,
    span: _Span,
    k: _Knobs,
    guar: _Rows,
    records: dict[str, _Rows],
) -> _Extras:
    """Paid-in capital, branches, guarantees with unknown parts, court records, tax violations
    and status events. Troubled firms (dishonest debtors, defaulted borrowers) are sued,
    enforced against and fail more; firms at agents' addresses commit tax fraud more."""
    n = f.n
    dom = f.kind != _FOREIGN
    lo = np.where(dom, np.maximum(f.est, span.t0), _FOREVER)
    hi = np.minimum(f.dereg, span.t1)
    years = np.where(lo <= hi, (hi - lo + 1) / 365.25, 0.0)

    u = rng.random(n)
    ratio = np.where(
        u < k.paid_in_mix[0],
        1.0,
        np.where(u < sum(k.paid_in_mix), 0.0, np.round(rng.uniform(0.1, 0.9, n), 2)),
    )
    paid_in = np.where((f.kind == _COMPANY) & (rng.random(n) < k.paid_in_known), ratio, np.nan)

    # Branches: bigger independent companies open 1-4 branches among the other independent
    # companies founded after them; a branch closes when either end is deregistered.
    independent = (f.kind == _COMPANY) & (f.group < 0) & (f.agent < 0)
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
        "to": np.where(end[keep] <= span.t1, end[keep], _FOREVER),
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

    trouble = np.full(n, _FOREVER, dtype=np.int64)
    debt = records["dishonest_debtor"]
    np.minimum.at(trouble, debt["firm"], debt["start"])
    gone = guar["defaulted"] < _FOREVER
    np.minimum.at(trouble, guar["guaranteed"][gone], guar["defaulted"][gone])
    lawsuit, enforcement = _court_records(rng, f, span, k, lo, hi, years, debt)
    return _Extras(
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
    f: _Firms,
    span: _Span,
    k: _Knobs,
    lo: np.ndarray,
    hi: np.ndarray,
    years: np.ndarray,
    debt: _Rows,
) -> tuple[_Rows, _Rows]:
    """Lawsuits (one row per party on file, sharing the case number) and enforcements: every
    dishonest debtor was sued and enforced against first; some other lost suits go to
    enforcement too."""
    n = f.n
    got = np.repeat(np.arange(n), rng.poisson(k.lawsuits_per_year * years))
    day = _uniform_days(rng, lo[got], hi[got])
    role = rng.choice(3, len(got), p=(0.45, 0.45, 0.10))
    amount = np.round(rng.lognormal(math.log(2e5), 1.3, len(got)), -2)
    cause = rng.integers(0, len(_CAUSES), len(got))
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
        "end": np.full(len(firm), _FOREVER, dtype=np.int64),
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
    counterpart = _take(case, np.flatnonzero(has))
    counterpart["firm"] = other[has]
    counterpart["role"] = np.where(role[has] == _DEFENDANT, _PLAINTIFF, _DEFENDANT)
    lawsuit = _cat([case, counterpart])

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
    e_end = np.where(rng.random(len(lost)) < 0.55, closed, _FOREVER)
    firm = np.concatenate([d_firm[ok], e_firm[ok_after]])
    start = np.concatenate([before[ok], after[ok_after]])
    end = np.concatenate([debt["end"][ok], e_end[ok_after]])
    amount = np.concatenate([debt["amount"][ok], lawsuit["amount"][lost][ok_after]])
    amount[rng.random(len(amount)) < 0.05] = np.nan
    enforcement = {
        "firm": firm,
        "start": start,
        "end": _null_after(end, span),
        "amount": amount,
    }
    return lawsuit, enforcement


def _tax_violations(
    rng: np.random.Generator,
    f: _Firms,
    span: _Span,
    k: _Knobs,
    lo: np.ndarray,
    hi: np.ndarray,
    years: np.ndarray,
    trouble: np.ndarray,
) -> _Rows:
    """Serious tax violations: published three years, a quarter removed early once paid."""
    rate = k.tax_violation_rate * np.where(f.agent >= 0, 6.0, 1.0)
    rate = rate * np.where(trouble < _FOREVER, 3.0, 1.0)
    got = np.repeat(np.arange(f.n), rng.poisson(rate * years))
    day = _uniform_days(rng, lo[got], hi[got])
    keep = _keep_first(got, day)
    got, day = got[keep], day[keep]
    m = len(got)
    natural = _add_months(day, 36)
    paid = _add_months(day, rng.integers(6, 24, m))
    end = np.where(rng.random(m) < 0.25, paid, natural)
    return {
        "firm": got,
        "start": day,
        "end": _null_after(end, span),
        "reason": rng.integers(0, len(_TAX_REASONS), m),
        "amount": np.round(rng.lognormal(math.log(5e5), 1.2, m), -2),
    }


def _status_events(
    rng: np.random.Generator,
    f: _Firms,
    span: _Span,
    k: _Knobs,
    lo: np.ndarray,
    hi: np.ndarray,
    trouble: np.ndarray,
) -> _Rows:
    """Revocations and deregistrations on the day a firm ends inside the period, and
    bankruptcies of some troubled firms a few months to two years into their trouble."""
    ended = (f.dereg >= span.t0) & (f.dereg <= span.t1) & (f.kind != _FOREIGN)
    revoked = np.flatnonzero(ended & (f.status == _REVOKED))
    dereg = np.flatnonzero(ended & (f.status == _DEREGISTERED))
    troubled = np.flatnonzero(trouble < _FOREVER)
    failing = troubled[rng.random(len(troubled)) < k.bankruptcy_after_trouble]
    when = trouble[failing] + rng.integers(90, 720, len(failing))
    ok = (when >= lo[failing]) & (when <= hi[failing])
    firm = np.concatenate([failing[ok], dereg, revoked])
    event = np.concatenate(
        [
            np.full(int(ok.sum()), _BANKRUPTCY),
            np.full(len(dereg), _DEREGISTRATION),
            np.full(len(revoked), _REVOCATION),
        ]
    )
    return {
        "firm": firm,
        "start": np.concatenate([when[ok], f.dereg[dereg], f.dereg[revoked]]),
        "end": np.full(len(firm), _FOREVER, dtype=np.int64),
        "event": event,
        "reason": np.where(
            event == _REVOCATION, rng.integers(0, len(_REVOCATION_REASONS), len(firm)), -1
        ),
    }


# --------------------------------------------------------------------------- columns


def _ascii(chars: np.ndarray) -> pa.Array:
    """String column from an (n, width) array of ASCII codes, without Python strings."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    data = np.ascontiguousarray(chars, dtype=np.uint8).tobytes()
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    return ((values[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10 + ord("0")).astype(
        np.uint8
    )


def _pick(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    """``values[idx]`` as a string column; negative indices give nulls."""
    idx = np.asarray(idx, dtype=np.int64)
    return pa.array(list(values), pa.string()).take(pa.array(idx, mask=idx < 0))


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _dates(days: np.ndarray) -> pa.Array:
    null = np.abs(days) >= _FOREVER
    return pa.array(np.where(null, 0, days).astype("datetime64[D]"), mask=null, type=pa.date32())


def _floats(values: np.ndarray) -> pa.Array:
    return pa.array(values, mask=np.isnan(values), type=pa.float64())


def _doc_numbers(issuer: np.ndarray, day: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Year and number of each document, numbered 1, 2, … by date per issuer and year."""
    year = _years(day)
    key = issuer * 10000 + year
    order = np.lexsort((day, key))
    first = _first_of_group(key[order])
    pos = np.arange(len(key))
    seq = np.empty(len(key), dtype=np.int64)
    seq[order] = pos - np.maximum.accumulate(np.where(first, pos, 0)) + 1
    return _text(year), _text(seq)


def _enterprise_ids(rng: np.random.Generator, f: _Firms) -> pa.Array:
    dom = np.flatnonzero(f.kind != _FOREIGN)
    n = len(dom)
    body = np.empty((n, 17), dtype=np.uint8)
    body[:, 0] = ord("9")  # registered by the market regulator
    body[:, 1] = np.where(f.kind[dom] == _INDIVIDUAL, ord("2"), ord("1"))
    codes = np.frombuffer("".join(d[0] for d in _DISTRICTS).encode("ascii"), np.uint8)
    body[:, 2:8] = codes.reshape(-1, 6)[f.region[dom]]
    # Organisation codes issued since the reform of October 2015 start with "MA"; older
    # firms kept their numeric organisation code.
    new = f.est[dom] >= (date(2015, 10, 1) - _EPOCH).days
    alphabet = np.frombuffer(USCC_ALPHABET.encode("ascii"), np.uint8)
    ma = _distinct(rng, int(new.sum()), 31**7)
    body[new, 8], body[new, 9] = ord("M"), ord("A")
    body[new, 10:17] = alphabet[(ma[:, None] // 31 ** np.arange(6, -1, -1)) % 31]
    body[~new, 8:17] = _digits(_distinct(rng, int((~new).sum()), 10**9), 9)
    uscc = _ascii(np.concatenate([body, uscc_check_char_array(body)[:, None]], axis=1))
    foreign = np.flatnonzero(f.kind == _FOREIGN)
    number = _distinct(rng, len(foreign), 9_000_000) + 1_000_000
    external = _join(
        "FOREIGN:", _pick([c[0] for c in _COUNTRIES], f.country[foreign]), ":", _text(number)
    )
    return pa.concat_arrays([uscc, external])


def _enterprise_names(rng: np.random.Generator, f: _Firms, groups: _Groups) -> pa.Array:
    dom = np.flatnonzero(f.kind != _FOREIGN)
    n = len(dom)
    kind, region = f.kind[dom], f.region[dom]
    brand = rng.integers(0, len(_BRAND_CHARS), (n, 2))
    # Members of a group share its brand (字号).
    group_brand = rng.integers(0, len(_BRAND_CHARS), (len(groups.sizes), 2))
    in_group = f.group[dom] >= 0
    brand[in_group] = group_brand[f.group[dom][in_group]]
    words = [w for s in _SECTIONS for w in s[2]]
    n_words = np.array([len(s[2]) for s in _SECTIONS])
    first_word = np.cumsum(n_words) - n_words
    sec = f.industry[dom]
    word = first_word[sec] + np.floor(rng.random(n) * n_words[sec]).astype(np.int64)
    shop = kind == _INDIVIDUAL
    word[shop] = len(words) + rng.integers(0, len(_INDIVIDUAL_WORDS), int(shop.sum()))
    top = f.is_top[dom]
    word[top] = len(words) + len(_INDIVIDUAL_WORDS)
    forms = ("有限公司", "有限责任公司", "集团有限公司", "")
    form = np.where(rng.random(n) < 0.07, 1, 0)
    form[top], form[shop] = 2, 3
    prefixes = [d[2] for d in _DISTRICTS] + [d[1] for d in _DISTRICTS]
    domestic = _join(
        _pick(prefixes, region + np.where(shop, len(_DISTRICTS), 0)),
        _pick(_BRAND_CHARS, brand[:, 0]),
        _pick(_BRAND_CHARS, brand[:, 1]),
        _pick([*words, *_INDIVIDUAL_WORDS, "控股"], word),
        _pick(forms, form),
    )
    foreign = np.flatnonzero(f.kind == _FOREIGN)
    m = len(foreign)
    abroad = _join(
        _pick(_FOREIGN_WORDS, rng.integers(0, len(_FOREIGN_WORDS), m)),
        " ",
        _pick(_FOREIGN_WORDS, rng.integers(0, len(_FOREIGN_WORDS), m)),
        _pick([c[2] for c in _COUNTRIES], f.country[foreign]),
    )
    return pa.concat_arrays([domestic, abroad])


def _contacts(
    rng: np.random.Generator, f: _Firms, groups: _Groups
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Addresses, phones and e-mails; shared by agents' firms, groups and serial owners."""
    n_dom = f.n_dom
    n_for = f.n - n_dom
    agent = f.agent[:n_dom]
    at_agent = agent >= 0
    top_of = np.full(n_dom, -1, dtype=np.int64)
    top_of[groups.member] = groups.member[np.cumsum(groups.sizes) - groups.sizes][groups.gid]
    shares_top = (top_of >= 0) & ~f.is_top[:n_dom]

    def addresses(region: np.ndarray) -> pa.Array:
        m = len(region)
        room = rng.random(m) < 0.6
        return _join(
            "浙江省",
            _pick([d[1] for d in _DISTRICTS], region),
            _pick(_ROADS, rng.integers(0, len(_ROADS), m)),
            _text(rng.integers(1, 1500, m)),
            "号",
            pc.if_else(
                pa.array(room),
                _join(
                    _text(rng.integers(1, 31, m)),
                    "幢",
                    _text(rng.integers(1, 26, m) * 100 + rng.integers(1, 21, m)),
                    "室",
                ),
                "",
            ),
        )

    own = addresses(f.region[:n_dom])
    hosts = addresses(f.agent_region)
    which = np.arange(n_dom)
    which[at_agent] = n_dom + agent[at_agent]
    with_top = shares_top & (rng.random(n_dom) < 0.35)
    which[with_top] = top_of[with_top]
    address = pa.concat_arrays([own, hosts]).take(pa.array(which))

    # Phones as numbers: mobiles 1xxxxxxxxxx, landlines 0574xxxxxxxx (stored without the 0).
    second_digit = np.array([3, 5, 7, 8, 9])

    def mobiles(key: np.ndarray) -> np.ndarray:
        # One fixed mobile per key (a person): distinct keys give distinct numbers.
        return np.asarray(
            10**10 + second_digit[key % 5] * 10**9 + (key // 5 * 7919 + 12345) % 10**9
        )

    u = rng.random(n_dom)
    phone = np.where(
        u < 0.65,
        mobiles(rng.integers(0, 5 * 10**9, n_dom)),
        574 * 10**8 + rng.integers(2 * 10**7, 9 * 10**7, n_dom),
    )
    land = u >= 0.65
    owner = f.rep0[:n_dom]
    use_owner = (owner >= 0) & (top_of < 0) & ~at_agent & (rng.random(n_dom) < 0.4)
    phone[use_owner] = mobiles(owner[use_owner])
    land[use_owner] = False
    agent_phone = 574 * 10**8 + rng.integers(2 * 10**7, 9 * 10**7, f.n_agents)
    use_agent = at_agent & (rng.random(n_dom) < 0.5)
    phone[use_agent] = agent_phone[agent[use_agent]]
    land[use_agent] = True
    use_top = shares_top & (rng.random(n_dom) < 0.3)
    phone[use_top], land[use_top] = phone[top_of[use_top]], land[top_of[use_top]]
    text = _text(phone)
    phones = pc.if_else(pa.array(land), _join("0", text), text)
    phones = pc.if_else(pa.array(rng.random(n_dom) < 0.05), pa.scalar(None, pa.string()), phones)

    # E-mails: an agent's mailbox, the owner's QQ mailbox, the group's, or the firm's own.
    local = rng.integers(10**5, 10**9, n_dom)
    domain = rng.integers(0, len(_EMAIL_DOMAINS), n_dom)
    use_owner = (owner >= 0) & (top_of < 0) & ~at_agent & (rng.random(n_dom) < 0.4)
    local[use_owner] = 10**8 + (owner[use_owner] * 7919 + 1009) % (9 * 10**8)
    domain[use_owner] = _EMAIL_DOMAINS.index("qq.com")
    agent_box = 10**8 + (np.arange(f.n_agents) * 104729 + 777) % (9 * 10**8)
    use_agent = at_agent & (rng.random(n_dom) < 0.5)
    local[use_agent] = agent_box[agent[use_agent]]
    domain[use_agent] = _EMAIL_DOMAINS.index("163.com")
    use_top = shares_top & (rng.random(n_dom) < 0.3)
    local[use_top], domain[use_top] = local[top_of[use_top]], domain[top_of[use_top]]
    emails = _join(_text(local), "@", _pick(_EMAIL_DOMAINS, domain))
    present = rng.random(n_dom) < np.where(f.kind[:n_dom] == _INDIVIDUAL, 0.3, 0.65)
    emails = pc.if_else(pa.array(present), emails, pa.scalar(None, pa.string()))
    nulls = pa.nulls(n_for, pa.string())
    return (
        pa.concat_arrays([address, nulls]),
        pa.concat_arrays([phones, nulls]),
        pa.concat_arrays([emails, nulls]),
    )


def _person_columns(
    rng: np.random.Generator,
    n_people: int,
    span: _Span,
    reps: _Rows,
    officers: _Rows,
    holdings: _Rows,
) -> tuple[pa.Array, pa.Array]:
    """Resident ID numbers and names, with birth dates fitting each person's first role."""
    is_person = holdings["kind"] == _PERSON
    who = np.concatenate([reps["person"], officers["person"], holdings["holder"][is_person]])
    since = np.concatenate([reps["from"], officers["from"], holdings["from"][is_person]])
    first = np.full(n_people, _FOREVER, dtype=np.int64)
    known = since > -_FOREVER
    np.minimum.at(first, who[known], since[known])
    first = np.where(first < _FOREVER, first, span.t0)
    age = np.clip(rng.normal(37, 9, n_people), 20, 62) * 365.25
    born = first - age.astype(np.int64) - rng.integers(0, 365, n_people)
    born = np.maximum(born, (date(1935, 1, 1) - _EPOCH).days)
    region = rng.choice(len(_BIRTH_REGIONS), n_people, p=_probs(r[1] for r in _BIRTH_REGIONS))
    male = rng.random(n_people) < 0.7
    # Sequence numbers: odd for men, even for women (GB 11643); redrawn until unique.
    seq = rng.integers(0, 500, n_people) * 2 + male
    key = (region * 100_000 + (born + 50_000)) * 1000
    while True:
        _, first_of = np.unique(key + seq, return_index=True)
        if len(first_of) == n_people:
            break
        again = np.ones(n_people, dtype=bool)
        again[first_of] = False
        seq[again] = rng.integers(0, 500, int(again.sum())) * 2 + male[again]
    d = born.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    mo = d.astype("datetime64[M]")
    ymd = (
        (y.astype(np.int64) + 1970) * 10000
        + (mo - y.astype("datetime64[M]")).astype(np.int64) * 100
        + 100
        + (d - mo.astype("datetime64[D]")).astype(np.int64)
        + 1
    )
    codes = np.frombuffer("".join(r[0] for r in _BIRTH_REGIONS).encode("ascii"), np.uint8)
    body = np.concatenate([codes.reshape(-1, 6)[region], _digits(ymd, 8), _digits(seq, 3)], axis=1)
    ids = _ascii(np.concatenate([body, resident_id_check_char_array(body)[:, None]], axis=1))

    weights = 1.0 / (np.arange(len(_SURNAMES)) + 4)
    surname = rng.choice(len(_SURNAMES), n_people, p=weights / weights.sum())
    n_m, n_f = len(_MALE_GIVEN), len(_FEMALE_GIVEN)
    given = [*_MALE_GIVEN, *_FEMALE_GIVEN]

    def given_char() -> np.ndarray:
        return np.where(male, rng.integers(0, n_m, n_people), n_m + rng.integers(0, n_f, n_people))

    g1, g2 = given_char(), given_char()
    g2[rng.random(n_people) < 0.3] = -1
    names = _join(_pick(_SURNAMES, surname), _pick(given, g1), pc.fill_null(_pick(given, g2), ""))
    return ids, names


def _no_text(rows: np.ndarray | pa.Array) -> pa.Array:
    """An empty text column as long as ``rows``."""
    return pa.nulls(len(rows), pa.string())


def _table(fields: tuple[FieldSpec, ...], columns: Mapping[str, pa.Array], what: str) -> pa.Table:
    """Columns in contract order and types; refuses values the contract would reject."""
    names = [s.name for s in fields]
    if set(columns) != set(names):
        raise RuntimeError(f"{what}: generator columns {sorted(columns)} != contract {names}")
    arrays = []
    for spec in fields:
        col = columns[spec.name].cast(spec.arrow_type)
        if spec.required and col.null_count:
            raise RuntimeError(f"{what}.{spec.name}: required but has nulls")
        if spec.values:
            extra = set(pc.unique(col).drop_null().to_pylist()) - set(spec.values)
            if extra:
                raise RuntimeError(f"{what}.{spec.name}: values {sorted(extra)} not in contract")
        arrays.append(col)
    schema = pa.schema([pa.field(s.name, s.arrow_type) for s in fields])
    return pa.Table.from_arrays(arrays, schema=schema)


def _tables(
    rng: np.random.Generator,
    f: _Firms,
    groups: _Groups,
    n_people: int,
    holdings: _Rows,
    reps: _Rows,
    officers: _Rows,
    guar: _Rows,
    records: dict[str, _Rows],
    span: _Span,
    extras: _Extras,
) -> dict[str, pa.Table]:
    """Every contract table, keyed by file name, in the contract's order."""
    domain = load_domain()
    ent = _enterprise_ids(rng, f)
    person, person_name = _person_columns(rng, n_people, span, reps, officers, holdings)
    address, phone, email = _contacts(rng, f, groups)

    def firm_ids(idx: np.ndarray) -> pa.Array:
        return ent.take(pa.array(idx))

    def person_ids(idx: np.ndarray) -> pa.Array:
        return person.take(pa.array(idx))

    nodes = {
        "Enterprise": {
            "id": ent,
            "name": _branch_names(_enterprise_names(rng, f, groups), f, extras.branches),
            "region_code": _pick([d[0] for d in _DISTRICTS], f.region),
            "industry": _pick([s[0] for s in _SECTIONS], f.industry),
            "registered_capital": _floats(f.capital),
            "paid_in_capital": _floats(np.round(f.capital * extras.paid_in, 2)),
            "established_on": _dates(f.est),
            "deregistered_on": _dates(f.dereg),
            "status": _pick(_STATUS, f.status),
            "address": address,
            "phone": phone,
            "email": email,
        },
        # Every person of the city has an ID number: no source ids, nobody by name only.
        "Person": {"id_number": person, "source_id": _no_text(person), "name": person_name},
    }
    is_person = holdings["kind"] == _PERSON
    holder = holdings["holder"]
    year, _ = _doc_numbers(np.zeros(len(guar["from"]), dtype=np.int64), guar["from"])
    relations = {
        "LEGAL_REP": {
            "person_id_number": person_ids(reps["person"]),
            "person_name": _no_text(reps["person"]),
            "enterprise_id": firm_ids(reps["firm"]),
            "valid_from": _dates(reps["from"]),
            "valid_to": _dates(reps["to"]),
        },
        "OFFICER": {
            "person_id_number": person_ids(officers["person"]),
            "person_name": _no_text(officers["person"]),
            "enterprise_id": firm_ids(officers["firm"]),
            "role": _pick(_ROLES, officers["role"]),
            "valid_from": _dates(officers["from"]),
            "valid_to": _dates(officers["to"]),
        },
        "HOLDS_SHARES": {
            "holder_type": _pick(_HOLDER_TYPES, np.where(is_person, 0, 1)),
            "holder_id": pc.if_else(
                pa.array(is_person),
                person_ids(np.where(is_person, holder, 0)),
                firm_ids(np.where(is_person, 0, holder)),
            ),
            "holder_name": _no_text(holder),
            "enterprise_id": firm_ids(holdings["firm"]),
            "share": _floats(holdings["share"]),
            "subscribed_amount": _floats(holdings["subscribed"]),
            "paid_in_amount": _floats(
                np.round(holdings["subscribed"] * extras.paid_in[holdings["firm"]], 2)
            ),
            "valid_from": _dates(holdings["from"]),
            "valid_to": _dates(holdings["to"]),
        },
        "GUARANTEES": {
            "contract_no": pc.if_else(
                pa.array(extras.blank_contract),
                pa.scalar(None, pa.string()),
                _join(
                    _pick(_BANKS, guar["bank"]),
                    year,
                    "BZ",
                    pc.utf8_lpad(_text(guar["seq"]), 7, "0"),
                ),
            ),
            "guarantor_id": firm_ids(guar["guarantor"]),
            "guaranteed_id": firm_ids(guar["guaranteed"]),
            "amount": _floats(np.where(extras.blank_amount, np.nan, guar["amount"])),
            "currency": _pick(("CNY", "USD"), guar["currency"]),
            "valid_from": _dates(np.where(extras.blank_start, _FOREVER, guar["from"])),
            "valid_to": _dates(guar["to"]),
            "defaulted_on": _dates(guar["defaulted"]),
        },
        "HAS_BRANCH": {
            "head_office_id": firm_ids(extras.branches["head"]),
            "branch_id": firm_ids(extras.branches["branch"]),
            "valid_from": _dates(extras.branches["from"]),
            "valid_to": _dates(extras.branches["to"]),
        },
    }
    kinds = {name: _record_columns(name, rows, f, firm_ids) for name, rows in records.items()}

    out: dict[str, pa.Table] = {}
    for node in domain.nodes:
        out[node.file] = _table(node.input_fields, nodes[node.label], node.label)
    for rel in domain.relations:
        out[rel.file] = _table(rel.input_fields, relations[rel.type], rel.type)
    for rec in domain.records:
        out[rec.file] = _table(rec.fields, kinds[rec.kind], rec.kind)
    return out


def _record_columns(
    kind: str, rows: _Rows, f: _Firms, firm_ids: Callable[[np.ndarray], pa.Array]
) -> dict[str, pa.Array]:
    firm, start = rows["firm"], rows["start"]
    region = f.region[firm]
    amr = [d[1] + "市场监督管理局" for d in _DISTRICTS]
    abbr = [d[3] for d in _DISTRICTS]
    cols: dict[str, pa.Array] = {
        "enterprise_id": firm_ids(firm),
        "start": _dates(start),
        "end": _dates(rows["end"]),
        # The demo city has no credit repairs or objections yet: those columns are empty.
        "repaired_on": pa.nulls(len(firm), pa.date32()),
        "disputed_on": pa.nulls(len(firm), pa.date32()),
        "dispute_resolved_on": pa.nulls(len(firm), pa.date32()),
        "dispute_upheld": pa.nulls(len(firm), pa.bool_()),
    }
    if kind == "abnormal_list":
        year, seq = _doc_numbers(region, start)
        cols["record_no"] = _join(_pick(abbr, region), "市监异〔", year, "〕", seq, "号")
        cols["reason"] = _pick(_ABNORMAL_REASONS, rows["reason"])
        cols["authority"] = _pick(amr, region)
    elif kind == "black_list":
        year, seq = _doc_numbers(np.zeros(len(firm), dtype=np.int64), start)
        cols["record_no"] = _join("甬市监严〔", year, "〕", seq, "号")
        cols["reason"] = _pick(_BLACK_REASONS, rows["reason"])
        cols["authority"] = _pick(("宁波市市场监督管理局",), np.zeros(len(firm), dtype=np.int64))
    elif kind == "dishonest_debtor":
        year, seq = _doc_numbers(region, start)
        court = _pick([d[0][2:] for d in _DISTRICTS], region)
        cols["record_no"] = _join("（", year, "）浙", court, "执", seq, "号")
        cols["authority"] = _pick([d[1] + "人民法院" for d in _DISTRICTS], region)
        cols["amount"] = _floats(rows["amount"])
    elif kind == "penalty":
        year, seq = _doc_numbers(rows["authority"], start)
        prefix = [a + "市监罚" for a in abbr] + [a[1] for a in _OTHER_AUTHORITIES]
        cols["record_no"] = _join(_pick(prefix, rows["authority"]), "〔", year, "〕", seq, "号")
        cols["authority"] = _pick(amr + [a[0] for a in _OTHER_AUTHORITIES], rows["authority"])
        cols["amount"] = _floats(rows["amount"])
        cols["severity"] = _pick(_SEVERITIES, rows["severity"])
        cols["sector"] = _pick(_SECTORS, rows["sector"])
    elif kind == "commitment":
        year, seq = _doc_numbers(rows["authority"], start)
        prefix = [a[1] for a in _COMMITMENT_AUTHORITIES]
        cols["record_no"] = _join(_pick(prefix, rows["authority"]), "〔", year, "〕", seq, "号")
        cols["authority"] = _pick([a[0] for a in _COMMITMENT_AUTHORITIES], rows["authority"])
        kept = rows["kept"]
        cols["kept"] = pa.array(kept == 1, mask=kept < 0, type=pa.bool_())
    elif kind == "inspection":
        year, seq = _doc_numbers(region, start)
        cols["record_no"] = _join(_pick(abbr, region), "市监抽〔", year, "〕", seq, "号")
        cols["item"] = _pick(_INSPECTION_ITEMS, rows["item"])
        cols["finding"] = _pick(_FINDINGS, rows["finding"])
        cols["authority"] = _pick(amr, region)
    elif kind == "lawsuit":
        court = _pick([d[0][2:] for d in _DISTRICTS], rows["court"])
        _, first, at = np.unique(rows["case"], return_index=True, return_inverse=True)
        year, seq = _doc_numbers(rows["court"][first], start[first])
        where = pa.array(at)
        cols["record_no"] = _join(
            "（", year.take(where), "）浙", court, "民初", seq.take(where), "号"
        )
        cols["role"] = _pick(_LAWSUIT_ROLES, rows["role"])
        cols["cause"] = _pick(_CAUSES, rows["cause"])
        cols["amount"] = _floats(rows["amount"])
        cols["authority"] = _pick([d[1] + "人民法院" for d in _DISTRICTS], rows["court"])
    elif kind == "enforcement":
        year, seq = _doc_numbers(region, start)
        court = _pick([d[0][2:] for d in _DISTRICTS], region)
        # Numbered apart from the dishonest-debtor listings of the same courts.
        number = pc.cast(pc.add(pc.cast(seq, pa.int64()), 5000), pa.string())
        cols["record_no"] = _join("（", year, "）浙", court, "执", number, "号")
        cols["authority"] = _pick([d[1] + "人民法院" for d in _DISTRICTS], region)
        cols["amount"] = _floats(rows["amount"])
    elif kind == "tax_violation":
        year, seq = _doc_numbers(np.zeros(len(firm), dtype=np.int64), start)
        cols["record_no"] = _join("甬税稽罚〔", year, "〕", seq, "号")
        cols["reason"] = _pick(_TAX_REASONS, rows["reason"])
        cols["authority"] = _pick(("国家税务总局宁波市税务局",), np.zeros(len(firm), np.int64))
        cols["amount"] = _floats(rows["amount"])
    elif kind == "status_event":
        event = rows["event"]
        # One court numbers every bankruptcy; registration bureaus number by district.
        issuer = np.where(event == _BANKRUPTCY, -1, event * 100 + np.maximum(region, 0))
        year, seq = _doc_numbers(issuer, start)
        bureau = np.array([a + "市监" for a in abbr])
        head = np.where(
            event == _BANKRUPTCY,
            "（",
            bureau[np.maximum(region, 0)] + np.where(event == _REVOCATION, "吊〔", "注〔"),
        )
        tail = np.where(event == _BANKRUPTCY, "）浙02破申", "〕")
        cols["record_no"] = _join(_text_of(head), year, _text_of(tail), seq, "号")
        cols["event"] = _pick(_STATUS_EVENTS, event)
        cols["authority"] = pc.if_else(
            pa.array(event == _BANKRUPTCY),
            pa.scalar("宁波市中级人民法院"),
            _pick(amr, np.maximum(region, 0)),
        )
        cols["reason"] = _pick(_REVOCATION_REASONS, rows["reason"])
    else:
        raise RuntimeError(f"the generator knows no record kind {kind!r}")
    return cols


def _text_of(values: np.ndarray) -> pa.Array:
    """A string column from a NumPy array of strings (a few distinct values)."""
    uniques, index = np.unique(values, return_inverse=True)
    return _pick([str(u) for u in uniques], index)


def _branch_names(names: pa.Array, f: _Firms, branches: _Rows) -> pa.Array:
    """A branch is named after its head office and its district: `…有限公司海曙分公司`."""
    if not len(branches["branch"]):
        return names
    district = [d[1].removeprefix("宁波市")[:-1] for d in _DISTRICTS]
    named = _join(
        names.take(pa.array(branches["head"])),
        _pick(district, f.region[branches["branch"]]),
        "分公司",
    )
    index = np.full(len(names), -1, dtype=np.int64)
    index[branches["branch"]] = np.arange(len(branches["branch"]))
    return pc.if_else(pa.array(index >= 0), named.take(pa.array(np.maximum(index, 0))), names)
