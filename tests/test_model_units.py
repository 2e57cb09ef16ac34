"""The risk model's parts on small inputs whose right answers can be worked out by hand:
month arithmetic, time windows, labels from a loaded store, the population, grades,
metrics, calibration, the training sample and graph evidence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from conftest import SALT, make_uscc
from feature_graphs import AS_OF, SnapshotBuilder

from graph_model.store.ladybug import LadybugStore
from loaders.load import load_folder
from risk.features.context import FeatureContext
from risk.model.dataset import TimeSplit, in_operation, sample_negatives
from risk.model.dates import last_month_end_on_or_before, month_ends, shift_months
from risk.model.errors import ModelError
from risk.model.evaluation import calibration_table, ks_statistic, psi, recall_at_k
from risk.model.evidence import EvidenceFinder
from risk.model.grades import GradePolicy
from risk.model.labels import LabelDefinition, LabelEvents, latest_record_start
from risk.model.train import Calibration

# -- dates and windows ------------------------------------------------------------------


def test_month_ends_stay_month_ends_and_other_days_clamp() -> None:
    assert shift_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert shift_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert shift_months(date(2024, 2, 29), -1) == date(2024, 1, 31)
    assert shift_months(date(2024, 3, 15), -1) == date(2024, 2, 15)
    assert shift_months(date(2024, 1, 30), 1) == date(2024, 2, 29)
    assert last_month_end_on_or_before(date(2024, 3, 15)) == date(2024, 2, 29)
    assert month_ends(date(2024, 11, 5), date(2025, 1, 31)) == [
        date(2024, 11, 30),
        date(2024, 12, 31),
        date(2025, 1, 31),
    ]


def test_windows_are_a_horizon_apart() -> None:
    split = TimeSplit.plan(date(2024, 12, 31), 12, train=12, valid=3, test=3)
    assert split.test == (date(2024, 10, 31), date(2024, 11, 30), date(2024, 12, 31))
    assert split.valid == (date(2023, 8, 31), date(2023, 9, 30), date(2023, 10, 31))
    assert split.train[0] == date(2021, 9, 30) and split.train[-1] == date(2022, 8, 31)
    assert len(split.train) == 12
    # Every label the model is fitted or stopped on is known on the first test day.
    assert shift_months(split.valid[-1], 12) <= split.test[0]
    assert shift_months(split.train[-1], 12) <= split.valid[0]


def test_windows_closer_than_a_horizon_are_refused() -> None:
    split = TimeSplit((date(2023, 1, 31),), (date(2023, 6, 30),), (date(2024, 12, 31),))
    with pytest.raises(ModelError, match="less than the 12-month horizon"):
        split.check(12)


# -- labels -----------------------------------------------------------------------------

AS = date(2023, 6, 30)  # window (2023-06-30, 2024-06-30]


def _csv(rows: list[list[object]]) -> str:
    return "\n".join(",".join("" if v is None else str(v) for v in row) for row in rows) + "\n"


@pytest.fixture(scope="module")
def label_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LadybugStore]:
    """Ten firms, each with one story about the window (2023-06-30, 2024-06-30]."""
    folder = tmp_path_factory.mktemp("labels")
    e = [make_uscc(i) for i in range(12)]
    files = {
        "enterprises.csv": _csv(
            [["id", "name", "established_on"]]
            + [[x, f"firm {i}", "2015-01-01"] for i, x in enumerate(e)]
        ),
        "abnormal_list.csv": _csv(
            [
                ["record_no", "enterprise_id", "start", "end", "reason"],
                ["A1", e[1], "2023-07-15", None, "no_annual_report"],  # in window: bad
                ["A2", e[2], "2023-08-01", None, "failure_to_disclose"],  # not a label event
                ["A9", e[9], "2022-07-15", None, "unreachable_address"],  # listed before
            ]
        ),
        "black_list.csv": _csv(
            [
                [
                    "record_no",
                    "enterprise_id",
                    "start",
                    "reason",
                    "disputed_on",
                    "dispute_resolved_on",
                    "dispute_upheld",
                ],
                ["B3", e[3], "2023-06-30", "fraud", None, None, None],  # on the as-of day
                # Annulled: an objection was upheld before the data end.
                ["B11", e[11], "2023-09-01", "fraud", "2023-09-10", "2023-12-01", "true"],
            ]
        ),
        "penalties.csv": _csv(
            [
                ["record_no", "enterprise_id", "start", "authority", "severity"],
                ["P4", e[4], "2024-06-30", "SAMR", "severe"],  # last day of the window: bad
                ["P5", e[5], "2023-09-01", "SAMR", "general"],  # not severe
            ]
        ),
        "dishonest_debtors.csv": _csv(
            [["record_no", "enterprise_id", "start"], ["D8", e[8], "2024-07-01"]]  # after
        ),
        "guarantees.csv": _csv(
            [
                [
                    "contract_no",
                    "guarantor_id",
                    "guaranteed_id",
                    "amount",
                    "valid_from",
                    "valid_to",
                    "defaulted_on",
                ],
                ["G1", e[7], e[6], 1000, "2022-01-01", "2025-01-01", "2024-01-10"],
                # Starts and ends inside the window: seen at the month-ends it spans.
                ["G2", e[0], e[10], 1000, "2023-09-01", "2024-04-01", "2024-03-01"],
            ]
        ),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    with LadybugStore(folder / "db") as store:
        load_folder(store, folder, salt=SALT, rejects_dir=folder / "rejects", strict=True)
        yield store


def test_labels_count_configured_events_in_the_window_only(label_store: LadybugStore) -> None:
    events = LabelEvents.from_store(label_store, LabelDefinition(), AS, date(2025, 6, 30))
    ids = pa.array([make_uscc(i) for i in range(12)])
    bad = {i for i, flag in enumerate(events.labels(AS, ids)) if flag}
    # 1 abnormal (no annual report), 4 severe penalty on the last day, 6 its guaranteed loan
    # defaulted (not 7, its guarantor), 10 a guarantee that began after the as-of date.
    # 9 was already listed (no new event), 11's listing was annulled by an objection.
    assert bad == {1, 4, 6, 10}
    counts = events.event_counts(AS, ids)
    assert counts["guarantee_default"] == 2 and counts["penalty:severe"] == 1


def test_label_events_are_configurable(label_store: LadybugStore) -> None:
    only = LabelDefinition(12, ("black_list", "penalty:general"))
    events = LabelEvents.from_store(label_store, only, AS, date(2025, 6, 30))
    ids = pa.array([make_uscc(i) for i in range(12)])
    assert {i for i, flag in enumerate(events.labels(AS, ids)) if flag} == {5}
    shorter = LabelEvents.from_store(label_store, LabelDefinition(1), AS, date(2025, 6, 30))
    assert {i for i, flag in enumerate(shorter.labels(AS, ids)) if flag} == {1}


def test_a_window_not_fully_observed_is_refused(label_store: LadybugStore) -> None:
    events = LabelEvents.from_store(label_store, LabelDefinition(), AS, date(2024, 6, 29))
    with pytest.raises(ModelError, match=r"ends 2024-06-30, after .*\(2024-06-29\).*2023-06-29"):
        events.labels(AS, pa.array([make_uscc(1)]))
    assert latest_record_start(label_store) == date(2024, 7, 1)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (("penalty:huge",), "severity must be one of"),
        (("bankruptcy",), "unknown label event"),
        (("black_list:fraud",), "unknown label event"),
        ((), "no label events"),
    ],
)
def test_bad_label_definitions_are_refused(events: tuple[str, ...], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        LabelDefinition(12, events)


def test_population_is_firms_in_operation_and_registered_here() -> None:
    table = pa.table(
        {
            "id": ["a", "b", "c", "d", "FOREIGN:HK:1", "f"],
            "status": ["active", "deregistered", "deregistered", "revoked", "active", "suspended"],
            "established_on": pa.array([date(2020, 1, 1)] * 5 + [date(2024, 7, 1)], pa.date32()),
            "deregistered_on": pa.array(
                [None, date(2024, 1, 1), date(2024, 9, 1), None, None, None], pa.date32()
            ),
        }
    )
    # b ended before the date, c after it (still operating), d ended at an unknown date,
    # the foreign shareholder is not graded here, f was not yet established.
    assert in_operation(table, date(2024, 6, 30)).tolist() == [
        True, False, True, False, False, False
    ]  # fmt: skip


# -- grades -----------------------------------------------------------------------------


def test_mix_grades_follow_the_shares_by_rank() -> None:
    policy = GradePolicy.of("mix", {"A": 0.7, "B": 0.22, "C": 0.06, "D": 0.02}, {})
    scores = np.random.default_rng(0).random(1000)
    grades, cuts = policy.assign(scores)
    assert {g: int(np.sum(grades == g)) for g in "ABCD"} == {"A": 700, "B": 220, "C": 60, "D": 20}
    assert scores[grades == "D"].min() > scores[grades == "C"].max() > cuts[1] - 1e-12
    assert scores[grades == "B"].min() > scores[grades == "A"].max()


def test_equal_scores_get_the_same_grade_milder_at_a_cut() -> None:
    policy = GradePolicy.of("mix", {"A": 0.5, "B": 0.5}, {})
    grades, _ = policy.assign(np.array([0.1, 0.2, 0.2, 0.2, 0.3, 0.4]))
    assert grades.tolist() == ["A", "A", "A", "A", "B", "B"]


def test_band_grades_cut_at_fixed_probabilities() -> None:
    policy = GradePolicy.of("bands", {}, {"A": 0.0, "B": 0.05, "C": 0.2})
    grades, _ = policy.assign(np.array([0.0, 0.0499, 0.05, 0.19, 0.2, 0.9]))
    assert grades.tolist() == ["A", "A", "B", "B", "C", "C"]


@pytest.mark.parametrize(
    ("method", "values", "message"),
    [
        ("mix", {"A": 0.7, "B": 0.2}, "sum to 1"),
        ("mix", {"A": 1.0}, "at least two classes"),
        ("bands", {"A": 0.1, "B": 0.5}, "first must be 0"),
        ("bands", {"A": 0.0, "B": 0.5, "C": 0.4}, "rise strictly"),
        ("curve", {"A": 0.5, "B": 0.5}, "must be 'mix' or 'bands'"),
    ],
)
def test_bad_grade_policies_are_refused(
    method: str, values: dict[str, float], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        GradePolicy.of(method, values, values)


# -- metrics, calibration, sampling -------------------------------------------------------


def test_rank_metrics_on_known_orders() -> None:
    y = np.array([0, 0, 1, 0, 1, 1], dtype=bool)
    perfect = np.array([0.1, 0.2, 0.7, 0.3, 0.8, 0.9])
    assert ks_statistic(y, perfect) == pytest.approx(1.0)
    assert recall_at_k(y, perfect) == 1.0
    assert recall_at_k(y, -perfect) == 0.0
    assert recall_at_k(y, np.array([0.9, 0.1, 0.8, 0.2, 0.3, 0.4])) == pytest.approx(2 / 3)


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=20_000)
    assert psi(a, rng.normal(size=20_000)) < 0.01
    assert psi(a, rng.normal(loc=1.0, size=20_000)) > 0.25


def test_calibration_table_has_equal_groups_in_score_order() -> None:
    score = np.linspace(0, 1, 100)
    table = calibration_table(score > 0.5, score, bins=10)
    assert [row["n"] for row in table] == [10] * 10
    assert table[0]["observed"] == 0 and table[-1]["observed"] == 1
    assert table[0]["mean_score"] < table[-1]["mean_score"]


def test_platt_calibration_recovers_a_logistic_link() -> None:
    rng = np.random.default_rng(2)
    margin = rng.normal(scale=2.0, size=50_000)
    y = rng.random(50_000) < 1 / (1 + np.exp(-(0.5 * margin - 3.0)))
    fitted = Calibration.fit(margin, y)
    assert fitted.slope == pytest.approx(0.5, abs=0.05)
    assert fitted.intercept == pytest.approx(-3.0, abs=0.1)
    assert np.all(np.diff(fitted(np.sort(margin))) >= 0)  # ranking kept
    with pytest.raises(ModelError, match="does not rank"):
        Calibration.fit(margin, ~y)


def test_training_sample_keeps_every_positive_and_is_seeded() -> None:
    y = np.zeros(1000, dtype=bool)
    y[::50] = True  # 20 positives
    kept = sample_negatives(y, 5.0, seed=7, day=AS_OF)
    assert y[kept].sum() == 20 and len(kept) == 20 + 100
    assert np.array_equal(kept, sample_negatives(y, 5.0, seed=7, day=AS_OF))
    assert not np.array_equal(kept, sample_negatives(y, 5.0, seed=8, day=AS_OF))
    assert len(sample_negatives(y, 0.0, seed=7, day=AS_OF)) == 1000


# -- evidence ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finder() -> EvidenceFinder:
    b = SnapshotBuilder().firms_named("A", "B", "C", "D", "E", "F", "G").person("p", "q", "r")
    b.firm("A", phone="13800000000").firm("E", phone="13800000000")
    b.tie("LEGAL_REP", "p", "A").tie("LEGAL_REP", "p", "B")  # A – p – B
    b.tie("OFFICER", "r", "A", role="director").tie("OFFICER", "r", "G", role="manager")
    b.tie("HOLDS_SHARES", "B", "C", share=0.4)  # B holds 40 % of C
    b.tie("HOLDS_SHARES", "D", "A", share=0.6).tie("HOLDS_SHARES", "q", "D", share=1.0)
    g = {"amount": 5e6, "currency": "CNY"}
    b.tie("GUARANTEES", "A", "F", **g).tie("GUARANTEES", "F", "B", **g)
    b.tie("GUARANTEES", "B", "A", **g)
    b.record("C", "black_list", date(2025, 1, 10))
    b.record("D", "dishonest_debtor", date(2024, 5, 1))
    b.record("G", "abnormal_list", date(2024, 8, 1), reason="no_annual_report")
    return EvidenceFinder(FeatureContext(b.build()), limit=5)


def test_people_evidence_names_the_person_and_the_bad_firm(finder: EvidenceFinder) -> None:
    (item,) = finder.find("officers_other_firms_bad", 0)
    assert item.nodes == ("A", "r", "G")
    assert item.text == (
        "A –[director]– r –[manager]– G [abnormal list (no_annual_report) since 2024-08-01]"
    )
    assert finder.find("legal_rep_other_firms_bad", 0) == ()  # B has no bad record


def test_contagion_evidence_explains_every_hop(finder: EvidenceFinder) -> None:
    found = finder.find("related_2hop_bad_share", 0)
    by_end = {e.nodes[-1]: e for e in found}
    assert by_end["C"].nodes == ("A", "p", "B", "C")
    assert "–[legal representative]– p –[legal representative]– B –holds 40%→ C" in (
        by_end["C"].text
    )
    assert by_end["D"].nodes == ("A", "D") and "←holds 60%– D" in by_end["D"].text


def test_pagerank_evidence_walks_every_relation_and_names_a_listed_firm_itself_last(
    finder: EvidenceFinder,
) -> None:
    found = finder.find("listed_pagerank", 0)
    assert [e.nodes for e in found] == [("A", "D"), ("A", "B", "C"), ("A", "r", "G")]
    assert "A ←guarantees ¥5,000,000– B –holds 40%→ C [black list" in found[1].text
    # A listed firm's contagion evidence is its listed neighbours first, its own listing last.
    *neighbours, itself = finder.find("listed_pagerank", 2)
    assert itself.nodes == ("C",) and itself.text.endswith("is listed itself")
    assert neighbours and all(e.nodes[0] == "C" and len(e.nodes) > 1 for e in neighbours)


def test_ownership_evidence_puts_bad_owners_first(finder: EvidenceFinder) -> None:
    first, second = finder.find("top_person_stake", 0)
    assert first.nodes == ("A", "D") and "dishonest debtor since 2024-05-01" in first.text
    assert second.nodes == ("A", "D", "q") and "(through the chain: 60%)" in second.text


def test_guarantee_evidence_is_the_shortest_cycle(finder: EvidenceFinder) -> None:
    (cycle,) = finder.find("guarantee_circle_size", 0)
    assert cycle.nodes == ("A", "F", "B")
    assert cycle.text.endswith("B –guarantees→ A")
    given = finder.find("guarantees_given", 0)
    assert [e.nodes for e in given] == [("A", "F")] and "¥5,000,000" in given[0].text


def test_shared_contact_evidence_and_features_without_evidence(finder: EvidenceFinder) -> None:
    (shared,) = finder.find("firms_sharing_phone", 0)
    assert shared.nodes == ("A", "E") and shared.text.startswith("same phone as E")
    assert finder.find("community_size", 0) == ()
    assert finder.find("age_years", 0) == ()
