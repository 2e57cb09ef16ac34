"""A load while the API serves the same data home, with real processes: the load is refused
with a message saying what to do, the server keeps answering from the store it serves, and
once it is stopped the load goes through."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

CLI = str(Path(sys.executable).parent / "creditgraph")
KEY = "a-regulator-key-for-this-test-only"


def _environ(home: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CREDITGRAPH_")}
    keys = {KEY: {"name": "测试局", "role": "regulator"}}
    return inherited | {"CREDITGRAPH_HOME": str(home), "CREDITGRAPH_API_KEYS": json.dumps(keys)}


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=_environ(home), timeout=300, check=False
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_load_while_serving_is_refused_and_the_server_keeps_answering(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "city"
    assert _cli("generate", "--out", str(data), "--enterprises", "300", home=home).returncode == 0
    assert _cli("load", str(data), "--quiet", home=home).returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [CLI, "serve", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environ(home),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"X-API-Key": KEY}
        found = httpx.get(f"{base}/v1/enterprises?q=宁波&limit=1", headers=headers)
        assert found.status_code == 200, found.text
        firm = found.json()["items"][0]["id"]
        before = httpx.get(f"{base}/v1/enterprises/{firm}", headers=headers).json()

        refused = _cli("load", str(data), "--quiet", home=home)
        out = refused.stdout + refused.stderr
        assert refused.returncode == 2, out
        assert "open in another process" in out and "stop it, load" in out
        assert "Traceback" not in out

        after = httpx.get(f"{base}/v1/enterprises/{firm}", headers=headers)
        assert after.status_code == 200 and after.json() == before
    finally:
        server.terminate()
        server.wait(30)
    assert _cli("load", str(data), "--quiet", home=home).returncode == 0
