"""The serving commands: ``board`` (the Dash board, docs/dashboard.md) and ``serve`` (the
HTTP API, docs/api.md), each refusing an address other machines reach unless told it is
behind TLS.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from api.app import create_app
from cli.common import fail, option_date, rate_table, read_access_settings
from risk.data_home import DataHome


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def _check_bind(host: str, allow_remote: bool, what: str) -> None:
    """Refuse an address other machines can reach unless ``--allow-remote`` says it is meant;
    with the flag, warn that it must sit behind TLS. Shared by ``board`` and ``serve``."""
    if _is_loopback(host):
        return
    if not allow_remote:
        raise fail(
            f"--host {host} is not a loopback address: {what} would serve grades to the network "
            "and take API keys from it. Listen on 127.0.0.1 (the default) behind a reverse "
            "proxy with TLS, or pass --allow-remote when this address is behind one."
        )
    typer.secho(
        f"warning: {what} listens on {host}, reachable from the network; it serves grades and "
        "takes API keys, so it must sit behind TLS (a reverse proxy with HTTPS).",
        err=True,
        fg=typer.colors.YELLOW,
    )


def board(
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; one other machines reach needs --allow-remote."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8050,
    language: Annotated[str, typer.Option(help="Language shown first: zh or en.")] = "zh",
    as_of: Annotated[
        str | None, typer.Option(help="Date shown first; default: the latest saved snapshot.")
    ] = None,
    warm: Annotated[
        bool, typer.Option(help="Prepare the first date before serving (fast first pages).")
    ] = True,
    time_zone: Annotated[
        str, typer.Option(help="Time zone the board shows times in (an IANA name).")
    ] = "Asia/Shanghai",
    allow_remote: Annotated[
        bool,
        typer.Option(
            help="Allow a --host other machines can reach (behind TLS only); the login cookie "
            "is then sent over HTTPS only."
        ),
    ] = False,
) -> None:
    """Serve the board (docs/dashboard.md) over the data home, in Chinese and English.

    Pages: overview, warnings, enterprises, extension checks, guarantee circles and sampling
    plans. Log in with a regulator or analyst key of CREDITGRAPH_API_KEYS.
    """
    # Imported here: Dash and Plotly take about a second to import and only this command
    # needs them.
    from dashboard.app import create_app
    from dashboard.auth import BOARD_ROLES
    from dashboard.config import BoardConfig

    first_day = option_date(as_of) if as_of else None
    settings = read_access_settings()
    if not any(c.role in BOARD_ROLES for c in settings.api_clients().values()):
        raise fail(
            "no regulator or analyst key in CREDITGRAPH_API_KEYS: nobody could log in to the "
            'board. Set it first, e.g. export CREDITGRAPH_API_KEYS=\'{"<long random key>": '
            '{"name": "<who holds it>", "role": "regulator"}}\' (docs/dashboard.md)'
        )
    _check_bind(host, allow_remote, "the board")
    rate_table(settings)  # guarantee circles convert with it: refuse a bad one before serving
    try:
        config = BoardConfig.model_validate(
            {
                "language": language,
                "as_of": first_day,
                "warm": warm,
                "time_zone": time_zone,
                "secure_cookie": allow_remote and not _is_loopback(host),
            }
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["loc"] == ("time_zone",):
            raise typer.BadParameter(f"--time-zone: {error['msg']}") from None
        raise typer.BadParameter(f"--language must be zh or en: {error['msg']}") from None
    if not DataHome(settings).snapshot_dates():
        typer.echo(
            f"no saved snapshot in {settings.snapshots_dir}: the board will be empty until "
            "`creditgraph score` (or `creditgraph snapshot`) saves one"
        )
    started = time.perf_counter()
    application = create_app(settings, config)
    typer.echo(
        f"board ready in {time.perf_counter() - started:.1f} s: http://{host}:{port}/ "
        "(Ctrl+C to stop)"
    )
    application.run(host=host, port=port, debug=False)


def serve(
    host: Annotated[
        str,
        typer.Option(help="Interface to listen on; one other machines reach needs --allow-remote."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    allow_remote: Annotated[
        bool,
        typer.Option(help="Allow a --host other machines can reach (behind TLS only)."),
    ] = False,
) -> None:
    """Serve the HTTP API (docs/api.md) with uvicorn.

    It reads the store (read-only), the latest saved snapshot and the stored grades of the
    data home; API keys come from CREDITGRAPH_API_KEYS.

    Loading and serving are separate: the embedded store cannot be opened read-only while a
    load writes to it, so stop the server, load, snapshot and score, then start it again.
    """
    settings = read_access_settings()
    _check_bind(host, allow_remote, "the API")
    started = time.perf_counter()
    api = create_app(settings)
    services = api.state.services
    typer.echo(
        f"serving {settings.home} (snapshot {services.index.as_of if services.index else 'none'}, "
        f"grades {services.grades.as_of if services.grades else 'none'}, "
        f"{len(services.keyring)} API key(s)), ready in {time.perf_counter() - started:.1f} s"
    )
    if (mismatch := services.mismatch()) is not None:
        typer.secho(f"warning: {mismatch}", err=True, fg=typer.colors.YELLOW)
    # No access log: every request is in the audit log already, and the line costs time.
    uvicorn.run(api, host=host, port=port, log_level=log_level, access_log=False)
