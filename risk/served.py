"""The served form of a saved snapshot: memory-mapped files beside it, written once.

The API and the board serve one snapshot and its index (:class:`~risk.snapshot_index.
SnapshotIndex`). Decoding the snapshot's Parquet and computing the index takes ~16 s and
3.4 GB at 1M enterprises, on every start. So the first server to open a snapshot writes, in
``served/`` inside the snapshot's folder:

- the snapshot's tables as uncompressed Arrow IPC files, each relation's CSR as ``.npy``;
- the arrays the index computes (:meth:`SnapshotIndex.arrays`) as ``.npy``;
- tables derived from the snapshot and other files, such as the extension list ranked by
  the stored grades (:func:`served_table`), each under the key of what it was made from;
- ``key``, written last: what the copy was made from.

Later starts map these files (``pa.memory_map``, ``np.load(mmap_mode="r")``) instead of
decoding and computing: pages are read when first touched and shared between processes
through the page cache. The Parquet snapshot stays the record; the copy is about three
times its size and can be deleted at any time.

The key hashes the name, size and modification time of every file of the snapshot and the
source of the code that computes what is saved: a snapshot taken again, or another version
of that code, makes a new copy. A data home that cannot be written is served from memory,
as before, with a warning in the log.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa

import graph_model.snapshot
import risk.features.context
import risk.features.ownership
import risk.features.suspected
import risk.paths
import risk.snapshot_index
import risk.supervision.extension
import risk.supervision.walk
from graph_model.rates import RateTable
from graph_model.snapshot import MANIFEST, RelationArrays, Snapshot
from risk.snapshot_index import SnapshotIndex

log = logging.getLogger("creditgraph.served")

SERVED = "served"
KEY = "key"
_INDEX = "index"
_TABLES = ("enterprises", "persons", "records")

_CODE: tuple[ModuleType, ...] = (
    graph_model.snapshot,
    risk.features.context,
    risk.features.ownership,
    risk.features.suspected,
    risk.paths,
    risk.snapshot_index,
    risk.supervision.extension,
    risk.supervision.walk,
)
"""The modules whose code decides what is saved: their source is part of the key."""


def _digest(parts: Iterable[object]) -> str:
    return hashlib.sha256(json.dumps(list(parts), default=str).encode()).hexdigest()


def file_stamp(path: Path) -> tuple[str, int, int]:
    """What a file's key is made of: its name, size and modification time."""
    stat = path.stat()
    return (path.name, stat.st_size, stat.st_mtime_ns)


def served_key(folder: Path) -> str:
    """The key of the served copy of the snapshot saved in ``folder`` (module docstring)."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    code = [hashlib.sha256(Path(inspect.getfile(m)).read_bytes()).hexdigest() for m in _CODE]
    own = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return _digest([*map(file_stamp, files), *code, own])


def open_served(folder: Path, rates: RateTable | None) -> tuple[Snapshot, SnapshotIndex]:
    """The snapshot saved in ``folder`` and its index, from its served copy (written first
    when there is none for this snapshot and code, see the module docstring)."""
    key = served_key(folder)
    served = folder / SERVED
    if _key_of(served) != key:
        snapshot = Snapshot.load(folder)
        index = SnapshotIndex(snapshot, rates)
        try:
            _write(folder, snapshot, index, key)
        except OSError as exc:
            log.warning(
                "the served copy of %s could not be written, serving from memory: %s", folder, exc
            )
            return snapshot, index
        del snapshot, index
    snapshot, arrays = _read(served)
    return snapshot, SnapshotIndex(snapshot, rates, arrays)


def served_table(
    folder: Path, name: str, made_of: Iterable[object], build: Callable[[], pa.Table]
) -> pa.Table:
    """Table ``name`` of the served copy of the snapshot in ``folder``, as made by ``build``
    from what ``made_of`` names (besides the snapshot): read when saved for the same,
    else built and saved in place of the one made of something else."""
    served = folder / SERVED
    if not (served / KEY).is_file():
        return build()
    path = served / f"{name}-{_digest([_key_of(served), *made_of])[:32]}.arrow"
    if path.is_file():
        return _read_table(path)
    table = build()
    try:
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        _write_table(partial, table)
        os.replace(partial, path)
        for other in served.glob(f"{name}-*.arrow"):
            if other != path:
                other.unlink()
    except OSError as exc:
        log.warning("the served table %s could not be written: %s", path, exc)
    return table


def _key_of(served: Path) -> str | None:
    try:
        return (served / KEY).read_text(encoding="utf-8")
    except OSError:
        return None


def _write(folder: Path, snapshot: Snapshot, index: SnapshotIndex, key: str) -> None:
    """Write the served copy beside the snapshot: in a folder of its own, then renamed in
    place of an older copy, so that a reader never sees half a copy."""
    partial = folder / f"{SERVED}.{os.getpid()}.tmp"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        (partial / _INDEX).mkdir(parents=True)
        for name in _TABLES:
            _write_table(partial / f"{name}.arrow", getattr(snapshot, name))
        for rel_type, rel in snapshot.relations.items():
            _write_table(partial / f"rel_{rel_type}.arrow", rel.properties)
            np.save(partial / f"rel_{rel_type}.indptr.npy", rel.indptr)
            np.save(partial / f"rel_{rel_type}.indices.npy", rel.indices)
        for name, array in index.arrays().items():
            np.save(partial / _INDEX / f"{name}.npy", np.asarray(array))
        manifest = {"as_of": snapshot.as_of.isoformat(), "relations": sorted(snapshot.relations)}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        (partial / KEY).write_text(key, encoding="utf-8")
        served = folder / SERVED
        older = folder / f"{SERVED}.{os.getpid()}.old"
        if served.exists():
            served.rename(older)
        partial.rename(served)
        shutil.rmtree(older, ignore_errors=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _read(served: Path) -> tuple[Snapshot, dict[str, np.ndarray]]:
    manifest = json.loads((served / MANIFEST).read_text(encoding="utf-8"))
    relations = {
        rel_type: RelationArrays(
            _mapped(served / f"rel_{rel_type}.indptr.npy"),
            _mapped(served / f"rel_{rel_type}.indices.npy"),
            _read_table(served / f"rel_{rel_type}.arrow"),
        )
        for rel_type in manifest["relations"]
    }
    snapshot = Snapshot(
        as_of=date.fromisoformat(manifest["as_of"]),
        enterprises=_read_table(served / "enterprises.arrow"),
        persons=_read_table(served / "persons.arrow"),
        relations=relations,
        records=_read_table(served / "records.arrow"),
    )
    arrays = {p.stem: _mapped(p) for p in (served / _INDEX).glob("*.npy")}
    return snapshot, arrays


def _mapped(path: Path) -> np.ndarray:
    """A saved array, mapped read-only (a plain ndarray view of the map)."""
    return np.asarray(np.load(path, mmap_mode="r"))


def _write_table(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_table(path: Path) -> pa.Table:
    return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
