"""An enterprise's change history: unknown dates on a tiny inline store, and the API route
(paged, masked, bounded by since/until) on the session's city. Both backends: see
tests/contract/test_history.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from conftest import ApiCity
from fastapi.testclient import TestClient

from graph_model.store.protocol import Edge, Entity, Neighbour, NodeRef, Page
from risk.history import enterprise_history
from risk.snapshot_index import SnapshotIndex
from risk.wording import label

ANALYST = {"X-API-Key": "analyst-key"}
REGULATOR = {"X-API-Key": "regulator-key"}
FIRM = "F"


class _TinyStore:
    """Two relations of FIRM, one of unknown start, and no records."""

    def neighbours(self, node_id: str, *_: Any) -> Page:
        rows = [
            ("LEGAL_REP", NodeRef("Person", "P1", "张三"), None, date(2020, 5, 1)),
            ("LEGAL_REP", NodeRef("Person", "P2", "李四"), date(2020, 5, 1), None),
        ]
        return Page(
            tuple(
                Neighbour(n, Edge(t, n.id, node_id, {"key": n.id, "valid_from": a, "valid_to": b}))
                for t, n, a, b in rows
            ),
            None,
        )

    def get_entity(self, node_id: str) -> Entity:
        return Entity("Enterprise", node_id, {"name": "甲公司"})


def test_an_unknown_start_has_no_day_and_comes_last() -> None:
    store: Any = _TinyStore()
    changes = enterprise_history(store, FIRM, until=date(2024, 1, 1))
    assert [(c.day, c.kind, c.counterpart and c.counterpart.id) for c in changes] == [
        (date(2020, 5, 1), "legal_rep_in", "P2"),
        (date(2020, 5, 1), "legal_rep_out", "P1"),
        (None, "legal_rep_in", "P1"),
    ]
    later = enterprise_history(store, FIRM, since=date(2019, 1, 1), until=date(2024, 1, 1))
    assert all(c.day is not None for c in later) and len(later) == 2


def _busiest(client: TestClient) -> str:
    index: SnapshotIndex = client.app.state.services.require_index()  # type: ignore[attr-defined]
    degree = np.diff(index.ties.indptr[: index.n_enterprises + 1])
    return str(index.ids[int(np.argmax(degree))])


def test_history_route_pages_newest_first_and_masks_persons(api_client: TestClient) -> None:
    firm = _busiest(api_client)
    url = f"/v1/enterprises/{firm}/history"
    whole = api_client.get(url + "?limit=200", headers=ANALYST).json()
    assert whole["total"] == len(whole["items"]) > 2 and whole["total_exact"]
    days = [i["day"] for i in whole["items"] if i["day"] is not None]
    assert days == sorted(days, reverse=True)
    persons = [i["counterpart"] for i in whole["items"] if i["counterpart"]]
    shown = [p["name"] for p in persons if p["label"] == "Person"]
    assert shown and all(n[1:] == "*" * (len(n) - 1) for n in shown)
    regulator = api_client.get(url + "?limit=200", headers=REGULATOR).json()
    assert any("*" not in (i["counterpart"] or {}).get("name", "*") for i in regulator["items"])
    pages, offset = [], 0
    while offset is not None:
        page = api_client.get(url + f"?limit=7&offset={offset}", headers=ANALYST).json()
        assert page["total"] == whole["total"]
        pages += page["items"]
        offset = page["next_offset"]
    assert pages == whole["items"]
    since = days[len(days) // 2]
    recent = api_client.get(url + f"?since={since}&limit=200", headers=ANALYST).json()
    assert recent["items"] and all(i["day"] >= since for i in recent["items"])


def test_history_route_refusals(api_client: TestClient) -> None:
    firm = _busiest(api_client)
    url = f"/v1/enterprises/{firm}/history"
    assert api_client.get(url).status_code == 401
    backwards = api_client.get(url + "?since=2024-01-02&until=2024-01-01", headers=ANALYST)
    assert backwards.status_code == 422 and "after until" in backwards.json()["message"]
    unknown = api_client.get("/v1/enterprises/REG:none/history", headers=ANALYST)
    assert unknown.status_code in (404, 422)


def test_the_enterprise_page_lists_the_changes_up_to_the_boards_date(
    api_client: TestClient, api_city: ApiCity
) -> None:
    from dashboard.config import BoardConfig
    from dashboard.data import BoardData
    from dashboard.pages import enterprise

    firm = _busiest(api_client)
    data = BoardData(api_city.settings, BoardConfig(warm=False))
    changes = data.changes(firm, api_city.scored)
    assert changes and all(c.day is None or c.day <= api_city.scored for c in changes)
    page = str(enterprise.render(data, api_city.scored, "zh", firm))
    assert f"变更记录（{len(changes):,} 条，最新在前）" in page
    assert "change-timeline" in page and enterprise.change_detail(changes[0], "zh") in page
    words = {label("change", c.kind, "zh") for c in changes}
    assert all(w in page for w in words)


def test_without_a_store_the_page_says_the_history_is_unavailable(
    api_city: ApiCity, tmp_path: Path
) -> None:
    from dashboard.config import BoardConfig
    from dashboard.data import BoardData
    from dashboard.pages import enterprise

    home = tmp_path / "home"
    home.mkdir()
    (home / "snapshots").symlink_to(api_city.settings.snapshots_dir)
    data = BoardData(api_city.settings.model_copy(update={"home": home}), BoardConfig(warm=False))
    firm = str(data.snapshot(api_city.scored).enterprises["id"][0])
    page = str(enterprise.render(data, api_city.scored, "en", firm))
    assert "The change history is not available now" in page
