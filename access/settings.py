"""The settings of the HTTP API and the board: every command's settings
(``graph_model.settings.Settings``) and the API keys, from the same environment (prefix
``CREDITGRAPH_``). Read when ``creditgraph serve`` or ``creditgraph board`` starts, then
passed to the app factories; never read at import time."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import SecretStr, ValidationError, model_validator

from access.keyring import ApiClient
from graph_model.settings import Settings

MIN_PRODUCTION_KEY_LENGTH = 32
"""API keys shorter than this are refused in production (a guessable or test key)."""


class AccessSettings(Settings):
    """Configuration of the API and the board: the installation's, and who may ask."""

    # API keys as JSON: {"<key>": {"name": "<client>", "role": "regulator|bank|analyst"}}. A
    # secret: never printed, logged nor put in an error message. Empty: every request but
    # health is refused. Production refuses keys shorter than 32 characters.
    api_keys: SecretStr = SecretStr("{}")

    @model_validator(mode="after")
    def _refuse_weak_keys(self) -> AccessSettings:
        clients = self.api_clients()
        if self.environment == "production" and any(
            len(key) < MIN_PRODUCTION_KEY_LENGTH for key in clients
        ):
            raise ValueError(
                f"CREDITGRAPH_API_KEYS: every key must have at least {MIN_PRODUCTION_KEY_LENGTH} "
                "characters in production"
            )
        return self

    def api_clients(self) -> dict[str, ApiClient]:
        """The API keys and who holds them; refuses malformed JSON without echoing a key."""
        try:
            raw = json.loads(self.api_keys.get_secret_value())
        except json.JSONDecodeError:
            raise ValueError("CREDITGRAPH_API_KEYS is not valid JSON") from None
        if not isinstance(raw, dict):
            raise ValueError('CREDITGRAPH_API_KEYS must be a JSON object {"<key>": {...}}')
        clients = {}
        for number, (key, holder) in enumerate(raw.items(), start=1):
            # Entries are named by position: the key itself is the secret.
            if not key:
                raise ValueError(f"CREDITGRAPH_API_KEYS entry {number}: the key is empty")
            try:
                clients[key] = ApiClient.model_validate(holder)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
                )
                raise ValueError(f"CREDITGRAPH_API_KEYS entry {number}: {problems}") from None
        return clients

    @property
    def audit_path(self) -> Path:
        """The append-only audit log of the API and the board, an SQLite database."""
        return self.home / "audit" / "audit.sqlite3"
