"""The inspector pool (执法检查人员名录库), conflicts of interest found on the graph (回避),
and the random assignment of inspectors to drawn objects.

An inspector file (CSV or Parquet) has the columns:

| column | required | meaning |
|---|---|---|
| `inspector_id` | yes | the inspector's staff number, unique |
| `name` | yes | name |
| `id_number` | no | ID number; hashed with the person salt to find the inspector in the graph |
| `region_code` | no | region the inspector comes from (for same-region recusal) |
| `capacity` | no | objects the inspector can take in this plan (default 50) |
| `former_employers` | no | enterprise ids separated by `;` |
| `relatives` | no | relatives' ID numbers separated by `;` |

An inspector is conflicted with an enterprise reached within ``recusal_hops`` from the
inspector, a relative or a former employer, through legal representatives, officers and
shareholdings; or, when asked, with enterprises of the inspector's own region.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graph_model.errors import CreditGraphError
from graph_model.identifiers import (
    enterprise_id_valid_array,
    mask_id_number,
    person_id_valid_array,
    person_key,
)
from graph_model.snapshot import Snapshot
from risk.supervision.walk import Adjacency, Step

DEFAULT_CAPACITY = 50
TIE_TYPES = ("LEGAL_REP", "OFFICER", "HOLDS_SHARES")
_COLUMNS = (
    "inspector_id",
    "name",
    "id_number",
    "region_code",
    "capacity",
    "former_employers",
    "relatives",
)


class InspectorFileError(CreditGraphError, ValueError):
    """The inspector file has problems; the message lists them by line and column."""

    code = "invalid_inspectors"


@dataclass(frozen=True)
class Inspector:
    """One inspector as read from the file (ID numbers only as salted person keys)."""

    id: str
    name: str
    person: str | None
    region_code: str | None
    capacity: int
    former_employers: tuple[str, ...]
    relatives: tuple[str, ...]
    relatives_masked: tuple[str, ...]


@dataclass(frozen=True)
class Conflict:
    """Why an inspector may not inspect an enterprise."""

    inspector: str
    enterprise: str
    reason: str
    hops: int
    path: tuple[Step, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "inspector": self.inspector,
            "enterprise": self.enterprise,
            "reason": self.reason,
            "hops": self.hops,
            "path": [[s.source, s.type, s.target] for s in self.path],
        }


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def _unreadable(path: Path) -> str:
    """Where a CSV file pyarrow could not parse goes wrong: the first line whose number of
    fields is not the header's, without its content."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            for fields in reader:
                if fields and len(fields) != len(header):
                    return (
                        f"{path.name} line {reader.line_num}: {len(fields)} field(s) where the "
                        f"header has {len(header)}"
                    )
    except (UnicodeDecodeError, csv.Error) as exc:
        return f"{path.name}: not a UTF-8 CSV file ({type(exc).__name__})"
    return f"{path.name}: not a readable CSV file (check the quoting of each line)"


def read_inspectors(path: Path, salt: str) -> list[Inspector]:
    """Read and check an inspector file; raise :class:`InspectorFileError` naming every
    bad line, column and value (ID numbers masked)."""
    if not path.is_file():
        raise InspectorFileError(f"{path}: no such file")
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        first_line = 1
    else:
        options = pacsv.ConvertOptions(column_types={c: pa.string() for c in _COLUMNS})
        try:
            table = pacsv.read_csv(path, convert_options=options)
        except (pa.ArrowInvalid, UnicodeDecodeError):
            # pyarrow's message quotes the bad row, ID numbers and all: say where, not what.
            raise InspectorFileError(_unreadable(path)) from None
        first_line = 2
    missing = [c for c in ("inspector_id", "name") if c not in table.column_names]
    if missing:
        raise InspectorFileError(f"{path.name}: missing required column(s) {', '.join(missing)}")
    rows = table.select([c for c in _COLUMNS if c in table.column_names]).to_pylist()
    problems: list[str] = []
    seen: set[str] = set()
    out = []
    for offset, row in enumerate(rows):
        line = f"{path.name} line {first_line + offset}"
        inspector_id = str(row.get("inspector_id") or "").strip()
        if not inspector_id:
            problems.append(f"{line}, inspector_id: empty")
        elif inspector_id in seen:
            problems.append(f"{line}, inspector_id = {inspector_id!r}: repeated")
        seen.add(inspector_id)
        if not str(row.get("name") or "").strip():
            problems.append(f"{line}, name: empty")
        capacity = DEFAULT_CAPACITY
        raw_capacity = row.get("capacity")
        if raw_capacity not in (None, ""):
            text = str(raw_capacity).strip()
            if not text.isdigit() or int(text) < 1:
                problems.append(f"{line}, capacity = {text!r}: not a whole number ≥ 1")
            else:
                capacity = int(text)
        id_number = str(row.get("id_number") or "").strip() or None
        if id_number and not person_id_valid_array([id_number])[0]:
            problems.append(f"{line}, id_number = {mask_id_number(id_number)!r}: not a valid ID")
        relatives = _split(row.get("relatives"))
        for rel in relatives:
            if not person_id_valid_array([rel])[0]:
                problems.append(f"{line}, relatives = {mask_id_number(rel)!r}: not a valid ID")
        employers = _split(row.get("former_employers"))
        valid = enterprise_id_valid_array(employers).tolist() if employers else []
        bad = [e for e, ok in zip(employers, valid, strict=True) if not ok]
        for employer in bad:
            problems.append(f"{line}, former_employers = {employer!r}: not an enterprise id")
        out.append(
            Inspector(
                id=inspector_id,
                name=str(row.get("name") or "").strip(),
                person=person_key(id_number, salt) if id_number else None,
                region_code=str(row.get("region_code") or "").strip() or None,
                capacity=capacity,
                former_employers=tuple(employers),
                relatives=tuple(person_key(r, salt) for r in relatives),
                relatives_masked=tuple(mask_id_number(r) for r in relatives),
            )
        )
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise InspectorFileError(
            f"{len(problems)} problem(s) in the inspector file:\n  {shown}{more}"
        )
    if not out:
        raise InspectorFileError(f"{path.name}: no inspectors")
    return out


def conflicts(
    snapshot: Snapshot,
    inspectors: list[Inspector],
    hops: int,
    same_region: bool,
    enterprises: np.ndarray,
) -> dict[int, list[tuple[int, Conflict]]]:
    """Conflicts with the given enterprise indices: {enterprise index: [(inspector number,
    conflict)]}. One bounded walk from each inspector's person, relatives and employers."""
    is_wanted = np.zeros(snapshot.n_nodes, dtype=bool)
    is_wanted[enterprises] = True
    adjacency = Adjacency(snapshot, TIE_TYPES)
    out: dict[int, list[tuple[int, Conflict]]] = {}

    def add(e: int, k: int, conflict: Conflict) -> None:
        out.setdefault(e, []).append((k, conflict))

    ties = [
        (k, key, why)
        for k, insp in enumerate(inspectors)
        for key, why in (
            (insp.person, "the inspector"),
            *zip(insp.relatives, (f"relative {m}" for m in insp.relatives_masked), strict=True),
            *((e, f"former employer {e}") for e in insp.former_employers),
        )
        if key is not None
    ]
    # One lookup for every tie: looking ids up one by one would scan the node list each time.
    found = snapshot.index_of([key for _, key, _ in ties]) if ties else np.array([], int)
    # One search per tie in the graph, all at once: the wanted enterprises each reaches, by
    # seed, nearest first.
    reached = adjacency.reach(found[found >= 0], hops)
    hits = np.flatnonzero((reached.hops > 0) & is_wanted[reached.node])
    hits = hits[np.argsort(reached.source[hits], kind="stable")]
    seeds = reached.source[hits]
    for (k, _, why), seed in zip(ties, found.tolist(), strict=True):
        if seed < 0:
            continue  # not in the graph: no ties to walk
        insp_id = inspectors[k].id
        if seed < snapshot.n_enterprises and is_wanted[seed]:
            add(seed, k, Conflict(insp_id, str(adjacency.ids[seed]), why, 0, ()))
        lo, hi = np.searchsorted(seeds, [seed, seed + 1])
        for row in hits[lo:hi].tolist():
            node = int(reached.node[row])
            hops_away, path = int(reached.hops[row]), adjacency.path(reached, row)
            add(
                node,
                k,
                Conflict(insp_id, str(adjacency.ids[node]), f"tied to {why}", hops_away, path),
            )
    if same_region:
        region = snapshot.enterprises["region_code"].to_numpy(zero_copy_only=False)
        for k, insp in enumerate(inspectors):
            if insp.region_code is None:
                continue
            for e in np.flatnonzero(region[enterprises] == insp.region_code):
                idx = int(enterprises[e])
                add(
                    idx,
                    k,
                    Conflict(
                        insp.id, str(adjacency.ids[idx]), f"same region {insp.region_code}", 0, ()
                    ),
                )
    return out


@dataclass(frozen=True)
class Assignment:
    """Inspectors per drawn object (pool position → inspector numbers) and the objects
    that could not be staffed."""

    inspectors: dict[int, list[int]]
    unassigned: list[int]


def assign(
    objects: np.ndarray,
    pool_index: np.ndarray,
    inspectors: list[Inspector],
    conflicted: dict[int, list[tuple[int, Conflict]]],
    per_object: int,
    rng: np.random.Generator,
) -> Assignment:
    """Draw ``per_object`` inspectors for each object, at random among those with capacity
    left and no conflict, each with a chance proportional to the capacity it has left (so
    that capacity is not stranded on a few inspectors at the end); objects are served in
    random order so nobody is favoured."""
    capacity = np.array([i.capacity for i in inspectors], dtype=np.int64)
    result: dict[int, list[int]] = {}
    unassigned = []
    for position in objects[rng.permutation(len(objects))]:
        free = capacity > 0
        for k, _ in conflicted.get(int(pool_index[position]), []):
            free[k] = False
        candidates = np.flatnonzero(free)
        if len(candidates) < per_object:
            unassigned.append(int(position))
            continue
        left = capacity[candidates].astype(float)
        chosen = rng.choice(candidates, size=per_object, replace=False, p=left / left.sum())
        capacity[chosen] -= 1
        result[int(position)] = sorted(int(c) for c in chosen)
    return Assignment(result, sorted(unassigned))


def inspectors_fingerprint(inspectors: list[Inspector]) -> str:
    """SHA-256 of the inspector pool as read (ids, keys, capacities, declared ties)."""
    text = "\n".join(
        "\t".join(
            [
                i.id,
                i.person or "",
                i.region_code or "",
                str(i.capacity),
                ";".join(i.former_employers),
                ";".join(i.relatives),
            ]
        )
        for i in inspectors
    )
    return hashlib.sha256(text.encode()).hexdigest()
