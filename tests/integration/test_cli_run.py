"""What `make run` does: `cairn init-db` then `cairn run` serves pages and the API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CLI = [sys.executable, "-c", "from web.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_init_db_then_run_serves_a_page_and_the_api(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CAIRN_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'cairn.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    init = subprocess.run([*CLI, "init-db"], env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    assert "username: admin" in init.stdout and "API token" in init.stdout
    again = subprocess.run([*CLI, "init-db"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr  # idempotent: a second start keeps the data
    credentials = json.loads((tmp_path / "instance" / "admin-credentials.json").read_text())

    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen([*CLI, "run", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = _get(base + "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            assert server.poll() is None, log.read_text()
            time.sleep(0.2)
        status, page = _get(base + "/")
        assert status == 200 and b"<html" in page.lower()
        status, body = _get(base + "/api/v1/apps", credentials["token"])
        assert status == 200 and json.loads(body) == {"items": []}
        status, body = _get(base + "/api/v1/apps")
        assert status == 401 and json.loads(body)["code"] == "unauthenticated"
    finally:
        server.terminate()
        server.wait(timeout=30)
