"""What evidence is made of: a piece of evidence and its language-free steps, relations as
arrays grouped by source and target (to walk them without a search per firm), and the words
and numbers of its steps (stakes, amounts, bad records, cycles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Step = list[Any]
"""One token of a piece of evidence, in no language: ``["firm", id, name, notes]`` (notes:
``[kind, detail, since]`` of its bad records), ``["person", id, name]``, or a tie or phrase
(``["roles", [codes]]``, ``["holds", "out"|"in", share]``, ``["guarantees", "out"|"in",
amount, currency, defaulted_on]``, ``["related"]``, ``["chain", stake]``,
``["listed_itself"]``, ``["cross_holding"]``, ``["guarantee_cycle"]``, ``["mutual"]``,
``["same", contact, value, [nodes], more]``). :func:`risk.wording.evidence_text` puts them
in words, in Chinese or English."""


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: a readable line (English), the ids of the nodes it names, in
    order, and the same line as language-free steps (empty in reasons stored before them)."""

    text: str
    nodes: tuple[str, ...]
    steps: tuple[Step, ...] = ()

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"text": self.text, "nodes": list(self.nodes)}
        if self.steps:
            out["steps"] = [list(s) for s in self.steps]
        return out


@dataclass(frozen=True)
class Grouped:
    """Rows of aligned arrays grouped by a key in ``0..n-1`` (a CSR over row numbers)."""

    order: np.ndarray
    indptr: np.ndarray

    @classmethod
    def by(cls, keys: np.ndarray, n: int) -> Grouped:
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=n), out=indptr[1:])
        return cls(np.argsort(keys, kind="stable"), indptr)

    def of(self, key: int) -> np.ndarray:
        return self.order[self.indptr[key] : self.indptr[key + 1]]


@dataclass(frozen=True)
class Links:
    """Relations as aligned arrays (node indices, and a value per edge: a role, a stake or
    an edge number), grouped by source and by target."""

    src: np.ndarray
    dst: np.ndarray
    value: np.ndarray
    by_src: Grouped
    by_dst: Grouped

    @classmethod
    def of(cls, src: np.ndarray, dst: np.ndarray, value: np.ndarray, n: int) -> Links:
        return cls(src, dst, value, Grouped.by(src, n), Grouped.by(dst, n))


def percent(share: float) -> str:
    return "share unknown" if np.isnan(share) else f"{share:.0%}"


def money_text(amount: float, currency: str) -> str:
    return f"¥{amount:,.0f}" if currency == "CNY" else f"{amount:,.0f} {currency}"


def share_or_none(value: float) -> float | None:
    """A stake or an amount for a step: None when unknown (JSON has no NaN)."""
    return None if np.isnan(value) else float(value)


def note_text(note: tuple[str, str, str]) -> str:
    """A bad record of a firm in the English of the stored text: 'black list since …'."""
    kind, detail, since = note
    if kind == "abnormal_list":
        what = f"abnormal list ({detail})"
    elif kind == "penalty":
        what = f"{detail} penalty"
    elif kind == "commitment":
        what = "broken credit commitment"
    else:
        what = kind.replace("_", " ")
    return f"{what} since {since}"


def cycle_steps(label: str, tie: Step, nodes: list[Step]) -> list[Step]:
    """``[label], n1, tie, n2, tie, …, nk, tie``: a cycle told from its first node, the
    caller closing it with the first node again."""
    out: list[Step] = [[label]]
    for node in nodes:
        out += [node, tie]
    return out
