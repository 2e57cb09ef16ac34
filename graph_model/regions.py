"""Names of administrative divisions (GB/T 2260 codes, 行政区划代码) for display.

The table is data (``regions.csv``): code, Chinese name, English name, and the year a
retired code stopped being issued (old codes stay on the records and ID numbers of their
time). It holds the provinces, Zhejiang's prefecture-level cities and the districts and
counties that the demo city and Ningbo's data use. Source: GB/T 2260 as published by the
Ministry of Civil Affairs (民政部, 中华人民共和国县以上行政区划代码, 2023 edition, and the
2016 list for the retired 江东区 330204 and 奉化市 330283, 国函〔2016〕150号). Add the codes of
your own territory to the file; a code it does not hold is named by its prefecture or
province with the code beside it (``宁波市 330299``), or shown as the code.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Literal


@functools.cache
def regions() -> Mapping[str, tuple[str, str]]:
    """Code → (中文, English) of every division in ``regions.csv``."""
    text = resources.files("graph_model").joinpath("regions.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return MappingProxyType({r["code"]: (r["zh"], r["en"]) for r in rows})


def region_name(code: str | None, lang: Literal["zh", "en"]) -> str:
    """The division's name in ``lang``; for a code the table lacks, its prefecture's or
    province's name and the code; the code when neither is known; "—" for none."""
    if not code:
        return "—"
    table = regions()
    pick = 0 if lang == "zh" else 1
    if code in table:
        return table[code][pick]
    for parent in (code[:4] + "00", code[:2] + "0000"):
        if len(code) == 6 and parent in table:
            return f"{table[parent][pick]} {code}"
    return code
