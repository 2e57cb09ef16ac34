"""Feature families on small hand-built snapshots whose right answers can be worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import SALT, make_resident_id, make_uscc
from feature_graphs import AS_OF, SnapshotBuilder

from graph_model.rates import Rate, RateTable
from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.ladybug import LadybugStore
from loaders.load import load_folder
from risk.features import FeatureMatrix, compute_features
from risk.features.catalog import load_catalog
from risk.features.context import FeatureContext
from risk.features.guarantees import guarantee_circles
from risk.model.dataset import FeatureSource
from risk.supervision.walk import Adjacency

DAY = timedelta(days=1)


def values(
    builder: SnapshotBuilder, family: str, rates: RateTable | None = None
) -> dict[str, dict[str, float]]:
    """{feature: {firm: value}} for one family."""
    matrix = compute_features(builder.build(), families=(family,), rates=rates)
    firms = matrix.ids.to_pylist()
    return {
        name: dict(zip(firms, matrix.column(name).tolist(), strict=True)) for name in matrix.names
    }


def test_every_catalog_feature_is_computed_in_catalog_order(tmp_path: Path) -> None:
    builder = SnapshotBuilder().firms_named("A", "B").person("p")
    builder.tie("LEGAL_REP", "p", "A").tie("GUARANTEES", "A", "B", amount=10.0, currency="CNY")
    matrix = compute_features(builder.build())
    assert matrix.names == load_catalog().names
    assert matrix.values.shape == (2, len(load_catalog().names))
    assert matrix.values.dtype == np.float32
    assert set(matrix.seconds) == {f.name for f in load_catalog().families}

    saved = FeatureMatrix.load(matrix.save(tmp_path / "f.parquet"))
    assert saved.as_of == AS_OF
    assert saved.ids.to_pylist() == ["A", "B"]
    np.testing.assert_array_equal(saved.values, matrix.values)


def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown feature families"):
        compute_features(SnapshotBuilder().firm("A").build(), families=("astrology",))


def test_saved_matrix_of_another_catalog_is_refused(tmp_path: Path) -> None:
    matrix = compute_features(SnapshotBuilder().firm("A").build(), families=("own",))
    path = matrix.save(tmp_path / "partial.parquet")
    with pytest.raises(ValueError, match="differ from the catalog"):
        FeatureMatrix.load(path)


def test_own_records_active_expired_and_recency() -> None:
    b = SnapshotBuilder().firm("A", established_on=AS_OF - timedelta(days=3653)).firm("92X")
    b.firm("S", status="suspended", registered_capital=None)
    b.record("A", "abnormal_list", AS_OF - 100 * DAY)  # active: no end
    b.record("A", "abnormal_list", AS_OF - 900 * DAY, end=AS_OF - 500 * DAY)
    b.record("A", "penalty", AS_OF - 40 * DAY, severity="severe")
    b.record("A", "penalty", AS_OF - 2000 * DAY, end=AS_OF - 1000 * DAY, severity="minor")
    b.record("A", "commitment", AS_OF - 10 * DAY, kept=False)
    b.record("A", "commitment", AS_OF - 10 * DAY, kept=True)
    b.record("A", "inspection", AS_OF - 30 * DAY, finding="problem_found")
    b.record("A", "inspection", AS_OF - 300 * DAY, finding="no_problem")
    v = values(b, "own")
    assert v["age_years"]["A"] == pytest.approx(10.0, abs=0.01)
    assert v["abnormal_list_active"]["A"] == 1
    assert v["abnormal_list_expired"]["A"] == 1
    assert v["days_since_abnormal_list"]["A"] == 100
    assert np.isnan(v["days_since_abnormal_list"]["92X"])
    assert (v["penalty_active"]["A"], v["penalty_expired"]["A"]) == (1, 1)
    assert v["penalty_severe"]["A"] == 1
    assert v["days_since_penalty"]["A"] == 40
    assert (v["commitments_signed"]["A"], v["commitments_broken"]["A"]) == (2, 1)
    assert (v["inspections"]["A"], v["inspection_findings"]["A"]) == (2, 1)
    assert v["days_since_inspection"]["A"] == 30
    assert v["individual_business"] == {"A": 0, "92X": 1, "S": 0}
    assert v["suspended"]["S"] == 1
    assert np.isnan(v["registered_capital"]["S"])


def test_people_other_firms_and_black_listed_links() -> None:
    b = SnapshotBuilder().firms_named("A", "B", "C", "D", "E").person("rep", "off", "holder")
    for firm in ("A", "B", "C"):
        b.tie("LEGAL_REP", "rep", firm)
    b.tie("OFFICER", "off", "A", role="director").tie("OFFICER", "off", "D", role="manager")
    b.tie("OFFICER", "off", "A", role="manager")  # two roles, one officer
    b.tie("HOLDS_SHARES", "holder", "A", share=0.5).tie("LEGAL_REP", "holder", "E")
    b.record("B", "black_list", AS_OF - 2 * 365 * DAY)  # within 3 years
    b.record("D", "black_list", AS_OF - 4 * 365 * DAY, end=AS_OF - 365 * DAY)  # too old
    b.record("E", "black_list", AS_OF - 30 * DAY)
    v = values(b, "people")
    assert v["legal_rep_other_firms"] == {"A": 2, "B": 2, "C": 2, "D": 0, "E": 0}
    assert v["legal_rep_other_firms_bad"]["A"] == 1  # B is black-listed
    assert v["legal_rep_other_firms_bad"]["B"] == 0  # its own record does not count
    assert v["officers"]["A"] == 1
    assert v["officers_other_firms"]["A"] == 1  # off also leads D
    assert v["officers_other_firms_bad"]["A"] == 0  # D's listing has ended
    # rep leads B (listed 2 years ago); holder leads E (listed 30 days ago); off's D is too old.
    assert v["people_black_listed_3y"]["A"] == 2
    assert v["people_black_listed_3y"]["B"] == 0  # rep's other firms A and C are clean


def test_ownership_integrated_stakes_owners_and_controller() -> None:
    b = SnapshotBuilder().firms_named("H", "B", "C", "X", "Y").person("p1", "p2")
    b.tie("HOLDS_SHARES", "p1", "H", share=0.6).tie("HOLDS_SHARES", "H", "B", share=0.5)
    b.tie("HOLDS_SHARES", "p2", "B", share=0.5).tie("HOLDS_SHARES", "B", "C", share=1.0)
    b.tie("HOLDS_SHARES", "X", "Y", share=0.3).tie("HOLDS_SHARES", "Y", "X", share=0.2)
    v = values(b, "ownership")
    assert v["shareholders"]["B"] == 2
    assert v["enterprise_shareholders"]["B"] == 1
    assert v["top_share"]["B"] == pytest.approx(0.5)
    assert v["share_hhi"]["B"] == pytest.approx(0.5)
    assert v["top_share"]["H"] == pytest.approx(0.6)
    assert v["holdings"]["H"] == 1
    assert v["ownership_depth"] == {"H": 0, "B": 1, "C": 2, "X": 0, "Y": 0}
    # p1 holds 0.6 × 0.5 = 0.3 of B and of C (through B's 100 %); p2 holds 0.5 of both.
    assert v["beneficial_owners"]["B"] == 2
    assert v["beneficial_owners"]["C"] == 2
    assert v["top_person_stake"]["C"] == pytest.approx(0.5)
    assert v["indirect_share_of_top_person"]["B"] == pytest.approx(0.0)
    assert v["indirect_share_of_top_person"]["C"] == pytest.approx(1.0)
    # p2 is the largest owner (50 %) of B and C; p1 controls H.
    assert v["controller_group_size"] == {"H": 1, "B": 2, "C": 2, "X": 0, "Y": 0}
    assert v["cross_holding"] == {"H": 0, "B": 0, "C": 0, "X": 1, "Y": 1}
    assert np.isnan(v["top_person_stake"]["X"])


def test_guarantee_circle_mutual_chain_defaults_and_stress() -> None:
    b = SnapshotBuilder().firms_named("A", "B", "C", "D", "E", "F", "G", "H")
    b.firm("F", registered_capital=100.0).firm("G", registered_capital=100.0)
    g = {"currency": "CNY"}
    b.tie("GUARANTEES", "A", "B", amount=10.0, **g).tie("GUARANTEES", "B", "C", amount=20.0, **g)
    b.tie("GUARANTEES", "C", "A", amount=30.0, **g)
    b.tie("GUARANTEES", "D", "E", amount=1.0, **g).tie("GUARANTEES", "E", "D", amount=1.0, **g)
    b.tie("GUARANTEES", "F", "G", amount=100.0, **g).tie("GUARANTEES", "G", "H", amount=50.0, **g)
    b.tie("GUARANTEES", "C", "D", amount=5.0, currency="USD", defaulted_on=AS_OF - 10 * DAY)
    b.record("H", "dishonest_debtor", AS_OF - 20 * DAY)
    v = values(b, "guarantees")
    assert v["guarantee_circle_size"] == {
        "A": 3, "B": 3, "C": 3, "D": 2, "E": 2, "F": 0, "G": 0, "H": 0
    }  # fmt: skip
    assert v["guarantee_cycle_length"]["A"] == 3
    assert v["guarantee_cycle_length"]["D"] == 2
    assert np.isnan(v["guarantee_cycle_length"]["F"])
    assert v["mutual_guarantees"]["D"] == 1 and v["mutual_guarantees"]["A"] == 0
    assert v["guarantee_chain_length"]["G"] == 2  # F → G → H
    assert v["guarantee_chain_length"]["A"] == 1  # circle {A,B,C} → circle {D,E}
    assert v["guarantees_given"]["C"] == 2
    assert v["guarantees_received"]["D"] == 2
    # Without a rate the USD amount is unknown in CNY: so are the sums that hold it.
    assert np.isnan(v["guaranteed_amount_to_capital"]["C"])
    assert np.isnan(v["received_amount_to_capital"]["D"])
    assert np.isnan(v["guaranteed_bad_share"]["C"])
    assert v["guaranteed_amount_to_capital"]["A"] == pytest.approx(10.0 / 1_000_000)
    assert v["own_loans_defaulted"]["D"] == 1 and v["liable_for_defaults"]["C"] == 1
    assert v["guaranteed_bad_share"]["G"] == pytest.approx(1.0)
    assert v["guarantors_bad"]["H"] == 0 and v["guarantors_bad"]["E"] == 0
    assert np.isnan(v["guaranteed_bad_share"]["H"])
    # H defaults: G loses 50 of 100 (0.5); F backs G with its whole capital, so loses 0.5.
    assert v["stress_loss"]["G"] == pytest.approx(0.5)
    assert v["stress_loss"]["F"] == pytest.approx(0.5)
    assert v["stress_loss"]["H"] == 0  # own distress excluded
    # D defaulted: what C (its USD guarantor) loses depends on the unknown amount, and so
    # does what reaches B and A through C; the F–G–H chain does not.
    assert all(np.isnan(v["stress_loss"][f]) for f in "ABC")

    usd = RateTable((Rate("USD", 7.0, AS_OF, "test"),))
    v = values(b, "guarantees", usd)
    assert v["guaranteed_amount_to_capital"]["C"] == pytest.approx((30.0 + 35.0) / 1_000_000)
    assert v["received_amount_to_capital"]["D"] == pytest.approx((35.0 + 1.0) / 1_000_000)
    assert v["guaranteed_bad_share"]["C"] == pytest.approx(0.0)
    assert v["stress_loss"]["C"] == pytest.approx(35.0 / 1_000_000)
    assert v["stress_loss"]["G"] == pytest.approx(0.5)


def test_circle_totals_convert_at_the_rate_and_report_what_has_none() -> None:
    b = SnapshotBuilder().firms_named("A", "B", "C", "X", "Y")
    b.tie("GUARANTEES", "A", "B", amount=100.0, currency="CNY")
    b.tie("GUARANTEES", "B", "C", amount=10.0, currency="USD")
    b.tie("GUARANTEES", "C", "A", amount=5.0, currency="EUR")
    b.tie("GUARANTEES", "X", "Y", amount=150.0, currency=None)  # no currency: CNY
    b.tie("GUARANTEES", "Y", "X", amount=0.0, currency="CNY")
    snap = b.build()
    usd = RateTable((Rate("USD", 7.0, AS_OF, "test"),))
    first, second = guarantee_circles(FeatureContext(snap, usd))
    # The USD guarantee counts at its rate (170 CNY), so this circle ranks first.
    assert sorted(first.members.tolist()) == [0, 1, 2]
    assert first.amount == pytest.approx(100.0 + 70.0)
    assert first.unconverted == {"EUR": 5.0}  # reported apart, never as 0
    assert second.amount == 150.0 and second.unconverted == {}
    # Without any rate, both foreign amounts stay unconverted, in their currencies.
    first, second = guarantee_circles(FeatureContext(snap))
    assert (first.amount, second.amount) == (150.0, 100.0)
    assert second.unconverted == {"EUR": 5.0, "USD": 10.0}


def test_cached_features_of_other_rates_are_computed_again(tmp_path: Path) -> None:
    b = SnapshotBuilder().firms_named("A", "B")
    b.tie("GUARANTEES", "A", "B", amount=10.0, currency="USD")
    b.build().save(tmp_path / "snapshots" / AS_OF.isoformat())

    def ratio(matrix: FeatureMatrix) -> float:
        return float(matrix.column("guaranteed_amount_to_capital")[0])

    plain = FeatureSource(None, tmp_path / "features", tmp_path / "snapshots")
    assert np.isnan(ratio(plain.matrix(AS_OF)))
    notes: list[str] = []
    usd = RateTable((Rate("USD", 7.0, AS_OF, "test"),))
    source = FeatureSource(
        None, tmp_path / "features", tmp_path / "snapshots", True, notes.append, usd
    )
    assert ratio(source.matrix(AS_OF)) == pytest.approx(70.0 / 1_000_000)
    assert f"features {AS_OF}: cached with other currency rates, computing again" in notes
    cached = FeatureMatrix.load(tmp_path / "features" / f"{AS_OF}.parquet")
    assert cached.rates == {"CNY": 1.0, "USD": 7.0}
    assert ratio(cached) == pytest.approx(70.0 / 1_000_000)


def test_contagion_hops_shares_pagerank_and_listing_age() -> None:
    b = SnapshotBuilder().firms_named("A", "B", "C", "D", "Z").person("p")
    b.tie("LEGAL_REP", "p", "A").tie("LEGAL_REP", "p", "B")  # A–B through a person
    b.tie("HOLDS_SHARES", "B", "C", share=0.4)  # B–C by a holding
    b.tie("GUARANTEES", "C", "D", amount=1.0, currency="CNY")  # C–D by a guarantee
    b.record("C", "black_list", AS_OF - 50 * DAY)
    b.record("D", "abnormal_list", AS_OF - 500 * DAY, end=AS_OF - 100 * DAY)
    v = values(b, "contagion")
    assert v["related_1hop"] == {"A": 1, "B": 2, "C": 2, "D": 1, "Z": 0}
    assert v["related_1hop_bad_share"]["B"] == pytest.approx(0.5)  # C listed, A clean
    assert np.isnan(v["related_1hop_bad_share"]["Z"])
    assert v["related_2hop"] == {"A": 2, "B": 3, "C": 3, "D": 2, "Z": 0}
    assert v["related_2hop_bad_share"]["A"] == pytest.approx(0.5)  # B clean, C listed
    assert v["days_since_related_listing"]["A"] == 50
    assert v["days_since_related_listing"]["B"] == 50
    assert v["days_since_related_listing"]["C"] == 100 + 400  # D's listing began 500 days ago
    assert np.isnan(v["days_since_related_listing"]["Z"])
    pr = v["listed_pagerank"]
    assert pr["C"] > pr["B"] > pr["A"] and pr["Z"] == 0


def test_suspected_relations_weigh_rare_values() -> None:
    b = SnapshotBuilder()
    for i in range(12):
        b.firm(f"agent{i}", address="宁波市海曙区代理大厦1号")
    b.firm("P1", phone="057412345678", address="a1").firm("P2", phone="057412345678")
    b.firm("M1", email="x@y.cn").firm("M2", email="x@y.cn").firm("M3", email="x@y.cn")
    b.record("P2", "black_list", AS_OF - 5 * DAY)
    b.record("M3", "dishonest_debtor", AS_OF - 5 * DAY)
    v = values(b, "suspected")
    assert v["firms_at_address"]["agent0"] == 12
    assert v["firms_at_address"]["P1"] == 1
    assert np.isnan(v["firms_at_address"]["P2"])
    assert v["suspected_partners"]["agent0"] == 0  # 12 firms: a crowd, not relations
    assert v["suspected_partners"]["P1"] == 1 and v["suspected_partners"]["M1"] == 2
    assert v["firms_sharing_phone"]["P1"] == 1 and v["firms_sharing_email"]["M1"] == 2
    assert v["suspected_bad_weight"]["P1"] == pytest.approx(1 / 2)
    assert v["suspected_bad_weight"]["M1"] == pytest.approx(1 / 3)
    assert v["suspected_bad_weight"]["P2"] == 0  # its own record does not count


def test_communities_split_two_groups_and_are_reproducible() -> None:
    b = SnapshotBuilder()
    groups = {"L": [f"L{i}" for i in range(6)], "R": [f"R{i}" for i in range(6)]}
    for side, firms in groups.items():
        b.firms_named(*firms).person(f"boss{side}")
        for firm in firms:
            b.tie("OFFICER", f"boss{side}", firm, role="director")
    b.tie("GUARANTEES", "L0", "R0", amount=1.0, currency="CNY")
    b.record("R1", "black_list", AS_OF - 5 * DAY).record("R2", "black_list", AS_OF - 5 * DAY)
    v = values(b, "community")
    assert all(v["community_size"][f] == 6 for f in (*groups["L"], *groups["R"]))
    assert v["community_listed_share"]["R0"] == pytest.approx(2 / 5)
    assert v["community_listed_share"]["R1"] == pytest.approx(1 / 5)
    assert v["community_listed_share"]["L3"] == 0
    assert values(b, "community") == v


def test_reason_sentences_read_the_value() -> None:
    catalog = load_catalog()
    assert (
        catalog.feature("firms_at_address").sentence(14.0)
        == "14 firms share its registered address"
    )
    assert "unknown" in catalog.feature("top_share").sentence(float("nan"))
    for spec in catalog.features:
        spec.sentence(1.0)  # every template formats


def test_dates_before_establishment_are_not_invented() -> None:
    b = SnapshotBuilder().firm("A", established_on=None)
    assert np.isnan(values(b, "own")["age_years"]["A"])
    assert date(2025, 6, 30) == AS_OF


def test_court_records_status_events_and_paid_in_capital() -> None:
    b = SnapshotBuilder().firm("A", paid_in_capital=250_000.0).firm("B")
    b.firm("C", registered_capital=0.0, paid_in_capital=5.0)
    suit = "lawsuit"
    b.record("A", suit, AS_OF - 100 * DAY, role="defendant", amount=5e5)
    b.record("A", suit, AS_OF - 300 * DAY, role="defendant", amount=2e5)
    b.record("A", suit, AS_OF - 400 * DAY, role="defendant", amount=9e9)  # over 12 months ago
    b.record("A", suit, AS_OF - 10 * DAY, role="plaintiff", amount=1e3)
    b.record("A", suit, AS_OF - 10 * DAY, role="third_party")
    b.record("B", suit, AS_OF - 30 * DAY, role="defendant")  # amount unknown
    b.record("A", "enforcement", AS_OF - 50 * DAY, amount=1e5)
    b.record("A", "enforcement", AS_OF - 900 * DAY, end=AS_OF - 100 * DAY, amount=7e7)  # closed
    b.record("B", "enforcement", AS_OF - 50 * DAY)  # amount unknown
    b.record("A", "tax_violation", AS_OF - 20 * DAY, reason="虚开增值税专用发票")
    b.record("A", "status_event", AS_OF - 5 * DAY, event="bankruptcy")
    b.record("B", "status_event", AS_OF - 5 * DAY, event="revocation")
    b.record("C", "status_event", AS_OF - 5 * DAY, event="deregistration")
    v = values(b, "own")
    assert [v["lawsuits_defendant_12m"][f] for f in "ABC"] == [2, 1, 0]
    assert v["lawsuit_amount_defendant_12m"]["A"] == 7e5
    assert np.isnan(v["lawsuit_amount_defendant_12m"]["B"])  # unknown, not 0
    assert v["lawsuit_amount_defendant_12m"]["C"] == 0  # no suit
    assert [v["lawsuits_plaintiff_12m"][f] for f in "ABC"] == [1, 0, 0]
    assert [v["enforcement_active"][f] for f in "ABC"] == [1, 1, 0]
    assert v["enforcement_amount_active"]["A"] == 1e5
    assert np.isnan(v["enforcement_amount_active"]["B"])
    assert (v["tax_violation_active"]["A"], v["days_since_tax_violation"]["A"]) == (1, 20)
    assert np.isnan(v["days_since_tax_violation"]["B"])
    assert [v["bankruptcy"][f] for f in "ABC"] == [1, 0, 0]
    assert [v["licence_revoked"][f] for f in "ABC"] == [0, 1, 0]
    assert v["paid_in_ratio"]["A"] == 0.25
    assert np.isnan(v["paid_in_ratio"]["B"]) and np.isnan(v["paid_in_ratio"]["C"])
    # domain.yaml `adverse`: enforcements, tax violations, bankruptcies and revocations are
    # bad records; lawsuits and deregistrations are not.
    ctx = FeatureContext(b.build())
    assert ctx.bad.tolist() == [True, True, False]
    assert ctx.listed.tolist() == [True, False, False]  # the tax violation is a listing


def test_branches_and_court_debtor_neighbours() -> None:
    b = SnapshotBuilder().firms_named("H", "B1", "B2", "H2", "B3", "X", "Y", "Z", "W", "V")
    b.tie("HAS_BRANCH", "H", "B1").tie("HAS_BRANCH", "H", "B2").tie("HAS_BRANCH", "H2", "B3")
    b.record("B1", "black_list", AS_OF - 10 * DAY)
    b.record("H2", "abnormal_list", AS_OF - 10 * DAY)
    b.person("p", "q")
    b.tie("LEGAL_REP", "p", "X").tie("LEGAL_REP", "p", "Y")  # X ~ Y through p
    b.tie("GUARANTEES", "X", "Z", amount=1.0, currency="CNY")  # X ~ Z
    b.tie("OFFICER", "q", "X", role="director").tie("OFFICER", "q", "W", role="manager")
    b.tie("HOLDS_SHARES", "X", "V", share=0.5)  # X ~ V
    b.record("Y", "enforcement", AS_OF - 30 * DAY)
    b.record("Z", "dishonest_debtor", AS_OF - 30 * DAY)
    b.record("W", "tax_violation", AS_OF - 30 * DAY)
    b.record("V", "enforcement", AS_OF - 300 * DAY, end=AS_OF - 30 * DAY)  # closed
    v = values(b, "contagion")
    assert (v["branches"]["H"], v["branches"]["H2"], v["branches"]["B1"]) == (2, 1, 0)
    assert (v["branches_bad"]["H"], v["branches_bad"]["H2"]) == (1, 0)
    assert [v["head_office_listed"][f] for f in ("B3", "B1", "B2", "H2")] == [1, 0, 0, 0]
    assert v["related_1hop_enforced"]["X"] == 2  # Y (enforcement) and Z (失信)
    assert v["related_1hop_tax_violators"]["X"] == 1  # W
    assert v["related_1hop_enforced"]["Y"] == 0  # X has no court record
    assert v["related_1hop_enforced"]["H"] == 0  # branches are not related parties


def test_unknown_guarantee_amounts_are_unknown_not_zero() -> None:
    b = SnapshotBuilder().firms_named("A", "B", "C", "D")
    b.tie("GUARANTEES", "A", "B", amount=1e6, currency="CNY")
    b.tie("GUARANTEES", "A", "C", amount=None, currency="CNY")  # amount not published
    b.tie("GUARANTEES", "D", "B", amount=5e5, currency="CNY")
    v = values(b, "guarantees")
    assert v["guarantees_given"]["A"] == 2
    assert np.isnan(v["guaranteed_amount_to_capital"]["A"])  # not 1.0: unknown is not 0
    assert np.isnan(v["guaranteed_bad_share"]["A"])
    assert np.isnan(v["received_amount_to_capital"]["C"])
    assert v["received_amount_to_capital"]["B"] == 1.5
    assert v["guaranteed_amount_to_capital"]["D"] == 0.5


def _with_identities(snapshot: Snapshot, identities: dict[str, str]) -> Snapshot:
    """``snapshot`` whose persons carry ``identity`` (as a loaded store's do)."""
    names = snapshot.persons["id"].to_pylist()
    persons = snapshot.persons.append_column(
        "identity", pa.array([identities.get(p, "id_number") for p in names], pa.string())
    )
    return Snapshot(
        snapshot.as_of, snapshot.enterprises, persons, snapshot.relations, snapshot.records
    )


def test_only_identified_people_tie_firms_together() -> None:
    # Two firms sharing a person keyed by an ID number or a source id are related; two firms
    # that a graph ties to one person known by name only are not (a shared name is no tie).
    b = SnapshotBuilder().firms_named("A", "B", "C", "D", "E", "F").person("id", "src", "name")
    for person, firms in (("id", "AB"), ("src", "CD"), ("name", "EF")):
        for firm in firms:
            b.tie("LEGAL_REP", person, firm).tie("OFFICER", person, firm, role="director")
    for firm in "BDF":
        b.record(firm, "black_list", AS_OF - 30 * DAY)
    snap = _with_identities(b.build(), {"src": "source_id", "name": "name"})
    matrix = compute_features(snap, families=("people", "contagion"))
    firms = matrix.ids.to_pylist()
    v = {name: dict(zip(firms, matrix.column(name).tolist(), strict=True)) for name in matrix.names}
    for feature in (
        "legal_rep_other_firms",
        "legal_rep_other_firms_bad",
        "officers_other_firms",
        "officers_other_firms_bad",
        "people_black_listed_3y",
        "related_1hop",
    ):
        assert (v[feature]["A"], v[feature]["C"], v[feature]["E"]) == (1, 1, 0), feature
    assert v["officers"]["E"] == 1  # still E's officer
    assert v["listed_pagerank"]["E"] < v["listed_pagerank"]["A"] / 10
    ctx = FeatureContext(snap)
    assert ctx.ties_firms.tolist() == [True, True, False]
    ties = Adjacency(snap, ("LEGAL_REP", "OFFICER", "HOLDS_SHARES"))

    def reached(firm: str) -> set[str]:
        found = ties.reach([b.index(firm)], 2)
        return {ties.ids[r] for r in found.node[found.hops > 0]}

    assert reached("E") == {"name"}  # the person is reached, F is not
    assert ties.ids[b.index("B")] in reached("A")


def test_loaded_people_by_name_never_tie_firms(
    store: LadybugStore, write_files: Callable[[str, dict[str, str]], Path], tmp_path: Path
) -> None:
    # Through the loader: 王五 named by two firms is two persons; 张三 (by ID number) and a
    # source-id person shared by two firms each relate them.
    a, b, c, d, e, f = (make_uscc(i) for i in range(1, 7))
    rows = {
        "enterprises.csv": "id,name\n" + "".join(f"{x},{x}\n" for x in (a, b, c, d, e, f)),
        "persons.csv": f"id_number,source_id,name\n{make_resident_id(1)},,张三\n,SRC:qcc:7,赵六\n",
        "legal_reps.csv": "person_id_number,person_name,enterprise_id\n"
        f"{make_resident_id(1)},,{a}\n{make_resident_id(1)},,{b}\n"
        f"SRC:qcc:7,,{c}\nSRC:qcc:7,,{d}\n,王五,{e}\n,王五,{f}\n",
    }
    summary = load_folder(
        store, write_files("people", rows), salt=SALT, rejects_dir=tmp_path, strict=True
    )
    assert summary.persons_by_name == 2
    snap = take_snapshot(store, AS_OF)
    assert sorted(snap.persons["identity"].to_pylist()) == [
        "id_number",
        "name",
        "name",
        "source_id",
    ]
    matrix = compute_features(snap, families=("people",))
    other = dict(
        zip(matrix.ids.to_pylist(), matrix.column("legal_rep_other_firms").tolist(), strict=True)
    )
    assert other == {a: 1, b: 1, c: 1, d: 1, e: 0, f: 0}
