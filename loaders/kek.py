"""Adapter for the KEK media ownership data set (German media companies and their shareholders).

KEK ids are not USCCs, and a USCC must never be invented. They map to the external id
``SRC:kek:<id>``, the documented escape for ids of a source data set without codes
(``identifiers.external.schemes.SRC`` in ``graph_model/domain.yaml``). The adapter only
rewrites the files into the data contract; validation stays with the loader, so the
result is loaded like any other folder::

    folder = convert_kek(Path("shared/data/kek-media-ownership"), Path("var/kek"))
    load_folder(store, folder, salt=settings.person_id_salt, rejects_dir=..., strict=True)

Only ids, names and holdings are converted. KEK addresses are free text in German
(often blank) and the contract's address normaliser removes spaces, so they are left out.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from loaders.read import FileProblem

SCHEME = "SRC:kek:"


def kek_id(source_id: str) -> str:
    """External enterprise id of a KEK company id."""
    return SCHEME + source_id.strip()


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[dict[str, str]]:
    if not path.is_file():
        raise FileProblem(f"{path}: no such file (expected the KEK export {path.name})")
    # Quoted CSV: KEK addresses span lines.
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise FileProblem(f"{path.name} line 1: missing column(s) {', '.join(missing)}")
        yield from reader


def convert_kek(src_folder: Path, out_folder: Path) -> Path:
    """Write the KEK export in ``src_folder`` as contract files in ``out_folder``.

    Args:
        src_folder: folder holding ``company.csv`` (id, name, ...) and ``shares.csv``
            (shareholder, owns, share; ``share`` a percentage, empty when unknown).
        out_folder: created if missing; receives ``enterprises.csv`` and ``shareholdings.csv``.

    Returns:
        ``out_folder``, ready for :func:`loaders.load.load_folder`.

    Raises:
        FileProblem: a KEK file is missing or lacks a column.
    """
    out_folder.mkdir(parents=True, exist_ok=True)
    with (out_folder / "enterprises.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name"])
        for row in _rows(src_folder / "company.csv", ("id", "name")):
            writer.writerow([kek_id(row["id"]), row["name"]])
    with (out_folder / "shareholdings.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["holder_type", "holder_id", "enterprise_id", "share_percent"])
        for row in _rows(src_folder / "shares.csv", ("shareholder", "owns", "share")):
            # Every KEK shareholder is itself a company of the database.
            writer.writerow(
                ["enterprise", kek_id(row["shareholder"]), kek_id(row["owns"]), row["share"]]
            )
    return out_folder
