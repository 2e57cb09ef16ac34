"""An enterprise's report (risk/report.py) served by the board at ``/report/<id>``, opened
from the enterprise page: the date (``?as_of=``, a saved snapshot's) and language
(``?lang=``) of that page, and the logged-in caller's role rules, as the API applies them
(an analyst's report has no grade, score nor reasons). A plain Flask page behind the board's
gate, not a Dash page: it prints and files as it is, without the board's scripts."""

from __future__ import annotations

import html
from datetime import date

from flask import request
from werkzeug.wrappers import Response

from access.keyring import Caller
from dashboard.data import BoardData
from dashboard.i18n import LANGUAGES, Language, text
from risk.report import Source, render, report_context


def report_page(data: BoardData, caller: Caller | None, enterprise_id: str) -> Response:
    """The report of ``enterprise_id`` on the asked date, or 404 when there is none."""
    lang: Language = data.config.language
    for code in LANGUAGES:
        if request.args.get("lang") == code:
            lang = code
    day = _day(data, request.args.get("as_of"))
    if caller is None or day is None:
        return _missing(lang, text("no_snapshot", lang))
    graded = data.graded(enterprise_id, day) if caller.sees_grades else None
    context = report_context(
        data.index(day),
        data.snapshot(day),
        enterprise_id,
        caller,
        grade=graded,
        source=Source.of(data.settings.neo4j_uri, graded),
        lang=lang,
    )
    if context is None:
        return _missing(lang, text("no_enterprise", lang))
    response = Response(render(context), 200, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _day(data: BoardData, asked: str | None) -> date | None:
    """The asked date (None when no snapshot of it is saved), or the board's default."""
    if not asked:
        return data.default_date()
    try:
        day = date.fromisoformat(asked)
    except ValueError:
        return None
    return day if day in data.dates() else None


def _missing(lang: Language, message: str) -> Response:
    body = (
        f'<!DOCTYPE html><html lang="{lang}"><meta charset="utf-8">'
        f"<p>{html.escape(message)}</p></html>"
    )
    return Response(body, 404, mimetype="text/html")
