"""Readings/s written by the sink's write path against a raw psycopg COPY of the same rows.

Sink path, timed from the Kafka record bytes (``anlan.readings`` gateway messages of 20
readings): decode and validate (pydantic) → COPY into the staging table → ``INSERT … ON
CONFLICT DO NOTHING`` into ``readings`` → newest-wins upsert of ``readings_latest`` → commit,
one transaction per poll-sized batch. Baseline: ``COPY readings FROM STDIN (FORMAT BINARY)`` of
the already-built row tuples, one transaction per batch of the same size. Both write into an
emptied ``readings`` table of a freshly migrated database (same indexes), rounds interleaved
with alternating order. Run ``python -m bench.store [--quick]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from anlan import topics
from anlan.events import Reading, Readings
from anlan.stack.database import drop_database, ensure_database
from store.migrate import migrate
from store.sink.decode import build_batch
from store.sink.tables import READINGS
from store.sink.writer import Writer

PER_MESSAGE = 20
T0 = datetime(2026, 7, 20, tzinfo=UTC)


def _messages(n: int) -> list[tuple[str, bytes, bytes]]:
    """``n`` gateway messages (50 gateways × 20 sensors), as the sink receives them."""
    out = []
    for i in range(n):
        gw, seq = f"gw{i % 50:02d}", i // 50
        ts = T0 + timedelta(seconds=10 * seq)
        ev = Readings(gateway_id=gw, seq=seq, received_at=ts, readings=[
            Reading(sensor=f"{gw}-s{j:02d}", ts=ts, kind="rain_mm", value=(seq + j) % 97 / 3,
                    region=f"360121100{i % 50 % 9 + 1:03d}-G1") for j in range(PER_MESSAGE)])
        out.append((topics.READINGS, gw.encode(), ev.to_bytes()))
    return out


def _empty(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE readings, readings_latest")
        conn.execute("CHECKPOINT")


def run_sink_path(url: str, records: list[tuple[str, bytes, bytes]], batch: int,
                  mode: str = "direct") -> float:
    """Rows/s of decode + Writer.write over ``records`` in batches of ``batch`` records.

    ``direct``: the writer as it runs (COPY straight into ``readings``); ``staged``: always
    through the staging table + ``ON CONFLICT DO NOTHING``; ``replay``: the same records again
    onto the stored ones (every row a duplicate).
    """
    if mode != "replay":
        _empty(url)
    writer = Writer(url)
    writer.connect()
    if mode == "staged":
        writer._staged_left = 1 << 30
    rows = 0
    t0 = time.perf_counter()
    for i in range(0, len(records), batch):
        rows += writer.write(build_batch(records[i:i + batch]))
    elapsed = time.perf_counter() - t0
    writer.close()
    return rows / elapsed


def run_raw_copy(url: str, chunks: list[list[tuple[Any, ...]]]) -> float:
    """Rows/s of a plain binary COPY of the prepared rows into ``readings``."""
    _empty(url)
    cols = ", ".join(READINGS.column_names)
    rows = 0
    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        for chunk in chunks:
            with conn.transaction(), conn.cursor() as cur, \
                    cur.copy(f"COPY readings ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(READINGS.types)
                for row in chunk:
                    copy.write_row(row)
            rows += len(chunk)
        elapsed = time.perf_counter() - t0
    return rows / elapsed


def run_end_to_end(url: str, records: list[tuple[str, bytes, bytes]]) -> float:
    """Rows/s of the whole sink (embedded tansu Kafka → Sink → PostgreSQL), group join excluded."""
    import asyncio
    import tempfile
    from pathlib import Path

    from anlan.kafka import make_producer
    from anlan.settings import load_settings
    from anlan.stack.kafka import EmbeddedKafka, create_topics
    from store.sink.runner import Sink, SinkOptions

    _empty(url)
    log = Path(tempfile.mkdtemp(prefix="anlan-bench-store-")) / "tansu.log"
    with EmbeddedKafka(log_path=log) as kafka:
        settings = load_settings(kafka_bootstrap=kafka.bootstrap, kafka_idempotent_producer=False,
                                 topic_prefix=f"bench{uuid.uuid4().hex[:6]}.", database_url=url)

        async def main() -> float:
            await create_topics(settings)
            producer = make_producer(settings)
            await producer.start()
            for topic, key, value in records:
                await producer.send(settings.topic(topic), value=value, key=key)
            await producer.flush()
            await producer.stop()
            sink = Sink(settings, SinkOptions(group_id="bench", retention_days=0,
                                              rebalance_timeout_s=1.0))
            stop = asyncio.Event()
            task = asyncio.create_task(sink.run(stop))
            async def until(cond: Any, timeout: float = 180.0) -> None:
                deadline = time.monotonic() + timeout
                while not cond():
                    if time.monotonic() > deadline:
                        stop.set()
                        raise TimeoutError(f"sink stalled: {sink.stats}")
                    if task.done():  # the sink failed: surface its exception
                        await task
                        raise RuntimeError("sink stopped early")
                    await asyncio.sleep(0.01)

            await until(lambda: sink.stats.batches > 0)
            t0, rows0 = time.perf_counter(), sink.stats.rows
            await until(lambda: sink.stats.records >= len(records))
            rate = (sink.stats.rows - rows0) / (time.perf_counter() - t0)
            stop.set()
            await task
            return rate

        return asyncio.run(main())


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
        return int(row[0]) if row else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store")
    parser.add_argument("--quick", action="store_true", help="fewer rows (< 1 minute)")
    parser.add_argument("--messages", type=int, help="gateway messages of 20 readings")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--batch", type=int, default=500, help="records per transaction")
    parser.add_argument("--base-url", default="postgresql://postgres@127.0.0.1:5432/")
    parser.add_argument("--e2e", action="store_true",
                        help="also run the whole sink from the embedded Kafka (informative)")
    args = parser.parse_args(argv)
    n = args.messages or (2500 if args.quick else 10000)
    rounds = args.rounds or (3 if args.quick else 5)
    records = _messages(n)
    chunks = [build_batch(records[i:i + args.batch]).rows["stage_readings"]
              for i in range(0, n, args.batch)]
    url = ensure_database(args.base_url.rstrip("/") + f"/anlan_bench_store_{uuid.uuid4().hex[:8]}")
    try:
        migrate(url)
        got: dict[str, list[float]] = {"raw": [], "sink": [], "staged": [], "replay": []}
        for r in range(rounds):  # interleaved, order alternating: the machine is shared
            order = ["sink", "raw", "staged", "replay"]
            if r % 2:
                order = ["staged", "replay", "raw", "sink"]
            for which in order:
                if which == "raw":
                    got["raw"].append(run_raw_copy(url, chunks))
                else:
                    mode = "direct" if which == "sink" else which
                    got[which].append(run_sink_path(url, records, args.batch, mode))
                if _count(url) != n * PER_MESSAGE:
                    raise RuntimeError(f"{which}: expected {n * PER_MESSAGE} rows")
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in got.items())
                  + f" rows/s (sink/raw {got['sink'][-1] / got['raw'][-1]:.0%})",
                  file=sys.stderr, flush=True)
        if args.e2e:
            e2e = run_end_to_end(url, records)
            print(f"end to end (tansu → sink → PostgreSQL, after the first batch): "
                  f"{e2e:,.0f} rows/s", file=sys.stderr, flush=True)
    finally:
        drop_database(url)
    value, baseline = statistics.median(got["sink"]), statistics.median(got["raw"])
    print(f"{n} gateway messages × {PER_MESSAGE} readings, {args.batch} messages per "
          f"transaction, {rounds} round(s), medians (rows/s): raw COPY {baseline:,.0f}; sink "
          f"{value:,.0f}; sink forced through staging {statistics.median(got['staged']):,.0f}; "
          f"sink replaying stored rows {statistics.median(got['replay']):,.0f}")
    print(json.dumps({"bench": "store", "value": round(value, 1), "unit": "rows/s",
                      "baseline": round(baseline, 1), "ratio": round(value / baseline, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
