"""The board's app factory: ``create_app(settings)`` builds a Dash app over one data manager.

Nothing lives at module level: the data manager, its cache and every callback belong to the
app that :func:`create_app` returns, so two apps (two data homes, or a test beside a server)
never share state. Pages are plain functions of the data manager, the date and the language
(``dashboard/pages/``); routing is a ``dcc.Location`` callback rather than Dash Pages, whose
page registry is module-level. The Flask server under it is built here too, with the board's
gate (:mod:`dashboard.auth`: login, roles, audit) installed before Dash adds its routes, and
the enterprise's printable report (:mod:`dashboard.report`) beside them.
"""

from __future__ import annotations

import weakref
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from dash import Dash, Input, Output, dcc, html
from flask import Flask

from access.audit import AuditLog
from access.keyring import Caller, KeyRing
from access.settings import AccessSettings
from dashboard.auth import LOGOUT, REPORT, BoardGate
from dashboard.config import BoardConfig
from dashboard.data import BoardData
from dashboard.i18n import LANGUAGES, Language, text
from dashboard.jobs import Jobs
from dashboard.pages import (
    circles,
    enterprise,
    extension,
    overview,
    ownership,
    paths,
    sampling,
    warnings,
)
from dashboard.report import report_page

PAGES = (
    ("/", "nav_overview"),
    ("/warnings", "nav_warnings"),
    ("/enterprise", "nav_enterprise"),
    ("/extension", "nav_extension"),
    ("/circles", "nav_circles"),
    ("/sampling", "nav_sampling"),
    ("/ownership", "nav_ownership"),
    ("/paths", "nav_paths"),
)
"""Paths of the pages and the labels of their links, in menu order."""


def route(
    data: BoardData, path: str | None, query: str | None, lang: Language, day: str | None
) -> Any:
    """The page for a URL: path, query string (``?black=…``, ``?circle=…``), language and date."""
    if not day:
        return html.Div(text("no_snapshot", lang), className="notice notice-error")
    when = date.fromisoformat(day)
    params = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    path = (path or "/").rstrip("/") or "/"
    if path == "/":
        return overview.render(data, when, lang)
    if path == "/warnings":
        return warnings.render(data, when, lang)
    if path == "/enterprise" or path.startswith("/enterprise/"):
        enterprise_id = path.removeprefix("/enterprise").strip("/") or None
        return enterprise.render(data, when, lang, enterprise_id)
    if path == "/extension":
        return extension.render(data, when, lang, params.get("black"))
    if path == "/circles":
        rank = params.get("circle", "")
        return circles.render(data, when, lang, int(rank) if rank.isdigit() else None)
    if path == "/sampling":
        return sampling.render(data, when, lang)
    if path == "/ownership" or path.startswith("/ownership/"):
        held = path.removeprefix("/ownership").strip("/") or None
        down = params.get("direction") == "down"
        return ownership.render(data, when, lang, held, "down" if down else "up")
    if path == "/paths":
        return paths.render(data, when, lang, params.get("source"), params.get("target"))
    return html.Div(text("not_found", lang), className="notice notice-error")


def navigation(path: str | None, lang: Language) -> list[Any]:
    """Links to every page, the current one marked."""
    here = "/" + (path or "/").strip("/").split("/")[0]
    return [
        dcc.Link(
            text(label, lang),
            href=href,
            className="nav-link active" if href == here else "nav-link",
        )
        for href, label in PAGES
    ]


def who(caller: Caller | None, lang: Language) -> str:
    """The logged-in key holder as the header shows it: name · role."""
    if caller is None:
        return ""
    return f"{caller.name} · {text(f'role_{caller.role}', lang)}"


def logout_href(lang: Language) -> str:
    """The logout link, back to the login page in the same language."""
    return f"{LOGOUT}?{urlencode({'lang': lang})}"


def _layout(data: BoardData, caller: Caller | None) -> html.Div:
    """The frame: header with menu, date, language and who is logged in; the page below. A
    function, so that a snapshot saved while the board runs appears on the next page load."""
    dates = [d.isoformat() for d in reversed(data.dates())]
    default = data.default_date()
    lang = data.config.language
    return html.Div(
        [
            dcc.Location(id="url"),
            html.Header(
                [
                    html.Div(text("app_title", lang), id="app-title", className="title"),
                    html.Nav(navigation("/", lang), id="nav"),
                    html.Div(
                        [
                            html.Span(text("as_of", lang), id="as-of-label"),
                            dcc.Dropdown(
                                id="as-of",
                                options=dates,
                                value=default.isoformat() if default else None,
                                clearable=False,
                                searchable=False,
                                className="as-of",
                            ),
                            dcc.RadioItems(
                                id="language",
                                options=[
                                    {"label": "中文", "value": "zh"},
                                    {"label": "English", "value": "en"},
                                ],
                                value=lang,
                                inline=True,
                                persistence=True,
                                persistence_type="local",
                            ),
                            html.Span(who(caller, lang), id="who", className="who"),
                            html.A(
                                text("logout", lang),
                                id="logout",
                                href=logout_href(lang),
                                className="logout",
                            ),
                        ],
                        className="header-controls",
                    ),
                ],
                className="header",
            ),
            html.Main(id="page", className="page"),
        ]
    )


def create_app(
    settings: AccessSettings, config: BoardConfig | None = None, data: BoardData | None = None
) -> Dash:
    """The board over the data home of ``settings``.

    With ``config.warm`` (the default) the latest date is read and its circles and extension
    list computed here, before the first request, so that no page waits for them. Only the
    holders of regulator and analyst keys of ``settings.api_keys`` get in (``/login``); the
    board's requests are written to the API's audit log in the data home.
    """
    config = config or BoardConfig()
    data = data or BoardData(settings, config)
    if config.warm and (day := data.default_date()) is not None:
        data.warm(day)
    server = Flask(__name__)
    audit = AuditLog(settings.audit_path)
    weakref.finalize(server, audit.close)
    gate = BoardGate(KeyRing(settings.api_clients()), audit, config.language)
    gate.install(server, secure_cookie=config.secure_cookie)
    server.add_url_rule(
        f"{REPORT}<enterprise_id>",
        "board_report",
        lambda enterprise_id: report_page(data, gate.caller(), enterprise_id),
    )
    app = Dash(
        __name__,
        server=server,  # type: ignore[arg-type]  # Dash's hint omits a Flask app, which it takes
        enable_mcp=False,
        title=text("app_title", config.language),
        assets_folder=str(Path(__file__).parent / "assets"),
        suppress_callback_exceptions=True,
        update_title="",
    )
    app.layout = lambda: _layout(data, gate.caller())

    @app.callback(
        Output("page", "children"),
        Input("url", "pathname"),
        Input("url", "search"),
        Input("language", "value"),
        Input("as-of", "value"),
    )
    def _page(path: str | None, query: str | None, lang: Language, day: str | None) -> Any:
        return route(data, path, query, lang if lang in LANGUAGES else config.language, day)

    @app.callback(
        Output("nav", "children"),
        Output("app-title", "children"),
        Output("as-of-label", "children"),
        Output("who", "children"),
        Output("logout", "children"),
        Output("logout", "href"),
        Input("url", "pathname"),
        Input("language", "value"),
    )
    def _nav(path: str | None, lang: Language) -> tuple[Any, ...]:
        lang = lang if lang in LANGUAGES else config.language
        return (
            navigation(path, lang),
            text("app_title", lang),
            text("as_of", lang),
            who(gate.caller(), lang),
            text("logout", lang),
            logout_href(lang),
        )

    # The overview has no callbacks of its own: its warnings grid is wired by the warnings page.
    for page in (warnings, enterprise, extension, circles, ownership, paths):
        page.register(app, data)
    # Draws run in the background, as jobs of this app (none shared between apps).
    jobs = Jobs()
    weakref.finalize(server, jobs.close)
    sampling.register(app, data, jobs)
    return app
