"""Ownership seen through (股权穿透): the tree of an enterprise's holders or holdings to N
layers, and its actual controller (实际控制人) with the chain of stakes that makes them so.

Both read the served snapshot's :class:`~risk.snapshot_index.SnapshotIndex`: the direct
stakes (holders without a known stake are not in the matrix, hence not in the tree) and the
integrated stakes of :func:`risk.features.ownership.integrated_stakes` (the sum over every
path of the product of the stakes, cross-holdings solved), so the answer is the same on
either store.

The tree is built breadth first. Each node shows at most ``children`` of its own, largest
direct stake first (ties by node order); the rest are summed into ``more`` and
``more_stake`` ("and N more"). A node met again on its own branch (a cross-holding) is
shown with ``stop="cycle"`` and not expanded; a node at the last layer that has more below
it has ``stop="depth"``; once ``MAX_NODES`` nodes are shown, the nodes still to expand get
``stop="limit"``. Cost: at most ``MAX_NODES`` nodes; each expansion is one CSR slice of the
node's direct stakes and a partial sort of it, so O(sum of the expanded nodes' degrees).

The controller rule (docs/workbench.md): among the *ultimate* holders (persons,
and enterprises with no known holder of their own), the largest integrated holder controls
when its stake is over ``CONTROL_SHARE`` (50 %), or when it is at least
``BENEFICIAL_OWNER_SHARE`` (25 %) and leads the next ultimate holder by ``LEAD_MARGIN``
(10 points) or more. The chain follows, from the firm upwards, the direct holder that
carries most of the controller's stake (direct stake × controller's integrated stake in
that holder), at most ``MAX_DEPTH`` steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from risk.features.ownership import BENEFICIAL_OWNER_SHARE
from risk.snapshot_index import SnapshotIndex
from risk.wording import Language, word

DEFAULT_DEPTH = 3
MAX_DEPTH = 8
DEFAULT_CHILDREN = 10
MAX_CHILDREN = 50
MAX_NODES = 2_000
"""Nodes shown in one tree at most (10 children over 3 layers is 1,111)."""
CONTROL_SHARE = 0.5
LEAD_MARGIN = 0.10
"""Lead over the next ultimate holder needed for control below a majority: a smaller lead
is undone by the runner-up joining a minor holder, and flips with the rounding of stakes
in registers (whole or tenth percents)."""
_EPS = 1e-12

Direction = Literal["up", "down"]
Stop = Literal["cycle", "depth", "limit"]
ControlBasis = Literal["majority", "largest", "dispersed", "no_lead", "no_holders"]


@dataclass(frozen=True)
class TreeNode:
    """A node of the tree: ``stake`` is the direct stake on the edge to its parent (up: the
    node's stake in the parent; down: the parent's in the node), ``integrated`` the
    integrated stake between the node and the root (None at the root, or when none)."""

    node: int
    stake: float | None
    integrated: float | None
    children: tuple[TreeNode, ...]
    more: int
    """Children not shown."""
    more_stake: float
    """Their summed direct stake."""
    stop: Stop | None
    """Why a node with more below it was not expanded."""


@dataclass(frozen=True)
class OwnershipTree:
    root: TreeNode
    direction: Direction
    depth: int
    children: int
    nodes: int


@dataclass(frozen=True)
class ControlStep:
    """One link of a control chain: ``holder`` holds ``stake`` of ``enterprise`` directly."""

    holder: int
    enterprise: int
    stake: float


@dataclass(frozen=True)
class Controller:
    """The actual controller (``node``, None when nobody qualifies), why (``basis``), the
    largest ultimate holder's integrated stake and the runner-up's, and the chain from the
    controller down to the firm."""

    basis: ControlBasis
    node: int | None
    share: float
    runner_up: float
    chain: tuple[ControlStep, ...]

    def reason(self, lang: Language = "en") -> str:
        """The rule's answer in one sentence (risk/wording.yaml, ``control_basis``)."""
        said = word("control_basis", self.basis, lang)
        return said.format(share=f"{self.share:.1%}", second=f"{self.runner_up:.1%}")


def ownership_tree(
    index: SnapshotIndex,
    row: int,
    direction: Direction = "up",
    depth: int = DEFAULT_DEPTH,
    children: int = DEFAULT_CHILDREN,
) -> OwnershipTree:
    """The holders (``up``) or holdings (``down``) of enterprise ``row`` to ``depth``
    layers, at most ``children`` per node (see the module docstring for cycles and cost)."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be within 1..{MAX_DEPTH}, got {depth}")
    if not 1 <= children <= MAX_CHILDREN:
        raise ValueError(f"children must be within 1..{MAX_CHILDREN}, got {children}")
    expand: Callable[[int], tuple[np.ndarray, np.ndarray]]
    if direction == "up":
        integrated, expand = index.integrated_in(row), index.direct_holders
    else:
        integrated, expand = index.integrated_of(row), index.direct_holdings
    node, parent = [row], [-1]
    stake: list[float | None] = [None]
    kids: list[list[int]] = [[]]
    more, more_stake = [0], [0.0]
    stop: list[Stop | None] = [None]
    frontier = [0]
    for layer in range(depth + 1):
        following = []
        for at in frontier:
            found, shares = expand(node[at])
            if not len(found) or stop[at] == "cycle":
                continue
            if layer == depth:
                stop[at] = "depth"
                continue
            if len(node) + min(children, len(found)) > MAX_NODES:
                stop[at] = "limit"
                continue
            order = _largest(found, shares, children)
            rest = len(found) - len(order)
            more[at], more_stake[at] = rest, float(shares.sum() - shares[order].sum())
            for k in order.tolist():
                child = int(found[k])
                kids[at].append(len(node))
                following.append(len(node))
                stop.append("cycle" if _on_branch(child, at, node, parent) else None)
                node.append(child)
                parent.append(at)
                stake.append(float(shares[k]))
                kids.append([])
                more.append(0)
                more_stake.append(0.0)
        frontier = following

    def frozen(at: int) -> TreeNode:
        return TreeNode(
            node[at],
            stake[at],
            None if at == 0 else integrated.get(node[at]),
            tuple(frozen(k) for k in kids[at]),
            more[at],
            more_stake[at],
            stop[at],
        )

    return OwnershipTree(frozen(0), direction, depth, children, len(node))


def _largest(found: np.ndarray, shares: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest stakes, largest first, ties by node order."""
    kept = np.argpartition(-shares, k - 1)[:k] if len(found) > k else np.arange(len(found))
    return kept[np.lexsort((found[kept], -shares[kept]))]


def _on_branch(child: int, at: int, node: list[int], parent: list[int]) -> bool:
    """Whether ``child`` is the node at ``at`` or one of its ancestors (at most MAX_DEPTH)."""
    while at >= 0:
        if node[at] == child:
            return True
        at = parent[at]
    return False


def actual_controller(index: SnapshotIndex, row: int) -> Controller:
    """The actual controller of enterprise ``row`` by the rule of the module docstring."""
    ultimate = [
        (holder, share)
        for holder, share in index.integrated_in(row).items()
        if index.is_person(holder) or not len(index.direct_holders(holder)[0])
    ]
    if not ultimate:
        return Controller("no_holders", None, 0.0, 0.0, ())
    ranked = sorted(ultimate, key=lambda hs: (-hs[1], str(index.ids[hs[0]])))
    top, share = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    basis: ControlBasis
    if share > CONTROL_SHARE + _EPS:
        basis = "majority"
    elif share < BENEFICIAL_OWNER_SHARE - _EPS:
        basis = "dispersed"
    elif share - second < LEAD_MARGIN - _EPS:
        basis = "no_lead"
    else:
        basis = "largest"
    if basis not in ("majority", "largest"):
        return Controller(basis, None, share, second, ())
    return Controller(basis, top, share, second, control_chain(index, top, row))


def control_chain(index: SnapshotIndex, holder: int, row: int) -> tuple[ControlStep, ...]:
    """The chain of direct stakes from ``holder`` down to enterprise ``row`` that carries
    most of the holder's integrated stake, holder first; empty when none within
    ``MAX_DEPTH`` steps."""
    reach = index.integrated_of(holder)
    steps: list[ControlStep] = []
    current, seen = row, {row}
    for _ in range(MAX_DEPTH):
        found, shares = index.direct_holders(current)
        direct = {int(h): float(s) for h, s in zip(found, shares, strict=True)}
        if holder in direct:
            steps.append(ControlStep(holder, current, direct[holder]))
            return tuple(reversed(steps))
        carried = [(s * reach.get(h, 0.0), h) for h, s in direct.items() if h not in seen]
        best, via = max(carried, default=(0.0, -1))
        if best <= 0.0:
            return ()
        steps.append(ControlStep(via, current, direct[via]))
        current = via
        seen.add(via)
    return ()
