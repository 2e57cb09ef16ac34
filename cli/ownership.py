"""The ``ownership`` command: an enterprise's ownership seen through (股权穿透) on a saved
snapshot, as an indented tree with the actual controller (risk/ownership_tree.py,
docs/workbench.md); ``--json`` prints the API's answer instead."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from access.keyring import Caller
from api.schemas.graph import ControllerOut, OwnershipTreeOut, TreeNodeOut
from cli.common import (
    LanguageOption,
    fail,
    option_date,
    parse_language,
    rate_table,
    read_settings,
)
from risk.data_home import DataHome
from risk.ownership_tree import DEFAULT_CHILDREN, DEFAULT_DEPTH, MAX_CHILDREN, MAX_DEPTH
from risk.snapshot_index import SnapshotIndex

OPERATOR = Caller("command line", "regulator")
"""Who reads through the command line: whoever holds the data home sees it whole."""

_STOPS = {"cycle": "↺ cycle, not expanded", "depth": "…", "limit": "… (node limit)"}


def ownership(
    enterprise_id: Annotated[str, typer.Argument(help="USCC or external id of the enterprise.")],
    down: Annotated[
        bool, typer.Option("--down", help="What it holds, instead of who holds it.")
    ] = False,
    depth: Annotated[
        int, typer.Option(min=1, max=MAX_DEPTH, help="Layers of the tree.")
    ] = DEFAULT_DEPTH,
    children: Annotated[
        int,
        typer.Option(min=1, max=MAX_CHILDREN, help="Children shown per node; the rest summed."),
    ] = DEFAULT_CHILDREN,
    as_of: Annotated[
        str | None, typer.Option(help="Snapshot date; default: the latest saved, up to today.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")] = False,
    language: LanguageOption = None,
) -> None:
    """Ownership seen through: the tree of holders (or with --down, holdings) with direct
    and integrated stakes, the actual controller with its chain, the beneficial owners."""
    settings = read_settings()
    lang = parse_language(language) or "en"
    day = option_date(as_of) if as_of else None
    home = DataHome(settings)
    snapshot = home.snapshot(day) if day else home.latest_snapshot(date.today())
    index = SnapshotIndex(snapshot, rate_table(settings))
    row = index.enterprise(enterprise_id)
    if row is None:
        raise fail(f"no enterprise {enterprise_id} in the snapshot of {snapshot.as_of}")
    found = OwnershipTreeOut.of(
        index, row, "down" if down else "up", depth, children, OPERATOR, lang
    )
    if as_json:
        typer.echo(found.model_dump_json(indent=1))
        return
    typer.echo(
        f"{'holdings' if down else 'holders'} of {found.tree.node.id} {found.tree.node.name} "
        f"on {found.as_of} ({depth} layers, {children} per node; stake, integrated)"
    )
    _print_node(found.tree, 0)
    typer.echo(_controller_line(found.controller))
    owners = ", ".join(f"{o.node.name} {o.integrated:.1%}" for o in found.beneficial_owners)
    typer.echo(f"beneficial owners (≥ 25 %): {owners or 'none'}")


def _print_node(node: TreeNodeOut, level: int) -> None:
    for child in node.children:
        stake = f"{child.stake:.1%}" if child.stake is not None else "?"
        integrated = f", {child.integrated:.1%}" if child.integrated is not None else ""
        stop = f"  {_STOPS[child.stop]}" if child.stop else ""
        kind = "person" if child.node.label == "Person" else child.node.id
        typer.echo(f"{'  ' * level}├ {child.node.name} ({kind}) {stake}{integrated}{stop}")
        _print_node(child, level + 1)
    if node.more:
        typer.echo(f"{'  ' * level}└ … and {node.more:,} more ({node.more_stake:.1%})")


def _controller_line(controller: ControllerOut) -> str:
    if controller.node is None:
        return f"actual controller: none ({controller.reason})"
    chain = (
        " → ".join(
            [controller.chain[0].holder.name or controller.chain[0].holder.id]
            + [f"{s.stake:.1%} {s.enterprise.name}" for s in controller.chain]
        )
        if controller.chain
        else controller.node.name
    )
    return f"actual controller: {controller.node.name} ({controller.reason}); chain: {chain}"
