"""Identifier checks: USCC (GB 32100-2015), resident ID (GB 11643-1999), external ids and
the person key."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from conftest import make_resident_id, make_uscc

from graph_model.identifiers import (
    USCC_ALPHABET,
    enterprise_id_valid_array,
    is_valid_uscc,
    normalise_id_number,
    person_id_valid_array,
    person_key,
    resident_id_check_char,
    resident_id_valid_array,
    uscc_check_char,
    uscc_valid_array,
)

DOMAIN_EXAMPLES = ("91350100M000100Y43", "91110000600037341L")


# -- USCC -------------------------------------------------------------------


@pytest.mark.parametrize("code", DOMAIN_EXAMPLES)
def test_domain_examples_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", DOMAIN_EXAMPLES)
def test_every_other_check_char_is_invalid(code: str) -> None:
    others = [code[:17] + c for c in USCC_ALPHABET if c != code[17]]
    assert not uscc_valid_array(others).any()


@pytest.mark.parametrize("letter", list("IOSVZ"))
@pytest.mark.parametrize("position", [0, 9, 16])
def test_letters_outside_the_alphabet_are_invalid(letter: str, position: int) -> None:
    body = list(DOMAIN_EXAMPLES[0][:17])
    body[position] = letter
    # No check character can rescue a body holding I, O, S, V or Z.
    candidates = ["".join(body) + c for c in USCC_ALPHABET]
    assert not uscc_valid_array(candidates).any()


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_letters_outside_the_alphabet_are_invalid_as_check_char(letter: str) -> None:
    assert not is_valid_uscc(DOMAIN_EXAMPLES[0][:17] + letter)


@pytest.mark.parametrize(
    "code",
    [
        "",
        DOMAIN_EXAMPLES[0][:17],
        DOMAIN_EXAMPLES[0] + "0",
        DOMAIN_EXAMPLES[0].lower(),
        " " + DOMAIN_EXAMPLES[0][1:],
        # Full-width digits and letters: 18 characters, but not the ASCII alphabet.
        "".join(chr(ord(c) + 0xFEE0) for c in DOMAIN_EXAMPLES[0]),
    ],
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not is_valid_uscc(code)


def test_array_check_agrees_with_the_formula_on_random_codes() -> None:
    rng = random.Random(20240101)
    bodies = ["".join(rng.choice(USCC_ALPHABET) for _ in range(17)) for _ in range(2000)]
    good = [b + uscc_check_char(b) for b in bodies]
    bad = [b + USCC_ALPHABET[(USCC_ALPHABET.index(uscc_check_char(b)) + 1) % 31] for b in bodies]
    assert uscc_valid_array(good).all()
    assert not uscc_valid_array(bad).any()
    # Mixed input: non-strings and wrong lengths are False, not errors.
    mixed = uscc_valid_array(np.array([good[0], None, 18, bad[0]], dtype=object))
    assert mixed.tolist() == [True, False, False, False]


def test_made_uscc_is_valid() -> None:
    assert is_valid_uscc(make_uscc(1))
    assert make_uscc(1) != make_uscc(2)


# -- resident ID numbers ------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "11010519491231002x", "440524188001010014", make_resident_id(7)],
)
def test_resident_id_valid(number: str) -> None:
    assert resident_id_valid_array([number]).all()


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check character (should be X)
        "440524188001010015",
        "11010519491231002",  # 17 characters
        "11010519491231002XX",
        "1101051949123100AX",  # letter in the body
        "",
    ],
)
def test_resident_id_invalid(number: str) -> None:
    assert not resident_id_valid_array([number]).any()


def test_resident_id_check_char_gives_x_for_ten() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    rng = random.Random(7)
    bodies = ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(1000)]
    numbers = [b + resident_id_check_char(b) for b in bodies]
    assert resident_id_valid_array(numbers).all()
    assert any(n.endswith("X") for n in numbers)


# -- external ids and other documents -------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "REG:330200000012345",
        "REG:3302000000123",
        "FOREIGN:HK:1234567",
        "FOREIGN:DE:HRB 12345",
        "SRC:kek:3828",
        "SRC:open_corp:a-1.b_2",
        DOMAIN_EXAMPLES[1],
    ],
)
def test_enterprise_ids_accepted(value: str) -> None:
    assert enterprise_id_valid_array([value]).all()


@pytest.mark.parametrize(
    "value",
    [
        "REG:12345",  # too short
        "REG:3302000000123456",  # too long
        "REG:33020000001234X",
        "FOREIGN:hk:1234567",  # country in lower case
        "FOREIGN:HKG:1234567",
        "FOREIGN:HK:",
        "SRC:KEK:3828",  # source name in lower case only
        "SRC:k:3828",  # source name of at least two characters
        "SRC:kek:",
        "SRC:kek:38 28",
        "kek:3828",
        "XYZ:3828",
        "REG:330200000012345 ",
        "3828",
    ],
)
def test_enterprise_ids_refused(value: str) -> None:
    assert not enterprise_id_valid_array([value]).any()


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("PASSPORT:US:123456789", True),
        ("PASSPORT:us:123456789", False),
        ("PASSPORT:US:1234", False),
        ("HKMO:H12345678", True),
        ("HKMO:H1234", False),
        ("TW:A123456789", True),
        ("IDCARD:123", False),
    ],
)
def test_person_documents(value: str, ok: bool) -> None:
    assert person_id_valid_array([value]).tolist() == [ok]


# -- person key -----------------------------------------------------------------


def test_person_key_is_stable_and_shaped() -> None:
    number = make_resident_id(1)
    key = person_key(number, "salt-a")
    assert key == person_key(number, "salt-a")
    assert re.fullmatch(r"P[0-9a-f]{24}", key)


def test_person_key_depends_on_salt_and_number() -> None:
    number = make_resident_id(1)
    assert person_key(number, "salt-a") != person_key(number, "salt-b")
    assert person_key(number, "salt-a") != person_key(make_resident_id(2), "salt-a")


def test_person_key_never_contains_the_number() -> None:
    rng = random.Random(3)
    for serial in range(200):
        number = make_resident_id(serial, birth=f"19{rng.randrange(50, 99)}0101")
        key = person_key(number, "s")
        # Not the number, nor any 6-digit piece of it (region, birth date).
        assert not any(number[i : i + 6] in key for i in range(13))


@pytest.mark.parametrize(
    "variant",
    ["11010519491231002x", " 11010519491231002X ", "110105 19491231 002X", "110105\t19491231002x"],
)
def test_person_key_normalises_case_and_spaces(variant: str) -> None:
    assert normalise_id_number(variant) == "11010519491231002X"
    assert person_key(variant, "s") == person_key("11010519491231002X", "s")
