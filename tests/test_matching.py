"""The name matcher (risk/matching.py): what it tolerates, what it refuses to guess, and its
precision and recall on perturbed names of a demo city (benchmarks/matching.py builds the
labelled set; docs/matching.md has the figures at 20,000 firms)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ApiCity
from opencc import OpenCC
from test_dashboard import texts
from typer.testing import CliRunner

from benchmarks.matching import KINDS, labelled_queries, measure
from cli.app import app
from dashboard.config import BoardConfig
from dashboard.data import BoardData
from dashboard.pages import enterprise
from dashboard.pages.enterprise import search_options
from loaders.generator import generate_city
from risk.data_home import DataHome
from risk.matching import CONFIDENT, NameMatcher, confident, core_of

IDS = ["E1", "E2", "E3", "E4", "E5"]
NAMES = [
    "宁波帆祥电子商务有限公司",
    "宁波帆祥电子商务有限责任公司",
    "慈溪市海和进出口有限公司",
    "Everbright Asia (Hong Kong) Limited",
    "宁波（北仑）荣方人力资源有限公司",
]


@pytest.fixture(scope="module")
def small() -> NameMatcher:
    return NameMatcher(IDS, NAMES)


def test_the_core_sets_aside_form_width_brackets_and_traditional_characters() -> None:
    assert core_of("宁波帆祥电子商务有限公司").core == "宁波帆祥电子商务"
    assert core_of("宁波帆祥电子商务有限公司").form == "有限公司"
    assert core_of("寧波帆祥電子商務有限責任公司").core == "宁波帆祥电子商务"
    assert core_of("寧波帆祥電子商務有限責任公司").simplified
    assert core_of("宁波（北仑）荣方人力资源 有限公司").core == "宁波北仑荣方人力资源"
    assert (
        core_of("ＥＶＥＲＢＲＩＧＨＴ Asia (Hong Kong) Co., Ltd.").core == "everbrightasiahongkong"
    )
    assert core_of("有限公司").core == "有限公司"  # a form alone is not set aside


def test_a_name_two_firms_share_once_forms_are_set_aside_is_not_a_match(
    small: NameMatcher,
) -> None:
    found = small.match("宁波帆祥电子商务股份有限公司")
    assert [c.id for c in found[:2]] == ["E1", "E2"]
    assert found[0].score == found[1].score == 100.0
    assert "legal form 股份有限公司 given, 有限公司 registered" in found[0].reasons
    assert confident(found) is None  # two firms: the applicant must say which (USCC)


def test_exact_traditional_bracketed_and_pinyin_names_find_their_firm(
    small: NameMatcher,
) -> None:
    exact = small.match("慈溪市海和进出口有限公司")
    assert exact[0].id == "E3" and exact[0].reasons == ("the registered name, as given",)
    assert confident(exact) == exact[0]
    traditional = small.match("慈溪市海和進出口有限公司")
    assert traditional[0].id == "E3"
    assert "traditional characters read as simplified" in traditional[0].reasons
    brackets = small.match("宁波(北仑)荣方人力资源有限公司")
    assert brackets[0].id == "E5" and brackets[0].score == 100.0
    pinyin = small.match("Cixishi Haihe Jinchukou Co., Ltd.")
    assert pinyin[0].id == "E3" and pinyin[0].score == 100.0
    assert "the pinyin of the registered name" in pinyin[0].reasons
    english = small.match("EVERBRIGHT ASIA (HONG KONG) LTD")
    assert english[0].id == "E4" and confident(english) == english[0]


def test_a_typo_is_offered_with_its_distance_but_not_taken(small: NameMatcher) -> None:
    found = small.match("慈溪市海和进出品有限公司")
    assert found[0].id == "E3" and found[0].score < CONFIDENT
    assert "the registered name but 1 character(s)" in found[0].reasons
    assert confident(found) is None


def test_a_former_name_finds_its_firm_once_and_says_so() -> None:
    matcher = NameMatcher(
        ["E1", "E2", "E3"],
        ["宁波银晨商贸有限公司", "宁波中达商贸有限公司", "宁波联阳餐饮管理有限公司"],
        ["宁波中达商贸有限公司；宁波中达贸易有限公司", None, " | 宁波旧名餐饮有限公司"],
    )
    # E1 was 宁波中达商贸 before E2 took the name: both offered, neither taken.
    found = matcher.match("宁波中达商贸有限公司")
    assert [c.id for c in found[:2]] == ["E2", "E1"] and confident(found) is None
    assert found[0].reasons == ("the registered name, as given",)
    assert found[1].name == "宁波银晨商贸有限公司"
    assert found[1].reasons[:2] == (
        "a former name (曾用名): 宁波中达商贸有限公司",
        "the former name, as given",
    )
    older = matcher.match("寧波中達貿易有限責任公司")
    assert older[0].id == "E1" and confident(older) == older[0]
    assert [c.id for c in older].count("E1") == 1  # by its best name only
    assert "a former name (曾用名): 宁波中达贸易有限公司" in older[0].reasons
    assert matcher.match("宁波旧名餐饮有限公司")[0].id == "E3"


def test_nothing_near_gives_no_candidates(small: NameMatcher) -> None:
    assert small.match("完全不同的名字") == []
    assert small.match("  （）  ") == []


def test_precision_and_recall_on_perturbed_names_of_a_demo_city(tmp_path: Path) -> None:
    cities = []
    for seed in (1, 2):
        generate_city(tmp_path / f"c{seed}", 2_000, seed=seed)
        table = pq.read_table(tmp_path / f"c{seed}" / "enterprises.parquet", columns=["id", "name"])
        cities.append((table["id"].to_pylist(), table["name"].to_pylist()))
    (ids, names), (_, others) = cities
    matcher = NameMatcher(ids, names)
    queries = labelled_queries([n for n in names if n], [n for n in others if n], 7, 60)
    assert {q.kind for q in queries} == {*KINDS, "unknown"}
    (quality,) = measure(matcher, dict(zip(ids, names, strict=True)), queries, [CONFIDENT])
    assert quality.precision >= 0.98
    assert quality.recall >= 0.65
    for kind in ("form", "width", "traditional", "pinyin"):
        assert quality.recall_by_kind[kind] >= 0.9, (kind, quality.recall_by_kind)


def test_the_match_command_lists_candidates_and_writes_them(
    api_city: ApiCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(api_city.settings.home))
    snapshot = DataHome(api_city.settings).snapshot(api_city.scored)
    names = snapshot.enterprises["name"].to_pylist()
    firm = next(i for i, n in enumerate(names) if n and names.count(n) == 1 and "有限公司" in n)
    name, firm_id = names[firm], snapshot.enterprises["id"][firm].as_py()
    runner = CliRunner()
    result = runner.invoke(app, ["match", name.replace("有限公司", "有限责任公司")])
    assert result.exit_code == 0, result.output
    assert f"match {firm_id} {name}" in result.output
    assert "legal form 有限责任公司 given, 有限公司 registered" in result.output
    applicants = tmp_path / "applicants.csv"
    applicants.write_text(f"name,uscc\n{name[:-1]},\n完全不同的名字,{firm_id}\n", encoding="utf-8")
    out = tmp_path / "matches.csv"
    result = runner.invoke(app, ["match", "--file", str(applicants), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["applicant"] for r in rows} == {"1", "2"}
    by_uscc = [r for r in rows if r["applicant"] == "2"]
    assert by_uscc == [{**by_uscc[0], "candidate_id": firm_id, "matched": "true", "score": "100"}]
    result = runner.invoke(app, ["match"])
    assert result.exit_code == 2 and "give names, or --file" in result.output
    # The demo city renamed some firms: their former names find them.
    former = snapshot.former_names.to_pylist()
    renamed = next(i for i, n in enumerate(former) if n and former.count(n) == 1)
    result = runner.invoke(app, ["match", former[renamed]])
    assert result.exit_code == 0, result.output
    renamed_id = snapshot.enterprises["id"][renamed].as_py()
    assert f"{renamed_id} {names[renamed]}" in result.output
    assert f"a former name (曾用名): {former[renamed]}" in result.output


def test_the_board_search_offers_the_near_names_after_the_substring_hits(
    api_city: ApiCity,
) -> None:
    data = BoardData(api_city.settings, BoardConfig())
    snapshot = data.snapshot(api_city.scored)
    names = snapshot.enterprises["name"].to_pylist()
    firm = next(i for i, n in enumerate(names) if n and names.count(n) == 1 and "有限公司" in n)
    name, firm_id = names[firm], snapshot.enterprises["id"][firm].as_py()
    traditional = OpenCC("s2t").convert(name)
    assert traditional != name
    assert data.search(api_city.scored, traditional, limit=5)[0] == (firm_id, name)
    options = search_options(data, api_city.scored, traditional, "zh")
    assert options[0]["value"] == firm_id
    # A renamed firm: found by its former name, which its page shows.
    former = snapshot.former_names.to_pylist()
    renamed = next(i for i, n in enumerate(former) if n and former.count(n) == 1)
    renamed_id = snapshot.enterprises["id"][renamed].as_py()
    assert data.search(api_city.scored, former[renamed], limit=5)[0][0] == renamed_id
    page = enterprise.render(data, api_city.scored, "zh", renamed_id)
    assert f"曾用名：{former[renamed]}" in texts(page)
    assert "曾用名" not in texts(enterprise.render(data, api_city.scored, "zh", firm_id))
