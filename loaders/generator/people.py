"""The people of the demo city: their numbers, roles, ID numbers and names.

:class:`People` hands out person numbers while the stages draw; :func:`compact_people`
renumbers those who hold a role once the history is drawn; :func:`person_columns` gives
them resident ID numbers and names, with birth dates that fit their first role.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.identifiers import resident_id_check_char_array
from loaders.generator.common import (
    EPOCH,
    FOREVER,
    Rows,
    Span,
    ascii_strings,
    digit_codes,
    join_strings,
    pick_strings,
    probabilities,
)
from loaders.generator.enterprises import Firms
from loaders.generator.holdings import PERSON

ROLES = ("director", "supervisor", "manager")
DIRECTOR, SUPERVISOR, MANAGER = range(3)

_SURNAMES = tuple(
    "陈王张李徐周吴林胡杨黄赵刘朱孙郑何沈金叶俞马郭罗蒋谢董潘戴钱邵任孔汪应方韩梁宋唐许冯"
    "邓曹彭曾肖田袁余杜程苏魏吕丁姚卢姜崔钟谭陆范石廖贾夏付白邹孟熊秦邱江尹薛段雷侯龙史陶"
)
_MALE_GIVEN = tuple(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁浩建国志文海东林峰俊鸿宇晨昊毅晓立永德荣"
)
_FEMALE_GIVEN = tuple("芳娜敏静丽艳娟霞燕玲婷慧萍红洁琳雪颖倩梅莉琴云兰月晶欣怡佳丹彤璐瑶蓉蕾")

# Where people's ID numbers were issued: mostly Ningbo (including codes retired since, such
# as 330204 Jiangdong and 330283 Fenghua city), the rest of Zhejiang, and other provinces.
_BIRTH_REGIONS: tuple[tuple[str, float], ...] = (
    ("330203", 0.10),
    ("330204", 0.06),
    ("330205", 0.05),
    ("330206", 0.07),
    ("330211", 0.04),
    ("330212", 0.12),
    ("330283", 0.04),
    ("330225", 0.04),
    ("330226", 0.04),
    ("330281", 0.08),
    ("330282", 0.10),
    ("330102", 0.02),
    ("330302", 0.03),
    ("330602", 0.02),
    ("331002", 0.02),
    ("330402", 0.01),
    ("340102", 0.02),
    ("360102", 0.02),
    ("410102", 0.02),
    ("420102", 0.02),
    ("510104", 0.02),
    ("350102", 0.02),
    ("430102", 0.02),
    ("522101", 0.01),
)


class People:
    """Hands out consecutive person numbers; unused numbers are dropped at the end."""

    def __init__(self) -> None:
        self.count = 0

    def take(self, n: int) -> np.ndarray:
        out = np.arange(self.count, self.count + n, dtype=np.int64)
        self.count += n
        return out


def officer_rows(person: np.ndarray, firm: np.ndarray, role: int, start: np.ndarray) -> Rows:
    """Officer rows of one role, open-ended from ``start``."""
    n = len(firm)
    return {
        "person": person.astype(np.int64),
        "firm": firm.astype(np.int64),
        "role": np.full(n, role, dtype=np.int64),
        "from": start.astype(np.int64),
        "to": np.full(n, FOREVER, dtype=np.int64),
    }


def compact_people(count: int, f: Firms, holdings: Rows, reps: Rows, officers: Rows) -> int:
    """Renumber the people who hold a role as 0..n-1 and return n."""
    is_person = holdings["kind"] == PERSON
    used = np.zeros(count, dtype=bool)
    used[reps["person"]] = True
    used[officers["person"]] = True
    used[holdings["holder"][is_person]] = True
    number = np.cumsum(used) - 1
    reps["person"] = number[reps["person"]]
    officers["person"] = number[officers["person"]]
    holdings["holder"] = np.where(
        is_person, number[np.maximum(holdings["holder"], 0)], holdings["holder"]
    )
    known = f.rep0 >= 0
    f.rep0 = np.where(known & used[np.maximum(f.rep0, 0)], number[np.maximum(f.rep0, 0)], -1)
    return int(used.sum())


def person_columns(
    rng: np.random.Generator,
    n_people: int,
    span: Span,
    reps: Rows,
    officers: Rows,
    holdings: Rows,
) -> tuple[pa.Array, pa.Array]:
    """Resident ID numbers and names, with birth dates fitting each person's first role."""
    is_person = holdings["kind"] == PERSON
    who = np.concatenate([reps["person"], officers["person"], holdings["holder"][is_person]])
    since = np.concatenate([reps["from"], officers["from"], holdings["from"][is_person]])
    first = np.full(n_people, FOREVER, dtype=np.int64)
    known = since > -FOREVER
    np.minimum.at(first, who[known], since[known])
    first = np.where(first < FOREVER, first, span.t0)
    age = np.clip(rng.normal(37, 9, n_people), 20, 62) * 365.25
    born = first - age.astype(np.int64) - rng.integers(0, 365, n_people)
    born = np.maximum(born, (date(1935, 1, 1) - EPOCH).days)
    region = rng.choice(
        len(_BIRTH_REGIONS), n_people, p=probabilities(r[1] for r in _BIRTH_REGIONS)
    )
    male = rng.random(n_people) < 0.7
    # Sequence numbers: odd for men, even for women (GB 11643); redrawn until unique.
    seq = rng.integers(0, 500, n_people) * 2 + male
    key = (region * 100_000 + (born + 50_000)) * 1000
    while True:
        _, first_of = np.unique(key + seq, return_index=True)
        if len(first_of) == n_people:
            break
        again = np.ones(n_people, dtype=bool)
        again[first_of] = False
        seq[again] = rng.integers(0, 500, int(again.sum())) * 2 + male[again]
    d = born.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    mo = d.astype("datetime64[M]")
    ymd = (
        (y.astype(np.int64) + 1970) * 10000
        + (mo - y.astype("datetime64[M]")).astype(np.int64) * 100
        + 100
        + (d - mo.astype("datetime64[D]")).astype(np.int64)
        + 1
    )
    codes = np.frombuffer("".join(r[0] for r in _BIRTH_REGIONS).encode("ascii"), np.uint8)
    body = np.concatenate(
        [codes.reshape(-1, 6)[region], digit_codes(ymd, 8), digit_codes(seq, 3)], axis=1
    )
    ids = ascii_strings(np.concatenate([body, resident_id_check_char_array(body)[:, None]], axis=1))

    weights = 1.0 / (np.arange(len(_SURNAMES)) + 4)
    surname = rng.choice(len(_SURNAMES), n_people, p=weights / weights.sum())
    n_m, n_f = len(_MALE_GIVEN), len(_FEMALE_GIVEN)
    given = [*_MALE_GIVEN, *_FEMALE_GIVEN]

    def given_char() -> np.ndarray:
        return np.where(male, rng.integers(0, n_m, n_people), n_m + rng.integers(0, n_f, n_people))

    g1, g2 = given_char(), given_char()
    g2[rng.random(n_people) < 0.3] = -1
    names = join_strings(
        pick_strings(_SURNAMES, surname),
        pick_strings(given, g1),
        pc.fill_null(pick_strings(given, g2), ""),
    )
    return ids, names
