"""Settings that production refuses: unsafe defaults say what is needed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from graph_model.settings import Settings


@pytest.mark.parametrize("salt", ["", "short", "a" * 40, "creditgraph-development-salt"])
def test_production_refuses_an_empty_or_weak_salt(salt: str) -> None:
    with pytest.raises(ValidationError, match="at least 16 random characters"):
        Settings(environment="production", person_id_salt=salt)


def test_production_takes_a_random_salt() -> None:
    assert Settings(environment="production", person_id_salt="9f8e7d6c5b4a39281706f5e4d3c2b1a0")
