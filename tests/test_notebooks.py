"""Every notebook runs top to bottom on the demo city, so that none of them rots.

The notebooks share one data home: the first one to run makes the demo city in it
(notebooks/_demo.py), the others reuse it. Each must finish within two minutes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notebook-home")


def test_there_are_notebooks() -> None:
    assert len(BOOKS) >= 2


@pytest.mark.parametrize("path", BOOKS, ids=[p.stem for p in BOOKS])
def test_notebook_runs_and_states_question_and_answer(
    path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(home))
    book = nbformat.read(path, as_version=4)
    assert book.cells[0].cell_type == "markdown" and "**Question.**" in book.cells[0].source
    assert book.cells[-1].cell_type == "markdown" and book.cells[-1].source.startswith("## Answer")
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), (
        f"{path.name} is committed with outputs: clear them"
    )
    client = NotebookClient(
        book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    printed = "".join(
        o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "Answer:" in printed, "the last computation prints the answer in words"
    figures = [
        o for c in book.cells if c.cell_type == "code" for o in c.outputs
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]  # fmt: skip
    assert figures, "each notebook draws with Plotly"


def test_notebooks_answer_as_of_the_date_the_board_serves(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No notebook names its own date: each takes ``demo_day()``, and that is the date the
    board opens on and the API serves for the same data home."""
    for path in BOOKS:
        code = "".join(c.source for c in nbformat.read(path, as_version=4).cells)
        assert "date(" not in code and "fromisoformat" not in code, path.name
    monkeypatch.setenv("CREDITGRAPH_HOME", str(home))
    monkeypatch.syspath_prepend(str(NOTEBOOKS))
    from _demo import demo_day

    from dashboard.config import BoardConfig
    from dashboard.data import BoardData
    from graph_model.settings import Settings

    day = demo_day()
    settings = Settings()
    assert BoardData(settings, BoardConfig()).default_date() == day
    assert day in BoardData(settings, BoardConfig()).scored_dates()
