"""The ownership tree and the actual controller on small snapshots built by hand, and their
invariants on seeded random holdings with cross-holdings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from feature_graphs import SnapshotBuilder

from risk.ownership_tree import TreeNode, actual_controller, ownership_tree
from risk.snapshot_index import SnapshotIndex


def index_of(b: SnapshotBuilder) -> SnapshotIndex:
    return SnapshotIndex(b.build())


def test_a_person_controls_through_60_and_90_percent_with_the_chain() -> None:
    b = SnapshotBuilder().firms_named("H", "B").person("p", "q")
    b.tie("HOLDS_SHARES", "p", "H", share=0.6).tie("HOLDS_SHARES", "q", "H", share=0.4)
    b.tie("HOLDS_SHARES", "H", "B", share=0.9)
    idx = index_of(b)
    found = actual_controller(idx, b.index("B"))
    assert found.basis == "majority" and found.node == b.index("p")
    assert found.share == pytest.approx(0.54)
    assert [(s.holder, s.enterprise, s.stake) for s in found.chain] == [
        (b.index("p"), b.index("H"), pytest.approx(0.6)),
        (b.index("H"), b.index("B"), pytest.approx(0.9)),
    ]
    tree = ownership_tree(idx, b.index("B"), "up", depth=3)
    (h,) = tree.root.children
    assert (h.node, h.stake, h.integrated) == (b.index("H"), pytest.approx(0.9), pytest.approx(0.9))
    assert [(c.node, c.stake, c.integrated) for c in h.children] == [
        (b.index("p"), pytest.approx(0.6), pytest.approx(0.54)),
        (b.index("q"), pytest.approx(0.4), pytest.approx(0.36)),
    ]
    down = ownership_tree(idx, b.index("H"), "down")
    assert [(c.node, c.stake) for c in down.root.children] == [(b.index("B"), pytest.approx(0.9))]


def test_largest_holder_controls_only_with_a_lead_of_ten_points() -> None:
    b = SnapshotBuilder().firms_named("L", "N").person("a", "b", "c", "d")
    b.tie("HOLDS_SHARES", "a", "L", share=0.40).tie("HOLDS_SHARES", "b", "L", share=0.30)
    b.tie("HOLDS_SHARES", "c", "N", share=0.35).tie("HOLDS_SHARES", "d", "N", share=0.30)
    idx = index_of(b)
    led = actual_controller(idx, b.index("L"))
    assert (led.basis, led.node, led.runner_up) == ("largest", b.index("a"), pytest.approx(0.3))
    close = actual_controller(idx, b.index("N"))
    assert (close.basis, close.node, close.chain) == ("no_lead", None, ())
    assert "35.0%" in close.reason() and "30.0%" in close.reason("zh")


def test_dispersed_ownership_has_no_controller() -> None:
    b = SnapshotBuilder().firms_named("D").person(*(f"p{k}" for k in range(5)))
    for k in range(5):
        b.tie("HOLDS_SHARES", f"p{k}", "D", share=0.2)
    found = actual_controller(index_of(b), b.index("D"))
    assert (found.basis, found.node, found.share) == ("dispersed", None, pytest.approx(0.2))


def test_a_cross_holding_stops_as_a_cycle_on_its_branch() -> None:
    b = SnapshotBuilder().firms_named("A", "B").person("p")
    b.tie("HOLDS_SHARES", "A", "B", share=0.3).tie("HOLDS_SHARES", "B", "A", share=0.2)
    b.tie("HOLDS_SHARES", "p", "A", share=0.8)
    idx = index_of(b)
    tree = ownership_tree(idx, b.index("A"), "up", depth=8)
    by_node = {c.node: c for c in tree.root.children}
    again = by_node[b.index("B")].children[0]
    assert again.node == b.index("A") and again.stop == "cycle" and not again.children
    assert by_node[b.index("p")].stop is None
    # p holds A directly (0.8) and through A's 20 % of itself via B, summed once.
    assert actual_controller(idx, b.index("A")).node == b.index("p")
    assert tree.nodes == 4


def test_a_hundred_and_twenty_holders_show_ten_and_sum_the_rest() -> None:
    b = SnapshotBuilder().firms_named("F")
    people = [f"p{k:03d}" for k in range(120)]
    b.person(*people)
    for k, p in enumerate(people):
        b.tie("HOLDS_SHARES", p, "F", share=(k + 1) / 7260)  # 1 + … + 120 = 7260
    tree = ownership_tree(index_of(b), b.index("F"), "up", children=10)
    shown = tree.root.children
    assert [c.node for c in shown] == [b.index(p) for p in reversed(people[-10:])]
    assert tree.root.more == 110
    assert tree.root.more_stake == pytest.approx(sum(range(1, 111)) / 7260)


def test_the_last_layer_says_there_is_more_below() -> None:
    b = SnapshotBuilder().firms_named("A", "B", "C").person("p")
    b.tie("HOLDS_SHARES", "B", "A", share=1.0).tie("HOLDS_SHARES", "C", "B", share=1.0)
    b.tie("HOLDS_SHARES", "p", "C", share=1.0)
    tree = ownership_tree(index_of(b), b.index("A"), "up", depth=2)
    c = tree.root.children[0].children[0]
    assert (c.node, c.stop, c.children) == (b.index("C"), "depth", ())
    with pytest.raises(ValueError, match="depth"):
        ownership_tree(index_of(b), 0, "up", depth=9)


def random_holdings(seed: int, n: int = 30, persons: int = 8) -> SnapshotBuilder:
    """Firms held by one to four of the others and of a few persons, cross-holdings
    included; part of each firm is held by outsiders."""
    rng = np.random.default_rng(seed)
    b = SnapshotBuilder().firms_named(*(f"F{i}" for i in range(n)))
    b.person(*(f"p{i}" for i in range(persons)))
    for target in range(n):
        holders = rng.choice(n + persons, size=rng.integers(1, 5), replace=False)
        shares = rng.dirichlet(np.ones(len(holders) + 1))[:-1]
        for h, share in zip(holders, shares, strict=True):
            if h != target:
                name = f"F{h}" if h < n else f"p{h - n}"
                b.tie("HOLDS_SHARES", name, f"F{target}", share=float(share))
    return b


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("direction", ["up", "down"])
def test_every_tree_edge_is_a_direct_stake_and_cycles_close_on_their_branch(
    seed: int, direction: str
) -> None:
    idx = index_of(random_holdings(seed))
    way = "up" if direction == "up" else "down"
    read = idx.direct_holders if way == "up" else idx.direct_holdings
    for row in range(idx.n_enterprises):
        tree = ownership_tree(idx, row, way, depth=5, children=2)
        seen = 0

        def check(node: TreeNode, branch: tuple[int, ...]) -> None:
            nonlocal seen
            seen += 1
            found, shares = read(node.node)
            stake_of = dict(zip(found.tolist(), shares.tolist(), strict=True))
            shown = [c.stake for c in node.children]
            assert shown == sorted(shown, reverse=True)
            if node.children or node.more:
                # Shown and summed, the node's stakes are all there.
                assert len(node.children) + node.more == len(found)
                assert sum(shown) + node.more_stake == pytest.approx(sum(shares))
            for c in node.children:
                assert c.stake == pytest.approx(stake_of[c.node])
                assert (c.stop == "cycle") == (c.node in (*branch, node.node))
                if c.stop == "cycle":
                    assert not c.children
                check(c, (*branch, node.node))

        check(tree.root, ())
        assert seen == tree.nodes


@pytest.mark.parametrize("seed", range(8))
def test_a_controller_qualifies_and_its_chain_is_a_path_of_direct_stakes(seed: int) -> None:
    idx = index_of(random_holdings(seed))
    for row in range(idx.n_enterprises):
        found = actual_controller(idx, row)
        if found.node is None:
            assert found.chain == ()
            continue
        assert found.share > 0.5 or (
            found.share >= 0.25 and found.share - found.runner_up >= 0.1 - 1e-9
        )
        assert idx.is_person(found.node) or not len(idx.direct_holders(found.node)[0])
        chain = found.chain
        assert chain[0].holder == found.node and chain[-1].enterprise == row
        for before, after in itertools.pairwise(chain):
            assert before.enterprise == after.holder
        for step in chain:
            holders, shares = idx.direct_holders(step.enterprise)
            assert step.stake == pytest.approx(
                dict(zip(holders.tolist(), shares.tolist(), strict=True))[step.holder]
            )
        # The chain carries part of the controller's integrated stake, never more.
        assert np.prod([s.stake for s in chain]) <= found.share + 1e-9
