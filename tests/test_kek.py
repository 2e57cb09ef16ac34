"""Real data nobody here wrote: the KEK media ownership database, through the public loader.

The facts checked are those stated in ``shared/data/kek-media-ownership/SOURCE.md``; they are
computed here with networkx on the HOLDS_SHARES edges of a snapshot taken from the store, so
they hold only if the adapter, the loader, the store and the snapshot all kept every holding.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from conftest import SALT

from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.ladybug import LadybugStore
from graph_model.store.protocol import Path as ChainPath
from loaders.kek import convert_kek, kek_id
from loaders.load import load_folder
from loaders.read import FileProblem
from risk.features import compute_features
from risk.features.context import FeatureContext
from risk.features.ownership import integrated_stakes

# shared/ sits beside the repository (…/work/shared next to …/work/main), in CI as here.
KEK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kek-media-ownership"

pytestmark = pytest.mark.skipif(not KEK.is_dir(), reason=f"KEK data not found at {KEK}")


@pytest.fixture(scope="module")
def kek_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LadybugStore]:
    """The KEK data converted, loaded strictly (nothing may be rejected) into one store."""
    tmp = tmp_path_factory.mktemp("kek")
    folder = convert_kek(KEK, tmp / "contract")
    with LadybugStore(tmp / "db") as store:
        summary = load_folder(store, folder, salt=SALT, rejects_dir=tmp / "rejects", strict=True)
        assert summary.rejected == 0
        assert {t.table: t.accepted for t in summary.tables} == {
            "enterprises": 3065,
            "shareholdings": 2904,
        }
        yield store


@pytest.fixture(scope="module")
def kek_snapshot(kek_store: LadybugStore) -> Snapshot:
    """Today's snapshot of the KEK store."""
    return take_snapshot(kek_store, date.today())


@pytest.fixture(scope="module")
def holdings(kek_snapshot: Snapshot) -> nx.DiGraph:
    """HOLDS_SHARES of today's snapshot as a directed graph of enterprise ids."""
    rel = kek_snapshot.relations["HOLDS_SHARES"]
    ids = kek_snapshot.enterprises["id"].to_pylist()
    shares = rel.properties["share"].to_pylist()
    graph = nx.DiGraph()
    for s, t, share in zip(rel.sources.tolist(), rel.indices.tolist(), shares, strict=True):
        graph.add_edge(ids[s], ids[t], share=share)
    return graph


def test_counts_in_the_store(kek_store: LadybugStore) -> None:
    counts = kek_store.counts()
    assert counts.nodes == {"Enterprise": 3065, "Person": 0}
    assert counts.relations["HOLDS_SHARES"] == 2904


def test_companies_in_holdings(holdings: nx.DiGraph) -> None:
    assert holdings.number_of_edges() == 2904
    assert holdings.number_of_nodes() == 2705
    assert all(n.startswith("SRC:kek:") for n in holdings)


def test_weakly_connected_groups(holdings: nx.DiGraph) -> None:
    sizes = sorted((len(c) for c in nx.weakly_connected_components(holdings)), reverse=True)
    assert len(sizes) == 178
    assert sizes[0] == 1610


def test_cross_holdings_and_self_holding(holdings: nx.DiGraph) -> None:
    cycles = sorted(
        (len(c) for c in nx.strongly_connected_components(holdings) if len(c) > 1), reverse=True
    )
    assert cycles == [3, 2, 2]
    assert list(nx.selfloop_edges(holdings)) == [(kek_id("1115"), kek_id("1115"))]


def test_longest_chain_after_collapsing_cross_holdings(holdings: nx.DiGraph) -> None:
    assert nx.dag_longest_path_length(nx.condensation(holdings)) == 15


def test_shares_and_unknown_stakes(holdings: nx.DiGraph) -> None:
    shares = [s for *_, s in holdings.edges(data="share")]
    assert sum(s is None for s in shares) == 47  # unknown stakes stay unknown
    known = [s for s in shares if s is not None]
    assert min(known) > 0 and max(known) <= 1.0
    with (KEK / "shares.csv").open(encoding="utf-8", newline="") as fh:
        first = next(csv.DictReader(fh))
    stored = holdings.edges[kek_id(first["shareholder"]), kek_id(first["owns"])]["share"]
    assert stored == pytest.approx(float(first["share"]) / 100)


def _check_chain(path: ChainPath, start: str, graph: nx.DiGraph) -> None:
    """Each step goes from a company to one of its shareholders, along a real holding."""
    assert path.nodes[0].id == start
    for i, edge in enumerate(path.edges):
        assert (edge.target, edge.source) == (path.nodes[i].id, path.nodes[i + 1].id)
        assert graph.has_edge(edge.source, edge.target)
        assert edge.properties["share"] == graph.edges[edge.source, edge.target]["share"]


@pytest.mark.parametrize(
    ("company", "depth"),
    [("67", 8), ("1018", 4)],  # 67 ends the 15-hop chain; 1018 has branching owners
)
def test_ownership_up_matches_the_graph(
    kek_store: LadybugStore, holdings: nx.DiGraph, company: str, depth: int
) -> None:
    start = kek_id(company)
    chains = kek_store.ownership(start, "up", max_depth=depth, limit=1000)
    assert 0 < len(chains) < 1000
    for chain in chains:
        _check_chain(chain, start, holdings)
    expected = nx.single_source_shortest_path_length(holdings.reverse(), start, cutoff=depth)
    assert {c.end.id for c in chains} == set(expected) - {start}
    assert max(c.length for c in chains) == depth  # multi-level owners are reached


def test_convert_kek_needs_both_files(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "company.csv").write_text("id,name\n1,A\n", encoding="utf-8")
    with pytest.raises(FileProblem, match=r"shares\.csv"):
        convert_kek(tmp_path / "src", tmp_path / "out")


def test_features_find_the_cross_holdings_and_the_longest_chain(
    kek_snapshot: Snapshot, holdings: nx.DiGraph
) -> None:
    matrix = compute_features(kek_snapshot, families=("ownership",))
    ids = matrix.ids.to_numpy(zero_copy_only=False)
    crossing = set(ids[matrix.column("cross_holding") == 1].tolist())
    cycles = [c for c in nx.strongly_connected_components(holdings) if len(c) > 1]
    assert sorted(len(c) for c in cycles) == [2, 2, 3]
    assert crossing == set().union(*cycles) | {kek_id("1115")}  # and the self-holding
    # SOURCE.md: after collapsing cross-holdings the longest ownership chain has 15 hops.
    depth = matrix.column("ownership_depth")
    assert depth.max() == 15
    assert depth[ids.tolist().index(kek_id("67"))] == 15  # 67 ends that chain


def test_integrated_ownership_converges_on_real_cross_holdings(kek_snapshot: Snapshot) -> None:
    stakes = integrated_stakes(FeatureContext(kek_snapshot))
    direct = stakes.direct.toarray()
    walks = direct @ np.linalg.inv(np.eye(len(direct)) - direct)
    closed = walks / (1 + np.diag(walks))[:, None]
    np.fill_diagonal(closed, 0.0)
    np.testing.assert_allclose(stakes.integrated.toarray(), closed, atol=1e-4)
    # Indirect stakes exist beyond the direct ones: chains multiply through.
    assert stakes.integrated.nnz > 2 * stakes.direct.nnz
