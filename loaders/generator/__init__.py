"""Synthetic demo city: a seeded, entirely invented register of Ningbo-like enterprises.

:func:`generate_city` writes one file per table of the data contract
(``graph_model/domain.yaml``): enterprises, persons, every relation file and every
record file, as Parquet or CSV. Nothing in them describes a real enterprise or
person; the codes pass the USCC and ID-number checks only so that the loaders accept
them. ``docs/demo-data.md`` describes the city and its knobs.

The city is drawn in stages, each from its own random stream spawned from the seed,
so that changing one stage does not reshuffle the others; each stage has its module:

1. ``enterprises``: kind, district, industry, capital, establishment, deregistration
   and the agents' addresses (集中登记地) that host many small firms;
2. ``groups``: holding groups, trees of up to six levels under a boss, with
   cross-holdings that close ownership cycles and a small pool of people who run every
   member;
3. ``independents``: independent firms, person shareholders with a heavy tail of serial
   entrepreneurs, nominee legal representatives at agents' addresses, foreign investors
   (``holdings`` then places the foreign companies in their stakes and keeps every
   firm's stakes at or below 100 %);
4. ``history``: shares sold and re-bought, legal representatives and officers replaced,
   relations closed when a firm is deregistered (``people`` then numbers the people who
   hold a role);
5. ``guarantees``: circles, mutual pairs, chains, group-internal and single guarantees,
   with defaults that hit circles hardest;
6. ``records``: base hazards per firm and kind, then contagion along shared people,
   shareholders and guarantees, the abnormal list escalating to the black list,
   commitments and inspections that look at risky firms more often;
7. ``extras``: what registries and courts add: paid-in capital, branches, guarantees
   published with unknown parts, lawsuits and enforcements (dishonest debtors were sued
   and enforced against first), serious tax violations, and status events (bankruptcy,
   deregistration, revocation), from a stream of its own so the stages above draw as
   before;
8. ``tables``: contact data, names and identifiers (``registry`` for the enterprises,
   ``people`` for the persons), and every contract table, checked against the contract.

``knobs`` holds the shape of the city; ``common`` the day numbers, row tables and
vectorised helpers every stage shares.

Every stage works on whole NumPy columns; Python loops run over stages, contagion
generations or positions in a group tree, never over rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from loaders.generator.common import EPOCH, Span, concat_rows
from loaders.generator.enterprises import draw_firms
from loaders.generator.extras import draw_extras
from loaders.generator.groups import draw_groups
from loaders.generator.guarantees import GUARANTEE_KINDS, draw_guarantees
from loaders.generator.history import draw_history
from loaders.generator.holdings import assign_foreign, fit_shares
from loaders.generator.independents import draw_independents
from loaders.generator.knobs import Knobs
from loaders.generator.people import People, compact_people
from loaders.generator.records import draw_records
from loaders.generator.tables import contract_tables

MIN_ENTERPRISES = 100
"""Smallest city :func:`generate_city` draws; below it the structures do not fit."""


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


# long: the stages in the order their random draws fix a seed's city, each with its
# progress line; a caller reads the whole recipe of the city here, top to bottom.
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
    knobs = Knobs()
    span = Span((start - EPOCH).days, (end - EPOCH).days)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    people = People()

    firms = draw_firms(streams[0], n_enterprises, span, knobs)
    g_hold, g_reps, g_off, g_foreign, groups = draw_groups(streams[1], firms, span, knobs, people)
    i_hold, i_reps, i_off = draw_independents(streams[2], firms, knobs, people, g_foreign)
    holdings = concat_rows([g_hold, i_hold])
    assign_foreign(streams[2], firms, holdings)
    fit_shares(holdings)
    reps, officers = concat_rows([g_reps, i_reps]), concat_rows([g_off, i_off])
    note(f"enterprises: {firms.n:,} drawn, {len(groups.sizes):,} holding groups")

    holdings, reps, officers = draw_history(
        streams[3], firms, span, knobs, people, holdings, reps, officers
    )
    note(
        f"history: {len(holdings['firm']):,} holdings, {len(reps['firm']):,} legal reps, "
        f"{len(officers['firm']):,} officers"
    )

    guarantees = draw_guarantees(streams[4], firms, groups, span, knobs)
    per_kind = np.bincount(guarantees["structure"], minlength=len(GUARANTEE_KINDS))
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in zip(GUARANTEE_KINDS, per_kind, strict=True))
    note(f"guarantees: {len(guarantees['guarantor']):,} ({kinds})")

    n_people = compact_people(people.count, firms, holdings, reps, officers)
    records = draw_records(
        streams[5], firms, span, knobs, n_people, holdings, reps, officers, guarantees
    )
    extras = draw_extras(streams[7], firms, span, knobs, guarantees, records)
    records |= extras.records
    note("records: " + ", ".join(f"{k} {len(v['firm']):,}" for k, v in records.items()))

    tables = contract_tables(
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
