"""Role boundaries, route by route: every route but health refuses a missing or unknown key,
admits exactly the roles it documents, and a bank never reads a grade or a whole person name
by any route."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEYS, ApiCity
from fastapi.testclient import TestClient

from access.keyring import ROLES, mask_name
from access.settings import AccessSettings
from api.app import create_app
from api.services import Services

KEY_OF_ROLE = {"regulator": "regulator-key", "bank": "bank-key", "analyst": "analyst-key"}
EXPECTED = {
    "/health": None,
    "/health/ready": None,
    "/v1/screening": ("regulator", "bank"),
    "/v1/screening/batch": ("regulator", "bank"),
    "/v1/watchlists": ("regulator", "bank"),
    "/v1/warnings": ("regulator", "bank"),
    "/v1/audit": ("regulator",),
    "/v1/plans": ("regulator",),
    "/v1/extension-checks": ("regulator",),
    "/v1/enterprises/{enterprise_id}/grade": ("regulator",),
    "/v1/enterprises/{enterprise_id}/grades": ("regulator",),
    "/v1/guarantee-circles": ("regulator", "analyst"),
    "/v1/enterprises/{enterprise_id}/related-parties": ("regulator", "analyst"),
}
"""The issue's boundaries, stated independently of the code for the routes that carry them."""


class _NoServices:
    """Enough of :class:`Services` to build an app whose OpenAPI document is only read."""

    audit = None
    keyring = None


def _operations() -> dict[tuple[str, str], tuple[str, ...] | None]:
    """(method, path) of every documented operation → its roles (None: no key)."""
    spec = create_app(AccessSettings(), _NoServices()).openapi()  # type: ignore[arg-type]
    out: dict[tuple[str, str], tuple[str, ...] | None] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            roles = tuple(operation["x-roles"])
            out[(method.upper(), path)] = roles or None
    return out


OPERATIONS = _operations()


def _roles(client: TestClient, method: str, path: str) -> tuple[str, ...] | None:
    return OPERATIONS[(method, path)]


def _url(client: TestClient, path: str) -> str:
    """The route's path with real values: a known enterprise, circle, plan, warning, list."""
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    index = services.require_index()
    values = {
        "enterprise_id": str(index.ids[0]),
        "circle_id": index.circles[0].circle_id,
        "plan_id": "2025-01-01-abcdef-00000000",
        "warning_id": "1",
        "name": "no-such-list",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_the_route_list_is_what_the_issue_asks(api_client: TestClient) -> None:
    for path, roles in EXPECTED.items():
        methods = [m for m, p in OPERATIONS if p == path]
        assert methods, path
        for method in methods:
            assert _roles(api_client, method, path) == roles, (method, path)


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_no_key_or_a_wrong_key_is_401(api_client: TestClient, method: str, path: str) -> None:
    roles = _roles(api_client, method, path)
    url = _url(api_client, path)
    for headers in ({}, {"X-API-Key": "not-a-key"}, {"X-API-Key": "regulator-key "}):
        response = api_client.request(method, url, headers=headers, json={})
        if roles is None:
            assert response.status_code in (200, 503)
        else:
            assert response.status_code == 401, (headers, response.text)
            assert response.headers["www-authenticate"] == "ApiKey"


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_routes(
    api_client: TestClient, method: str, path: str, role: str
) -> None:
    roles = _roles(api_client, method, path)
    # An empty body: allowed callers get past the role check (then 422 or an answer).
    response = api_client.request(
        method, _url(api_client, path), headers={"X-API-Key": KEY_OF_ROLE[role]}, json={}
    )
    if roles is None or role in roles:
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403, response.text
        assert role in response.json()["message"]


def _walk(value: Any) -> Any:
    """Every dict inside a JSON value."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


def _assert_no_grades(body: Any) -> None:
    for item in _walk(body):
        assert item.get("grade") is None, item
        assert "score" not in item and "reasons" not in item and "rank" not in item, item


def _assert_names_masked(body: Any) -> None:
    for item in _walk(body):
        if item.get("label") == "Person" and item.get("name"):
            assert set(item["name"][1:]) <= {"*"}, item


def test_a_bank_reads_no_grade_by_any_route(api_client: TestClient, api_city: ApiCity) -> None:
    services: Services = api_client.app.state.services  # type: ignore[attr-defined]
    book = services.grades
    assert book is not None
    worst = book.table.sort_by([("rank", "ascending")])["id"].to_pylist()[:20]
    bank = {"X-API-Key": "bank-key"}
    answers = [api_client.get(f"/v1/screening?q={firm}", headers=bank) for firm in worst]
    answers.append(api_client.post("/v1/screening/batch", json={"queries": worst}, headers=bank))
    api_client.post("/v1/watchlists", json={"name": "最差二十家"}, headers=bank)
    api_client.post(
        "/v1/watchlists/最差二十家/members", json={"enterprise_ids": worst}, headers=bank
    )
    answers.append(api_client.get("/v1/warnings?watchlist=最差二十家&limit=200", headers=bank))
    answers.append(api_client.get("/v1/watchlists/最差二十家", headers=bank))
    for response in answers:
        assert response.status_code == 200, response.text
        _assert_no_grades(response.json())
        _assert_names_masked(response.json())
    grade_routes = [
        path for method, path in OPERATIONS if "grade" in path or path.startswith("/v1/plans")
    ]
    for path in grade_routes:
        assert api_client.get(_url(api_client, path), headers=bank).status_code in (403, 405)
    regulator = api_client.get(
        f"/v1/screening?q={worst[0]}", headers={"X-API-Key": "regulator-key"}
    )
    assert regulator.json()["grade"]["rank"] == 1


def test_analysts_and_banks_see_person_names_masked(api_client: TestClient) -> None:
    services: Services = api_client.app.state.services  # type: ignore[attr-defined]
    index = services.require_index()
    with_owners = [r for r in range(0, index.n_enterprises, 37) if index.beneficial_owners(r)][:10]
    assert with_owners
    for row in with_owners:
        firm = index.ids[row]
        for key in ("analyst-key", "regulator-key"):
            headers = {"X-API-Key": key}
            bodies = [
                api_client.get(f"/v1/enterprises/{firm}/{what}", headers=headers).json()
                for what in ("beneficial-owners", "ownership", "related-parties", "neighbours")
            ]
            persons = [i for b in bodies for i in _walk(b) if i.get("label") == "Person"]
            assert persons
            for person in persons:
                real = index.names[index.node(person["id"])]
                expected = mask_name(real) if key == "analyst-key" else real
                assert person["name"] == expected


def test_keys_are_compared_whole(api_client: TestClient) -> None:
    for key in API_KEYS:
        for wrong in (key[:-1], key + "x", key.upper(), ""):
            response = api_client.get("/v1/guarantee-circles", headers={"X-API-Key": wrong})
            assert response.status_code == 401


def test_roles_are_documented_in_openapi(api_client: TestClient) -> None:
    spec = api_client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for operation in item.values():
            roles = operation["x-roles"]
            assert ("Roles: " if roles else "No API key") in operation["description"], path
    assert list(spec["components"]["securitySchemes"]) == ["APIKeyHeader"]


def test_docs_api_lists_every_route() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    for _, path in OPERATIONS:
        short = path.removeprefix("/v1")
        # Query-less route names as written in the table: `GET /enterprises/{id}/grade?…`.
        written = re.sub(r"\{(enterprise_id|warning_id)\}", "{id}", short)
        assert written.split("/{name}")[0] in text, path
