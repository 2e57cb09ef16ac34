"""The store contract suite: the same tests against every ``GraphStore`` backend.

This module holds the small fixed graph the suite writes, in store form, and
plain-Python oracles (validity, breadth-first distances, trails) that the
tests compare the stores' answers with. The fixtures are in ``conftest.py``.

The graph: enterprises E0..E11, persons P0..P4. ``AS_OF`` (2024-01-01) sees
everything except what is marked expired or future::

    shareholdings   P0 -> E0 -> E1 -> E2      (a 2-level chain under E0)
                    P1 -> E1
                    E3 -> E4 -> E3            (cross-holding cycle)
                    E0 -> E8                  (expired 2020-01-01)
    guarantees      E5 <-> E6                 (mutual pair; E5 -> E6 ends 2026-12-31)
                    E7 -> E8 -> E9 -> E7      (3-cycle; E7 -> E8 defaulted 2025-03-01)
                    E0 -> E7
                    E10 -> E11                (2018 only, before E11 existed)
    legal reps      P0 -> E0, P0 -> E5, P1 -> E1, P2 -> E2, P3 -> E3 (ended 2018-01-01)
    officers        P1 -> E0 director and (from 2019) supervisor, P4 -> E6 supervisor,
                    P2 -> E7 manager, P3 -> E10 director
    records         E0: inspection 2019, abnormal_list 2021-03-01..2022-03-01, penalty 2023
                    E2: commitment 2022 (broken); E5: black_list 2022;
                    E9: dishonest_debtor 2025-06-01 (after AS_OF);
                    E3: lawsuit 2023 as defendant (keyed by case number and party)
    branches        E1 -> E4 (head office -> branch)

E10 was deregistered on 2022-06-30; E11 was established on 2024-06-01.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from graph_model.domain import load_domain
from graph_model.identifiers import uscc_check_char
from graph_model.store.protocol import WriteBatch

AS_OF = date(2024, 1, 1)
D = date.fromisoformat


def uscc(i: int) -> str:
    """A valid USCC (91 = enterprise, Ningbo) for enterprise number ``i``."""
    body = f"91330200{i:09d}"
    return body + uscc_check_char(body)


def person(i: int) -> str:
    """A person key in store form: ``P`` + 24 hex characters."""
    return "P" + hashlib.sha256(f"contract-person-{i}".encode()).hexdigest()[:24]


E = [uscc(i) for i in range(12)]
P = [person(i) for i in range(5)]
NINGBO = E[:6]  # names starting 宁波; the others start 杭州

ENTERPRISES: list[dict[str, Any]] = [
    {
        "id": E[i],
        "name": ("宁波" if i < 6 else "杭州") + f"测试{'甲乙丙丁戊己庚辛壬癸子丑'[i]}有限公司",
        "former_names": "宁波旧名贸易有限公司；宁波更早商行" if i == 1 else None,
        "region_code": "330200" if i < 6 else "330100",
        "industry": "CFIKLM"[i % 6],
        "registered_capital": 1_000_000.0 * (i + 1),
        "paid_in_capital": 250_000.0 * (i + 1) if i % 2 == 0 else None,
        "established_on": D("2024-06-01") if i == 11 else date(2005 + i, 3, 1),
        "deregistered_on": D("2022-06-30") if i == 10 else None,
        "status": "deregistered" if i == 10 else "active",
        "address": f"测试路{i}号",
        "phone": "057487000000" if i == 0 else None,
        "email": None,
    }
    for i in range(12)
]
PERSONS: list[dict[str, Any]] = [
    {"id": P[i], "name": f"张{'一二三四五'[i]}", "identity": "id_number"} for i in range(5)
]
# Identities of every strength (domain.yaml identifiers): P1 keyed by a source id, kept as
# given; P4 known by name only, scoped to E6, the one firm that names them.
PERSONS[1].update(identity="source_id", source_id="SRC:contract:p-1")
PERSONS[4].update(identity="name", scope=E[6])


def label_of(node_id: str) -> str:
    """Label of a fixture node id."""
    return "Person" if node_id in P else "Enterprise"


@dataclass(frozen=True)
class Rel:
    """One relation of the fixture graph."""

    type: str
    source: str
    target: str
    key: str
    valid_from: date | None
    valid_to: date | None
    props: dict[str, Any]

    def valid_on(self, day: date) -> bool:
        """Valid on ``day``: started on or before it, not ended on or before it."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or self.valid_to > day
        )


def _rel(rel_type: str, src: str, dst: str, start: str, end: str | None, **props: Any) -> Rel:
    # Keys built like the loader's: the domain's key fields joined with "|".
    head = [label_of(src).lower()] if rel_type == "HOLDS_SHARES" else []
    extra = [str(props[k]) for k in ("role", "contract_no") if k in props]
    tail = [] if rel_type == "GUARANTEES" else [start]
    key = "|".join([*head, src, dst, *extra, *tail])
    return Rel(rel_type, src, dst, key, D(start), D(end) if end else None, props)


def _guarantee(
    n: int, g: int, d: int, start: str, end: str | None, amount: float, defaulted: str | None = None
) -> Rel:
    return _rel(
        "GUARANTEES",
        E[g],
        E[d],
        start,
        end,
        contract_no=f"GC-{n:03d}",
        amount=amount,
        currency="CNY",
        defaulted_on=D(defaulted) if defaulted else None,
    )


RELS: list[Rel] = [
    _rel("LEGAL_REP", P[0], E[0], "2015-01-01", None),
    _rel("LEGAL_REP", P[0], E[5], "2016-01-01", None),
    _rel("LEGAL_REP", P[1], E[1], "2014-01-01", None),
    _rel("LEGAL_REP", P[2], E[2], "2014-01-01", None),
    _rel("LEGAL_REP", P[3], E[3], "2010-01-01", "2018-01-01"),
    _rel("OFFICER", P[1], E[0], "2015-01-01", None, role="director"),
    _rel("OFFICER", P[1], E[0], "2019-01-01", None, role="supervisor"),  # two roles, two edges
    _rel("OFFICER", P[4], E[6], "2016-01-01", None, role="supervisor"),
    _rel("OFFICER", P[2], E[7], "2017-01-01", None, role="manager"),
    _rel("OFFICER", P[3], E[10], "2015-06-01", None, role="director"),
    _rel("HOLDS_SHARES", P[0], E[0], "2015-01-01", None, share=0.6, subscribed_amount=6e5),
    _rel("HOLDS_SHARES", E[0], E[1], "2015-06-01", None, share=0.8, subscribed_amount=1.6e6),
    _rel("HOLDS_SHARES", E[1], E[2], "2016-01-01", None, share=0.5, subscribed_amount=1.5e6),
    _rel("HOLDS_SHARES", P[1], E[1], "2015-06-01", None, share=0.2, subscribed_amount=4e5),
    _rel("HOLDS_SHARES", E[3], E[4], "2017-01-01", None, share=0.3, subscribed_amount=None),
    _rel("HOLDS_SHARES", E[4], E[3], "2017-01-01", None, share=0.25, subscribed_amount=None),
    _rel("HOLDS_SHARES", E[0], E[8], "2015-01-01", "2020-01-01", share=0.4, subscribed_amount=None),
    _guarantee(0, 5, 6, "2020-01-01", "2026-12-31", 1e6),
    _guarantee(1, 6, 5, "2020-01-01", None, 2e6),
    _guarantee(2, 7, 8, "2020-01-01", None, 3e6, defaulted="2025-03-01"),
    _guarantee(3, 8, 9, "2020-01-01", None, 4e6),
    _guarantee(4, 9, 7, "2020-01-01", None, 5e6),
    _guarantee(5, 0, 7, "2020-01-01", None, 6e6),
    _guarantee(100, 10, 11, "2018-01-01", "2019-01-01", 7e6),
    _rel("HAS_BRANCH", E[1], E[4], "2018-01-01", None),
]

REL_TYPES = ("LEGAL_REP", "OFFICER", "HOLDS_SHARES", "GUARANTEES", "HAS_BRANCH")


def _record(kind: str, no: str, owner: str, start: str, end: str | None, **fields: Any) -> dict:
    return {
        "id": f"{kind}:{no}",
        "kind": kind,
        "record_no": no,
        "enterprise_id": owner,
        "start": D(start),
        "end": D(end) if end else None,
        **fields,
    }


RECORDS: list[dict[str, Any]] = [
    _record("inspection", "JC-1", E[0], "2019-06-01", None, finding="no_problem", item="年报"),
    _record(
        "abnormal_list",
        "YC-1",
        E[0],
        "2021-03-01",
        "2022-03-01",
        reason="no_annual_report",
        authority="宁波市场监管局",
    ),
    _record(
        "penalty",
        "CF-1",
        E[0],
        "2023-05-01",
        None,
        authority="宁波市场监管局",
        amount=5000.0,
        severity="general",
        sector="food",
    ),
    _record("commitment", "CN-1", E[2], "2022-05-01", None, kept=False, authority="宁波税务"),
    _record("black_list", "HM-1", E[5], "2022-01-01", None, reason="虚假登记"),
    _record("dishonest_debtor", "SX-1", E[9], "2025-06-01", None, authority="宁波中院", amount=1e6),
    # A court record keyed by its case number and the party (domain.yaml `key`).
    dict(
        _record("lawsuit", "(2023)浙0203民初1号", E[3], "2023-03-01", None, role="defendant"),
        id=f"lawsuit:(2023)浙0203民初1号|{E[3]}",
        cause="买卖合同纠纷",
        amount=2.5e5,
    ),
]

# -- store form ---------------------------------------------------------------------


def _table(schema: pa.Schema, rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema)


def node_table(label: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Node rows in store form: the store key first, then the label's fields."""
    spec = load_domain().node(label)
    schema = pa.schema(
        [(spec.store_key, pa.string())]
        + [(f.name, f.arrow_type) for f in spec.fields if f.name != spec.key]
    )
    return _table(schema, rows)


def relation_table(rel_type: str, rels: Iterable[Rel]) -> pa.Table:
    """Relations in store form: endpoints with their labels, the key, then the properties."""
    spec = load_domain().relation(rel_type)
    schema = pa.schema(
        [(c, pa.string()) for c in ("_from", "_from_label", "_to", "_to_label", "key")]
        + [(f.name, f.arrow_type) for f in spec.property_fields]
    )
    rows = (
        {
            "_from": r.source,
            "_from_label": label_of(r.source),
            "_to": r.target,
            "_to_label": label_of(r.target),
            "key": r.key,
            "valid_from": r.valid_from,
            "valid_to": r.valid_to,
            **r.props,
        }
        for r in rels
    )
    return _table(schema, rows)


def records_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Records in store form: ``id`` (``kind:record_no``), ``kind``, the union of fields."""
    schema = pa.schema(
        [("id", pa.string()), ("kind", pa.string())]
        + [(f.name, f.arrow_type) for f in load_domain().record_fields]
    )
    return _table(schema, rows)


def full_batch() -> WriteBatch:
    """The whole fixture graph as one write batch."""
    return WriteBatch(
        nodes={
            "Enterprise": node_table("Enterprise", ENTERPRISES),
            "Person": node_table("Person", PERSONS),
        },
        relations={t: relation_table(t, [r for r in RELS if r.type == t]) for t in REL_TYPES},
        records=records_table(RECORDS),
    )


def rels_between(rel_type: str, source: str, target: str) -> list[Rel]:
    """The fixture relations of that type from ``source`` to ``target``."""
    return [r for r in RELS if (r.type, r.source, r.target) == (rel_type, source, target)]


def rel(rel_type: str, source: str, target: str) -> Rel:
    """The one fixture relation of that type from ``source`` to ``target``."""
    (found,) = rels_between(rel_type, source, target)
    return found


REL_BY_KEY = {r.key: r for r in RELS}


# -- oracles ------------------------------------------------------------------------


def distances(start: str, day: date, types: tuple[str, ...], max_hops: int) -> dict[str, int]:
    """Breadth-first hop counts from ``start``, ignoring direction, over relations valid on
    ``day``."""
    dist = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if dist[node] == max_hops:
            continue
        for r in RELS:
            if r.type in types and r.valid_on(day) and node in (r.source, r.target):
                other = r.target if node == r.source else r.source
                if other not in dist:
                    dist[other] = dist[node] + 1
                    queue.append(other)
    return dist


def trails(start: str, rel_type: str, forward: bool, day: date, max_hops: int) -> list[tuple]:
    """Node sequences of every trail (no relation twice) of 1..max_hops relations of
    ``rel_type`` valid on ``day``, following (``forward``) or against the stored direction."""
    found: list[tuple] = []

    def walk(nodes: tuple[str, ...], used: frozenset[str]) -> None:
        if len(nodes) > 1:
            found.append(nodes)
        if len(nodes) > max_hops:
            return
        for r in RELS:
            here, there = (r.source, r.target) if forward else (r.target, r.source)
            if r.type == rel_type and r.valid_on(day) and here == nodes[-1] and r.key not in used:
                walk((*nodes, there), used | {r.key})

    walk((start,), frozenset())
    return sorted(found)
