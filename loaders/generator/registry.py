"""What the business register shows of each enterprise of the demo city.

Unified social credit codes (foreign shareholders get an external id), names (members of
a group share its brand, branches are named after their head office), and addresses,
phones and e-mails, shared by agents' firms, groups and serial owners.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.identifiers import USCC_ALPHABET, uscc_check_char_array
from loaders.generator.common import (
    EPOCH,
    Rows,
    ascii_strings,
    decimal_strings,
    digit_codes,
    join_strings,
    pick_strings,
)
from loaders.generator.enterprises import (
    COUNTRIES,
    DISTRICTS,
    FOREIGN,
    INDIVIDUAL,
    SECTIONS,
    Firms,
)
from loaders.generator.groups import Groups

_INDIVIDUAL_WORDS = ("商行", "百货店", "五金店", "服装店", "经营部", "便利店", "小吃店", "修理部")
_BRAND_CHARS = tuple(
    dict.fromkeys(
        "鑫华盛泰宏达祥瑞恒通汇丰利源永安嘉隆昌富强德顺裕新星辰海天宇博远伟金银龙凤明光东方"
        "中联创诚信立邦凯美佳和润康益兴旺发荣晟越骏腾飞扬帆舜甬港湾江南北宁慧智杰豪锦程旭阳晨曦"
    )
)
_ROADS = (
    "中山东路",
    "解放南路",
    "天童南路",
    "四明中路",
    "甬江大道",
    "长江路",
    "明州路",
    "新城路",
    "兴宁路",
    "宁穿路",
    "首南路",
    "学士路",
    "鄞县大道",
    "泰康中路",
    "贸城西路",
    "大闸路",
    "人民路",
    "环城北路",
    "北环东路",
    "新华路",
    "中兴路",
    "江南路",
    "杭州湾大道",
    "三北大街",
    "新城大道",
    "阳明西路",
    "东环北路",
    "开发区大道",
    "科技大道",
    "工业园区一路",
    "金港路",
    "环湖路",
    "沿江路",
    "清风路",
    "通途路",
    "院士路",
    "聚贤路",
    "江东北路",
    "世纪大道",
    "丹山路",
)

_FOREIGN_WORDS = (
    "Golden",
    "Pacific",
    "Ocean",
    "Dragon",
    "Asia",
    "Harbour",
    "Sunrise",
    "Everbright",
    "Silver",
    "Eastern",
    "Union",
    "Grand",
    "Jade",
    "Summit",
    "Pearl",
    "Crown",
    "Orient",
)

_EMAIL_DOMAINS = ("163.com", "126.com", "qq.com", "sina.com", "139.com")


def _distinct(rng: np.random.Generator, n: int, high: int) -> np.ndarray:
    """``n`` distinct random integers in ``[0, high)``, in random order."""
    out = rng.integers(0, high, n)
    while True:
        _, first = np.unique(out, return_index=True)
        if len(first) == n:
            return out
        again = np.ones(n, dtype=bool)
        again[first] = False
        out[again] = rng.integers(0, high, int(again.sum()))


def enterprise_ids(rng: np.random.Generator, f: Firms) -> pa.Array:
    """USCCs of the domestic firms, then ``FOREIGN:<country>:<number>`` for foreign ones."""
    dom = np.flatnonzero(f.kind != FOREIGN)
    n = len(dom)
    body = np.empty((n, 17), dtype=np.uint8)
    body[:, 0] = ord("9")  # registered by the market regulator
    body[:, 1] = np.where(f.kind[dom] == INDIVIDUAL, ord("2"), ord("1"))
    codes = np.frombuffer("".join(d[0] for d in DISTRICTS).encode("ascii"), np.uint8)
    body[:, 2:8] = codes.reshape(-1, 6)[f.region[dom]]
    # Organisation codes issued since the reform of October 2015 start with "MA"; older
    # firms kept their numeric organisation code.
    new = f.est[dom] >= (date(2015, 10, 1) - EPOCH).days
    alphabet = np.frombuffer(USCC_ALPHABET.encode("ascii"), np.uint8)
    ma = _distinct(rng, int(new.sum()), 31**7)
    body[new, 8], body[new, 9] = ord("M"), ord("A")
    body[new, 10:17] = alphabet[(ma[:, None] // 31 ** np.arange(6, -1, -1)) % 31]
    body[~new, 8:17] = digit_codes(_distinct(rng, int((~new).sum()), 10**9), 9)
    uscc = ascii_strings(np.concatenate([body, uscc_check_char_array(body)[:, None]], axis=1))
    foreign = np.flatnonzero(f.kind == FOREIGN)
    number = _distinct(rng, len(foreign), 9_000_000) + 1_000_000
    external = join_strings(
        "FOREIGN:",
        pick_strings([c[0] for c in COUNTRIES], f.country[foreign]),
        ":",
        decimal_strings(number),
    )
    return pa.concat_arrays([uscc, external])


def enterprise_names(
    rng: np.random.Generator, f: Firms, groups: Groups
) -> tuple[pa.Array, pa.Array]:
    """Names from district, brand (a group's members share one), industry word and legal
    form; English names for the foreign shareholders. Then the former names (曾用名): every
    25th domestic firm but the shops was renamed once, from another brand."""
    dom = np.flatnonzero(f.kind != FOREIGN)
    n = len(dom)
    kind, region = f.kind[dom], f.region[dom]
    brand = rng.integers(0, len(_BRAND_CHARS), (n, 2))
    # Members of a group share its brand (字号).
    group_brand = rng.integers(0, len(_BRAND_CHARS), (len(groups.sizes), 2))
    in_group = f.group[dom] >= 0
    brand[in_group] = group_brand[f.group[dom][in_group]]
    words = [w for s in SECTIONS for w in s[2]]
    n_words = np.array([len(s[2]) for s in SECTIONS])
    first_word = np.cumsum(n_words) - n_words
    sec = f.industry[dom]
    word = first_word[sec] + np.floor(rng.random(n) * n_words[sec]).astype(np.int64)
    shop = kind == INDIVIDUAL
    word[shop] = len(words) + rng.integers(0, len(_INDIVIDUAL_WORDS), int(shop.sum()))
    top = f.is_top[dom]
    word[top] = len(words) + len(_INDIVIDUAL_WORDS)
    forms = ("有限公司", "有限责任公司", "集团有限公司", "")
    form = np.where(rng.random(n) < 0.07, 1, 0)
    form[top], form[shop] = 2, 3
    prefixes = [d[2] for d in DISTRICTS] + [d[1] for d in DISTRICTS]

    def named(brands: np.ndarray) -> pa.Array:
        return join_strings(
            pick_strings(prefixes, region + np.where(shop, len(DISTRICTS), 0)),
            pick_strings(_BRAND_CHARS, brands[:, 0]),
            pick_strings(_BRAND_CHARS, brands[:, 1]),
            pick_strings([*words, *_INDIVIDUAL_WORDS, "控股"], word),
            pick_strings(forms, form),
        )

    domestic = named(brand)
    # Drawn without the random stream, so that a seed's city is otherwise unchanged.
    renamed = pa.array((np.arange(n) % 25 == 3) & ~shop)
    former = pc.if_else(renamed, named((brand + 7) % len(_BRAND_CHARS)), pa.nulls(n, pa.string()))
    foreign = np.flatnonzero(f.kind == FOREIGN)
    m = len(foreign)
    abroad = join_strings(
        pick_strings(_FOREIGN_WORDS, rng.integers(0, len(_FOREIGN_WORDS), m)),
        " ",
        pick_strings(_FOREIGN_WORDS, rng.integers(0, len(_FOREIGN_WORDS), m)),
        pick_strings([c[2] for c in COUNTRIES], f.country[foreign]),
    )
    names = pa.concat_arrays([domestic, abroad])
    return names, pa.concat_arrays([former, pa.nulls(m, pa.string())])


# long: one stage of the city: its random draws must stay in this order for a seed to
# give the same city, and its steps share the stage's arrays; split, they would be passed
# from function to function instead of read in sequence.
def contacts(
    rng: np.random.Generator, f: Firms, groups: Groups
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Addresses, phones and e-mails; shared by agents' firms, groups and serial owners."""
    n_dom = f.n_dom
    n_for = f.n - n_dom
    agent = f.agent[:n_dom]
    at_agent = agent >= 0
    top_of = np.full(n_dom, -1, dtype=np.int64)
    top_of[groups.member] = groups.member[np.cumsum(groups.sizes) - groups.sizes][groups.gid]
    shares_top = (top_of >= 0) & ~f.is_top[:n_dom]

    def addresses(region: np.ndarray) -> pa.Array:
        m = len(region)
        room = rng.random(m) < 0.6
        return join_strings(
            "浙江省",
            pick_strings([d[1] for d in DISTRICTS], region),
            pick_strings(_ROADS, rng.integers(0, len(_ROADS), m)),
            decimal_strings(rng.integers(1, 1500, m)),
            "号",
            pc.if_else(
                pa.array(room),
                join_strings(
                    decimal_strings(rng.integers(1, 31, m)),
                    "幢",
                    decimal_strings(rng.integers(1, 26, m) * 100 + rng.integers(1, 21, m)),
                    "室",
                ),
                "",
            ),
        )

    own = addresses(f.region[:n_dom])
    hosts = addresses(f.agent_region)
    which = np.arange(n_dom)
    which[at_agent] = n_dom + agent[at_agent]
    with_top = shares_top & (rng.random(n_dom) < 0.35)
    which[with_top] = top_of[with_top]
    address = pa.concat_arrays([own, hosts]).take(pa.array(which))

    # Phones as numbers: mobiles 1xxxxxxxxxx, landlines 0574xxxxxxxx (stored without the 0).
    second_digit = np.array([3, 5, 7, 8, 9])

    def mobiles(key: np.ndarray) -> np.ndarray:
        # One fixed mobile per key (a person): distinct keys give distinct numbers.
        return np.asarray(
            10**10 + second_digit[key % 5] * 10**9 + (key // 5 * 7919 + 12345) % 10**9
        )

    u = rng.random(n_dom)
    phone = np.where(
        u < 0.65,
        mobiles(rng.integers(0, 5 * 10**9, n_dom)),
        574 * 10**8 + rng.integers(2 * 10**7, 9 * 10**7, n_dom),
    )
    land = u >= 0.65
    owner = f.rep0[:n_dom]
    use_owner = (owner >= 0) & (top_of < 0) & ~at_agent & (rng.random(n_dom) < 0.4)
    phone[use_owner] = mobiles(owner[use_owner])
    land[use_owner] = False
    agent_phone = 574 * 10**8 + rng.integers(2 * 10**7, 9 * 10**7, f.n_agents)
    use_agent = at_agent & (rng.random(n_dom) < 0.5)
    phone[use_agent] = agent_phone[agent[use_agent]]
    land[use_agent] = True
    use_top = shares_top & (rng.random(n_dom) < 0.3)
    phone[use_top], land[use_top] = phone[top_of[use_top]], land[top_of[use_top]]
    text = decimal_strings(phone)
    phones = pc.if_else(pa.array(land), join_strings("0", text), text)
    phones = pc.if_else(pa.array(rng.random(n_dom) < 0.05), pa.scalar(None, pa.string()), phones)

    # E-mails: an agent's mailbox, the owner's QQ mailbox, the group's, or the firm's own.
    local = rng.integers(10**5, 10**9, n_dom)
    domain = rng.integers(0, len(_EMAIL_DOMAINS), n_dom)
    use_owner = (owner >= 0) & (top_of < 0) & ~at_agent & (rng.random(n_dom) < 0.4)
    local[use_owner] = 10**8 + (owner[use_owner] * 7919 + 1009) % (9 * 10**8)
    domain[use_owner] = _EMAIL_DOMAINS.index("qq.com")
    agent_box = 10**8 + (np.arange(f.n_agents) * 104729 + 777) % (9 * 10**8)
    use_agent = at_agent & (rng.random(n_dom) < 0.5)
    local[use_agent] = agent_box[agent[use_agent]]
    domain[use_agent] = _EMAIL_DOMAINS.index("163.com")
    use_top = shares_top & (rng.random(n_dom) < 0.3)
    local[use_top], domain[use_top] = local[top_of[use_top]], domain[top_of[use_top]]
    emails = join_strings(decimal_strings(local), "@", pick_strings(_EMAIL_DOMAINS, domain))
    present = rng.random(n_dom) < np.where(f.kind[:n_dom] == INDIVIDUAL, 0.3, 0.65)
    emails = pc.if_else(pa.array(present), emails, pa.scalar(None, pa.string()))
    nulls = pa.nulls(n_for, pa.string())
    return (
        pa.concat_arrays([address, nulls]),
        pa.concat_arrays([phones, nulls]),
        pa.concat_arrays([emails, nulls]),
    )


def branch_names(names: pa.Array, f: Firms, branches: Rows) -> pa.Array:
    """A branch is named after its head office and its district: `…有限公司海曙分公司`."""
    if not len(branches["branch"]):
        return names
    district = [d[1].removeprefix("宁波市")[:-1] for d in DISTRICTS]
    named = join_strings(
        names.take(pa.array(branches["head"])),
        pick_strings(district, f.region[branches["branch"]]),
        "分公司",
    )
    index = np.full(len(names), -1, dtype=np.int64)
    index[branches["branch"]] = np.arange(len(branches["branch"]))
    return pc.if_else(pa.array(index >= 0), named.take(pa.array(np.maximum(index, 0))), names)
