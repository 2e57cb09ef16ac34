"""双随机 plans: pools, class draws, forced objects, replay, recusal on the graph, publication,
inspection results, and extension checks of black-listed firms."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import SALT, make_resident_id
from feature_graphs import AS_OF, SnapshotBuilder

from graph_model.identifiers import person_key
from graph_model.snapshot import Snapshot
from risk.supervision.extension import extension_checks
from risk.supervision.inspectors import Inspector, InspectorFileError, read_inspectors
from risk.supervision.plans import (
    PlanError,
    PlanRecord,
    draw_plan,
    publication,
    replay,
    results_to_inspections,
)
from risk.supervision.sampling import Forced, PlanSpec, SamplingError

DAY = timedelta(days=1)


def city(n: int = 200) -> tuple[SnapshotBuilder, pa.Table]:
    """n firms, graded A (70 %), B (20 %), C (7 %), D (3 %) by a score that rises with the
    firm number."""
    b = SnapshotBuilder()
    ids = [f"F{i:03d}" for i in range(n)]
    b.firms_named(*ids)
    score = np.linspace(0.0, 1.0, n)
    grade = np.select([score < 0.7, score < 0.9, score < 0.97], ["A", "B", "C"], "D")
    return b, pa.table({"id": ids, "grade": grade.tolist(), "score": score})


def spec(**changes: object) -> PlanSpec:
    base = {"item": "食品安全", "as_of": AS_OF, "grading": "test", "seed": 7}
    return PlanSpec.model_validate({**base, **changes})


def crew(n: int = 10, capacity: int = 100) -> list[Inspector]:
    return [
        Inspector(f"I{k}", f"inspector {k}", None, None, capacity, (), (), ()) for k in range(n)
    ]


def classes(record: PlanRecord) -> Counter[str]:
    return Counter(o["grade"] for o in record.objects if o["selected"] == "random")


def test_each_class_draws_its_ratio_rounded_up() -> None:
    b, grading = city()
    record = draw_plan(b.build(), grading, crew(), spec())
    sizes = {g: record.pool_classes[g]["pool"] for g in "ABCD"}
    assert sizes == {"A": 140, "B": 40, "C": 14, "D": 6}
    # Henan 2021: A 1 %, B 2 %, C 10 %, D 30 % — ceil(1.4)=2, ceil(0.8)=1, ceil(1.4)=2, ceil(1.8)=2
    assert classes(record) == {"A": 2, "B": 1, "C": 2, "D": 2}
    bayannur = draw_plan(b.build(), grading, crew(), spec(preset="bayannur_2022"))
    assert classes(bayannur)["C"] == 14 and classes(bayannur)["D"] == 6
    custom = draw_plan(b.build(), grading, crew(), spec(ratios={"A": 0.1}))
    assert classes(custom)["A"] == 14


def test_forced_objects_come_on_top_and_recent_inspections_spare_class_a_only() -> None:
    b, grading = city()
    for firm in ("F000", "F001", "F150"):  # two A firms and a B firm, inspected last month
        b.record(firm, "inspection", AS_OF - 30 * DAY, finding="no_problem")
    b.record("F002", "inspection", AS_OF - 60 * DAY, finding="problem_found")
    forced = (Forced(id="F003", reason="complaint 2025-0417"),)
    record = draw_plan(b.build(), grading, crew(), spec(forced=forced, ratios={"A": 1.0}))
    chosen = {o["id"]: o for o in record.objects}
    assert chosen["F003"]["selected"] == "forced" and chosen["F003"]["reason"].startswith(
        "complaint"
    )
    assert chosen["F002"]["selected"] == "forced" and "finding" in chosen["F002"]["reason"]
    assert "F000" not in chosen and "F001" not in chosen  # 无事不扰: recently inspected A firms
    assert record.pool_classes["A"]["eligible"] == 140 - 3  # F002 too was inspected recently
    # Forced objects are on top of the class draw: every other eligible A firm is drawn.
    assert classes(record)["A"] == 140 - 3 - 1
    b_plan = draw_plan(b.build(), grading, crew(), spec(ratios={"B": 1.0}))
    assert "F150" in {o["id"] for o in b_plan.objects}  # class B is not spared


def test_pool_filters_and_refusals_are_explicit() -> None:
    b, grading = city(20)
    b.firm("F000", region_code="330281", industry="F").firm("F001", status="deregistered")
    snap = b.build()
    record = draw_plan(snap, grading, crew(), spec(regions=("330281",), ratios={"A": 1.0}))
    assert [o["id"] for o in record.objects] == ["F000"]
    assert sum(c["pool"] for c in record.pool_classes.values()) == 1
    with pytest.raises(SamplingError, match="not in the pool"):
        draw_plan(snap, grading, crew(), spec(forced=(Forced(id="F001", reason="lead"),)))
    with pytest.raises(SamplingError, match="no grade"):
        draw_plan(snap, grading.slice(0, 5), crew(), spec())
    with pytest.raises(ValueError, match="unknown preset"):
        spec(preset="atlantis")


def test_a_draw_is_reproducible_and_its_replay_detects_changes() -> None:
    b, grading = city()
    snap = b.build()
    first = draw_plan(snap, grading, crew(), spec())
    assert draw_plan(snap, grading, crew(), spec()).result() == first.result()
    assert draw_plan(snap, grading, crew(), spec(seed=8)).result() != first.result()
    unseeded = draw_plan(snap, grading, crew(), spec(seed=None))
    assert unseeded.seed == unseeded.spec["seed"]  # the random seed is recorded
    assert replay(unseeded, snap, grading, crew()).result() == unseeded.result()

    regraded = grading.set_column(1, "grade", pa.array(["D", *grading["grade"].to_pylist()[1:]]))
    with pytest.raises(PlanError, match=r"pool .* changed"):
        replay(first, snap, regraded, crew())
    with pytest.raises(PlanError, match="inspector pool differs"):
        replay(first, snap, grading, crew(11))


def test_risk_weighting_favours_high_scores_but_every_object_keeps_a_chance() -> None:
    b, grading = city()
    snap = b.build()
    drawn: Counter[str] = Counter()
    for seed in range(300):
        record = draw_plan(snap, grading, crew(), spec(seed=seed, risk_weight=3.0))
        drawn.update(o["id"] for o in record.objects if o["grade"] == "A")
    low = sum(drawn[f"F{i:03d}"] for i in range(0, 35))  # lowest quarter of class A
    high = sum(drawn[f"F{i:03d}"] for i in range(105, 140))  # highest quarter
    assert high > 2 * low > 0


def test_inspectors_with_ties_to_an_object_are_recused_and_the_plan_says_why() -> None:
    b, grading = city(30)
    inspector_id, relative_id = make_resident_id(1), make_resident_id(2)
    me, relative = person_key(inspector_id, SALT), person_key(relative_id, SALT)
    b.person(me, relative, "someone")
    b.tie("HOLDS_SHARES", me, "F029", share=0.2)  # the inspector holds shares
    b.tie("LEGAL_REP", relative, "F028")  # a relative represents the firm
    b.tie("OFFICER", "someone", "F010", role="manager").tie("LEGAL_REP", "someone", "F027")
    b.firm("F026", region_code="330299")
    snap = b.build()
    conflicted = Inspector("X", "conflicted", me, "330299", 100, ("F010",), (relative,), ("***2",))
    team = [conflicted, *crew(4)]
    record = draw_plan(
        snap, grading, team, spec(ratios={g: 1.0 for g in "ABCD"}, recuse_same_region=True)
    )
    assert all(len(o["inspectors"]) == 2 for o in record.objects)
    assigned = {o["id"]: o["inspectors"] for o in record.objects}
    reasons = {r["enterprise"]: r for r in record.recusals if r["inspector"] == "X"}
    for firm in ("F029", "F028", "F027", "F010", "F026"):
        assert "X" not in assigned[firm]
    assert reasons["F029"]["reason"] == "tied to the inspector" and reasons["F029"]["hops"] == 1
    assert reasons["F029"]["path"] == [[me, "HOLDS_SHARES", "F029"]]
    assert reasons["F028"]["reason"] == "tied to relative ***2"
    assert reasons["F010"]["reason"] == "former employer F010" and reasons["F010"]["hops"] == 0
    assert reasons["F027"]["hops"] == 2  # former employer → its manager → another firm
    assert reasons["F026"]["reason"] == "same region 330299"
    assert set(reasons) == {"F029", "F028", "F027", "F010", "F026"}
    assert any("X" in inspectors for inspectors in assigned.values())  # not excluded elsewhere
    with pytest.raises(PlanError, match="repeated inspector"):
        draw_plan(snap, grading, [*team, team[1]], spec())


def test_capacity_is_respected_and_unstaffed_objects_are_reported() -> None:
    b, grading = city(30)
    record = draw_plan(
        b.build(), grading, crew(3, capacity=4), spec(ratios={g: 1.0 for g in "ABCD"})
    )
    load = Counter(i for o in record.objects for i in o["inspectors"])
    assert max(load.values()) <= 4
    # 3 inspectors × 4 objects ÷ 2 per object: drawing by remaining capacity staffs 6.
    assert len(record.unassigned) == 30 - 6
    assert all(o["inspectors"] == [] for o in record.objects if o["id"] in record.unassigned)


def test_publication_hides_grades_scores_and_reasons(tmp_path: Path) -> None:
    b, grading = city()
    record = draw_plan(
        b.build(), grading, crew(), spec(forced=(Forced(id="F010", reason="tip-off"),))
    )
    saved, path, created = record.save(tmp_path)
    loaded = PlanRecord.load(tmp_path, path.stem)
    assert created and loaded == record == saved
    text = publication(loaded, "csv")
    assert text.splitlines()[0] == "plan_id,item,enterprise_id,enterprise_name,inspectors"
    assert len(text.splitlines()) == len(record.objects) + 1
    body = json.loads(publication(loaded, "json"))
    assert {"enterprise_id", "inspectors"} <= set(body["objects"][0])
    for hidden in ("grade", "score", "tip-off", "reason"):
        assert hidden not in text and hidden not in json.dumps(body)
    with pytest.raises(PlanError, match="no plan"):
        PlanRecord.load(tmp_path, "2025-06-30-nothing")


def test_a_recorded_plan_is_never_replaced_and_ids_name_the_whole_draw(tmp_path: Path) -> None:
    b, grading = city()
    snap, team = b.build(), crew()
    first = draw_plan(snap, grading, team, spec(seed=7))
    # Another inspection item with the same date and seed is another plan, with its own id.
    other = draw_plan(snap, grading, team, spec(seed=7, item="特种设备安全"))
    assert other.plan_id != first.plan_id
    for record in (first, other):
        assert record.save(tmp_path)[2]
    # The same draw again (a second click): the recorded plan, unchanged, not a new file.
    again = draw_plan(snap, grading, team, spec(seed=7), now=datetime(2030, 1, 1, tzinfo=UTC))
    assert again.plan_id == first.plan_id and again.created_at != first.created_at
    recorded, path, created = again.save(tmp_path)
    assert not created and recorded == first
    assert PlanRecord.load(tmp_path, first.plan_id) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{r.plan_id}.json" for r in (first, other)
    )  # no draft left behind
    assert path.stat().st_mode & 0o222 == 0  # read-only


def test_a_published_plan_neutralises_spreadsheet_formulas() -> None:
    b, grading = city()
    item = '=HYPERLINK("http://x")'
    record = draw_plan(b.build(), grading, crew(), spec(item=item))
    rows = list(csv.DictReader(io.StringIO(publication(record, "csv"))))
    assert rows and all(row["item"] == "'" + item for row in rows)
    assert json.loads(publication(record, "json"))["item"] == item  # JSON is not a spreadsheet


def test_inspection_results_become_contract_rows_or_a_list_of_problems() -> None:
    b, grading = city()
    record = draw_plan(b.build(), grading, crew(), spec())
    first = record.objects[0]["id"]
    good = pa.table(
        {"enterprise_id": [first], "finding": ["problem_found"], "inspected_on": ["2025-07-15"]}
    )
    rows = results_to_inspections(record, good, "海曙区市场监督管理局")
    assert rows.to_pylist() == [
        {
            "record_no": f"{record.plan_id}/{first}",
            "enterprise_id": first,
            "start": "2025-07-15",
            "item": "食品安全",
            "finding": "problem_found",
            "authority": "海曙区市场监督管理局",
        }
    ]
    bad = pa.table({"enterprise_id": ["F999"], "finding": ["fine"], "inspected_on": ["15/07/2025"]})
    with pytest.raises(PlanError) as info:
        results_to_inspections(record, bad, "x")
    message = str(info.value)
    assert "line 2, enterprise_id = 'F999': not an object of the plan" in message
    assert "finding = 'fine'" in message and "inspected_on = '15/07/2025'" in message


def test_inspector_file_problems_name_line_column_and_value(tmp_path: Path) -> None:
    path = tmp_path / "inspectors.csv"
    path.write_text(
        "inspector_id,name,id_number,capacity,former_employers\n"
        f"I1,张三,{make_resident_id(5)},10,91350100M000100Y43\n"
        "I1,李四,110101199001011234,many,NOT-AN-ID\n"
        ",王五,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(InspectorFileError) as info:
        read_inspectors(path, SALT)
    message = str(info.value)
    assert "inspectors.csv line 3, inspector_id = 'I1': repeated" in message
    assert "line 3, capacity = 'many'" in message
    assert "line 3, id_number = '110101********1234': not a valid ID" in message
    assert "former_employers = 'NOT-AN-ID'" in message
    assert "line 4, inspector_id: empty" in message
    path.write_text(
        f"inspector_id,name,id_number\nI1,张三,{make_resident_id(5)}\n", encoding="utf-8"
    )
    (one,) = read_inspectors(path, SALT)
    assert one.person == person_key(make_resident_id(5), SALT) and one.capacity == 50


def black_listed_group() -> Snapshot:
    b = SnapshotBuilder().firms_named("BL", "SIS", "OWNED", "FAR", "HUBBED", "CLEAN")
    b.person("rep", "hub")
    b.tie("LEGAL_REP", "rep", "BL").tie("LEGAL_REP", "rep", "SIS")
    b.tie("HOLDS_SHARES", "BL", "OWNED", share=0.6).tie("HOLDS_SHARES", "OWNED", "FAR", share=0.5)
    b.tie("OFFICER", "hub", "BL", role="director")
    for i in range(60):
        b.firm(f"H{i}").tie("OFFICER", "hub", f"H{i}", role="director")
    b.record("BL", "black_list", AS_OF - 100 * DAY)
    b.record("CLEAN", "black_list", AS_OF - 1500 * DAY, end=AS_OF - 400 * DAY)  # ended
    return b.build()


def test_extension_checks_list_related_firms_with_paths_ranked_by_score() -> None:
    snap = black_listed_group()
    grading = pa.table({"id": ["SIS", "OWNED"], "grade": ["B", "D"], "score": [0.3, 0.9]})
    table = extension_checks(snap, grading, hops=2)
    assert set(table["black_listed_id"].to_pylist()) == {"BL"}
    related = table["related_id"].to_pylist()
    assert related[:2] == ["OWNED", "SIS"]  # ranked by score
    assert "FAR" in related  # BL → OWNED → FAR, 2 hops
    assert not any(r.startswith("H") for r in related)  # a hub (61 firms) is not walked through
    row = dict(zip(table.column_names, table.slice(1, 1).to_pylist()[0].values(), strict=True))
    assert json.loads(row["path"]) == [["rep", "LEGAL_REP", "BL"], ["rep", "LEGAL_REP", "SIS"]]
    assert row["hops"] == 2 and row["grade"] == "B"
    narrow = extension_checks(snap, None, hops=1)
    assert narrow["related_id"].to_pylist() == ["OWNED"]  # persons are hops, not firms
    with pytest.raises(ValueError, match="hops"):
        extension_checks(snap, None, hops=9)
