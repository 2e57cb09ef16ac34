"""Broken input: every case is refused with a clear message or rejected row by row.

The static cases live in ``tests/data/bad/<case>/``; binary and wrongly encoded ones are
generated here. A good base (``tests/data/bad/_base``) is loaded first, so that a refused
load can be shown to leave a non-empty store exactly as it was.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SALT, graph_state

from graph_model.identifiers import mask_id_number
from graph_model.store.ladybug import LadybugStore
from graph_model.store.protocol import StoreCounts
from loaders.load import LoadRefused, LoadSummary, load_folder

CORPUS = Path(__file__).parent / "data" / "bad"
E1, E4 = "91330200MA0000001L", "91330200MA0000004X"
BAD_USCC = "91330200MA0000009E"
DANGLING = "91330200MA0000099N"
P2, BAD_ID = "330203198001010028", "330203198001010090"
HOLDING_KEY = "holder_type|holder_id|enterprise_id|valid_from"


@dataclass(frozen=True)
class Refused:
    """The whole load is refused; the message names ``file`` and holds every ``words``."""

    file: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Rejected:
    """Rows are rejected: (file, line, field, value, words of the reason); ``accepted`` are new."""

    rejects: tuple[tuple[str, int, str, str, str], ...]
    accepted: int


CASES: dict[str, Refused | Rejected] = {
    # -- refused: the file cannot be used at all --------------------------------------
    "missing_required_column": Refused(
        "shareholdings.csv", ("line 1", "missing required column", "enterprise_id")
    ),
    "share_and_share_percent": Refused("shareholdings.csv", ("either share or share_percent",)),
    "empty_file": Refused("enterprises.csv", ("the file is empty",)),
    "ragged_row": Refused("enterprises.csv", ("malformed CSV", "Expected 2 columns, got 3")),
    "duplicate_column": Refused("enterprises.csv", ("line 1", "column name appears twice")),
    "no_contract_files": Refused("no_contract_files", ("no contract files", "enterprises.csv")),
    "gbk_encoded": Refused("enterprises.csv", ("line 2", "not UTF-8", "iconv -f GBK")),
    "binary_with_nul": Refused("enterprises.csv", ("binary content",)),
    "binary_without_nul": Refused("enterprises.csv", ("line 1", "not UTF-8")),
    "corrupt_parquet": Refused("enterprises.parquet", ("not a readable Parquet file",)),
    "truncated_parquet": Refused("enterprises.parquet", ("not a readable Parquet file",)),
    "csv_and_parquet": Refused("enterprises.csv", ("enterprises.parquet", "keep one file")),
    # A readable first file does not get written when a later file is unreadable.
    "late_unreadable_file": Refused("shareholdings.parquet", ("not a readable Parquet file",)),
    # -- rejected rows --------------------------------------------------------------------
    "bad_uscc_check": Rejected(
        (("enterprises.csv", 3, "id", BAD_USCC, "not a valid USCC (check character)"),), 1
    ),
    "bad_id_check": Rejected(
        (
            (
                "persons.csv",
                3,
                "id_number",
                mask_id_number(BAD_ID),
                "not a valid ID number (check character)",
            ),
        ),
        1,
    ),
    "dangling_reference": Rejected(
        (
            ("shareholdings.csv", 3, "enterprise_id", DANGLING, "no such enterprise"),
            # Reject files outlive the load: ID numbers in them are masked.
            ("shareholdings.csv", 4, "holder_id", mask_id_number(P2), "no such person"),
        ),
        1,
    ),
    "negative_share": Rejected((("shareholdings.csv", 3, "share", "-0.1", "must be ≥ 0"),), 1),
    "share_above_one": Rejected((("shareholdings.csv", 3, "share", "1.5", "must be ≤ 1"),), 1),
    "share_percent_above_100": Rejected(
        (("shareholdings.csv", 3, "share_percent", "150", "must be ≤ 100"),), 1
    ),
    "swapped_validity": Rejected(
        (
            (
                "shareholdings.csv",
                3,
                "valid_to",
                "2020-01-01 < 2021-06-30",
                "valid_to is before valid_from",
            ),
        ),
        1,
    ),
    "swapped_record_dates": Rejected(
        (("penalties.csv", 3, "end", "2021-03-31 < 2021-04-01", "end is before start"),), 1
    ),
    "swapped_enterprise_dates": Rejected(
        (
            (
                "enterprises.csv",
                3,
                "deregistered_on",
                "2019-04-30 < 2019-05-01",
                "deregistered_on is before established_on",
            ),
        ),
        1,
    ),
    "duplicate_enterprise": Rejected(
        (("enterprises.csv", 4, "id", "same key as line 2", "duplicate key"),), 2
    ),
    "duplicate_holding": Rejected(
        (("shareholdings.csv", 3, HOLDING_KEY, "same key as line 2", "duplicate key"),), 2
    ),
    "header_only": Rejected((), 0),
    "unknown_enum": Rejected(
        (("enterprises.csv", 3, "status", "closed", "not one of active, suspended"),), 1
    ),
    "unknown_holder_type": Rejected(
        (("shareholdings.csv", 2, "holder_type", "company", "not one of person, enterprise"),), 0
    ),
    "non_numeric_amount": Rejected(
        (
            ("guarantees.csv", 3, "amount", "1,000,000", "not a number"),
            ("guarantees.csv", 4, "amount", "一百万", "not a number"),
            ("guarantees.csv", 5, "amount", "1e400", "not a number"),
        ),
        1,
    ),
    "impossible_date": Rejected(
        (("enterprises.csv", 3, "established_on", "2021-02-30", "not a date"),), 1
    ),
    "missing_required_value": Rejected(
        (("enterprises.csv", 3, "name", "", "required value is empty"),), 1
    ),
    # Parquet has no lines: the reject names the 1-based row.
    "parquet_bad_value": Rejected(
        (("enterprises.parquet", 2, "id", BAD_USCC, "not a valid USCC (check character)"),), 1
    ),
}


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


_FIRMS = pa.table({"id": [E4, BAD_USCC], "name": ["宁波丁物流有限公司", "校验位错误公司"]})

GENERATED: dict[str, dict[str, bytes]] = {
    "gbk_encoded": {"enterprises.csv": f"id,name\n{E4},宁波丁物流有限公司\n".encode("gbk")},
    "binary_with_nul": {
        "enterprises.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    },
    "binary_without_nul": {"enterprises.csv": bytes(range(128, 256)) * 4},
    "corrupt_parquet": {"enterprises.parquet": b"PAR1" + b"not parquet at all" * 8 + b"PAR1"},
    "truncated_parquet": {"enterprises.parquet": _parquet_bytes(_FIRMS)[:300]},
    "csv_and_parquet": {
        "enterprises.csv": f"id,name\n{E4},宁波丁物流有限公司\n".encode(),
        "enterprises.parquet": _parquet_bytes(_FIRMS.slice(0, 1)),
    },
    "late_unreadable_file": {
        "enterprises.csv": f"id,name\n{E4},宁波丁物流有限公司\n".encode(),
        "shareholdings.parquet": b"PAR1" + bytes(64),
    },
    "parquet_bad_value": {"enterprises.parquet": _parquet_bytes(_FIRMS)},
}


def case_folder(case: str, tmp_path: Path) -> Path:
    if case not in GENERATED:
        return CORPUS / case
    folder = tmp_path / case
    folder.mkdir()
    for name, data in GENERATED[case].items():
        (folder / name).write_bytes(data)
    return folder


def load(store: LadybugStore, folder: Path, tmp_path: Path, strict: bool) -> LoadSummary:
    return load_folder(store, folder, salt=SALT, rejects_dir=tmp_path / "rejects", strict=strict)


def total(counts: StoreCounts) -> int:
    return sum((*counts.nodes.values(), *counts.relations.values(), *counts.records.values()))


@pytest.fixture
def base(store: LadybugStore, tmp_path: Path) -> LadybugStore:
    """The store with the good base loaded."""
    summary = load(store, CORPUS / "_base", tmp_path, strict=True)
    assert summary.accepted == 6
    return store


def _named(kind: type) -> list[str]:
    return sorted(name for name, case in CASES.items() if isinstance(case, kind))


def _with_rejects() -> list[str]:
    return sorted(n for n, c in CASES.items() if isinstance(c, Rejected) and c.rejects)


def test_every_corpus_folder_has_an_expectation() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir() and p.name != "_base"}
    assert folders - set(CASES) == set()
    assert set(CASES) - folders == set(GENERATED)


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("case", _named(Refused))
def test_refused_loads_explain_and_change_nothing(
    base: LadybugStore, tmp_path: Path, case: str, strict: bool
) -> None:
    expected = CASES[case]
    assert isinstance(expected, Refused)
    before = graph_state(base)
    with pytest.raises(LoadRefused) as refused:
        load(base, case_folder(case, tmp_path), tmp_path, strict)
    message = str(refused.value)
    assert expected.file in message
    for words in expected.words:
        assert words in message
    for internal in ("Traceback", 'File "', ".py", ".pxi", "Error:"):
        assert internal not in message
    assert graph_state(base) == before


@pytest.mark.parametrize("case", _named(Rejected))
def test_rejected_rows_are_reported_and_good_rows_written(
    base: LadybugStore, tmp_path: Path, case: str
) -> None:
    expected = CASES[case]
    assert isinstance(expected, Rejected)
    before = total(base.counts())
    summary = load(base, case_folder(case, tmp_path), tmp_path, strict=False)
    got = [(r.file, r.line, r.field, r.value, r.reason) for r in summary.rejects]
    assert [g[:4] for g in got] == [e[:4] for e in expected.rejects]
    for (*_, reason), (*_, words) in zip(got, expected.rejects, strict=True):
        assert words in reason
    assert summary.accepted == expected.accepted
    assert total(base.counts()) - before == expected.accepted
    assert (summary.rejects_file is not None) == bool(expected.rejects)


@pytest.mark.parametrize("case", _with_rejects())
def test_rejected_rows_refuse_a_strict_load(base: LadybugStore, tmp_path: Path, case: str) -> None:
    expected = CASES[case]
    assert isinstance(expected, Rejected)
    before = graph_state(base)
    with pytest.raises(LoadRefused) as refused:
        load(base, case_folder(case, tmp_path), tmp_path, strict=True)
    assert "nothing written" in str(refused.value)
    assert refused.value.summary is not None
    got = [(r.file, r.line, r.field, r.value) for r in refused.value.summary.rejects]
    assert got == [e[:4] for e in expected.rejects]
    assert graph_state(base) == before


def test_rejected_rows_do_not_reach_the_store(base: LadybugStore, tmp_path: Path) -> None:
    load(base, case_folder("unknown_enum", tmp_path), tmp_path, strict=False)
    assert base.get_entity(E4) is not None
    assert base.get_entity("91330200MA00000051") is None  # the row with status "closed"
    e1 = base.get_entity(E1)
    assert e1 is not None and e1.properties["phone"] == "057487654321"
