"""The three worked mappings of docs/bring-your-own-data.md, run as the doc shows them: each
script of docs/examples/ turns its raw sample export (tests/byod/) into contract files, and
``creditgraph load`` takes them into the real embedded store with the warnings the sample's
messiness implies and nothing rejected."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from cli.app import app
from graph_model.store.ladybug import LadybugStore

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "byod"
FAR = date(2999, 1, 1)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    return tmp_path / "home"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def convert(script: str, *args: Path) -> str:
    """Run ``python docs/examples/<script>.py ARGS`` as a reader does; its output."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "examples" / f"{script}.py"), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def raw(sample: str, table: str) -> list[dict[str, str]]:
    path = SAMPLES / sample / f"{table}.csv"
    data = path.read_bytes()
    text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("gb18030")
    return list(csv.DictReader(text.splitlines()))


def _day(text: str) -> date:
    """2023-08-01 or 2023年8月1日 as a date."""
    year, month, day = (int(part) for part in re.findall(r"\d+", text))
    return date(year, month, day)


def load(folder: Path) -> list[tuple[str, int, str, str]]:
    """Load ``folder`` (exit 0 expected: nothing rejected); the warnings, as (file, line,
    field, value)."""
    code, out = run("load", str(folder), "--quiet")
    assert code == 0, out
    assert "rejects:" not in out
    line = next((x for x in out.splitlines() if x.startswith("warnings")), None)
    if line is None:
        return []
    with Path(line.split(": ", 1)[1]).open(encoding="utf-8", newline="") as fh:
        return [(r["file"], int(r["line"]), r["field"], r["value"]) for r in csv.DictReader(fh)]


def store_of(home: Path) -> LadybugStore:
    return LadybugStore(home / "store" / "graph.lbdb", read_only=True)


def table(store: LadybugStore, label: str) -> pa.Table:
    return pa.concat_tables(store.export_nodes(label, FAR, 1_000_000))


def relations(store: LadybugStore, rel_type: str, as_of: date = FAR) -> list[dict]:
    return pa.concat_tables(store.export_relations(rel_type, as_of, 1_000_000)).to_pylist()


def test_a_registry_export_maps_to_the_contract_and_loads(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry-contract"
    printed = convert("registry_export", SAMPLES / "registry", out)
    assert "left out: {'财务负责人': 10}" in printed

    # The sample's messiness the script passes on is warned about, and nothing else is.
    firms = raw("registry", "企业基本信息")
    assert sorted(load(out)) == [
        ("enterprises.csv", 7, "registered_capital", "50万美元"),
        ("enterprises.csv", 11, "registered_capital", "一百万元"),
        ("enterprises.csv", 23, "region_code", "浙江省宁波市东海新区"),
        ("enterprises.csv", 25, "industry", "其他"),
        ("enterprises.csv", 27, "established_on", "2019-02-29"),
    ]
    with store_of(home) as store:
        stored = {e["id"]: e for e in table(store, "Enterprise").to_pylist()}
        given = {f["统一社会信用代码"].strip().upper(): f for f in firms}
        assert given.keys() <= stored.keys()
        # 万元 → yuan, 登记状态 → status with the day it ended, names → codes.
        for uscc, firm in given.items():
            capital = firm["注册资本"].removesuffix("人民币").removesuffix("万元")
            if capital.replace(".", "").isdigit():
                assert stored[uscc]["registered_capital"] == pytest.approx(float(capital) * 1e4)
        status = {e["status"] for u, e in stored.items() if u in given}
        assert status == {"active", "revoked", "deregistered", "moved_out"}
        ended = {u: e["deregistered_on"] for u, e in stored.items() if e["deregistered_on"]}
        assert ended == {
            u: _day(f["注销/吊销日期"]) for u, f in given.items() if f["注销/吊销日期"]
        }
        assert stored["REG:330206000123456"]["name"].endswith("北仑分公司")
        # 执行董事兼总经理: one person by name, director and manager, the legal rep too.
        first = next(iter(given))
        seen = store.neighbours(first, ("OFFICER", "LEGAL_REP"), direction="in").items
        rep = given[first]["法定代表人"]
        kinds = sorted(n.edge.type for n in seen if n.node.name == rep)
        assert kinds == ["LEGAL_REP", "OFFICER", "OFFICER"]
        assert len({n.node.id for n in seen if n.node.name == rep}) == 1
        # A percentage where the registry gives one, else derived from 认缴 / 注册资本.
        holdings = relations(store, "HOLDS_SHARES")
        assert len(holdings) == len(raw("registry", "股东及出资信息"))
        assert any(h["share_derived"] for h in holdings)
        assert any(h["share_derived"] is False for h in holdings)
        records = pa.concat_tables(store.export_records(FAR, 1_000_000))
        reasons = pc.unique(records["reason"]).to_pylist()
        assert sorted(reasons) == [
            "failure_to_disclose",
            "false_disclosure",
            "no_annual_report",
            "unreachable_address",
        ]
        assert store.counts().relations["HAS_BRANCH"] == len(raw("registry", "分支机构"))


def test_a_providers_export_maps_to_the_contract_and_loads(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "provider-contract"
    printed = convert("provider_export", SAMPLES / "provider", out)
    assert "left out: {'申请人': 2}" in printed
    firms = raw("provider", "企业列表")
    foreign = [k + 2 for k, f in enumerate(firms) if "美元" in f["注册资本"]]
    assert sorted(load(out)) == sorted(
        [("enterprises.csv", line, "registered_capital", "50万美元") for line in foreign]
        + [("enterprises.csv", 11, "industry", "玩具贸易")]
    )
    with store_of(home) as store:
        ids = set(table(store, "Enterprise")["id"].to_pylist())
        # A firm without a USCC is keyed by the provider's id; the others by their USCC.
        for firm in firms:
            code = firm["统一社会信用代码"]
            assert (code if code != "-" else f"SRC:provider:{firm['企业ID']}") in ids
        persons = table(store, "Person")
        by_source = persons.filter(pc.equal(persons["identity"], "source_id"))
        assert sorted(by_source["source_id"].to_pylist()) == sorted(
            f"SRC:provider:{p['人员ID']}" for p in raw("provider", "人员列表")
        )
        assert pc.sum(pc.equal(persons["identity"], "name")).as_py() > 0
        # No percentage given ("-"): the stake comes from 认缴 / 注册资本, flagged.
        holdings = relations(store, "HOLDS_SHARES")
        given = [h for h in raw("provider", "股东信息") if h["持股比例"] != "-"]
        stated = [h for h in holdings if h["share"] is not None and not h["share_derived"]]
        assert len(stated) == len(given)
        assert sum(bool(h["share_derived"]) for h in holdings) > len(holdings) / 2
        # Nothing to derive from where the capital is in dollars: the stake stays unknown.
        dollars = {f["企业ID"] for f in firms if "美元" in f["注册资本"]}
        unknown = [h for h in raw("provider", "股东信息") if h["企业ID"] in dollars]
        assert sum(h["share"] is None for h in holdings) == len(unknown) > 0
        # 上诉人（原审被告） is a defendant; 申请人 is left out.
        suits = [r for r in raw("provider", "裁判文书") if r["诉讼身份"] != "申请人"]
        records = pa.concat_tables(store.export_records(FAR, 1_000_000)).to_pylist()
        lawsuits = {
            (r["record_no"], r["enterprise_id"]): r for r in records if r["kind"] == "lawsuit"
        }
        assert len(lawsuits) == len(suits)
        appealed = [r for r in records if r["kind"] == "lawsuit" and r["record_no"] in {
            s["案号"] for s in suits if s["诉讼身份"] == "上诉人（原审被告）"
        }]  # fmt: skip
        assert appealed and all(r["role"] == "defendant" for r in appealed)
        counts = store.counts().records
        assert counts["enforcement"] == len(raw("provider", "被执行人"))
        assert counts["dishonest_debtor"] == len(raw("provider", "失信被执行人"))


def test_a_banks_ledger_maps_to_guarantees_and_a_labels_file(home: Path, tmp_path: Path) -> None:
    out, labels = tmp_path / "bank-contract", tmp_path / "bank-labels.csv"
    convert("bank_ledger", SAMPLES / "bank", out, labels)
    assert sorted(load(out)) == [
        ("enterprises.csv", 7, "region_code", "33O203"),
        ("enterprises.csv", 13, "registered_capital", "未知"),
    ]
    contracts = raw("bank", "担保合同")
    kept = [c for c in contracts if "保证" in c["担保方式"] and c["担保人统一社会信用代码"]]
    defaults = {d["借款合同编号"]: d["违约日期"] for d in raw("bank", "贷款违约")}
    with store_of(home) as store:
        # Every guarantee of the sample is in force at the end of 2024.
        in_force = relations(store, "GUARANTEES", date(2024, 12, 31))
        stored = {g["contract_no"]: g for g in in_force}
        assert stored.keys() == {c["担保合同编号"] for c in kept}
        for c in kept:
            g = stored[c["担保合同编号"]]
            amount = c["担保金额(万元)"].replace(",", "")
            assert g["amount"] == (float(amount) * 1e4 if amount else None)
            assert g["currency"] == {"人民币": "CNY", "美元": "USD"}.get(c["币种"], c["币种"])
            # 到期日 is the last day covered: valid_to is the day after.
            assert (g["valid_to"] - date.fromisoformat(c["担保到期日"])).days == 1
            want = defaults.get(c["主合同编号"])
            assert g["defaulted_on"] == (date.fromisoformat(want) if want else None)
        assert any(g["defaulted_on"] for g in stored.values())
        assert any(g["currency"] == "USD" for g in stored.values())

    code, printed = run("labels", "check", str(labels))
    assert code == 0, printed
    assert f"bank default {len(defaults)}" in printed


def test_a_sheet_saved_as_xlsx_maps_as_its_csv_does(tmp_path: Path) -> None:
    rows = list(csv.reader((SAMPLES / "bank" / "借款人.csv").read_text("utf-8-sig").splitlines()))
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    for name in ("担保合同.csv", "贷款违约.csv"):
        (ledger / name).write_bytes((SAMPLES / "bank" / name).read_bytes())
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(ledger / "借款人.xlsx")
    convert("bank_ledger", ledger, tmp_path / "from-xlsx", tmp_path / "a.csv")
    convert("bank_ledger", SAMPLES / "bank", tmp_path / "from-csv", tmp_path / "b.csv")
    for name in ("enterprises.csv", "guarantees.csv"):
        assert (tmp_path / "from-xlsx" / name).read_text() == (
            tmp_path / "from-csv" / name
        ).read_text()
