"""Real exports in: dates in the forms they use, Excel workbooks, regions and industries given
as codes or Chinese names, and the names shown back by the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest
from conftest import API_KEYS, make_resident_id, make_uscc
from fastapi.testclient import TestClient

from access.settings import AccessSettings
from api.app import create_app
from graph_model.contract_doc import render_data_contract
from graph_model.domain import DATE_FORMS, FieldSpec, load_domain
from graph_model.industries import industry_name, resolve_industry, sections
from graph_model.regions import current_codes, divisions, region_name, regions, resolve_region
from graph_model.store.ladybug import LadybugStore
from loaders.load import load_folder
from loaders.read import (
    XLSX_MAX_RATIO,
    XLSX_MAX_UNPACKED,
    FileProblem,
    SourceFile,
    find_files,
    read_source,
)
from loaders.summary import LoadRefused, LoadSummary
from loaders.validate import Problems, convert_field

WriteFiles = Callable[[str, dict[str, str | bytes]], Path]
TODAY = dt.date(2026, 1, 1)
ANALYST = {"X-API-Key": "analyst-key"}


def _load(store: LadybugStore, folder: Path) -> LoadSummary:
    return load_folder(store, folder, salt="s", rejects_dir=folder.parent / "rejects")


def _convert(values: list[Any], spec: FieldSpec) -> tuple[list[Any], Problems]:
    problems = Problems(len(values))
    out = convert_field(pa.array(values), spec, problems, TODAY)
    return out.to_pylist(), problems


def _found(problems: Problems, *, warnings: bool = False) -> list[tuple[list[int], str]]:
    items = problems.warnings if warnings else problems.items
    return [(sorted(int(r) for r in rows), reason) for rows, _, reason, _ in items]


# -- dates ------------------------------------------------------------------------------------

DATE = FieldSpec("established_on", "date", "a date")


def test_dates_in_the_forms_real_exports_use() -> None:
    forms = [
        "2025-06-30", "2025/6/30", "2025/06/30", "20250630", "2025年6月30日", "2025-6-30",
        "2025.06.30", "２０２５年６月３０日", "2025-06-30 00:00:00", "2025/6/30 0:00",
    ]  # fmt: skip
    out, problems = _convert(forms, DATE)
    assert out == [dt.date(2025, 6, 30)] * len(forms)
    assert not problems.items


def test_other_date_forms_are_refused_naming_the_accepted_ones() -> None:
    bad = ["30/06/2025", "2025-02-30", "2025-06/30", "202506300", "2025年6月30", "June 30", "45838"]
    out, problems = _convert([*bad, "2024-02-29", None], DATE)
    assert out == [None] * len(bad) + [dt.date(2024, 2, 29), None]
    ((rows, reason),) = _found(problems)
    assert rows == list(range(len(bad)))
    assert DATE_FORMS in reason and "2025年6月30日" in reason and "20250630" in reason


def test_typed_date_columns_are_taken_as_they_are() -> None:
    day = dt.date(2021, 3, 1)
    for col in (pa.array([day]), pa.array([dt.datetime(2021, 3, 1, 15, 30)], pa.timestamp("s"))):
        problems = Problems(1)
        assert convert_field(col, DATE, problems, TODAY).to_pylist() == [day]
        assert not problems.items


def test_a_large_column_of_mixed_forms_converts_row_by_row_right() -> None:
    forms = ("{y}/{m}/{d}", "{y}{m:02d}{d:02d}", "{y}年{m}月{d}日", "{y}-{m:02d}-{d:02d}")
    days = [dt.date(2000 + k % 25, 1 + k % 12, 1 + k % 28) for k in range(100_000)]
    given = [forms[k % 4].format(y=d.year, m=d.month, d=d.day) for k, d in enumerate(days)]
    out, problems = _convert([*given, "2023-02-29"], DATE)
    assert out == [*days, None]
    assert _found(problems)[0][0] == [len(days)]


# -- regions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("330203", "330203"),
        ("330200000000", "330200"),  # the statistics bureau's twelve digits
        ("宁波市", "330200"),
        ("宁波", "330200"),
        ("浙江省", "330000"),
        ("浙江省宁波市海曙区", "330203"),
        ("浙江 宁波 海曙区", "330203"),
        ("海曙区", "330203"),  # no other county has that name
        ("北京市朝阳区", "110105"),
        ("吉林市", "220200"),
        ("湖北省仙桃市", "429004"),  # a county-level city under its province
        ("上海市浦东新区", "310115"),
        ("330204", "330212"),  # 江东区, merged into 鄞州区 in 2016
        ("330283", "330213"),  # 奉化市 became 奉化区
        ("宁波市江东区", "330212"),
        ("浙江省宁波市奉化市", "330213"),
        ("110103", "110101"),  # 崇文区 → 东城区 (2010)
    ],
)
def test_regions_as_codes_or_chinese_names(given: str, code: str) -> None:
    assert resolve_region(given) == (code, None)


def test_regions_that_name_none_or_several_say_why() -> None:
    code, why = resolve_region("鼓楼区")
    assert code is None and why is not None
    assert "ambiguous" in why and "南京市鼓楼区 320106" in why and "福州市鼓楼区 350102" in why
    assert resolve_region("朝阳区")[1] is not None
    assert resolve_region("吉林")[0] is None  # the province or its city
    for nowhere in ("999999", "330201", "火星市", "abc"):
        assert resolve_region(nowhere)[0] is None


def test_the_region_table_covers_the_country_with_its_history() -> None:
    table = divisions()
    in_use = current_codes()
    provinces = {c for c in in_use if c.endswith("0000")}
    counties = {c for c in in_use if not c.endswith("00")}
    assert len(provinces) == 34 and len(counties) > 2_800
    # Every retired code points at a code in use, or at none (then it is not read as one).
    retired = [d for d in table.values() if d.retired is not None]
    assert len(retired) > 3_000
    assert all(d.successor in in_use for d in retired if d.successor)
    assert region_name("330212", "zh") == "宁波市鄞州区"
    assert region_name("420102", "zh") == "武汉市江岸区"
    assert region_name("110105", "zh") == "北京市朝阳区"
    assert region_name("330204", "zh") == "宁波市江东区"  # retired codes keep their names
    assert region_name("420103", "en") == "Hubei 420103"  # no English name kept: its province's
    assert all(len(c) == 6 and c.isdigit() for c in regions())
    source = (Path(__file__).parents[1] / "graph_model" / "SOURCE.md").read_text("utf-8")
    assert "regions.csv" in source and "2026-09-11" in source and "industries.csv" in source


# -- industries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "section"),
    [
        ("C", "C"), ("c", "C"), ("36", "C"), ("C36", "C"), ("C3611", "C"), ("3611", "C"),
        ("51", "F"), ("制造业", "C"), ("汽车制造业", "C"), ("批发和零售业", "F"),
        ("农、林、牧、渔业", "A"), ("农林牧渔业", "A"), ("C 制造业", "C"), ("F批发和零售业", "F"),
        ("信息传输、计算机服务和软件业", "I"), ("97", "T"), ("０１", "A"),
    ],
)  # fmt: skip
def test_industries_as_letters_division_codes_or_names(given: str, section: str) -> None:
    assert resolve_industry(given) == (section, None)


def test_industries_that_name_none_say_why() -> None:
    assert "section F" in (resolve_industry("C51")[1] or "")  # 批发业 is trade, not C
    assert "no division 99" in (resolve_industry("99")[1] or "")
    for nothing in ("Z", "造火箭", "C 批发业", "123456"):
        assert resolve_industry(nothing)[0] is None
    assert sections() == tuple("ABCDEFGHIJKLMNOPQRST")
    assert industry_name("C", "zh") == "制造业" and industry_name("C", "en") == "Manufacturing"
    assert industry_name(None, "en") is None


def test_every_division_has_a_section() -> None:
    for division in range(1, 98):
        section, why = resolve_industry(f"{division:02d}")
        assert section in sections(), (division, why)


# -- codes and names through the loader -------------------------------------------------------


def test_names_load_as_codes_and_unreadable_ones_are_emptied_with_a_warning(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    firms = [make_uscc(k) for k in range(1, 6)]
    rows = [
        ["id", "name", "region_code", "industry", "established_on"],
        [firms[0], "甲", "浙江省宁波市海曙区", "制造业", "2020/5/17"],
        [firms[1], "乙", "330204", "C36", "20190630"],
        [firms[2], "丙", "鼓楼区", "造火箭", "2018年3月1日"],
        [firms[3], "丁", "火星市", "F", "2017-01-01"],
        [firms[4], "戊", "", "", "2017-01-01"],
    ]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    summary = _load(store, write_files("in", {"enterprises.csv": text}))
    assert summary.accepted == 5 and not summary.rejects
    stored = [store.get_entity(f).properties for f in firms]
    assert [(p["region_code"], p["industry"]) for p in stored] == [
        ("330203", "C"), ("330212", "C"), (None, None), (None, "F"), (None, None)
    ]  # fmt: skip
    assert stored[1]["established_on"] == dt.date(2019, 6, 30)
    assert stored[2]["established_on"] == dt.date(2018, 3, 1)
    shown = [(w.line, w.field, w.value) for w in summary.warnings]
    assert shown == [
        (4, "industry", "造火箭"),
        (4, "region_code", "鼓楼区"),
        (5, "region_code", "火星市"),
    ]
    assert (
        "ambiguous" in summary.warnings[1].reason
        and "loaded without it" in summary.warnings[1].reason
    )


# -- Excel --------------------------------------------------------------------------------------


def _workbook(rows: list[list[Any]], title: str = "Sheet", before: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    if before is not None:
        ws.title = before
        ws.append(["说明：本表由系统导出"])
        ws = wb.create_sheet(title)
    else:
        ws.title = title
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rezip(
    data: bytes, edit: dict[str, Callable[[bytes], bytes]], extra: dict[str, bytes]
) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for name in zin.namelist():
            part = zin.read(name)
            zout.writestr(name, edit[name](part) if name in edit else part)
        for name, part in extra.items():
            zout.writestr(name, part)
    return out.getvalue()


def _read(folder: Path, table: str = "enterprises") -> Any:
    (source,), _ = find_files(folder, (table,))
    return read_source(source)


def _sheet_xml(cells: bytes) -> Callable[[bytes], bytes]:
    """An edit of sheet1.xml adding row 3 with ``cells`` (raw XML)."""
    return lambda xml: xml.replace(b"</sheetData>", b'<row r="3">' + cells + b"</row></sheetData>")


HEAD = ["id", "name", "registered_capital", "established_on", "status"]


def test_excel_cells_come_out_as_the_contract_reads_them(write_files: WriteFiles) -> None:
    uscc = make_uscc(7)
    rows = [
        HEAD,
        [uscc, "甲", 5000000, dt.datetime(2020, 5, 17), True],
        [],  # a blank row is skipped, and counted
        [uscc.lower(), 330203, 1234.5, dt.datetime(2021, 3, 1, 8, 30), "2021年3月1日"],
    ]
    # Cells as Excel writes them: a whole number as a float, a large number, a formula and its
    # saved value, a formula with none (never evaluated).
    extra = (
        b'<c r="A5" t="inlineStr"><is><t>x</t></is></c><c r="C5"><v>15000000.0</v></c>'
        b'<c r="D5"><v>3.30203198001010E+17</v></c>'
        b'<c r="E5"><f>1+1</f><v>2</v></c>'
    )
    data = _rezip(
        _workbook(rows, "enterprises", before="说明"),
        {
            "xl/worksheets/sheet2.xml": lambda x: x.replace(
                b"</sheetData>",
                b'<row r="5">'
                + extra
                + b'</row><row r="6"><c r="A6"><f>NOW()</f></c></row></sheetData>',
            )
        },
        {},
    )
    contents = _read(write_files("in", {"enterprises.xlsx": data}))
    assert contents.names == tuple(HEAD)
    columns = ("id", "name", "registered_capital", "established_on", "status")
    assert [tuple(r.values()) for r in contents.table.to_pylist()] == [
        (uscc, "甲", "5000000", "2020-05-17", "true"),
        (uscc.lower(), "330203", "1234.5", "2021-03-01 08:30:00", "2021年3月1日"),
        ("x", None, "15000000", "3.30203E+17", "2"),
    ]
    assert tuple(contents.table.column_names) == columns
    assert contents.lines({1, 2, 3}) == {1: 2, 2: 4, 3: 5}  # Excel's row numbers


def test_excel_rejects_name_excel_rows_and_mask_ids_typed_as_numbers(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    person = make_resident_id(5)
    rows = [["id_number", "name"], [person, "张三"], [], [float(person), "李四"]]
    folder = write_files("in", {"persons.xlsx": _workbook(rows)})
    summary = _load(store, folder)
    assert summary.accepted == 1
    ((line, field, value),) = [(r.line, r.field, r.value) for r in summary.rejects]
    assert (line, field) == (4, "id_number")
    assert person[6:14] not in value  # Excel kept 15 digits; none of the birth date is shown


def test_the_sheet_is_the_one_named_as_the_table_else_the_first_visible(
    write_files: WriteFiles,
) -> None:
    named = _workbook([["id", "name"], [make_uscc(1), "甲"]], "Enterprises", before="说明")
    assert _read(write_files("named", {"enterprises.xlsx": named})).names == ("id", "name")
    first = _workbook([["id", "name"]], "数据", before="说明")
    assert _read(write_files("first", {"enterprises.xlsx": first})).names == (
        "说明：本表由系统导出",
    )
    notes = 'name="说明" sheetId="1" state="'.encode()
    hide = {"xl/workbook.xml": lambda x: x.replace(notes + b"visible", notes + b"hidden")}
    hidden = _rezip(first, hide, {})
    assert _read(write_files("hidden", {"enterprises.xlsx": hidden})).names == ("id", "name")


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("old_xls", "not an Excel .xlsx workbook"),
        ("broken_zip", "broken zip"),
        ("zip_bomb", "zip bomb"),
        ("external_link", "links to other workbooks"),
        ("xml_entities", "not a readable Excel .xlsx workbook"),
        ("far_right", "line 3, column XFD: a value right of the header's last column (B)"),
        ("beyond_excel", "line 1,048,577: beyond Excel's 1,048,576 rows"),
        ("header_not_in_row_1", "line 1: empty header row"),
        ("header_twice", "a column name appears twice"),
    ],
)
def test_hostile_or_broken_workbooks_are_refused(
    case: str, words: str, write_files: WriteFiles
) -> None:
    good = _workbook([["id", "name"], [make_uscc(1), "甲"]])
    laughs = b"".join(
        f'<!ENTITY {chr(98 + k)} "{("&" + chr(97 + k) + ";") * 10}">'.encode() for k in range(8)
    )
    made = {
        "old_xls": bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504),
        "broken_zip": good[:200],
        "zip_bomb": _rezip(good, {}, {"xl/media/image1.bin": bytes(16 << 20)}),
        "external_link": _rezip(good, {}, {"xl/externalLinks/externalLink1.xml": b"<x/>"}),
        "xml_entities": _rezip(
            good,
            {
                "xl/worksheets/sheet1.xml": lambda x: (
                    b'<!DOCTYPE worksheet [<!ENTITY a "ha">'
                    + laughs
                    + b"]>"
                    + _sheet_xml(b'<c r="B3" t="inlineStr"><is><t>&i;</t></is></c>')(x)
                )
            },
            {},
        ),
        "far_right": _rezip(
            good,
            {
                "xl/worksheets/sheet1.xml": _sheet_xml(
                    b'<c r="XFD3" t="inlineStr"><is><t>x</t></is></c>'
                )
            },
            {},
        ),
        "beyond_excel": _rezip(
            good,
            {
                "xl/worksheets/sheet1.xml": lambda x: x.replace(
                    b"</sheetData>",
                    b'<row r="1048577"><c r="A1048577" t="inlineStr"><is><t>x</t></is></c>'
                    b"</row></sheetData>",
                )
            },
            {},
        ),
        "header_not_in_row_1": _workbook([[], ["id", "name"]]),
        "header_twice": _workbook([["id", "name", " id "]]),
    }
    folder = write_files(case, {"enterprises.xlsx": made[case]})
    started = time.perf_counter()
    with pytest.raises(FileProblem) as refused:
        _read(folder)
    assert time.perf_counter() - started < 5
    message = str(refused.value)
    assert message.startswith("enterprises.xlsx") and words in message, message


def test_csv_and_excel_for_one_table_refuse_the_load(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    folder = write_files(
        "in", {"enterprises.csv": "id,name\n", "enterprises.xlsx": _workbook([["id", "name"]])}
    )
    with pytest.raises(LoadRefused, match=r"enterprises\.csv, enterprises\.xlsx exist"):
        _load(store, folder)


def test_an_excel_load_gives_the_same_store_as_csv(tmp_path: Path, write_files: WriteFiles) -> None:
    rows = [
        ["id", "name", "region_code", "industry", "registered_capital", "established_on"],
        [make_uscc(1), "甲", "330203", "F", "5000000", "2020-05-17"],
        [make_uscc(2), "乙", "宁波市", "C", "1234.5", "2021-03-01"],
    ]
    as_csv = io.StringIO()
    csv.writer(as_csv, lineterminator="\n").writerows(rows)
    typed = [rows[0], [make_uscc(1), "甲", 330203, "F", 5e6, dt.datetime(2020, 5, 17)], rows[2]]
    states = []
    for name, files in (
        ("csv", {"enterprises.csv": as_csv.getvalue()}),
        ("xlsx", {"enterprises.xlsx": _workbook(typed)}),
    ):
        with LadybugStore(tmp_path / f"db-{name}") as store:
            summary = _load(store, write_files(name, files))
            assert summary.accepted == 2 and not summary.rejects and not summary.warnings
            states.append([store.get_entity(make_uscc(k)).properties for k in (1, 2)])
    assert states[0] == states[1]


def test_excel_limits_are_the_documented_ones() -> None:
    doc = render_data_contract()
    assert f"{XLSX_MAX_UNPACKED >> 30} GiB" in doc and f"{XLSX_MAX_RATIO} times" in doc
    assert DATE_FORMS in doc and "`<table>.xlsx`" in doc
    spec = next(n for n in load_domain().nodes if n.label == "Enterprise")
    assert spec.field("region_code").normalise == "region"
    assert spec.field("industry").normalise == "industry"


def test_a_source_file_knows_its_kind(tmp_path: Path) -> None:
    assert SourceFile("enterprises", tmp_path / "enterprises.xlsx").is_xlsx
    assert not SourceFile("enterprises", tmp_path / "enterprises.csv").is_xlsx


# -- names shown back ---------------------------------------------------------------------------


def test_the_api_profile_names_the_region_and_the_industry(
    tmp_path: Path, write_files: WriteFiles
) -> None:
    settings = AccessSettings(home=tmp_path / "home", api_keys=json.dumps(API_KEYS))
    firm = make_uscc(1)
    text = f"id,name,region_code,industry\n{firm},甲,宁波市海曙区,汽车制造业\n"
    settings.embedded_store_path.parent.mkdir(parents=True)
    with LadybugStore(settings.embedded_store_path) as store:
        _load(store, write_files("in", {"enterprises.csv": text}))
    with TestClient(create_app(settings)) as client:
        zh = client.get(f"/v1/enterprises/{firm}", headers={**ANALYST, "Accept-Language": "zh"})
        en = client.get(f"/v1/enterprises/{firm}", headers=ANALYST)
    assert zh.status_code == 200 and en.status_code == 200, zh.text
    assert zh.json()["properties"]["region_code"] == "330203"
    assert (zh.json()["region_name"], zh.json()["industry_name"]) == ("宁波市海曙区", "制造业")
    assert (en.json()["region_name"], en.json()["industry_name"]) == (
        "Haishu, Ningbo", "Manufacturing"
    )  # fmt: skip
