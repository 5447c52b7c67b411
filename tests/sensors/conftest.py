"""Fixtures of the sensors tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anlan.settings import Settings
from tests.sensors.support import BridgeProcess, SpawnBridge


@pytest.fixture()
def spawn_bridge() -> Iterator[SpawnBridge]:
    """Make ``anlan bridge`` child processes that are stopped however the test ends."""
    made: list[BridgeProcess] = []

    def factory(settings: Settings, workdir: Path) -> BridgeProcess:
        workdir.mkdir(parents=True, exist_ok=True)
        made.append(BridgeProcess(settings, workdir))
        return made[-1]

    yield factory
    for bridge in made:
        bridge.stop()
