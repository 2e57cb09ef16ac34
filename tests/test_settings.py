"""Settings that production refuses: unsafe defaults say what is needed; API keys that are
malformed are refused without echoing a key."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from access.settings import AccessSettings
from graph_model.settings import Settings


@pytest.mark.parametrize("salt", ["", "short", "a" * 40, "creditgraph-development-salt"])
def test_production_refuses_an_empty_or_weak_salt(salt: str) -> None:
    with pytest.raises(ValidationError, match="at least 16 random characters"):
        Settings(environment="production", person_id_salt=salt)


def test_production_takes_a_random_salt() -> None:
    assert Settings(environment="production", person_id_salt="9f8e7d6c5b4a39281706f5e4d3c2b1a0")


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ("a-secret-key", "CREDITGRAPH_API_KEYS is not valid JSON"),
        ('["a-secret-key"]', "CREDITGRAPH_API_KEYS must be a JSON object"),
        ('{"": {"name": "x", "role": "bank"}}', "CREDITGRAPH_API_KEYS entry 1: the key is empty"),
        ('{"a-secret-key": {"name": "x", "role": "boss"}}', "entry 1: role: Input should be"),
        ('{"a-secret-key": {"role": "bank"}}', "entry 1: name: Field required"),
    ],
)
def test_malformed_api_keys_are_refused_without_echoing_a_key(keys: str, said: str) -> None:
    with pytest.raises(ValidationError, match=said) as refused:
        AccessSettings(api_keys=keys)
    assert "a-secret-key" not in str(refused.value)


def _keys(key: str) -> str:
    return json.dumps({key: {"name": "x", "role": "bank"}})


def test_production_refuses_short_api_keys() -> None:
    production = {"environment": "production", "person_id_salt": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}
    short, long = "k" * 31, "k" * 32
    with pytest.raises(ValidationError, match="at least 32 characters in production"):
        AccessSettings(**production, api_keys=_keys(short))
    assert list(AccessSettings(**production, api_keys=_keys(long)).api_clients()) == [long]
    assert list(AccessSettings(api_keys=_keys(short)).api_clients()) == [short]


def test_the_keys_are_read_with_the_api_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """CREDITGRAPH_API_KEYS is the API's and the board's (access/settings.py): every command's
    settings leave it alone, the API's read it."""
    monkeypatch.setenv("CREDITGRAPH_API_KEYS", "not JSON")
    assert "api_keys" not in Settings.model_fields
    Settings()
    with pytest.raises(ValidationError, match="CREDITGRAPH_API_KEYS is not valid JSON"):
        AccessSettings()
