"""Fan-out benchmark: one alert to N people over Apprise json:// to a local HTTP receiver,
through the real dispatcher (claims, attempts and completion in PostgreSQL), against Apprise
alone sending the same number of messages to the same receiver (the baseline). Run
``python -m bench.dispatch [--quick]``; the last line is the JSON summary. Uses the tests' real
HTTP receiver and demo directory (``tests.alerts``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerts.directory import Person
from alerts.dispatch.dispatcher import Dispatcher
from alerts.notify import AppriseNotifier
from anlan.events import Event
from anlan.settings import load_settings
from anlan.stack.database import drop_database, ensure_database
from store.migrate import migrate
from tests.alerts.helpers import alert, demo
from tests.alerts.receivers import HttpReceiver


class _NoKafka:
    async def publish(self, topic: str, key: str | None, event: Event) -> None:
        return None


async def _run(n: int, runs: int) -> tuple[list[float], float]:
    base = load_settings().database_url.rsplit("/", 1)[0]
    url = ensure_database(f"{base}/anlan_bench_{uuid.uuid4().hex[:8]}")
    migrate(url)
    receiver = HttpReceiver().start()
    pool = AsyncConnectionPool(url, min_size=4, max_size=20, open=False)
    await pool.open()
    try:
        d, _ = demo()
        people = tuple(Person(id=f"gw{i}", name=f"网格员{i}", roles=("grid_worker",),
                              region="360121100001-G1", urls=(receiver.url(),))
                       for i in range(n))
        d = d.model_copy(update={"people": tuple(p for p in d.people
                                                 if p.id != "p-gw-hkc1") + people})
        notifier = AppriseNotifier(max_workers=64)
        disp = Dispatcher(load_settings(database_url=url), pool, notifier, _NoKafka(), d)
        rates = []
        for _ in range(runs):
            a = alert(notify=[{"role": "grid_worker", "tier": "grid"}])
            t = time.perf_counter()
            out = await disp.handle_alert(a)
            rates.append(len(out.sent) / (time.perf_counter() - t))
        raw = await _apprise_only(notifier, receiver.url(), n)
        return rates, raw
    finally:
        await pool.close()
        receiver.stop()
        drop_database(url)


async def _apprise_only(notifier: AppriseNotifier, url: str, n: int) -> float:
    t = time.perf_counter()
    await asyncio.gather(*(notifier.send(url, "t", "b") for _ in range(n)))
    return n / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 people, 3 runs")
    args = parser.parse_args(argv)
    n, runs = (200, 3) if args.quick else (1000, 5)
    rates, raw = asyncio.run(_run(n, runs))
    median = statistics.median(rates)
    print(f"{n} recipients per alert: median {median:.0f} messages/s through the dispatcher; "
          f"Apprise alone (same pool, same receiver): {raw:.0f} messages/s")
    summary: dict[str, Any] = {"bench": "dispatch_fanout", "value": round(median, 1),
                               "unit": "messages/s", "baseline": round(raw, 1),
                               "ratio": round(median / raw, 3)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
