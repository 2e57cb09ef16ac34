"""Industries of GB/T 4754-2017 (国民经济行业分类): sections (门类, A–T), divisions (大类).

The table is data (``industries.csv``, see ``SOURCE.md``): each section and division with its
section, Chinese name and, for sections, English name; rows coded ``~`` are names of the
2002 and 2011 editions still found in registers, mapped to today's section.

:func:`resolve_industry` reads what exports hold (``C``, ``36``, ``C36``, ``C3611``, ``制造业``,
``汽车制造业``, ``C 制造业``) and returns the section letter, which the store keeps.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Literal

_CODE = re.compile(r"([A-T])?(\d{2})(\d{1,2})?")
_LETTER_NAME = re.compile(r"([A-T])(\D.*)")
# Punctuation that exports write, drop or replace inside names (农、林、牧、渔业 / 农林牧渔业).
_NAME_MARKS = re.compile(r"[\s、，,·.()（）:：\-]")


@dataclass(frozen=True)
class _Table:
    sections: Mapping[str, tuple[str, str]]
    """Section letter → (中文, English)."""
    divisions: Mapping[str, tuple[str, str]]
    """Division code → (section, 中文)."""
    names: Mapping[str, str]
    """Name as compared (no punctuation) → section."""


def _key(name: str) -> str:
    return _NAME_MARKS.sub("", unicodedata.normalize("NFKC", name))


@functools.cache
def _table() -> _Table:
    text = resources.files("graph_model").joinpath("industries.csv").read_text("utf-8")
    sections: dict[str, tuple[str, str]] = {}
    divisions: dict[str, tuple[str, str]] = {}
    names: dict[str, str] = {}
    for row in csv.DictReader(text.splitlines()):
        code, section, zh = row["code"], row["section"], row["zh"]
        if code == section:
            sections[code] = (zh, row["en"])
        elif code != "~":
            divisions[code] = (section, zh)
        names[_key(zh)] = section
    return _Table(MappingProxyType(sections), MappingProxyType(divisions), MappingProxyType(names))


def sections() -> tuple[str, ...]:
    """The section letters, A to T."""
    return tuple(_table().sections)


def industry_name(section: str | None, lang: Literal["zh", "en"]) -> str | None:
    """The section's name in ``lang`` (``制造业`` / ``Manufacturing``); None when unknown."""
    pair = _table().sections.get(section or "")
    if pair is None:
        return None
    return pair[0] if lang == "zh" else pair[1]


def resolve_industry(value: str) -> tuple[str | None, str | None]:
    """(section letter, None) for a value naming an industry; (None, why) when it names none.

    Accepted: a section letter; a division code (2 digits) or a group or class code (3 or 4
    digits), with or without its section letter in front; a section's or a division's Chinese
    name, optionally after its letter.
    """
    table = _table()
    text = unicodedata.normalize("NFKC", value).strip()
    upper = text.upper()
    if upper in table.sections:
        return upper, None
    code = _CODE.fullmatch(upper)
    if code:
        letter, division = code.group(1), code.group(2)
        found = table.divisions.get(division)
        if found is None:
            return None, f"no division {division} in GB/T 4754-2017 (01–97)"
        if letter and letter != found[0]:
            return None, f"division {division} ({found[1]}) is in section {found[0]}, not {letter}"
        return found[0], None
    section = table.names.get(_key(text))
    if section is not None:
        return section, None
    lettered = _LETTER_NAME.fullmatch(upper)
    if lettered and table.names.get(_key(text[1:])) == lettered.group(1):
        return lettered.group(1), None
    return None, (
        "not a GB/T 4754-2017 industry: give a section letter (A–T), a division code (01–97) "
        "or a section's or division's Chinese name"
    )
