"""Find an enterprise by the name an applicant writes: ranked candidates with a score and
the reasons for it, as a bank screens applicants.

A name is compared by its *core*: Unicode NFKC (full-width letters, digits and brackets
become half-width), traditional characters as simplified (OpenCC's ``t2s`` data), Latin
letters in lower case, brackets, spaces and punctuation dropped, and the legal form at the
end (有限公司, 有限责任公司, 股份有限公司, Co., Ltd., Limited…) set aside. Cores are compared
with rapidfuzz's normalised Indel similarity (0-100); a query in Latin letters is also
compared with the pinyin of the registered names (pypinyin), so ``Ningbo Fanxiang Dianzi
Shangwu`` finds 宁波帆祥电子商务有限公司. A firm's former names (曾用名) are matched as its
registered name is, and a candidate found by one says so.

Cost: building the matcher normalises every name once (O(N) in the names' length; the
pinyin of the register is computed on the first Latin query, about 30 µs a name). A query
scans every core once in rapidfuzz's C code (``process.extract``): O(N·L) with L the core
length, about 0.1 s for a million names here; no index beyond the cores is kept.

The score threshold of a confident match (:data:`CONFIDENT`) was chosen on a labelled set
of perturbed demo names (docs/matching.md, tests/test_matching.py).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from opencc import OpenCC
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

CONFIDENT = 92.0
"""A candidate scoring this or more (and alone at its score) is a match; below it the
candidates are offered, never taken (docs/matching.md: how it was chosen)."""

CANDIDATES = 5
"""Candidates answered per query by default."""

LEGAL_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "有限合伙",
    "companylimited",
    "coltd",
    "limited",
    "ltd",
    "gmbh",
    "inc",
    "corporation",
    "corp",
    "co",
)
"""Legal forms set aside at the end of a core (longest first; Latin ones as they read once
spaces and punctuation are dropped)."""

_DROPPED = re.compile(r"[\s()\[\]{}<>《》【】「」'\"`.,;:!?&·・、，。；：！？\-_/\\]+")
_LATIN = re.compile(r"[a-z]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_FORMER_SEPARATORS = re.compile(r"[；;|\n]+")


def former_names(value: str | None) -> list[str]:
    """The former names of an enterprise's ``former_names`` field (domain.yaml), in order."""
    return [n.strip() for n in _FORMER_SEPARATORS.split(value or "") if n.strip()]


@dataclass(frozen=True)
class Core:
    """A name as it is compared: its core and the legal form set aside ("" when none)."""

    core: str
    form: str
    simplified: bool
    """Whether traditional characters were read as simplified ones."""


@functools.cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def core_of(name: str) -> Core:
    """The core of a name (see the module docstring)."""
    given = unicodedata.normalize("NFKC", name).strip().lower()
    simple = _t2s().convert(given)
    text = _DROPPED.sub("", simple)
    form = ""
    for candidate in LEGAL_FORMS:
        if text.endswith(candidate) and len(text) > len(candidate):
            text, form = text[: -len(candidate)], candidate
            break
    return Core(text, form, simple != given)


def _pinyin_table(keys: Sequence[str]) -> dict[int, str]:
    """Each Chinese character of ``keys`` → its toneless pinyin (its usual reading: a
    character read otherwise in a phrase differs by a letter or two, as a typo would)."""
    chars = {c for key in keys for c in key if "\u4e00" <= c <= "\u9fff"}
    return {ord(c): lazy_pinyin(c)[0] for c in sorted(chars)}


class _Grams:
    """Which keys share a run of ``n`` characters with a query: candidates before scoring.

    The keys' code points are read at once (NumPy over their UTF-32 text); every run of
    ``n`` is a number, sorted with the key it is in. A query's runs find their keys by
    binary search; runs in more than ``COMMON`` of the keys (宁波, 有限) are skipped unless
    the query has no other. Cost: O(K log K) to build for K runs in all keys; a query
    O(r log K + hits), hits being the keys sharing a run.
    """

    COMMON = 0.05

    def __init__(self, keys: Sequence[str], n: int) -> None:
        self.n = n
        self.size = len(keys)
        lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
        points = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32)
        windows = max(len(points) - n + 1, 0)
        # A window of n characters counts where it starts and ends inside one key.
        row = np.repeat(np.arange(len(keys)), lengths)
        inside = np.arange(len(points)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        fits = (inside + n <= np.repeat(lengths, lengths))[:windows]
        codes = self._codes(points, n)[fits]
        rows = row[:windows][fits]
        order = np.lexsort((rows, codes))
        self.codes, self.rows = codes[order], rows[order]

    @staticmethod
    def _codes(points: np.ndarray, n: int) -> np.ndarray:
        codes = points[: len(points) - n + 1].astype(np.int64)
        for k in range(1, n):
            codes = codes * 0x110000 + points[k : len(points) - n + 1 + k]
        return codes

    def candidates(self, key: str, most: int) -> np.ndarray:
        """Up to ``most`` keys sharing the most runs with ``key``, in no order."""
        if len(key) < self.n:
            return np.arange(self.size) if self.size <= most else np.zeros(0, np.int64)
        points = np.frombuffer(key.encode("utf-32-le"), dtype=np.uint32)
        wanted = np.unique(self._codes(points, self.n))
        lo = np.searchsorted(self.codes, wanted, "left")
        hi = np.searchsorted(self.codes, wanted, "right")
        present = hi > lo
        rare = present & ((hi - lo) <= self.COMMON * self.size)
        use = rare if rare.any() else present
        if not use.any():
            return np.zeros(0, np.int64)
        lo, hi = lo[use], hi[use]
        hits = np.concatenate([self.rows[a:b] for a, b in zip(lo, hi, strict=True)])
        found, shared = np.unique(hits, return_counts=True)
        if len(found) <= most:
            return found
        return found[np.argpartition(-shared, most - 1)[:most]]


@dataclass(frozen=True)
class Candidate:
    """A registered enterprise a query may mean: its score (0-100) and why."""

    id: str
    name: str
    score: float
    reasons: tuple[str, ...]


class NameMatcher:
    """Ranked candidates for a name among the registered ones.

    Args:
        ids: enterprise ids, aligned with ``names``.
        names: registered names (None where a firm has none: never matched).
        former: the firms' ``former_names`` fields, aligned with ``names`` (None: none).

    A *key* is one name a firm is known by: its registered name or a former one.
    """

    SHORTLIST = 2_000
    """Keys scored per query: those sharing the most character runs with it."""

    def __init__(
        self,
        ids: Sequence[str],
        names: Sequence[str | None],
        former: Sequence[str | None] | None = None,
    ) -> None:
        keep = [i for i, name in enumerate(names) if name]
        self._ids = [ids[i] for i in keep]
        self._names = [str(names[i]) for i in keep]
        # Registered names first (key k is firm k), then former names with their firm.
        given = former or [None] * len(names)
        olds = [(k, old) for k, i in enumerate(keep) for old in former_names(given[i])]
        self._firm = list(range(len(keep))) + [k for k, _ in olds]
        self._texts = self._names + [old for _, old in olds]
        self._cores = [core_of(text) for text in self._texts]
        self._keys = [c.core for c in self._cores]
        self._grams = _Grams(self._keys, 2)
        table = _pinyin_table(self._keys)
        self._pinyin = table
        self._pinyin_keys = [key.translate(table) for key in self._keys]
        self._pinyin_grams = _Grams(self._pinyin_keys, 3)

    def __len__(self) -> int:
        return len(self._ids)

    def match(self, name: str, limit: int = CANDIDATES) -> list[Candidate]:
        """The best ``limit`` candidates for ``name``, best first (at one score, firms found
        by their registered name before those found by a former one, then by id); none
        under a score of 50. A firm is a candidate once, by its best key."""
        query = core_of(name)
        if not query.core:
            return []
        rows, scores = self._scores(query.core)
        ranked = sorted(
            (-float(score), row >= len(self._ids), self._ids[self._firm[row]], int(row))
            for row, score in zip(rows, scores, strict=True)
            if score >= 50
        )
        out: list[Candidate] = []
        seen: set[int] = set()
        for score, _, _, row in ranked:
            if len(out) == limit:
                break
            if self._firm[row] not in seen:
                seen.add(self._firm[row])
                out.append(self._candidate(row, name, query, -score))
        return out

    def _scores(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The shortlisted keys for ``key`` and their scores."""
        if _LATIN.search(key) and not _CJK.search(key):
            rows = self._pinyin_grams.candidates(key, self.SHORTLIST)
            keys = [self._pinyin_keys[r] for r in rows]
        else:
            rows = self._grams.candidates(key, self.SHORTLIST)
            keys = [self._keys[r] for r in rows]
        if len(rows) == 0:
            return rows, np.zeros(0)
        scores = process.cdist([key], keys, scorer=fuzz.ratio, workers=1)[0]
        return rows, np.asarray(scores, dtype=float)

    def _candidate(self, i: int, given: str, query: Core, score: float) -> Candidate:
        found = self._cores[i]
        firm = self._firm[i]
        reasons: list[str] = []
        if i != firm:
            reasons.append(f"a former name (曾用名): {self._texts[i]}")
        the = "the registered name" if i == firm else "the former name"
        if given.strip() == self._texts[i]:
            reasons.append(f"{the}, as given")
        elif query.core == found.core:
            reasons.append(f"{the} once legal form, brackets, width and case are set aside")
        elif _LATIN.search(query.core) and query.core == self._pinyin_keys[i]:
            reasons.append(f"the pinyin of {the}")
        else:
            edits = Levenshtein.distance(query.core, found.core)
            if (
                _LATIN.search(query.core)
                and not _CJK.search(query.core)
                and _CJK.search(found.core)
            ):
                edits = Levenshtein.distance(query.core, self._pinyin_keys[i])
                reasons.append(f"the pinyin of {the} but {edits} letter(s)")
            else:
                reasons.append(f"{the} but {edits} character(s)")
        if query.form != found.form and given.strip() != self._texts[i]:
            shown = {"": "none"}
            reasons.append(
                f"legal form {shown.get(query.form, query.form)} given, "
                f"{shown.get(found.form, found.form)} registered"
            )
        if query.simplified:
            reasons.append("traditional characters read as simplified")
        return Candidate(self._ids[firm], self._names[firm], round(score, 1), tuple(reasons))


def confident(candidates: Sequence[Candidate], threshold: float = CONFIDENT) -> Candidate | None:
    """The candidate a query is taken to mean: the best, when it scores ``threshold`` or
    more and no other candidate scores as much (two firms of one name are not told apart)."""
    if not candidates or candidates[0].score < threshold:
        return None
    if len(candidates) > 1 and candidates[1].score >= candidates[0].score:
        return None
    return candidates[0]
