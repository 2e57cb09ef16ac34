"""Names for what the command line prints: persons by name rather than by their key, and
paths of relations in words, read from saved snapshots. A key stays where no name is known
(no saved snapshot of the date, or a person filed without a name)."""

from __future__ import annotations

import json
import re

from graph_model.snapshot import Snapshot

PERSON_KEY = re.compile(r"\bP[0-9a-f]{24}\b")
"""A person key as ``graph_model.identifiers.person_key`` makes it."""

RELATION_WORDS = {
    "LEGAL_REP": "legal representative",
    "OFFICER": "officer",
    "HOLDS_SHARES": "holds shares",
    "GUARANTEES": "guarantees",
}


def with_names(text: str, names: dict[str, str]) -> str:
    """``text`` with every person key replaced by the person's name, where known."""
    return PERSON_KEY.sub(lambda found: names.get(found[0], found[0]), text)


class PathWords:
    """Paths of a snapshot in words: enterprises by id, persons by name, each relation by
    its word and, for officers, their role (``director``, ``supervisor``...)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        persons = snapshot.persons
        self._names = {
            key: name
            for key, name in zip(
                persons["id"].to_pylist(), persons["name"].to_pylist(), strict=True
            )
            if name
        }

    def _word(self, source: str, rel_type: str, target: str) -> str:
        """The relation's word; an officer's role when the snapshot has it."""
        relation = self._snapshot.relations.get(rel_type)
        if (
            rel_type != "OFFICER"
            or relation is None
            or "role" not in relation.properties.column_names
        ):
            return RELATION_WORDS.get(rel_type, rel_type)
        src, dst = self._snapshot.index_of([source, target]).tolist()
        if src < 0 or dst < 0:
            return RELATION_WORDS[rel_type]
        start, stop = relation.indptr[src], relation.indptr[src + 1]
        rows = [start + k for k, node in enumerate(relation.indices[start:stop]) if node == dst]
        roles = relation.properties["role"].take(rows).to_pylist()
        return "/".join(dict.fromkeys(r for r in roles if r)) or RELATION_WORDS[rel_type]

    def text(self, root: str, path: str) -> str:
        """A stored path (JSON ``[[source, TYPE, target], ...]``) walked from ``root``:
        ``91330… ←legal representative— 张三 —director→ 91330…``."""
        here, words = root, [self._names.get(root, root)]
        for source, rel_type, target in json.loads(path):
            word = self._word(source, rel_type, target)
            if source == here:
                words += [f"—{word}→", self._names.get(target, target)]
                here = target
            else:
                words += [f"←{word}—", self._names.get(source, source)]
                here = source
        return " ".join(words)
