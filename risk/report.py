"""A one-enterprise report a person can file: HTML, printable to PDF, readable offline.

A bank officer attaches it to a loan file, an inspector takes it on a visit. It holds the
enterprise's identity, its screening level, its grade, score and reasons with evidence, its
records, its holders and beneficial owners, a picture of its related parties (an inline SVG:
no script, no external file), the date it speaks of, where the data came from, and when and
for whom it was made.

Everything is read from one served snapshot (:class:`~risk.snapshot_index.SnapshotIndex` and
the :class:`~graph_model.snapshot.Snapshot` it was built on), so the API and the board, which
both serve snapshots taken from either store, make the same report. The reader's role decides
the sections, as it decides the API's routes (:class:`Reader`, which ``access.keyring.Caller``
is): grade, score and reasons for those who see grades; the screening level for those who
screen; ownership and the graph for those who explore; persons' names as the reader may see
them. Lives below the API and the board, which both import it.

The page is a Jinja2 template (``report.html.j2``) with autoescape on: names and record
texts come from registers and may hold markup. Costs: a binary search, the enterprise's
records filtered from the snapshot's record table (a vectorised scan), one screening (two-hop
walk) and the template; docs/benchmarks.md has the figures at 1M enterprises.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import jinja2
import numpy as np
import pyarrow.compute as pc

from graph_model.industries import industry_name
from graph_model.regions import region_name
from graph_model.snapshot import Snapshot
from risk.model.reasons import Reason
from risk.screening import record_statuses, screen
from risk.snapshot_index import SnapshotIndex, Stake
from risk.wording import Language, evidence_text, label, money, reason_sentence, record_detail

TEMPLATE = "report.html.j2"
HOLDERS_SHOWN = 20
"""Holders listed by name; the others are counted ("and N more")."""
GRAPH_NODES = 24
"""Neighbours drawn around the enterprise; the others are counted under the picture."""
LABEL_CHARS = 12
"""Characters of a name written beside a node; the full name is its tooltip."""

_RELATION_ORDER = ("LEGAL_REP", "HOLDS_SHARES", "OFFICER", "GUARANTEES")
_EDGE_COLOURS = {
    "LEGAL_REP": "#1565c0",
    "OFFICER": "#78909c",
    "HOLDS_SHARES": "#00897b",
    "GUARANTEES": "#8d6e63",
}
_WIDTH, _RADIUS = 760, 230
"""Width of the picture and the radius of its circle when full; a few neighbours sit on a
smaller circle, so that the picture is not mostly blank."""

# The report's own words (headings, field names); the domain's words (statuses, record
# kinds, relations) come from risk/wording.yaml.
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("企业信用报告", "Enterprise credit report"),
    "identity": ("基本信息", "Identity"),
    "uscc": ("统一社会信用代码", "USCC"),
    "status": ("登记状态", "Status"),
    "legal_rep": ("法定代表人", "Legal representative"),
    "region": ("所在地区", "Region"),
    "industry": ("行业", "Industry"),
    "capital": ("注册资本", "Registered capital"),
    "paid_in": ("实缴资本", "Paid-in capital"),
    "established": ("成立日期", "Established"),
    "deregistered": ("注销日期", "Deregistered"),
    "address": ("住所", "Address"),
    "screening": ("筛查等级", "Screening level"),
    "level_low": ("低", "low"),
    "level_elevated": ("较高", "elevated"),
    "level_high": ("高", "high"),
    "findings": ("依据", "Findings"),
    "risk": ("信用等级", "Risk grade"),
    "grade": ("等级", "Grade"),
    "score": ("分数", "Score"),
    "rank": ("排名", "Rank"),
    "scored_on": ("评分日期", "Scored on"),
    "no_grade": ("该日期无评分。", "Not graded on this date."),
    "reasons": ("主要原因及证据", "Reasons and evidence"),
    "no_reasons": ("该日期未保存原因。", "No reasons were stored for this date."),
    "records": ("记录", "Records"),
    "kind": ("类别", "Kind"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "in_force": ("有效", "In force"),
    "disputed": ("异议中", "Disputed"),
    "detail": ("内容", "Detail"),
    "authority": ("机关", "Authority"),
    "yes": ("是", "yes"),
    "no_records": ("无记录。", "No records."),
    "ownership": ("股东与受益所有人", "Holders and beneficial owners"),
    "holder": ("股东", "Holder"),
    "direct": ("直接持股", "Direct"),
    "integrated": ("综合持股", "Integrated"),
    "person": ("自然人", "person"),
    "no_holders": ("快照中无股东。", "No holders in the snapshot."),
    "beneficial": ("受益所有人（≥25%）", "Beneficial owners (≥ 25 %)"),
    "senior_manager": (
        "无人持股达 25%：法定代表人作为高级管理人员",
        "Nobody holds 25 %: the legal representative as senior manager",
    ),
    "none": ("无", "none"),
    "more": ("另有 {n} 个", "and {n} more"),
    "graph": ("关联关系图", "Related parties"),
    "bad": ("有不良记录", "bad record"),
    "withheld": ("此角色不可见。", "Not shown to this role."),
    "source": ("数据来源", "Data source"),
    "as_of": ("数据日期", "As of"),
    "store": ("图存储", "Graph store"),
    "snapshot": ("快照日期", "Snapshot"),
    "model": ("模型版本", "Model version"),
    "scores": ("评分月份", "Scores of"),
    "made": ("生成时间", "Made at"),
    "made_for": ("生成对象", "Made for"),
    "role_regulator": ("监管", "regulator"),
    "role_bank": ("银行", "bank"),
    "role_analyst": ("分析", "analyst"),
}


class Reader(Protocol):
    """Who the report is made for (``access.keyring.Caller`` is one): the name and role it
    is made for, what that role may see, and persons' names as it may see them."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def sees_grades(self) -> bool: ...
    @property
    def sees_screening(self) -> bool: ...
    @property
    def sees_graph(self) -> bool: ...
    def person_name(self, name: str | None) -> str | None: ...


class Grading(Protocol):
    """A stored grade as both faces hold one (``GradeRecord``, the board's ``Graded``)."""

    @property
    def as_of(self) -> date: ...
    @property
    def model_version(self) -> str: ...
    @property
    def grade(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def rank(self) -> int: ...
    @property
    def population(self) -> int: ...
    @property
    def reasons(self) -> list[Reason] | None: ...


@dataclass(frozen=True)
class Source:
    """Where the report's data came from: the store the snapshot was taken from and the
    stored scores (None without any)."""

    store: str
    model_version: str | None = None
    scores_as_of: date | None = None

    @classmethod
    def of(cls, neo4j_uri: str | None, scores: Scored | None) -> Source:
        """The source of settings naming ``neo4j_uri`` (None: the embedded store) and of
        the scores (or the grade) shown."""
        return cls(
            store="Neo4j" if neo4j_uri else "LadybugDB (embedded)",
            model_version=scores.model_version if scores is not None else None,
            scores_as_of=scores.as_of if scores is not None else None,
        )


class Scored(Protocol):
    """Stored scores or one grade of them: the model that made them and their date."""

    @property
    def model_version(self) -> str: ...

    @property
    def as_of(self) -> date: ...


@dataclass(frozen=True)
class Node:
    """A node of the picture: where, what it says, and how it is drawn."""

    x: float
    y: float
    label: str
    title: str
    kind: str
    """``center``, ``enterprise``, ``bad`` (an enterprise with a bad record) or ``person``."""


@dataclass(frozen=True)
class Line:
    """An edge of the picture from the centre to a neighbour, with its relation's word."""

    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    dashed: bool
    words: str


@dataclass(frozen=True)
class Picture:
    """The related-party picture: nodes, lines, the relations shown and the neighbours left
    out."""

    nodes: tuple[Node, ...]
    lines: tuple[Line, ...]
    legend: tuple[tuple[str, str, bool], ...]
    more: int
    width: int
    height: int


def report_context(
    index: SnapshotIndex,
    snapshot: Snapshot,
    enterprise_id: str,
    reader: Reader,
    *,
    grade: Grading | None,
    source: Source,
    lang: Language = "zh",
    made_at: datetime | None = None,
) -> dict[str, Any] | None:
    """What the report's template (:func:`render`) is filled with for an enterprise; None
    when the snapshot does not hold it.

    ``index`` must be built on ``snapshot``; ``grade`` is the stored grade to show (only a
    reader who sees grades gets it); ``made_at`` defaults to now (UTC).
    """
    row = index.enterprise(enterprise_id)
    if row is None:
        return None
    words = {key: pair[0] if lang == "zh" else pair[1] for key, pair in _WORDS.items()}
    records = _records(snapshot, row)
    context: dict[str, Any] = {
        "lang": lang,
        "w": words,
        "id": enterprise_id,
        "identity": _identity(index, snapshot, row, reader, lang),
        "records": _record_rows(records, index.as_of, lang),
        "as_of": index.as_of,
        "source": source,
        "made_at": (made_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        "reader": reader,
        "role": words.get(f"role_{reader.role}", reader.role),
        "screening": None,
        "grade": None,
        "ownership": None,
        "picture": None,
    }
    if reader.sees_screening:
        found = screen(enterprise_id, records, index)
        context["screening"] = {
            "level": found.level,
            "word": words[f"level_{found.level}"],
            "findings": [f.text for f in found.findings],
        }
    if reader.sees_grades:
        context["grade"] = _grade(index, grade, lang)
    if reader.sees_graph:
        context["ownership"] = _ownership(index, row, reader, lang)
        context["picture"] = ego_picture(index, row, reader, lang)
    return context


def render(context: dict[str, Any]) -> str:
    """The report's template filled with ``context``, every value escaped."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template(TEMPLATE).render(context)


def _records(snapshot: Snapshot, row: int) -> list[dict[str, Any]]:
    """The enterprise's records in the snapshot, as the store gives them (no row number)."""
    table = snapshot.records
    mine = table.filter(pc.equal(table["enterprise"], row)).drop_columns(["enterprise"])
    return [{k: v for k, v in r.items() if v is not None} for r in mine.to_pylist()]


def _person(index: SnapshotIndex, node: int, reader: Reader) -> str:
    name = index.names[node]
    return reader.person_name(str(name) if name is not None else None) or "—"


def _name(index: SnapshotIndex, node: int, reader: Reader) -> str:
    """A node's name as the reader may see it."""
    if index.is_person(node):
        return _person(index, node, reader)
    name = index.names[node]
    return str(name) if name is not None else str(index.ids[node])


def _identity(
    index: SnapshotIndex, snapshot: Snapshot, row: int, reader: Reader, lang: Language
) -> dict[str, Any]:
    ent = snapshot.enterprises.slice(row, 1).to_pylist()[0]
    reps = [_person(index, p, reader) for p in index.legal_representatives(row)]
    return {
        "name": ent.get("name") or ent["id"],
        "status": label("status", ent.get("status"), lang) or "—",
        "legal_rep": "、".join(reps) if reps else "—",
        "region": region_name(ent.get("region_code"), lang) if ent.get("region_code") else "—",
        "industry": industry_name(ent.get("industry"), lang) or "—",
        "capital": money(ent.get("registered_capital")),
        "paid_in": money(ent.get("paid_in_capital")),
        "established": ent.get("established_on") or "—",
        "deregistered": ent.get("deregistered_on"),
        "address": ent.get("address") or "—",
    }


def _record_rows(
    records: list[dict[str, Any]], as_of: date, lang: Language
) -> list[dict[str, Any]]:
    """The records as they count on the snapshot's date, newest first."""
    rows = [
        {
            "kind": label("record_kind", s.record["kind"], lang),
            "start": s.record.get("start") or "—",
            "end": s.record.get("end") or "—",
            "in_force": s.in_force,
            "disputed": s.disputed,
            "detail": record_detail(s.record, lang),
            "authority": s.record.get("authority") or "",
        }
        for s in record_statuses(records, as_of)
    ]
    return sorted(rows, key=lambda r: str(r["start"]), reverse=True)


def _grade(index: SnapshotIndex, grade: Grading | None, lang: Language) -> dict[str, Any]:
    if grade is None:
        return {"found": False}

    def name(node_id: str) -> str | None:
        node = index.node(node_id)
        return None if node is None else str(index.names[node])

    reasons = [
        {
            "sentence": reason_sentence(r.feature, r.value, lang, r.sentence),
            "evidence": [evidence_text(e.steps, lang, e.text, name) for e in r.evidence],
        }
        for r in grade.reasons or ()
    ]
    return {
        "found": True,
        "grade": grade.grade,
        "score": f"{grade.score:.3f}",
        "rank": f"{grade.rank:,} / {grade.population:,}",
        "as_of": grade.as_of,
        "model_version": grade.model_version,
        "reasons": reasons,
        "explained": grade.reasons is not None,
    }


def _share(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.1%}"


def _stakes(index: SnapshotIndex, stakes: Sequence[Stake], reader: Reader) -> list[dict[str, Any]]:
    return [
        {
            "name": _name(index, s.holder, reader),
            "id": None if index.is_person(s.holder) else str(index.ids[s.holder]),
            "direct": _share(s.direct),
            "integrated": _share(s.integrated),
        }
        for s in stakes
    ]


def _ownership(index: SnapshotIndex, row: int, reader: Reader, lang: Language) -> dict[str, Any]:
    holders = index.holders(row)
    owners = index.beneficial_owners(row)
    basis = "equity"
    fallback: list[str] = []
    if not owners:
        fallback = [_person(index, p, reader) for p in index.legal_representatives(row)]
        basis = "senior_manager" if fallback else "none"
    return {
        "holders": _stakes(index, holders[:HOLDERS_SHOWN], reader),
        "more": max(0, len(holders) - HOLDERS_SHOWN),
        "owners": _stakes(index, owners, reader),
        "basis": basis,
        "fallback": fallback,
    }


def ego_picture(index: SnapshotIndex, row: int, reader: Reader, lang: Language) -> Picture:
    """The enterprise and its direct ties (legal representatives, holders and holdings,
    officers, guarantees) on a circle around it: the first ``GRAPH_NODES`` neighbours by
    relation, then id; the rest counted. Persons' names as the reader may see them."""
    ties = index.ties
    lo, hi = int(ties.indptr[row]), int(ties.indptr[row + 1])
    kinds: dict[int, list[str]] = {}
    for k in range(lo, hi):
        kinds.setdefault(int(ties.neighbour[k]), []).append(ties.rel_types[ties.type_code[k]])
    kinds.pop(row, None)
    rank = {t: i for i, t in enumerate(_RELATION_ORDER)}
    order = sorted(kinds, key=lambda n: (min(rank.get(t, 9) for t in kinds[n]), str(index.ids[n])))
    shown = order[:GRAPH_NODES]
    radius = _RADIUS * min(1.0, 0.45 + len(shown) / 20)
    height = int(2 * radius * 0.85 + 80)
    cx, cy = _WIDTH / 2, height / 2
    nodes = [Node(cx, cy, _short(_name(index, row, reader)), _name(index, row, reader), "center")]
    lines = []
    for i, node in enumerate(shown):
        angle = -math.pi / 2 + 2 * math.pi * i / max(len(shown), 1)
        x, y = cx + radius * math.cos(angle), cy + radius * 0.85 * math.sin(angle)
        types = sorted(set(kinds[node]), key=lambda t: rank.get(t, 9))
        kind = (
            "person"
            if index.is_person(node)
            else "bad"
            if bool(np.asarray(index.bad)[node])
            else "enterprise"
        )
        name = _name(index, node, reader)
        nodes.append(Node(x, y, _short(name), name, kind))
        lines.append(
            Line(
                cx,
                cy,
                x,
                y,
                _EDGE_COLOURS.get(types[0], "#90a4ae"),
                types[0] == "GUARANTEES",
                "、".join(label("relation", t, lang) for t in types),
            )
        )
    used = sorted({t for n in shown for t in kinds[n]}, key=lambda t: rank.get(t, 9))
    legend = tuple(
        (label("relation", t, lang), _EDGE_COLOURS.get(t, "#90a4ae"), t == "GUARANTEES")
        for t in used
    )
    return Picture(tuple(nodes), tuple(lines), legend, len(order) - len(shown), _WIDTH, height)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
