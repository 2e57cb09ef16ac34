"""What every feature family reads: the snapshot as NumPy arrays, computed once.

``FeatureContext`` wraps a :class:`~graph_model.snapshot.Snapshot` and derives,
lazily and once, the arrays the families share: which enterprises are listed or
carry bad records, the edges of each relation type, person–enterprise links and
the related-enterprise graph. Everything here is read from the snapshot, so
only what was known on the as-of date can reach a feature; amounts in other currencies
are converted to CNY with the rate table it is given (graph_model/rates.py), unknown
(NaN) where it has no rate.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from graph_model.domain import load_domain
from graph_model.identifiers import NAME_ONLY
from graph_model.rates import RateTable
from graph_model.snapshot import Edges, Snapshot

LISTING_KINDS = load_domain().listing_kinds
"""Record kinds that put an enterprise on a public list (``adverse: list`` in domain.yaml)."""

ADVERSE_FINDINGS = ("problem_found", "not_found_at_address", "refused")
"""Inspection findings that count against the enterprise (every finding but ``no_problem``)."""

HUB_PERSON_CAP = 50
"""Persons tied to more firms than this (agents, nominees) do not relate those firms to each
other in the related-enterprise graph: 500 firms of one registration agent are not 250,000
relations. Their own features (firms led) still count every firm."""

MAX_CHAIN = 100
"""Chains between strongly connected components are followed up to this many links."""

_EPOCH = date(1970, 1, 1)


def adverse_records(records: pa.Table) -> np.ndarray:
    """Mask of the records that count against their enterprise while in force, as the
    ``adverse`` of their kind in domain.yaml says (in force or not: combine with the end)."""
    kind = np.asarray(records["kind"].to_numpy(zero_copy_only=False), dtype=object)
    out = np.zeros(len(kind), dtype=bool)
    for spec in load_domain().adverse_kinds:
        rule = spec.adverse
        if rule is None:
            continue
        of_kind = kind == spec.kind
        field = rule.field
        if rule.listing or field is None:
            out |= of_kind
        elif field in records.column_names and not pa.types.is_null(records[field].type):
            wanted = pa.array(list(rule.values)).cast(records[field].type)
            out |= of_kind & flags(pc.is_in(records[field], value_set=wanted))
    return out


def persons_tying_firms(persons: pa.Table) -> np.ndarray:
    """Per person of a snapshot: may they tie one firm to another? Not a person known by name
    only (``identity`` ``name``): a shared name is no evidence of a shared person (同名同姓), so
    the loader scopes such a person to one enterprise, and features, walks and evidence never
    go through them even where a graph links them to more. Persons of a snapshot without
    ``identity`` (taken before it existed) were all keyed by an ID number."""
    if "identity" not in persons.column_names:
        return np.ones(persons.num_rows, dtype=bool)
    return ~flags(pc.equal(persons["identity"], NAME_ONLY))


def days(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A date column as float days since 1970-01-01, NaN for null."""
    as_int = pc.cast(column, pa.int32())
    return np.asarray(as_int.to_numpy(zero_copy_only=False), dtype=np.float64)


def numbers(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric column as float64, NaN for null."""
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False))


def flags(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean column as a NumPy bool array, null read as False."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def count_by(index: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``weights`` (or 1) per value of ``index`` in ``0..n-1``."""
    return np.bincount(index, weights=weights, minlength=n).astype(np.float64)


def max_by(index: np.ndarray, values: np.ndarray, n: int, empty: float = np.nan) -> np.ndarray:
    """Largest value per index in ``0..n-1``; ``empty`` where an index has none."""
    out = np.full(n, -np.inf)
    np.maximum.at(out, index, values)
    out[np.isneginf(out)] = empty
    return out


def unique_pairs(a: np.ndarray, b: np.ndarray, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs, sorted by a then b."""
    keys = np.unique(a.astype(np.int64) * n_b + b.astype(np.int64))
    return keys // n_b, keys % n_b


def strong_components(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Strongly connected component label of each of ``n`` nodes of a directed graph."""
    graph = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    return np.asarray(connected_components(graph, directed=True, connection="strong")[1])


def condensed_chains(
    src: np.ndarray, dst: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Longest chain ending at and starting from each node, in links between strongly
    connected components (``labels``; a component counts as one node, so the condensation
    is acyclic and the answer exact up to ``MAX_CHAIN`` links)."""
    n_comp = int(labels.max()) + 1 if len(labels) else 0
    between = labels[src] != labels[dst]
    comp_src, comp_dst = unique_pairs(labels[src][between], labels[dst][between], n_comp)

    def longest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        length = np.zeros(n_comp)
        for _ in range(MAX_CHAIN):
            longer = length.copy()
            np.maximum.at(longer, b, length[a] + 1)
            if np.array_equal(longer, length):
                break
            length = longer
        return length

    return longest(comp_src, comp_dst)[labels], longest(comp_dst, comp_src)[labels]


@dataclass(frozen=True)
class Records:
    """The snapshot's records as aligned NumPy arrays."""

    enterprise: np.ndarray
    kind: np.ndarray
    start: np.ndarray
    active: np.ndarray
    table: pa.Table

    def of(self, kind: str) -> np.ndarray:
        """Mask of the records of one kind."""
        return np.asarray(self.kind == kind)


class FeatureContext:
    """Shared, lazily computed arrays over one snapshot (never modified once computed)."""

    def __init__(self, snapshot: Snapshot, rates: RateTable | None = None) -> None:
        self.snapshot = snapshot
        # The data home's rate table; without one, amounts in other currencies are unknown.
        self.rates = rates if rates is not None else RateTable()
        self.as_of = snapshot.as_of
        self.as_of_days = float((snapshot.as_of - _EPOCH).days)
        self.n_enterprises = snapshot.n_enterprises
        self.n_nodes = snapshot.n_nodes

    def edges(self, rel_type: str) -> Edges:
        """Edges of one relation type in node indices (persons are ``>= n_enterprises``)."""
        rel = self.snapshot.relations[rel_type]
        return Edges(rel.sources, rel.indices, rel.properties)

    @functools.cached_property
    def records(self) -> Records:
        table = self.snapshot.records
        # Dates after the as-of date are blanked in a snapshot: an end that is still empty
        # had not happened on that day, so the record was in force.
        return Records(
            enterprise=table["enterprise"].to_numpy().astype(np.int64),
            kind=np.asarray(table["kind"].to_numpy(zero_copy_only=False), dtype=object),
            start=days(table["start"]),
            active=np.asarray(pc.is_null(table["end"]).to_numpy(zero_copy_only=False)),
            table=table,
        )

    @functools.cached_property
    def capital(self) -> np.ndarray:
        """Registered capital per enterprise (NaN when not registered)."""
        return numbers(self.snapshot.enterprises["registered_capital"])

    @functools.cached_property
    def listed(self) -> np.ndarray:
        """Enterprises with an active record of a list kind (:data:`LISTING_KINDS`)."""
        rec = self.records
        mask = rec.active & np.isin(rec.kind, LISTING_KINDS)
        return count_by(rec.enterprise[mask], self.n_enterprises) > 0

    @functools.cached_property
    def bad(self) -> np.ndarray:
        """Enterprises with a bad record in force: a listing, or a record of another kind that
        the domain's ``adverse`` counts against it (a general or severe penalty, a broken
        commitment, an enforcement, a bankruptcy or revocation)."""
        rec = self.records
        mask = rec.active & adverse_records(rec.table)
        return count_by(rec.enterprise[mask], self.n_enterprises) > 0

    @functools.cached_property
    def latest_listing_day(self) -> np.ndarray:
        """Start (days since 1970) of the latest listing of each enterprise; 0 when never."""
        rec = self.records
        mask = np.isin(rec.kind, LISTING_KINDS)
        return max_by(rec.enterprise[mask], rec.start[mask], self.n_enterprises, empty=0.0)

    @functools.cached_property
    def ties_firms(self) -> np.ndarray:
        """Per person (numbered from 0): may they tie firms together (see
        :func:`persons_tying_firms`; persons known by name only may not)."""
        return persons_tying_firms(self.snapshot.persons)

    @functools.cached_property
    def person_links(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (person, enterprise) pairs of legal reps, officers and person shareholders.

        Persons are numbered from 0 here (node index minus the number of enterprises).
        """
        e = self.n_enterprises
        parts = [self.edges(t) for t in ("LEGAL_REP", "OFFICER", "HOLDS_SHARES")]
        src = np.concatenate([p.src for p in parts])
        dst = np.concatenate([p.dst for p in parts])
        is_person = src >= e
        return unique_pairs(src[is_person] - e, dst[is_person], e)

    @functools.cached_property
    def related(self) -> sp.csr_matrix:
        """Related-enterprise graph: symmetric, unweighted, no self loops.

        Two enterprises are related when a person (not a hub, see ``HUB_PERSON_CAP``, and
        not one known by name only) is tied to both, one holds shares in the other, or one
        guarantees the other.
        """
        e = self.n_enterprises
        persons, firms = self.person_links
        n_persons = self.n_nodes - e
        per_person = np.bincount(persons, minlength=n_persons)
        keep = (per_person[persons] <= HUB_PERSON_CAP) & self.ties_firms[persons]
        incidence = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (persons[keep], firms[keep])),
            shape=(n_persons, e),
        )
        via_people = (incidence.T @ incidence).tocsr()
        direct = []
        for rel_type in ("HOLDS_SHARES", "GUARANTEES"):
            ed = self.edges(rel_type)
            both = (ed.src < e) & (ed.dst < e)
            direct.append(
                sp.csr_matrix(
                    (np.ones(int(both.sum()), dtype=np.float32), (ed.src[both], ed.dst[both])),
                    shape=(e, e),
                )
            )
        graph = via_people + direct[0] + direct[0].T + direct[1] + direct[1].T
        graph.setdiag(0)
        graph.eliminate_zeros()
        graph.data[:] = 1.0
        return graph.tocsr()

    @functools.cached_property
    def combined(self) -> sp.csr_matrix:
        """All relations between all nodes (enterprises and persons), symmetric and unweighted;
        persons known by name only keep no relation (they tie no firm to another)."""
        n = self.n_nodes
        src = np.concatenate([self.edges(t).src for t in self.snapshot.relations])
        dst = np.concatenate([self.edges(t).dst for t in self.snapshot.relations])
        weak = np.flatnonzero(~self.ties_firms) + self.n_enterprises
        if len(weak):
            keep = ~(np.isin(src, weak) | np.isin(dst, weak))
            src, dst = src[keep], dst[keep]
        graph = sp.csr_matrix((np.ones(len(src), dtype=np.float32), (src, dst)), shape=(n, n))
        graph = graph + graph.T
        graph.setdiag(0)
        graph.eliminate_zeros()
        graph.data[:] = 1.0
        return graph.tocsr()
