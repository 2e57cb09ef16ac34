"""Tests of the synthetic demo city (loaders/generator/).

One 4,000-firm city is drawn per module and checked against the data contract
(graph_model/domain.yaml) and against the shape the demo promises: heavy tails,
guarantee circles, shared addresses, history and contagion of bad records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from graph_model.domain import FieldSpec, load_domain
from graph_model.identifiers import enterprise_id_valid_array, person_id_valid_array
from loaders.generator import MIN_ENTERPRISES, GenerationSummary, generate_city

N = 4000
SEED = 7
START, END = date(2019, 1, 1), date(2025, 12, 31)
BAD = ("abnormal_list", "black_list", "dishonest_debtors", "penalties")


@dataclass(frozen=True)
class City:
    summary: GenerationSummary
    messages: tuple[str, ...]
    arrow: dict[str, pa.Table]
    frames: dict[str, pd.DataFrame]


def _fields(file: str) -> tuple[FieldSpec, ...]:
    d = load_domain()
    specs = {n.file: n.input_fields for n in d.nodes}  # derived fields are not in files
    specs |= {r.file: r.input_fields for r in d.relations}
    specs |= {r.file: r.fields for r in d.records}
    return specs[file]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    messages: list[str] = []
    summary = generate_city(
        tmp_path_factory.mktemp("city"),
        N,
        seed=SEED,
        start=START,
        end=END,
        progress=messages.append,
    )
    arrow = {f: pq.read_table(summary.path(f)) for f in load_domain().files}
    frames = {f: t.to_pandas(date_as_object=False) for f, t in arrow.items()}
    return City(summary, tuple(messages), arrow, frames)


def _ts(day: date) -> pd.Timestamp:
    return pd.Timestamp(day)


def _open_on(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """Rows valid on ``day``: validity is half-open, [valid_from, valid_to)."""
    t = _ts(day)
    started = frame["valid_from"].isna() | (frame["valid_from"] <= t)
    return frame[started & (frame["valid_to"].isna() | (frame["valid_to"] > t))]


# ---------------------------------------------------------------- the contract


def test_writes_every_contract_file_with_contract_columns_and_types(city: City) -> None:
    files = sorted(p.stem for p in city.summary.out_dir.iterdir())
    assert files == sorted(load_domain().files)
    for file, table in city.arrow.items():
        fields = _fields(file)
        assert table.column_names == [f.name for f in fields], file
        for f in fields:
            assert table.schema.field(f.name).type == f.arrow_type, (file, f.name)
        assert city.summary.rows[file] == table.num_rows > 0, file
    assert city.messages and all(isinstance(m, str) for m in city.messages)


def test_values_respect_field_specs(city: City) -> None:
    for file, frame in city.frames.items():
        for f in _fields(file):
            col = frame[f.name]
            if f.required:
                assert col.notna().all(), (file, f.name)
            if f.values:
                assert set(col.dropna()) <= set(f.values), (file, f.name)
            if f.pattern:
                assert col.dropna().str.fullmatch(f.pattern).all(), (file, f.name)
            if f.min is not None:
                assert (col.dropna() >= f.min).all(), (file, f.name)
            if f.max is not None:
                assert (col.dropna() <= f.max).all(), (file, f.name)
            if f.after:
                assert not (col < frame[f.after]).any(), (file, f.name)


def test_identifiers_pass_the_checks_and_are_unique(city: City) -> None:
    ent, persons = city.frames["enterprises"], city.frames["persons"]
    assert enterprise_id_valid_array(ent["id"].to_numpy()).all()
    assert person_id_valid_array(persons["id_number"].to_numpy()).all()
    assert ent["id"].is_unique and persons["id_number"].is_unique
    uscc = ent["id"][~ent["id"].str.startswith("FOREIGN:")]
    assert uscc.str[:2].isin(["91", "92"]).all()
    assert (uscc.str[2:8] == ent.loc[uscc.index, "region_code"]).all()
    assert uscc.str[8:17].is_unique
    born = pd.to_datetime(persons["id_number"].str[6:14], format="%Y%m%d")
    assert born.between(pd.Timestamp("1930-01-01"), _ts(END) - pd.DateOffset(years=18)).all()


def test_foreign_shareholders_have_their_own_rows(city: City) -> None:
    ent, hold = city.frames["enterprises"], city.frames["shareholdings"]
    foreign = ent[ent["id"].str.startswith("FOREIGN:")]
    assert 0 < len(foreign) < 0.02 * N
    assert foreign["region_code"].isna().all() and foreign["name"].notna().all()
    held_by_foreign = hold["holder_id"].str.startswith("FOREIGN:")
    assert 0.001 < held_by_foreign.mean() < 0.02
    assert set(foreign["id"]) == set(hold.loc[held_by_foreign, "holder_id"])


def test_relation_and_record_keys_are_unique(city: City) -> None:
    d = load_domain()
    for rel in d.relations:
        frame = city.frames[rel.file].copy()
        sub = rel.key_substitute
        if sub is not None:  # an empty key field is keyed by its substitute fields instead
            stand_in = frame[list(sub.fields)].astype(object).map(str).agg("~".join, axis=1)
            frame[sub.field] = frame[sub.field].fillna("~" + stand_in)
        assert not frame.duplicated(list(rel.key)).any(), rel.file
    for rec in d.records:
        assert not city.frames[rec.file].duplicated(list(rec.key)).any(), rec.file


def test_every_reference_points_to_a_row(city: City) -> None:
    d = load_domain()
    enterprises = set(city.frames["enterprises"]["id"])
    persons = set(city.frames["persons"]["id_number"])
    for rel in d.relations:
        frame = city.frames[rel.file]
        for end in (rel.source, rel.target):
            if end.ref == "party":
                assert end.type_field is not None
                is_person = frame[end.type_field] == "person"
                assert frame.loc[is_person, end.field].isin(persons).all(), rel.file
                assert frame.loc[~is_person, end.field].isin(enterprises).all(), rel.file
            else:
                known = persons if end.ref == "person" else enterprises
                assert frame[end.field].isin(known).all(), (rel.file, end.field)
    for rec in d.records:
        assert city.frames[rec.file]["enterprise_id"].isin(enterprises).all(), rec.file


def test_records_fall_in_the_period_and_the_firms_life(city: City) -> None:
    ent = city.frames["enterprises"].set_index("id")
    for rec in load_domain().records:
        frame = city.frames[rec.file]
        assert frame["start"].between(_ts(START), _ts(END)).all(), rec.file
        assert (frame["end"].isna() | (frame["end"] <= _ts(END))).all(), rec.file
        est = ent.loc[frame["enterprise_id"], "established_on"].to_numpy()
        gone = ent.loc[frame["enterprise_id"], "deregistered_on"].to_numpy()
        assert (frame["start"].to_numpy() >= est).all(), rec.file
        assert not (frame["start"].to_numpy() > gone).any(), rec.file


def test_relations_start_after_their_firms_are_established(city: City) -> None:
    est = city.frames["enterprises"].set_index("id")["established_on"]
    for file in ("legal_reps", "officers", "shareholdings"):
        frame = city.frames[file]
        known = frame["valid_from"].notna()
        since = est.loc[frame.loc[known, "enterprise_id"]].to_numpy()
        assert (frame.loc[known, "valid_from"].to_numpy() >= since).all(), file


# ---------------------------------------------------------------- ownership and people


@pytest.mark.parametrize("day", [date(2019, 6, 30), date(2022, 7, 1), END])
def test_open_stakes_of_a_firm_add_up_to_at_most_one(city: City, day: date) -> None:
    hold = city.frames["shareholdings"]
    assert hold["share"].dropna().between(0, 1).all()
    total = _open_on(hold, day).groupby("enterprise_id")["share"].sum()
    # Strictly: the generator keeps float sums at or below 1 whatever the order.
    assert total.max() <= 1.0
    assert (total > 0.999).mean() > 0.8


@pytest.mark.parametrize("day", [date(2019, 6, 30), END])
def test_each_living_firm_has_exactly_one_legal_rep(city: City, day: date) -> None:
    ent = city.frames["enterprises"]
    t = _ts(day)
    living = ent[
        (ent["established_on"] <= t)
        & (ent["deregistered_on"].isna() | (ent["deregistered_on"] > t))
    ]
    per_firm = _open_on(city.frames["legal_reps"], day).groupby("enterprise_id").size()
    assert per_firm.max() == 1
    assert living["id"].isin(per_firm.index).all()


def test_successors_start_the_day_their_predecessors_end(city: City) -> None:
    ent = city.frames["enterprises"].set_index("id")
    for file in ("legal_reps", "shareholdings"):
        frame = city.frames[file]
        ended = frame[frame["valid_to"].notna()]
        # Relations also end, without a successor, when a firm at either end is deregistered.
        gone = ent.loc[ended["enterprise_id"], "deregistered_on"].to_numpy()
        if "holder_id" in ended:
            holder_gone = ent["deregistered_on"].reindex(ended["holder_id"]).to_numpy()
            gone = np.where(ended["valid_to"].to_numpy() == holder_gone, holder_gone, gone)
        handed_over = ended[~(ended["valid_to"].to_numpy() == gone)]
        assert len(handed_over) > 50, file
        starts = set(zip(frame["enterprise_id"], frame["valid_from"], strict=True))
        pairs = zip(handed_over["enterprise_id"], handed_over["valid_to"], strict=True)
        assert all(p in starts for p in pairs), file


def test_holding_groups_form_chains_and_a_few_cycles(city: City) -> None:
    hold = city.frames["shareholdings"]
    corp = hold[hold["holder_type"] == "enterprise"]
    g = nx.DiGraph(zip(corp["holder_id"], corp["enterprise_id"], strict=True))
    assert max(d for _, d in g.out_degree()) >= 10
    assert 4 <= nx.dag_longest_path_length(nx.condensation(g)) <= 8
    cycles = list(nx.simple_cycles(g, length_bound=8))
    assert 1 <= len(cycles) <= 50


def test_most_firms_have_one_or_two_owners_and_persons_are_about_1_5_per_firm(
    city: City,
) -> None:
    hold = _open_on(city.frames["shareholdings"], END)
    owners = hold.groupby("enterprise_id").size()
    assert (owners == 1).mean() > 0.4
    assert (owners <= 2).mean() > 0.7
    assert 1.2 < len(city.frames["persons"]) / N < 1.8


def test_legal_rep_counts_have_a_heavy_tail(city: City) -> None:
    counts = city.frames["legal_reps"].groupby("person_id_number")["enterprise_id"].nunique()
    assert (counts == 1).mean() > 0.6
    assert (counts >= 5).sum() >= 20
    assert counts.max() >= 12


def test_officers_cover_a_fraction_of_firms(city: City) -> None:
    officers = city.frames["officers"]
    share = officers["enterprise_id"].nunique() / N
    assert 0.2 < share < 0.7
    assert set(officers["role"]) == {"director", "supervisor", "manager"}


def test_history_has_sales_rebuys_changes_and_deregistrations(city: City) -> None:
    ent, hold, reps = (city.frames[f] for f in ("enterprises", "shareholdings", "legal_reps"))
    est = ent["established_on"].dropna()
    assert (est < _ts(START)).mean() > 0.3 and (est >= _ts(START)).mean() > 0.2
    assert 0.03 < ent["deregistered_on"].notna().mean() < 0.3
    gone = ent["status"].isin(["deregistered", "revoked"])
    assert (gone == ent["deregistered_on"].notna()).all()
    sold = hold["valid_to"].notna()
    assert 0.03 < sold.mean() < 0.3
    pairs = hold.groupby(["holder_id", "enterprise_id"]).size()
    assert (pairs >= 2).sum() >= 10  # shares sold and bought back by the same holder
    changed = reps.groupby("enterprise_id").size()
    assert 0.08 < (changed >= 2).mean() < 0.4


# ---------------------------------------------------------------- contact data


def test_agent_addresses_are_shared_by_many_firms_and_most_addresses_are_unique(
    city: City,
) -> None:
    ent = city.frames["enterprises"]
    per_address = ent["address"].value_counts()
    assert per_address.iloc[0] >= 50
    assert (ent["address"].map(per_address) == 1).mean() > 0.8
    per_phone = ent["phone"].value_counts()
    assert per_phone.iloc[0] >= 10
    assert (ent["phone"].map(per_phone) == 1).mean() > 0.6
    assert ent["email"].value_counts().iloc[0] >= 5


# ---------------------------------------------------------------- guarantees


def test_guarantees_include_mutual_pairs_and_circles(city: City) -> None:
    guar = city.frames["guarantees"]
    assert 0.2 < len(guar) / N < 0.4
    edges = set(zip(guar["guarantor_id"], guar["guaranteed_id"], strict=True))
    assert all(a != b for a, b in edges)
    assert sum((b, a) in edges for a, b in edges) >= 20
    g = nx.DiGraph(edges)
    long_cycles = [c for c in nx.simple_cycles(g, length_bound=8) if len(c) >= 3]
    assert len(long_cycles) >= 5
    for cycle in long_cycles[:20]:
        assert all(g.has_edge(a, b) for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True))


def test_defaults_hit_guarantee_circles_hardest(city: City) -> None:
    guar = city.frames["guarantees"]
    g = nx.DiGraph(zip(guar["guarantor_id"], guar["guaranteed_id"], strict=True))
    circle_of: dict[str, int] = {}
    for i, comp in enumerate(nx.strongly_connected_components(g)):
        if len(comp) >= 3:
            circle_of |= dict.fromkeys(comp, i)
    a = guar["guarantor_id"].map(circle_of)
    in_circle = a.notna() & (a == guar["guaranteed_id"].map(circle_of))
    defaulted = guar["defaulted_on"].notna()
    assert 0 < defaulted.mean() < 0.15
    assert defaulted[in_circle].mean() > 2 * defaulted[~in_circle].mean()
    amount = guar["amount"].dropna()  # a few are published without their amount
    assert (amount > 0).all() and amount.max() > 20 * amount.median()


# ---------------------------------------------------------------- records


def test_record_rates_resemble_a_city(city: City) -> None:
    rate = {
        f: city.frames[f]["enterprise_id"].nunique() / N
        for f in load_domain().files
        if "enterprise_id" in city.frames[f]
        and f not in ("legal_reps", "officers", "shareholdings")
    }
    assert 0.04 < rate["abnormal_list"] < 0.10
    assert 0.002 < rate["black_list"] < 0.02
    assert 0.004 < rate["dishonest_debtors"] < 0.03
    assert 0.03 < rate["penalties"] < 0.09
    assert rate["commitments"] > 0.05 and rate["inspections"] > 0.05
    commitments, inspections = city.frames["commitments"], city.frames["inspections"]
    assert commitments["kept"].eq(False).any() and commitments["kept"].isna().any()
    assert (inspections["finding"] == "problem_found").any()


def test_abnormal_listings_follow_the_annual_report_deadline(city: City) -> None:
    listed = city.frames["abnormal_list"]
    annual = listed[listed["reason"] == "no_annual_report"]
    assert len(annual) > 0.4 * len(listed)
    assert annual["start"].dt.month.between(7, 8).all()
    assert listed["end"].notna().mean() > 0.2
    black = city.frames["black_list"]
    moved = black[black["reason"].str.contains("经营异常名录")]
    assert len(moved) > 0
    both = moved.merge(listed, on="enterprise_id", suffixes=("", "_abnormal"))
    gap = both["start"] - both["start_abnormal"]
    assert (gap.between(pd.Timedelta(days=1090), pd.Timedelta(days=1100))).any()


def test_penalty_publicity_windows(city: City) -> None:
    pen = city.frames["penalties"]
    assert pen["severity"].value_counts().idxmax() == "minor"
    ended = pen[pen["end"].notna()]
    minor = ended[ended["severity"] == "minor"]
    months = (minor["end"].dt.year - minor["start"].dt.year) * 12 + (
        minor["end"].dt.month - minor["start"].dt.month
    )
    assert (months == 3).all()
    other = pen[(pen["severity"] != "minor") & pen["end"].notna()]
    assert ((other["end"] - other["start"]) <= pd.Timedelta(days=3 * 366)).all()


def _related_pairs(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """(a, b) pairs of firms sharing a person, a shareholder or a guarantee."""
    hold = frames["shareholdings"]
    corp = hold[hold["holder_type"] == "enterprise"]
    guar = frames["guarantees"]
    links = pd.concat(
        [
            frames["legal_reps"][["person_id_number", "enterprise_id"]].set_axis(
                ["c", "f"], axis=1
            ),
            frames["officers"][["person_id_number", "enterprise_id"]].set_axis(["c", "f"], axis=1),
            hold[["holder_id", "enterprise_id"]].set_axis(["c", "f"], axis=1),
            pd.DataFrame({"c": corp["holder_id"], "f": corp["holder_id"]}),
            guar.reset_index()[["index", "guarantor_id"]].set_axis(["c", "f"], axis=1),
            guar.reset_index()[["index", "guaranteed_id"]].set_axis(["c", "f"], axis=1),
        ]
    ).drop_duplicates()
    pairs = links.merge(links, on="c")
    pairs = pairs[pairs["f_x"] != pairs["f_y"]]
    return pairs[["f_x", "f_y"]].drop_duplicates().set_axis(["a", "b"], axis=1)


def test_bad_records_spread_to_related_firms(city: City) -> None:
    bad = pd.concat([city.frames[f][["enterprise_id", "start"]] for f in BAD])
    first = bad.groupby("enterprise_id")["start"].min()
    pairs = _related_pairs(city.frames)
    pairs["since"] = pairs["a"].map(first)
    exposed_since = pairs.dropna().groupby("b")["since"].min()
    own = first.reindex(exposed_since.index)
    clean_when_exposed = ~(own <= exposed_since)
    rate_exposed = (own > exposed_since)[clean_when_exposed].mean()
    ent = city.frames["enterprises"]
    domestic = ent.loc[ent["region_code"].notna(), "id"]
    strangers = domestic[~domestic.isin(exposed_since.index)]
    rate_strangers = strangers.isin(first.index).mean()
    assert clean_when_exposed.sum() > 300 and len(strangers) > 300
    assert rate_exposed > 1.5 * rate_strangers


def test_branches_paid_in_capital_and_guarantees_with_unknowns(city: City) -> None:
    ent = city.frames["enterprises"].set_index("id")
    branches = city.frames["branches"]
    assert 0.005 < len(branches) / N < 0.05
    assert (branches["head_office_id"] != branches["branch_id"]).all()
    assert branches["branch_id"].is_unique  # a branch has one head office
    assert (ent.loc[branches["head_office_id"], "registered_capital"] >= 5e6).all()
    names = ent.loc[branches["branch_id"], "name"].to_numpy()
    heads = ent.loc[branches["head_office_id"], "name"].to_numpy()
    assert all(b.startswith(h) and b.endswith("分公司") for b, h in zip(names, heads, strict=True))

    paid = ent["paid_in_capital"]
    assert 0.5 < paid.notna().mean() < 0.8
    assert (paid.dropna() <= ent.loc[paid.notna(), "registered_capital"] + 0.01).all()
    assert (paid == 0).any() and (paid == ent["registered_capital"]).any()
    hold = city.frames["shareholdings"]
    assert hold["paid_in_amount"].notna().any()
    assert (
        hold["paid_in_amount"].dropna()
        <= hold.loc[hold["paid_in_amount"].notna(), "subscribed_amount"] + 0.01
    ).all()

    guar = city.frames["guarantees"]
    for column in ("contract_no", "amount", "valid_from"):
        assert 0 < guar[column].isna().sum() < 0.05 * len(guar), column


def test_court_records_tax_violations_and_status_events(city: City) -> None:
    suits = city.frames["lawsuits"]
    assert 0.1 < suits["enterprise_id"].nunique() / N < 0.4
    assert set(suits["role"]) == {"plaintiff", "defendant", "third_party"}
    parties = suits.groupby("record_no")["role"].agg(sorted)
    shared = parties[parties.map(len) > 1]
    assert len(shared) > 50 and all(roles == ["defendant", "plaintiff"] for roles in shared)
    assert 0.05 < suits["amount"].isna().mean() < 0.3

    # Every dishonest debtor was enforced against before it was listed, for the same sum.
    debtors = city.frames["dishonest_debtors"]
    enforced = city.frames["enforcements"]
    both = debtors.merge(enforced, on=["enterprise_id", "amount"], suffixes=("", "_enf"))
    assert both["enterprise_id"].nunique() > 0.8 * debtors["enterprise_id"].nunique()
    assert (both["start_enf"] < both["start"]).mean() > 0.9
    assert len(enforced) > len(debtors)

    tax = city.frames["tax_violations"]
    assert len(tax) > 0 and tax["enterprise_id"].is_unique
    assert (tax["end"].isna() | (tax["end"] <= tax["start"] + pd.DateOffset(years=3))).all()

    events = city.frames["status_events"]
    ent = city.frames["enterprises"].set_index("id")
    for event, status in (("revocation", "revoked"), ("deregistration", "deregistered")):
        rows = events[events["event"] == event]
        assert len(rows) > 0, event
        assert (ent.loc[rows["enterprise_id"], "status"] == status).all(), event
        assert (
            ent.loc[rows["enterprise_id"], "deregistered_on"].to_numpy() == rows["start"].to_numpy()
        ).all()
    bankrupt = events.loc[events["event"] == "bankruptcy", "enterprise_id"]
    troubled = set(debtors["enterprise_id"]) | set(
        city.frames["guarantees"].loc[
            city.frames["guarantees"]["defaulted_on"].notna(), "guaranteed_id"
        ]
    )
    assert len(bankrupt) > 0 and bankrupt.isin(troubled).all()


# ---------------------------------------------------------------- determinism and formats


def _read_dir(summary: GenerationSummary) -> Iterator[tuple[str, bytes]]:
    for file in load_domain().files:
        yield file, summary.path(file).read_bytes()


def test_same_seed_gives_identical_files_and_other_seeds_differ(tmp_path: Path) -> None:
    one = generate_city(tmp_path / "one", 2000, seed=3)
    two = generate_city(tmp_path / "two", 2000, seed=3)
    other = generate_city(tmp_path / "other", 2000, seed=4)
    assert dict(_read_dir(one)) == dict(_read_dir(two))
    a = pq.read_table(one.path("enterprises"))
    b = pq.read_table(other.path("enterprises"))
    assert not a.equals(b)
    assert set(a.column("id").to_pylist()).isdisjoint(b.column("id").to_pylist()[:100])


def test_csv_holds_the_same_data_as_parquet(city: City, tmp_path: Path) -> None:
    summary = generate_city(tmp_path, N, seed=SEED, fmt="csv", start=START, end=END)
    for file, table in city.arrow.items():
        path = summary.path(file)
        assert path.suffix == ".csv"
        assert path.read_text("utf-8").splitlines()[0].replace('"', "").split(",") == (
            table.column_names
        )
        convert = pacsv.ConvertOptions(
            column_types=table.schema, strings_can_be_null=True, quoted_strings_can_be_null=False
        )
        assert pacsv.read_csv(path, convert_options=convert).equals(table), file


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt"):
        generate_city(tmp_path, 1000, fmt="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_enterprises"):
        generate_city(tmp_path, MIN_ENTERPRISES - 1)
    with pytest.raises(ValueError, match="two years"):
        generate_city(tmp_path, 1000, start=date(2024, 1, 1), end=date(2024, 12, 31))


def test_smallest_city_still_follows_the_contract(tmp_path: Path) -> None:
    summary = generate_city(tmp_path, MIN_ENTERPRISES, seed=1)
    ent = pq.read_table(summary.path("enterprises")).column("id").to_numpy(zero_copy_only=False)
    assert len(ent) == MIN_ENTERPRISES and enterprise_id_valid_array(ent).all()
    persons = pq.read_table(summary.path("persons")).column("id_number")
    assert person_id_valid_array(persons.to_numpy(zero_copy_only=False)).all()
