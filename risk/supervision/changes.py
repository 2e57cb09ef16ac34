"""The lender's warnings: what changed at the borrower itself between two snapshots.

- ``legal_rep_changed``: its legal representatives (persons, by stored id) are not those of
  the previous date (it had one then);
- ``controller_changed``: its controlling shareholder, the holder of more than half its
  equity, is another party, or there is none on one of the dates;
- ``joined_circle``: it is in a guarantee circle (担保圈) now and was in none then.

Firms deregistered (or revoked) on the current date get neither change: their ties end with
them. The window is the interval between the two dates (the runs), and the event day the current
date: snapshots do not say on which day within it the change happened. The two snapshots'
nodes are numbered as one (:class:`Both`), so ties compare as integers, vectorised.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.snapshot import Snapshot
from risk.features.context import FeatureContext, flags, numbers, strong_components
from risk.features.guarantees import circle_labels, guarantee_graph
from risk.supervision.warning_rows import circle_text, join, warning_table


class Both:
    """The nodes of two snapshots numbered as one: the current snapshot's node indices, then
    the previous snapshot's nodes that are gone from it, so ties compare as integers."""

    def __init__(self, previous: Snapshot, current: Snapshot) -> None:
        self.current, self.e = current, current.n_enterprises
        at = current.index_of(previous.node_ids)
        self.of_previous = np.where(at >= 0, at, current.n_nodes + np.arange(previous.n_nodes))
        self.ids = pa.concat_arrays([current.node_ids, previous.node_ids])
        self.size = current.n_nodes + previous.n_nodes
        # Firms of both dates not deregistered now: a firm's ties end with it, which is no
        # change of its legal representative or controller.
        self.in_both = np.zeros(self.e, bool)
        kept = self.of_previous[: previous.n_enterprises]
        self.in_both[kept[kept < self.e]] = True
        self.in_both &= flags(pc.is_null(current.enterprises["deregistered_on"]))

    def ends(self, snapshot: Snapshot, rel_type: str) -> tuple[np.ndarray, np.ndarray]:
        """(firm, party) of every edge of one relation of either snapshot, numbered as one."""
        rel = snapshot.relations[rel_type]
        if snapshot is self.current:
            return rel.indices, rel.sources
        return self.of_previous[rel.indices], self.of_previous[rel.sources]

    def listed(self, firms: np.ndarray, firm: np.ndarray, text: pa.Array) -> pa.Array:
        """For each of ``firms``, the ``text`` of its rows (``firm``) sorted and joined by
        ", ", else "none"."""
        table = pa.table({"firm": firm, "text": text})
        table = table.sort_by([("firm", "ascending"), ("text", "ascending")])
        grouped = pa.TableGroupBy(table, "firm", use_threads=False).aggregate([("text", "list")])
        joined = pc.binary_join(grouped["text_list"], ", ")
        at = pc.index_in(pa.array(firms, pa.int64()), value_set=grouped["firm"])
        return pc.fill_null(pc.take(joined, at), "none")


def _change_table(
    kind: str, what: str, both: Both, firms: np.ndarray, evidence: pa.Array
) -> pa.Table:
    """Warnings of one kind of change, one per firm, subject ``<what>@<as-of>``: the change
    happened within the window, on a day the snapshots do not tell."""
    n, as_of = len(firms), both.current.as_of
    subject = pa.array([f"{what}@{as_of.isoformat()}"] * n, pa.string())
    day = pa.array([as_of] * n, pa.date32())
    return warning_table(kind, pc.take(both.ids, firms), subject, day, evidence, np.zeros(n, bool))


def legal_rep_warnings(previous: Snapshot, both: Both) -> pa.Table:
    """``legal_rep_changed`` for every firm with a legal representative on the previous date
    whose legal representatives (persons, by stored id) are not the same now."""
    firm_was, rep_was = both.ends(previous, "LEGAL_REP")
    firm_now, rep_now = both.ends(both.current, "LEGAL_REP")
    was, now = firm_was * both.size + rep_was, firm_now * both.size + rep_now
    left = ~np.isin(was, now)
    came = ~np.isin(now, was) & np.isin(firm_now, firm_was)
    firms = np.union1d(firm_was[left], firm_now[came])
    firms = firms[firms < both.e]
    firms = firms[both.in_both[firms]]
    w, n = np.isin(firm_was, firms), np.isin(firm_now, firms)
    evidence = join(
        pc.take(both.ids, firms), ": legal rep ",
        both.listed(firms, firm_was[w], pc.take(both.ids, rep_was[w])), " -> ",
        both.listed(firms, firm_now[n], pc.take(both.ids, rep_now[n])),
    )  # fmt: skip
    return _change_table("legal_rep_changed", "legal_rep", both, firms, evidence)


def _controllers(snapshot: Snapshot, both: Both) -> tuple[np.ndarray, np.ndarray]:
    """The controlling shareholder of each current firm (-1 when none) and its stake: its
    holder of more than half the equity (the largest, should stakes overlap)."""
    firm, party = both.ends(snapshot, "HOLDS_SHARES")
    share = numbers(snapshot.relations["HOLDS_SHARES"].properties["share"])
    keep = np.flatnonzero((share > 0.5) & (firm < both.e))
    order = keep[np.lexsort((party[keep], -share[keep], firm[keep]))]
    first = order[np.r_[True, firm[order][1:] != firm[order][:-1]][: len(order)]]
    holder, stake = np.full(both.e, -1, np.int64), np.full(both.e, np.nan)
    holder[firm[first]], stake[firm[first]] = party[first], share[first]
    return holder, stake


def controller_warnings(previous: Snapshot, both: Both) -> pa.Table:
    """``controller_changed`` for every firm of both dates whose controlling shareholder
    (:func:`_controllers`) is another party now, or none on one of the dates."""
    holder_was, stake_was = _controllers(previous, both)
    holder_now, stake_now = _controllers(both.current, both)
    firms = np.flatnonzero(both.in_both & (holder_was != holder_now))

    def said(holder: np.ndarray, stake: np.ndarray) -> pa.Array:
        has = pa.array(holder[firms] >= 0)
        pct = pc.cast(pc.round(pa.array(stake[firms] * 100.0), 2), pa.string())
        text = join(pc.take(both.ids, np.maximum(holder[firms], 0)), " ", pct, "%")
        return pc.if_else(has, text, "none")

    evidence = join(
        pc.take(both.ids, firms), ": controller ", said(holder_was, stake_was), " -> ",
        said(holder_now, stake_now),
    )  # fmt: skip
    return _change_table("controller_changed", "controller", both, firms, evidence)


def joined_circle_warnings(previous: Snapshot, both: Both, ctx: FeatureContext) -> pa.Table:
    """``joined_circle`` for every firm in a guarantee circle now that was in none on the
    previous date (a new circle, or one grown to include it)."""
    labels, sizes = circle_labels(guarantee_graph(ctx))
    rel = previous.relations["GUARANTEES"]
    before = strong_components(rel.sources, rel.indices, previous.n_enterprises)
    was_in = np.zeros(both.size, bool)
    was_in[both.of_previous[: previous.n_enterprises]] = np.bincount(before)[before] > 1
    firms = np.flatnonzero((sizes[labels] > 1) & ~was_in[: both.e])
    evidence = circle_text(labels, sizes, both.ids, labels[firms])
    return _change_table("joined_circle", "circle", both, firms, evidence)
