"""The HTTP API against a real store, snapshot, stored scores and warnings of a small city:
what each route answers, its checks at the edge, the error table and the audit log."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from collections import Counter
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import API_KEYS, ApiCity, make_uscc
from fastapi.testclient import TestClient
from feature_graphs import AS_OF, SnapshotBuilder

from access.settings import AccessSettings
from api.app import create_app
from api.services import Services
from graph_model.identifiers import uscc_check_char
from graph_model.snapshot import take_snapshot
from graph_model.store.ladybug import LadybugStore
from graph_model.store.protocol import SchemaMismatchError, StoreError
from risk.snapshot_index import SnapshotIndex

REGULATOR = {"X-API-Key": "regulator-key"}
BANK = {"X-API-Key": "bank-key"}
OTHER_BANK = {"X-API-Key": "other-bank-key"}
ANALYST = {"X-API-Key": "analyst-key"}


def services(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def index(client: TestClient) -> SnapshotIndex:
    return services(client).require_index()


def graded_with_reasons(client: TestClient) -> str:
    """An enterprise whose stored grade has reasons (one of the worst scores)."""
    book = services(client).grades
    assert book is not None
    reasons = book.table["reasons"].to_pylist()
    return str(book.table["id"][next(i for i, r in enumerate(reasons) if r)])


def black_listed(client: TestClient) -> str:
    idx = index(client)
    return str(idx.ids[int(np.flatnonzero(idx.black_listed)[0])])


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


# -- health --------------------------------------------------------------------------------


def test_health_and_readiness_need_no_key(api_client: TestClient, api_city: ApiCity) -> None:
    assert ok(api_client.get("/health")) == {"status": "ok"}
    ready = ok(api_client.get("/health/ready"))
    assert ready["ready"] and ready["store"] == "ok"
    assert ready["snapshot_as_of"] == ready["grades_as_of"] == api_city.scored.isoformat()
    assert ready["model_version"] == ready["current_model"] == api_city.model_version


def test_readiness_is_503_without_a_store_or_snapshot(api_city: ApiCity, tmp_path: Any) -> None:
    empty = api_city.settings.model_copy(update={"home": tmp_path / "empty"})
    with TestClient(create_app(empty)) as client:
        response = client.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert not body["ready"] and "creditgraph load" in body["store"]
        assert any("no snapshot has been taken" in p for p in body["problems"])
        refused = client.get("/v1/guarantee-circles", headers=ANALYST)
        assert refused.status_code == 503
        assert refused.json()["code"] == "unavailable"
        assert "no snapshot has been taken" in refused.json()["message"]


def test_a_future_snapshot_is_never_served_and_a_date_mismatch_is_flagged(
    api_city: ApiCity, tmp_path: Any
) -> None:
    home = tmp_path / "home"
    shutil.copytree(api_city.settings.home, home, ignore=shutil.ignore_patterns("*.lock"))
    settings = api_city.settings.model_copy(update={"home": home})
    next_day = api_city.scored + timedelta(days=1)
    with LadybugStore(settings.embedded_store_path, read_only=True) as store:
        # A snapshot taken by mistake for a future date, and one later than the grades.
        for day in (date(2999, 12, 31), next_day):
            take_snapshot(store, day).save(settings.snapshots_dir / day.isoformat())
    with TestClient(create_app(settings)) as client:
        ready = client.get("/health/ready").json()
        assert ready["snapshot_as_of"] == next_day.isoformat()  # never 2999-12-31
        assert ready["grades_as_of"] == api_city.scored.isoformat()
        assert ready["dates_match"] is False
        assert any(f"the snapshot served is of {next_day}" in p for p in ready["problems"])
    shutil.rmtree(settings.snapshots_dir / next_day.isoformat())
    with TestClient(create_app(settings)) as client:
        ready = client.get("/health/ready").json()
        assert ready["snapshot_as_of"] == api_city.scored.isoformat()
        assert ready["dates_match"] is True


def test_reading_never_creates_the_supervision_registry(api_city: ApiCity, tmp_path: Any) -> None:
    """A data home without supervision.sqlite reads as nothing recorded yet; only a write
    (a new watchlist) creates the file."""
    home = tmp_path / "home"
    shutil.copytree(
        api_city.settings.home, home, ignore=shutil.ignore_patterns("*.lock", "supervision.*")
    )
    settings = api_city.settings.model_copy(update={"home": home})
    registry = settings.supervision_path
    assert not registry.exists()
    with TestClient(create_app(settings)) as client:
        assert ok(client.get("/v1/warnings", headers=REGULATOR))["total"] == 0
        assert ok(client.get("/v1/watchlists", headers=BANK))["items"] == []
        assert client.get("/v1/warnings/1", headers=REGULATOR).status_code == 404
        assert client.get("/v1/watchlists/none", headers=BANK).status_code == 404
        assert not registry.exists()
        created = client.post("/v1/watchlists", headers=BANK, json={"name": "loans"})
        assert created.status_code == 201, created.text
        assert registry.exists()


@pytest.mark.parametrize("snapshot", ["none", "unreadable"])
def test_screening_without_a_snapshot_is_503_never_a_level(
    api_city: ApiCity, tmp_path: Any, snapshot: str
) -> None:
    # The store answers, the graph does not: a level from the records alone would say "low"
    # for a firm whose black-listed subsidiary is simply not known.
    home = tmp_path / "home"
    home.mkdir()
    (home / "store").symlink_to(api_city.settings.embedded_store_path.parent)
    if snapshot == "unreadable":
        broken = home / "snapshots" / "2025-01-31"
        broken.mkdir(parents=True)
        (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    with TestClient(create_app(api_city.settings.model_copy(update={"home": home}))) as client:
        scored = next(api_city.settings.scores_dir.rglob("*.parquet"))
        firm = pq.read_table(scored, columns=["id"])["id"][0].as_py()
        assert client.get(f"/v1/enterprises/{firm}", headers=ANALYST).status_code == 200
        response = client.get(f"/v1/screening?q={firm}", headers=BANK)
        assert response.status_code == 503, response.text
        message = response.json()["message"]
        assert "creditgraph snapshot" in message
        assert str(tmp_path) not in message and "Expecting" not in message


# -- enterprises ---------------------------------------------------------------------------


def test_profile_shows_records_with_validity_and_the_grade_to_regulators(
    api_client: TestClient, api_city: ApiCity
) -> None:
    firm = graded_with_reasons(api_client)
    body = ok(api_client.get(f"/v1/enterprises/{firm}", headers=REGULATOR))
    assert body["id"] == firm and body["name"]
    grade = body["grade"]
    assert grade["as_of"] == api_city.scored.isoformat()
    assert grade["model_version"] == api_city.model_version
    assert grade["grade"] in "ABCD" and 0 <= grade["score"] <= 1
    assert grade["reasons"] and all(r["sentence"] for r in grade["reasons"])
    for record in body["records"]:
        assert set(record) >= {"id", "kind", "start", "end", "in_force", "disputed", "fields"}
    analyst = ok(api_client.get(f"/v1/enterprises/{firm}", headers=ANALYST))
    assert analyst["grade"] is None
    assert analyst["records"] == body["records"]


def test_grade_on_a_date_and_the_history(api_client: TestClient, api_city: ApiCity) -> None:
    firm = graded_with_reasons(api_client)
    day = api_city.scored.isoformat()
    latest = ok(api_client.get(f"/v1/enterprises/{firm}/grade", headers=REGULATOR))
    on_day = ok(api_client.get(f"/v1/enterprises/{firm}/grade?as_of={day}", headers=REGULATOR))
    assert latest == on_day
    history = ok(api_client.get(f"/v1/enterprises/{firm}/grades", headers=REGULATOR))
    assert history[-1] == latest
    missing = api_client.get(f"/v1/enterprises/{firm}/grade?as_of=2001-01-31", headers=REGULATOR)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_search_by_code_and_by_name_prefix(api_client: TestClient) -> None:
    idx = index(api_client)
    firm, name = str(idx.ids[0]), str(idx.names[0])
    by_code = ok(api_client.get(f"/v1/enterprises?q={firm}", headers=ANALYST))
    assert by_code["items"][0]["id"] == firm
    by_name = ok(api_client.get(f"/v1/enterprises?q={name[:4]}&limit=50", headers=ANALYST))
    assert all(item["name"].startswith(name[:4]) for item in by_name["items"])
    assert firm in {item["id"] for item in by_name["items"]} or len(by_name["items"]) == 50


def test_unknown_enterprise_is_404(api_client: TestClient) -> None:
    body = "91330200MA0000001"
    unknown = body + uscc_check_char(body)
    for path in ("", "/related-parties", "/ownership", "/beneficial-owners", "/guarantee-circle"):
        response = api_client.get(f"/v1/enterprises/{unknown}{path}", headers=REGULATOR)
        assert response.status_code == 404, path
        assert unknown in response.json()["message"]


def test_an_id_number_sent_as_an_enterprise_id_is_never_echoed(api_client: TestClient) -> None:
    id_number = "330203198001010028"
    for path in ("", "/related-parties", "/ownership"):
        response = api_client.get(f"/v1/enterprises/{id_number}{path}", headers=REGULATOR)
        assert response.status_code in (404, 422), path
        assert id_number not in response.text
        assert "330203********0028" in response.text
    one = api_client.get(f"/v1/screening?q={id_number}", headers=BANK)
    assert one.status_code in (404, 422) and id_number not in one.text
    batch = api_client.post("/v1/screening/batch", json={"queries": [id_number]}, headers=BANK)
    assert batch.status_code == 200 and id_number not in batch.text
    audit = api_client.get("/v1/audit?limit=50", headers=REGULATOR)
    assert "330203********0028" in audit.text and id_number not in audit.text


# -- inputs checked at the edge --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location", "words"),
    [
        ("/v1/enterprises/91350100M000100Y44", "path.enterprise_id", "check character"),
        ("/v1/enterprises/not-a-code", "path.enterprise_id", "not an enterprise id"),
        ("/v1/enterprises/91350100M000100Y43/related-parties?hops=50", "query.hops", "less than"),
        ("/v1/enterprises/91350100M000100Y43/related-parties?limit=100000", "query.limit", ""),
        ("/v1/enterprises/91350100M000100Y43/related-parties?offset=-1", "query.offset", ""),
        ("/v1/enterprises/91350100M000100Y43/ownership?depth=0", "query.depth", ""),
        ("/v1/paths?source=91350100M000100Y43&target=x", "query.target", "enterprise id"),
        ("/v1/enterprises/91350100M000100Y43/ownership?as_of=1000-01-01", "query.as_of", ""),
        ("/v1/plans/..etc", "path.plan_id", "pattern"),
    ],
)
def test_bad_inputs_are_422_with_the_field_and_why(
    api_client: TestClient, path: str, location: str, words: str
) -> None:
    response = api_client.get(path, headers=REGULATOR)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["location"] == location
    assert words in body["message"]
    assert not body["message"].startswith("Value error")


def test_a_lower_case_uscc_is_read_as_upper_case(api_client: TestClient) -> None:
    ids = index(api_client).ids[: index(api_client).n_enterprises].tolist()
    # A USCC with a letter in it (most have one: MA… codes, letter check characters).
    firm = next(str(i) for i in ids if str(i)[:2] in ("91", "92") and str(i).lower() != str(i))
    body = ok(api_client.get(f"/v1/enterprises/{firm.lower()}", headers=ANALYST))
    assert body["id"] == firm


@pytest.mark.parametrize(
    "text", ["' OR 1=1 --", "x}) MATCH (n) DETACH DELETE n //", "$id", "\x00", "宁波%"]
)
def test_text_reaches_queries_only_as_a_parameter(api_client: TestClient, text: str) -> None:
    found = ok(api_client.get("/v1/enterprises", params={"q": text}, headers=ANALYST))
    assert found["items"] == [] and found["total"] == 0
    assert ok(api_client.get("/health/ready"))["ready"]


# -- graph -----------------------------------------------------------------------------------


def test_related_parties_are_paths_from_the_firm_paged(api_client: TestClient) -> None:
    idx = index(api_client)
    degree = np.diff(idx.ties.indptr[: idx.n_enterprises + 1])
    firm = str(idx.ids[int(np.argmax(degree))])
    url = f"/v1/enterprises/{firm}/related-parties?hops=2&as_of={idx.as_of}"
    whole = ok(api_client.get(url + "&limit=200", headers=ANALYST))
    assert whole["items"], "the busiest firm has related parties"
    for path in whole["items"]:
        assert path["nodes"][0]["id"] == firm and path["nodes"][-1]["label"] == "Enterprise"
        assert len(path["edges"]) == path["length"] <= 2
        for edge, (a, b) in zip(
            path["edges"], zip(path["nodes"], path["nodes"][1:], strict=False), strict=True
        ):
            assert {edge["source"], edge["target"]} == {a["id"], b["id"]}
    assert whole["total"] == len(whole["items"]) and whole["total_exact"]
    pages, offset = [], 0
    while offset is not None:
        page = ok(api_client.get(url + f"&limit=7&offset={offset}", headers=ANALYST))
        assert page["total"] == whole["total"]
        pages += page["items"]
        offset = page["next_offset"]
    assert pages == whole["items"]


def test_neighbours_page_through_a_busy_node(api_client: TestClient) -> None:
    idx = index(api_client)
    degree = np.diff(idx.ties.indptr[: idx.n_enterprises + 1])
    firm = str(idx.ids[int(np.argmax(degree))])
    first = ok(api_client.get(f"/v1/enterprises/{firm}/neighbours?limit=2", headers=ANALYST))
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    assert first["total"] > 2 and first["total_exact"]
    seen, offset = [], 0
    while offset is not None:
        page = ok(
            api_client.get(
                f"/v1/enterprises/{firm}/neighbours?limit=2&offset={offset}", headers=ANALYST
            )
        )
        assert page["total"] == first["total"]
        seen += [(n["node"]["id"], n["edge"]["type"]) for n in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == first["total"]


def test_ownership_up_gives_chains_and_integrated_stakes(api_client: TestClient) -> None:
    idx = index(api_client)
    holders = [r for r in range(idx.n_enterprises) if len(idx.holders(r)) >= 2]
    firm = str(idx.ids[holders[0]])
    body = ok(
        api_client.get(f"/v1/enterprises/{firm}/ownership?as_of={idx.as_of}", headers=ANALYST)
    )
    assert body["stakes_as_of"] == idx.as_of.isoformat()
    assert body["chains"] and all(c["nodes"][0]["id"] == firm for c in body["chains"])
    stakes = body["stakes"]
    assert [s["integrated"] for s in stakes] == sorted(
        (s["integrated"] for s in stakes), reverse=True
    )
    for stake in stakes:
        assert 0 < stake["integrated"] <= 1
        assert stake["direct"] is None or stake["integrated"] >= stake["direct"] - 1e-9
    down = ok(api_client.get(f"/v1/enterprises/{firm}/ownership?direction=down", headers=ANALYST))
    assert down["direction"] == "down"
    # Without as_of, chains are of the served snapshot's day, as the stakes are: not today.
    plain = ok(api_client.get(f"/v1/enterprises/{firm}/ownership", headers=ANALYST))
    assert plain["as_of"] == plain["stakes_as_of"] == idx.as_of.isoformat()
    related = ok(api_client.get(f"/v1/enterprises/{firm}/related-parties", headers=ANALYST))
    assert related["as_of"] == idx.as_of.isoformat()


def test_beneficial_owners_hold_a_quarter_or_fall_back_to_the_legal_rep(
    api_client: TestClient,
) -> None:
    idx = index(api_client)
    seen = set()
    for row in range(0, idx.n_enterprises, 97):
        body = ok(
            api_client.get(f"/v1/enterprises/{idx.ids[row]}/beneficial-owners", headers=REGULATOR)
        )
        seen.add(body["basis"])
        for owner in body["owners"]:
            assert owner["node"]["label"] == "Person"
            if body["basis"] == "equity":
                assert owner["integrated"] >= 0.25 - 1e-9
    assert "equity" in seen


def test_path_between_two_firms_that_share_a_person(api_client: TestClient) -> None:
    idx = index(api_client)
    ties = idx.ties
    person = next(
        p
        for p in range(idx.n_enterprises, ties.n)
        if 2 <= ties.indptr[p + 1] - ties.indptr[p] <= 10
        and len(set(ties.neighbour[ties.indptr[p] : ties.indptr[p + 1]].tolist())) >= 2
    )
    firms = ties.neighbour[ties.indptr[person] : ties.indptr[person + 1]].tolist()
    a, b = sorted(set(firms))[:2]
    url = f"/v1/paths?source={idx.ids[a]}&target={idx.ids[b]}&max_hops=2"
    body = ok(api_client.get(url, headers=ANALYST))
    path = body["path"]
    assert path["nodes"][0]["id"] == idx.ids[a] and path["nodes"][-1]["id"] == idx.ids[b]
    assert path["length"] <= 2
    one_hop = ok(api_client.get(url.replace("max_hops=2", "max_hops=1"), headers=ANALYST))
    assert path["length"] == 2 or one_hop["path"] is not None


def test_paths_are_distinct_shortest_first_over_the_kinds_asked(api_client: TestClient) -> None:
    idx = index(api_client)
    # Two firms three steps apart: their paths of three steps come first, then longer ones.
    for start in range(idx.n_enterprises):
        reached = idx.ties.reach([start], 3)
        three = np.flatnonzero((reached.hops == 3) & (reached.node < idx.n_enterprises))
        if len(three):
            far = int(reached.node[three[0]])
            break
    url = f"/v1/paths?source={idx.ids[start]}&target={idx.ids[far]}&max_hops=5&k=10"
    body = ok(api_client.get(url, headers=ANALYST))
    lengths = [p["length"] for p in body["paths"]]
    assert lengths[0] == 3 and lengths == sorted(lengths) and body["path"] == body["paths"][0]
    assert len({tuple(n["id"] for n in p["nodes"]) for p in body["paths"]}) == len(lengths)
    for p in body["paths"]:
        assert p["nodes"][0]["id"] == idx.ids[start] and p["nodes"][-1]["id"] == idx.ids[far]
        for edge, (a, b) in zip(p["edges"], itertools.pairwise(p["nodes"]), strict=True):
            assert {edge["source"], edge["target"]} == {a["id"], b["id"]}
            if edge["type"] == "HOLDS_SHARES" and "share" in edge["properties"]:
                assert 0 <= edge["properties"]["share"] <= 1
    assert body["kinds"] == ["legal_rep", "officer", "shareholding", "guarantee"]
    only = ok(api_client.get(url + "&kinds=guarantee&kinds=shareholding", headers=ANALYST))
    assert only["kinds"] == ["guarantee", "shareholding"]
    for p in only["paths"]:
        assert {e["type"] for e in p["edges"]} <= {"GUARANTEES", "HOLDS_SHARES"}


def test_a_suspected_path_masks_the_shared_phone(api_client: TestClient) -> None:
    idx = index(api_client)
    snapshot = services(api_client).snapshot
    assert snapshot is not None
    phones = snapshot.enterprises["phone"].to_pylist()
    counts = Counter(p for p in phones if p)
    shared = next(v for v, n in counts.items() if 2 <= n <= 50)
    a, b = [r for r, v in enumerate(phones) if v == shared][:2]
    url = f"/v1/paths?source={idx.ids[a]}&target={idx.ids[b]}&max_hops=1&kinds=suspected"
    body = ok(api_client.get(url, headers=ANALYST))
    (path,) = body["paths"]
    edge = path["edges"][0]
    contact = edge["properties"]["contact"]
    assert edge["type"] == f"SHARES_{contact.upper()}" and edge["properties"]["firms"] >= 2
    assert edge["properties"]["weak"] == (edge["properties"]["firms"] > 10)
    assert contact == "address" or "*" in edge["properties"]["value"]
    assert shared not in json.dumps(body)
    for other in ok(api_client.get(url.replace("suspected", "guarantee"), headers=ANALYST))[
        "paths"
    ]:
        assert other["edges"][0]["type"] == "GUARANTEES"


def test_paths_on_another_date_are_refused_with_the_dates_saved(api_client: TestClient) -> None:
    idx = index(api_client)
    a, b = idx.ids[0], idx.ids[1]
    response = api_client.get(f"/v1/paths?source={a}&target={b}&as_of=2020-01-01", headers=ANALYST)
    assert response.status_code == 422, response.text
    assert f"snapshots saved: {idx.as_of}" in response.json()["message"]
    same = ok(api_client.get(f"/v1/paths?source={a}&target={b}&as_of={idx.as_of}", headers=ANALYST))
    assert same["as_of"] == idx.as_of.isoformat()
    bad = api_client.get(f"/v1/paths?source={a}&target={b}&kinds=phone", headers=ANALYST)
    assert bad.status_code == 422


# -- circles ---------------------------------------------------------------------------------


def test_circles_are_listed_by_amount_with_members_and_guarantees(api_client: TestClient) -> None:
    listed = ok(api_client.get("/v1/guarantee-circles?limit=200", headers=ANALYST))
    assert listed["total"] > 0
    amounts = [c["total_amount"] for c in listed["items"]]
    assert amounts == sorted(amounts, reverse=True)
    first = listed["items"][0]
    circle = ok(api_client.get(f"/v1/guarantee-circles/{first['circle_id']}", headers=ANALYST))
    members = {m["enterprise"]["id"] for m in circle["members"]}
    assert len(members) == circle["size"] == first["size"]
    assert circle["circle_id"] == min(members)
    assert len(circle["edges"]) == circle["guarantees"]
    assert all(e["guarantor"] in members and e["guaranteed"] in members for e in circle["edges"])
    bad = sum(m["bad"] for m in circle["members"])
    assert circle["bad_share"] == round(bad / circle["size"], 4)
    member = sorted(members)[-1]
    of = ok(api_client.get(f"/v1/enterprises/{member}/guarantee-circle", headers=ANALYST))
    assert of["circle"]["circle_id"] == circle["circle_id"]
    big = ok(api_client.get("/v1/guarantee-circles?min_size=3", headers=ANALYST))
    assert all(c["size"] >= 3 for c in big["items"])


def test_circle_guarantees_keep_their_currency_and_totals_convert_at_the_rate(
    tmp_path: Any,
) -> None:
    settings = AccessSettings(home=tmp_path / "home", api_keys=json.dumps(API_KEYS))
    a, b, c = (make_uscc(k) for k in (1, 2, 3))
    city = SnapshotBuilder().firms_named(a, b, c)
    city.tie("GUARANTEES", a, b, amount=1_000_000.0, currency="CNY")
    city.tie("GUARANTEES", b, c, amount=100_000.0, currency="USD")
    city.tie("GUARANTEES", c, a, amount=1_000.0, currency="EUR")
    city.build().save(settings.snapshots_dir / AS_OF.isoformat())
    header = "currency,cny_per_unit,as_of,source\n"
    settings.rates_path.write_text(header + f"USD,7.1,{AS_OF},test rate\n", encoding="utf-8")
    with TestClient(create_app(settings)) as client:
        (listed,) = ok(client.get("/v1/guarantee-circles", headers=ANALYST))["items"]
        # The USD guarantee counts at its rate; EUR has none: reported apart, never as 0.
        assert listed["total_amount"] == pytest.approx(1_000_000.0 + 710_000.0)
        assert listed["unconverted"] == {"EUR": 1_000.0}
        circle = ok(client.get(f"/v1/enterprises/{b}/guarantee-circle", headers=ANALYST))
        edges = {e["guarantor"]: e for e in circle["circle"]["edges"]}
        assert [(edges[x]["amount"], edges[x]["currency"]) for x in (a, b, c)] == [
            (1_000_000.0, "CNY"), (100_000.0, "USD"), (1_000.0, "EUR")
        ]  # fmt: skip
        assert edges[a]["amount_cny"] == 1_000_000.0
        assert edges[b]["amount_cny"] == pytest.approx(710_000.0)
        assert edges[c]["amount_cny"] is None
        assert circle["circle"]["unconverted"] == {"EUR": 1_000.0}
    # A rate table that cannot be trusted is refused with its line and field, not ignored.
    settings.rates_path.write_text(header + f"USD,-7.1,{AS_OF},test rate\n", encoding="utf-8")
    with TestClient(create_app(settings)) as client:
        refused = client.get("/v1/guarantee-circles", headers=ANALYST)
        assert refused.status_code == 503
        message = refused.json()["message"]
        assert "rates.csv is refused (line 2, field cny_per_unit:" in message
        assert str(tmp_path) not in message  # the server's folders stay on the server
        ready = client.get("/health/ready").json()
        assert any("rates.csv is refused" in p for p in ready["problems"])


def test_ownership_tree_sees_through_to_the_controller_and_stops_at_cycles(
    tmp_path: Any,
) -> None:
    settings = AccessSettings(home=tmp_path / "home", api_keys=json.dumps(API_KEYS))
    firm, hold, a, b, wide = (make_uscc(k) for k in (1, 2, 3, 4, 5))
    city = SnapshotBuilder().firms_named(firm, hold, a, b, wide).person("张三丰", "李四")
    city.tie("HOLDS_SHARES", "张三丰", hold, share=0.6).tie("HOLDS_SHARES", "李四", hold, share=0.4)
    city.tie("HOLDS_SHARES", hold, firm, share=0.9)
    city.tie("HOLDS_SHARES", a, b, share=0.3).tie("HOLDS_SHARES", b, a, share=0.2)
    holders = [f"h{k:03d}" for k in range(120)]
    city.person(*holders)
    for holder in holders:
        city.tie("HOLDS_SHARES", holder, wide, share=1 / 120)
    city.build().save(settings.snapshots_dir / AS_OF.isoformat())
    url = "/v1/enterprises/{}/ownership-tree"
    with TestClient(create_app(settings)) as client:
        body = ok(client.get(url.format(firm), headers=ANALYST))
        assert body["as_of"] == AS_OF.isoformat() and body["direction"] == "up"
        (top,) = body["tree"]["children"]
        assert top["node"]["id"] == hold and top["stake"] == pytest.approx(0.9)
        people = top["children"]
        assert [p["integrated"] for p in people] == [pytest.approx(0.54), pytest.approx(0.36)]
        assert people[0]["node"]["label"] == "Person"
        assert people[0]["node"]["name"] != "张三丰"  # masked for an analyst
        controller = body["controller"]
        assert controller["basis"] == "majority"
        assert controller["integrated"] == pytest.approx(0.54)
        assert [
            (s["holder"]["id"], s["enterprise"]["id"], s["stake"]) for s in controller["chain"]
        ] == [(people[0]["node"]["id"], hold, pytest.approx(0.6)), (hold, firm, 0.9)]
        owners = [o["integrated"] for o in body["beneficial_owners"]]
        assert owners == [pytest.approx(0.54), pytest.approx(0.36)]
        seen = ok(client.get(url.format(firm), headers=REGULATOR))
        assert seen["controller"]["node"]["name"] == "张三丰"
        # A → B → A: the cross-holding comes back once, marked, not expanded.
        cycle = ok(client.get(url.format(a) + "?depth=8", headers=ANALYST))
        (b_node,) = cycle["tree"]["children"]
        (again,) = b_node["children"]
        assert again["node"]["id"] == a and again["stop"] == "cycle" and again["children"] == []
        assert cycle["controller"]["basis"] == "no_holders"
        # 120 holders of 1/120 each: the ten shown and "and 110 more" with their stake.
        spread = ok(client.get(url.format(wide) + "?children=10", headers=ANALYST))
        assert len(spread["tree"]["children"]) == 10
        assert spread["tree"]["more"] == 110
        assert spread["tree"]["more_stake"] == pytest.approx(110 / 120)
        assert spread["controller"]["basis"] == "dispersed"
        assert spread["controller"]["node"] is None
        down = ok(client.get(url.format(hold) + "?direction=down", headers=ANALYST))
        assert [c["node"]["id"] for c in down["tree"]["children"]] == [firm]
        refused = client.get(url.format(firm) + "?depth=9", headers=ANALYST)
        assert refused.status_code == 422
        unknown = client.get(url.format(make_uscc(99)), headers=ANALYST)
        assert unknown.status_code == 404
        assert client.get(url.format(firm), headers=BANK).status_code == 403


def test_a_firm_outside_circles_has_none(api_client: TestClient) -> None:
    idx = index(api_client)
    row = next(r for r in range(idx.n_enterprises) if idx.circle_of(r) is None)
    body = ok(api_client.get(f"/v1/enterprises/{idx.ids[row]}/guarantee-circle", headers=ANALYST))
    assert body["circle"] is None
    not_an_id = api_client.get(f"/v1/guarantee-circles/{idx.ids[row]}", headers=ANALYST)
    assert not_an_id.status_code == 404


# -- screening -------------------------------------------------------------------------------


def test_a_black_listed_firm_screens_high_with_its_record(api_client: TestClient) -> None:
    firm = black_listed(api_client)
    body = ok(api_client.get(f"/v1/screening?q={firm}", headers=BANK))
    assert body["level"] == "high"
    assert body["findings"][0]["code"] in ("own_black_list", "own_dishonest_debtor")
    assert any(r["kind"] == "black_list" and r["in_force"] for r in body["active_records"])
    assert body["grade"] is None
    assert body["related"]["hops"] == 2
    regulator = ok(api_client.get(f"/v1/screening?q={firm}", headers=REGULATOR))
    assert regulator["level"] == "high"


def test_screening_by_exact_name(api_client: TestClient) -> None:
    idx = index(api_client)
    names = list(idx.names[: idx.n_enterprises])
    row = next(i for i, n in enumerate(names) if names.count(n) == 1)
    body = ok(api_client.get("/v1/screening", params={"q": names[row]}, headers=BANK))
    assert body["enterprise"]["id"] == idx.ids[row]
    prefix = api_client.get("/v1/screening", params={"q": names[row][:3]}, headers=BANK)
    assert prefix.status_code in (404, 422)
    # A name without its legal-form suffix is not an identification, but never a bare 404:
    # the answer names the candidates, this firm among them.
    short = names[row].removesuffix("有限公司")
    assert short != names[row]
    near = api_client.get("/v1/screening", params={"q": short}, headers=BANK)
    assert near.status_code == 404 and idx.ids[row] in near.json()["message"]


def test_screening_counts_contacts_shared_with_bad_firms_as_evidence(
    api_client: TestClient,
) -> None:
    """A rare address, phone or e-mail shared with a firm with bad records raises the level
    to elevated, with the value (masked where personal), the counts and the firms; a value
    used by more than 10 firms is noted as weak evidence and raises nothing."""
    idx = index(api_client)
    rare = weak = None
    for row in range(idx.n_enterprises):
        for shared in idx.shared_contacts(row):
            if shared.bad and not shared.weak and not idx.bad[row] and rare is None:
                rare = (row, shared)
            if shared.weak and weak is None:
                weak = (row, shared)
        if rare is not None and weak is not None:
            break
    assert rare is not None, "the city has firms sharing a contact with a bad firm"
    row, shared = rare
    body = ok(api_client.get(f"/v1/screening?q={idx.ids[row]}", headers=BANK))
    assert body["level"] in ("elevated", "high")
    found = next(c for c in body["shared_contacts"] if c["contact"] == shared.contact)
    assert found["firms"] == shared.firms and found["bad"] == shared.bad >= 1
    assert not found["weak"] and found["examples"]
    assert found["examples"][0]["id"] in {str(idx.ids[n]) for n in shared.examples}
    if shared.contact in ("phone", "email"):
        assert shared.value not in json.dumps(body, ensure_ascii=False)
        assert found["value"] != shared.value and "*" in found["value"]
    finding = next(f for f in body["findings"] if f["code"] == f"shared_{shared.contact}")
    assert (
        finding["level"] == "elevated"
        and f"with {shared.firms - 1} other firm" in (finding["text"])
    )
    assert weak is not None, "the city has a crowded address"
    row, shared = weak
    body = ok(api_client.get(f"/v1/screening?q={idx.ids[row]}", headers=BANK))
    crowded = next(c for c in body["shared_contacts"] if c["contact"] == shared.contact)
    assert crowded["weak"] and crowded["firms"] == shared.firms > 10
    note = next(f for f in body["findings"] if f["code"] == f"shared_{shared.contact}")
    assert note["level"] == "low" and "weak evidence" in note["text"]


def test_screening_answers_as_of_the_snapshot_it_states(api_client: TestClient) -> None:
    """Records count as they stood on the snapshot's date: one that starts after it is not
    in force in the answer, however late the request."""
    from risk.screening import screen

    idx = index(api_client)
    firm = str(idx.ids[int(np.flatnonzero(~idx.bad)[0])])
    record = {"id": "black_list:T-1", "kind": "black_list", "record_no": "T-1", "reason": "x"}
    later = screen(firm, [{**record, "start": idx.as_of + timedelta(days=1)}], idx)
    on_the_day = screen(firm, [{**record, "start": idx.as_of}], idx)
    assert later.snapshot_as_of == on_the_day.snapshot_as_of == idx.as_of
    assert "own_black_list" not in {f.code for f in later.findings}
    assert on_the_day.level == "high" and on_the_day.records


def test_single_screening_of_a_bad_code_is_422(api_client: TestClient) -> None:
    response = api_client.get("/v1/screening?q=91350100M000100Y44", headers=BANK)
    assert response.status_code == 422
    assert "USCC" in response.json()["message"]


def test_batch_of_100_answers_per_item_and_never_fails(api_client: TestClient) -> None:
    idx = index(api_client)
    good = [str(idx.ids[r]) for r in range(0, idx.n_enterprises, 61)][:95]
    body_unknown = "91330200MA0000002"
    queries = [
        *good,
        "91350100M000100Y44",
        "FOREIGN:??",
        body_unknown + uscc_check_char(body_unknown),
        "不存在的公司名称",
        str(idx.names[0])[:2],
    ]
    assert len(queries) == 100
    body = ok(api_client.post("/v1/screening/batch", json={"queries": queries}, headers=BANK))
    statuses = [item["status"] for item in body["items"]]
    assert [item["query"] for item in body["items"]] == queries
    assert statuses[:95] == ["ok"] * 95
    assert statuses[95:] == ["invalid", "invalid", "not_found", "not_found", "not_found"]
    assert body["items"][99]["candidates"]
    for item in body["items"][:95]:
        assert item["result"]["level"] in ("low", "elevated", "high")
        assert item["result"]["grade"] is None
    too_many = api_client.post(
        "/v1/screening/batch", json={"queries": good[:1] * 101}, headers=BANK
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["location"] == "body.queries"


# -- supervision -------------------------------------------------------------------------------


def test_plans_are_drawn_listed_exported_without_grades_and_replayed(
    api_client: TestClient, api_city: ApiCity
) -> None:
    spec = {
        "item": "食品安全抽查",
        "as_of": api_city.scored.isoformat(),
        "grading": api_city.model_version,
        "seed": 11,
        # Firms with a region code: foreign firms are outside the scored population.
        "regions": ["33"],
    }
    created = api_client.post(
        "/v1/plans", json={"spec": spec, "inspectors": "inspectors.csv"}, headers=REGULATOR
    )
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["seed"] == 11 and plan["objects"]
    assert plan["plan_id"] in {
        p["plan_id"] for p in ok(api_client.get("/v1/plans", headers=REGULATOR))["items"]
    }
    assert ok(api_client.get(f"/v1/plans/{plan['plan_id']}", headers=REGULATOR)) == plan
    export = api_client.get(f"/v1/plans/{plan['plan_id']}/export", headers=REGULATOR)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    header = export.text.splitlines()[0]
    assert "grade" not in header and "score" not in header
    replayed = api_client.post(
        f"/v1/plans/{plan['plan_id']}/replay",
        json={"inspectors": "inspectors.csv"},
        headers=REGULATOR,
    )
    assert ok(replayed) == {
        "plan_id": plan["plan_id"],
        "identical": True,
        "objects": len(plan["objects"]),
    }
    # The same draw again is the recorded plan, unchanged; another item is another plan.
    listed = len(ok(api_client.get("/v1/plans", headers=REGULATOR))["items"])
    again = api_client.post(
        "/v1/plans", json={"spec": spec, "inspectors": "inspectors.csv"}, headers=REGULATOR
    )
    assert again.status_code == 200, again.text
    assert again.json() == {**plan, "already_recorded": True}
    other = api_client.post(
        "/v1/plans",
        json={"spec": {**spec, "item": "另一检查事项"}, "inspectors": "inspectors.csv"},
        headers=REGULATOR,
    )
    assert other.status_code == 201 and other.json()["plan_id"] != plan["plan_id"]
    assert len(ok(api_client.get("/v1/plans", headers=REGULATOR))["items"]) == listed + 1


def test_a_ragged_inspector_file_is_422_naming_the_line_never_its_content(
    api_client: TestClient, api_city: ApiCity
) -> None:
    ragged = api_city.settings.inspectors_dir / "ragged.csv"
    id_number = "330203198001010015"
    ragged.write_text(
        "inspector_id,name,id_number,region_code,capacity,former_employers,relatives\n"
        f"I001,张三,,,10,,\nI002,李四,{id_number}\n",
        encoding="utf-8",
    )
    base = {"item": "抽查", "as_of": api_city.scored.isoformat(), "grading": api_city.model_version}
    try:
        response = api_client.post(
            "/v1/plans", json={"spec": base, "inspectors": "ragged.csv"}, headers=REGULATOR
        )
    finally:
        ragged.unlink()
    assert response.status_code == 422, response.text
    assert "ragged.csv line 3: 3 field(s) where the header has 7" in response.json()["message"]
    assert id_number not in response.text and "李四" not in response.text


def test_plan_refusals_say_why(api_client: TestClient, api_city: ApiCity) -> None:
    base = {"item": "抽查", "as_of": api_city.scored.isoformat(), "grading": api_city.model_version}
    cases = [
        ({"spec": {**base, "preset": "nowhere"}, "inspectors": "inspectors.csv"}, 422, "preset"),
        (
            {"spec": {**base, "grading": "no-such-model"}, "inspectors": "inspectors.csv"},
            422,
            "no grades",
        ),
        (
            {"spec": {**base, "as_of": "2020-01-31"}, "inspectors": "inspectors.csv"},
            422,
            "served snapshot",
        ),
        ({"spec": base, "inspectors": "missing.csv"}, 422, "no inspector file"),
        ({"spec": base, "inspectors": "../conftest.csv"}, 422, "pattern"),
        # A grading names a file in the scores folder: never one outside the data home.
        (
            {"spec": {**base, "grading": "../../../../x"}, "inspectors": "inspectors.csv"},
            422,
            "pattern",
        ),
        ({"spec": {**base, "grading": ".hidden"}, "inspectors": "inspectors.csv"}, 422, "pattern"),
    ]
    for body, status, words in cases:
        response = api_client.post("/v1/plans", json=body, headers=REGULATOR)
        assert response.status_code == status, response.text
        assert words in response.json()["message"]
    services(api_client).plan_lock.acquire()
    try:
        busy = api_client.post(
            "/v1/plans", json={"spec": base, "inspectors": "inspectors.csv"}, headers=REGULATOR
        )
    finally:
        services(api_client).plan_lock.release()
    assert busy.status_code == 429 and busy.headers["retry-after"]
    assert (
        api_client.get("/v1/plans/2025-01-01-abcdef-00000000", headers=REGULATOR).status_code == 404
    )


def test_extension_checks_list_and_one_firm(api_client: TestClient) -> None:
    listed = ok(api_client.get("/v1/extension-checks?limit=5", headers=REGULATOR))
    assert listed["total"] > 0 and listed["hops"] == 2
    row = listed["items"][0]
    assert row["path"][0][0] in (row["black_listed"]["id"],) or row["path"]
    firm = row["black_listed"]["id"]
    one = ok(api_client.get(f"/v1/extension-checks?black_listed={firm}&hops=1", headers=REGULATOR))
    assert all(r["black_listed"]["id"] == firm and r["hops"] <= 1 for r in one["items"])
    deeper = api_client.get("/v1/extension-checks?hops=3", headers=REGULATOR)
    assert deeper.status_code == 422 and "black_listed" in deeper.json()["message"]
    # Ranked by score over the whole list (as documented), not grouped by black-listed firm.
    every: list[dict[str, Any]] = []
    while len(every) < listed["total"]:
        page = f"/v1/extension-checks?limit=200&offset={len(every)}"
        every += ok(api_client.get(page, headers=REGULATOR))["items"]
    assert len({r["black_listed"]["id"] for r in every}) > 1
    scores = [r["score"] for r in every]
    known = [v for v in scores if v is not None]
    assert known == sorted(known, reverse=True)
    assert scores == known + [None] * (len(scores) - len(known))  # unscored last


def test_warnings_and_their_state_changes(api_client: TestClient) -> None:
    listed = ok(api_client.get("/v1/warnings?limit=5&state=new", headers=REGULATOR))
    assert listed["items"]
    first = listed["items"][0]
    seen = api_client.post(
        f"/v1/warnings/{first['id']}/state",
        json={"state": "seen", "note": "核查中"},
        headers=REGULATOR,
    )
    assert ok(seen)["state"] == "seen"
    detail = ok(api_client.get(f"/v1/warnings/{first['id']}", headers=REGULATOR))
    assert detail["history"][-1]["actor"] == "宁波市市场监督管理局"
    back = api_client.post(
        f"/v1/warnings/{first['id']}/state", json={"state": "seen"}, headers=REGULATOR
    )
    assert back.status_code == 422 and "cannot become" in back.json()["message"]
    assert api_client.get("/v1/warnings/999999999", headers=REGULATOR).status_code == 404


def test_every_warning_is_reachable_page_by_page(api_client: TestClient) -> None:
    first = ok(api_client.get("/v1/warnings?limit=200", headers=REGULATOR))
    assert first["total"] > 200, "the city should hold more warnings than one page"
    seen = [w["id"] for w in first["items"]]
    offset = first["next_offset"]
    while offset is not None:
        page = ok(api_client.get(f"/v1/warnings?limit=200&offset={offset}", headers=REGULATOR))
        assert page["total"] == first["total"]
        seen += [w["id"] for w in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == first["total"]
    # Paging is documented in the OpenAPI on every list with a total.
    schema = api_client.get("/openapi.json").json()
    parameters = {p["name"] for p in schema["paths"]["/v1/warnings"]["get"]["parameters"]}
    assert {"limit", "offset"} <= parameters


def test_every_list_answer_pages_the_same_way(api_client: TestClient) -> None:
    """Every GET answer holding a list of ``items`` is paged alike: total, total_exact and
    next_offset in the answer, limit and offset among its parameters (OpenAPI). (A POST's
    items answer its request one by one, as the batch screening.)"""
    schema = api_client.get("/openapi.json").json()
    models = schema["components"]["schemas"]
    lists = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            answer = operation["responses"].get("200", {}).get("content", {})
            ref = answer.get("application/json", {}).get("schema", {}).get("$ref")
            if ref is None or method != "get":
                continue
            properties = models[ref.rsplit("/", 1)[1]].get("properties", {})
            if properties.get("items", {}).get("type") != "array":
                continue
            lists.append(path)
            assert {"total", "total_exact", "next_offset"} <= properties.keys(), path
            parameters = {p["name"] for p in operation.get("parameters", [])}
            assert {"limit", "offset"} <= parameters, path
    assert {
        "/v1/enterprises",
        "/v1/enterprises/{enterprise_id}/neighbours",
        "/v1/enterprises/{enterprise_id}/related-parties",
        "/v1/guarantee-circles",
        "/v1/extension-checks",
        "/v1/warnings",
        "/v1/plans",
        "/v1/watchlists",
        "/v1/audit",
    } <= set(lists)


def test_search_plans_and_watchlists_page_with_a_total(api_client: TestClient) -> None:
    idx = index(api_client)
    prefix = str(idx.names[0])[:2]
    expected = sum(str(n).startswith(prefix) for n in idx.names[: idx.n_enterprises])
    seen, offset = [], 0
    while offset is not None:
        page = ok(
            api_client.get(
                "/v1/enterprises",
                params={"q": prefix, "limit": 50, "offset": offset},
                headers=ANALYST,
            )
        )
        assert page["total"] == expected and page["total_exact"]
        seen += [n["id"] for n in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == expected > 1
    for url in ("/v1/plans", "/v1/watchlists"):
        whole = ok(api_client.get(url, headers=REGULATOR))
        assert whole["total"] == len(whole["items"]) and whole["next_offset"] is None
        if whole["total"] > 1:
            second = ok(api_client.get(f"{url}?limit=1&offset=1", headers=REGULATOR))
            assert second["items"] == whole["items"][1:2] and second["total"] == whole["total"]


def test_banks_watch_their_own_lists_and_never_see_grade_warnings(api_client: TestClient) -> None:
    warned = ok(api_client.get("/v1/warnings?type=grade_worsened&limit=20", headers=REGULATOR))
    firms = sorted({w["enterprise_id"] for w in warned["items"]})
    assert firms, "the fixture raises grade warnings"
    created = api_client.post("/v1/watchlists", json={"name": "授信客户"}, headers=BANK)
    assert created.status_code == 201 and created.json()["owner_kind"] == "bank"
    added = api_client.post(
        "/v1/watchlists/授信客户/members", json={"enterprise_ids": firms}, headers=BANK
    )
    assert ok(added)["changed"] == len(firms)
    seen = ok(api_client.get("/v1/warnings?watchlist=授信客户&limit=200", headers=BANK))
    assert all(w["type"] != "grade_worsened" for w in seen["items"])
    assert (
        api_client.get(
            "/v1/warnings?watchlist=授信客户&type=grade_worsened", headers=BANK
        ).status_code
        == 403
    )
    assert api_client.get("/v1/warnings", headers=BANK).status_code == 422
    assert api_client.get("/v1/watchlists/授信客户", headers=OTHER_BANK).status_code == 404
    assert ok(api_client.get("/v1/watchlists", headers=OTHER_BANK))["items"] == []
    assert api_client.get("/v1/watchlists/授信客户", headers=REGULATOR).status_code == 200
    body = "91330200MA0000003"
    unknown = api_client.post(
        "/v1/watchlists/授信客户/members",
        json={"enterprise_ids": [body + uscc_check_char(body)]},
        headers=BANK,
    )
    assert unknown.status_code == 404
    removed = api_client.post(
        "/v1/watchlists/授信客户/members/remove", json={"enterprise_ids": firms[:1]}, headers=BANK
    )
    assert ok(removed)["changed"] == 1


def test_a_bank_sees_its_borrowers_join_a_guarantee_circle(api_client: TestClient) -> None:
    joined = ok(api_client.get("/v1/warnings?type=joined_circle&limit=20", headers=REGULATOR))
    firms = sorted({w["enterprise_id"] for w in joined["items"]})
    assert firms, "the fixture raises joined_circle warnings"
    created = api_client.post("/v1/watchlists", json={"name": "贷后客户"}, headers=BANK)
    assert created.status_code == 201
    added = api_client.post(
        "/v1/watchlists/贷后客户/members", json={"enterprise_ids": firms}, headers=BANK
    )
    assert ok(added)["changed"] == len(firms)
    chinese = {**BANK, "Accept-Language": "zh-CN"}
    seen = ok(
        api_client.get(
            "/v1/warnings?watchlist=贷后客户&type=joined_circle&limit=200", headers=chinese
        )
    )
    assert {w["enterprise_id"] for w in seen["items"]} == set(firms)
    assert all(w["evidence_text"].startswith("担保圈共") for w in seen["items"]), seen
    for kind in ("legal_rep_changed", "controller_changed"):
        url = f"/v1/warnings?watchlist=贷后客户&type={kind}"
        assert api_client.get(url, headers=BANK).status_code == 200


# -- errors ------------------------------------------------------------------------------------


class _FailingStore:
    """A store whose every read fails as the error says."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_entity(self, node_id: str) -> None:
        raise self.error

    def close(self) -> None:
        """Nothing to release."""


def _failing_services(api_client: TestClient, error: Exception, tmp_path: Any) -> Services:
    """The served services with a store that raises ``error`` on every call."""
    real = services(api_client)
    return Services(
        settings=real.settings,
        home=real.home,
        keyring=real.keyring,
        audit=real.audit.__class__(tmp_path / "audit.sqlite3"),
        store=_FailingStore(error),  # type: ignore[arg-type]
        store_problem=None,
        snapshot=real.snapshot,
        index=real.index,
        snapshot_problem=None,
        grades=real.grades,
        extension=real.extension,
    )


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (StoreError("cannot reach the database"), "store_unavailable", "cannot reach"),
        (
            SchemaMismatchError("created with another domain schema"),
            "store_schema_mismatch",
            "restarted",
        ),
    ],
)
def test_store_errors_are_503_with_what_to_do(
    api_client: TestClient,
    api_city: ApiCity,
    error: Exception,
    code: str,
    words: str,
    tmp_path: Any,
) -> None:
    broken = _failing_services(api_client, error, tmp_path)
    with TestClient(create_app(api_city.settings, broken)) as client:
        response = client.get(f"/v1/enterprises/{black_listed(api_client)}", headers=ANALYST)
        assert response.status_code == 503
        assert response.json()["code"] == code and words in response.json()["message"]
        assert response.headers["retry-after"]
        assert client.get("/health/ready").status_code == 503
    broken.audit.close()


def test_an_unexpected_error_is_json_with_a_request_id_the_log_has(
    api_client: TestClient, api_city: ApiCity, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    failure = RuntimeError("invalid node offset in /var/secret/graph.lbdb")
    broken = _failing_services(api_client, failure, tmp_path)
    app = create_app(api_city.settings, broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(f"/v1/enterprises/{black_listed(api_client)}", headers=ANALYST)
    broken.audit.close()
    assert response.status_code == 500
    body = response.json()
    request_id = response.headers["x-request-id"]
    assert body["code"] == "internal_error" and request_id in body["message"]
    assert "/var/secret" not in response.text and "offset" not in response.text
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_body_over_the_limit_is_413_and_a_keyless_body_is_never_read(
    api_client: TestClient,
) -> None:
    from api.auth import MAX_BODY_BYTES

    huge = b'{"queries": ["' + b"9" * (MAX_BODY_BYTES + 1) + b'"]}'
    for headers in ({"content-type": "application/json"}, {"transfer-encoding": "chunked"}):
        sent = {**BANK, **headers}
        body = huge if "content-type" in headers else iter([huge[:100], huge[100:]])
        response = api_client.post("/v1/screening/batch", content=body, headers=sent)
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "too_large"
    # Without a key the body is refused unread: malformed JSON gets a 401, not a 422.
    keyless = api_client.post("/v1/screening/batch", content=b"{not json", headers={})
    assert keyless.status_code == 401 and keyless.json()["code"] == "unauthenticated"
    rows = ok(api_client.get("/v1/audit?limit=5", headers=REGULATOR))["items"]
    assert {"status": 413, "client": "甬城银行"}.items() <= rows[1].items()


# -- audit -------------------------------------------------------------------------------------


def test_every_request_is_audited_with_who_and_subjects(api_client: TestClient) -> None:
    firm = black_listed(api_client)
    api_client.get(f"/v1/enterprises/{firm}", headers={"X-API-Key": "wrong"})
    api_client.get(f"/v1/enterprises/{firm}/grade", headers=BANK)
    api_client.post(
        "/v1/screening/batch", json={"queries": [firm, "91350100M000100Y44"]}, headers=BANK
    )
    rows = ok(api_client.get(f"/v1/audit?subject={firm}&limit=10", headers=REGULATOR))["items"]
    batch, refused, anonymous = rows[0], rows[1], rows[2]
    assert batch["route"] == "/v1/screening/batch" and batch["client"] == "甬城银行"
    assert batch["subjects"] == [firm] and batch["status"] == 200
    assert refused["status"] == 403 and refused["role"] == "bank"
    assert anonymous["status"] == 401 and anonymous["client"] == "anonymous"
    assert all("key" not in row["path"] for row in rows)
    refusals = ok(api_client.get("/v1/audit?outcome=refused&client=甬城银行", headers=REGULATOR))
    assert all(400 <= r["status"] < 500 for r in refusals["items"])
    older = ok(api_client.get(f"/v1/audit?before_id={rows[0]['id']}&limit=1", headers=REGULATOR))
    assert older["items"][0]["id"] < rows[0]["id"]


def test_the_audit_log_pages_through_a_fixed_list(api_client: TestClient) -> None:
    """Each request is logged too: the first page's before_id keeps later pages fixed."""
    first = ok(api_client.get("/v1/audit?limit=3", headers=REGULATOR))
    assert first["total"] > 3 and first["next_offset"] == 3
    bound, seen, offset = first["before_id"], [r["id"] for r in first["items"]], 3
    while offset is not None:
        page = ok(
            api_client.get(
                f"/v1/audit?limit=3&offset={offset}&before_id={bound}", headers=REGULATOR
            )
        )
        assert page["total"] == first["total"] and page["before_id"] == bound
        seen += [r["id"] for r in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == first["total"]
    assert seen == sorted(seen, reverse=True) and max(seen) < bound


def test_the_audit_log_refuses_updates_and_deletes(api_client: TestClient) -> None:
    path = services(api_client).audit.path
    with sqlite3.connect(path) as conn:
        for statement in (
            "UPDATE audit SET client = 'x'",
            "DELETE FROM audit",
            "DELETE FROM audit_subject",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)


def test_keys_are_never_written_to_the_audit_log(api_client: TestClient) -> None:
    api_client.get("/v1/guarantee-circles", headers=ANALYST)
    data = services(api_client).audit.path.read_bytes()
    wal = services(api_client).audit.path.with_name("audit.sqlite3-wal")
    data += wal.read_bytes() if wal.exists() else b""
    for key in ("regulator-key", "bank-key", "analyst-key"):
        assert key.encode() not in data


# -- name matching (risk/matching.py) ------------------------------------------------------------


def _unique_firm(idx: SnapshotIndex) -> int:
    names = list(idx.names[: idx.n_enterprises])
    return next(
        i
        for i, n in enumerate(names)
        if n and names.count(n) == 1 and n.endswith("有限公司") and idx.legal_representatives(i)
    )


def test_matching_a_name_as_written_finds_the_firm_with_scores_and_reasons(
    api_client: TestClient,
) -> None:
    idx = index(api_client)
    row = _unique_firm(idx)
    name = str(idx.names[row])
    # Another legal form and full-width brackets around nothing: the same firm, confidently.
    given = name.removesuffix("有限公司") + "有限责任公司"
    body = ok(api_client.get("/v1/screening/match", params={"name": given}, headers=BANK))
    assert body["matched"]["enterprise"]["id"] == idx.ids[row]
    assert body["matched"]["score"] == 100.0
    assert "legal form 有限责任公司 given, 有限公司 registered" in body["matched"]["reasons"]
    assert body["screening"]["enterprise"]["id"] == idx.ids[row]
    # One character wrong: offered as the best candidate, not taken.
    typo = name[:3] + ("甲" if name[3] != "甲" else "乙") + name[4:]
    body = ok(api_client.get("/v1/screening/match", params={"name": typo}, headers=BANK))
    assert body["matched"] is None and body["screening"] is None
    assert body["candidates"][0]["enterprise"]["id"] == idx.ids[row]
    assert any("but 1 character(s)" in r for r in body["candidates"][0]["reasons"])
    # Screening by that name is not a bare 404: the near names are offered.
    near = api_client.get("/v1/screening", params={"q": typo}, headers=BANK)
    assert near.status_code == 404 and idx.ids[row] in near.json()["message"]


def test_batch_match_takes_a_uscc_and_lets_a_wrong_legal_representative_veto(
    api_client: TestClient,
) -> None:
    idx = index(api_client)
    row = _unique_firm(idx)
    name, firm = str(idx.names[row]), str(idx.ids[row])
    rep = str(idx.names[idx.legal_representatives(row)[0]])
    applicants = [
        {"name": name, "legal_representative": rep},
        {"name": name, "legal_representative": "查无此人"},
        {"name": "完全不同的名字", "uscc": firm},
        {"name": name, "uscc": make_uscc(999_999)},
    ]
    body = ok(api_client.post("/v1/screening/match", json={"applicants": applicants}, headers=BANK))
    assert body["threshold"] == 92.0
    confirmed, vetoed, by_uscc, unknown_uscc = body["items"]
    assert confirmed["matched"]["enterprise"]["id"] == firm
    assert "legal representative given is the registered one" in confirmed["matched"]["reasons"]
    assert vetoed["matched"] is None
    assert (
        "legal representative given is not the registered one" in vetoed["candidates"][0]["reasons"]
    )
    assert by_uscc["matched"]["enterprise"]["id"] == firm
    assert by_uscc["matched"]["reasons"][0] == "the USCC given"
    assert unknown_uscc["matched"] is None
    assert "the USCC given is not registered" in unknown_uscc["candidates"][0]["reasons"]
    # The person's name is never echoed, whatever matched.
    assert rep not in json.dumps(body, ensure_ascii=False)
    too_many = api_client.post(
        "/v1/screening/match", json={"applicants": [{"name": "x"}] * 101}, headers=BANK
    )
    assert too_many.status_code == 422
    assert api_client.get("/v1/screening/match?name=x", headers=ANALYST).status_code == 403
