"""Fuzzing the API from its own OpenAPI document (schemathesis): whatever inputs the schema
allows (positive) or nearly allows (negative), no answer is a server error, and every answer
has the documented content type and schema.

Requests carry the regulator's key, so that they get past the role check to the inputs; the
examples per operation and mode are bounded so that the whole run stays around a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from conftest import ApiCity
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from access.settings import AccessSettings
from api.app import create_app

EXAMPLES = 20


class _NoServices:
    """Enough of the services to build an app whose OpenAPI document is only read."""

    audit = None
    keyring = None


OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in create_app(AccessSettings(), _NoServices()).openapi()["paths"].items()  # type: ignore[arg-type]
    for method in item
)


@pytest.fixture(scope="session")
def api_schema(api_city: ApiCity, api_client: TestClient) -> Any:
    """The OpenAPI document of an app over the test app's services. Schemathesis ends the
    lifespan of the apps it calls after each test: this app does not own what it serves."""
    app = create_app(api_city.settings, api_client.app.state.services)  # type: ignore[attr-defined]
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_input_makes_a_server_error(api_schema: Any, method: str, path: str) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def call(case: Any) -> None:
        case.call_and_validate(
            headers={"X-API-Key": "regulator-key"},
            # Not schemathesis' acceptance checks: a schema-valid string is often not a valid
            # USCC (the check character is beyond JSON Schema), and refusing it is right.
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )

    call()
