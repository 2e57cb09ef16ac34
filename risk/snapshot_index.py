"""Lookups on one snapshot for serving: built once, then answered in micro- to milliseconds.

The API and the board must not run graph algorithms per request (ARCHITECTURE: heavy work is
never a side effect of a request). :class:`SnapshotIndex` computes, once per snapshot:

- the guarantee circles (担保圈, strongly connected components of the guarantee graph) with
  their size, guarantees, CNY amount (other currencies converted with the rate table given,
  those without a rate reported apart, per currency), members with bad records and defaults;
- the integrated (indirect) ownership of every holder in every enterprise
  (:func:`risk.features.ownership.integrated_stakes`), by holder and by enterprise;
- the enterprises sharing each address, phone and e-mail (suspected relations, 疑似关系);
- the undirected tie graph (legal representatives, officers, shareholdings, guarantees) for
  bounded walks: related firms with bad records around an enterprise. Persons with more
  than ``HUB_PERSON_CAP`` ties (agents) are reached but not walked through, as in the
  feature catalog;
- the path graph (:class:`risk.paths.PathGraph`): those ties, branches and suspected
  relations, for the paths between two entities, over the kinds asked for.

Costs at 1M enterprises (docs/benchmarks.md): built in ~15 s and ~2 GB; each lookup is a
binary search plus a bounded walk. Everything but the circles, the ids and the names is
:meth:`SnapshotIndex.arrays`, which a server saves beside the snapshot and maps on its next
start instead of computing it again (risk/served.py).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import scipy.sparse as sp

from graph_model.rates import RateTable
from graph_model.snapshot import Snapshot
from risk.features.context import FeatureContext
from risk.features.guarantees import circle_labels, guarantee_circles, guarantee_graph
from risk.features.ownership import BENEFICIAL_OWNER_SHARE, integrated_stakes
from risk.features.suspected import CONTACTS, RARE_GROUP, contact_groups
from risk.matching import NameMatcher
from risk.paths import PathGraph
from risk.supervision.walk import Adjacency, Step

TIE_TYPES = ("LEGAL_REP", "OFFICER", "HOLDS_SHARES", "GUARANTEES")
"""Relations that tie enterprises into related parties (关联方), as in the store's query."""


@dataclass(frozen=True)
class CircleSummary:
    """One guarantee circle: ``circle_id`` is its smallest member id (stable for a graph)."""

    number: int
    circle_id: str
    size: int
    guarantees: int
    amount: float
    """CNY total of the guarantees with a CNY value."""
    unconverted: dict[str, float]
    """Amounts without a rate to CNY, per currency, in that currency (not in ``amount``)."""
    bad_members: int
    defaulted: int

    @property
    def bad_share(self) -> float:
        """Share of members with a bad record (listed, serious penalty, broken commitment)."""
        return self.bad_members / self.size


@dataclass(frozen=True)
class CircleDetail:
    """A circle's members (enterprise rows) and guarantees: rows, amount as given and its
    currency, amount in CNY (NaN without a rate), defaulted."""

    summary: CircleSummary
    members: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    amount: np.ndarray
    defaulted: np.ndarray
    original: np.ndarray
    currency: np.ndarray


@dataclass(frozen=True)
class Stake:
    """A holder's stake in an enterprise: direct (None when it holds none directly) and
    integrated over every ownership path."""

    holder: int
    enterprise: int
    direct: float | None
    integrated: float


@dataclass(frozen=True)
class RelatedBad:
    """A related enterprise with a bad record, how far, through which ties, and whether it
    is black-listed."""

    node: int
    hops: int
    path: tuple[Step, ...]
    black_listed: bool


@dataclass(frozen=True)
class SharedContact:
    """An address, phone or e-mail an enterprise shares with others (a suspected relation):
    how many firms use it (itself included), the others with bad records and black-listed
    among them, and up to ``EXAMPLES`` others, bad ones first. A value used by more than
    ``RARE_GROUP`` firms (an agent's address) is ``weak`` evidence of a tie."""

    contact: str
    value: str
    firms: int
    bad: int
    black_listed: int
    examples: tuple[int, ...]

    @property
    def weak(self) -> bool:
        return self.firms > RARE_GROUP


SHARED_EXAMPLES = 5
"""Other firms named for a shared contact; the rest are counted."""


class SnapshotIndex:
    """Everything the API reads from one snapshot, computed once (see the module docstring)."""

    def __init__(
        self,
        snapshot: Snapshot,
        rates: RateTable | None = None,
        arrays: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """The index of ``snapshot``; ``arrays``: its :meth:`arrays` as saved beside the
        snapshot (risk/served.py), read instead of computed."""
        ctx = FeatureContext(snapshot, rates)
        self.as_of: date = snapshot.as_of
        self.n_enterprises = snapshot.n_enterprises
        self.ids = snapshot.node_ids.to_numpy(zero_copy_only=False)
        self.names = snapshot.node_names.to_numpy(zero_copy_only=False)
        if arrays is None:
            arrays = self._computed(ctx)
        self._arrays = arrays
        self._order = arrays["order"]
        self._sorted = self.ids[self._order]
        self.bad = arrays["bad"]
        self.black_listed = arrays["black_listed"]
        self._circles(ctx)
        shape = (snapshot.n_nodes, self.n_enterprises)
        self._direct, self._integrated, self._direct_by_firm, self._integrated_by_firm = (
            _matrix(arrays, name, shape) for name in _STAKES
        )
        self.ties = Adjacency.restored(
            TIE_TYPES, _part(arrays, "ties"), self.ids, self.n_enterprises
        )
        self.paths = PathGraph.restored(snapshot, _part(arrays, "paths"), self.ids)
        self._legal_reps(snapshot)
        self._contact_values = {c: snapshot.enterprises[c] for c in CONTACTS}
        self._contact_groups = {
            c: tuple(arrays[f"contacts.{c}.{part}"] for part in _GROUP_PARTS) for c in CONTACTS
        }
        self._former = snapshot.former_names

    def _computed(self, ctx: FeatureContext) -> dict[str, np.ndarray]:
        """What the index computes from the snapshot beyond its circles (named as in
        :meth:`arrays`): the id order, bad and black-listed firms, stakes, walks, contacts."""
        snapshot = ctx.snapshot
        rec = ctx.records
        black = rec.of("black_list") & rec.active
        black_listed = np.zeros(self.n_enterprises, dtype=bool)
        black_listed[rec.enterprise[black]] = True
        out = {
            "order": np.argsort(self.ids, kind="stable"),
            "bad": ctx.bad,
            "black_listed": black_listed,
        }
        stakes = integrated_stakes(ctx)
        for name, matrix in zip(
            _STAKES,
            (
                stakes.direct.tocsr(),
                stakes.integrated.tocsr(),
                stakes.direct.tocsc(),
                stakes.integrated.tocsc(),
            ),
            strict=True,
        ):
            out |= {f"{name}.{part}": getattr(matrix, part) for part in _SPARSE_PARTS}
        ties = Adjacency(snapshot, TIE_TYPES, ids=self.ids)
        out |= {f"ties.{name}": array for name, array in ties.arrays().items()}
        paths = PathGraph(snapshot, ties.hub, ids=self.ids)
        out |= {f"paths.{name}": array for name, array in paths.arrays().items()}
        for contact in CONTACTS:
            group, sizes = contact_groups(snapshot.enterprises[contact])
            order = np.argsort(group, kind="stable")
            starts = np.searchsorted(group[order], np.arange(len(sizes)))
            parts = (group, sizes, order, starts)
            out |= {f"contacts.{contact}.{p}": a for p, a in zip(_GROUP_PARTS, parts, strict=True)}
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything the index computed from the snapshot but its circles (cheap, and
        depending on the rate table), by name: what risk/served.py saves beside it."""
        return dict(self._arrays)

    @functools.cached_property
    def matcher(self) -> NameMatcher:
        """The registered names for name matching (risk/matching.py), made on the first
        match: normalising a name costs about 10 µs, too much for every server start."""
        firms = slice(0, self.n_enterprises)
        return NameMatcher(
            self.ids[firms].tolist(), self.names[firms].tolist(), self._former.to_pylist()
        )

    def address(self, row: int) -> str | None:
        """The registered address of an enterprise row (None when not given)."""
        value = self._contact_values["address"][row].as_py()
        return str(value) if value else None

    # -- ids ---------------------------------------------------------------------------
    def node(self, node_id: str) -> int | None:
        """Index of an enterprise or person id in the snapshot, None when absent."""
        at = int(np.searchsorted(self._sorted, node_id))
        if at < len(self._sorted) and self._sorted[at] == node_id:
            return int(self._order[at])
        return None

    def enterprise(self, enterprise_id: str) -> int | None:
        """Row of an enterprise id, None when the snapshot does not hold it."""
        found = self.node(enterprise_id)
        return found if found is not None and found < self.n_enterprises else None

    def is_person(self, node: int) -> bool:
        return node >= self.n_enterprises

    # -- guarantee circles ----------------------------------------------------------------
    def _circles(self, ctx: FeatureContext) -> None:
        graph = guarantee_graph(ctx)
        labels, sizes = circle_labels(graph)
        found = guarantee_circles(ctx)
        # Circles are numbered in guarantee_circles' order (largest amount first).
        number_of_label = np.full(len(sizes), -1, dtype=np.int64)
        for number, circle in enumerate(found):
            number_of_label[labels[circle.members[0]]] = number
        self._circle_of = number_of_label[labels]
        inside = (labels[graph.src] == labels[graph.dst]) & (sizes[labels[graph.src]] > 1)
        edge_circle = number_of_label[labels[graph.src[inside]]]
        order = np.argsort(edge_circle, kind="stable")
        edges = np.flatnonzero(inside)[order]
        src, dst = graph.src[edges], graph.dst[edges]
        amount, defaulted = graph.amount[edges], graph.defaulted[edges]
        original = graph.original[edges]
        currency = np.asarray(graph.currencies, dtype=object)[graph.currency[edges]]
        bounds = np.searchsorted(edge_circle[order], np.arange(len(found) + 1))
        self._circle_details: list[CircleDetail] = []
        self._circle_by_id: dict[str, int] = {}
        for number, circle in enumerate(found):
            members = np.sort(circle.members)
            lo, hi = bounds[number], bounds[number + 1]
            summary = CircleSummary(
                number=number,
                circle_id=str(min(self.ids[members])),
                size=len(members),
                guarantees=int(hi - lo),
                amount=float(circle.amount),
                unconverted=circle.unconverted,
                bad_members=int(self.bad[members].sum()),
                defaulted=int(defaulted[lo:hi].sum()),
            )
            self._circle_by_id[summary.circle_id] = number
            self._circle_details.append(
                CircleDetail(
                    summary,
                    members,
                    src[lo:hi],
                    dst[lo:hi],
                    amount[lo:hi],
                    defaulted[lo:hi],
                    original[lo:hi],
                    currency[lo:hi],
                )
            )

    @property
    def circles(self) -> list[CircleSummary]:
        """Every circle, largest total amount first."""
        return [c.summary for c in self._circle_details]

    def circle(self, circle_id: str) -> CircleDetail | None:
        """A circle by its id, None when there is none."""
        number = self._circle_by_id.get(circle_id)
        return None if number is None else self._circle_details[number]

    def circle_of(self, row: int) -> CircleDetail | None:
        """The circle an enterprise belongs to, None when it is in none."""
        number = int(self._circle_of[row])
        return None if number < 0 else self._circle_details[number]

    # -- ownership ------------------------------------------------------------------------
    def holders(self, row: int) -> list[Stake]:
        """Every holder (person or enterprise) of an enterprise with an integrated stake,
        largest first."""
        integrated = self._integrated_by_firm
        lo, hi = integrated.indptr[row], integrated.indptr[row + 1]
        direct = self._direct_by_firm
        dlo, dhi = direct.indptr[row], direct.indptr[row + 1]
        direct_of = dict(
            zip(direct.indices[dlo:dhi].tolist(), direct.data[dlo:dhi].tolist(), strict=True)
        )
        out = [
            Stake(int(h), row, direct_of.get(int(h)), float(v))
            for h, v in zip(integrated.indices[lo:hi], integrated.data[lo:hi], strict=True)
        ]
        return sorted(out, key=lambda s: (-s.integrated, self.ids[s.holder]))

    def holdings(self, node: int) -> list[Stake]:
        """Every enterprise a holder has an integrated stake in, largest first."""
        integrated = self._integrated
        lo, hi = integrated.indptr[node], integrated.indptr[node + 1]
        direct = self._direct
        dlo, dhi = direct.indptr[node], direct.indptr[node + 1]
        direct_of = dict(
            zip(direct.indices[dlo:dhi].tolist(), direct.data[dlo:dhi].tolist(), strict=True)
        )
        out = [
            Stake(node, int(e), direct_of.get(int(e)), float(v))
            for e, v in zip(integrated.indices[lo:hi], integrated.data[lo:hi], strict=True)
        ]
        return sorted(out, key=lambda s: (-s.integrated, self.ids[s.enterprise]))

    def direct_holders(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """The holders of a node with a known direct stake, and their stakes (unsorted; one
        CSR slice); none for a person."""
        direct = self._direct_by_firm
        if self.is_person(row):
            return direct.indices[:0], direct.data[:0]
        lo, hi = direct.indptr[row], direct.indptr[row + 1]
        return direct.indices[lo:hi], direct.data[lo:hi]

    def direct_holdings(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """The enterprises a holder has a known direct stake in, and the stakes (unsorted;
        one CSR slice)."""
        direct = self._direct
        lo, hi = direct.indptr[node], direct.indptr[node + 1]
        return direct.indices[lo:hi], direct.data[lo:hi]

    def integrated_in(self, row: int) -> dict[int, float]:
        """Every holder's integrated stake in an enterprise, by holder node."""
        integrated = self._integrated_by_firm
        lo, hi = integrated.indptr[row], integrated.indptr[row + 1]
        return dict(
            zip(integrated.indices[lo:hi].tolist(), integrated.data[lo:hi].tolist(), strict=True)
        )

    def integrated_of(self, node: int) -> dict[int, float]:
        """A holder's integrated stake in every enterprise it holds, by enterprise row."""
        integrated = self._integrated
        lo, hi = integrated.indptr[node], integrated.indptr[node + 1]
        return dict(
            zip(integrated.indices[lo:hi].tolist(), integrated.data[lo:hi].tolist(), strict=True)
        )

    def beneficial_owners(self, row: int) -> list[Stake]:
        """Persons holding at least 25 % of the enterprise, directly and indirectly (PBoC/SAMR
        Order 〔2024〕3号, equity test)."""
        return [
            s
            for s in self.holders(row)
            if self.is_person(s.holder) and s.integrated >= BENEFICIAL_OWNER_SHARE - 1e-12
        ]

    def _legal_reps(self, snapshot: Snapshot) -> None:
        rel = snapshot.relations["LEGAL_REP"]
        # Stored person → enterprise; grouped by enterprise for the senior-manager fallback.
        self._rep_matrix = sp.csr_matrix(
            (np.ones(rel.edge_count), (rel.indices, rel.sources)),
            shape=(self.n_enterprises, snapshot.n_nodes),
        )

    def legal_representatives(self, row: int) -> list[int]:
        """Persons who were legal representative of the enterprise on the snapshot date."""
        lo, hi = self._rep_matrix.indptr[row], self._rep_matrix.indptr[row + 1]
        return sorted(set(self._rep_matrix.indices[lo:hi].tolist()))

    def shared_contacts(self, row: int) -> list[SharedContact]:
        """The contacts the enterprise shares with other firms, rare ones first."""
        out = []
        for contact in CONTACTS:
            group, sizes, order, starts = self._contact_groups[contact]
            g = group[row]
            if g < 0 or sizes[g] < 2:
                continue
            members = order[starts[g] : starts[g] + sizes[g]]
            others = members[members != row]
            bad = others[self.bad[others]]
            rank = sorted(
                others.tolist(), key=lambda n: (not self.black_listed[n], not self.bad[n], n)
            )
            out.append(
                SharedContact(
                    contact,
                    str(self._contact_values[contact][row].as_py()),
                    int(sizes[g]),
                    len(bad),
                    int(self.black_listed[bad].sum()),
                    tuple(rank[:SHARED_EXAMPLES]),
                )
            )
        return sorted(out, key=lambda c: (c.weak, c.firms))

    # -- walks ----------------------------------------------------------------------------
    def related_bad(self, row: int, hops: int) -> list[RelatedBad]:
        """Enterprises within ``hops`` with a bad record, nearest first, with a shortest path."""
        ties = self.ties
        reached = ties.reach([row], hops)
        kept = np.flatnonzero((reached.hops > 0) & (reached.node < self.n_enterprises))
        kept = kept[self.bad[reached.node[kept]]]
        out = [
            RelatedBad(
                int(reached.node[r]),
                int(reached.hops[r]),
                ties.path(reached, r),
                bool(self.black_listed[reached.node[r]]),
            )
            for r in kept.tolist()
        ]
        return sorted(out, key=lambda r: (not r.black_listed, r.hops, self.ids[r.node]))


_STAKES = ("direct", "integrated", "direct_by_firm", "integrated_by_firm")
"""The stake matrices: holder × enterprise (CSR, by holder) and the same by firm (CSC)."""
_SPARSE_PARTS = ("data", "indices", "indptr")
_GROUP_PARTS = ("group", "sizes", "order", "starts")
"""Per contact: each firm's group (-1 without a value), the group sizes, and the firms
sorted by group with each group's start, to list a group's members."""


def _matrix(
    arrays: Mapping[str, np.ndarray], name: str, shape: tuple[int, int]
) -> sp.csr_matrix | sp.csc_matrix:
    """A stake matrix from its parts: by holder (CSR) or, ``…_by_firm``, by firm (CSC)."""
    kind = sp.csc_matrix if name.endswith("_by_firm") else sp.csr_matrix
    parts = tuple(arrays[f"{name}.{part}"] for part in _SPARSE_PARTS)
    return kind(parts, shape=shape, copy=False)


def _part(arrays: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays named ``prefix.…``, without the prefix."""
    return {
        name.removeprefix(f"{prefix}."): a
        for name, a in arrays.items()
        if name.startswith(f"{prefix}.")
    }


def finite(value: float | None) -> float | None:
    """A float fit for JSON: None for a missing or non-finite value."""
    return None if value is None or not math.isfinite(value) else float(value)
