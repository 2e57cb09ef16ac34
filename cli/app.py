"""The ``creditgraph`` command line assembled: the Typer app (``cli.app:app``, the entry
point) with every command in the order its help lists them, and what applies to each: its
docstring as help, and the one mapping of the domain's errors to a message and an exit code.

The commands live by group: ``cli.data`` (generate, load, stats, snapshot, features, demo,
docs), ``cli.model`` (train, evaluate, score, explain, labels), ``cli.supervision`` (plan,
extension-check), ``cli.warnings`` (warnings, watchlist, records), ``cli.screening``
(match), ``cli.ownership`` (ownership), ``cli.graph`` (paths), ``cli.history`` (history),
``cli.report`` (report) and ``cli.serve`` (board, serve); what they share is in
``cli.common``. Heavy work runs here, never inside an API request. Settings are read once
from the environment (``CREDITGRAPH_*``) when a command starts and passed down.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import typer

from cli import (
    data,
    graph,
    history,
    model,
    ownership,
    report,
    screening,
    serve,
    supervision,
    warnings,
)
from cli.common import fail
from graph_model.errors import CreditGraphError

app = typer.Typer(
    help="CreditGraph: graph analytics for enterprise credit supervision.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(data.generate)
app.command()(data.load)
app.command()(data.stats)
app.command()(data.snapshot)
app.command()(data.features)
app.command()(model.train)
app.command()(model.evaluate)
app.command()(model.score)
app.command()(model.explain)
app.command("extension-check")(supervision.extension_check)
app.command()(screening.match)
app.command()(graph.paths)
app.command()(report.report)
app.command()(data.demo)
app.command()(serve.board)
app.command()(serve.serve)
app.command()(data.docs)
app.command()(history.history)
app.add_typer(supervision.plan_app, name="plan")
app.add_typer(warnings.warnings_app, name="warnings")
app.add_typer(warnings.watchlist_app, name="watchlist")
app.add_typer(warnings.records_app, name="records")
app.add_typer(model.labels_app, name="labels")
app.command()(ownership.ownership)


def _whole_help(typer_app: typer.Typer) -> None:
    """Give every command its docstring as help with each paragraph on one line.

    Typer's rich help keeps a docstring's line breaks (in the command list, and in every
    paragraph after the first), so text wrapped for the source breaks mid-sentence on the
    screen; unwrapped, it is wrapped to the terminal instead. Runs once all commands are
    registered (this module's last statement).
    """
    for info in typer_app.registered_commands:
        doc = inspect.getdoc(info.callback) or ""
        info.help = "\n\n".join(" ".join(p.split()) for p in doc.split("\n\n"))
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _whole_help(group.typer_instance)


def _refusals_exit(typer_app: typer.Typer) -> None:
    """Make every command answer a :class:`~graph_model.errors.CreditGraphError` the same
    way: its message after ``error:`` and its exit code, never a traceback. The one place
    the command line maps the domain's errors; runs once all commands are registered."""

    def mapped(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except CreditGraphError as exc:
                raise fail(str(exc), exc.exit_code) from None

        return run

    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = mapped(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _refusals_exit(group.typer_instance)


_whole_help(app)
_refusals_exit(app)
