"""An enterprise's change history (risk/history.py) read from every backend: relations that
began and ended, records that started and ended, newest first."""

from __future__ import annotations

from datetime import date

from graph_model.store.protocol import GraphStore
from risk.history import enterprise_history

from . import AS_OF, D, E, P


def _events(store: GraphStore, firm: str, **kw: date) -> list[tuple[date | None, str, str]]:
    return [
        (c.day, c.kind, c.counterpart.id if c.counterpart else c.details["kind"])
        for c in enterprise_history(store, firm, **kw)
    ]


def test_relations_in_and_out_and_records_newest_first(graph: GraphStore) -> None:
    events = _events(graph, E[0], until=AS_OF)
    days = [d for d, _, _ in events]
    assert days == sorted(days, reverse=True)  # type: ignore[type-var]
    assert (D("2020-01-01"), "holding_out", E[8]) in events
    assert (D("2015-01-01"), "holding_in", E[8]) in events
    assert (D("2015-06-01"), "holding_in", E[1]) in events
    assert (D("2015-01-01"), "legal_rep_in", P[0]) in events
    assert (D("2015-01-01"), "shareholder_in", P[0]) in events
    assert (D("2019-01-01"), "officer_in", P[1]) in events
    assert (D("2020-01-01"), "guarantee_given_opened", E[7]) in events
    assert (D("2021-03-01"), "record_start", "abnormal_list") in events
    assert any(k == "record_end" and what == "abnormal_list" for _, k, what in events)
    assert all(d is not None and d <= AS_OF for d in days)


def test_details_carry_stakes_roles_and_amounts(graph: GraphStore) -> None:
    changes = enterprise_history(graph, E[0], until=AS_OF)
    given = next(c for c in changes if c.kind == "guarantee_given_opened")
    assert given.details["amount"] == 6e6 and given.details["currency"]
    roles = {c.details["role"] for c in changes if c.kind == "officer_in"}
    assert roles == {"director", "supervisor"}
    held = next(c for c in changes if c.kind == "shareholder_in")
    assert held.details["share"] == 0.6


def test_both_ends_of_a_relation_and_the_since_bound(graph: GraphStore) -> None:
    assert (D("2018-01-01"), "legal_rep_out", P[3]) in _events(graph, E[3], until=AS_OF)
    assert (D("2018-01-01"), "branch_opened", E[4]) in _events(graph, E[1], until=AS_OF)
    assert (D("2018-01-01"), "head_office_in", E[1]) in _events(graph, E[4], until=AS_OF)
    since = D("2020-01-01")
    recent = _events(graph, E[0], since=since, until=AS_OF)
    assert recent and all(d is not None and since <= d for d, _, _ in recent)
    assert [e for e in _events(graph, E[0], until=AS_OF) if e[0] and e[0] >= since] == recent


def test_an_unknown_enterprise_has_no_history(graph: GraphStore) -> None:
    assert enterprise_history(graph, E[0][:-1] + "X") == []
