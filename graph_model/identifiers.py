"""Identifier checks: USCC (GB 32100-2015), resident ID numbers (GB 11643-1999),
external enterprise ids, person source ids and the person keys (by ID number, by source
id, or by name within one enterprise).

The array versions check a whole column at once; loaders validate millions of
rows and a Python loop per row would dominate the load time.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import load_domain

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Byte → USCC value; 255 marks characters outside the alphabet.
_USCC_VALUE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_c)] = _i
_USCC_VALUE.setflags(write=False)


def uscc_check_char(body17: str) -> str:
    """Check character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True when ``code`` is 18 characters of the alphabet with a correct check character."""
    return bool(uscc_valid_array([code])[0])


Strings: TypeAlias = "Iterable[str] | pa.Array | pa.ChunkedArray"


def _as_arrow(values: Strings) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    # Anything that is not a string (None, numbers from a loose source) is simply invalid.
    return pa.array([v if isinstance(v, str) else None for v in values], pa.string())


def _fixed_width(values: Strings, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pack strings into an (n, width) uint8 array; second result marks right-length ASCII."""
    arr = _as_arrow(values).cast(pa.string())
    ok_arrow = pc.fill_null(
        pc.and_(pc.equal(pc.binary_length(arr), width), pc.string_is_ascii(arr)), False
    )
    ok = np.asarray(ok_arrow.to_numpy(zero_copy_only=False), dtype=bool)
    packed = np.zeros((len(arr), width), dtype=np.uint8)
    good = arr.filter(ok_arrow)
    if len(good):
        # Filtered strings of one width lie back to back in the data buffer.
        offsets = np.frombuffer(good.buffers()[1], dtype=np.int32)[good.offset :]
        data = np.frombuffer(good.buffers()[2], dtype=np.uint8)
        packed[ok] = data[offsets[0] : offsets[0] + len(good) * width].reshape(-1, width)
    return packed, ok


def uscc_valid_array(values: Strings) -> np.ndarray:
    """Vectorised USCC check: a boolean per value."""
    packed, ok = _fixed_width(values, 18)
    vals = _USCC_VALUE[packed]
    ok &= (vals != 255).all(axis=1)
    total = (vals[:, :17].astype(np.int64) * np.array(USCC_WEIGHTS)).sum(axis=1)
    expected = (31 - total % 31) % 31
    return np.asarray(ok & (vals[:, 17] == expected))


def resident_id_valid_array(values: Strings) -> np.ndarray:
    """Vectorised check of 18-character resident ID numbers (GB 11643-1999)."""
    packed, ok = _fixed_width(values, 18)
    digits = packed[:, :17].astype(np.int64) - ord("0")
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    total = (digits * np.array(_ID_WEIGHTS)).sum(axis=1)
    expected = np.frombuffer(_ID_CHECK.encode("ascii"), dtype=np.uint8)[total % 11]
    last = packed[:, 17].copy()
    last[last == ord("x")] = ord("X")
    return np.asarray(ok & (last == expected))


def resident_id_check_char(body17: str) -> str:
    """Check character for the first 17 digits of a resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def uscc_check_char_array(bodies: np.ndarray) -> np.ndarray:
    """Vectorised :func:`uscc_check_char`: check characters of many USCC bodies at once.

    ``bodies`` is an (n, 17) uint8 array of ASCII codes of alphabet characters; the
    result holds the n check characters as ASCII codes (uint8). Generators build
    millions of codes and a Python call per code would dominate their run time.
    """
    vals = _USCC_VALUE[np.asarray(bodies, dtype=np.uint8)]
    if vals.ndim != 2 or vals.shape[1] != 17:
        raise ValueError("expected an (n, 17) array of USCC bodies")
    if (vals == 255).any():
        raise ValueError("a USCC body holds a character outside the alphabet")
    total = (vals.astype(np.int64) * np.array(USCC_WEIGHTS)).sum(axis=1)
    alphabet = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)
    return np.asarray(alphabet[(31 - total % 31) % 31])


def resident_id_check_char_array(bodies: np.ndarray) -> np.ndarray:
    """Vectorised :func:`resident_id_check_char` over an (n, 17) uint8 array of ASCII digits.

    Returns the n check characters as ASCII codes (uint8; ``X`` for ten).
    """
    digits = np.asarray(bodies, dtype=np.uint8).astype(np.int64) - ord("0")
    if digits.ndim != 2 or digits.shape[1] != 17:
        raise ValueError("expected an (n, 17) array of ID number bodies")
    if ((digits < 0) | (digits > 9)).any():
        raise ValueError("an ID number body holds a character other than a digit")
    total = (digits * np.array(_ID_WEIGHTS)).sum(axis=1)
    return np.asarray(np.frombuffer(_ID_CHECK.encode("ascii"), dtype=np.uint8)[total % 11])


def _pattern(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def external_id_pattern() -> re.Pattern[str]:
    """Regex matching every documented external enterprise id scheme."""
    schemes = load_domain().identifiers["external"]["schemes"]
    return _pattern(s["pattern"] for s in schemes.values())


def person_document_pattern() -> re.Pattern[str]:
    """Regex matching non-resident identity documents (passport, HK/Macao, Taiwan)."""
    return _pattern(load_domain().identifiers["person_schemes"].values())


ID_NUMBER, SOURCE_ID, NAME_ONLY = "id_number", "source_id", "name"
"""Strengths of a person's identity (the stored ``identity``), strongest first. A person
known by name only is scoped to one enterprise and never ties two firms together."""


def _person_source_schemes() -> dict[str, dict[str, str]]:
    """The external id schemes persons may be keyed by (``identifiers.person_source``)."""
    ids = load_domain().identifiers
    external = ids["external"]["schemes"]
    return {name: external[name] for name in ids["person_source"]["schemes"]}


def person_source_pattern() -> re.Pattern[str]:
    """Regex matching a person's source id (``SRC:<dataset>:<id>``)."""
    return _pattern(s["pattern"] for s in _person_source_schemes().values())


def person_source_prefixes() -> tuple[str, ...]:
    """How a person source id begins (``SRC:``): a reference that does is a source id, any
    other an ID number."""
    return tuple(f"{name}:" for name in _person_source_schemes())


def person_source_valid_array(values: Strings) -> np.ndarray:
    """A documented person source id, per value."""
    pattern = person_source_pattern()
    return np.array(
        [v is not None and pattern.fullmatch(v) is not None for v in _as_arrow(values).to_pylist()],
        dtype=bool,
    )


def person_ref_valid_array(values: Strings) -> np.ndarray:
    """A reference to a person in a relation row: an ID number (as
    :func:`person_id_valid_array`) or a person source id."""
    docs = load_domain().identifiers["person_schemes"].values()
    sources = (s["pattern"] for s in _person_source_schemes().values())
    return _coded_or_scheme(values, resident_id_valid_array, _pattern([*docs, *sources]))


def _coded_or_scheme(
    values: Strings, coded: Callable[[Strings], np.ndarray], pattern: re.Pattern[str]
) -> np.ndarray:
    """Values passing the check-character test, or else matching a documented scheme."""
    arr = _as_arrow(values).cast(pa.string())
    ok = coded(arr)
    rest = np.flatnonzero(~ok)
    if len(rest):
        others = arr.take(pa.array(rest)).to_pylist()
        ok[rest] = [v is not None and pattern.fullmatch(v) is not None for v in others]
    return ok


def enterprise_id_valid_array(values: Strings) -> np.ndarray:
    """A USCC with a correct check character, or a documented external id."""
    return _coded_or_scheme(values, uscc_valid_array, external_id_pattern())


def person_id_valid_array(values: Strings) -> np.ndarray:
    """A resident ID number with a correct check character, or a documented other document."""
    return _coded_or_scheme(values, resident_id_valid_array, person_document_pattern())


def mask_person_ref(value: str) -> str:
    """A person reference fit for logs and reject files: a source id as given (not secret),
    anything else masked as an ID number."""
    return value if value.startswith(person_source_prefixes()) else mask_id_number(value)


def mask_id_number(id_number: str) -> str:
    """An ID number fit for logs and reject files: region and last 4 kept, the rest starred."""
    text = normalise_id_number(id_number)
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_contact(kind: str, value: str) -> str:
    """A phone or e-mail fit to show beside a suspected relation: it may be a person's own,
    so a phone keeps its first 3 and last 2 digits, an e-mail the first character of its
    name and its domain. An address (a registered business address, public) is kept."""
    if kind == "phone":
        return value[:3] + "*" * max(len(value) - 5, 0) + value[-2:] if len(value) > 5 else "***"
    if kind == "email":
        name, at, domain = value.partition("@")
        return f"{name[:1]}***{at}{domain}"
    return mask_id_numbers_in(value)


_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


def mask_id_numbers_in(text: str) -> str:
    """``text`` with every run that may be a resident ID number (18 characters, or the old
    15 digits) masked, whatever its check character: a mistyped number is still someone's.
    Valid USCCs, which can be all digits too, are kept."""

    def mask(match: re.Match[str]) -> str:
        value = match.group(0)
        return value if is_valid_uscc(value) else mask_id_number(value)

    return _ID_LIKE.sub(mask, text)


def normalise_id_number(id_number: str) -> str:
    """Upper case without spaces: the form that is hashed."""
    return "".join(id_number.split()).upper()


def salt_fingerprint(salt: str) -> str:
    """A short fingerprint of the person-key salt, stored with the graph so that a load with
    another salt (which would store everybody a second time under new keys) is refused. It
    names the salt without revealing it: a hash of a domain-separated string."""
    return hashlib.sha256(f"creditgraph person salt\x1f{salt}".encode()).hexdigest()[:16]


def person_key(id_number: str, salt: str) -> str:
    """Stable, salted key of a person; the ID number itself is never stored."""
    digest = hashlib.sha256(f"{salt}\x1f{normalise_id_number(id_number)}".encode()).hexdigest()
    return "P" + digest[:24]


def person_source_key(source_id: str, salt: str) -> str:
    """Key of a person identified by a source id (as given: source ids keep their case).

    Hashed like an ID number, under its own tag, so that keys of every identity have one
    form and a source id never collides with an enterprise's id of the same source."""
    digest = hashlib.sha256(f"{salt}\x1fsource\x1f{source_id}".encode()).hexdigest()
    return "P" + digest[:24]


def normalise_person_name(name: str) -> str:
    """The form of a name that keys a name-only person: NFKC (full-width folded), runs of
    spaces as one, case folded."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def person_name_key(enterprise_id: str, name: str, salt: str) -> str:
    """Key of a person known by name only, scoped to the enterprise that names them: the
    same name at another enterprise is another person."""
    text = f"{salt}\x1fname\x1f{enterprise_id}\x1f{normalise_person_name(name)}"
    return "P" + hashlib.sha256(text.encode()).hexdigest()[:24]
