"""Who may see the board, and the record of what they saw.

The board takes the API's keys (``CREDITGRAPH_API_KEYS``, checked by
:class:`access.keyring.KeyRing`) and admits the roles in :data:`BOARD_ROLES`. A browser logs in
once at ``/login`` and gets a session cookie: signed with a secret drawn when the app is built
(a restart logs everyone out), HttpOnly, SameSite=Strict, and refused after
:data:`SESSION_LIFETIME`. It holds the key holder's name and role, never the key. Scripts send
the key in the ``X-API-Key`` header instead.

Every URL but ``/login`` and ``/logout`` is checked before Dash sees the request: without a
known key or session a page is redirected to the login page and anything else (``/_dash-*``,
component suites, assets) is 401 with a JSON body, unread; a key of another role (a bank's)
is 403 and sees nothing.

Each callback request (``/_dash-update-component``: data leaves the server there and in an
enterprise's report, ``/report/<id>``, audited too), each login and each refusal is a row of
the API's audit log (:class:`access.audit.AuditLog`): client (``anonymous`` without a known
key), role, method, route (the Flask rule), path (for a callback, the board page it served),
status, duration, and the enterprise ids that the page and the callback's inputs name.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Flask, g, has_app_context, jsonify, redirect, request, session
from werkzeug.wrappers import Response

from access.audit import AuditLog, AuditNote, enterprise_ids
from access.keyring import HEADER, Caller, KeyRing
from dashboard.i18n import LANGUAGES, Language, text

BOARD_ROLES: tuple[str, ...] = ("regulator", "analyst")
"""Roles whose keys open the board; a bank's key does not (grades are not for banks)."""

SESSION_LIFETIME = timedelta(hours=12)
"""A login holds this long (the cookie's signed time stamp is checked), then log in again."""

LOGIN = "/login"
LOGOUT = "/logout"
CALLBACK = "/_dash-update-component"
REPORT = "/report/"
"""Prefix of an enterprise's report (``/report/<id>``), served by the board and audited."""
MAX_CANDIDATES = 1_000
"""Values of one callback's inputs looked at for enterprise ids (a bound on the audit's work)."""


class BoardGate:
    """The board's door: knows each request's caller, refuses or admits it, audits it.

    One per app (:func:`dashboard.app.create_app`); :meth:`install` hooks it into the Flask
    server before Dash registers its routes, so it runs first on every request.
    """

    def __init__(self, keyring: KeyRing, audit: AuditLog, language: Language) -> None:
        self.keyring = keyring
        self.audit = audit
        self.language = language

    def install(self, server: Flask, *, secure_cookie: bool) -> None:
        """Session settings, the check before every request, the audit after, login routes."""
        server.secret_key = secrets.token_bytes(32)
        server.config.update(
            SESSION_COOKIE_NAME="creditgraph_board",
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Strict",
            SESSION_COOKIE_SECURE=secure_cookie,
            PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        )
        server.before_request(self._admit)
        server.after_request(self._record)
        server.add_url_rule(LOGIN, "board_login", self._login, methods=["GET", "POST"])
        server.add_url_rule(LOGOUT, "board_logout", self._logout)

    def caller(self) -> Caller | None:
        """The admitted caller of the current request (None outside one)."""
        if not has_app_context():
            return None
        found = g.get("board_caller")
        return found if isinstance(found, Caller) else None

    def _identify(self) -> Caller | None:
        """The key holder: by the ``X-API-Key`` header when sent (a wrong key is not rescued
        by a session), else by the session cookie."""
        key = request.headers.get(HEADER)
        if key is not None:
            client = self.keyring.lookup(key) if key else None
            return Caller(client.name, client.role) if client is not None else None
        name, role = session.get("name"), session.get("role")
        if isinstance(name, str) and role in BOARD_ROLES:
            return Caller(name, role)
        return None

    def _admit(self) -> Response | None:
        g.board_started = time.perf_counter()
        if request.path in (LOGIN, LOGOUT):
            return None  # the login audits itself; logging out reads nothing
        caller = self._identify()
        if caller is None:
            g.board_audit = AuditNote()
            if _is_page(request.method, request.path):
                target = request.full_path if request.query_string else request.path
                return redirect(f"{LOGIN}?{urlencode({'next': target})}")
            return _refusal(
                401,
                "unauthenticated",
                f"log in at {LOGIN}, or send your API key in the {HEADER} header",
            )
        if caller.role not in BOARD_ROLES:
            g.board_audit = AuditNote(client=caller.name, role=caller.role)
            if _is_page(request.method, request.path):
                lang = _language(request.args.get("lang"), self.language)
                message = text("login_role_refused", lang, role=text(f"role_{caller.role}", lang))
                return self._login_page(lang, "/", message, 403)
            # In English for scripts, as the API's messages are.
            message = text("login_role_refused", "en", role=caller.role)
            return _refusal(403, "forbidden", message)
        g.board_caller = caller
        if request.path == CALLBACK or request.path.startswith(REPORT):
            # Pages, the layout and scripts hold no data: only callbacks and reports are
            # audited.
            g.board_audit = AuditNote(client=caller.name, role=caller.role)
        return None

    def _record(self, response: Response) -> Response:
        note = g.pop("board_audit", None)
        if not isinstance(note, AuditNote):
            return response
        page, subjects = request.path, page_subjects(request.full_path)
        if request.path == CALLBACK and self.caller() is not None:
            # Only an admitted callback's body is read; a refused one is left unread.
            body = request.get_json(silent=True)
            page = callback_page(body) or _referring_page(request.referrer, request.host) or page
            subjects = page_subjects(page) + callback_subjects(body)
        self.audit.append(
            client=note.client,
            role=note.role,
            method=request.method,
            route=request.url_rule.rule if request.url_rule is not None else None,
            path=page,
            status=response.status_code,
            duration_ms=(time.perf_counter() - g.board_started) * 1000,
            subjects=subjects,
        )
        return response

    def _login(self) -> Response:
        lang = _language(request.values.get("lang"), self.language)
        target = safe_next(request.values.get("next"))
        if request.method == "GET":
            return self._login_page(lang, target, None, 200)
        key = request.form.get("key", "")
        client = self.keyring.lookup(key) if key else None
        if client is None:
            g.board_audit = AuditNote()
            return self._login_page(lang, target, text("login_wrong_key", lang), 401)
        g.board_audit = AuditNote(client=client.name, role=client.role)
        if client.role not in BOARD_ROLES:
            message = text("login_role_refused", lang, role=text(f"role_{client.role}", lang))
            return self._login_page(lang, target, message, 403)
        session.clear()
        session["name"], session["role"] = client.name, client.role
        return redirect(target, 303)

    def _logout(self) -> Response:
        session.clear()
        lang = _language(request.args.get("lang"), self.language)
        return redirect(f"{LOGIN}?{urlencode({'lang': lang})}", 303)

    def _login_page(
        self, lang: Language, target: str, message: str | None, status: int
    ) -> Response:
        response = Response(login_page(lang, target, message), status, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response


def _is_page(method: str, path: str) -> bool:
    """A page a browser opens (redirected to the login), not Dash's plumbing or a file."""
    return method in ("GET", "HEAD") and not path.startswith(("/_", "/assets/"))


def _refusal(status: int, code: str, message: str) -> Response:
    """The API's error body: ``{"code", "message", "errors"}``."""
    response = jsonify({"code": code, "message": message, "errors": []})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "ApiKey"
    return response


def _language(value: str | None, default: Language) -> Language:
    for lang in LANGUAGES:
        if value == lang:
            return lang
    return default


def safe_next(value: str | None) -> str:
    """Where to go after the login: a path on this board, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if value.startswith((LOGIN, LOGOUT)):
        return "/"
    return value


def _callback_values(body: Any) -> Iterator[tuple[str, str, Any]]:
    """(component id, property, value) of a callback body's inputs and state; pattern-matching
    ones come as nested lists."""
    if not isinstance(body, dict):
        return
    stack = [body.get("inputs"), body.get("state")]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield str(item.get("id")), str(item.get("property")), item.get("value")


def callback_page(body: Any) -> str | None:
    """The board page a callback served, from its ``url`` inputs (path and query)."""
    found = {
        prop: value
        for component, prop, value in _callback_values(body)
        if component == "url" and prop in ("pathname", "search") and isinstance(value, str)
    }
    if "pathname" not in found:
        return None
    return found["pathname"] + found.get("search", "")


def _referring_page(referrer: str | None, host: str) -> str | None:
    """The page of this board a browser called from (its Referer), when it is one."""
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != host or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_subjects(page: str) -> list[str]:
    """Enterprise ids in a board path (``/enterprise/<id>``) and its query (``?black=<id>``)."""
    parts = urlsplit(page)
    candidates = [p for p in parts.path.split("/") if p]
    candidates += [v for _, v in parse_qsl(parts.query)]
    return enterprise_ids(candidates[:MAX_CANDIDATES])


def callback_subjects(body: Any) -> list[str]:
    """Enterprise ids among a callback's input and state values (a search, a clicked node)."""
    candidates: list[str] = []
    for _, _, value in _callback_values(body):
        if isinstance(value, str):
            candidates.append(value)
        elif isinstance(value, dict):
            candidates += [v for v in value.values() if isinstance(v, str)]
        elif isinstance(value, list):
            candidates += [v for v in value if isinstance(v, str)]
        if len(candidates) >= MAX_CANDIDATES:
            break
    return enterprise_ids(candidates[:MAX_CANDIDATES])


_STYLE = """
body { margin: 0; font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei",
  sans-serif; font-size: 14px; color: #263238; background: #f5f7f8; }
header { display: flex; align-items: center; justify-content: space-between;
  padding: 10px 20px; background: #0d3b66; color: #fff; }
header .title { font-size: 18px; font-weight: 600; }
header a { color: #dce6f0; text-decoration: none; margin-left: 10px; }
header a.active { color: #fff; font-weight: 600; }
main { max-width: 380px; margin: 12vh auto 0; background: #fff; border: 1px solid #dfe5e8;
  border-radius: 6px; padding: 24px 28px; }
h1 { font-size: 20px; margin: 0 0 16px; }
label { display: block; font-size: 13px; color: #607d8b; margin-bottom: 4px; }
input, button { font-family: inherit; }
input[type=password] { box-sizing: border-box; width: 100%; padding: 8px 10px; font-size: 14px;
  border: 1px solid #b0bec5; border-radius: 4px; }
button { margin-top: 14px; width: 100%; padding: 9px; font-size: 14px; font-weight: 600;
  color: #fff; background: #0d3b66; border: 0; border-radius: 4px; cursor: pointer; }
.notice { padding: 8px 12px; border-radius: 4px; margin-bottom: 14px; background: #ffebee;
  color: #b71c1c; }
.hint { color: #78909c; font-size: 12px; margin: 14px 0 0; }
"""


def login_page(lang: Language, target: str, message: str | None) -> str:
    """The login form in ``lang``: one password field for the key; ``message`` above it."""
    e = html.escape
    switch = " ".join(
        f'<a href="{e(LOGIN)}?{e(urlencode({"lang": code, "next": target}))}"'
        f'{" class=active" if code == lang else ""} id="login-lang-{code}">{label}</a>'
        for code, label in (("zh", "中文"), ("en", "English"))
    )
    notice = f'<p class="notice" id="login-error" role="alert">{e(message)}</p>' if message else ""
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if lang == "zh" else "en"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{e(text("login_title", lang))} · {e(text("app_title", lang))}</title>
<style>{_STYLE}</style>
</head>
<body>
<header><span class="title">{e(text("app_title", lang))}</span><nav>{switch}</nav></header>
<main>
<h1>{e(text("login_title", lang))}</h1>
{notice}
<form method="post" action="{e(LOGIN)}" id="login-form">
<label for="login-key">{e(text("login_key", lang))}</label>
<input type="password" id="login-key" name="key" autocomplete="current-password" required
 autofocus>
<input type="hidden" name="next" value="{e(target)}">
<input type="hidden" name="lang" value="{lang}">
<button type="submit" id="login-submit">{e(text("login_submit", lang))}</button>
</form>
<p class="hint">{e(text("login_hint", lang))}</p>
</main>
</body>
</html>
"""
