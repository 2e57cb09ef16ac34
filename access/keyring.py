"""API keys and who holds them, shared by the HTTP API (``api.auth``) and the board
(``dashboard.auth``): one key check for both, and nothing here imports a web framework.

Keys come from the settings (``CREDITGRAPH_API_KEYS``, read by ``access.settings``) and map to
a client name and a role (:class:`ApiClient`):

- ``regulator``: everything, grades and sampling plans included;
- ``bank``: screening (with a screening level, never the grade) and watchlists; person
  names masked;
- ``analyst``: graph exploration and aggregates (related parties, ownership, circles);
  person names masked; no grades, no screening, no supervision.

Keys are kept only as SHA-256 digests and a presented key is compared with every one in
constant time, so the answer time does not tell how much of a key was right. Keys are never
logged: the audit log names the client.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

ApiRole = Literal["regulator", "bank", "analyst"]
ROLES: tuple[str, ...] = get_args(ApiRole)
HEADER = "X-API-Key"


class ApiClient(BaseModel):
    """Who holds an API key: a name for the audit log and the role that decides access."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    role: ApiRole


def mask_name(name: str | None) -> str | None:
    """A person's name with all but its first character starred: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key holder's name and role."""

    name: str
    role: str

    @property
    def sees_grades(self) -> bool:
        """Grades, scores and model reasons are for regulators only (不公开)."""
        return self.role == "regulator"

    @property
    def sees_screening(self) -> bool:
        """Screening levels are for those who screen borrowers: regulators and banks."""
        return self.role in ("regulator", "bank")

    @property
    def sees_graph(self) -> bool:
        """Ownership and the related-party graph are for explorers: regulators and analysts."""
        return self.role in ("regulator", "analyst")

    def person_name(self, name: str | None) -> str | None:
        """A person's name as this caller may see it."""
        return name if self.role == "regulator" else mask_name(name)


class KeyRing:
    """The configured keys as digests, looked up in constant time."""

    def __init__(self, clients: dict[str, ApiClient]) -> None:
        self._entries = [(_digest(key), client) for key, client in clients.items()]

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str) -> ApiClient | None:
        """The holder of ``key``, or None; compares with every entry whatever matches."""
        presented = _digest(key)
        found = None
        for digest, client in self._entries:
            if hmac.compare_digest(digest, presented):
                found = client
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
