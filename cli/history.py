"""The ``history`` command: an enterprise's change history from the store (risk/history.py),
newest first; persons by name, as every command shows them (the API masks them by role)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer

from cli.common import fail, not_shown, option_date, read_settings
from graph_model.store.open import open_store
from risk.history import Change, enterprise_history


def history(
    enterprise_id: Annotated[str, typer.Argument(help="USCC or external id (REG:…).")],
    since: Annotated[
        str | None, typer.Option(help="Only events on or after this day (yyyy-mm-dd).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Events printed as text.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Every event as JSON.")] = False,
) -> None:
    """Show an enterprise's changes, newest first.

    Shareholders in and out, legal representatives and officers who came and left,
    guarantees given and received opened and closed, branches, records started and ended.
    Events whose day the store does not know come last, as "date unknown" (left out with
    --since)."""
    settings = read_settings()
    day = option_date(since, "--since") if since else None
    with open_store(settings, read_only=True) as store:
        entity = store.get_entity(enterprise_id)
        if entity is None or entity.label != "Enterprise":
            raise fail(f"no enterprise {enterprise_id}")
        changes = enterprise_history(store, enterprise_id, day)
    if as_json:
        rows = [_row(c) for c in changes]
        typer.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=1))
        return
    typer.echo(f"{enterprise_id} {entity.properties.get('name') or ''}: {len(changes):,} events")
    for change in changes[:limit]:
        row = _row(change)
        other = row["counterpart"]
        who = f"{other['name'] or other['id']}" if other else ""
        details = ", ".join(f"{k}={v}" for k, v in row["details"].items())
        typer.echo(f"  {row['day'] or 'date unknown':<12}  {row['kind']:<26}  {who}  {details}")
    not_shown(min(len(changes), limit), len(changes), "events", "--json gives every one")


def _row(change: Change) -> dict[str, Any]:
    other = change.counterpart
    return {
        "day": change.day.isoformat() if isinstance(change.day, date) else None,
        "kind": change.kind,
        "counterpart": None
        if other is None
        else {
            "label": other.label,
            "id": other.id,
            "name": other.name,
        },
        "details": change.details,
    }
