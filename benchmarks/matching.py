"""How well the name matcher (risk/matching.py) finds applicants, on a labelled set made from
the demo city with the perturbations real applications carry.

Every registered name of a city is written again as an applicant might write it:

- ``form``: another legal form (有限公司 ↔ 有限责任公司), or none;
- ``width``: full-width brackets and letters, spaces inside;
- ``traditional``: in traditional characters (OpenCC ``s2t``);
- ``typo``: one character of the name replaced by another;
- ``dropped``: one character of the name left out;
- ``pinyin``: in pinyin with spaces and ``Co., Ltd.`` (names in Chinese only).

Names of another city that this one does not register are asked too (``unknown``): a
confident answer to one of them is a false match. For each threshold, precision is the
share of confident answers that name the right firm, recall the share of perturbed names
answered confidently and rightly.

    python -m benchmarks.matching --enterprises 20000
    python -m benchmarks.matching --enterprises 20000 --scale 1000000

``--scale N`` also times the matcher over N registered names (the city's names, each made
distinct by a number after its city prefix): the build, and the 50th and 99th percentile of
a query, in Chinese and in pinyin.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from opencc import OpenCC
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

from loaders.generator import generate_city
from risk.matching import NameMatcher, confident, core_of

KINDS = ("form", "width", "traditional", "typo", "dropped", "pinyin")


@dataclass(frozen=True)
class Query:
    """A name as an applicant writes it, and the registered name it stands for ("" if none)."""

    kind: str
    text: str
    meant: str


def _perturb(name: str, kind: str, rng: random.Random, pool: str) -> str | None:
    core = core_of(name)
    if kind == "form":
        if not core.form:
            return None
        swap = {"有限公司": "有限责任公司", "有限责任公司": "有限公司"}
        return (
            name[: -len(core.form)] + swap.get(core.form, "") if name.endswith(core.form) else None
        )
    if kind == "width":
        wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
        middle = len(wide) // 2
        return wide[:middle] + " " + wide[middle:]
    if kind == "traditional":
        text = OpenCC("s2t").convert(name)
        return text if text != name else None
    if kind in ("typo", "dropped"):
        if len(core.core) < 4:
            return None
        at = rng.randrange(1, len(core.core) - 1)
        put = rng.choice(pool) if kind == "typo" else ""
        return name.replace(core.core, core.core[:at] + put + core.core[at + 1 :], 1)
    if kind == "pinyin":
        if not core.core or not all("\u4e00" <= c <= "\u9fff" for c in core.core):
            return None
        return " ".join(p.capitalize() for p in lazy_pinyin(core.core)) + " Co., Ltd."
    raise ValueError(kind)


def labelled_queries(names: list[str], others: list[str], seed: int, per_kind: int) -> list[Query]:
    """``per_kind`` perturbed names of each kind, and as many names of ``others`` that are
    not registered, in a fixed random order."""
    rng = random.Random(seed)
    pool = "".join(sorted({c for n in names for c in core_of(n).core if "\u4e00" <= c <= "\u9fff"}))
    queries: list[Query] = []
    for kind in KINDS:
        chosen = rng.sample(names, min(len(names), per_kind * 3))
        made = [
            Query(kind, text, name)
            for name in chosen
            if (text := _perturb(name, kind, rng, pool)) is not None
        ]
        queries += made[:per_kind]
    registered = {core_of(n).core for n in names}
    unknown = [n for n in others if core_of(n).core not in registered]
    queries += [Query("unknown", n, "") for n in rng.sample(unknown, min(len(unknown), per_kind))]
    return queries


@dataclass(frozen=True)
class Quality:
    """Precision and recall at one threshold, overall and per kind of perturbation."""

    threshold: float
    precision: float
    recall: float
    recall_by_kind: dict[str, float]
    false_matches: int


def measure(
    matcher: NameMatcher, names_by_id: dict[str, str], queries: list[Query], thresholds: list[float]
) -> list[Quality]:
    """The matcher's quality on ``queries`` at each threshold."""
    answers = [(q, matcher.match(q.text)) for q in queries]
    out = []
    for threshold in thresholds:
        right, answered, false_matches = 0, 0, 0
        hits: dict[str, int] = defaultdict(int)
        asked: dict[str, int] = defaultdict(int)
        for q, found in answers:
            taken = confident(found, threshold)
            if q.meant:
                asked[q.kind] += 1
            if taken is None:
                continue
            answered += 1
            if q.meant and names_by_id[taken.id] == q.meant:
                right += 1
                hits[q.kind] += 1
            else:
                false_matches += 1
        positives = sum(asked.values())
        out.append(
            Quality(
                threshold,
                right / answered if answered else 1.0,
                right / positives if positives else 0.0,
                {k: hits[k] / asked[k] for k in asked},
                false_matches,
            )
        )
    return out


def timing(names: list[str], size: int, queries: int = 300) -> str:
    """Build time and query percentiles of a matcher over ``size`` names made from ``names``."""
    made = [n[:2] + str(i) + n[2:] for i in range(size // len(names) + 1) for n in names][:size]
    started = time.perf_counter()
    matcher = NameMatcher([f"E{i}" for i in range(len(made))], made)
    built = time.perf_counter() - started
    rng = random.Random(3)
    # The raw floor: rapidfuzz scoring one query against every core, no shortlist.
    cores = [core_of(n).core for n in made]
    floor = []
    for text in rng.sample(names, 20):
        started = time.perf_counter()
        process.cdist([core_of(text).core], cores, scorer=fuzz.ratio, workers=1)
        floor.append(time.perf_counter() - started)
    raw = sorted(floor)[len(floor) // 2]
    lines = [
        f"{len(made):,} names: built in {built:.1f} s; raw floor (every core scored) "
        f"p50 {raw * 1000:.1f} ms"
    ]
    for kind in ("form", "pinyin"):
        asked = [q.text for q in labelled_queries(names, [], 5, queries) if q.kind == kind]
        took = []
        for text in rng.sample(asked, min(len(asked), queries)):
            started = time.perf_counter()
            matcher.match(text)
            took.append(time.perf_counter() - started)
        took.sort()
        p50, p99 = took[len(took) // 2], took[int(len(took) * 0.99)]
        lines.append(
            f"  {kind} queries: p50 {p50 * 1000:.1f} ms ({p50 / raw:.2f}× the floor), "
            f"p99 {p99 * 1000:.1f} ms"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--scale", type=int, default=0, help="also time N names")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cities = []
        for seed in (1, 2):
            folder = Path(tmp) / f"city{seed}"
            generate_city(folder, args.enterprises, seed=seed)
            table = pq.read_table(folder / "enterprises.parquet", columns=["id", "name"])
            cities.append((table["id"].to_pylist(), table["name"].to_pylist()))
    (ids, names), (_, others) = cities
    started = time.perf_counter()
    matcher = NameMatcher(ids, names)
    built = time.perf_counter() - started
    queries = labelled_queries([n for n in names if n], [n for n in others if n], 7, args.per_kind)
    started = time.perf_counter()
    results = measure(
        matcher, dict(zip(ids, names, strict=True)), queries, [80, 85, 88, 90, 92, 94, 96]
    )
    seconds = (time.perf_counter() - started) / len(queries)
    print(f"{len(matcher):,} names; built in {built:.1f} s; {seconds * 1000:.1f} ms a query")
    print("threshold  precision  recall  false  " + "  ".join(KINDS))
    for r in results:
        kinds = "  ".join(f"{r.recall_by_kind.get(k, 0):.2f}" for k in KINDS)
        quality = f"{r.precision:>9.3f}  {r.recall:>6.3f}  {r.false_matches:>5}"
        print(f"{r.threshold:>9.0f}  {quality}  {kinds}")
    if args.scale:
        print(timing([n for n in names if n], args.scale))


if __name__ == "__main__":
    main()
