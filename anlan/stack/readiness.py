"""Readiness markers: each part touches a file when it is ready to do its work.

The local stack runner waits for these before it plays a drill (a bridge that has not yet
subscribed would miss the first readings). The folder comes from ``ANLAN_READY_DIR``; when unset,
marking is a no-op, so parts run standalone without it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def mark_ready(part: str) -> None:
    """Record that ``part`` (bridge, worker, dispatch, sink, api) is ready."""
    folder = os.environ.get("ANLAN_READY_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / part).write_text(str(os.getpid()))


def wait_ready(folder: Path, parts: list[str], timeout: float) -> list[str]:
    """Wait until every part is marked ready; return the parts still missing at the timeout."""
    deadline = time.monotonic() + timeout
    missing = list(parts)
    while missing and time.monotonic() < deadline:
        missing = [p for p in parts if not (folder / p).exists()]
        if missing:
            time.sleep(0.1)
    return missing
