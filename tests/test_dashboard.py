"""The board's callbacks as plain functions, on a small data home built by hand: a snapshot
(tests/feature_graphs.py), stored scores of two months in the model's format, warnings in
the supervision registry, an inspector file."""

from __future__ import annotations

import csv
import json
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from string import Formatter
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conftest import API_KEYS, ApiCity
from dash import Dash
from feature_graphs import AS_OF, SnapshotBuilder
from itsdangerous import TimestampSigner
from pydantic import ValidationError
from typer.testing import CliRunner

from access.audit import AuditEntry, AuditFilter, AuditLog
from access.settings import AccessSettings
from cli.app import app as cli
from dashboard.app import PAGES, create_app, logout_href, route, who
from dashboard.auth import SESSION_LIFETIME, safe_next
from dashboard.components import column, count_column, local_time, text_width
from dashboard.config import BoardConfig
from dashboard.data import BoardData
from dashboard.graph import (
    COLUMN,
    MORE_PREFIX,
    ROW,
    GraphIndex,
    ego_elements,
    expand,
    layered_positions,
)
from dashboard.graph_style import legend, stylesheet
from dashboard.i18n import LABELS, industry_label, text
from dashboard.jobs import Jobs
from dashboard.pages import circles, enterprise, extension, overview, sampling, warnings
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot
from risk.data_home import DataHome
from risk.features.suspected import RARE_GROUP
from risk.model.scores import SCHEMA
from risk.supervision.registry import open_registry
from risk.supervision.warning_registry import save_warnings
from risk.supervision.warning_rows import SCHEMA as WARNING_SCHEMA

PREVIOUS = AS_OF - timedelta(days=30)
FIRMS = [f"F{i}" for i in range(10)]
GRADES_NOW = ["D", "C", "B", "A", "A", "B", "A", "C", "B", "A"]
GRADES_BEFORE = ["C", "C", "B", "A", "A", "A", "A", "B", "B", "A"]


def _city() -> SnapshotBuilder:
    """Ten firms in two districts: a guarantee circle F0→F1→F2→F0 (F3 guarantees F0 from
    outside), a mutual pair F5⇄F6, a legal representative P1 of five firms, a black-listed
    F7 whose legal representative P2 also leads F8."""
    b = SnapshotBuilder()
    for i, name in enumerate(FIRMS):
        b.firm(
            name,
            region_code="330203" if i < 5 else "330205",
            industry="CF"[i % 2],
            registered_capital=1e6 * (i + 1),
        )
    b.person("P1", "P2")
    for firm in ("F0", "F1", "F2", "F3", "F4"):
        b.tie("LEGAL_REP", "P1", firm)
    b.tie("OFFICER", "P1", "F0", role="director")
    b.tie("LEGAL_REP", "P2", "F7").tie("LEGAL_REP", "P2", "F8")
    b.tie("HOLDS_SHARES", "F1", "F0", share=0.6)
    for src, dst, amount in (
        ("F0", "F1", 1e6),
        ("F1", "F2", 2e6),
        ("F2", "F0", 3e6),
        ("F3", "F0", 5e5),
        ("F5", "F6", 1e5),
        ("F6", "F5", 1e5),
    ):
        b.tie("GUARANTEES", src, dst, amount=amount, currency="CNY")
    b.record("F7", "black_list", AS_OF - timedelta(days=200), reason="严重违法")
    b.record("F0", "penalty", AS_OF - timedelta(days=90), severity="general", reason="虚假宣传")
    return b


def _scores(day: date, grades: list[str], reasons: dict[str, Any]) -> pa.Table:
    score = np.array([{"A": 0.01, "B": 0.05, "C": 0.2, "D": 0.5}[g] for g in grades])
    score = score + np.arange(len(grades)) * 1e-4
    rank = np.empty(len(grades), dtype=np.int64)
    rank[np.argsort(-score)] = np.arange(1, len(grades) + 1)
    table = pa.table(
        {
            "id": FIRMS,
            "as_of": pa.array([day] * len(FIRMS), pa.date32()),
            "model_version": ["m1"] * len(FIRMS),
            "score": score,
            "rank": rank,
            "grade": grades,
            "reasons": [
                json.dumps(reasons[f], ensure_ascii=False) if f in reasons else None for f in FIRMS
            ],
        },
        schema=SCHEMA,
    )
    meta = {
        "model_version": "m1",
        "as_of": day.isoformat(),
        "grades": {"method": "mix", "classes": {"A": 0.7, "B": 0.22, "C": 0.06, "D": 0.02}},
        "cutoffs": {},
        "counts": {g: grades.count(g) for g in "ABCD"},
        "population": len(FIRMS),
        "reasons": {"top_k": 3, "share": 0.05, "evidence_items": 5, "explained": len(reasons)},
    }
    return table.replace_schema_metadata({b"creditgraph": json.dumps(meta)})


REASON = {
    "feature": "guarantee_circle_size",
    "value": 3.0,
    "contribution": 0.8,
    "sentence": "Member of a guarantee circle of 3 firms",
    "evidence": [
        {"text": "F0 → F1 → F2 → F0", "nodes": ["F0", "F1", "F2"]},  # stored before steps
        {
            "text": "F0 –guarantees ¥1,000,000→ F1 [general penalty since 2025-01-01]",
            "nodes": ["F0", "F1"],
            "steps": [
                ["firm", "F0", "F0", []],
                ["guarantees", "out", 1e6, "CNY", None],
                ["firm", "F1", "F1", [["penalty", "general", "2025-01-01"]]],
            ],
        },
    ],
}


@pytest.fixture
def home(tmp_path: Path) -> AccessSettings:
    settings = AccessSettings(home=tmp_path / "home")
    snap = _city().build()
    snap.save(settings.snapshots_dir / AS_OF.isoformat())
    DataHome(settings).save_scores(_scores(AS_OF, GRADES_NOW, {"F0": [REASON]}))
    DataHome(settings).save_scores(_scores(PREVIOUS, GRADES_BEFORE, {}))
    rows = [
        ("grade_worsened", "F0", "grade@x", "C → D"),
        ("related_bad_record", "F8", "black_list:0", "F8 <-[LEGAL_REP]- P2 -[LEGAL_REP]-> F7"),
        ("circle_member_default", "F6", "g:1", "circle F5, F6"),
    ]
    table = pa.table(
        {
            "type": [r[0] for r in rows],
            "enterprise_id": [r[1] for r in rows],
            "subject": [r[2] for r in rows],
            "event_on": pa.array([AS_OF - timedelta(days=k) for k in range(3)], pa.date32()),
            "evidence": [r[3] for r in rows],
            "disputed": [False, True, False],
        },
        schema=WARNING_SCHEMA,
    )
    with open_registry(settings.supervision_path) as registry:
        save_warnings(registry, table, AS_OF, PREVIOUS, 2, snap)
    settings.inspectors_dir.mkdir(parents=True)
    with (settings.inspectors_dir / "pool.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["inspector_id", "name", "capacity"])
        for k in range(6):
            writer.writerow([f"I{k}", f"检查员{k}", 20])
    return settings


@pytest.fixture
def data(home: AccessSettings) -> BoardData:
    return BoardData(home, BoardConfig(ego_limit=3, warm=False))


def texts(component: Any) -> str:
    """Every string in a component tree (children, labels, grid rows), for assertions."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(texts(c) for c in component)
    if isinstance(component, dict):
        return " ".join(texts(v) for v in component.values())
    parts = [texts(getattr(component, "children", None))]
    for prop in ("rowData", "options", "value", "figure"):
        value = getattr(component, prop, None)
        if value is not None and prop != "figure":
            parts.append(texts(value))
    return " ".join(parts)


def test_config_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        BoardConfig(ego_limt=5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        BoardConfig(ego_limit=0)


def test_times_are_shown_in_the_board_time_zone_and_numbers_with_separators() -> None:
    assert BoardConfig().time_zone == "Asia/Shanghai"
    with pytest.raises(ValidationError, match="unknown time zone"):
        BoardConfig(time_zone="Mars/Olympus")
    stored = "2026-12-04T19:12:12+00:00"  # plans record UTC
    assert local_time(stored, "Asia/Shanghai") == "2026-12-05 03:12:12 (UTC+08:00)"
    assert local_time(stored, "Europe/London") == "2026-12-04 19:12:12 (UTC+00:00)"
    assert local_time("not a time", "Asia/Shanghai") == "not a time"
    counts = count_column("pool", "zh")
    assert counts["valueFormatter"]["function"] == "d3.format(',')(params.value)"
    # A header is never narrower than its words (it was cut: "风险…").
    narrow = column("grade", "zh", maxWidth=60)
    assert narrow["minWidth"] >= text_width("风险分类") + 40 and narrow["maxWidth"] >= 60
    assert narrow["maxWidth"] >= narrow["minWidth"]


def test_every_label_exists_in_both_languages_with_the_same_placeholders() -> None:
    for key, (zh, en) in LABELS.items():
        assert zh and en, key
        fields = [{f for _, f, _, _ in Formatter().parse(t) if f} for t in (zh, en)]
        assert fields[0] == fields[1], key
    assert text("and_more", "zh", n=5) == "还有 5 个"
    assert text("and_more", "en", n=5) == "and 5 more"
    assert text("no-such-label", "en") == "no-such-label"
    assert industry_label("C", "zh") == "C 制造业" and industry_label(None, "en") == "—"


def test_the_data_manager_caches_read_only_values_and_forgets_old_dates(data: BoardData) -> None:
    assert data.dates() == (AS_OF,) and data.scored_dates() == (PREVIOUS, AS_OF)
    grades = data.grades(AS_OF)
    assert grades is not None and data.grades(AS_OF) is grades
    assert grades.model_version == "m1" and grades.classes == ("A", "B", "C", "D")
    assert list(grades.grade) == GRADES_NOW
    with pytest.raises(ValueError):
        grades.score[0] = 0.0  # callers cannot change what others will read
    assert data.previous_scored(AS_OF) == PREVIOUS and data.previous_scored(PREVIOUS) is None
    # Values of a date are forgotten beyond max_dates, least recently used first; stored
    # grades (small, read by every history) are kept.
    small = BoardData(data.settings, data.config, max_dates=1)
    reasons, stored = small.reasons(AS_OF), small.stored(AS_OF)
    small.reasons(PREVIOUS)
    assert small.reasons(AS_OF) is not reasons and small.stored(AS_OF) is stored
    mix = data.grade_mix_history()
    assert [m.as_of for m in mix] == [PREVIOUS, AS_OF] and mix[1].counts["D"] == 1


def test_overview_counts_grades_by_region_and_lists_the_latest_warnings(data: BoardData) -> None:
    counts = data.grade_counts(AS_OF, "region_code").to_pylist()
    assert {(r["group"], r["grade"]): r["count"] for r in counts} == {
        ("330203", "A"): 2,
        ("330203", "B"): 1,
        ("330203", "C"): 1,
        ("330203", "D"): 1,
        ("330205", "A"): 2,
        ("330205", "B"): 2,
        ("330205", "C"): 1,
    }
    assert data.active_records(AS_OF)["black_list"] == 1
    page = texts(overview.render(data, AS_OF, "en"))
    assert "Grades by region" not in page  # chart titles live in the figures
    assert "10" in page and "Top warnings" in page and "F0" in page


def test_warnings_are_filtered_and_show_the_grade_change(data: BoardData) -> None:
    rows = warnings.warning_rows(data, AS_OF, "zh")
    assert [r["enterprise_id"] for r in rows] == ["F0", "F8", "F6"]  # newest event first
    first = rows[0]
    assert first["grade_change"] == "C → D" and first["worsened"]
    assert first["type_label"] == "风险分类变差" and first["region"] == "宁波市海曙区"
    # Evidence and subject in words: relations, record kinds, names (here equal to the ids).
    second = rows[1]
    assert second["evidence_text"] == "F8 ←法定代表人— P2 —法定代表人→ F7"
    assert second["subject_text"] == "严重违法失信名单 0" and second["state_label"] == "新"
    english = warnings.warning_rows(data, AS_OF, "en")[1]
    assert english["evidence_text"] == "F8 ←legal representative– P2 –legal representative→ F7"
    assert english["type_label"] == "Related firm got a bad record"
    assert [
        r["enterprise_id"]
        for r in warnings.warning_rows(data, AS_OF, "zh", types=["circle_member_default"])
    ] == ["F6"]
    assert [
        r["enterprise_id"] for r in warnings.warning_rows(data, AS_OF, "zh", regions=["330205"])
    ] == ["F8", "F6"]
    worse = warnings.warning_rows(data, AS_OF, "en", worsened_only=True)
    assert [r["enterprise_id"] for r in worse] == ["F0"]  # F8 and F6 kept their grades
    assert warnings.open_enterprise({"rowId": "F8|2", "colId": "name"}) == "/enterprise/F8"
    assert warnings.open_enterprise(None) is warnings.no_update
    page = texts(warnings.render(data, AS_OF, "zh"))
    assert "风险预警" in page and "F8" in page


def test_without_a_registry_the_warnings_page_says_how_to_raise_them(
    data: BoardData, home: AccessSettings
) -> None:
    home.supervision_path.unlink()
    assert data.warnings(AS_OF) is None
    assert "creditgraph warnings" in texts(warnings.render(data, AS_OF, "en"))
    assert warnings.warning_rows(data, AS_OF, "en") == []


def _node_ids(elements: list[dict[str, Any]]) -> set[str]:
    return {str(e["data"]["id"]) for e in elements if "source" not in e["data"]}


def test_the_ego_graph_caps_large_neighbourhoods_and_expands_on_click(data: BoardData) -> None:
    graph = data.graph(AS_OF)
    center = graph.index_of("F0")
    assert center is not None
    state, elements, panel = enterprise.on_tap(data, AS_OF, "F0", None, None, "en")
    assert state == {"F0": 3}
    # F0 has 6 ties (P1 twice, F1 as holder and as guaranteed, F2 and F3 as guarantors):
    # 3 new nodes at most, so F3 waits behind "and 1 more".
    assert graph.ties(center, 100)[1] == 6
    assert _node_ids(elements) == {"F0", "P1", "F1", "F2", f"{MORE_PREFIX}F0"}
    more = [e for e in elements if e["data"]["id"] == f"{MORE_PREFIX}F0"]
    assert more[0]["data"]["label"] == "and 1 more"
    assert panel == []
    # A click on "and N more" shows the next ones; the centre's ties are then all drawn.
    state, elements, _ = enterprise.on_tap(
        data, AS_OF, "F0", state, {"id": f"{MORE_PREFIX}F0"}, "en"
    )
    assert state == {"F0": 6} and _node_ids(elements) == {"F0", "P1", "F1", "F2", "F3"}
    # P1 is legal representative and director of F0: one edge, both roles.
    edge = next(e for e in elements if e["data"].get("source") == "P1")
    assert edge["data"]["label"] == "legal representative · director"
    # A click on P1 expands it: its other firm F4 appears, positions preset.
    state, elements, panel = enterprise.on_tap(data, AS_OF, "F0", state, {"id": "P1"}, "en")
    assert _node_ids(elements) == {"F0", "P1", "F1", "F2", "F3", "F4"} and state["P1"] == 3
    assert all("position" in e for e in elements if "source" not in e["data"])
    assert "P1" in texts(panel)
    # A click on an enterprise node offers its page.
    _, _, panel = enterprise.on_tap(data, AS_OF, "F0", state, {"id": "F3"}, "en")
    assert "Open enterprise" in texts(panel)


def test_expansion_state_and_layered_layout_are_plain_functions() -> None:
    assert expand({"A": 3}, "B", 3) == {"A": 3, "B": 3}
    assert expand({"A": 3}, "A", 3) == {"A": 3}
    assert expand({"A": 3}, f"{MORE_PREFIX}A", 3) == {"A": 6}
    positions = layered_positions("A", {"A": ["B", "C", "E"], "B": ["D"]}, left={"E"})
    assert positions["A"] == (0.0, 0.0)
    assert {k: x for k, (x, _) in positions.items()} == {
        "A": 0.0, "B": COLUMN, "C": COLUMN, "D": 2 * COLUMN, "E": -COLUMN,
    }  # fmt: skip
    assert positions["B"][1] == positions["D"][1]  # a parent level with its only child
    assert positions["C"][1] - positions["B"][1] == ROW


@pytest.mark.parametrize("seed", range(5))
def test_layered_layout_keeps_every_label_clear_at_200_nodes(seed: int) -> None:
    """Random ego trees of 50 to 200 nodes (expansions of expansions, as clicks make them):
    every node in the column next to its parent, and no two label boxes overlap."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 201))
    children: dict[str, list[str]] = {}
    for k in range(1, n):
        parent = f"n{int(rng.integers(0, max(1, k // 3 + 1)))}"
        children.setdefault(parent, []).append(f"n{k}")
    left = set(children["n0"][::2])
    positions = layered_positions("n0", children, left)
    assert len(positions) == n
    for parent, kids in children.items():
        for kid in kids:
            dx = abs(positions[kid][0]) - abs(positions[parent][0])
            assert dx == COLUMN, (parent, kid)
    # A label of 12 characters (13 px each) beside its 30 px node, on the outer side.
    boxes = []
    for node, (x, y) in positions.items():
        width = 30 + 6 + 12 * 13
        start = x - 15 if x >= 0 else x + 15 - width
        boxes.append((start, y - 11, start + width, y + 11, node))
    boxes.sort()
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if b[0] >= a[2]:
                break
            assert not (a[1] < b[3] and b[1] < a[3]), (a[4], b[4])


def test_a_guarantee_circle_is_drawn_as_a_ring() -> None:
    """Five firms guaranteeing one another in turn: the order follows the guarantees, so
    that every guarantee joins neighbours on the ring (not a pentagram of chords)."""
    members = np.array([3, 9, 4, 7, 1])
    ring = [3, 7, 1, 9, 4]  # who guarantees whom, in turn
    src = np.array(ring)
    dst = np.array(ring[1:] + ring[:1])
    order = circles.ring_order(members, src, dst)
    assert sorted(order) == sorted(members.tolist())
    at = {m: k for k, m in enumerate(order)}
    for a, b in zip(src.tolist(), dst.tolist(), strict=True):
        assert (at[b] - at[a]) % len(order) in (1, len(order) - 1), (a, b, order)
    positions = circles.ring_positions(order)
    radius = {round(float(np.hypot(*p))) for p in positions.values()}
    assert len(radius) == 1


def test_a_person_known_by_name_only_is_drawn_by_name_and_marked() -> None:
    # 王五 is known by name only (no ID number nor source id): shown by name, dashed, and the
    # legend says what the dashes mean; 张三 (by ID number) is a plain person.
    b = SnapshotBuilder().firm("A").person("P-zhang", "P-wang")
    b.tie("LEGAL_REP", "P-zhang", "A").tie("OFFICER", "P-wang", "A", role="director")
    snap = b.build()
    persons = pa.table(
        {
            "id": snap.persons["id"],
            "name": pa.array(["张三", "王五"]),
            "identity": pa.array(["id_number", "name"]),
        }
    )
    graph = GraphIndex(
        Snapshot(snap.as_of, snap.enterprises, persons, snap.relations, snap.records)
    )
    elements = ego_elements(graph, None, 0, {"A": 5}, "zh")
    drawn = {
        e["data"]["id"]: (e["data"]["label"], e["classes"].split())
        for e in elements
        if "kind" in e["data"]
    }
    assert drawn["P-wang"][0] == "王五" and "name-only" in drawn["P-wang"][1]
    assert drawn["P-zhang"][0] == "张三" and "name-only" not in drawn["P-zhang"][1]
    assert any(rule["selector"] == ".name-only" for rule in stylesheet())
    page = json.dumps(legend("en", (), ("name_only",)).to_plotly_json(), default=str)
    assert "Person known by name only" in page


def test_ego_graph_of_a_person_free_firm_is_just_the_firm(data: BoardData) -> None:
    graph = data.graph(AS_OF)
    node = graph.index_of("F9")
    assert node is not None
    assert _node_ids(ego_elements(graph, None, node, {"F9": 3}, "zh")) == {"F9"}


def test_the_enterprise_page_shows_grade_reasons_history_and_records(data: BoardData) -> None:
    page = texts(enterprise.render(data, AS_OF, "en", "F0"))
    assert "F0" in page and "0.500" in page and "m1" in page
    assert "Member of a guarantee circle of 3 firms" in page and "F0 → F1 → F2 → F0" in page
    assert "F0 –guarantees ¥1,000,000→ F1 [general penalty since 2025-01-01]" in page
    assert "Status Active" in page and "Haishu, Ningbo" in page
    chinese = texts(enterprise.render(data, AS_OF, "zh", "F0"))
    # Reasons, evidence, status, region and records in Chinese.
    assert "属于 3 家企业组成的担保圈" in chinese and "Member of" not in chinese
    assert "F0 —担保 ¥1,000,000→ F1［一般行政处罚，自 2025-01-01］" in chinese
    assert "存续" in chinese and "宁波市海曙区" in chinese and "active" not in chinese
    assert "一般 · 虚假宣传" in chinese  # the penalty's severity and grounds
    assert "虚假宣传" in page  # the penalty, in the records grid
    assert [(g.as_of, g.grade) for g in data.history("F0")] == [(PREVIOUS, "C"), (AS_OF, "D")]
    graded = data.graded("F0", AS_OF)
    assert graded is not None and graded.rank == 1 and graded.population == 10
    assert graded.reasons is not None and graded.reasons[0].feature == "guarantee_circle_size"
    assert data.graded("NOPE", AS_OF) is None
    assert "No such enterprise" in texts(enterprise.render(data, AS_OF, "en", "NOPE"))
    options = enterprise.search_options(data, AS_OF, "F", "en")
    assert {o["value"] for o in options} == set(FIRMS)


def test_extension_lists_related_firms_with_readable_paths_and_exports_them(
    data: BoardData,
) -> None:
    assert data.black_listed(AS_OF)["id"].to_pylist() == ["F7"]
    rows = extension.extension_rows(data, AS_OF, 2, "F7", "zh")
    assert [r["related_id"] for r in rows] == ["F8"]
    assert rows[0]["path_text"] == "F7 ←法定代表人— P2 —法定代表人→ F8"
    elements = extension.graph_elements(data, AS_OF, 2, "F7", 0, "zh")
    assert _node_ids(elements) == {"F7", "P2", "F8"}
    assert all("on-path" in str(e["classes"]) for e in elements if e["data"]["id"] != "F7")
    assert extension.graph_elements(data, AS_OF, 2, None, None, "zh") == []
    download = extension.export_csv(data, AS_OF, 2, None)
    assert download["filename"] == f"extension-{AS_OF}-2hops-all.csv"
    assert download["content"].startswith('\ufeff"black_listed_id"')
    assert "F8" in download["content"]
    assert extension.summary(data, AS_OF, 2, None, "en") == "1 related firms of 1 black-listed"
    assert [o["value"] for o in extension.black_options(data, AS_OF, "F7")] == ["F7"]


def test_circles_are_ranked_by_exposure_and_stressed_from_a_member(data: BoardData) -> None:
    rows = circles.circle_rows(data, AS_OF, "en")
    assert [(r["rank"], r["members"], r["amount"]) for r in rows] == [
        (1, 3, 6_000.0),  # thousands of CNY: the one unit of the page in English
        (2, 2, 200.0),
    ]
    assert circles.circle_rows(data, AS_OF, "zh")[0]["amount"] == 600.0  # 万元
    assert rows[0]["worst_grade"] == "D" and rows[1]["worst_grade"] == "B"
    elements = circles.circle_elements(data, AS_OF, 1, "en")
    labels = sorted(str(e["data"]["label"]) for e in elements if "source" in e["data"])
    assert labels == ["1,000", "2,000", "3,000"]
    assert circles.circle_title(data, AS_OF, 1, "zh") == "#1 · 担保总额 600 万元"
    assert all("position" in e for e in elements if "source" not in e["data"])
    # F2 defaults: its guarantor F1 loses 2 M of 2 M capital (fully distressed), F0 then
    # loses 1 M of 1 M, and F3 outside the circle is hit through its guarantee of F0.
    result = circles.stress(data, AS_OF, 1, "F2")
    members = data.circles(AS_OF).circles[0].members
    distress = dict(
        zip([data.graph(AS_OF).id_of(int(m)) for m in members], result.distress, strict=True)
    )
    assert distress == {"F0": 1.0, "F1": 1.0, "F2": 1.0}
    assert result.outside_hit == 1 and result.outside_loss == pytest.approx(0.5e6 / 4e6 * 4e6)
    block = texts(circles.stress_block(data, AS_OF, 1, result, "en"))
    assert "100%" in block
    assert [o["value"] for o in circles.member_options(data, AS_OF, 2)] == ["F5", "F6"]


def test_circle_amounts_keep_their_currency_and_totals_say_what_has_no_rate(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home")
    b = SnapshotBuilder().firms_named("A", "B", "C", "D")
    b.tie("GUARANTEES", "A", "B", amount=1e6, currency="CNY")
    b.tie("GUARANTEES", "B", "C", amount=1e5, currency="USD")
    b.tie("GUARANTEES", "C", "A", amount=1_000.0, currency="EUR")
    b.tie("GUARANTEES", "D", "B", amount=1e5, currency="CNY")  # outside the circle
    b.build().save(settings.snapshots_dir / AS_OF.isoformat())
    settings.rates_path.write_text(
        f"currency,cny_per_unit,as_of,source\nUSD,7,{AS_OF},test rate\n", encoding="utf-8"
    )
    data = BoardData(settings, BoardConfig(warm=False))
    (row,) = circles.circle_rows(data, AS_OF, "zh")
    assert row["amount"] == 170.0  # 万元: 1,000,000 CNY + 100,000 USD at 7
    assert row["unconverted"] == "1,000 EUR"
    assert circles.circle_title(data, AS_OF, 1, "zh") == (
        "#1 · 担保总额 170 万元 + 1,000 EUR 未折算（无汇率）"
    )
    assert circles.circle_title(data, AS_OF, 1, "en") == (
        "#1 · guarantees of 1,700 thousand CNY + 1,000 EUR not converted (no rate)"
    )
    # Each guarantee as given: CNY in the panel's unit, the others in full with their code.
    for elements, expected in (
        (circles.circle_elements(data, AS_OF, 1, "zh"), ["1,000 EUR", "100", "100,000 USD"]),
        (
            ego_elements(data.graph(AS_OF), None, 0, {"A": 5, "B": 5}, "zh"),
            ["1,000 EUR", "10.0", "100", "100,000 USD"],
        ),
    ):
        labels = sorted(str(e["data"]["label"]) for e in elements if "source" in e["data"])
        assert labels == expected
    # A defaults: what C loses through its EUR guarantee of A is unknown, and so is what B
    # loses through C and D through B; shown as "—", never as nothing.
    result = circles.stress(data, AS_OF, 1, "A")
    distress = dict(zip("ABC", result.distress.tolist(), strict=True))
    assert distress["A"] == 1.0 and np.isnan(distress["B"]) and np.isnan(distress["C"])
    assert np.isnan(result.outside_loss)
    assert "—" in texts(circles.stress_block(data, AS_OF, 1, result, "en"))


def test_a_plan_is_drawn_recorded_exported_and_replayed(data: BoardData) -> None:
    args = ("食品安全", "bayannur_2022", {"A": 1.0}, [], [], None, 7, "pool.csv")
    drawn = sampling.draw(data, AS_OF, *args)
    assert not isinstance(drawn, str), drawn
    record = drawn.record
    assert drawn.created and data.plan_ids() == [record.plan_id]
    assert record.spec["grading"] == "m1"
    # The same draw again is the recorded plan, said to exist, never saved anew.
    again = sampling.draw(data, AS_OF, *args)
    assert not isinstance(again, str) and not again.created
    assert again.record == record and data.plan_ids() == [record.plan_id]
    # Bayannur: every C and D firm; A at 100 % by the override.
    assert {o["id"] for o in record.objects} >= {"F0", "F1", "F7"}
    assert all(len(o["inspectors"]) == 2 for o in record.objects)
    view = texts(sampling.plan_view(record, "en"))
    assert record.plan_id in view and "Recusals" in view
    published = sampling.export(data, record.plan_id, "csv")["content"]
    assert published.startswith("\ufeffplan_id,item,enterprise_id,enterprise_name,inspectors")
    assert ",D," not in published and "0.5" not in published  # no grades, no scores
    assert json.loads(sampling.export(data, record.plan_id, "json")["content"])["objects"]
    assert sampling.replay_plan(data, record.plan_id, "pool.csv", "en")[0] == "ok"
    other = data.settings.inspectors_dir / "other.csv"
    other.write_text("inspector_id,name\nX1,x\nX2,y\n", encoding="utf-8")
    kind, message = sampling.replay_plan(data, record.plan_id, "other.csv", "en")
    assert kind == "error" and "inspector pool differs" in message
    assert sampling.draw(data, AS_OF, "x", "henan_2021", {}, [], [], None, 1, None) == (
        "no inspector file"
    )
    bad = sampling.draw(data, AS_OF, "x", "henan_2021", {"A": 2.0}, [], [], None, 1, "pool.csv")
    assert isinstance(bad, str) and "within 0..1" in bad


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_route_renders_in_both_languages(data: BoardData, lang: str) -> None:
    day = AS_OF.isoformat()
    for path, _ in PAGES:
        assert route(data, path, "", lang, day) is not None  # type: ignore[arg-type]
    for path, query in (
        ("/enterprise/F0", ""),
        ("/extension", "?black=F7"),
        ("/circles", "?circle=2"),
        ("/circles", "?circle=x"),
    ):
        assert route(data, path, query, lang, day) is not None  # type: ignore[arg-type]
    assert "No such page" in texts(route(data, "/nope", "", "en", day))
    assert "creditgraph snapshot" in texts(route(data, "/", "", "en", None))


def _grids(component: Any) -> list[Any]:
    """Every AG Grid in a component tree."""
    if isinstance(component, list | tuple):
        return [g for c in component for g in _grids(c)]
    if component is None or isinstance(component, str | int | float | dict):
        return []
    found = [component] if type(component).__name__ == "AgGrid" else []
    return found + _grids(getattr(component, "children", None))


def test_every_grid_row_has_a_unique_string_id(data: BoardData) -> None:
    """AG Grid keys rows by ``getRowId``: an id that is missing, not a string or repeated
    makes rows vanish (every row of the extension grid once got the id ``undefined``)."""
    drawn = sampling.draw(
        data, AS_OF, "x", "bayannur_2022", {"A": 1.0}, [], [], None, 3, "pool.csv"
    )
    assert not isinstance(drawn, str), drawn
    record = drawn.record
    result = circles.stress(data, AS_OF, 1, "F2")
    trees = [
        *(
            route(data, p, q, "zh", AS_OF.isoformat())
            for p, q in (
                ("/", ""),
                ("/warnings", ""),
                ("/enterprise/F0", ""),
                ("/extension", "?black=F7"),
                ("/extension", ""),
                ("/circles", ""),
            )
        ),
        sampling.plan_view(record, "zh"),
        circles.stress_block(data, AS_OF, 1, result, "zh"),
    ]
    grids = _grids(trees)
    expected = "overview-warnings warnings-grid records-grid extension-grid circles-grid"
    expected += " plan-classes plan-objects plan-recusals stress-grid"
    assert {g.id for g in grids} == set(expected.split())
    for found in grids:
        expression = found.getRowId
        assert expression.startswith("params.data."), (found.id, expression)
        field = expression.removeprefix("params.data.")
        ids = [row[field] for row in found.rowData]
        assert all(isinstance(i, str) and i for i in ids), (found.id, ids)
        assert len(set(ids)) == len(ids), (found.id, ids)
    assert any(g.rowData for g in grids if g.id == "extension-grid")


def test_create_app_wires_every_page_and_warms_the_latest_date(home: AccessSettings) -> None:
    data = BoardData(home, BoardConfig())
    app = create_app(home, BoardConfig(), data)
    outputs = " ".join(app.callback_map)
    for output in (
        "page.children",
        "warnings-grid.rowData",
        "ego-graph.elements",
        "extension-download.data",
        "circle-stress.children",
        "plan-download.data",
    ):
        assert output in outputs
    assert data.circles(AS_OF) is data.circles(AS_OF)  # computed once, at start-up
    layout = app.layout() if callable(app.layout) else app.layout
    assert "2025" in texts(layout) or AS_OF.isoformat() in str(layout)


def test_an_empty_home_shows_what_to_do(tmp_path: Path) -> None:
    settings = AccessSettings(home=tmp_path / "empty")
    data = BoardData(settings, BoardConfig())
    create_app(settings, BoardConfig(), data)
    assert data.dates() == () and data.default_date() is None
    assert data.plan_ids() == [] and data.inspector_files() == []


def test_the_board_command_prepares_the_app_and_serves_it(
    home: AccessSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(Dash, "run", lambda _app, **kw: served.append(kw))
    monkeypatch.setenv("CREDITGRAPH_HOME", str(home.home))
    monkeypatch.setenv("CREDITGRAPH_API_KEYS", json.dumps(API_KEYS))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    result = CliRunner().invoke(cli, ["board", "--port", "8123", "--language", "en"])
    assert result.exit_code == 0, result.output
    assert "board ready in" in result.output and "http://127.0.0.1:8123/" in result.output
    assert served == [{"host": "127.0.0.1", "port": 8123, "debug": False}]
    result = CliRunner().invoke(cli, ["board", "--language", "fr"])
    assert result.exit_code == 2 and "--language must be zh or en" in result.output
    result = CliRunner().invoke(cli, ["board", "--time-zone", "Mars/Olympus"])
    assert result.exit_code == 2 and "unknown time zone" in result.output


# -- The door (dashboard/auth.py): the API's keys, a login, two roles, the audit log --

OUTSIDER = "91350100M000100Y43"
"""A USCC with a correct check character that the home does not hold: a subject to audit."""
REASON_TEXT = REASON["sentence"]
"""On F0's page only when its stored reasons are sent: the mark of graded data leaving."""


@pytest.fixture
def keyed(home: AccessSettings) -> AccessSettings:
    """The hand-built home with one API key per role (tests/conftest.py)."""
    return AccessSettings(home=home.home, api_keys=json.dumps(API_KEYS))


@pytest.fixture
def board(keyed: AccessSettings) -> Dash:
    return create_app(keyed, BoardConfig(warm=False))


def _key(role: str) -> str:
    return next(k for k, v in API_KEYS.items() if v["role"] == role)


def _page_request(path: str, search: str = "", lang: str = "en") -> dict[str, Any]:
    """The body a browser posts for the page callback when it opens ``path``."""
    inputs = [
        {"id": "url", "property": "pathname", "value": path},
        {"id": "url", "property": "search", "value": search},
        {"id": "language", "property": "value", "value": lang},
        {"id": "as-of", "property": "value", "value": AS_OF.isoformat()},
    ]
    return {
        "output": "page.children",
        "outputs": {"id": "page", "property": "children"},
        "inputs": inputs,
        "changedPropIds": ["url.pathname"],
        "state": [],
    }


def _audit_rows(settings: AccessSettings) -> list[AuditEntry]:
    log = AuditLog(settings.audit_path)
    try:
        return log.read(AuditFilter(limit=1000)).rows[::-1]
    finally:
        log.close()


def test_without_a_key_every_board_url_is_refused_unread(
    board: Dash, keyed: AccessSettings
) -> None:
    client = board.server.test_client()
    answer = client.post("/_dash-update-component", json=_page_request("/enterprise/F0"))
    assert answer.status_code == 401 and answer.json is not None
    assert answer.json["code"] == "unauthenticated" and "/login" in answer.json["message"]
    assert answer.headers["WWW-Authenticate"] == "ApiKey"
    assert REASON_TEXT not in answer.get_data(as_text=True)
    for url in (
        "/_dash-layout",
        "/_dash-dependencies",
        "/_dash-component-suites/dash/dcc/dash_core_components.js",
        "/assets/board.css",
        "/_favicon.ico",
    ):
        answer = client.get(url)
        assert answer.status_code == 401 and answer.is_json, url
    wrong = client.post(
        "/_dash-update-component",
        json=_page_request("/enterprise/F0"),
        headers={"X-API-Key": "regulator-key-but-not-quite"},
    )
    assert wrong.status_code == 401
    # A page is sent to the login page, which comes back to it.
    answer = client.get("/enterprise/F0?tab=records")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=%2Fenterprise%2FF0%3Ftab%3Drecords"
    assert client.get("/").headers["Location"] == "/login?next=%2F"
    login = client.get("/login")
    assert login.status_code == 200 and 'type="password"' in login.get_data(as_text=True)
    rows = _audit_rows(keyed)
    assert [(r.client, r.role, r.route, r.status) for r in rows[:3]] == [
        ("anonymous", None, "/_dash-update-component", 401),
        ("anonymous", None, "/_dash-layout", 401),
        ("anonymous", None, "/_dash-dependencies", 401),
    ]
    assert all(r.client == "anonymous" for r in rows)
    assert {r.status for r in rows} == {401, 302}  # the login page itself is not a refusal
    assert not any("key" in json.dumps(r.subjects) for r in rows)


def test_a_bank_key_gets_nothing(board: Dash, keyed: AccessSettings) -> None:
    client = board.server.test_client()
    bank = {"X-API-Key": _key("bank")}
    answer = client.post(
        "/_dash-update-component", json=_page_request("/enterprise/F0"), headers=bank
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 403 and answer.json is not None
    assert answer.json["message"].startswith("bank keys have no access to the board")
    assert REASON_TEXT not in body and "F0" not in body and '"D"' not in body
    assert client.get("/_dash-layout", headers=bank).status_code == 403
    page = client.get("/?lang=en", headers=bank)
    assert page.status_code == 403
    assert "bank keys have no access to the board" in page.get_data(as_text=True)
    # Logging in with it sets no session.
    login = client.post("/login", data={"key": _key("bank"), "lang": "zh"})
    assert login.status_code == 403 and "银行角色的密钥无权访问看板" in login.get_data(as_text=True)
    assert "Set-Cookie" not in login.headers
    assert client.post("/_dash-update-component", json=_page_request("/")).status_code == 401
    rows = _audit_rows(keyed)
    bank_name = API_KEYS[_key("bank")]["name"]
    assert [(r.client, r.role, r.route, r.status) for r in rows] == [
        (bank_name, "bank", "/_dash-update-component", 403),
        (bank_name, "bank", "/_dash-layout", 403),
        (bank_name, "bank", "/", 403),
        (bank_name, "bank", "/login", 403),
        ("anonymous", None, "/_dash-update-component", 401),
    ]


@pytest.mark.parametrize("role", ["regulator", "analyst"])
def test_regulator_and_analyst_keys_read_the_board(
    board: Dash, keyed: AccessSettings, role: str
) -> None:
    client = board.server.test_client()
    key = {"X-API-Key": _key(role)}
    answer = client.post(
        "/_dash-update-component", json=_page_request("/enterprise/F0"), headers=key
    )
    assert answer.status_code == 200 and REASON_TEXT in answer.get_data(as_text=True)
    layout = client.get("/_dash-layout", headers=key)
    name = API_KEYS[_key(role)]["name"]
    assert layout.status_code == 200 and name in json.dumps(layout.json, ensure_ascii=False)
    assert client.get("/", headers=key).status_code == 200
    # The page's enterprise and the ids a callback's inputs name are the row's subjects.
    client.post(
        "/_dash-update-component",
        json=_page_request(f"/enterprise/{OUTSIDER}"),
        headers=key,
    )
    tap = {
        "output": "ego-selected.children",
        "outputs": {"id": "ego-selected", "property": "children"},
        "inputs": [{"id": "ego-graph", "property": "tapNodeData", "value": {"id": OUTSIDER}}],
        "changedPropIds": ["ego-graph.tapNodeData"],
        "state": [],
    }
    client.post(
        "/_dash-update-component",
        json=tap,
        headers={**key, "Referer": "http://localhost/extension?black=F7"},
    )
    rows = _audit_rows(keyed)
    assert [(r.client, r.role, r.method, r.route, r.path, r.status) for r in rows[:2]] == [
        (name, role, "POST", "/_dash-update-component", "/enterprise/F0", 200),
        (name, role, "POST", "/_dash-update-component", f"/enterprise/{OUTSIDER}", 200),
    ]
    assert rows[1].subjects == (OUTSIDER,)
    assert rows[2].path == "/extension?black=F7" and rows[2].subjects == (OUTSIDER,)
    assert len(rows) == 3  # the layout and the page (no data) are not audited


def test_login_sets_a_strict_http_only_cookie_and_logout_clears_it(
    board: Dash, keyed: AccessSettings
) -> None:
    client = board.server.test_client()
    wrong = client.post("/login", data={"key": "guess", "lang": "en"})
    assert wrong.status_code == 401 and "Key not recognised" in wrong.get_data(as_text=True)
    assert "Set-Cookie" not in wrong.headers
    wrong_zh = client.post("/login", data={"key": "", "lang": "zh"})
    assert wrong_zh.status_code == 401 and "密钥无法识别" in wrong_zh.get_data(as_text=True)
    good = client.post("/login", data={"key": _key("regulator"), "next": "/warnings"})
    assert good.status_code == 303 and good.headers["Location"] == "/warnings"
    cookie = good.headers["Set-Cookie"]
    assert cookie.startswith("creditgraph_board=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert _key("regulator") not in cookie
    answer = client.post("/_dash-update-component", json=_page_request("/enterprise/F0"))
    assert answer.status_code == 200 and REASON_TEXT in answer.get_data(as_text=True)
    assert client.get("/").status_code == 200
    # A key in the header is checked even with a session: a wrong one is refused.
    assert client.get("/_dash-layout", headers={"X-API-Key": "nope"}).status_code == 401
    logout = client.get("/logout?lang=en")
    assert logout.status_code == 303 and logout.headers["Location"] == "/login?lang=en"
    assert client.post("/_dash-update-component", json=_page_request("/")).status_code == 401
    # Never sent back to another site.
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/logout"):
        answer = client.post("/login", data={"key": _key("analyst"), "next": target})
        assert answer.headers["Location"] == "/", target
    rows = _audit_rows(keyed)
    name = API_KEYS[_key("regulator")]["name"]
    assert [(r.client, r.route, r.status) for r in rows[:4]] == [
        ("anonymous", "/login", 401),
        ("anonymous", "/login", 401),
        (name, "/login", 303),
        (name, "/_dash-update-component", 200),
    ]


def test_a_session_holds_on_its_own_app_only(keyed: AccessSettings) -> None:
    """The cookie's secret is drawn per app: a cookie of one board opens no other."""
    first = create_app(keyed, BoardConfig(warm=False)).server.test_client()
    second = create_app(keyed, BoardConfig(warm=False)).server.test_client()
    first.post("/login", data={"key": _key("regulator")})
    cookie = first.get_cookie("creditgraph_board")
    assert cookie is not None
    second.set_cookie("creditgraph_board", cookie.value)
    assert first.get("/_dash-layout").status_code == 200
    assert second.get("/_dash-layout").status_code == 401


def test_a_login_expires_after_the_session_lifetime(
    board: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = board.server.test_client()
    client.post("/login", data={"key": _key("regulator")})
    assert client.get("/_dash-layout").status_code == 200
    later = int(time.time() + SESSION_LIFETIME.total_seconds()) + 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: later)
    assert client.get("/_dash-layout").status_code == 401


def test_the_header_names_who_is_logged_in_and_links_to_the_logout(board: Dash) -> None:
    client = board.server.test_client()
    client.post("/login", data={"key": _key("analyst")})
    layout = json.dumps(client.get("/_dash-layout").json, ensure_ascii=False)
    assert "研究所 · 分析" in layout and "/logout?lang=zh" in layout
    assert who(None, "en") == "" and logout_href("en") == "/logout?lang=en"


def test_the_login_only_returns_to_paths_of_the_board() -> None:
    assert safe_next("/enterprise/F0?x=1") == "/enterprise/F0?x=1"
    for target in (None, "", "//x.example", "http://x.example/", "/\\x.example", "/login", "x"):
        assert safe_next(target) == "/"


def test_the_board_command_needs_a_board_key_and_a_loopback_address(
    home: AccessSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(Dash, "run", lambda _app, **kw: served.append(kw))
    monkeypatch.setenv("CREDITGRAPH_HOME", str(home.home))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    monkeypatch.delenv("CREDITGRAPH_API_KEYS", raising=False)
    result = CliRunner().invoke(cli, ["board", "--no-warm"])
    assert result.exit_code == 2 and "nobody could log in" in result.stderr
    assert "CREDITGRAPH_API_KEYS" in result.stderr
    bank_only = {k: v for k, v in API_KEYS.items() if v["role"] == "bank"}
    monkeypatch.setenv("CREDITGRAPH_API_KEYS", json.dumps(bank_only))
    result = CliRunner().invoke(cli, ["board", "--no-warm"])
    assert result.exit_code == 2 and "no regulator or analyst key" in result.stderr
    monkeypatch.setenv("CREDITGRAPH_API_KEYS", json.dumps(API_KEYS))
    for host in ("0.0.0.0", "192.168.1.20", "::", "board.example"):
        result = CliRunner().invoke(cli, ["board", "--host", host, "--no-warm"])
        assert result.exit_code == 2, host
        assert f"--host {host} is not a loopback address" in result.stderr
        assert "--allow-remote" in result.stderr
    assert served == []
    for host in ("127.0.0.1", "127.8.8.8", "::1", "localhost"):
        result = CliRunner().invoke(cli, ["board", "--host", host, "--no-warm"])
        assert result.exit_code == 0 and result.stderr == "", host
    result = CliRunner().invoke(cli, ["board", "--host", "0.0.0.0", "--allow-remote", "--no-warm"])
    assert result.exit_code == 0, result.output
    assert "must sit behind TLS" in result.stderr and "serves grades" in result.stderr
    assert [s["host"] for s in served] == ["127.0.0.1", "127.8.8.8", "::1", "localhost", "0.0.0.0"]


def test_the_api_server_binds_by_the_same_rule(
    home: AccessSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(home.home))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--host 0.0.0.0 is not a loopback address" in result.stderr


def test_a_draw_runs_as_a_background_job_and_its_page_polls_it(data: BoardData) -> None:
    """Draw submits a job of the app and returns at once; each poll says how long it has
    run, then shows the plan as saved, or, for the same draw again, as existing already."""
    gate = threading.Event()
    jobs = Jobs(workers=1)
    blocker = jobs.submit(gate.wait, 5)  # holds the only worker: the draw waits its turn
    args = ("食品安全", "henan_2021", {"A": 1.0}, [], [], None, 11, "pool.csv")
    job = sampling.start_draw(jobs, data, AS_OF, *args, lang="zh")
    waiting = sampling.collect(jobs, data, job, "zh")
    assert "排队等待抽取" in texts(waiting[2]) and waiting[4] is False and waiting[6] is True
    gate.set()
    deadline = time.monotonic() + 30
    while jobs.poll(job, collect=False).status in ("waiting", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert jobs.poll(blocker).status == "done"
    view, plan_id, message, options, stop, kept, disabled = sampling.collect(jobs, data, job, "zh")
    assert "已保存" in texts(message) and plan_id in options and plan_id in texts(view)
    assert stop is True and kept is None and disabled is False
    assert jobs.poll(job).status == "unknown"  # collected once
    again = sampling.start_draw(jobs, data, AS_OF, *args, lang="zh")
    while jobs.poll(again, collect=False).status in ("waiting", "running"):
        time.sleep(0.02)
    view, same, message, *_ = sampling.collect(jobs, data, again, "zh")
    assert same == plan_id and "该计划已存在" in texts(message) and "已保存" not in texts(message)
    assert data.plan_ids() == [plan_id]
    # A draw that cannot be made says why; a failing job reports its error.
    bad = sampling.start_draw(
        jobs, data, AS_OF, "x", "henan_2021", {}, [], [], None, 1, None, lang="zh"
    )
    while jobs.poll(bad, collect=False).status in ("waiting", "running"):
        time.sleep(0.02)
    assert "检查人员名录" in texts(sampling.collect(jobs, data, bad, "zh")[2])
    broken = jobs.submit(lambda: 1 / 0)
    while jobs.poll(broken, collect=False).status in ("waiting", "running"):
        time.sleep(0.02)
    failed = jobs.poll(broken)
    assert failed.status == "failed" and failed.error == "division by zero"
    jobs.close()


def test_each_app_has_its_own_jobs(home: AccessSettings) -> None:
    """No module-level registry: two apps, two job tables."""
    first, second = Jobs(), Jobs()
    job = first.submit(lambda: 42)
    while first.poll(job, collect=False).status != "done":
        time.sleep(0.01)
    assert second.poll(job).status == "unknown" and first.poll(job).result == 42
    first.close()
    second.close()


def test_the_ownership_page_draws_holders_summarises_the_rest_and_names_the_controller(
    tmp_path: Path,
) -> None:
    from dashboard.pages import ownership

    settings = AccessSettings(home=tmp_path / "home")
    city = SnapshotBuilder().firms_named("W", "H").person("王五", "赵六")
    city.tie("HOLDS_SHARES", "王五", "H", share=0.7).tie("HOLDS_SHARES", "赵六", "H", share=0.3)
    city.tie("HOLDS_SHARES", "H", "W", share=0.6)
    holders = [f"h{k:03d}" for k in range(120)]
    city.person(*holders)
    for holder in holders:
        city.tie("HOLDS_SHARES", holder, "W", share=0.4 / 120)
    city.build().save(settings.snapshots_dir / AS_OF.isoformat())
    board = BoardData(settings, BoardConfig())
    page = route(board, "/ownership/W", "", "en", AS_OF.isoformat())
    said = texts(page)
    # 王五 holds 70 % of H, which holds 60 % of W: 42 %, 17 points ahead of the next (赵六 18 %).
    assert "王五" in said and "holds 42.0%, at least 25 % and 10 points ahead" in said
    assert "王五 → 70.0% → H → 60.0% → W" in said
    sankey = _find(page, "ownership-figure").figure.data[0]
    labels = list(sankey.node.label)
    # H and 9 of the 120 holders beside it, the other 111 as one node; H's two holders.
    assert len(labels) == 1 + 10 + 1 + 2
    assert "and 111 more (37.0% in all)" in labels
    assert sankey.node.color[labels.index("王五 70.0%")] == ownership.COLOURS["controller"]
    down = route(board, "/ownership/H", "?direction=down", "zh", AS_OF.isoformat())
    assert "股东（向上穿透）" in texts(down)
    assert list(_find(down, "ownership-figure").figure.data[0].node.label) == ["H", "W 60.0%"]
    assert "没有该企业" in texts(route(board, "/ownership/X", "", "zh", AS_OF.isoformat()))
    assert route(board, "/ownership", "", "en", AS_OF.isoformat()) is not None


def _find(component: Any, id_: str) -> Any:
    """The component of ``id_`` in a component tree."""
    if isinstance(component, list | tuple):
        return next((f for c in component if (f := _find(c, id_)) is not None), None)
    if component is None or isinstance(component, str | int | float | dict):
        return None
    if getattr(component, "id", None) == id_:
        return component
    return _find(getattr(component, "children", None), id_)


def test_the_ego_graph_draws_shared_contacts_as_dashed_suspected_edges(api_city: ApiCity) -> None:
    """A firm sharing a phone with others: each of them (up to SHARED_SHOWN) joins the ego
    graph by a SUSPECTED edge naming the masked phone and how many firms use it, weak past
    RARE_GROUP; the legend names the kind."""
    data = BoardData(api_city.settings, BoardConfig())
    day = api_city.scored
    ent = data.snapshot(day).enterprises
    phones = ent["phone"].to_pylist()
    counts = Counter(p for p in phones if p)
    row = next(i for i, p in enumerate(phones) if p and counts[p] >= 2)
    center_id = ent["id"][row].as_py()
    shared = enterprise.shared_ties(ent, row, "zh")
    on_phone = [t for t in shared if t.contact == "phone"]
    sharers = {i for i, p in enumerate(phones) if p == phones[row]} - {row}
    assert {t.other for t in on_phone} <= sharers
    assert len(on_phone) == min(len(sharers), enterprise.SHARED_SHOWN)
    phone = phones[row]
    masked = phone[:3] + "*" * (len(phone) - 5) + phone[-2:]
    assert all(masked in t.label and phone not in t.label for t in on_phone)
    assert all(f"{counts[phone]} 家企业共用" in t.label for t in on_phone)
    assert all(("弱证据" in t.label) == (counts[phone] > RARE_GROUP) for t in on_phone)
    _, elements, _ = enterprise.on_tap(data, day, center_id, None, None, "zh")
    dashed = [e for e in elements if e.get("classes") == "SUSPECTED"]
    drawn = {e["data"]["target"] for e in dashed if e["data"]["id"].startswith("phone|")}
    assert drawn == {ent["id"][t.other].as_py() for t in on_phone}
    node_ids = {e["data"]["id"] for e in elements if "source" not in e["data"]}
    assert drawn <= node_ids
    lone = next(i for i, p in enumerate(phones) if p and counts[p] == 1)
    assert not [t for t in enterprise.shared_ties(ent, lone, "zh") if t.contact == "phone"]
    assert "疑似关系" in texts(enterprise.render(data, day, "zh", center_id))
