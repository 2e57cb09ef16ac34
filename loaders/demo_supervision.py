"""Synthetic supervision inputs for the demo city: an inspector file and a bank's loan book.

Like the city itself (``loaders/generator/``) everything here is invented and seeded: the
same city and seed give the same inspectors and the same watchlist. They exist so that the
demo's data home has what every page of the board and every documented command needs (a
sampling plan needs inspectors, a bank's warnings need a watchlist).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

INSPECTOR_COLUMNS = (
    "inspector_id",
    "name",
    "id_number",
    "region_code",
    "capacity",
    "former_employers",
    "relatives",
)
"""The columns of an inspector file (docs/supervision.md)."""

INSPECTOR_CAPACITY = 40
"""Objects each demo inspector can take in one plan."""

LOAN_BOOK_SIZE = 30
"""Borrowers on the demo bank's watchlist."""


@dataclass(frozen=True)
class DemoInspectors:
    """What :func:`write_demo_inspectors` wrote."""

    path: Path
    count: int
    with_ties: int


def _rng(seed: int, stream: int) -> np.random.Generator:
    # Streams of their own, apart from the city's: adding one never reshuffles another.
    return np.random.default_rng([seed, 0xD3E0, stream])


def write_demo_inspectors(city: Path, out: Path, seed: int = 0) -> DemoInspectors:
    """Write an inspector file for the demo city in ``city`` (Parquet, as the demo writes it).

    One inspector per 400 enterprises (20 to 200), spread over the city's districts, each
    able to take :data:`INSPECTOR_CAPACITY` objects. Some are tied to the city, so that
    plans have recusals to show: every 4th has a former employer, every 6th a relative who
    is a person of the city, every 10th is a person of the city (a shareholder or officer).
    Names are ``检查员`` and a number: nobody real.
    """
    firms = pq.read_table(city / "enterprises.parquet", columns=["id", "region_code", "status"])
    persons = pq.read_table(city / "persons.parquet", columns=["id_number"])
    active = firms.filter(pc.fill_null(pc.equal(firms["status"], "active"), False))
    regions = sorted({r for r in firms["region_code"].to_pylist() if r})
    n = int(np.clip(firms.num_rows // 400, 20, 200))
    rng = _rng(seed, 1)
    employers = rng.choice(active.num_rows, size=n, replace=False)
    people = rng.choice(persons.num_rows, size=2 * n, replace=False)
    active_ids = active["id"].to_pylist()
    id_numbers = persons["id_number"].to_pylist()
    rows, tied = [], 0
    for k in range(n):
        employer = active_ids[employers[k]] if k % 4 == 1 else ""
        relative = id_numbers[people[k]] if k % 6 == 2 else ""
        own = id_numbers[people[n + k]] if k % 10 == 3 else ""
        tied += bool(employer or relative or own)
        region = regions[k % len(regions)] if regions else ""
        rows.append(
            [
                f"NB{k + 1:03d}",
                f"检查员{k + 1:02d}",
                own,
                region,
                INSPECTOR_CAPACITY,
                employer,
                relative,
            ]
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(INSPECTOR_COLUMNS)
        writer.writerows(rows)
    return DemoInspectors(out, n, tied)


def demo_loan_book(city: Path, seed: int = 0) -> list[str]:
    """The borrowers a bank of the demo city watches: :data:`LOAN_BOOK_SIZE` active firms
    that received a guarantee, drawn with ``seed``, sorted."""
    firms = pq.read_table(city / "enterprises.parquet", columns=["id", "status"])
    guaranteed = pq.read_table(city / "guarantees.parquet", columns=["guaranteed_id"])
    active = firms.filter(pc.fill_null(pc.equal(firms["status"], "active"), False))["id"]
    borrowers = sorted(set(guaranteed["guaranteed_id"].to_pylist()) & set(active.to_pylist()))
    if not borrowers:
        return []
    size = min(LOAN_BOOK_SIZE, len(borrowers))
    picked = _rng(seed, 2).choice(len(borrowers), size=size, replace=False)
    return sorted(borrowers[i] for i in picked)
