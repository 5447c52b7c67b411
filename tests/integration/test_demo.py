"""``anlan demo --once`` as a user runs it: its own Mosquitto and tansu, our test PostgreSQL
server, every part as a child process, the drill played over MQTT. The drill is an exercise:
every message it delivers says 【演练】."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anlan.exercise import EXERCISE_TAG
from anlan.stack.database import drop_database
from anlan.stack.net import free_port

pytestmark = pytest.mark.integration


@pytest.fixture()
def demo_database(database_server: str) -> Iterator[str]:
    url = f"{database_server}anlan_demo_{uuid.uuid4().hex[:8]}"  # the demo creates it
    yield url
    drop_database(url)


def test_demo_once_delivers_only_drill_messages(demo_database: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANLAN_")}
    env.update({
        "ANLAN_DATABASE_URL": demo_database, "ANLAN_EMBEDDED_POSTGRES": "false",
        "ANLAN_STATE_DIR": str(tmp_path / "state"),
        "ANLAN_WORKER_DATA_DIR": str(tmp_path / "state" / "worker"),
        "ANLAN_API_PORT": str(free_port()), "ANLAN_MQTT_PORT": str(free_port()),
        "ANLAN_API_ADMIN_PASSWORD": "test-admin-pw",
    })
    done = subprocess.run([sys.executable, "-m", "anlan", "demo", "--once"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=400,
                          check=False)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    delivered = [line for line in done.stdout.splitlines() if line.startswith("[delivered] ")]
    assert any("红色" in line for line in delivered), done.stdout  # the drill reached red
    assert all(line.startswith(f"[delivered] {EXERCISE_TAG}") for line in delivered), \
        "\n".join(line for line in delivered if EXERCISE_TAG not in line)
    summary = re.search(r"(\d+) alert message\(s\) delivered \((\d+) of the drill", done.stdout)
    assert summary and int(summary[1]) == int(summary[2]) > 0, done.stdout
