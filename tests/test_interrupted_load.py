"""A load killed with SIGKILL while it writes to the embedded store, with real processes.

The load writes into a copy of the database that only a finished load swaps in, so the
store is left as it was before the load: `stats` shows the same counts without a warning,
readers work, and loading the same folder again completes it, with the store then equal to
one loaded in a single go. (Neo4j's half-way mark is tested in tests/test_neo4j_live.py.)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

CLI = str(Path(sys.executable).parent / "creditgraph")


def _environ(home: Path, **extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CREDITGRAPH_")}
    return inherited | {"CREDITGRAPH_HOME": str(home), **extra}


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=_environ(home), timeout=600, check=False
    )


def _kill_while_writing(data: Path, home: Path) -> int:
    """Start a load in small transactions, SIGKILL it once the write stage has begun."""
    load = subprocess.Popen(
        [CLI, "load", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_environ(home, CREDITGRAPH_LOAD_BATCH_ROWS="300"),
    )
    assert load.stderr is not None
    seen = threading.Event()

    def watch() -> None:
        assert load.stderr is not None
        text = b""
        while chunk := load.stderr.read1(4096):
            text += chunk
            # tqdm's bar: "write:  37%|…". Kill with some batches committed, not all.
            done = [int(p) for p in re.findall(rb"write:\s+(\d+)%", text)]
            if any(5 <= p <= 80 for p in done):
                seen.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        assert seen.wait(timeout=300), "the load never showed its write stage under way"
        load.send_signal(signal.SIGKILL)
        return load.wait(timeout=60)
    finally:
        load.kill()
        load.wait()
        reader.join(timeout=10)
        load.stderr.close()


def _stats(home: Path) -> str:
    done = _cli("stats", home=home)
    assert done.returncode == 0, done.stderr
    # The counts, without the store's path and size on disk.
    return done.stdout.split("\n", 1)[1].split("on disk:")[0]


def test_a_killed_load_leaves_the_store_as_it_was_and_loading_again_completes_it(
    tmp_path: Path,
) -> None:
    data, home, clean = tmp_path / "city", tmp_path / "home", tmp_path / "clean"
    made = _cli("generate", "--out", str(data), "--enterprises", "3000", home=home)
    assert made.returncode == 0, made.stderr
    # The store holds the city's firms and people before the load that is killed.
    nodes = tmp_path / "nodes"
    nodes.mkdir()
    for file in data.iterdir():
        if file.name.split(".")[0] in ("enterprises", "persons"):
            shutil.copy(file, nodes / file.name)
    first = _cli("load", str(nodes), "--quiet", home=home)
    assert first.returncode == 0, first.stderr
    before = _stats(home)

    assert _kill_while_writing(data, home) == -signal.SIGKILL

    stats = _cli("stats", home=home)
    assert stats.returncode == 0, stats.stderr
    assert "did not finish" not in stats.stderr
    assert _stats(home) == before
    snapshot = _cli("snapshot", "--as-of", "2024-12-31", home=home)
    assert snapshot.returncode == 0, snapshot.stderr
    assert list((home / "store").glob("*.staged*")), "the killed load's copy is left until a writer"

    again = _cli("load", str(data), "--quiet", home=home)
    assert again.returncode == 0, again.stderr
    assert not list((home / "store").glob("*.staged*"))
    once = _cli("load", str(data), "--quiet", home=clean)
    assert once.returncode == 0, once.stderr
    assert _stats(home) == _stats(clean)
