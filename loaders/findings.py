"""What a load reports of each file: its rejects and warnings, line by line, and the rejected
rows that rows of other files name (their root causes), counted once under each cause.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loaders.read import Contents, SourceFile
from loaders.row_checks import as_flags
from loaders.validate import LOADED_WITHOUT_IT, Problems, Reject, duplicate_rows, echoed


class RootCauses:
    """Rejected rows that rows of other files may name, as the root causes of their rejects.

    Node files are validated first: their rejected rows are noted (by label, the rejected
    keys and the cause of each, a cause being a file and line); a relation or record row that
    names one is rejected as its dependent, counted under that cause instead of listed.
    """

    def __init__(self) -> None:
        self._causes: list[tuple[str, int]] = []
        self._rejected: dict[str, tuple[pa.Array, np.ndarray]] = {}
        self._named: dict[int, Counter[str]] = {}

    def names_rejected(
        self, label: str, keys: pa.Array, missing: np.ndarray, field_name: str, problems: Problems
    ) -> np.ndarray:
        """Rows among ``missing`` whose reference is a ``label`` row rejected in this load:
        rejected as its dependents (see :meth:`Problems.depend`)."""
        rejected = self._rejected.get(label)
        if rejected is None or not missing.any():
            return np.zeros(len(missing), dtype=bool)
        rejected_keys, causes = rejected
        at = pc.fill_null(pc.index_in(keys, value_set=rejected_keys), -1)
        at = np.asarray(at.to_numpy(zero_copy_only=False), dtype=np.int64)
        dependent = missing & (at >= 0)
        if dependent.any():
            problems.retract(dependent, field_name)
            problems.depend(dependent, np.where(dependent, causes[at], -1))
        return dependent

    def note_rejected(
        self,
        label: str,
        keys: pa.Array | pa.ChunkedArray,
        problems: Problems,
        lines: dict[int, int],
        source: SourceFile,
    ) -> None:
        """Remember the rejected rows of a node file, for the rows that name them: a listed
        row is its own cause; a row rejected only for naming another takes that one's."""
        if not problems.bad.any():
            return
        cause = np.full(len(problems.bad), -1, dtype=np.int64)
        for rows, causes in problems.dependents:
            cause[rows] = causes
        listed = np.zeros(len(problems.bad), dtype=bool)
        for rows, *_ in problems.items:
            listed[rows] = True
        own = np.flatnonzero(listed)
        cause[own] = len(self._causes) + np.arange(len(own))
        self._causes.extend((source.path.name, lines[int(r)]) for r in own)
        rows = pa.array(np.flatnonzero(problems.bad & (cause >= 0)))
        rejected = pc.take(keys, rows).combine_chunks()
        first = ~duplicate_rows(pc.fill_null(rejected, ""))[0] & as_flags(pc.is_valid(rejected))
        self._rejected[label] = (
            rejected.filter(pa.array(first)),
            cause[rows.to_numpy()][first],
        )

    def count_dependents(
        self, source: SourceFile, problems: Problems
    ) -> tuple[int, tuple[str, ...]]:
        """Count the rows of ``source`` that name each rejected row (once per row and cause);
        return how many were rejected for that alone, and the files of the rows they name."""
        if not problems.dependents:
            return 0, ()
        rows = np.concatenate([r for r, _ in problems.dependents])
        causes = np.concatenate([c for _, c in problems.dependents])
        pairs = np.unique(np.stack([causes, rows]), axis=1)
        name = source.path.name
        for cause, count in zip(*np.unique(pairs[0], return_counts=True), strict=True):
            self._named.setdefault(int(cause), Counter())[name] += int(count)
        listed = np.zeros(len(problems.bad), dtype=bool)
        for item_rows, *_ in problems.items:
            listed[item_rows] = True
        dependent = int((~listed[np.unique(rows)]).sum())
        return dependent, tuple(sorted({self._causes[c][0] for c in np.unique(causes)}))

    def name(self, cause: int) -> str:
        """Where the rejected row ``cause`` is: ``<file> line <n>``."""
        file, line = self._causes[cause]
        return f"{file} line {line}"

    def named(self) -> dict[tuple[str, int], Counter[str]]:
        """(file, line) of each rejected row that rows of other files name → how many rows
        of each file name it."""
        return {self._causes[c]: counts for c, counts in self._named.items()}


def findings(
    contents: Contents, problems: Problems, cause_name: Callable[[int], str]
) -> tuple[list[Reject], list[Reject], dict[int, int]]:
    """The rejects and the warnings of one file, by line, values fit to echo, and the line
    of each rejected row listed (0-based row → line).

    A rejected row is one line: its first problem, and the others after it in the reason
    (``; also field = 'value': reason``), its warnings too (it did not load). A row rejected
    only for naming a rejected row is not listed (its cause is, with a count); one listed for
    its own problems says what it names besides.
    """
    per_row: dict[int, list[tuple[str, str, str]]] = {}
    for rows_, fld, reason, values in problems.items:
        shown = values.to_pylist() if values is not None else [""] * len(rows_)
        for r, v in zip(rows_.tolist(), shown, strict=True):
            per_row.setdefault(r, []).append((fld, echoed("" if v is None else v), reason))
    warned = []
    for rows_, fld, reason, values in problems.warnings:
        loaded = ~problems.bad[rows_]
        if values is not None and not loaded.all():
            unloaded = values.filter(pa.array(~loaded)).to_pylist()
            for r, v in zip(rows_[~loaded].tolist(), unloaded, strict=True):
                if r in per_row:
                    why = reason.removesuffix(LOADED_WITHOUT_IT)
                    per_row[r].append((fld, echoed("" if v is None else v), why))
        if loaded.any():
            kept = values.filter(pa.array(loaded)) if values is not None else None
            warned.append((rows_[loaded], fld, reason, kept))
    rows = {r + 1 for r in per_row} | {int(r) + 1 for w in warned for r in w[0]}
    if not rows:
        return [], [], {}
    lines = contents.lines(rows)
    line_of = {r - 1: lines.get(r, r) for r in rows}
    names: dict[int, int] = {}
    for dep_rows, causes in problems.dependents:
        for r, c in zip(dep_rows.tolist(), causes.tolist(), strict=True):
            if r in per_row:
                names.setdefault(r, c)
    rejects = []
    for r, found in per_row.items():
        (fld, value, reason), *more = found
        also = "".join(
            f"; also {f} = '{v}': {why}" if v else f"; also {f} (empty): {why}"
            for f, v, why in more
        )
        if r in names:
            also += f"; also names {cause_name(names[r])}, which was rejected"
        rejects.append(Reject(contents.name, line_of[r], fld, value, reason + also))
    rejects.sort(key=lambda j: j.line)
    warnings = []
    for rows_, fld, reason, values in warned:
        shown = values.to_pylist() if values is not None else [""] * len(rows_)
        for r, v in zip(rows_.tolist(), shown, strict=True):
            warnings.append(
                Reject(contents.name, line_of[r], fld, echoed("" if v is None else v), reason)
            )
    warnings.sort(key=lambda j: (j.line, j.field))
    return rejects, warnings, {r: line_of[r] for r in per_row}


def with_dependents(reject: Reject, counts: Counter[str]) -> Reject:
    """``reject`` saying how many rows of which files name it (rejected with it)."""
    total = sum(counts.values())
    where = ", ".join(f"{file} {n:,}" for file, n in sorted(counts.items()))
    rows = "row that names" if total == 1 else "rows that name"
    return replace(
        reject, reason=f"{reject.reason}; and {total:,} {rows} it ({where}), rejected with it"
    )
