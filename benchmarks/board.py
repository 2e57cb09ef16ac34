"""The board at city scale: start-up, each page's first render, ego-graph expansion.

Prepare a data home once (generate, load, two monthly snapshots, grades in the model's
stored format, warnings raised between the two months, an inspector file), then measure::

    python -m benchmarks.board prepare --work /tmp/board1m --enterprises 1000000
    python -m benchmarks.board measure --work /tmp/board1m

Grades are synthetic (scores drawn at random, classes cut 70/22/6/2 %, three reasons with
evidence for the worst 5 %, as the scorer stores them): what the board costs does not depend
on where the grades come from, and scoring a million firms with reasons takes minutes.
``measure`` times each page twice: server side (the page function, i.e. the callback) and in
headless Chromium (from navigation to the page drawn with no callback in flight), and prints
a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import zlib
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.stats

DATES = (date(2025, 11, 30), date(2025, 12, 31))
MODEL = "synthetic-bench"


def _cli(home: Path, *args: str) -> None:
    env = {**os.environ, "CREDITGRAPH_HOME": str(home)}
    env.pop("CREDITGRAPH_NEO4J_URI", None)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from cli.app import app; app()", *args], env=env, check=True
    )
    print(f"  creditgraph {' '.join(args[:2])}: {time.perf_counter() - started:.1f} s")


def _scores(ids: pa.Array, day: date, seed: int) -> pa.Table:
    """Synthetic stored scores in the model's format (risk/model/scores.py)."""
    from risk.model.scores import SCHEMA

    # One underlying risk per firm (from its id), with a little noise per month: grades move
    # at the class borders only, as they do from one month to the next.
    n = len(ids)
    uniform = np.array([zlib.crc32(i.encode()) for i in ids.to_pylist()]) / 2.0**32
    base = scipy.stats.beta.ppf(uniform, 0.6, 12.0)
    score = base * np.exp(0.1 * np.random.default_rng(seed + 1).standard_normal(n))
    order = np.argsort(-score, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    share = rank / n
    grade = np.select([share <= 0.02, share <= 0.08, share <= 0.30], ["D", "C", "B"], "A")
    reasons: list[str | None] = [None] * n
    for row in np.flatnonzero(share <= 0.05).tolist():
        reasons[row] = json.dumps(
            [
                {
                    "feature": name,
                    "value": 3.0,
                    "contribution": 0.5,
                    "sentence": sentence,
                    "evidence": [
                        {"text": f"{ids[row]} ← 法定代表人 — 某人 → 关联企业 {k}", "nodes": []}
                        for k in range(3)
                    ],
                }
                for name, sentence in (
                    (
                        "people_bad_firms",
                        "Its legal representative leads 3 firm(s) with bad records",
                    ),
                    ("guarantee_circle_size", "It is in a guarantee circle of 3 firms"),
                    ("contagion_listed", "Contagion score from listed firms is 9.0"),
                )
            ],
            ensure_ascii=False,
        )
    table = pa.table(
        {
            "id": ids,
            "as_of": pa.array([day] * n, pa.date32()),
            "model_version": pa.array([MODEL] * n),
            "score": score,
            "rank": rank,
            "grade": pa.array(grade.tolist()),
            "reasons": pa.array(reasons, pa.string()),
        },
        schema=SCHEMA,
    )
    meta = {
        "model_version": MODEL,
        "as_of": day.isoformat(),
        "grades": {"method": "mix", "classes": {"A": 0.7, "B": 0.22, "C": 0.06, "D": 0.02}},
        "cutoffs": {},
        "counts": {g: int((grade == g).sum()) for g in "ABCD"},
        "population": n,
        "reasons": {"top_k": 3, "share": 0.05, "evidence_items": 5, "explained": 0},
    }
    return table.replace_schema_metadata({b"creditgraph": json.dumps(meta)})


def prepare(work: Path, enterprises: int) -> None:
    """Build the data home the board is measured on."""
    from graph_model.settings import Settings
    from risk.data_home import DataHome
    from risk.model.dataset import in_operation

    home = work / "home"
    settings = Settings(home=home)
    if not (work / "data" / "enterprises.parquet").exists():
        _cli(
            home,
            "generate",
            "--out",
            str(work / "data"),
            "--enterprises",
            str(enterprises),
            "--seed",
            "1",
        )
    if not settings.embedded_store_path.exists():
        _cli(home, "load", str(work / "data"), "--quiet", "--strict")
    data_home = DataHome(settings)
    for seed, day in enumerate(DATES):
        if not data_home.has_snapshot(day):
            _cli(home, "snapshot", "--as-of", day.isoformat())
        snap = data_home.snapshot(day)
        population = snap.enterprises["id"].filter(pa.array(in_operation(snap.enterprises, day)))
        data_home.save_scores(_scores(population.combine_chunks(), day, seed))
        del snap
    (settings.models_dir).mkdir(parents=True, exist_ok=True)
    (settings.models_dir / "CURRENT").write_text(MODEL + "\n", encoding="utf-8")
    if not settings.supervision_path.exists():
        _cli(
            home,
            "warnings",
            "raise",
            "--as-of",
            DATES[1].isoformat(),
            "--previous",
            DATES[0].isoformat(),
        )
    settings.inspectors_dir.mkdir(parents=True, exist_ok=True)
    lines = ["inspector_id,name,capacity"] + [f"I{k:04d},inspector {k},50" for k in range(2000)]
    (settings.inspectors_dir / "inspectors.csv").write_text("\n".join(lines) + "\n")


_CY = (
    "var el = document.querySelector('#ego-graph');"
    "var all = [el].concat(Array.from(el.querySelectorAll('div')));"
    "var cy = all.map(function (e) { return e._cyreg && e._cyreg.cy; }).filter(Boolean)[0];"
)


def _browser_times(
    url: str, pages: list[tuple[str, str, str]], ego: tuple[str, str] | None
) -> dict[str, float]:
    """Seconds to open the board cold (a full load, scripts cached), then to show each page
    after an in-app navigation (what a click on the menu or on a row does), and from a click
    on node ``ego[1]`` of ``ego[0]``'s graph to its new nodes drawn."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1440,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    settled = "return document.querySelector('[data-dash-is-loading=\"true\"]') === null"
    # What dcc.Link does on a click: push the URL and tell dcc.Location.
    navigate = (
        "window.history.pushState({}, '', arguments[0]);"
        "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));"
    )

    def shown(selector: str) -> None:
        WebDriverWait(driver, 120, poll_frequency=0.05).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, selector) and d.execute_script(settled)
        )

    out = {}
    try:
        driver.get(url + "/sampling")  # scripts into the browser cache
        shown("#plan-draw")
        started = time.perf_counter()
        driver.get(url + "/")
        shown(pages[0][2])
        out["open"] = time.perf_counter() - started
        for name, path, selector in [*pages[1:], pages[0]]:
            started = time.perf_counter()
            driver.execute_script(navigate, path)
            shown(selector)
            out[name] = time.perf_counter() - started
        if ego is not None:
            center, node = ego
            driver.execute_script(navigate, f"/enterprise/{center}")
            shown("#ego-graph canvas")
            time.sleep(1.0)
            graph = driver.find_element(By.CSS_SELECTOR, "#ego-graph")
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", graph)
            count = f"{_CY} return cy.nodes().length;"
            before = driver.execute_script(count)
            x, y = driver.execute_script(
                f"{_CY} var p = cy.getElementById(arguments[0]).renderedPosition();"
                "return [p.x, p.y];",
                node,
            )
            size = graph.size
            started = time.perf_counter()
            ActionChains(driver).move_to_element_with_offset(
                graph, x - size["width"] / 2, y - size["height"] / 2
            ).click().perform()
            WebDriverWait(driver, 60, poll_frequency=0.02).until(
                lambda d: d.execute_script(count) > before
            )
            out["expand"] = time.perf_counter() - started
        # A plan over the whole city: the one heavy action, under its loading indicator.
        driver.execute_script(navigate, "/sampling")
        shown("#plan-draw")
        driver.find_element(By.ID, "plan-seed").send_keys("1")
        started = time.perf_counter()
        driver.find_element(By.ID, "plan-draw").click()
        WebDriverWait(driver, 300, poll_frequency=0.1).until(
            lambda d: (
                d.find_elements(By.ID, "plan-title")
                or d.find_elements(By.CSS_SELECTOR, "#plan-message .notice-error")
            )
        )
        out["draw"] = time.perf_counter() - started
        out["draw_ok"] = float(bool(driver.find_elements(By.ID, "plan-title")))
    finally:
        driver.quit()
    return out


def measure(work: Path) -> None:
    """Start-up, server-side page times, browser page times and ego expansion, as a table."""
    from werkzeug.serving import make_server

    from access.settings import AccessSettings
    from dashboard.app import create_app, route
    from dashboard.config import BoardConfig
    from dashboard.data import BoardData
    from dashboard.pages.enterprise import on_tap

    settings = AccessSettings(home=work / "home")
    config = BoardConfig()
    data = BoardData(settings, config)
    started = time.perf_counter()
    app = create_app(settings, config, data)
    warm = time.perf_counter() - started
    day = data.default_date()
    assert day is not None
    graph = data.graph(day)
    # The busiest enterprise: the most ties of the types the ego graph shows.
    snap = data.snapshot(day)
    degree = np.zeros(snap.n_nodes, dtype=np.int64)
    for rel in graph.relations.values():
        degree += np.bincount(rel.sources, minlength=snap.n_nodes)
        degree += np.bincount(rel.indices, minlength=snap.n_nodes)
    firm = graph.id_of(int(np.argmax(degree[: snap.n_enterprises])))
    black_list = data.extension(day, config.extension_hops)["black_listed_id"]
    counts = pc.value_counts(black_list).to_pylist()
    black = str(max(counts, key=lambda c: c["counts"])["values"])  # the most related firms
    pages = [
        ("overview", "/", "#overview-regions .main-svg"),
        ("warnings", "/warnings", "#warnings-grid .ag-row"),
        ("enterprise (busiest)", f"/enterprise/{firm}", "#ego-graph canvas"),
        ("extension, one firm", f"/extension?black={black}", "#extension-grid .ag-row"),
        ("extension, whole list", "/extension", "#extension-grid .ag-row"),
        ("circles", "/circles", "#circle-graph canvas"),
        ("sampling", "/sampling", "#plan-draw"),
    ]
    server_side = {}
    for name, path, _ in pages:
        route_path, _, query = path.partition("?")
        started = time.perf_counter()
        route(data, route_path, "?" + query, "zh", day.isoformat())
        server_side[name] = time.perf_counter() - started
    # Ego expansion: a click on every first-ring node of the enterprise's graph.
    expansions = []
    ego = None
    state, elements, _ = on_tap(data, day, firm, None, None, "zh")
    for element in elements:
        node = str(element["data"]["id"])  # type: ignore[index]
        if "source" in element["data"] or node == firm:  # type: ignore[operator]
            continue
        started = time.perf_counter()
        _, after, _ = on_tap(data, day, firm, state, {"id": node}, "zh")
        expansions.append(time.perf_counter() - started)
        if ego is None and len(after) > len(elements) and not node.startswith("more|"):
            ego = (firm, node)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser = _browser_times(f"http://127.0.0.1:{server.server_port}", pages, ego)
    finally:
        server.shutdown()
    print(
        f"\n{snap.n_enterprises:,} enterprises, as of {day}; start-up (read the snapshot, "
        f"index the graph, all circles, the extension list) {warm:.1f} s; peak memory "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.1f} GB\n"
    )
    print(f"board opened in the browser (full load, scripts cached): {browser['open']:.2f} s\n")
    related = int(pc.sum(pc.equal(black_list, black)).as_py())
    ties = int(degree[graph.index_of(firm) or 0])
    print(f"busiest enterprise: {ties:,} ties; extension of one firm: {related:,} related\n")
    print("| page | server (callback) | browser, first render | target |")
    print("|---|---|---|---|")
    for name, _, _ in pages:
        print(f"| {name} | {server_side[name]:.2f} s | {browser[name]:.2f} s | < 2 s |")
    if expansions:
        click = f"{browser['expand']:.2f} s" if "expand" in browser else "—"
        print(
            f"| ego expansion ({len(expansions)} nodes) | p50 "
            f"{1000 * float(np.median(expansions)):.0f} ms, max "
            f"{1000 * max(expansions):.0f} ms | {click} | < 1 s |"
        )
    outcome = "drawn" if browser["draw_ok"] else "refused (see the page)"
    print(f"| plan draw, whole city (Draw button) | | {browser['draw']:.1f} s, {outcome} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("prepare", "measure"))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.command == "prepare":
        prepare(args.work, args.enterprises)
    else:
        measure(args.work)


if __name__ == "__main__":
    main()
