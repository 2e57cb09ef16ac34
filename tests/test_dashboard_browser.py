"""The board in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by ``./dev test``) driven by plain Selenium against the app
served on a loopback port, on the data home that ``creditgraph demo`` builds.

The browser logs in through the login page with a regulator key, as a user would. Every page
is opened and must render without a console error; a screenshot of each is saved to
``test-artifacts/board/`` (look at them). Then the workflows: the login refuses a wrong key, a
click on a warning opens the enterprise, a click on a node expands the ego graph, a plan is
drawn and exported.

Plain Selenium and Debian's chromedriver rather than ``dash[testing]``: that extra pins
selenium ≤ 4.2 and downgrades urllib3 to 1.x for the whole environment.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import API_KEYS
from opencc import OpenCC
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from access.settings import AccessSettings
from dashboard.app import create_app
from dashboard.config import BoardConfig
from dashboard.data import BoardData
from dashboard.graph import REL_ORDER, GraphIndex
from dashboard.pages import circles, extension, warnings
from graph_model.settings import Settings

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "board"
REGULATOR_KEY = next(k for k, v in API_KEYS.items() if v["role"] == "regulator")
COOKIE = "creditgraph_board"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT = 30


def _cli(home: Path, *args: str) -> str:
    """Run a ``creditgraph`` command on ``home``; fail with its output if it fails."""
    env = {**os.environ, "CREDITGRAPH_HOME": str(home)}
    env.pop("CREDITGRAPH_NEO4J_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", "from cli.app import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (
        f"creditgraph {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home as ``creditgraph demo`` leaves it (2,000 firms, trained and scored), plus
    the previous month scored, the warnings between the two months raised, and an inspector
    file with some former employers (so that recusals happen)."""
    home = tmp_path_factory.mktemp("board-home")
    _cli(home, "demo", "--enterprises", "2000")
    scored = sorted(p.name for p in (home / "scores").iterdir())
    latest = date.fromisoformat(scored[-1])
    previous = latest.replace(day=1) - timedelta(days=1)
    _cli(home, "score", "--as-of", previous.isoformat(), "--quiet")
    _cli(
        home, "warnings", "raise", "--as-of", latest.isoformat(), "--previous", previous.isoformat()
    )
    firms = sorted(p.name for p in (home / "snapshots").iterdir())
    assert firms, "the demo saved no snapshot"
    settings = Settings(home=home)
    data = BoardData(settings, BoardConfig())
    ids = data.snapshot(latest).enterprises["id"].to_pylist()
    settings.inspectors_dir.mkdir(parents=True, exist_ok=True)
    with (settings.inspectors_dir / "inspectors.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["inspector_id", "name", "region_code", "capacity", "former_employers"])
        for k in range(40):
            writer.writerow(
                [f"I{k:03d}", f"检查员{k}", "330203", 30, ids[k * 37] if k % 4 == 0 else ""]
            )
    return home


@pytest.fixture(scope="session")
def board(demo_home: Path) -> Iterator[tuple[str, BoardData]]:
    """The board served on a free loopback port for the whole session, with the test keys."""
    settings = AccessSettings(home=demo_home, api_keys=json.dumps(API_KEYS))
    config = BoardConfig()
    data = BoardData(settings, config)
    app = create_app(settings, config, data)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", data
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def browser(downloads: Path) -> Iterator[WebDriver]:
    """Headless Chromium at a laptop's size, logging the console."""
    if not Path(CHROMEDRIVER).exists():
        pytest.fail("chromedriver not found: ./dev test installs chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1440,900",
        "--lang=zh-CN",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def _until(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(condition)
    except TimeoutException:
        driver.save_screenshot(str(ARTIFACTS / "timeout.png"))
        raise AssertionError(
            f"timed out waiting for {what} (see test-artifacts/board/timeout.png)"
        ) from None


def _picture(driver: WebDriver, name: str) -> Path:
    """A screenshot of the whole page (not only the window) in the artefacts folder."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _settled(driver: WebDriver) -> bool:
    """No Dash callback in flight."""
    return bool(
        driver.execute_script(
            "return document.querySelector('[data-dash-is-loading=\"true\"]') === null"
        )
    )


def _open(driver: WebDriver, url: str, selector: str) -> None:
    driver.get(url)
    _until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, selector), selector)
    _until(driver, _settled, "callbacks to settle")


def _console_errors(driver: WebDriver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _log_in(driver: WebDriver, key: str) -> None:
    """Type ``key`` into the login form on screen and send it."""
    _until(driver, lambda d: d.find_elements(By.ID, "login-key"), "the login form")
    field = driver.find_element(By.ID, "login-key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "login-submit").click()


@pytest.fixture
def signed_in(board: tuple[str, BoardData], browser: WebDriver) -> tuple[str, BoardData]:
    """The board, with the browser logged in through the login page with a regulator key
    (once per session: the cookie stays)."""
    url, _ = board
    if not browser.current_url.startswith(url) or browser.get_cookie(COOKIE) is None:
        browser.get(url + "/login")
        _log_in(browser, REGULATOR_KEY)
        _until(browser, lambda d: d.find_elements(By.ID, "who"), "the board after the login")
    return board


def _explained(data: BoardData) -> str:
    """The enterprise with the most stored reasons' evidence (the riskiest explained)."""
    day = data.default_date()
    assert day is not None
    stored = data.reasons(day)
    assert stored.num_rows, "the demo stored no reasons"
    lengths = [len(r) for r in stored["reasons"].to_pylist()]
    return str(stored["id"][lengths.index(max(lengths))].as_py())


def _first_warning(data: BoardData) -> str:
    day = data.default_date()
    assert day is not None
    table = data.warnings(day)
    assert table is not None and table.num_rows > 0, "the demo raised no warning"
    return str(table["enterprise_id"][0].as_py())


def test_the_login_page_refuses_a_wrong_key_and_opens_the_board(
    board: tuple[str, BoardData], browser: WebDriver
) -> None:
    url, _ = board
    browser.get(url + "/logout")  # whatever an earlier test left
    # A page opened without a session goes to the login page, and back after it.
    browser.get(url + "/warnings")
    _until(browser, lambda d: d.find_elements(By.ID, "login-key"), "the login form")
    assert browser.current_url.startswith(url + "/login?next=")
    assert browser.find_element(By.ID, "login-key").get_attribute("type") == "password"
    assert "登录" in browser.find_element(By.TAG_NAME, "h1").text
    _picture(browser, "login")
    _log_in(browser, "not-a-key")
    _until(browser, lambda d: d.find_elements(By.ID, "login-error"), "the refusal")
    assert browser.find_element(By.ID, "login-error").text == "密钥无法识别"
    assert browser.get_cookie(COOKIE) is None
    _picture(browser, "login-refused")
    browser.find_element(By.ID, "login-lang-en").click()
    _until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Log in", "English")
    _picture(browser, "login-en")
    browser.get_log("browser")  # the refused login's 401 is logged; nothing after it may be
    _log_in(browser, REGULATOR_KEY)
    _until(browser, lambda d: d.current_url == url + "/warnings", "the page asked for")
    _until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#warnings-grid .ag-row"), "rows")
    holder = API_KEYS[REGULATOR_KEY]["name"]
    assert browser.find_element(By.ID, "who").text == f"{holder} · 监管"
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    _open(browser, url + "/", "#overview-regions .main-svg")
    assert _console_errors(browser) == []


def test_every_page_renders_without_a_console_error(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    black = data.black_listed(day)["id"][0].as_py()
    pages = [
        ("overview", "/", "#overview-regions .main-svg"),
        ("warnings", "/warnings", "#warnings-grid .ag-row"),
        ("enterprise", f"/enterprise/{_explained(data)}", "#ego-graph canvas"),
        ("extension", f"/extension?black={black}", "#extension-grid .ag-row"),
        ("circles", "/circles", "#circle-graph canvas"),
        ("sampling", "/sampling", "#plan-draw"),
        ("ownership", f"/ownership/{_explained(data)}", "#ownership-figure .main-svg"),
        ("paths", "/paths", "#paths-kinds"),
    ]
    browser.get_log("browser")
    for lang in ("zh", "en"):
        if lang == "en":
            # The language switch (remembered by the browser for the pages that follow).
            _open(browser, url + "/", "#overview-regions .main-svg")
            browser.find_element(By.CSS_SELECTOR, "#language input[value='en']").click()
            _until(browser, lambda d: "Overview" in d.find_element(By.ID, "nav").text, "English")
            _until(browser, _settled, "callbacks to settle")
            assert "Grades by region" in browser.find_element(By.ID, "page").text
        for name, path, selector in pages:
            _open(browser, url + path, selector)
            _until(browser, _grids_drawn, "every grid drawn")
            time.sleep(0.5)  # let the graphs finish their layout before the picture
            _picture(browser, name if lang == "zh" else f"{name}-en")
            assert _console_errors(browser) == [], f"console errors on {path} ({lang})"
            assert _cut_headers(browser) == [], f"headers cut on {path} ({lang})"
            assert _hashes(browser) == [], f"person keys on {path} ({lang})"
            assert "Error" not in browser.find_element(By.ID, "page").text[:200]
            if lang == "zh":
                assert _english(browser) == [], f"English on the Chinese {path}"
    browser.find_element(By.CSS_SELECTOR, "#language input[value='zh']").click()
    _until(browser, lambda d: "总览" in d.find_element(By.ID, "nav").text, "Chinese menu")
    assert _console_errors(browser) == []


def _grid_rows(driver: WebDriver, grid_id: str) -> tuple[int, list[str]]:
    """Rows the grid holds after its filters (all pages, whatever is rendered: AG Grid
    draws only what is on screen), and their ids, from the grid's own API."""
    script = (
        "var api = window.dash_ag_grid.getApi(arguments[0]); var ids = [];"
        "api.forEachNode(function (n) { ids.push(String(n.id)); });"
        "return [api.getDisplayedRowCount(), ids];"
    )
    count, ids = _until(
        driver,
        lambda d: d.execute_script(f"try {{ {script} }} catch (e) {{ return null; }}", grid_id),
        f"the API of grid {grid_id}",
    )
    return int(count), list(ids)


def _assert_every_row_shown(driver: WebDriver, grid_id: str, expected: list[str]) -> None:
    """The grid holds exactly the rows the server sent, each under its own id."""
    _until(
        driver,
        lambda d: _grid_rows(d, grid_id)[0] == len(expected),
        f"{len(expected)} rows in {grid_id}",
    )
    _, ids = _grid_rows(driver, grid_id)
    assert sorted(ids) == sorted(expected), grid_id
    assert "undefined" not in ids
    assert _empty_cells(driver, grid_id) == [], grid_id


def _empty_cells(driver: WebDriver, grid_id: str) -> list[str]:
    """Cells drawn empty though their row holds text (a column typed from its first row, as
    dates, once blanked every other row's subject)."""
    return list(
        driver.execute_script(
            "var api = window.dash_ag_grid.getApi(arguments[0]); var bad = [];"
            "document.querySelectorAll('#' + arguments[0] + ' .ag-row').forEach(function (row) {"
            "  var node = api.getRowNode(row.getAttribute('row-id'));"
            "  if (!node || !node.data) { return; }"
            "  row.querySelectorAll('.ag-cell').forEach(function (cell) {"
            "    var value = node.data[cell.getAttribute('col-id')];"
            "    if (typeof value === 'string' && value.trim() && !cell.textContent.trim()) {"
            "      bad.push(cell.getAttribute('col-id') + '@' + row.getAttribute('row-id'));"
            "    }"
            "  });"
            "});"
            "return bad;",
            grid_id,
        )
    )


_FILE = re.compile(r"\S+\.(?:csv|parquet|json)\b")
_WORD = re.compile(r"\b[A-Za-z][a-z]{2,}\b")
"""An English word ("active", "Jul"): ids and codes are upper case and digits, proper
nouns joined (DebtRank) or upper case (CSV, JSON), file names taken out first."""


def _english(driver: WebDriver) -> list[str]:
    """English words on a Chinese page (below the header, whose language switch says
    "English" in English on purpose)."""
    shown = driver.find_element(By.ID, "page").text
    return sorted(set(_WORD.findall(_FILE.sub(" ", shown))))


def _hashes(driver: WebDriver) -> list[str]:
    """Person keys on the page: people are shown by name."""
    return sorted(
        set(re.findall(r"\bP[0-9a-f]{24}\b", driver.find_element(By.TAG_NAME, "body").text))
    )


def _grids_drawn(driver: WebDriver) -> bool:
    """Every grid on the page has drawn its header (those below the fold come late)."""
    return bool(
        driver.execute_script(
            "return Array.from(document.querySelectorAll('#page .ag-root-wrapper'))"
            ".every(function (g) { return g.querySelector('.ag-header-cell-text'); });"
        )
    )


def _cut_headers(driver: WebDriver) -> list[str]:
    """Grid headers whose words do not fit their cell (shown cut, "风险…")."""
    return list(
        driver.execute_script(
            "return Array.from(document.querySelectorAll('.ag-header-cell-text'))"
            ".filter(function (e) { return e.scrollWidth > e.clientWidth + 1; })"
            ".map(function (e) { return e.textContent; });"
        )
    )


def test_every_grid_shows_every_row(signed_in: tuple[str, BoardData], browser: WebDriver) -> None:
    """Each grid holds as many rows as the page computed, and the counts on the page agree
    (row ids that collide, e.g. all ``undefined``, once made 1 of 8 rows appear)."""
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    hops = data.config.extension_hops
    table = data.extension(day, hops)
    # The black-listed firm with the most related firms, and the whole list.
    counts = table.group_by("black_listed_id").aggregate([("related_id", "count")])
    black = counts.sort_by([("related_id_count", "descending")])["black_listed_id"][0].as_py()
    for query, target in ((f"?black={black}", black), ("", None)):
        _open(browser, f"{url}/extension{query}", "#extension-grid .ag-row")
        rows = extension.extension_rows(data, day, hops, target, "zh")
        assert len(rows) > 1
        _assert_every_row_shown(browser, "extension-grid", [r["row_id"] for r in rows])
        summary = browser.find_element(By.ID, "extension-summary").text
        assert f"{len(rows):,} 家关联企业" in summary, summary
    _open(browser, f"{url}/circles", "#circles-grid .ag-row")
    rows = circles.circle_rows(data, day, "zh")
    _assert_every_row_shown(browser, "circles-grid", [r["row_id"] for r in rows])
    _open(browser, f"{url}/warnings", "#warnings-grid .ag-row")
    rows = warnings.warning_rows(data, day, "zh")
    _assert_every_row_shown(browser, "warnings-grid", [r["row_id"] for r in rows])
    assert _console_errors(browser) == []


def test_a_click_on_a_warning_opens_the_enterprise(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    url, data = signed_in
    _open(browser, url + "/warnings", "#warnings-grid .ag-row")
    row = browser.find_element(By.CSS_SELECTOR, "#warnings-grid .ag-row[row-index='0']")
    expected = row.get_attribute("row-id").split("|")[0]
    row.find_element(By.CSS_SELECTOR, "[col-id='name']").click()
    _until(browser, lambda d: d.current_url.endswith(f"/enterprise/{expected}"), "enterprise URL")
    _until(browser, lambda d: d.find_elements(By.ID, "enterprise-name"), "enterprise page")
    day = data.default_date()
    assert day is not None
    row_no = data.row_of(day, expected)
    assert row_no is not None
    name = data.snapshot(day).enterprises["name"][row_no].as_py()
    assert browser.find_element(By.ID, "enterprise-name").text.startswith(name)
    assert _console_errors(browser) == []


_CY = (
    "var el = document.querySelector('#ego-graph'); "
    "var all = [el].concat(Array.from(el.querySelectorAll('div'))); "
    "var cy = all.map(function (e) { return e._cyreg && e._cyreg.cy; }).filter(Boolean)[0];"
)


def _new_ties(graph: GraphIndex, center: int, node: int) -> bool:
    """Whether expanding ``node`` adds nodes to the first view of ``center``'s graph."""
    shown = {center} | {t.other for t in graph.ties(center, 20)[0]}
    return any(t.other not in shown for t in graph.ties(node, 20)[0])


def _click_node(browser: WebDriver, node_id: str) -> None:
    """A real mouse click on a node of the ego graph."""
    canvas = browser.find_element(By.CSS_SELECTOR, "#ego-graph")
    # Pointer actions do not scroll: bring the graph into the viewport first.
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    time.sleep(0.3)
    x, y = browser.execute_script(
        f"{_CY} var p = cy.getElementById(arguments[0]).renderedPosition(); return [p.x, p.y];",
        node_id,
    )
    size = canvas.size
    ActionChains(browser).move_to_element_with_offset(
        canvas, x - size["width"] / 2, y - size["height"] / 2
    ).click().perform()


_OVERLAPS = (
    f"{_CY} var boxes = cy.nodes().map(function (n) {{"
    "  var b = n.boundingBox({includeNodes: false, includeEdges: false, includeLabels: true});"
    "  return [b.x1, b.y1, b.x2, b.y2, n.id()]; }).filter(function (b) { return b[2] > b[0]; });"
    "var out = [];"
    "for (var i = 0; i < boxes.length; i++) { for (var j = i + 1; j < boxes.length; j++) {"
    "  var a = boxes[i], b = boxes[j];"
    "  if (a[0] < b[2] - 1 && b[0] < a[2] - 1 && a[1] < b[3] - 1 && b[1] < a[3] - 1) {"
    "    out.push(a[4] + ' / ' + b[4]); } } }"
    "return out;"
)
"""Pairs of nodes whose labels overlap, as Cytoscape lays them out."""


def test_the_ego_graph_expands_on_click_and_stays_readable(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """Two real clicks expand two neighbours; the graph then holds their ties, no two
    labels overlap, and a legend says what the colours mean (it was a knot without one)."""
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    graph = data.graph(day)
    limit = data.config.ego_limit

    def two_expansions(e: int) -> tuple[int, list[str]]:
        """Nodes after expanding the two neighbours of ``e`` that add the most."""
        ties = graph.ties(e, limit)[0]
        shown = {e} | {t.other for t in ties}
        gain = sorted(
            ((len({u.other for u in graph.ties(t.other, limit)[0]} - shown), t.other)
             for t in ties if t.other != e),
            reverse=True,
        )[:2]  # fmt: skip
        return len(shown) + sum(g for g, _ in gain), [graph.id_of(n) for g, n in gain if g]

    size, center = max((two_expansions(e)[0], e) for e in range(0, graph.n_enterprises, 3))
    _, clicks = two_expansions(center)
    assert len(clicks) == 2 and size >= 30, (size, clicks)
    _open(browser, f"{url}/enterprise/{graph.id_of(center)}", "#ego-graph canvas")
    time.sleep(1.0)
    count = f"{_CY} return cy.nodes().length;"
    for node_id in clicks:
        before = browser.execute_script(count)
        _click_node(browser, node_id)
        _until(browser, lambda d, b=before: d.execute_script(count) > b, "nodes after a click")
        _until(browser, _settled, "callbacks to settle")
        time.sleep(0.5)
    _until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#ego-selected .selected-name"),
        "the clicked node in the side panel",
    )
    assert browser.execute_script(count) >= 30
    assert browser.execute_script(_OVERLAPS) == []
    # Fitted to its panel, the graph keeps its labels readable (13 px at zoom 1): the panel
    # grows with the rows instead of the graph shrinking.
    assert browser.execute_script(f"{_CY} return cy.zoom();") * 13 >= 8
    legend = browser.find_element(By.CSS_SELECTOR, "#page .legend").text
    assert "自然人" in legend and "法定代表人" in legend and "万元" in legend
    time.sleep(0.5)
    _picture(browser, "enterprise-expanded")
    assert _console_errors(browser) == []


_RING = (
    "var el = document.querySelector('#circle-graph');"
    "var all = [el].concat(Array.from(el.querySelectorAll('div')));"
    "var cy = all.map(function (e) { return e._cyreg && e._cyreg.cy; }).filter(Boolean)[0];"
    "var ps = cy.nodes().map(function (n) { return n.position(); });"
    "var cx = ps.reduce(function (s, p) { return s + p.x; }, 0) / ps.length;"
    "var cy0 = ps.reduce(function (s, p) { return s + p.y; }, 0) / ps.length;"
    "var at = {}; cy.nodes().forEach(function (n) { var p = n.position();"
    "  at[n.id()] = [Math.atan2(p.y - cy0, p.x - cx), Math.hypot(p.x - cx, p.y - cy0)]; });"
    "var order = Object.keys(at).sort(function (a, b) { return at[a][0] - at[b][0]; });"
    "var gaps = cy.edges().map(function (e) {"
    "  var d = Math.abs(order.indexOf(e.source().id()) - order.indexOf(e.target().id()));"
    "  return Math.min(d, order.length - d); });"
    "var radii = Object.values(at).map(function (v) { return v[1]; });"
    "return [order.length, gaps, Math.min.apply(null, radii), Math.max.apply(null, radii)];"
)


def test_a_circle_is_a_ring_and_debtrank_speaks_one_unit(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """Members on one circle, guarantees between neighbours where the circle is a ring (a
    five-member ring was once a pentagram), amounts on the arrows; DebtRank's figures in the
    one unit its titles name (not 元 here and 万元 there)."""
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    found = data.circles(day)
    # A circle that is one ring: as many guarantees as members.
    rank = next(
        k + 1
        for k, c in enumerate(found.circles)
        if len(c.members) >= 4 and len(c.src) == len(c.members)
    )
    _open(browser, f"{url}/circles?circle={rank}", "#circle-graph canvas")
    time.sleep(0.5)
    members, gaps, low, high = browser.execute_script(_RING)
    assert members == len(found.circles[rank - 1].members)
    assert high - low < 1 and gaps and all(g == 1 for g in gaps), gaps
    title = browser.find_element(By.ID, "circle-title").text
    assert title.startswith(f"#{rank} · 担保总额") and title.endswith("万元")
    assert "万元" in browser.find_element(By.CSS_SELECTOR, "#page .legend").text
    browser.find_element(By.ID, "circle-default").click()
    member = circles.member_options(data, day, rank)[0]["label"]
    option = _until(
        browser,
        lambda d: d.find_elements(By.XPATH, f"//*[normalize-space(text())='{member}']"),
        "the member in the dropdown",
    )
    option[-1].click()
    _until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#stress-grid .ag-row"), "stress")
    _until(browser, _settled, "callbacks to settle")
    stress = browser.find_element(By.ID, "circle-stress").text
    assert "（万元）" in stress and "¥" not in stress and "元 " not in stress.replace("万元", "")
    time.sleep(0.5)
    _picture(browser, "circles-stress")
    assert _console_errors(browser) == []


def test_a_plan_is_drawn_and_exported(
    signed_in: tuple[str, BoardData], browser: WebDriver, downloads: Path
) -> None:
    url, data = signed_in
    _open(browser, url + "/sampling", "#plan-draw")
    browser.find_element(By.ID, "plan-seed").send_keys("42")
    # One district's plan, as its bureau would draw it.
    browser.find_element(By.ID, "plan-regions").click()
    ActionChains(browser).send_keys("330203").pause(0.3).send_keys(Keys.ENTER).perform()
    _until(browser, lambda d: "330203" in d.find_element(By.ID, "plan-regions").text, "region")
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    plans = data.settings.plans_dir
    before = set(plans.glob("*.json")) if plans.is_dir() else set()
    browser.find_element(By.ID, "plan-draw").click()
    # Drawn in the background: the page polls until the plan is there.
    _until(browser, lambda d: d.find_elements(By.ID, "plan-title"), "the drawn plan")
    _until(browser, _settled, "callbacks to settle")
    assert "随机种子 42" in browser.find_element(By.ID, "plan-line").text
    message = browser.find_element(By.ID, "plan-message").text
    title = browser.find_element(By.ID, "plan-title").text
    created = set(plans.glob("*.json")) - before
    # The same draw may be recorded by an earlier run of this session: saved or existing.
    assert ("已保存" in message and len(created) == 1) or "该计划已存在" in message, message
    _until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#plan-objects .ag-row"), "objects")
    time.sleep(0.5)
    _picture(browser, "sampling-drawn")
    browser.find_element(By.ID, "plan-export-csv").click()
    exported = _until(
        browser,
        lambda d: [p for p in downloads.glob("plan-*.csv")],
        "the exported CSV in the download folder",
    )
    header = exported[0].read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == "plan_id,item,enterprise_id,enterprise_name,inspectors"
    browser.find_element(By.ID, "plan-replay").click()
    _until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#plan-message .notice-ok"),
        "the replay message",
    )
    # Drawing the same again finds the recorded plan: said to exist, shown, not saved anew.
    recorded = set(plans.glob("*.json"))
    browser.find_element(By.ID, "plan-draw").click()
    _until(
        browser,
        lambda d: "该计划已存在" in d.find_element(By.ID, "plan-message").text,
        "the plan already exists",
    )
    assert "已保存" not in browser.find_element(By.ID, "plan-message").text
    assert browser.find_element(By.ID, "plan-title").text == title
    assert set(plans.glob("*.json")) == recorded
    _picture(browser, "sampling-exists")
    assert _console_errors(browser) == []


def test_the_enterprise_search_finds_a_name_written_otherwise(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """A name in traditional characters with another legal form, typed into the search,
    offers the registered firm (risk/matching.py), and choosing it opens its page."""
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    names = data.snapshot(day).enterprises["name"].to_pylist()
    row = next(
        i
        for i, n in enumerate(names)
        if n and names.count(n) == 1 and n.endswith("有限公司") and OpenCC("s2t").convert(n) != n
    )
    firm = data.snapshot(day).enterprises["id"][row].as_py()
    written = OpenCC("s2t").convert(names[row]).removesuffix("有限公司") + "有限責任公司"
    _open(browser, url + f"/enterprise/{_explained(data)}", "#enterprise-search")
    browser.find_element(By.ID, "enterprise-search").click()
    box = _until(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "input.dash-dropdown-search"), "box"
    )
    box[0].send_keys(written)
    option = _until(
        browser,
        lambda d: d.find_elements(By.XPATH, f"//*[contains(normalize-space(text()), '({firm})')]"),
        "the registered firm offered",
    )
    _picture(browser, "enterprise-search-near-name")
    option[-1].click()
    _until(browser, lambda d: d.current_url.endswith(f"/enterprise/{firm}"), "its page")
    assert _console_errors(browser) == []


def _sankey_text(driver: WebDriver) -> str:
    """The labels of the ownership Sankey, read in one script (a redraw replaces its
    elements: a Selenium reference to them would go stale)."""
    return str(
        driver.execute_script(
            "const s = document.querySelector('#ownership-figure .sankey');"
            "return s ? s.textContent : '';"
        )
    )


def test_the_ownership_view_draws_the_controller_chain_and_switches_down(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """The firm of the demo with the widest tree among those whose controller holds it
    through a chain that the 3 layers drawn reach: the Sankey names its holders and the
    controller, whose chain is in words too; the switch redraws the firm's holdings."""
    from risk.ownership_tree import actual_controller, ownership_tree

    url, data = signed_in
    day = data.default_date()
    assert day is not None
    index = data.index(day)

    def weight(row: int) -> tuple[bool, int]:
        chain = actual_controller(index, row).chain
        drawn = 2 <= len(chain) <= 3
        return drawn, ownership_tree(index, row).nodes if drawn else 0

    row = max(range(index.n_enterprises), key=weight)
    controller = actual_controller(index, row)
    assert len(controller.chain) >= 2, "the demo has no firm controlled through a chain"
    firm = str(index.ids[row])
    # From the enterprise page, by its link.
    _open(browser, url + f"/enterprise/{firm}", "#ownership-link")
    browser.find_element(By.ID, "ownership-link").click()
    _until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#ownership-figure .sankey"), "it")
    _until(browser, _settled, "callbacks to settle")
    assert browser.current_url.endswith(f"/ownership/{firm}")
    page = browser.find_element(By.ID, "page").text
    said = browser.find_element(By.ID, "ownership-controller").text
    assert str(index.names[controller.node]) in said and "%" in said
    chain = browser.find_element(By.ID, "control-chain").text
    assert chain.count("→") == 2 * len(controller.chain)
    labels = _sankey_text(browser)
    for step in controller.chain:
        assert str(index.names[step.holder]) in labels, (step, labels)
    assert "股东（向上穿透）" in page
    time.sleep(0.5)  # let the Sankey finish its layout before the picture
    _picture(browser, "ownership-tree")
    holdings = [int(e) for e in index.direct_holdings(row)[0]]
    browser.find_element(By.CSS_SELECTOR, "#ownership-direction input[value='down']").click()
    if holdings:
        held = str(index.names[holdings[0]])
        _until(
            browser,
            lambda d: held in _sankey_text(d),
            "the holdings drawn",
        )
    else:
        _until(browser, lambda d: "没有对外投资" in d.find_element(By.ID, "page").text, "none")
    _until(browser, _settled, "callbacks to settle")
    _picture(browser, "ownership-tree-down")


def _tied_pair(data: BoardData, day: date) -> tuple[int, int, int]:
    """Two enterprises with several paths over every kind, one of them through a shared
    contact (a dashed step), and how many paths the page lists."""
    from risk.paths import PATH_KINDS, SHARED_TYPES

    graph = data.index(day).paths
    n = data.snapshot(day).n_enterprises
    for start in range(0, n, 3):
        reached = graph.ties.reach([start], 3)
        for far in reached.node[(reached.hops >= 2) & (reached.node < n)].tolist()[:20]:
            found = graph.paths(start, far, 4, list(PATH_KINDS))
            relations = {s.relation for p in found for s in p.steps}
            if len(found) >= 2 and relations & set(SHARED_TYPES) and relations - set(SHARED_TYPES):
                return start, int(far), len(found)
    raise AssertionError("no two firms with several paths, one through a shared contact")


def test_two_enterprises_picked_show_their_paths_drawn(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """The paths page: the second firm picked by typing its name, the suspected kind ticked,
    every path drawn (suspected steps dashed, their value masked) and listed step by step."""
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    start, far, count = _tied_pair(data, day)
    ids = data.snapshot(day).enterprises["id"]
    name = data.snapshot(day).enterprises["name"][far].as_py()
    _open(browser, url + f"/paths?source={ids[start].as_py()}", "#paths-target")
    browser.find_element(By.ID, "paths-target").click()
    box = _until(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "input.dash-dropdown-search"), "box"
    )
    box[0].send_keys(name)
    option = _until(
        browser,
        lambda d: d.find_elements(By.XPATH, f"//*[contains(text(), '({ids[far].as_py()})')]"),
        "the firm offered",
    )
    option[-1].click()
    _until(browser, lambda d: d.find_elements(By.ID, "paths-list"), "the paths listed")
    browser.find_element(By.CSS_SELECTOR, "#paths-kinds input[value='suspected']").click()
    listed = _until(
        browser,
        lambda d: (
            (items := d.find_elements(By.CSS_SELECTOR, "#paths-list > li"))
            and len(items) == count
            and items
        ),
        f"{count} paths listed",
    )
    _until(browser, _settled, "callbacks to settle")
    time.sleep(0.5)
    _picture(browser, "paths")
    words = browser.find_element(By.ID, "paths-list").text
    assert "家企业共用" in words and len(listed) == count
    assert browser.find_elements(By.CSS_SELECTOR, "#paths-figure .main-svg")
    assert _console_errors(browser) == []
    assert _hashes(browser) == []


def test_the_enterprise_page_shows_its_change_history(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """The change timeline of a busy firm: every event up to the board's date, newest first,
    in a list that scrolls, the kinds in words."""
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    ids = data.snapshot(day).enterprises["id"].to_pylist()[:60]
    firm = max(ids, key=lambda i: len(data.changes(i, day)))
    changes = data.changes(firm, day)
    _open(browser, url + f"/enterprise/{firm}", "#change-timeline")
    timeline = browser.find_element(By.ID, "change-timeline")
    items = timeline.find_elements(By.CSS_SELECTOR, "li.change")
    assert len(items) == len(changes) > 10
    days = [i.find_element(By.CSS_SELECTOR, ".change-day").text for i in items]
    dated = [d for d in days if d[:1].isdigit()]
    assert dated == sorted(dated, reverse=True) and dated[0] <= day.isoformat()
    assert all(i.find_element(By.CSS_SELECTOR, ".change-kind").text for i in items)
    browser.execute_script("arguments[0].scrollIntoView()", timeline)
    (ARTIFACTS / "timeline.png").write_bytes(timeline.screenshot_as_png)
    _picture(browser, "timeline-page")
    assert _console_errors(browser) == []


def test_the_enterprise_report_opens_from_its_page_and_prints(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """The report link of the enterprise page opens the printable report (risk/report.py) in
    a new tab, with the regulator's grade, reasons, records and the related-party picture;
    Chrome prints it to a PDF of at least one page."""
    url, data = signed_in
    firm = _explained(data)
    _open(browser, url + f"/enterprise/{firm}", "#report-link")
    board_tab = browser.current_window_handle
    browser.find_element(By.ID, "report-link").click()
    _until(browser, lambda d: len(d.window_handles) == 2, "the report's tab")
    browser.switch_to.window(next(h for h in browser.window_handles if h != board_tab))
    try:
        _until(browser, lambda d: d.find_elements(By.ID, "report-name"), "the report")
        assert f"/report/{firm}" in browser.current_url
        assert browser.find_elements(By.CSS_SELECTOR, "#grade .grade")
        assert browser.find_elements(By.CSS_SELECTOR, "#reasons li")
        nodes = browser.find_elements(By.CSS_SELECTOR, "#graph svg g.node")
        assert len(nodes) >= 2
        assert not browser.find_elements(By.TAG_NAME, "script")
        _picture(browser, "report")
        pdf = base64.b64decode(browser.print_page())
        assert pdf.startswith(b"%PDF")
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1
        assert _console_errors(browser) == []
    finally:
        browser.close()
        browser.switch_to.window(board_tab)


def test_a_lender_filters_the_warnings_to_a_borrower_joining_a_guarantee_circle(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """The lender's warning types are offered by their Chinese names, and choosing one shows
    exactly its rows, evidence in words (risk/supervision/changes.py)."""
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    rows = warnings.warning_rows(data, day, "zh", types=["joined_circle"])
    assert rows, "the demo raised no joined_circle warning"
    _open(browser, url + "/warnings", "#warnings-grid .ag-row")
    browser.find_element(By.ID, "warnings-types").click()
    box = _until(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "input.dash-dropdown-search"), "box"
    )
    offered = browser.find_element(By.ID, "warnings-types").text + browser.page_source
    assert all(n in offered for n in ("法定代表人变更", "控股股东变更", "新进入担保圈"))
    box[0].send_keys("新进入担保圈")
    option = _until(
        browser,
        lambda d: d.find_elements(By.XPATH, "//*[normalize-space(text())='新进入担保圈']"),
        "the type offered",
    )
    option[-1].click()
    _until(browser, lambda d: _grid_rows(d, "warnings-grid")[0] == len(rows), "its rows only")
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()  # close the dropdown
    _until(browser, _settled, "callbacks to settle")
    _assert_every_row_shown(browser, "warnings-grid", [r["row_id"] for r in rows])
    grid = browser.find_element(By.ID, "warnings-grid").text
    assert "新进入担保圈" in grid and "担保圈共" in grid, grid
    assert "法定代表人变更" not in grid
    _picture(browser, "lender-warnings")
    assert _console_errors(browser) == []


def test_the_ego_graph_draws_suspected_relations_dashed(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """A firm whose phone other firms use: its ego graph joins them by dashed edges of
    their own kind, labelled with the masked phone, and the legend names the kind."""
    url, data = signed_in
    day = data.default_date()
    assert day is not None
    ent = data.snapshot(day).enterprises
    phones = ent["phone"].to_pylist()
    counts = Counter(p for p in phones if p)
    row = max(range(len(phones)), key=lambda i: (2 <= counts[phones[i]] <= 5, counts[phones[i]]))
    phone = phones[row]
    _open(browser, f"{url}/enterprise/{ent['id'][row].as_py()}", "#ego-graph canvas")
    time.sleep(1.0)
    found = browser.execute_script(
        f"{_CY} return cy.edges('.SUSPECTED').map(function (e) {{"
        " return [e.data('label'), e.style('line-style')]; });"
    )
    on_phone = [(said, style) for said, style in found if "同一电话" in said]
    assert len(on_phone) == min(counts[phone] - 1, 3), found
    assert all(style == "dashed" and phone not in said for said, style in on_phone)
    assert all(
        f"{phone[:3]}" in said and f"{counts[phone]} 家企业共用" in said for said, _ in on_phone
    )
    assert "疑似关系" in browser.find_element(By.CSS_SELECTOR, "#page .legend").text
    _picture(browser, "ego-suspected")
    assert _console_errors(browser) == []


def test_the_ego_graph_as_of_an_earlier_date_draws_the_ties_valid_then(
    signed_in: tuple[str, BoardData], browser: WebDriver
) -> None:
    """Two nodes tied on one saved date and not on another (a tie begun or ended between
    them): choosing each date in the ego graph's own date control draws the edge or not,
    as that date's snapshot holds it."""
    url, data = signed_in
    dates = data.dates()
    assert len(dates) >= 2
    first, last = dates[0], dates[-1]

    def pairs(day: date) -> set[tuple[str, str]]:
        snap = data.snapshot(day)
        ids = snap.node_ids.to_pylist()
        out = set()
        for rel_type in REL_ORDER:
            rel = snap.relations[rel_type]
            src = np.repeat(np.arange(len(rel.indptr) - 1), np.diff(rel.indptr))
            out |= {(ids[a], ids[b]) for a, b in zip(src, rel.indices, strict=True)}
        return out

    then, now = pairs(first), pairs(last)
    changed = {frozenset(p) for p in then} ^ {frozenset(p) for p in now}
    # A firm with few ties, so that the edge is drawn whatever the page's tie limit.
    graph = data.graph(last)
    (_, (source, target), with_tie, without) = min(
        (len(graph.ties(graph.index_of(p[1]) or 0, 100)[0]), p, on, off)
        for pool, on, off in ((now, last, first), (then, first, last))
        for p in pool
        if frozenset(p) in changed
        and data.row_of(last, p[1]) is not None
        and data.row_of(first, p[1]) is not None  # the firm is drawn on both dates
    )
    edges = (
        f"{_CY} return cy.edges().map(function (e) {{"
        " return [e.source().id(), e.target().id()]; });"
    )
    _open(browser, f"{url}/enterprise/{target}", "#ego-graph canvas")
    for day, drawn in ((with_tie, True), (without, False), (with_tie, True)):
        shown = day.isoformat()
        browser.find_element(By.ID, "ego-as-of").click()
        option = _until(
            browser,
            lambda d, s=shown: d.find_elements(By.XPATH, f"//*[normalize-space(text())='{s}']"),
            "the date offered",
        )
        option[-1].click()
        _until(browser, _settled, "callbacks to settle")
        time.sleep(0.5)
        found = [tuple(e) for e in browser.execute_script(edges)]
        assert ((source, target) in found) == drawn, (day, source, target)
        if day == first:
            _picture(browser, "ego-as-of")  # the ties of the earlier date
    assert _console_errors(browser) == []
