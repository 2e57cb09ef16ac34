"""The one-enterprise report (risk/report.py): what each role finds in it, hostile names
escaped, the records, owners and picture it holds; then through the API on the small city."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from conftest import ApiCity
from fastapi.testclient import TestClient
from feature_graphs import AS_OF, SnapshotBuilder

from access.keyring import Caller
from api.services import Services
from graph_model.snapshot import Snapshot
from risk.model.evidence_steps import Evidence
from risk.model.reasons import Reason
from risk.report import GRAPH_NODES, HOLDERS_SHOWN, Source, render, report_context
from risk.snapshot_index import SnapshotIndex
from risk.wording import Language

REGULATOR = Caller("市局", "regulator")
BANK = Caller("甬城银行", "bank")
ANALYST = Caller("研究所", "analyst")
HOSTILE = "<script>alert(1)</script>有限公司"
SOURCE = Source("LadybugDB (embedded)", "m-test", AS_OF)


@dataclass(frozen=True)
class Grade:
    """A stored grade as the report reads one."""

    as_of: date
    model_version: str
    grade: str
    score: float
    rank: int
    population: int
    reasons: list[Reason] | None


GRADE = Grade(
    AS_OF,
    "m-test",
    "D",
    0.8765,
    3,
    100,
    [Reason("legal_rep_bad_firms", 2.0, 1.5, "", (Evidence("张三丰 leads 坏公司", ("张三丰",)),))],
)


def _city(holders: int = 3) -> tuple[SnapshotIndex, Snapshot]:
    city = SnapshotBuilder().firm(HOSTILE, address="<img src=x onerror=alert(2)>")
    city.firms_named("坏公司", "子公司")
    city.person("张三丰", "李四")
    city.tie("LEGAL_REP", "张三丰", HOSTILE)
    city.tie("HOLDS_SHARES", "张三丰", HOSTILE, share=0.6)
    city.tie("HOLDS_SHARES", "坏公司", HOSTILE, share=0.3)
    city.tie("HOLDS_SHARES", HOSTILE, "子公司", share=1.0)
    city.tie("OFFICER", "李四", HOSTILE, role="supervisor")
    for k in range(holders - 2):
        name = f"小股东{k:02d}公司"
        city.firm(name)
        city.tie("HOLDS_SHARES", name, HOSTILE, share=0.1 / holders)
    city.record("坏公司", "black_list", date(2024, 1, 1), reason="<b>serious</b>")
    city.record(HOSTILE, "penalty", date(2024, 3, 1), reason="<i>late</i>", severity="general")
    city.record(HOSTILE, "abnormal_list", date(2023, 3, 1), end=date(2024, 3, 1))
    snapshot = city.build()
    return SnapshotIndex(snapshot), snapshot


def _report(reader: Caller, holders: int = 3, lang: Language = "zh") -> str:
    index, snapshot = _city(holders)
    context = report_context(
        index,
        snapshot,
        HOSTILE,
        reader,
        grade=GRADE,
        source=SOURCE,
        lang=lang,
    )
    assert context is not None
    return render(context)


def test_hostile_names_and_texts_come_out_escaped() -> None:
    page = _report(REGULATOR)
    assert "<script>" not in page and "<img" not in page and "<b>serious" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;有限公司" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_grade_score_and_reasons_only_for_roles_that_see_grades() -> None:
    regulator = _report(REGULATOR)
    assert 'class="grade grade-D"' in regulator and "0.876" in regulator
    assert 'id="reasons"' in regulator and "坏公司" in regulator
    for reader in (BANK, ANALYST):
        page = _report(reader)
        assert (
            "0.876" not in page
            and 'class="grade grade-D"' not in page
            and 'id="reasons"' not in page
        )
        assert "m-test" not in page  # nor the model that made it


def test_screening_for_banks_and_regulators_ownership_and_graph_for_explorers() -> None:
    bank, analyst, regulator = _report(BANK), _report(ANALYST), _report(REGULATOR)
    # A penalty in force and a black-listed holder: elevated.
    assert 'class="level level-elevated"' in bank and 'class="level level-elevated"' in regulator
    assert 'id="screening"' not in analyst
    assert "<svg" not in bank and 'class="holder"' not in bank
    assert "<svg" in analyst and "<svg" in regulator


def test_persons_are_masked_as_the_api_masks_them() -> None:
    assert "张三丰" in _report(REGULATOR)
    for reader in (BANK, ANALYST):
        page = _report(reader)
        assert "张三丰" not in page and "李四" not in page and "张**" in page


def test_records_with_dates_in_force_and_kind() -> None:
    page = _report(ANALYST)
    rows = re.findall(r'<tr class="record">(.*?)</tr>', page, re.S)
    assert len(rows) == 2  # its own: a penalty in force, an ended abnormal-list entry
    # The penalty's end is its publicity window's; in force on the snapshot's date.
    penalty = next(r for r in rows if "行政处罚" in r)
    assert "<td>2024-03-01</td><td>2027-03-01</td>" in penalty and 'class="flag"' in penalty
    assert "&lt;i&gt;late&lt;/i&gt;" in penalty
    ended = next(r for r in rows if "2023-03-01" in r)
    assert 'class="flag"' not in ended


def test_holders_beneficial_owners_and_the_picture() -> None:
    page = _report(REGULATOR)
    holders = re.findall(r'<tr class="holder">(.*?)</tr>', page, re.S)
    assert len(holders) == 3 and "60.0%" in holders[0] and "张三丰" in holders[0]
    assert re.findall(r'<li class="owner">(.*?)</li>', page) == ["张三丰 · 60.0%"]
    # The firm; its legal representative and holder, its officer, two firm holders, a holding.
    assert page.count('<g class="node ') == 1 + 5
    assert page.count("<line ") == 5 + 3  # edges and the legend's relations
    assert "stroke-dasharray" not in page.split('class="legend"')[0]  # no guarantee drawn


def test_many_holders_are_counted_beyond_the_shown() -> None:
    holders = HOLDERS_SHOWN + 10
    page = _report(ANALYST, holders=holders, lang="en")
    assert len(re.findall(r'<tr class="holder">', page)) == HOLDERS_SHOWN
    assert f"and {holders - HOLDERS_SHOWN} more" in page
    neighbours = holders + 2  # the legal representative and officer, the holding
    assert page.count('<g class="node ') == 1 + GRAPH_NODES
    assert f'id="graph-more">and {neighbours - GRAPH_NODES} more' in page


def test_not_in_the_snapshot_is_none() -> None:
    index, snapshot = _city()
    assert report_context(index, snapshot, "nobody", REGULATOR, grade=None, source=SOURCE) is None


# -- through the API -------------------------------------------------------------------------


def _graded_with_reasons(client: TestClient) -> str:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    book = services.grades
    assert book is not None
    reasons = book.table["reasons"].to_pylist()
    return str(book.table["id"][next(i for i, r in enumerate(reasons) if r)])


def test_api_report_by_role(api_client: TestClient, api_city: ApiCity) -> None:
    firm = _graded_with_reasons(api_client)
    url = f"/v1/enterprises/{firm}/report"
    regulator = api_client.get(url, headers={"X-API-Key": "regulator-key", "Accept-Language": "zh"})
    assert regulator.status_code == 200, regulator.text
    assert regulator.headers["content-type"].startswith("text/html")
    assert 'class="grade grade-' in regulator.text and 'id="reasons"' in regulator.text
    assert api_city.model_version in regulator.text and "宁波市市场监督管理局" in regulator.text
    for key in ("bank-key", "analyst-key"):
        page = api_client.get(url, headers={"X-API-Key": key}).text
        assert 'class="grade grade-' not in page and 'id="reasons"' not in page
    assert api_client.get(url).status_code == 401


@pytest.mark.parametrize("key", ["regulator-key", "bank-key"])
def test_api_report_of_an_unknown_enterprise_is_404(api_client: TestClient, key: str) -> None:
    from conftest import make_uscc

    response = api_client.get(
        f"/v1/enterprises/{make_uscc(9_999_999)}/report", headers={"X-API-Key": key}
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# -- through the command line ----------------------------------------------------------------


def test_cli_writes_the_report_for_a_role(
    api_client: TestClient, api_city: ApiCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    monkeypatch.setenv("CREDITGRAPH_HOME", str(api_city.settings.home))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    firm = _graded_with_reasons(api_client)
    out = tmp_path / "files" / "report.html"

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["report", firm, "--out", str(out), *args])
        return result.exit_code, result.output

    code, said = run("--language", "en")
    assert code == 0, said
    page = out.read_text(encoding="utf-8")
    assert 'class="grade grade-' in page and "Enterprise credit report" in page
    assert "command line · regulator" in page
    code, said = run("--role", "bank", "--for", "甬城银行")
    assert code == 0, said
    page = out.read_text(encoding="utf-8")
    assert 'class="grade grade-' not in page and 'class="level level-' in page
    assert "甬城银行 · 银行" in page
    assert run("--role", "admin")[0] == 2
    assert CliRunner().invoke(app, ["report", firm, "--out", str(tmp_path)]).exit_code == 2
    unknown = CliRunner().invoke(app, ["report", "nobody", "--out", str(out)])
    assert unknown.exit_code == 2 and "no enterprise nobody" in unknown.output


# -- on the board ----------------------------------------------------------------------------


def test_board_serves_the_report_by_its_role_rules_and_audits_it(
    api_client: TestClient, api_city: ApiCity
) -> None:
    from access.audit import AuditFilter, AuditLog
    from dashboard.app import create_app
    from dashboard.config import BoardConfig

    firm = _graded_with_reasons(api_client)
    board = create_app(api_city.settings, BoardConfig(warm=False)).server.test_client()
    url = f"/report/{firm}?as_of={api_city.scored}&lang=en"
    regulator = board.get(url, headers={"X-API-Key": "regulator-key"})
    assert regulator.status_code == 200 and regulator.mimetype == "text/html"
    page = regulator.get_data(as_text=True)
    assert 'class="grade grade-' in page and 'id="reasons"' in page and "<svg" in page
    analyst = board.get(url, headers={"X-API-Key": "analyst-key"}).get_data(as_text=True)
    assert 'class="grade grade-' not in analyst and "<svg" in analyst
    assert board.get(url, headers={"X-API-Key": "bank-key"}).status_code == 403
    assert board.get(url).status_code == 302  # to the login
    missing = board.get(f"/report/{firm}?as_of=1999-01-01", headers={"X-API-Key": "analyst-key"})
    assert missing.status_code == 404
    log = AuditLog(api_city.settings.audit_path)
    try:
        rows = log.read(AuditFilter(subject=firm, route="/report/<enterprise_id>")).rows
    finally:
        log.close()
    assert {(r.role, r.status) for r in rows} >= {("regulator", 200), ("analyst", 200)}
