"""Graph evidence behind a reason: who and what makes a graph feature's value.

For a graph feature among an enterprise's top reasons, the evidence names the nodes behind
it, read from the same snapshot the features were computed on (so it shows exactly what
the feature saw, and needs no store round trip per firm):

- people features: the legal representative or officer and the other firms they lead
  (bad ones, or black-listed in the last 3 years, first);
- contagion features: a path of at most two hops to each related firm with a bad record (or
  a listing), each hop explained by its tie (a shared person, a shareholding, a guarantee);
  for the PageRank score, paths of up to four relations to listed firms through every person,
  as PageRank walks (a nominee with hundreds of firms included);
- ownership features: shareholding chains up to the owners, enterprise owners with bad
  records first; for a cross-holding, the shortest cycle of shareholdings;
- guarantee features: the shortest guarantee cycle through the firm (its circle), its mutual
  partners, or the guarantees it gives or receives with their amounts and defaults;
- suspected relations: the firms sharing its address, phone or e-mail.

Community features have no evidence of their own (communities are not kept after feature
computation). Every search is bounded: at most ``limit`` items per reason, two hops, chains
of ``MAX_CHAIN_LINKS`` shareholdings, cycles of ``MAX_CYCLE_LENGTH`` guarantees,
``MAX_SCAN`` neighbours looked at per node and step and ``MAX_VISITED`` nodes per search (and
edges per step of the path searches); the paths and cycles are breadth-first searches of
:mod:`graph_model.walk`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from graph_model.walk import Search, shortest_cycle
from risk.features.context import HUB_PERSON_CAP, FeatureContext, adverse_records, numbers
from risk.features.guarantees import MAX_CYCLE_LENGTH
from risk.features.people import BLACK_LIST_YEARS
from risk.features.suspected import CONTACTS
from risk.model.evidence_steps import (
    Evidence,
    Grouped,
    Links,
    Step,
    cycle_steps,
    money_text,
    note_text,
    percent,
    share_or_none,
)

MAX_CHAIN_LINKS = 10
"""Shareholding chains are followed up to this many links."""

MAX_SCAN = 2_000
"""Neighbours looked at per node and step of a search: hubs stay cheap."""

MAX_VISITED = 20_000
"""A search starts no hop once it has reached this many nodes (two hops around a big group),
and a path search looks at no more edges in one hop."""

_EPOCH = date(1970, 1, 1)
_ROLE_WORDS = {"LEGAL_REP": "legal representative", "HOLDS_SHARES": "shareholder"}
_CONTACT_WORDS = {"address": "address", "phone": "phone", "email": "e-mail"}


class EvidenceFinder:
    """Evidence for the graph features of one snapshot; indexes are built once, on first use."""

    def __init__(self, ctx: FeatureContext, limit: int = 5) -> None:
        self.ctx = ctx
        self.limit = limit
        self._n = ctx.n_enterprises
        # Searches and hops of the enterprise explained last: its reasons often share them
        # (two contagion features, the same first hop on several paths).
        self._memo_row = -1
        self._hops: dict[tuple[int, int], tuple[str, tuple[str, ...], tuple[Step, ...]]] = {}
        self._searches: dict[tuple[int, str], list[Evidence]] = {}
        self._finders: dict[str, Callable[[int], list[Evidence]]] = {
            "legal_rep_other_firms": functools.partial(self._people, ("LEGAL_REP",), "any"),
            "legal_rep_other_firms_bad": functools.partial(self._people, ("LEGAL_REP",), "bad"),
            "officers_other_firms": functools.partial(self._people, ("OFFICER",), "any"),
            "officers_other_firms_bad": functools.partial(self._people, ("OFFICER",), "bad"),
            "people_black_listed_3y": functools.partial(
                self._people, ("LEGAL_REP", "OFFICER", "HOLDS_SHARES"), "black"
            ),
            "related_1hop": functools.partial(self._related, 1, "bad"),
            "related_1hop_bad_share": functools.partial(self._related, 1, "bad"),
            "related_2hop": functools.partial(self._related, 2, "bad"),
            "related_2hop_bad_share": functools.partial(self._related, 2, "bad"),
            "listed_pagerank": self._listed_paths,
            "days_since_related_listing": functools.partial(self._related, 2, "listed"),
            "holdings": self._holdings,
            "cross_holding": self._cross_holding,
            "guarantee_circle_size": self._circle,
            "guarantee_cycle_length": self._circle,
            "mutual_guarantees": self._mutual,
            "guarantee_chain_length": self._circle,
            "guarantees_given": functools.partial(self._guarantees, "given"),
            "guaranteed_amount_to_capital": functools.partial(self._guarantees, "given"),
            "guaranteed_bad_share": functools.partial(self._guarantees, "given"),
            "liable_for_defaults": functools.partial(self._guarantees, "given"),
            "stress_loss": functools.partial(self._guarantees, "given"),
            "guarantees_received": functools.partial(self._guarantees, "received"),
            "received_amount_to_capital": functools.partial(self._guarantees, "received"),
            "guarantors_bad": functools.partial(self._guarantees, "received"),
            "own_loans_defaulted": functools.partial(self._guarantees, "received"),
        }
        for name in (
            "shareholders",
            "enterprise_shareholders",
            "top_share",
            "share_hhi",
            "ownership_depth",
            "beneficial_owners",
            "top_person_stake",
            "indirect_share_of_top_person",
            "controller_group_size",
        ):
            self._finders[name] = self._owners
        for name in (
            "firms_at_address",
            "firms_sharing_phone",
            "firms_sharing_email",
            "suspected_partners",
            "suspected_bad_weight",
        ):
            self._finders[name] = self._contacts

    def find(self, feature: str, row: int) -> tuple[Evidence, ...]:
        """Evidence for ``feature`` of the enterprise at snapshot row ``row`` (at most
        ``limit`` items; empty for features without a search)."""
        finder = self._finders.get(feature)
        if finder is None:
            return ()
        if row != self._memo_row:
            self._memo_row, self._hops, self._searches = row, {}, {}
        return tuple(finder(row)[: self.limit])

    # -- shared indexes -------------------------------------------------------------------
    @functools.cached_property
    def _ids(self) -> np.ndarray:
        snap = self.ctx.snapshot
        return np.concatenate(
            [
                np.asarray(snap.enterprises["id"].to_numpy(zero_copy_only=False), dtype=object),
                np.asarray(snap.persons["id"].to_numpy(zero_copy_only=False), dtype=object),
            ]
        )

    @functools.cached_property
    def _names(self) -> np.ndarray:
        snap = self.ctx.snapshot
        names = [
            pc.fill_null(table["name"], "").to_numpy(zero_copy_only=False)
            for table in (snap.enterprises, snap.persons)
        ]
        return np.concatenate([np.asarray(n, dtype=object) for n in names])

    @functools.cached_property
    def _roles(self) -> tuple[Links, np.ndarray]:
        """Person → enterprise ties (value: the role in words) and each tie's relation type."""
        n = self._n
        src, dst, role, kind = [], [], [], []
        for rel_type in ("LEGAL_REP", "OFFICER", "HOLDS_SHARES"):
            ed = self.ctx.edges(rel_type)
            person = ed.src >= n
            count = int(person.sum())
            src.append(ed.src[person])
            dst.append(ed.dst[person])
            kind.append(np.full(count, rel_type, dtype=object))
            if rel_type == "OFFICER":
                words = pc.fill_null(ed.properties["role"], "officer")
                role.append(np.asarray(words.to_numpy(zero_copy_only=False), dtype=object)[person])
            else:
                role.append(np.full(count, _ROLE_WORDS[rel_type], dtype=object))
        links = Links.of(
            np.concatenate(src), np.concatenate(dst), np.concatenate(role), self.ctx.n_nodes
        )
        return links, np.concatenate(kind)

    @functools.cached_property
    def _firms_per_person(self) -> np.ndarray:
        """Distinct enterprises tied to each person (node index), for the hub cap."""
        persons, _ = self.ctx.person_links
        count = np.zeros(self.ctx.n_nodes, dtype=np.int64)
        np.add.at(count, persons + self._n, 1)
        return count

    @functools.cached_property
    def _shares(self) -> Links:
        ed = self.ctx.edges("HOLDS_SHARES")
        share = numbers(ed.properties["share"])
        return Links.of(ed.src, ed.dst, share, self.ctx.n_nodes)

    @functools.cached_property
    def _guarantee_links(self) -> Links:
        ed = self.ctx.edges("GUARANTEES")
        return Links.of(ed.src, ed.dst, np.arange(len(ed.src)), self.ctx.n_nodes)

    @functools.cached_property
    def _guarantee_props(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Amount, currency and default date (or None) of each guarantee edge."""
        props = self.ctx.edges("GUARANTEES").properties
        currency = pc.fill_null(props["currency"], "CNY").to_numpy(zero_copy_only=False)
        defaulted = np.asarray(props["defaulted_on"].to_pylist(), dtype=object)
        return numbers(props["amount"]), np.asarray(currency, dtype=object), defaulted

    @functools.cached_property
    def _black_recent(self) -> np.ndarray:
        """Enterprises with a black-list entry started in the last 3 years (people rule)."""
        rec = self.ctx.records
        cutoff = self.ctx.as_of_days - 365.25 * BLACK_LIST_YEARS
        recent = rec.of("black_list") & (rec.start >= cutoff)
        out = np.zeros(self._n, dtype=bool)
        out[rec.enterprise[recent]] = True
        return out

    @functools.cached_property
    def _notes(self) -> dict[int, list[tuple[str, str, str]]]:
        """What makes each enterprise with a bad record bad: (kind, detail, since) per record,
        the detail being the abnormal list's reason or the penalty's severity."""
        rec = self.ctx.records
        table = rec.table
        chosen = rec.active & adverse_records(table)
        reason = np.asarray(pc.fill_null(table["reason"], "").to_numpy(zero_copy_only=False))
        severity = np.asarray(pc.fill_null(table["severity"], "").to_numpy(zero_copy_only=False))
        notes: dict[int, list[tuple[str, str, str]]] = {}
        for i in np.flatnonzero(chosen):
            kind = str(rec.kind[i])
            since = date.fromordinal(_EPOCH.toordinal() + int(rec.start[i])).isoformat()
            detail = {"abnormal_list": reason[i], "penalty": severity[i]}.get(kind, "")
            notes.setdefault(int(rec.enterprise[i]), []).append((kind, str(detail), since))
        return {firm: sorted(parts, key=note_text) for firm, parts in notes.items()}

    def _label(self, node: int) -> str:
        """A node's name, with the bad records of an enterprise in brackets."""
        name = str(self._names[node]) or str(self._ids[node])
        notes = self._notes.get(node) if node < self._n else None
        return f"{name} [{'; '.join(note_text(n) for n in notes)}]" if notes else name

    def _node(self, node: int) -> Step:
        """A node as a step: an enterprise with its bad records, or a person."""
        if node >= self._n:
            return ["person", str(self._ids[node]), str(self._names[node])]
        notes = [list(n) for n in self._notes.get(node, [])]
        return ["firm", str(self._ids[node]), str(self._names[node]), notes]

    def _roles_step(self, person: int, firm: int) -> Step:
        """The roles of ``person`` at ``firm`` as codes (``LEGAL_REP``, ``director``…)."""
        links, kind = self._roles
        rows = links.by_src.of(person)
        rows = rows[links.dst[rows] == firm]
        codes = [
            str(links.value[r]) if kind[r] == "OFFICER" else str(kind[r]) for r in rows.tolist()
        ]
        return ["roles", list(dict.fromkeys(codes)) or ["related"]]

    def _role_of(self, person: int, firm: int) -> str:
        """The roles of ``person`` at ``firm`` in words, e.g. 'legal representative/director'."""
        links, _ = self._roles
        rows = links.by_src.of(person)
        words = links.value[rows[links.dst[rows] == firm]].tolist()
        return "/".join(dict.fromkeys(words)) or "related"

    def _order_bad_first(self, firms: np.ndarray) -> np.ndarray:
        """Distinct firms, those with bad records first, then by index (stable)."""
        firms = np.unique(firms)
        return firms[np.argsort(~self.ctx.bad[firms], kind="stable")]

    # -- people ---------------------------------------------------------------------------
    def _people(self, kinds: tuple[str, ...], which: str, row: int) -> list[Evidence]:
        """Its people (tied by a relation of ``kinds``) and the other firms they lead (as
        legal representative or officer): ``which`` is 'any', 'bad' or 'black' (black-listed
        in the last 3 years)."""
        out: list[Evidence] = []
        links, kind = self._roles
        people = [int(links.src[r]) for r in links.by_dst.of(row) if kind[r] in kinds]
        for person in dict.fromkeys(people):
            if not self.ctx.ties_firms[person - self._n]:
                continue  # known by name only: leads no other firm (as in the features)
            led = [
                int(links.dst[r])
                for r in links.by_src.of(person)[:MAX_SCAN]
                if kind[r] != "HOLDS_SHARES" and links.dst[r] != row
            ]
            others = self._order_bad_first(np.asarray(led, dtype=np.int64))
            if which == "bad":
                others = others[self.ctx.bad[others]]
            elif which == "black":
                others = others[self._black_recent[others]]
            for other in others.tolist():
                text = (
                    f"{self._label(row)} –[{self._role_of(person, row)}]– {self._label(person)} "
                    f"–[{self._role_of(person, other)}]– {self._label(other)}"
                )
                steps = (
                    self._node(row),
                    self._roles_step(person, row),
                    self._node(person),
                    self._roles_step(person, other),
                    self._node(other),
                )
                ids = (self._ids[row], self._ids[person], self._ids[other])
                out.append(Evidence(text, ids, steps))
                if len(out) >= self.limit:
                    return out
        return out

    # -- contagion ------------------------------------------------------------------------
    def _hop(self, a: int, b: int) -> tuple[str, tuple[str, ...], tuple[Step, ...]]:
        """Why enterprises ``a`` and ``b`` are related (one hop of the related-enterprise
        graph): the text from ``a`` (not included) to ``b``, the ids after ``a`` and the
        steps after ``a``."""
        if (a, b) not in self._hops:
            self._hops[a, b] = self._find_hop(a, b)
        return self._hops[a, b]

    def _find_hop(self, a: int, b: int) -> tuple[str, tuple[str, ...], tuple[Step, ...]]:
        links, _ = self._roles
        for r in links.by_dst.of(a):
            person = int(links.src[r])
            if self._firms_per_person[person] > HUB_PERSON_CAP:
                continue  # hubs do not relate firms (as in the features)
            if not self.ctx.ties_firms[person - self._n]:
                continue  # nor do persons known by name only
            if np.any(links.dst[links.by_src.of(person)] == b):
                first, second = self._edge(a, person), self._edge(person, b)
                return first[0] + second[0], (self._ids[person], self._ids[b]), first[2] + second[2]
        return self._edge(a, b)

    def _edge(self, a: int, b: int) -> tuple[str, tuple[str, ...], tuple[Step, ...]]:
        """A direct relation between nodes ``a`` and ``b`` (a person's role at a firm, a
        shareholding or a guarantee, either way): text from ``a`` to ``b``, b's id, and the
        tie and ``b`` as steps."""
        end = (self._ids[b],)
        if a >= self._n or b >= self._n:
            person, firm = (a, b) if a >= self._n else (b, a)
            text = f" –[{self._role_of(person, firm)}]– {self._label(b)}"
            return text, end, (self._roles_step(person, firm), self._node(b))
        shares = self._shares
        for holder, held, way, arrow in (
            (a, b, "out", " –holds {}→ "),
            (b, a, "in", " ←holds {}– "),
        ):
            for r in shares.by_src.of(holder):
                if shares.dst[r] == held:
                    share = share_or_none(shares.value[r])
                    text = arrow.format(percent(shares.value[r])) + self._label(b)
                    return text, end, (["holds", way, share], self._node(b))
        g = self._guarantee_links
        amount, currency, _ = self._guarantee_props
        for guarantor, guaranteed, way, arrow in (
            (a, b, "out", " –guarantees {}→ "),
            (b, a, "in", " ←guarantees {}– "),
        ):
            for r in g.by_src.of(guarantor):
                if g.dst[r] == guaranteed:
                    money = money_text(amount[r], currency[r])
                    tie = ["guarantees", way, share_or_none(amount[r]), str(currency[r]), None]
                    return arrow.format(money) + self._label(b), end, (tie, self._node(b))
        return f" –related– {self._label(b)}", end, (["related"], self._node(b))

    def _related(self, hops: int, which: str, row: int) -> list[Evidence]:
        """Paths of at most ``hops`` hops of the related-enterprise graph to related firms
        with bad records (or listed), nearest first, then the most recently listed."""
        if (hops, which) not in self._searches:
            target = self.ctx.listed if which == "listed" else self.ctx.bad
            found = self._search(self.ctx.related, row, hops, target, self._hop)
            self._searches[hops, which] = found
        return self._searches[hops, which]

    def _listed_paths(self, row: int) -> list[Evidence]:
        """Paths to listed firms in the graph PageRank walks: every relation between firms
        and persons, persons tied to many firms included, up to 4 steps (2 firm hops)."""
        target = np.zeros(self.ctx.n_nodes, dtype=bool)
        target[: self._n] = self.ctx.listed
        paths = self._search(self.ctx.combined, row, 4, target, self._edge)
        if not self.ctx.listed[row]:
            return paths
        # PageRank restarts at listed firms, so a listed firm's own score is high too; the
        # feature means contagion from listed neighbours: their paths come first, its own
        # listing after them.
        itself = Evidence(
            f"{self._label(row)} is listed itself",
            (self._ids[row],),
            (self._node(row), ["listed_itself"]),
        )
        return [*paths, itself]

    def _search(
        self,
        graph: sp.csr_matrix,
        row: int,
        hops: int,
        target: np.ndarray,
        step: Callable[[int, int], tuple[str, tuple[str, ...], tuple[Step, ...]]],
    ) -> list[Evidence]:
        """Breadth-first search from ``row`` to ``target`` nodes, one NumPy step per hop,
        stopped once a hop has found enough or ``MAX_VISITED`` nodes were reached; each path
        told step by step."""
        search = Search(
            graph.indptr,
            graph.indices,
            [row],
            max_scan=MAX_SCAN,
            max_level_scan=MAX_VISITED,
            max_visited=MAX_VISITED,
        )
        found: list[int] = []  # rows of the search, nearest first, then the latest listed
        while search.hops < hops and len(found) < self.limit and search.advance():
            at = np.flatnonzero(target[search.level_nodes])
            hits = search.level_nodes[at]
            latest = self.ctx.latest_listing_day[hits]
            found += (search.level.start + at[np.lexsort((hits, -latest))]).tolist()
        reached = search.found
        out = []
        for end in found[: self.limit]:
            path = reached.node[reached.path(end)].tolist()
            text, ids, steps = self._label(row), [self._ids[row]], [self._node(row)]
            for a, b in itertools.pairwise(path):
                part, step_ids, step_steps = step(a, b)
                text += part
                ids.extend(step_ids)
                steps.extend(step_steps)
            out.append(Evidence(text, tuple(ids), tuple(steps)))
        return out

    # -- ownership ------------------------------------------------------------------------
    def _owners(self, row: int) -> list[Evidence]:
        """Shareholding chains up from the firm: bad enterprise owners first, then persons
        at the top by the product of the stakes along the chain."""
        shares = self._shares
        bad = self.ctx.bad
        chains: list[tuple[list[int], float]] = []  # (edge rows from the firm up, stake)
        stack: list[tuple[list[int], float]] = [([], 1.0)]
        while stack and len(chains) < MAX_SCAN:
            edges, stake = stack.pop()
            top = int(shares.src[edges[-1]]) if edges else row
            seen = {row, *(int(shares.src[e]) for e in edges)}
            for r in shares.by_dst.of(top)[:MAX_SCAN]:
                holder = int(shares.src[r])
                if holder in seen:
                    continue
                chain = ([*edges, int(r)], stake * float(np.nan_to_num(shares.value[r])))
                chains.append(chain)
                if holder < self._n and len(chain[0]) < MAX_CHAIN_LINKS:
                    stack.append(chain)

        def rank(chain: tuple[list[int], float]) -> tuple[bool, bool, float, int]:
            top = int(shares.src[chain[0][-1]])
            is_firm = top < self._n
            return (not (is_firm and bad[top]), is_firm, -chain[1], len(chain[0]))

        out = []
        for edges, stake in sorted(chains, key=rank)[: self.limit]:
            text, steps = self._label(row), [self._node(row)]
            for r in edges:
                text += f" ←{percent(shares.value[r])}– {self._label(int(shares.src[r]))}"
                steps += [
                    ["holds", "in", share_or_none(shares.value[r])],
                    self._node(int(shares.src[r])),
                ]
            if len(edges) > 1:
                text += f" (through the chain: {percent(stake)})"
                steps.append(["chain", share_or_none(stake)])
            nodes = (self._ids[row], *(self._ids[shares.src[r]] for r in edges))
            out.append(Evidence(text, nodes, tuple(steps)))
        return out

    def _holdings(self, row: int) -> list[Evidence]:
        """The firms it holds shares in, those with bad records first."""
        shares = self._shares
        edges = shares.by_src.of(row)
        order = np.argsort(~self.ctx.bad[shares.dst[edges]], kind="stable")
        out = []
        for r in edges[order][: self.limit]:
            firm = int(shares.dst[r])
            text = f"{self._label(row)} –holds {percent(shares.value[r])} of→ {self._label(firm)}"
            steps = (
                self._node(row),
                ["holds", "out", share_or_none(shares.value[r])],
                self._node(firm),
            )
            out.append(Evidence(text, (self._ids[row], self._ids[firm]), steps))
        return out

    def _cycle(self, rel_type: str, row: int, max_length: int) -> list[int] | None:
        """A shortest directed cycle of ``rel_type`` relations through ``row`` of at most
        ``max_length`` of them: the nodes in edge order, ``row`` first. Breadth-first,
        bounded by ``MAX_SCAN`` and ``MAX_VISITED``."""
        rel = self.ctx.snapshot.relations[rel_type]
        return shortest_cycle(
            rel.indptr, rel.indices, row, max_length, max_scan=MAX_SCAN, max_visited=MAX_VISITED
        )

    def _cross_holding(self, row: int) -> list[Evidence]:
        cycle = self._cycle("HOLDS_SHARES", row, MAX_CHAIN_LINKS)
        if cycle is None:
            return []
        text = " –holds→ ".join(self._label(n) for n in [*cycle, row])
        steps = cycle_steps("cross_holding", ["holds", "out", None], [*map(self._node, cycle)])
        nodes = tuple(self._ids[n] for n in cycle)
        return [Evidence(f"cross-holding: {text}", nodes, (*steps, self._node(row)))]

    # -- guarantees -----------------------------------------------------------------------
    def _circle(self, row: int) -> list[Evidence]:
        cycle = self._cycle("GUARANTEES", row, MAX_CYCLE_LENGTH)
        if cycle is None:
            return []
        text = " –guarantees→ ".join(self._label(n) for n in [*cycle, row])
        tie = ["guarantees", "out", None, None, None]
        steps = cycle_steps("guarantee_cycle", tie, [*map(self._node, cycle)])
        nodes = tuple(self._ids[n] for n in cycle)
        return [Evidence(f"guarantee cycle: {text}", nodes, (*steps, self._node(row)))]

    def _mutual(self, row: int) -> list[Evidence]:
        g = self._guarantee_links
        given = {int(g.dst[r]) for r in g.by_src.of(row)}
        partners = sorted({int(g.src[r]) for r in g.by_dst.of(row)} & given)
        return [
            Evidence(
                f"{self._label(row)} ⇄ guarantee each other ⇄ {self._label(p)}",
                (self._ids[row], self._ids[p]),
                (self._node(row), ["mutual"], self._node(p)),
            )
            for p in partners[: self.limit]
        ]

    def _guarantees(self, side: str, row: int) -> list[Evidence]:
        """Guarantees it gives (or receives): defaulted ones first, then those with a bad
        other party, then by amount."""
        g = self._guarantee_links
        amount, currency, defaulted = self._guarantee_props
        edges = g.by_src.of(row) if side == "given" else g.by_dst.of(row)
        other = g.dst[edges] if side == "given" else g.src[edges]
        has_default = np.array([defaulted[r] is not None for r in edges], dtype=bool)
        order = np.lexsort((-np.nan_to_num(amount[edges]), ~self.ctx.bad[other], ~has_default))
        out = []
        for i in order[: self.limit]:
            r, o = int(edges[i]), int(other[i])
            money = money_text(amount[r], currency[r])
            default = f", defaulted {defaulted[r].isoformat()}" if has_default[i] else ""
            guarantor, guaranteed = (row, o) if side == "given" else (o, row)
            text = (
                f"{self._label(guarantor)} –guarantees {money}{default}→ {self._label(guaranteed)}"
            )
            when = defaulted[r].isoformat() if has_default[i] else None
            tie = ["guarantees", "out", share_or_none(amount[r]), str(currency[r]), when]
            steps = (self._node(guarantor), tie, self._node(guaranteed))
            out.append(Evidence(text, (self._ids[row], self._ids[o]), steps))
        return out

    # -- suspected relations ----------------------------------------------------------------
    @functools.cached_property
    def _contact_groups(self) -> dict[str, tuple[np.ndarray, Grouped, pa.Array]]:
        """Per contact: group of each enterprise (-1 when empty), members per group, values."""
        out = {}
        for contact in CONTACTS:
            encoded = pc.dictionary_encode(self.ctx.snapshot.enterprises[contact].combine_chunks())
            group = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
            group = np.asarray(group, dtype=np.int64)
            has = np.flatnonzero(group >= 0)
            members = Grouped.by(group[has], len(encoded.dictionary))
            out[contact] = (group, Grouped(has[members.order], members.indptr), encoded.dictionary)
        return out

    def _contacts(self, row: int) -> list[Evidence]:
        out = []
        for contact, (group, members, values) in self._contact_groups.items():
            g = int(group[row])
            if g < 0:
                continue
            firms = members.of(g)
            others = self._order_bad_first(firms[firms != row])
            if not len(others):
                continue
            shown = ", ".join(self._label(int(f)) for f in others[: self.limit])
            more = f" and {len(others) - self.limit} more" if len(others) > self.limit else ""
            value = f" {values[g].as_py()}" if contact == "address" else ""
            extra = max(len(others) - self.limit, 0)
            listed = [self._node(int(f)) for f in others[: self.limit]]
            same = ["same", contact, values[g].as_py() if contact == "address" else None]
            out.append(
                Evidence(
                    f"same {_CONTACT_WORDS[contact]}{value} as {shown}{more}",
                    (self._ids[row], *(self._ids[f] for f in others[: self.limit])),
                    ([*same, listed, extra],),
                )
            )
        return out
