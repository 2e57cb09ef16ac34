"""Warnings (风险预警) raised between two as-of dates, with the graph path that explains each.

:func:`compute_warnings` compares a previous and a current snapshot (and, when given, the
gradings of both dates) and returns one row per warning:

- ``grade_worsened``: the enterprise's grade is worse than on the previous date (grades are
  letters, ``A`` best);
- ``related_bad_record``: an enterprise within ``hops`` of it on the related-enterprise graph
  (:attr:`FeatureContext.related`) got a bad record: one that makes a firm *bad* in the
  feature catalog (a listing, a general or severe penalty, a broken commitment), in force on
  the current date and not on the previous one;
- ``circle_member_default``: a guaranteed loan of a member of its guarantee circle (担保圈, a
  strongly connected component of the guarantee graph) defaulted since the previous date;
- ``person_tied_to_listed``: a person who leads or holds it (legal representative, officer,
  shareholder) leads or holds a firm newly put on a list (abnormal, black, dishonest debtor);
- and the lender's ``legal_rep_changed``, ``controller_changed`` and ``joined_circle``:
  what changed at the firm itself (:mod:`risk.supervision.changes`).

Each warning names its enterprise, its *subject* (the record, the defaulted guarantee or the
grading date that caused it), the day of the event, whether the record behind it is under
objection (异议: it still counts, marked), and its evidence: the path from the enterprise to
the cause in store ids and relation types as stored, e.g.
``A <-[LEGAL_REP]- P -[OFFICER]-> B -[HAS_RECORD]-> black_list:HM-1``. People with more firms
than ``HUB_PERSON_CAP`` (agents) tie nobody, as in the related-enterprise graph.

Repaired records and records annulled by an upheld objection are not in snapshots
(graph_model/record_rules.py), so they raise nothing;
:func:`risk.supervision.warning_registry.close_withdrawn` closes the warnings they raised
before. Warnings, their states and runs persist in the supervision registry
(:mod:`risk.supervision.warning_registry`, over :mod:`risk.supervision.registry`).

Everything is vectorised over the snapshot arrays: one breadth-first search per source, all at
once and one level at a time (:func:`graph_model.walk.reach`), and evidence strings built
column-wise with Arrow.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from graph_model.record_rules import disputed
from graph_model.snapshot import Snapshot
from graph_model.walk import Reach, reach
from risk.features.context import (
    HUB_PERSON_CAP,
    LISTING_KINDS,
    FeatureContext,
    adverse_records,
    flags,
)
from risk.features.guarantees import circle_labels, guarantee_graph
from risk.supervision.changes import (
    Both,
    controller_warnings,
    joined_circle_warnings,
    legal_rep_warnings,
)
from risk.supervision.registry import SupervisionError
from risk.supervision.warning_rows import circle_text, join, warning_table

WARNING_TYPES = (
    "grade_worsened",
    "related_bad_record",
    "circle_member_default",
    "person_tied_to_listed",
    "legal_rep_changed",
    "controller_changed",
    "joined_circle",
)
STATES = ("new", "seen", "closed")
TRANSITIONS = {"new": ("seen", "closed"), "seen": ("closed",), "closed": ()}
"""Allowed state changes: a closed warning stays closed (a new event raises a new one)."""

DEFAULT_HOPS = 2
MAX_HOPS = 4

_ROLES = ("LEGAL_REP", "OFFICER", "HOLDS_SHARES")
"""Person–enterprise relations, strongest first: evidence shows the strongest tie."""

# -- what changed -----------------------------------------------------------------------


def bad_records(snapshot: Snapshot) -> np.ndarray:
    """Mask of the snapshot's records that make their enterprise *bad* on its date, as
    :attr:`FeatureContext.bad` counts them: in force, and adverse by the ``adverse`` rule of
    their kind in domain.yaml (a listing, a general or severe penalty, a broken commitment…)."""
    rec = snapshot.records
    return np.asarray(flags(pc.is_null(rec["end"])) & adverse_records(rec))


def new_bad_records(previous: Snapshot, current: Snapshot) -> np.ndarray:
    """Rows of the current snapshot's records that are bad now and were not then."""
    before = previous.records["id"].filter(pa.array(bad_records(previous)))
    fresh = bad_records(current) & ~flags(pc.is_in(current.records["id"], value_set=before))
    return np.flatnonzero(fresh)


# -- paths -----------------------------------------------------------------------------------


def _paths(found: Reach, ids: pa.Array, step: pa.Array) -> pa.Array:
    """Evidence of every row of ``found``: the node's id, then for each hop towards the
    source ``step[row]`` (the relation text ending with the next node's id)."""
    levels = [pa.array([""] * int((found.hops == 0).sum()), pa.string())]
    # Rows are level by level, so the rows of a level's parents are all in ``levels``.
    for depth in range(1, int(found.hops.max(initial=0)) + 1):
        rows = np.flatnonzero(found.hops == depth)
        done = pa.concat_arrays(levels)
        levels.append(join(pc.take(step, rows), pc.take(done, found.parent[rows])))
    rest = pa.concat_arrays(levels)
    return join(pc.take(ids, found.node), rest)


# -- how two enterprises are tied ---------------------------------------------------------


class _Ties:
    """The ties behind the related-enterprise graph, to explain its edges."""

    def __init__(self, ctx: FeatureContext) -> None:
        e = ctx.n_enterprises
        snap = ctx.snapshot
        self.e = e
        self.ids = pa.concat_arrays(
            [snap.enterprises["id"].combine_chunks(), snap.persons["id"].combine_chunks()]
        )
        self.direct: list[tuple[str, np.ndarray]] = []
        for rel_type in ("GUARANTEES", "HOLDS_SHARES"):
            ed = ctx.edges(rel_type)
            both = (ed.src < e) & (ed.dst < e)
            self.direct.append((rel_type, np.unique(ed.src[both] * e + ed.dst[both])))
        person, firm, role = [], [], []
        for code, rel_type in enumerate(_ROLES):
            ed = ctx.edges(rel_type)
            of_person = ed.src >= e
            person.append(ed.src[of_person] - e)
            firm.append(ed.dst[of_person])
            role.append(np.full(int(of_person.sum()), code, np.int64))
        p, f, r = np.concatenate(person), np.concatenate(firm), np.concatenate(role)
        # One tie per (person, firm), the strongest role.
        order = np.lexsort((r, f, p))
        p, f, r = p[order], f[order], r[order]
        first = np.r_[True, (p[1:] != p[:-1]) | (f[1:] != f[:-1])]
        p, f, r = p[first], f[first], r[first]
        hub = np.bincount(p, minlength=ctx.n_nodes - e) > HUB_PERSON_CAP
        keep = ~hub[p]
        self.person, self.firm, self.role = p[keep], f[keep], r[keep]
        self.pair_keys = self.person * e + self.firm  # sorted: by person, then firm
        by_firm = np.lexsort((self.person, self.role, self.firm))
        self.firm_person = self.person[by_firm]
        self.firm_role = self.role[by_firm]
        self.firm_indptr = np.searchsorted(self.firm[by_firm], np.arange(e + 1))
        self.person_indptr = np.searchsorted(self.person, np.arange(ctx.n_nodes - e + 1))

    def person_id(self, person: np.ndarray) -> pa.Array:
        return pc.take(self.ids, person + self.e)

    def role_name(self, role: np.ndarray) -> pa.Array:
        return pc.take(pa.array(_ROLES), role)

    def persons_of(self, firms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row of ``firms``, person, role) for every non-hub person tied to each firm."""
        return _expand(self.firm_indptr, firms, self.firm_person, self.firm_role)

    def firms_of(self, persons: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row of ``persons``, firm, role) for every firm each person is tied to."""
        return _expand(self.person_indptr, persons, self.firm, self.role)

    def steps(self, u: np.ndarray, v: np.ndarray) -> pa.Array:
        """Text of one hop from enterprise ``u`` to the related enterprise ``v``, ending with
        ``v``'s id: a guarantee or holding between them, else a person tied to both."""
        e = self.e
        text = pa.nulls(len(u), pa.string())
        open_ = np.ones(len(u), bool)
        for rel_type, keys in self.direct:
            for forward in (True, False):
                key = u * e + v if forward else v * e + u
                hit = open_ & _lookup(key, keys)[1]
                arrow = f" -[{rel_type}]-> " if forward else f" <-[{rel_type}]- "
                text = _put(text, hit, join(arrow, pc.take(self.ids, v[hit])))
                open_ &= ~hit
        rows = np.flatnonzero(open_)
        row, person, role_u = self.persons_of(u[rows])
        # The same person tied to v: its (person, firm) entry, for the role it has there.
        at, shared = _lookup(person * e + v[rows][row], self.pair_keys)
        row, person, role_u, at = row[shared], person[shared], role_u[shared], at[shared]
        row, first = np.unique(row, return_index=True)
        if len(row) < len(rows):
            raise RuntimeError("related enterprises without a tie: the related graph changed")
        hop = join(
            " <-[",
            self.role_name(role_u[first]),
            "]- ",
            self.person_id(person[first]),
            " -[",
            self.role_name(self.role[at[first]]),
            "]-> ",
            pc.take(self.ids, v[rows][row]),
        )
        return _put(text, open_, hop)


def _expand(
    indptr: np.ndarray, keys: np.ndarray, values: np.ndarray, roles: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts = indptr[keys]
    counts = indptr[keys + 1] - starts
    which = np.repeat(np.arange(len(keys)), counts)
    pos = starts[which] + np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
    return which, values[pos], roles[pos]


def _lookup(keys: np.ndarray, sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each key in ``sorted_keys`` and whether it is there."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return pos, sorted_keys[pos] == keys


def _put(text: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    if not mask.any():
        return text
    return pc.replace_with_mask(text, pa.array(mask), values.cast(text.type))


# -- the kinds -------------------------------------------------------------------------------


def _grading(table: pa.Table, name: str) -> pa.Table:
    """Check a grading: columns id, grade (one capital letter, A best) and score."""
    missing = sorted({"id", "grade", "score"} - set(table.column_names))
    if missing:
        raise SupervisionError(f"{name}: missing column(s) {', '.join(missing)}")
    table = table.select(["id", "grade", "score"])
    grade = table["grade"].cast(pa.string())
    bad = pc.invert(pc.fill_null(pc.match_substring_regex(grade, "^[A-Z]$"), False))
    if pc.any(bad).as_py():
        row = int(np.flatnonzero(flags(bad))[0])
        raise SupervisionError(
            f"{name} row {row + 1}: grade {grade[row].as_py()!r} is not a letter A-Z"
        )
    if pc.count_distinct(table["id"]).as_py() < table.num_rows:
        ids = table["id"].to_numpy(zero_copy_only=False)
        uniq, counts = np.unique(ids, return_counts=True)
        raise SupervisionError(f"{name}: enterprise {uniq[counts > 1][0]!r} is graded twice")
    return table.set_column(1, "grade", grade)


def grade_warnings(previous: pa.Table, current: pa.Table, as_of: date) -> pa.Table:
    """``grade_worsened`` for every enterprise graded on both dates whose grade got worse."""
    prev = _grading(previous, "previous grading").rename_columns(["id", "was", "was_score"])
    both = _grading(current, "current grading").join(prev, "id", join_type="inner")
    worse = flags(pc.greater(both["grade"], both["was"]))
    both = both.filter(pa.array(worse))
    n = both.num_rows

    def score(col: pa.ChunkedArray) -> pa.Array:
        return pc.cast(pc.round(pc.cast(col, pa.float64()), 4), pa.string())

    evidence = join(
        both["id"], ": grade ", both["was"], " -> ", both["grade"],
        " (score ", score(both["was_score"]), " -> ", score(both["score"]), ")",
    )  # fmt: skip
    return warning_table(
        "grade_worsened",
        both["id"],
        pa.array([f"grade@{as_of.isoformat()}"] * n, pa.string()),
        pa.array([as_of] * n, pa.date32()),
        evidence,
        np.zeros(n, bool),
    )


def _per_record(found: Reach, rows: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pair every record (``rows``, owned by ``owner``) with the reached rows of its owner
    (sources excluded): (record row, reach row)."""
    keep = np.flatnonzero(found.hops > 0)
    keep = keep[np.argsort(found.source[keep], kind="stable")]
    lo = np.searchsorted(found.source[keep], owner, side="left")
    hi = np.searchsorted(found.source[keep], owner, side="right")
    which = np.repeat(np.arange(len(rows)), hi - lo)
    offsets = np.arange(len(which)) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
    return rows[which], keep[lo[which] + offsets]


def related_warnings(ctx: FeatureContext, ties: _Ties, new_bad: np.ndarray, hops: int) -> pa.Table:
    """``related_bad_record`` for the enterprises within ``hops`` of each new bad record."""
    rec = ctx.snapshot.records
    owner = rec["enterprise"].to_numpy()[new_bad]
    graph = ctx.related
    found = reach(graph.indptr, graph.indices, owner, hops)
    step = pa.nulls(len(found.node), pa.string())
    inner = np.flatnonzero(found.hops > 0)
    step = _put(
        step, found.hops > 0, ties.steps(found.node[inner], found.node[found.parent[inner]])
    )
    paths = _paths(found, ties.ids, step)
    record_rows, reach_rows = _per_record(found, new_bad, owner)
    ids = rec["id"].take(pa.array(record_rows, pa.int64()))
    return warning_table(
        "related_bad_record",
        pc.take(ties.ids, found.node[reach_rows]),
        ids,
        rec["start"].take(pa.array(record_rows, pa.int64())),
        join(pc.take(paths, reach_rows), " -[HAS_RECORD]-> ", ids),
        disputed(rec)[record_rows],
    )


def listing_warnings(ctx: FeatureContext, ties: _Ties, new_bad: np.ndarray) -> pa.Table:
    """``person_tied_to_listed`` for the other firms of the people of each newly listed firm."""
    rec = ctx.snapshot.records
    kind = np.asarray(rec["kind"].to_numpy(zero_copy_only=False), dtype=object)
    rows = new_bad[np.isin(kind[new_bad], LISTING_KINDS)]
    listed = rec["enterprise"].to_numpy()[rows]
    at, person, role_listed = ties.persons_of(listed)
    which, firm, role_firm = ties.firms_of(person)
    at, person, role_listed = at[which], person[which], role_listed[which]
    other = firm != listed[at]
    at, person, role_listed, firm, role_firm = (
        a[other] for a in (at, person, role_listed, firm, role_firm)
    )
    # One warning per (record, firm): the strongest tie, then the lowest person key.
    order = np.lexsort((person, role_listed, role_firm, firm, at))
    at, person, role_listed, firm, role_firm = (
        a[order] for a in (at, person, role_listed, firm, role_firm)
    )
    first = np.r_[True, (at[1:] != at[:-1]) | (firm[1:] != firm[:-1])][: len(at)]
    at, person, role_listed, firm, role_firm = (
        a[first] for a in (at, person, role_listed, firm, role_firm)
    )
    record_rows = pa.array(rows[at], pa.int64())
    ids = rec["id"].take(record_rows)
    evidence = join(
        pc.take(ties.ids, firm), " <-[", ties.role_name(role_firm), "]- ",
        ties.person_id(person), " -[", ties.role_name(role_listed), "]-> ",
        pc.take(ties.ids, listed[at]), " -[HAS_RECORD]-> ", ids,
    )  # fmt: skip
    return warning_table(
        "person_tied_to_listed",
        pc.take(ties.ids, firm),
        ids,
        rec["start"].take(record_rows),
        evidence,
        disputed(rec)[rows[at]],
    )


def circle_warnings(previous: Snapshot, ctx: FeatureContext, ids: pa.Array) -> pa.Table:
    """``circle_member_default`` for the other members of the circle of each firm whose
    guaranteed loan defaulted since the previous date."""
    graph = guarantee_graph(ctx)
    props = ctx.edges("GUARANTEES").properties
    before = previous.relations["GUARANTEES"].properties
    known = before["key"].filter(pc.is_valid(before["defaulted_on"]))
    new = flags(
        pc.and_(
            pc.is_valid(props["defaulted_on"]), pc.invert(pc.is_in(props["key"], value_set=known))
        )
    )
    labels, sizes = circle_labels(graph)
    new &= sizes[labels[graph.dst]] > 1
    defaults = np.flatnonzero(new)
    inside = (labels[graph.src] == labels[graph.dst]) & (graph.src != graph.dst)
    inside &= sizes[labels[graph.src]] > 1
    # Walk guarantees backwards from the defaulter: a member's path follows its guarantees
    # forward to the defaulter (who it stands behind, directly or through others).
    n = graph.n
    back = sp.csr_matrix(
        (np.ones(int(inside.sum())), (graph.dst[inside], graph.src[inside])), shape=(n, n)
    )
    found = reach(back.indptr, back.indices, graph.dst[defaults], int(sizes.max(initial=1)))
    step = pa.nulls(len(found.node), pa.string())
    inner = found.hops > 0
    step = _put(
        step, inner, join(" -[GUARANTEES]-> ", pc.take(ids, found.node[found.parent[inner]]))
    )
    paths = _paths(found, ids, step)
    record_rows, reach_rows = _per_record(found, defaults, graph.dst[defaults])
    members = circle_text(labels, sizes, ids, labels[graph.dst[record_rows]])
    defaulted_on = props["defaulted_on"].take(pa.array(record_rows, pa.int64()))
    keys = props["key"].take(pa.array(record_rows, pa.int64()))
    evidence = join(
        pc.take(paths, reach_rows), " | defaulted ", pc.cast(defaulted_on, pa.string()), ": ",
        pc.take(ids, graph.src[record_rows]), " -[GUARANTEES ", keys, "]-> ",
        pc.take(ids, graph.dst[record_rows]), " | ", members,
    )  # fmt: skip
    return warning_table(
        "circle_member_default",
        pc.take(ids, found.node[reach_rows]),
        join("GUARANTEES:", keys),
        defaulted_on,
        evidence,
        np.zeros(len(reach_rows), bool),
    )


def compute_warnings(
    previous: Snapshot,
    current: Snapshot,
    previous_grades: pa.Table | None = None,
    current_grades: pa.Table | None = None,
    hops: int = DEFAULT_HOPS,
) -> pa.Table:
    """Every warning between the two snapshots (``SCHEMA``), ordered by type, enterprise and
    subject. Without both gradings, no ``grade_worsened`` warnings."""
    if previous.as_of >= current.as_of:
        raise SupervisionError(
            f"the previous date {previous.as_of} must come before the current {current.as_of}"
        )
    if isinstance(hops, bool) or not 1 <= hops <= MAX_HOPS:
        raise SupervisionError(f"hops must be from 1 to {MAX_HOPS}, got {hops!r}")
    ctx = FeatureContext(current)
    ties = _Ties(ctx)
    both = Both(previous, current)
    new_bad = new_bad_records(previous, current)
    parts = [
        related_warnings(ctx, ties, new_bad, hops),
        circle_warnings(previous, ctx, ties.ids),
        listing_warnings(ctx, ties, new_bad),
        legal_rep_warnings(previous, both),
        controller_warnings(previous, both),
        joined_circle_warnings(previous, both, ctx),
    ]
    if previous_grades is not None and current_grades is not None:
        parts.append(grade_warnings(previous_grades, current_grades, current.as_of))
    table = pa.concat_tables(parts)
    return table.sort_by(
        [("type", "ascending"), ("enterprise_id", "ascending"), ("subject", "ascending")]
    )
