"""The product's words (risk/wording.py): every code the domain and the catalog define has
Chinese and English words, reasons and evidence paths come out in the language asked for,
and a Chinese rendering holds no English beyond names and ids."""

from __future__ import annotations

import math
import re
from datetime import date

import pytest
from feature_graphs import SnapshotBuilder

from graph_model.domain import load_domain
from graph_model.regions import region_name, regions
from risk.features.catalog import load_catalog
from risk.features.context import FeatureContext
from risk.history import EVENT_KINDS
from risk.model.evidence import EvidenceFinder
from risk.supervision.warnings import STATES, WARNING_TYPES
from risk.wording import (
    evidence_text,
    language,
    plan_reason,
    reason_sentence,
    record_detail,
    table,
    warning_evidence,
    warning_subject,
    word,
)

ENGLISH = re.compile(r"[A-Za-z]{2,}")
"""An English word; the names and ids of the graphs below are single letters or digits."""


def test_every_code_of_the_domain_has_words_in_both_languages() -> None:
    domain = load_domain()
    officer = domain.relation("OFFICER").field("role").values
    expected = {
        "status": domain.node("Enterprise").field("status").values,
        "abnormal_reason": domain.record("abnormal_list").field("reason").values,
        "severity": domain.record("penalty").field("severity").values,
        "finding": domain.record("inspection").field("finding").values,
        "role": (*officer, "LEGAL_REP", "OFFICER", "HOLDS_SHARES"),
        "record_kind": tuple(r.kind for r in domain.records),
        "relation": (*domain.relation_types, "HAS_RECORD"),
        "warning_type": WARNING_TYPES,
        "warning_state": STATES,
        "change": EVENT_KINDS,
    }
    for kind, codes in expected.items():
        assert codes, kind
        for code in codes:
            zh, en = table(kind)[code]
            assert zh and en and zh != en, (kind, code)
            assert not ENGLISH.search(zh), (kind, code, zh)
            assert word(kind, code, "zh") == zh and word(kind, code, "en") == en
    assert word("status", "some_new_status", "zh") == "some_new_status"  # shown as stored


def test_every_feature_has_a_chinese_sentence_that_formats_its_value() -> None:
    for spec in load_catalog().features:
        zh = reason_sentence(spec.name, 0.4, "zh")
        assert zh and not ENGLISH.search(zh.replace("HHI", "")), (spec.name, zh)
        assert reason_sentence(spec.name, 0.4, "en") == spec.sentence(0.4)
        unknown = reason_sentence(spec.name, None, "zh")
        assert unknown.endswith("未知"), (spec.name, unknown)
        assert reason_sentence(spec.name, math.nan, "en").endswith("unknown")
    # A feature this version does not know keeps the sentence the scorer stored.
    assert reason_sentence("retired_feature", 1.0, "zh", "Stored sentence") == "Stored sentence"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh;q=0.8", "en"),
        ("en;q=0.1, zh", "zh"),
        ("fr-FR, de", "en"),
        ("zh;q=0", "en"),
        ("", "en"),
        (None, "en"),
        ("ZH", "zh"),
    ],
)
def test_the_language_of_a_header_or_an_option(header: str | None, expected: str) -> None:
    assert language(header) == expected


@pytest.fixture(scope="module")
def finder() -> EvidenceFinder:
    """Every kind of evidence: people, hops through persons, holdings, guarantees with a
    default, a guarantee cycle, a mutual pair, owners through a chain, shared contacts and
    bad records of each kind."""
    b = SnapshotBuilder().firms_named("A", "B", "C", "D", "E", "F", "G", "H").person("p", "q", "r")
    b.firm("A", phone="13800000000", address="X路1号").firm("E", phone="13800000000")
    b.firm("H", address="X路1号")
    b.tie("LEGAL_REP", "p", "A").tie("LEGAL_REP", "p", "B")
    b.tie("OFFICER", "r", "A", role="director").tie("OFFICER", "r", "G", role="manager")
    b.tie("HOLDS_SHARES", "B", "C", share=0.4).tie("HOLDS_SHARES", "A", "H", share=0.3)
    b.tie("HOLDS_SHARES", "D", "A", share=0.6).tie("HOLDS_SHARES", "q", "D", share=1.0)
    b.tie("HOLDS_SHARES", "H", "D", share=0.1)
    g = {"amount": 5e6, "currency": "CNY"}
    b.tie("GUARANTEES", "A", "F", defaulted_on=date(2025, 3, 1), **g)
    b.tie("GUARANTEES", "F", "B", **g).tie("GUARANTEES", "B", "A", **g)
    b.tie("GUARANTEES", "A", "E", **g).tie("GUARANTEES", "E", "A", **g)
    b.record("C", "black_list", date(2025, 1, 10))
    b.record("D", "dishonest_debtor", date(2024, 5, 1))
    b.record("G", "abnormal_list", date(2024, 8, 1), reason="no_annual_report")
    b.record("E", "penalty", date(2025, 2, 1), severity="severe")
    b.record("H", "commitment", date(2025, 2, 1), kept=False)
    return EvidenceFinder(FeatureContext(b.build()), limit=5)


def test_every_piece_of_evidence_reads_in_chinese_without_english(finder: EvidenceFinder) -> None:
    seen = 0
    for spec in load_catalog().features:
        for row in range(8):
            for item in finder.find(spec.name, row):
                assert item.steps, (spec.name, item.text)
                zh = evidence_text(item.steps, "zh", item.text)
                assert not ENGLISH.search(zh), (spec.name, zh)
                en = evidence_text(item.steps, "en", item.text)
                assert ENGLISH.search(en) and "_" not in en, (spec.name, en)
                # Every node the evidence names is in both renderings (a shared contact's
                # line lists the other firms, not the firm itself).
                named = item.nodes[1:] if item.steps[0][0] == "same" else item.nodes
                for node in named:
                    assert node in zh and node in en
                seen += 1
    assert seen > 20


def test_evidence_words_in_both_languages(finder: EvidenceFinder) -> None:
    (item,) = finder.find("officers_other_firms_bad", 0)
    assert evidence_text(item.steps, "en") == (
        "A –[director]– r –[manager]– G [abnormal list (no annual report filed) since 2024-08-01]"
    )
    assert evidence_text(item.steps, "zh") == (
        "A —[董事]— r —[经理]— G［经营异常名录（未按规定报送年度报告），自 2024-08-01］"
    )
    given = {e.nodes: e for e in finder.find("guarantees_given", 0)}
    assert evidence_text(given["A", "F"].steps, "zh") == (
        "A —担保 ¥5,000,000（2025-03-01 违约）→ F"
    )
    # Evidence stored before steps keeps its text; a person without a stored name is named.
    assert evidence_text((), "zh", "stored text") == "stored text"
    assert evidence_text([["person", "Pabc", ""]], "zh", name={"Pabc": "张三"}.get) == "张三"


WARNINGS = {
    "related_bad_record": (
        "F8 <-[LEGAL_REP]- P2 -[OFFICER]-> F7 -[HAS_RECORD]-> black_list:甬市监严〔2024〕1号",
        "F8号 ←法定代表人— 张三 —高管→ F7号 —记录→ 严重违法失信名单 甬市监严〔2024〕1号",
    ),
    "circle_member_default": (
        "F1 -[GUARANTEES]-> F2 | defaulted 2025-12-13: F1 -[GUARANTEES F1|F2|CCB1]-> F2"
        " | circle of 12: F1, F2, … (+10)",
        "F1号 —担保→ F2号 | 2025-12-13 违约： F1号 —担保 CCB1→ F2号"
        " | 担保圈共 12 家：F1号、F2号等（另 10 家）",
    ),
    "grade_worsened": (
        "F1: grade A -> B (score 0.0195 -> 0.1084)",
        "F1号：风险分类 A → B（分数 0.0195 → 0.1084）",
    ),
    "person_tied_to_listed": (
        "F3 <-[HOLDS_SHARES]- P9 -[LEGAL_REP]-> F4 -[HAS_RECORD]-> abnormal_list:1",
        "F3号 ←持股— P9 —法定代表人→ F4号 —记录→ 经营异常名录 1",
    ),
    "legal_rep_changed": ("F1: legal rep P2 -> P9", "F1号：法定代表人 张三 → P9"),
    "controller_changed": (
        "F1: controller F2 60% -> P2 55%",
        "F1号：控股股东 F2号 60% → 张三 55%",
    ),
    "joined_circle": ("circle of 3: F1, F2, F3", "担保圈共 3 家：F1号、F2号、F3号"),
}


@pytest.mark.parametrize("kind", sorted(WARNINGS))
def test_warning_evidence_names_people_and_firms_in_chinese(kind: str) -> None:
    stored, expected = WARNINGS[kind]
    names = {f"F{k}": f"F{k}号" for k in range(10)} | {"P2": "张三"}
    assert warning_evidence(stored, "zh", names.get) == expected
    # P9 has no known name: its key stays, the only place a key is shown.
    english = warning_evidence(stored, "en", names.get)
    assert "[" not in english and "->" not in english


def test_warning_subjects_records_plans_and_regions_in_words() -> None:
    assert warning_subject("grade@2025-12-29", "zh") == "2025-12-29 评级"
    assert warning_subject("penalty:甬罚1", "zh") == "行政处罚 甬罚1"
    assert warning_subject("GUARANTEES:A|B|CCB1", "en") == "guarantee CCB1"
    assert warning_subject("legal_rep@2025-12-31", "zh") == "2025-12-31 前法定代表人变更"
    assert warning_subject("circle@2025-12-31", "en") == "joined a guarantee circle by 2025-12-31"
    assert record_detail({"kind": "abnormal_list", "reason": "unreachable_address"}, "zh") == (
        "通过登记的住所或者经营场所无法联系"
    )
    assert record_detail({"kind": "inspection", "finding": "refused"}, "zh") == "拒绝检查"
    assert record_detail({"kind": "commitment", "kept": False}, "en") == "broken"
    assert record_detail({"kind": "black_list", "reason": "拒不履行"}, "en") == "拒不履行"
    assert plan_reason("finding of an inspection within 12 months", "zh") == (
        "12 个月内检查发现问题"
    )
    assert plan_reason("延伸检查: tied to black-listed F7 (2 hops)", "zh", {"F7": "甲"}.get) == (
        "延伸检查：与黑名单企业 甲 关联（2 跳）"
    )
    assert plan_reason("tied to former employer F1", "zh") == "关联：曾任职于 F1"
    assert plan_reason("same region 330203", "zh") == "同一区域 宁波市海曙区"
    assert plan_reason("a complaint by phone", "zh") == "a complaint by phone"
    assert region_name("330212", "zh") == "宁波市鄞州区" and region_name("330212", "en")
    assert region_name("330299", "zh") == "宁波市 330299"
    assert region_name(None, "zh") == "—" and region_name("X1", "en") == "X1"
    assert all(len(code) == 6 and code.isdigit() for code in regions())
