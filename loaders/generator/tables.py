"""The contract tables of the demo city (stage 8).

:func:`contract_tables` turns the drawn rows into every file of ``graph_model/domain.yaml``:
identifiers, names and contact data (``registry``, ``people``), relation columns, and the
record numbers and words of each record kind; each table is checked against the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import FieldSpec, load_domain
from loaders.generator.common import (
    FOREVER,
    Rows,
    Span,
    calendar_years,
    decimal_strings,
    first_of_group,
    join_strings,
    pick_strings,
)
from loaders.generator.enterprises import DISTRICTS, SECTIONS, STATUS, Firms
from loaders.generator.extras import (
    BANKRUPTCY,
    CAUSES,
    LAWSUIT_ROLES,
    REVOCATION,
    REVOCATION_REASONS,
    STATUS_EVENTS,
    TAX_REASONS,
    Extras,
)
from loaders.generator.groups import Groups
from loaders.generator.guarantees import BANKS
from loaders.generator.holdings import HOLDER_TYPES, PERSON
from loaders.generator.people import ROLES, person_columns
from loaders.generator.records import (
    ABNORMAL_REASONS,
    BLACK_REASONS,
    COMMITMENT_AUTHORITIES,
    FINDINGS,
    INSPECTION_ITEMS,
    OTHER_AUTHORITIES,
    SECTORS,
    SEVERITIES,
)
from loaders.generator.registry import branch_names, contacts, enterprise_ids, enterprise_names


def _dates(days: np.ndarray) -> pa.Array:
    null = np.abs(days) >= FOREVER
    return pa.array(np.where(null, 0, days).astype("datetime64[D]"), mask=null, type=pa.date32())


def _floats(values: np.ndarray) -> pa.Array:
    return pa.array(values, mask=np.isnan(values), type=pa.float64())


def _doc_numbers(issuer: np.ndarray, day: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Year and number of each document, numbered 1, 2, … by date per issuer and year."""
    year = calendar_years(day)
    key = issuer * 10000 + year
    order = np.lexsort((day, key))
    first = first_of_group(key[order])
    pos = np.arange(len(key))
    seq = np.empty(len(key), dtype=np.int64)
    seq[order] = pos - np.maximum.accumulate(np.where(first, pos, 0)) + 1
    return decimal_strings(year), decimal_strings(seq)


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


# long: one contract table after another, each column beside the generator array it comes
# from; split, a table's columns would be spread over functions that share every array.
def contract_tables(
    rng: np.random.Generator,
    f: Firms,
    groups: Groups,
    n_people: int,
    holdings: Rows,
    reps: Rows,
    officers: Rows,
    guar: Rows,
    records: dict[str, Rows],
    span: Span,
    extras: Extras,
) -> dict[str, pa.Table]:
    """Every contract table, keyed by file name, in the contract's order."""
    domain = load_domain()
    ent = enterprise_ids(rng, f)
    person, person_name = person_columns(rng, n_people, span, reps, officers, holdings)
    address, phone, email = contacts(rng, f, groups)
    names, former = enterprise_names(rng, f, groups)
    # A branch is named after its head office: it has no former name of its own.
    branch = np.zeros(f.n, dtype=bool)
    branch[extras.branches["branch"]] = True
    former = pc.if_else(pa.array(branch), pa.nulls(f.n, pa.string()), former)

    def firm_ids(idx: np.ndarray) -> pa.Array:
        return ent.take(pa.array(idx))

    def person_ids(idx: np.ndarray) -> pa.Array:
        return person.take(pa.array(idx))

    nodes = {
        "Enterprise": {
            "id": ent,
            "name": branch_names(names, f, extras.branches),
            "former_names": former,
            "region_code": pick_strings([d[0] for d in DISTRICTS], f.region),
            "industry": pick_strings([s[0] for s in SECTIONS], f.industry),
            "registered_capital": _floats(f.capital),
            "paid_in_capital": _floats(np.round(f.capital * extras.paid_in, 2)),
            "established_on": _dates(f.est),
            "deregistered_on": _dates(f.dereg),
            "status": pick_strings(STATUS, f.status),
            "address": address,
            "phone": phone,
            "email": email,
        },
        # Every person of the city has an ID number: no source ids, nobody by name only.
        "Person": {"id_number": person, "source_id": _no_text(person), "name": person_name},
    }
    is_person = holdings["kind"] == PERSON
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
            "role": pick_strings(ROLES, officers["role"]),
            "valid_from": _dates(officers["from"]),
            "valid_to": _dates(officers["to"]),
        },
        "HOLDS_SHARES": {
            "holder_type": pick_strings(HOLDER_TYPES, np.where(is_person, 0, 1)),
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
                join_strings(
                    pick_strings(BANKS, guar["bank"]),
                    year,
                    "BZ",
                    pc.utf8_lpad(decimal_strings(guar["seq"]), 7, "0"),
                ),
            ),
            "guarantor_id": firm_ids(guar["guarantor"]),
            "guaranteed_id": firm_ids(guar["guaranteed"]),
            "amount": _floats(np.where(extras.blank_amount, np.nan, guar["amount"])),
            "currency": pick_strings(("CNY", "USD"), guar["currency"]),
            "valid_from": _dates(np.where(extras.blank_start, FOREVER, guar["from"])),
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


# long: the columns of every record kind, in the contract's order, from one set of arrays;
# split per kind, each piece would take the same dozen arrays as arguments.
def _record_columns(
    kind: str, rows: Rows, f: Firms, firm_ids: Callable[[np.ndarray], pa.Array]
) -> dict[str, pa.Array]:
    firm, start = rows["firm"], rows["start"]
    region = f.region[firm]
    amr = [d[1] + "市场监督管理局" for d in DISTRICTS]
    abbr = [d[3] for d in DISTRICTS]
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
        cols["record_no"] = join_strings(
            pick_strings(abbr, region), "市监异〔", year, "〕", seq, "号"
        )
        cols["reason"] = pick_strings(ABNORMAL_REASONS, rows["reason"])
        cols["authority"] = pick_strings(amr, region)
    elif kind == "black_list":
        year, seq = _doc_numbers(np.zeros(len(firm), dtype=np.int64), start)
        cols["record_no"] = join_strings("甬市监严〔", year, "〕", seq, "号")
        cols["reason"] = pick_strings(BLACK_REASONS, rows["reason"])
        cols["authority"] = pick_strings(
            ("宁波市市场监督管理局",), np.zeros(len(firm), dtype=np.int64)
        )
    elif kind == "dishonest_debtor":
        year, seq = _doc_numbers(region, start)
        court = pick_strings([d[0][2:] for d in DISTRICTS], region)
        cols["record_no"] = join_strings("（", year, "）浙", court, "执", seq, "号")
        cols["authority"] = pick_strings([d[1] + "人民法院" for d in DISTRICTS], region)
        cols["amount"] = _floats(rows["amount"])
    elif kind == "penalty":
        year, seq = _doc_numbers(rows["authority"], start)
        prefix = [a + "市监罚" for a in abbr] + [a[1] for a in OTHER_AUTHORITIES]
        cols["record_no"] = join_strings(
            pick_strings(prefix, rows["authority"]), "〔", year, "〕", seq, "号"
        )
        cols["authority"] = pick_strings(amr + [a[0] for a in OTHER_AUTHORITIES], rows["authority"])
        cols["amount"] = _floats(rows["amount"])
        cols["severity"] = pick_strings(SEVERITIES, rows["severity"])
        cols["sector"] = pick_strings(SECTORS, rows["sector"])
    elif kind == "commitment":
        year, seq = _doc_numbers(rows["authority"], start)
        prefix = [a[1] for a in COMMITMENT_AUTHORITIES]
        cols["record_no"] = join_strings(
            pick_strings(prefix, rows["authority"]), "〔", year, "〕", seq, "号"
        )
        cols["authority"] = pick_strings([a[0] for a in COMMITMENT_AUTHORITIES], rows["authority"])
        kept = rows["kept"]
        cols["kept"] = pa.array(kept == 1, mask=kept < 0, type=pa.bool_())
    elif kind == "inspection":
        year, seq = _doc_numbers(region, start)
        cols["record_no"] = join_strings(
            pick_strings(abbr, region), "市监抽〔", year, "〕", seq, "号"
        )
        cols["item"] = pick_strings(INSPECTION_ITEMS, rows["item"])
        cols["finding"] = pick_strings(FINDINGS, rows["finding"])
        cols["authority"] = pick_strings(amr, region)
    elif kind == "lawsuit":
        court = pick_strings([d[0][2:] for d in DISTRICTS], rows["court"])
        _, first, at = np.unique(rows["case"], return_index=True, return_inverse=True)
        year, seq = _doc_numbers(rows["court"][first], start[first])
        where = pa.array(at)
        cols["record_no"] = join_strings(
            "（", year.take(where), "）浙", court, "民初", seq.take(where), "号"
        )
        cols["role"] = pick_strings(LAWSUIT_ROLES, rows["role"])
        cols["cause"] = pick_strings(CAUSES, rows["cause"])
        cols["amount"] = _floats(rows["amount"])
        cols["authority"] = pick_strings([d[1] + "人民法院" for d in DISTRICTS], rows["court"])
    elif kind == "enforcement":
        year, seq = _doc_numbers(region, start)
        court = pick_strings([d[0][2:] for d in DISTRICTS], region)
        # Numbered apart from the dishonest-debtor listings of the same courts.
        number = pc.cast(pc.add(pc.cast(seq, pa.int64()), 5000), pa.string())
        cols["record_no"] = join_strings("（", year, "）浙", court, "执", number, "号")
        cols["authority"] = pick_strings([d[1] + "人民法院" for d in DISTRICTS], region)
        cols["amount"] = _floats(rows["amount"])
    elif kind == "tax_violation":
        year, seq = _doc_numbers(np.zeros(len(firm), dtype=np.int64), start)
        cols["record_no"] = join_strings("甬税稽罚〔", year, "〕", seq, "号")
        cols["reason"] = pick_strings(TAX_REASONS, rows["reason"])
        cols["authority"] = pick_strings(
            ("国家税务总局宁波市税务局",), np.zeros(len(firm), np.int64)
        )
        cols["amount"] = _floats(rows["amount"])
    elif kind == "status_event":
        event = rows["event"]
        # One court numbers every bankruptcy; registration bureaus number by district.
        issuer = np.where(event == BANKRUPTCY, -1, event * 100 + np.maximum(region, 0))
        year, seq = _doc_numbers(issuer, start)
        bureau = np.array([a + "市监" for a in abbr])
        head = np.where(
            event == BANKRUPTCY,
            "（",
            bureau[np.maximum(region, 0)] + np.where(event == REVOCATION, "吊〔", "注〔"),
        )
        tail = np.where(event == BANKRUPTCY, "）浙02破申", "〕")
        cols["record_no"] = join_strings(_text_of(head), year, _text_of(tail), seq, "号")
        cols["event"] = pick_strings(STATUS_EVENTS, event)
        cols["authority"] = pc.if_else(
            pa.array(event == BANKRUPTCY),
            pa.scalar("宁波市中级人民法院"),
            pick_strings(amr, np.maximum(region, 0)),
        )
        cols["reason"] = pick_strings(REVOCATION_REASONS, rows["reason"])
    else:
        raise RuntimeError(f"the generator knows no record kind {kind!r}")
    return cols


def _text_of(values: np.ndarray) -> pa.Array:
    """A string column from a NumPy array of strings (a few distinct values)."""
    uniques, index = np.unique(values, return_inverse=True)
    return pick_strings([str(u) for u in uniques], index)
