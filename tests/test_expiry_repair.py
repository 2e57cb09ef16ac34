"""Record windows, credit repair and objections: the rules of domain.yaml, their checks in the
loader, and what snapshots, features and due escalations see, through a real store."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import SALT, make_resident_id, make_uscc

from graph_model.domain import load_domain
from graph_model.record_rules import add_months, disputed, effective_ends
from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.ladybug import LadybugStore
from loaders.load import load_folder
from loaders.summary import LoadSummary
from risk.features import compute_features
from risk.supervision.expiry import due_escalations

WriteFiles = Callable[[str, dict[str, str | bytes]], Path]
A, B, C = (make_uscc(i) for i in range(11, 14))
P1 = make_resident_id(11)

BLACK_HEAD = ["record_no", "enterprise_id", "start", "end", "reason", "repaired_on"]
OBJECTION_HEAD = [
    "record_no",
    "enterprise_id",
    "start",
    "reason",
    "disputed_on",
    "dispute_resolved_on",
    "dispute_upheld",
]

# A and B share their legal representative: each is the other's only related party.
CITY = {
    "enterprises": [
        ["id", "name", "established_on"],
        [A, "甲", "2015-01-01"],
        [B, "乙", "2015-01-01"],
        [C, "丙", "2015-01-01"],
    ],
    "persons": [["id_number", "name"], [P1, "张三"]],
    "legal_reps": [
        ["person_id_number", "enterprise_id", "valid_from"],
        [P1, A, "2015-01-01"],
        [P1, B, "2015-01-01"],
    ],
    "black_list": [BLACK_HEAD, ["HM-1", B, "2024-01-10", "", "虚假登记", ""]],
}


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def load(store: LadybugStore, write_files: WriteFiles, name: str, tables: dict) -> LoadSummary:
    folder = write_files(name, {f"{t}.csv": csv_text(rows) for t, rows in tables.items()})
    return load_folder(store, folder, salt=SALT, rejects_dir=folder.parent / "rejects")


def days(*values: str | None) -> np.ndarray:
    return np.array([v or "NaT" for v in values], dtype="datetime64[D]")


def records(snap: Snapshot) -> dict[str, dict]:
    return {r["id"]: r for r in snap.records.to_pylist()}


def feature(snap: Snapshot, name: str, firm: str) -> float:
    matrix = compute_features(snap, families=("own", "contagion"))
    return float(matrix.column(name)[snap.index_of([firm])[0]])


# -- the rules ------------------------------------------------------------------------


def test_months_are_calendar_months_clamped_to_the_month_end() -> None:
    start = days("2024-02-29", "2024-01-31", "2023-11-30", "2024-03-15", None)
    assert (
        add_months(start, 12).tolist()
        == days("2025-02-28", "2025-01-31", "2024-11-30", "2025-03-15", None).tolist()
    )
    assert (
        add_months(start, 1).tolist()
        == days("2024-03-29", "2024-02-29", "2023-12-30", "2024-04-15", None).tolist()
    )


def test_the_domain_states_the_windows_of_domain_md() -> None:
    d = load_domain()
    assert d.record("black_list").rules.publicity is not None
    assert d.record("black_list").rules.publicity.default.months == 36
    assert d.record("dishonest_debtor").rules.publicity.default.months == 24  # type: ignore[union-attr]
    penalty = d.record("penalty").rules
    assert penalty.publicity is not None and penalty.repair_wait is not None
    assert str(penalty.publicity) == "3 years (3 months when severity is minor)"
    assert dict(penalty.repair_wait.cases) == {
        s: penalty.repair_wait.cases[0][1] for s in ("food", "drugs", "special_equipment")
    }
    escalation = d.record("abnormal_list").rules.escalation
    assert escalation is not None and (escalation.after.months, escalation.to) == (36, "black_list")
    assert d.record("abnormal_list").rules.publicity is None


def test_effective_end_is_the_given_end_cut_by_the_window() -> None:
    rows = [
        # kind, start, given end, severity, expected effective end
        ("black_list", "2019-01-01", None, None, "2022-01-01"),
        ("black_list", "2019-01-01", "2020-05-01", None, "2020-05-01"),  # early removal
        ("black_list", "2019-01-01", "2030-01-01", None, "2022-01-01"),  # cut at 3 years
        ("penalty", "2024-01-31", None, "minor", "2024-04-30"),
        ("penalty", "2024-01-31", "2030-01-01", "general", "2027-01-31"),
        ("dishonest_debtor", "2020-01-01", None, None, "2022-01-01"),
        ("dishonest_debtor", "2020-01-01", "2023-06-01", None, "2023-06-01"),  # extended
        ("dishonest_debtor", "2020-01-01", "2030-01-01", None, "2025-01-01"),  # at most +3 years
        ("abnormal_list", "2015-01-01", None, None, None),  # open until cured
        ("commitment", "2015-01-01", None, None, None),
        ("inspection", "2015-01-01", "2016-01-01", None, "2016-01-01"),
    ]
    table = pa.table(
        {
            "kind": [r[0] for r in rows],
            "start": pa.array([date.fromisoformat(r[1]) for r in rows], pa.date32()),
            "end": pa.array([r[2] and date.fromisoformat(r[2]) for r in rows], pa.date32()),
            "severity": [r[3] for r in rows],
        }
    )
    assert effective_ends(table).tolist() == days(*(r[4] for r in rows)).tolist()


# -- through the loader and the store ---------------------------------------------------


def test_a_black_listing_ends_after_three_years_in_snapshots(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, write_files, "city", CITY)
    during = take_snapshot(store, date(2026, 12, 31))
    assert records(during)["black_list:HM-1"]["end"] is None  # 2027-01-10 is still to come
    assert feature(during, "black_list_active", B) == 1.0
    after = take_snapshot(store, date(2027, 1, 10))
    assert records(after)["black_list:HM-1"]["end"] == date(2027, 1, 10)
    assert feature(after, "black_list_active", B) == 0.0
    assert feature(after, "black_list_expired", B) == 1.0
    assert feature(after, "related_1hop_bad_share", A) == 0.0


def test_a_repaired_record_stops_counting_for_the_firm_and_its_neighbours(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, write_files, "city", CITY)
    repaired = [BLACK_HEAD, ["HM-1", B, "2024-01-10", "", "虚假登记", "2025-02-01"]]
    summary = load(store, write_files, "repair", {"black_list": repaired})
    assert summary.rejected == 0

    before = take_snapshot(store, date(2025, 1, 31))
    assert records(before)["black_list:HM-1"]["repaired_on"] is None  # not known yet
    assert feature(before, "related_1hop_bad_share", A) == 1.0
    assert feature(before, "black_list_active", B) == 1.0

    after = take_snapshot(store, date(2025, 2, 1))
    assert "black_list:HM-1" not in records(after)
    assert feature(after, "related_1hop_bad_share", A) == 0.0
    # Not even history: a repaired record is neither active nor expired.
    assert feature(after, "black_list_active", B) == 0.0
    assert feature(after, "black_list_expired", B) == 0.0
    # The record itself is kept in the store, with its repair.
    entity = store.get_entity(B)
    assert entity is not None
    assert entity.records[0]["repaired_on"] == date(2025, 2, 1)


def test_a_repair_before_the_wait_is_rejected(store: LadybugStore, write_files: WriteFiles) -> None:
    load(store, write_files, "city", CITY)
    early = [BLACK_HEAD, ["HM-1", B, "2024-01-10", "", "虚假登记", "2024-12-31"]]
    penalties = [
        ["record_no", "enterprise_id", "start", "authority", "severity", "sector", "repaired_on"],
        ["CF-1", C, "2024-01-10", "市监局", "general", "food", "2024-08-01"],  # food: 1 year
        ["CF-2", C, "2024-01-10", "市监局", "general", "", "2024-08-01"],  # general: 6 months
    ]
    summary = load(store, write_files, "early", {"black_list": early, "penalties": penalties})
    rejects = [(r.file, r.line, r.field, r.value, r.reason) for r in summary.rejects]
    assert rejects == [
        (
            "black_list.csv",
            2,
            "repaired_on",
            "2024-12-31 < earliest 2025-01-10",
            "too early: a black_list record may be repaired 1 year after its start",
        ),
        (
            "penalties.csv",
            2,
            "repaired_on",
            "2024-08-01 < earliest 2025-01-10",
            "too early: a penalty record may be repaired 6 months (1 year when sector is "
            "food, drugs or special_equipment) after its start",
        ),
    ]
    # The refused repair left the stored record as it was.
    (record,) = store.get_entity(B).records  # type: ignore[union-attr]
    assert record["repaired_on"] is None


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (["2025-03-01", "2025-02-01", "false"], "dispute_resolved_on", "before disputed_on"),
        (["", "2025-02-01", "false"], "dispute_resolved_on", "without disputed_on"),
        (["2025-03-01", "", "true"], "dispute_upheld", "without dispute_resolved_on"),
        (["2023-01-01", "", ""], "disputed_on", "before start"),
    ],
)
def test_objection_fields_are_checked(
    store: LadybugStore, write_files: WriteFiles, row: list[str], field: str, reason: str
) -> None:
    load(store, write_files, "city", CITY)
    table = [OBJECTION_HEAD, ["HM-1", B, "2024-01-10", "虚假登记", *row]]
    summary = load(store, write_files, "objection", {"black_list": table})
    assert [(r.field, reason in r.reason) for r in summary.rejects] == [(field, True)]


def objection(outcome: str) -> list[list[str]]:
    resolved = "2025-05-01" if outcome else ""
    return [OBJECTION_HEAD, ["HM-1", B, "2024-01-10", "虚假登记", "2025-03-01", resolved, outcome]]


def test_a_disputed_record_still_counts_and_is_marked(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, write_files, "city", CITY)
    load(store, write_files, "objection", {"black_list": objection("")})
    snap = take_snapshot(store, date(2025, 4, 1))
    assert disputed(snap.records).tolist() == [True]
    assert feature(snap, "related_1hop_bad_share", A) == 1.0
    assert not disputed(take_snapshot(store, date(2025, 2, 1)).records).any()


def test_an_upheld_objection_annuls_the_record_from_its_decision(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, write_files, "city", CITY)
    load(store, write_files, "objection", {"black_list": objection("true")})
    pending = take_snapshot(store, date(2025, 4, 30))
    assert disputed(pending.records).tolist() == [True]  # the decision is not known yet
    decided = take_snapshot(store, date(2025, 5, 1))
    assert decided.records.num_rows == 0
    assert feature(decided, "related_1hop_bad_share", A) == 0.0


def test_a_dismissed_objection_leaves_the_record_standing(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, write_files, "city", CITY)
    load(store, write_files, "objection", {"black_list": objection("false")})
    snap = take_snapshot(store, date(2025, 6, 1))
    assert disputed(snap.records).tolist() == [False]
    assert feature(snap, "black_list_active", B) == 1.0


# -- abnormal list → black list ---------------------------------------------------------

ABNORMAL = [
    ["record_no", "enterprise_id", "start", "end", "reason", "repaired_on"],
    ["YC-A", A, "2021-07-15", "", "no_annual_report", ""],  # due 2024-07-15
    ["YC-B", B, "2021-07-15", "2023-01-01", "unreachable_address", ""],  # cured in time
    ["YC-C", C, "2022-07-15", "", "no_annual_report", ""],  # due 2025-07-15
]


def test_due_escalations_list_firms_still_abnormal_after_three_years(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    city = {k: v for k, v in CITY.items() if k != "black_list"}
    load(store, write_files, "city", {**city, "abnormal_list": ABNORMAL})
    due = due_escalations(take_snapshot(store, date(2025, 1, 1))).to_pylist()
    assert [(r["enterprise_id"], r["record_id"], r["due_on"], r["to"]) for r in due] == [
        (A, "abnormal_list:YC-A", date(2024, 7, 15), "black_list")
    ]
    assert due[0]["days_overdue"] == (date(2025, 1, 1) - date(2024, 7, 15)).days
    assert due[0]["name"] == "甲" and due[0]["disputed"] is False

    later = due_escalations(take_snapshot(store, date(2025, 7, 15)))
    assert later["record_id"].to_pylist() == ["abnormal_list:YC-A", "abnormal_list:YC-C"]

    # Once A is on the black list from its due day on, the escalation is done.
    black = [BLACK_HEAD, ["HM-A", A, "2024-08-01", "", "经营异常满三年", ""]]
    load(store, write_files, "escalated", {"black_list": black})
    done = due_escalations(take_snapshot(store, date(2025, 7, 15)))
    assert done["record_id"].to_pylist() == ["abnormal_list:YC-C"]

    # A cured (repaired) abnormal listing is no longer due.
    cured = [ABNORMAL[0], ["YC-C", C, "2022-07-15", "", "no_annual_report", "2025-07-01"]]
    load(store, write_files, "cured", {"abnormal_list": cured})
    assert due_escalations(take_snapshot(store, date(2025, 7, 15))).num_rows == 0


def test_due_escalations_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_files: WriteFiles
) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    monkeypatch.setenv("CREDITGRAPH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    city = {k: v for k, v in CITY.items() if k != "black_list"}
    tables = {**city, "abnormal_list": ABNORMAL}
    folder = write_files("cli", {f"{t}.csv": csv_text(rows) for t, rows in tables.items()})
    runner = CliRunner()
    assert runner.invoke(app, ["load", str(folder), "--quiet"]).exit_code == 0
    out_file = tmp_path / "due.csv"
    result = runner.invoke(
        app, ["records", "due-escalations", "--as-of", "2025-01-01", "--out", str(out_file)]
    )
    assert result.exit_code == 0, result.output
    assert f"{A}  甲  abnormal_list:YC-A  listed 2021-07-15, due 2024-07-15" in result.output
    assert "1 escalation(s) due on 2025-01-01" in result.output
    assert out_file.read_text().splitlines()[1].startswith(f'"{A}","甲","abnormal_list:YC-A"')
    bad = runner.invoke(app, ["records", "due-escalations", "--as-of", "soon"])
    assert bad.exit_code == 2 and "not a date" in bad.output
