"""LadybugDB-specific behaviour of the embedded store (the contract suite covers the rest)."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from conftest import make_uscc

from graph_model.store.ladybug import COPY_ROWS, LadybugStore
from graph_model.store.protocol import WriteBatch


def test_bulk_insert_of_many_non_ascii_keys_completes(store: LadybugStore) -> None:
    # LadybugDB 0.22 hangs on one COPY of more than 131,072 non-ASCII keys: the store slices.
    n = 131_072 + COPY_ROWS // 2
    firm = make_uscc(1)
    store.ensure_schema()
    store.write(WriteBatch(nodes={"Enterprise": pa.table({"id": [firm], "name": ["宁波甲公司"]})}))
    records = pa.table(
        {
            "id": [f"commitment:甬市监诺〔2025〕{i}号" for i in range(n)],
            "kind": ["commitment"] * n,
            "record_no": [f"甬市监诺〔2025〕{i}号" for i in range(n)],
            "enterprise_id": [firm] * n,
            "start": pa.array([date(2025, 1, 1)] * n, pa.date32()),
            "kept": [True] * n,
        }
    )
    store.write(WriteBatch(records=records))
    assert store.counts().records["commitment"] == n
    assert len(store.get_entity(firm).records) == n


def test_only_rows_whose_values_differ_are_rewritten() -> None:
    from graph_model.store.ladybug import _changed

    incoming = pa.table(
        {
            "key": ["same", "new-value", "now-null", "was-null", "absent"],
            "share": [0.5, 0.7, None, 0.1, 0.2],
            "valid_to": pa.array([None, None, None, date(2024, 1, 1), None], pa.date32()),
        }
    )
    stored = pa.table(
        {
            "k": ["was-null", "now-null", "new-value", "same"],
            "share": [0.1, 0.3, 0.6, 0.5],
            "valid_to": pa.array([None, None, None, None], pa.date32()),
        }
    )
    changed = _changed(incoming, stored, ("share", "valid_to"))
    assert sorted(changed["key"].to_pylist()) == ["new-value", "now-null", "was-null"]
    assert _changed(incoming, stored, ()).num_rows == 0
