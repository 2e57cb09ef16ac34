"""What the checks of hostile input cost: reading and validating a CSV city, against Arrow.

Run with ``.venv/bin/python -m benchmarks.input_checks --enterprises 1000000``. It generates
a city in CSV (seed 1), then per contract file measures, in one process:

- the raw floor: ``pyarrow.csv.read_csv`` of the file, every column as text (what reading
  costs with no check at all);
- ``read_source``: the loader's read (file stamps before and after, one read into memory, the
  NUL scan and UTF-8 decoding, Arrow's parse, the search for rows swallowed by an open quote);
- validation: the whole first phase of a load (``read_source``, field checks, identifiers,
  event dates, self relations, totals, duplicate keys, references) into an empty store.

Each figure is the best of ``--repeat`` runs; the ratios are to the raw floor.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from graph_model.domain import load_domain
from graph_model.store.ladybug import LadybugStore
from loaders.generator import generate_city
from loaders.load import _Loader, _spec_of
from loaders.read import find_files, read_source


def _best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def _raw(path: Path) -> pa.Table:
    with path.open("rb") as fh:
        names = fh.readline().decode("utf-8-sig").strip().split(",")
    return pcsv.read_csv(
        path,
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    domain = load_domain()
    with tempfile.TemporaryDirectory() as tmp:
        city = Path(tmp) / "city"
        generate_city(city, args.enterprises, seed=1, fmt="csv")
        sources, _ = find_files(city, domain.files)
        rows = []
        totals = [0.0, 0.0, 0.0]
        with LadybugStore(Path(tmp) / "db") as store:
            store.ensure_schema()
            loader = _Loader(store, domain, "benchmark-salt", date.today(), "utf-8")
            for source in sources:
                spec = _spec_of(domain, source.table)
                raw = _best(args.repeat, lambda s=source: _raw(s.path))
                read = _best(args.repeat, lambda s=source: read_source(s))
                validate = _best(
                    args.repeat, lambda s=source, sp=spec: loader.validate(s, sp, lambda n: None)
                )
                # References to enterprises and persons resolve against this load's keys.
                loader.remember(loader.validate(source, spec, lambda n: None))
                n = read_source(source).table.num_rows
                for i, t in enumerate((raw, read, validate)):
                    totals[i] += t
                rows.append(
                    [
                        source.path.name,
                        f"{n:,}",
                        f"{raw:.2f} s",
                        f"{read:.2f} s ({read / raw:.1f}×)",
                        f"{validate:.2f} s ({validate / raw:.1f}×)",
                    ]
                )
        raw, read, validate = totals
        rows.append(
            ["all", "", f"{raw:.2f} s", f"{read:.2f} s ({read / raw:.1f}×)",
             f"{validate:.2f} s ({validate / raw:.1f}×)"]
        )  # fmt: skip
    print(
        f"\n{args.enterprises:,} enterprises (CSV) — {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {date.today()}\n"
    )
    print("| file | rows | raw Arrow read | read_source | validation |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
