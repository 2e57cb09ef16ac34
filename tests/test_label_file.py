"""The user's own outcomes: a labels file read as hostile input, outcomes of the domain
(bankruptcy, revocation) from the store, and no leakage between features and labels."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SALT, make_resident_id, make_uscc

from graph_model.domain import load_domain
from graph_model.settings import Settings
from graph_model.snapshot import take_snapshot
from graph_model.store.ladybug import LadybugStore
from loaders.load import load_folder
from risk.features import compute_features
from risk.model import jobs
from risk.model.errors import ModelError
from risk.model.label_file import LabelFileError, read_label_file
from risk.model.labels import DEFAULT_EVENTS, LabelDefinition, LabelEvents

TODAY = date(2026, 1, 15)
AS = date(2023, 6, 30)  # window (2023-06-30, 2024-06-30]
HEADER = "enterprise_id,event_date,label\n"
E = [make_uscc(i) for i in range(10)]


def _write(tmp_path: Path, text: str | bytes, name: str = "labels.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _csv(rows: list[list[object]]) -> str:
    return "\n".join(",".join("" if v is None else str(v) for v in row) for row in rows) + "\n"


# -- the file as hostile input --------------------------------------------------------------


def test_a_good_file_reads_in_every_date_form_with_duplicates_counted_once(
    tmp_path: Path,
) -> None:
    text = HEADER + (
        f"{E[1]},2024-01-31,bank default\n"
        f"{E[1]},2024/1/31,bank default\n"  # the same event again
        f"{E[2]},20240215,破产\n"
        f" {E[3]} ,2024年3月5日,inspection finding\n"
        f"{E[4]},2024.4.1 00:00:00,bank default\n"
        f"{E[5]},２０２４年５月６日,bank default\n"
    )
    labels = read_label_file(_write(tmp_path, text), today=TODAY)
    rows = labels.table.to_pylist()
    assert [(r["enterprise_id"], r["event_date"], r["label"]) for r in rows] == [
        (E[1], date(2024, 1, 31), "bank default"),
        (E[2], date(2024, 2, 15), "破产"),
        (E[3], date(2024, 3, 5), "inspection finding"),
        (E[4], date(2024, 4, 1), "bank default"),
        (E[5], date(2024, 5, 6), "bank default"),
    ]
    assert [r["line"] for r in rows] == [2, 4, 5, 6, 7]
    assert (labels.rows, labels.duplicates) == (6, 1)
    assert labels.names == ("bank default", "inspection finding", "破产")
    assert (labels.earliest, labels.latest) == (date(2024, 1, 31), date(2024, 5, 6))
    assert labels.sha256 == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            HEADER + f"{E[1]},2024-02-30,default\n",
            ["line 2, event_date = '2024-02-30': not a date (2025-06-30, 2025/6/30"],
        ),
        (
            HEADER + f"{E[1]},2026-01-16,default\n",
            ["line 2, event_date = '2026-01-16': after today (2026-01-15)"],
        ),
        (
            HEADER + f"{E[1]},,default\n,2024-01-01,default\n{E[2]},2024-01-01,\n",
            ["line 2, event_date: empty", "line 3, enterprise_id: empty", "line 4, label: empty"],
        ),
        (
            HEADER + f'{E[1]},2024-01-01,=HYPERLINK("x")\n',
            ["line 2, label = '=HYPERLINK(\"x\")': letters, digits, spaces"],
        ),
        (
            HEADER + f"{E[1]},2024-01-01,{'x' * 65}\n",
            ["line 2, label = 'xxxx", "longer than 64 characters"],
        ),
        (
            # A resident ID number in the id column is masked in the message.
            HEADER + f"{make_resident_id(7)},2024-01-01,default\n",
            ["line 2, enterprise_id = '330203********", "not an enterprise id"],
        ),
        (
            # Lines counted through blank lines and a quoted value over two lines.
            HEADER + f'\n{E[1]},2024-01-01,"two\nlines"\n{E[2]},soon,default\n',
            [
                "line 3, label = 'two\\nlines': letters, digits",
                "line 5, event_date = 'soon': not a date",
            ],
        ),
        (
            HEADER + f"{E[1]},2024-01-01,default,extra\n",
            ["line 2: 4 field(s) where the header has 3"],
        ),
        ("enterprise,date,label\n", ["missing column(s) enterprise_id, event_date"]),
        (HEADER, ["no events"]),
    ],
)
def test_bad_values_refuse_the_file_naming_line_field_and_reason(
    tmp_path: Path, text: str, problems: list[str]
) -> None:
    with pytest.raises(LabelFileError) as caught:
        read_label_file(_write(tmp_path, text), today=TODAY)
    message = str(caught.value)
    for problem in problems:
        assert problem in message, message
    assert make_resident_id(7) not in message


def test_files_that_are_not_label_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LabelFileError, match="no such file"):
        read_label_file(tmp_path / "missing.csv")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(LabelFileError, match="not a regular file"):
        read_label_file(tmp_path / "folder.csv")
    with pytest.raises(LabelFileError, match=r"give a \.csv or a \.parquet file"):
        read_label_file(_write(tmp_path, HEADER, "labels.xlsx"))
    with pytest.raises(LabelFileError, match="not a readable Parquet file"):
        read_label_file(_write(tmp_path, b"PAR1 not really", "labels.parquet"))


def test_gb18030_text_and_parquet_files_are_read_too(tmp_path: Path) -> None:
    text = HEADER + f"{E[1]},2024年1月31日,银行违约\n"
    labels = read_label_file(_write(tmp_path, text.encode("gb18030")), today=TODAY)
    assert labels.encoding == "gb18030" and labels.names == ("银行违约",)
    table = pa.table(
        {
            "enterprise_id": [E[1], E[2], "nonsense"],
            "event_date": pa.array([date(2024, 1, 31), date(2024, 2, 1), None], pa.date32()),
            "label": ["default", "default", "default"],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    path = tmp_path / "labels.parquet"
    pq.write_table(table.slice(0, 2), path)
    labels = read_label_file(path, today=TODAY)
    assert labels.table.num_rows == 2 and labels.ignored_columns == ("amount",)
    assert [r["line"] for r in labels.table.to_pylist()] == [1, 2]
    pq.write_table(table, path)
    with pytest.raises(LabelFileError) as caught:
        read_label_file(path, today=TODAY)
    assert "labels.parquet row 3, enterprise_id = 'nonsense': not an enterprise id" in str(
        caught.value
    )
    assert "labels.parquet row 3, event_date: empty" in str(caught.value)
    pq.write_table(table.set_column(0, "enterprise_id", pa.array([1, 2, 3])), path)
    with pytest.raises(LabelFileError, match="column enterprise_id is int64, not text"):
        read_label_file(path, today=TODAY)


# -- events of a small store ----------------------------------------------------------------


@pytest.fixture(scope="module")
def outcome_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LadybugStore]:
    """Ten firms: status changes, status events and a black-listing around the window of AS."""
    folder = tmp_path_factory.mktemp("outcomes")
    files = {
        "enterprises.csv": _csv(
            [["id", "name", "established_on", "status", "deregistered_on"]]
            + [[x, f"firm {i}", "2015-01-01", "active", None] for i, x in enumerate(E)]
        ),
        "status_events.csv": _csv(
            [
                ["record_no", "enterprise_id", "start", "event"],
                ["S3", E[3], "2023-09-01", "bankruptcy"],
                ["S4", E[4], "2023-10-01", "revocation"],
                ["S5", E[5], "2023-11-01", "deregistration"],
                ["S6", E[6], "2023-06-30", "bankruptcy"],  # on the as-of day: not after it
            ]
        ),
        "black_list.csv": _csv(
            [["record_no", "enterprise_id", "start", "reason"], ["B8", E[8], "2023-08-01", "x"]]
        ),
    }
    rows = files["enterprises.csv"].splitlines()
    # 1 revoked in the window, 2 deregistered at an unknown date, 7 revoked after it.
    rows[2] = f"{E[1]},firm 1,2015-01-01,revoked,2024-03-01"
    rows[3] = f"{E[2]},firm 2,2015-01-01,deregistered,"
    rows[8] = f"{E[7]},firm 7,2015-01-01,revoked,2024-07-01"
    files["enterprises.csv"] = "\n".join(rows) + "\n"
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    with LadybugStore(folder / "db") as store:
        load_folder(store, folder, salt=SALT, rejects_dir=folder / "rejects", strict=True)
        yield store


def _bad(events: LabelEvents, as_of: date = AS) -> set[int]:
    return {i for i, flag in enumerate(events.labels(as_of, pa.array(E))) if flag}


def test_bankruptcy_and_revocation_are_outcomes_of_the_domain(
    outcome_store: LadybugStore,
) -> None:
    outcomes = load_domain().outcomes
    assert outcomes.default_events == DEFAULT_EVENTS
    for event in ("status_event:bankruptcy", "status_event:revocation", "status:revoked"):
        assert event in outcomes.choices
    observed = date(2025, 6, 30)

    def bad(*events: str) -> set[int]:
        definition = LabelDefinition(12, events)
        return _bad(LabelEvents.from_store(outcome_store, definition, AS, observed))

    assert bad("status_event:bankruptcy") == {3}  # 6's bankruptcy is on the as-of day
    assert bad("status_event:revocation", "status_event:bankruptcy") == {3, 4}
    assert bad("status_event") == {3, 4, 5}
    # The register's status counts from its date; 2 has none, 7 is revoked after the window.
    assert bad("status:revoked") == {1}
    assert bad("status:deregistered") == set()
    assert bad("black_list", "status:revoked") == {1, 8}
    events = LabelEvents.from_store(
        outcome_store, LabelDefinition(12, ("status:revoked", "black_list")), AS, observed
    )
    assert events.counts() == {"status:revoked": 2, "black_list": 1}  # 1 and 7 (after AS)
    assert events.source == {"kind": "store", "events": ["status:revoked", "black_list"]}


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (("status:active",), r"the enterprise status must be one of \('revoked'"),
        (("status_event:merger",), "status_event event must be one of"),
        (("bankruptcy",), "unknown label event 'bankruptcy'.*status_event:bankruptcy"),
        (("lawsuit",), "unknown label event 'lawsuit'"),
    ],
)
def test_events_outside_the_domain_outcomes_are_refused(
    events: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        LabelDefinition(12, events)


def test_file_events_are_those_of_known_firms_inside_the_observed_period(
    outcome_store: LadybugStore, tmp_path: Path
) -> None:
    unknown = make_uscc(99)
    text = HEADER + _csv(
        [
            [E[1], "2023-06-30", "default"],  # on the as-of day: not in its window
            [E[2], "2023-07-01", "default"],  # the next day: in it
            [E[3], "2024-06-30", "破产"],  # the window's last day: in it
            [E[4], "2024-07-01", "default"],  # the day after the window
            [E[5], "2025-03-01", "default"],  # after the data-through day: not used
            [unknown, "2023-08-01", "default"],  # not a firm of the store
            [unknown, "2023-09-01", "破产"],
            [E[6], "2020-01-01", "default"],  # before the first as-of date
        ]
    )
    labels = read_label_file(_write(tmp_path, text), today=TODAY)
    known = pa.array(E)
    events = labels.events(known, 12, first_as_of=AS, observed_through=date(2025, 1, 31))
    assert _bad(events) == {2, 3}
    assert events.counts() == {"default": 2, "破产": 1}
    source = events.source
    assert source["kind"] == "file" and source["sha256"] == labels.sha256
    assert (source["unknown_enterprises"], source["unknown_rows"]) == (1, 2)
    assert source["unknown_examples"] == [
        f"labels.csv line 7: '{unknown}'",
        f"labels.csv line 8: '{unknown}'",
    ]
    # 1 and 6 happened on or before the first as-of date: no window holds them.
    assert (source["after_data_through"], source["before_first_as_of"]) == (1, 2)
    # Later as-of dates are refused while their window is not observed.
    with pytest.raises(ModelError, match="label window ends"):
        events.labels(date(2024, 3, 31), known)


def test_the_data_through_day_comes_from_the_labels_when_the_store_has_no_records(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "city"
    folder.mkdir()
    (folder / "enterprises.csv").write_text(
        _csv([["id", "name"]] + [[x, f"firm {i}"] for i, x in enumerate(E)]), encoding="utf-8"
    )
    labels = read_label_file(_write(tmp_path, HEADER + f"{E[1]},2024-05-06,破产\n"), today=TODAY)
    settings = Settings(home=tmp_path / "home")
    with LadybugStore(folder / "db") as store:
        load_folder(store, folder, salt=SALT, rejects_dir=folder / "rejects", strict=True)
        with pytest.raises(ModelError, match="holds no records"):
            jobs.observed_through(store, settings)
        assert jobs.observed_through(store, settings, labels) == date(2024, 5, 6)
        later = settings.model_copy(update={"data_through": date(2024, 9, 30)})
        assert jobs.observed_through(store, later, labels) == date(2024, 9, 30)


# -- no leakage -----------------------------------------------------------------------------


def test_the_outcome_itself_never_reaches_the_features_of_earlier_dates(
    tmp_path: Path,
) -> None:
    """Two cities alike but for firm 7, revoked and black-listed in 2024 in the first only:
    on earlier dates every feature of every firm is the same in both, and only the labels
    differ."""
    before = date(2023, 12, 31)
    matrices, later = [], []
    for revoked in (True, False):
        folder = tmp_path / f"city-{revoked}"
        folder.mkdir()
        firms = [[x, f"firm {i}", "2015-01-01", "active", None] for i, x in enumerate(E)]
        records = [["record_no", "enterprise_id", "start", "event"]]
        black = [["record_no", "enterprise_id", "start", "reason"], ["B0", E[0], "2022-01-05", "x"]]
        if revoked:
            firms[7] = [E[7], "firm 7", "2015-01-01", "revoked", "2024-03-01"]
            records.append(["S7", E[7], "2024-03-01", "revocation"])
            black.append(["B7", E[7], "2024-02-01", "fraud"])
        person = make_resident_id(3)
        files = {
            "enterprises.csv": [
                ["id", "name", "established_on", "status", "deregistered_on"],
                *firms,
            ],
            "persons.csv": [["id_number", "name"], [person, "张三"]],
            "legal_reps.csv": [
                ["person_id_number", "enterprise_id", "valid_from"],
                [person, E[7], "2016-01-01"],
                [person, E[0], "2016-01-01"],
            ],
            "shareholdings.csv": [
                ["holder_type", "holder_id", "enterprise_id", "share", "valid_from"],
                ["enterprise", E[7], E[1], 0.6, "2017-01-01"],
            ],
            "status_events.csv": records,
            "black_list.csv": black,
        }
        for name, rows in files.items():
            (folder / name).write_text(_csv(rows), encoding="utf-8")
        with LadybugStore(folder / "db") as store:
            load_folder(store, folder, salt=SALT, rejects_dir=folder / "rejects", strict=True)
            matrices.append(compute_features(take_snapshot(store, before)))
            later.append(compute_features(take_snapshot(store, date(2024, 12, 31))))
            definition = LabelDefinition(12, ("status:revoked", "status_event:revocation"))
            events = LabelEvents.from_store(store, definition, before, date(2025, 6, 30))
            assert _bad(events, before) == ({7} if revoked else set())
    with_event, without = matrices
    assert with_event.names == without.names
    assert with_event.ids.equals(without.ids)
    np.testing.assert_array_equal(with_event.values, without.values)
    # The check can fail: once the events have happened, the features do tell them apart.
    assert not np.array_equal(later[0].values, later[1].values, equal_nan=True)
