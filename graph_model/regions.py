"""Administrative divisions (GB/T 2260 codes, 行政区划代码): names for display, and codes from
what exports hold.

The table is data (``regions.csv``, see ``SOURCE.md`` for its source and date): every
province, prefecture and county-level division in use, and the codes retired since 1980,
each with its own name, its parent's code, an English name where one is kept, and for a
retired code the year it went out of use and the code that covers its area now (its
successor, or the prefecture or province its successors lie in). Old codes stay on records
and ID numbers of their time.

:func:`region_name` names a code for display; :func:`resolve_region` turns a code or a Chinese
name (``330203``, ``宁波市``, ``浙江省宁波市海曙区``, ``海曙区`` where no other county has
that name, a retired ``330204`` or ``宁波市江东区``) into the code in use.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Literal

# The statistics bureau's 12-digit codes (统计用区划代码) of a county or above end in zeros.
_CODE = re.compile(r"(\d{6})(?:000|000000)?")
# What sits between the parts of a written name: spaces, slashes, dashes, middle dots.
_SEPARATORS = re.compile(r"[\s/\\\-—_·,，、|]")
_PROVINCE_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)
_SHOWN_CANDIDATES = 4


@dataclass(frozen=True)
class Division:
    """One row of ``regions.csv``."""

    code: str
    name: str
    parent: str
    en: str
    retired: int | None
    successor: str


@dataclass(frozen=True)
class _Index:
    """Names of the divisions in use, for :func:`resolve_region`."""

    provinces: tuple[tuple[str, tuple[str, ...]], ...]
    """(code, names) of each province: its full name and its short one (浙江)."""
    prefectures: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]
    """Province code → (code, names) of its prefectures; ``""`` → all of them."""
    counties: Mapping[tuple[str, str], tuple[str, ...]]
    """(prefecture, province or ``""`` code, name) → codes of the counties of that name."""
    retired: Mapping[str, frozenset[str]]
    """A retired division's name, alone or after its parent's → the codes covering it now."""


@functools.cache
def divisions() -> Mapping[str, Division]:
    """Code → division, for every row of ``regions.csv``."""
    text = resources.files("graph_model").joinpath("regions.csv").read_text("utf-8")
    return MappingProxyType(
        {
            r["code"]: Division(
                r["code"],
                r["name"],
                r["parent"],
                r["en"],
                int(r["retired"]) if r["retired"] else None,
                r["successor"],
            )
            for r in csv.DictReader(text.splitlines())
        }
    )


def _parent(d: Division, table: Mapping[str, Division]) -> Division | None:
    """The division above ``d`` (its province when the parent code is not in the table)."""
    if d.parent in table:
        return table[d.parent]
    province = d.code[:2] + "0000"
    return table.get(province) if province != d.code else None


def _display(d: Division, table: Mapping[str, Division]) -> str:
    """A county after its prefecture or province (宁波市海曙区), others alone."""
    parent = _parent(d, table)
    county = d.code[4:] != "00"
    return parent.name + d.name if county and parent is not None else d.name


@functools.cache
def regions() -> Mapping[str, tuple[str, str]]:
    """Code → (中文, English) of every division in ``regions.csv`` (English may be empty)."""
    table = divisions()
    return MappingProxyType({c: (_display(d, table), d.en) for c, d in table.items()})


def current_codes() -> frozenset[str]:
    """Codes of the divisions in use."""
    return _current_codes()


@functools.cache
def _current_codes() -> frozenset[str]:
    return frozenset(c for c, d in divisions().items() if d.retired is None)


def region_name(code: str | None, lang: Literal["zh", "en"]) -> str:
    """The division's name in ``lang``; for a code the table lacks (or has no English name
    of), the nearest division above it that it has a name of, and the code; the code when
    none is known; "—" for none."""
    if not code:
        return "—"
    table = regions()
    pick = 0 if lang == "zh" else 1
    if code in table and table[code][pick]:
        return table[code][pick]
    for parent in (code[:4] + "00", code[:2] + "0000"):
        if len(code) == 6 and parent != code and parent in table and table[parent][pick]:
            return f"{table[parent][pick]} {code}"
    return code


def _short(name: str, suffixes: tuple[str, ...]) -> tuple[str, ...]:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return (name, name[: -len(suffix)])
    return (name,)


@functools.cache
def _index() -> _Index:
    table = divisions()
    provinces: list[tuple[str, tuple[str, ...]]] = []
    prefectures: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    counties: dict[tuple[str, str], set[str]] = defaultdict(set)
    retired: dict[str, set[str]] = defaultdict(set)
    for code, d in table.items():
        if d.retired is not None:
            if d.successor:
                parent = _parent(d, table)
                for key in (d.name, parent.name + d.name if parent else d.name):
                    retired[key].add(d.successor)
            continue
        province = code[:2] + "0000"
        if code == province:
            provinces.append((code, _short(d.name, _PROVINCE_SUFFIXES)))
        elif code[4:] == "00":
            names = _short(d.name, ("市", "地区"))
            prefectures[province].append((code, names))
            prefectures[""].append((code, names))
        else:
            for scope in {d.parent, province, ""}:
                counties[(scope, d.name)].add(code)
    return _Index(
        tuple(provinces),
        MappingProxyType({k: tuple(v) for k, v in prefectures.items()}),
        MappingProxyType({k: tuple(sorted(v)) for k, v in counties.items()}),
        MappingProxyType({k: frozenset(v) for k, v in retired.items()}),
    )


def _prefixed(text: str, options: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, str]]:
    """(code, rest of ``text``) for each option one of whose names ``text`` starts with."""
    return [(code, text[len(n) :]) for code, names in options for n in names if text.startswith(n)]


def _parse(text: str) -> set[str]:
    """Codes of the divisions in use that ``text`` can be read as: [province][prefecture]
    [county], each part optional, each within the one before it."""
    index = _index()
    found: set[str] = set()
    for province, rest in [("", text), *_prefixed(text, index.provinces)]:
        if province and not rest:
            found.add(province)
            continue
        cities = index.prefectures.get(province, ())
        for city, tail in [("", rest), *_prefixed(rest, cities)]:
            if city and not tail:
                found.add(city)
            elif tail:
                found.update(index.counties.get((city or province, tail), ()))
    return found


def _retired(text: str) -> set[str]:
    """Codes in use covering a retired division named ``text`` ([province][prefecture]name)."""
    index = _index()
    found = set(index.retired.get(text, ()))
    for province, rest in _prefixed(text, index.provinces):
        found.update(c for c in index.retired.get(rest, ()) if c[:2] == province[:2])
    return found


def _named(codes: set[str]) -> str:
    table = regions()
    shown = [f"{table[c][0]} {c}" for c in sorted(codes)[:_SHOWN_CANDIDATES]]
    more = len(codes) - _SHOWN_CANDIDATES
    return " / ".join(shown) + (f" and {more} more" if more > 0 else "")


def resolve_region(value: str) -> tuple[str | None, str | None]:
    """(code in use, None) for a GB/T 2260 code or a Chinese name of a division; (None, why)
    when the value names none, or several (``鼓楼区``: give the province or prefecture)."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    table = divisions()
    code = _CODE.fullmatch(text)
    if code:
        d = table.get(code.group(1))
        if d is None:
            return None, "no such GB/T 2260 code (at county level or above)"
        if d.retired is None:
            return d.code, None
        if d.successor:
            return d.successor, None
        return None, f"a code retired in {d.retired} with no known successor; give the code in use"
    text = text.removeprefix("中华人民共和国").removeprefix("中国")
    found = _parse(text) or _retired(text)
    if len(found) == 1:
        return next(iter(found)), None
    if found:
        return None, f"ambiguous: {_named(found)}; give the province or prefecture"
    return None, ("not a GB/T 2260 code nor the Chinese name of a division (省/市/区县) we know")
