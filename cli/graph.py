"""The ``paths`` command: paths between two entities of a saved snapshot (risk/paths.py), each
step with its relation, role, stake or amount and dates, as text or JSON."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer

from cli.common import fail, option_date, rate_table, read_settings
from risk.data_home import DataHome
from risk.paths import DEFAULT_KINDS, DEFAULT_PATHS, MAX_PATH_HOPS, MAX_PATHS, PATH_KINDS, TiePath
from risk.snapshot_index import SnapshotIndex


def paths(
    source: Annotated[
        str, typer.Argument(help="Enterprise id (USCC or external id) or person key.")
    ],
    target: Annotated[str, typer.Argument(help="Enterprise id or person key.")],
    max_hops: Annotated[
        int, typer.Option(min=1, max=MAX_PATH_HOPS, help="Steps a path may take at most.")
    ] = 4,
    kinds: Annotated[
        str | None,
        typer.Option(
            help=f"Relation kinds, comma-separated, from {', '.join(PATH_KINDS)}; default: "
            f"{','.join(DEFAULT_KINDS)}."
        ),
    ] = None,
    k: Annotated[
        int, typer.Option("--k", min=1, max=MAX_PATHS, help="Paths to list at most.")
    ] = DEFAULT_PATHS,
    as_of: Annotated[
        str | None, typer.Option(help="Snapshot date; default: the latest saved, up to today.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the paths as JSON.")] = False,
) -> None:
    """Paths between two enterprises or persons, shortest first, each step told.

    Paths a step longer than the shortest follow it. They go through people, holdings,
    guarantees, branches or (kind suspected) a shared address, phone or e-mail, phones and
    e-mails masked; agents with more than 50 firms are not walked through, and a contact
    shared by more than 10 firms is weak."""
    settings = read_settings()
    day = option_date(as_of) if as_of else None
    chosen = [c.strip() for c in kinds.split(",") if c.strip()] if kinds else list(DEFAULT_KINDS)
    unknown = sorted(set(chosen) - set(PATH_KINDS))
    if unknown:
        raise fail(f"unknown kinds {', '.join(unknown)}: choose from {', '.join(PATH_KINDS)}")
    home = DataHome(settings)
    snapshot = home.snapshot(day) if day else home.latest_snapshot(date.today())
    index = SnapshotIndex(snapshot, rate_table(settings))
    ends = [index.node(given) for given in (source, target)]
    for given, node in zip((source, target), ends, strict=True):
        if node is None:
            raise fail(f"no enterprise or person {given} in the snapshot of {index.as_of}")
    a, b = (int(n) for n in ends if n is not None)
    found = index.paths.paths(a, b, max_hops, chosen, k)
    if as_json:
        body = {"as_of": index.as_of, "kinds": chosen, "paths": [_json(index, p) for p in found]}
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(
        f"{len(found)} path(s) of at most {max_hops} steps over {', '.join(chosen)} "
        f"on the snapshot of {index.as_of}"
    )
    for number, path in enumerate(found, 1):
        typer.echo(f"{number}. {path.length} step(s)")
        typer.echo(f"   {_node(index, path.nodes[0])}")
        for node, step in zip(path.nodes[1:], path.steps, strict=True):
            said = " ".join(f"{key}={value}" for key, value in step.properties.items())
            label = f"{step.relation}{' ' + said if said else ''}"
            arrow = f"-[{label}]->" if step.forward else f"<-[{label}]-"
            typer.echo(f"   {arrow} {_node(index, node)}")


def _node(index: SnapshotIndex, node: int) -> str:
    """An enterprise by id and name; a person by key only (no name is echoed)."""
    if index.is_person(node):
        return f"person {index.ids[node]}"
    return f"{index.ids[node]} {index.names[node] or ''}".strip()


def _json(index: SnapshotIndex, path: TiePath) -> dict[str, Any]:
    return {
        "length": path.length,
        "nodes": [
            {"label": "Person", "id": str(index.ids[n])}
            if index.is_person(n)
            else {"label": "Enterprise", "id": str(index.ids[n]), "name": index.names[n]}
            for n in path.nodes
        ],
        "steps": [
            {
                "type": s.relation,
                "kind": s.kind,
                "source": str(index.ids[s.source]),
                "target": str(index.ids[s.target]),
                "properties": s.properties,
            }
            for s in path.steps
        ],
    }
