"""Readings/s through the Faust worker: (a) a bare agent that only decodes each gateway message
vs (b) the full validate + assess + incidents path with its changelog-backed tables.

Both drain the same pre-loaded ``anlan.readings.raw`` topic (gateway messages of 20 readings:
by default 5 sensors — 2 rain gauges, a water level, wind, temperature — with 4 one-minute
samples each; ``--per-sensor 1``: 20 sensors with one 5-minute reading each; a few gateways
under heavy rain so that levels, signals, incidents and alerts do happen, light rain elsewhere)
on the embedded tansu broker, one worker process each, rounds interleaved, every shipped plan
loaded. (a) times its first to last message inside the agent; (b) is timed by the Kafka
timestamps of its first and last validated ``anlan.readings`` output. Run
``python -m bench.streams [--quick]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from anlan import topics
from anlan.settings import Settings, load_settings
from anlan.stack.kafka import EmbeddedKafka, create_topics

GATEWAYS = 50
READINGS_PER_MSG = 20
MIXES = {  # sensors per gateway for a given number of readings per sensor per message
    1: [("rain_mm", 10), ("water_level_m", 4), ("wind_mps", 2), ("temperature_c", 2),
        ("soil_moisture_pct", 2)],
    4: [("rain_mm", 2), ("water_level_m", 1), ("wind_mps", 1), ("temperature_c", 1)],
}
STORMY = 3  # gateways under heavy rain


def _registry(per_sensor: int) -> dict[str, Any]:
    gateways: dict[str, Any] = {}
    for g in range(GATEWAYS):
        village = f"360121{100 + g // 10:03d}{g % 10 + 1:03d}"
        sensors: dict[str, Any] = {}
        for kind, count in MIXES[per_sensor]:
            for j in range(count):
                sensor: dict[str, Any] = {"kind": kind, "region": f"{village}-G{j % 3 + 1}",
                                          "interval_s": 300}
                if kind == "water_level_m":
                    sensor["attrs"] = {"warning_level": 3.5, "guaranteed_level": 4.2,
                                       "historical_max": 4.8}
                sensors[f"b{g:03d}-{kind.split('_')[0]}-{j}"] = sensor
        gateways[f"gw-b{g:03d}"] = {"region": village, "sensors": sensors}
    return {"gateways": gateways}


def _value(kind: str, g: int, step: int, j: int, per_sensor: int) -> float:
    if kind == "rain_mm":  # per 5 minutes: 9 mm under the storm (108 mm/h), else 0-0.2 mm
        if g < STORMY and step > 20:  # (about 1.2 mm/h: never a warning level)
            return 9.0 / per_sensor
        return round(0.1 * ((step + j) % 3) / per_sensor, 3)
    if kind == "water_level_m":
        return round(2.0 + 0.01 * ((step + j) % 7), 2)
    if kind == "wind_mps":
        return 3.0 + (step % 4)
    if kind == "temperature_c":
        return 26.0 + 0.1 * (step % 10)
    return 38.0 + 0.1 * ((step + j) % 5)


def _messages(registry: dict[str, Any], n: int, per_sensor: int) -> list[tuple[str, bytes]]:
    """n gateway messages, each with ``per_sensor`` samples of every sensor of the gateway
    (5 minutes of event time per message)."""
    steps = -(-n // GATEWAYS)
    start = datetime.now(UTC) - timedelta(minutes=5) * (steps + 1)
    received = datetime.now(UTC).isoformat()
    sample = timedelta(minutes=5) / per_sensor
    out = []
    for i in range(n):
        g, step = i % GATEWAYS, i // GATEWAYS
        gw = f"gw-b{g:03d}"
        sensors = registry["gateways"][gw]["sensors"].items()
        readings = [{"sensor": sid, "ts": (start + sample * (step * per_sensor + k)).isoformat(),
                     "kind": info["kind"], "value": _value(info["kind"], g, step, j, per_sensor)}
                    for j, (sid, info) in enumerate(sensors) for k in range(per_sensor)]
        body = {"gateway_id": gw, "mqtt_topic": f"anlan/v1/gw/{gw}/readings",
                "received_at": received, "seq": step, "readings": readings}
        out.append((gw, json.dumps(body).encode()))
    return out


async def _preload(settings: Settings, items: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        topic = settings.topic(topics.READINGS_RAW)
        for key, value in items:
            await producer.send(topic, value=value, key=key.encode())
        await producer.flush()
    finally:
        await producer.stop()


def _env(settings: Settings, worker_id: str, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANLAN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
                "ANLAN_TOPIC_PREFIX": settings.topic_prefix,
                "ANLAN_WORKER_ID": worker_id, "ANLAN_WORKER_WEB_PORT": "0",
                "ANLAN_WORKER_DATA_DIR": str(work / worker_id),
                "ANLAN_KAFKA_IDEMPOTENT_PRODUCER": "false",
                "ANLAN_SENSORS_FILE": str(settings.sensors_file),
                "ANLAN_PLANS_DIR": str(settings.plans_dir), "ANLAN_LOG_LEVEL": "WARNING"})
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def run_bare(settings: Settings, work: Path, total: int, timeout: float) -> float:
    """(a): readings/s of the decode-only agent."""
    result = work / f"bare-{uuid.uuid4().hex[:6]}.json"
    with open(work / "bare.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bench.streams", "--bare-worker",
                                 str(result), str(total)],
                                env=_env(settings, f"bench-bare-{uuid.uuid4().hex[:6]}", work),
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + timeout
        while not result.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bare worker failed; see {work / 'bare.log'}")
            time.sleep(0.2)
        data = json.loads(result.read_text())
    finally:
        _stop(proc)
    return (data["readings"] - data["first_n"]) / (data["last"] - data["first"])


def run_full(settings: Settings, work: Path, total: int, timeout: float) -> float:
    """(b): readings/s of the full worker, from the timestamps of its validated output."""
    started_ms = int(time.time() * 1000)
    with open(work / "full.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "anlan", "worker"],
                                env=_env(settings, f"bench-full-{uuid.uuid4().hex[:6]}", work),
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        stamps = asyncio.run(_output_stamps(settings, started_ms, total, timeout, proc))
    finally:
        _stop(proc)
    (first_ms, first_n), (last_ms, _) = stamps[0], stamps[-1]
    return (total - first_n) / ((last_ms - first_ms) / 1000)


async def _output_stamps(settings: Settings, since_ms: int, total: int, timeout: float,
                         proc: subprocess.Popen[bytes]) -> list[tuple[int, int]]:
    consumer = AIOKafkaConsumer(settings.topic(topics.READINGS),
                                bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    stamps: list[tuple[int, int]] = []
    count = 0
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while count < total:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"full worker: {count}/{total} readings out; see full.log")
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for r in records:
                    if r.timestamp >= since_ms:
                        n = len(json.loads(r.value)["readings"])
                        stamps.append((r.timestamp, n))
                        count += n
    finally:
        await consumer.stop()
    stamps.sort()
    return stamps


def bare_worker(result: Path, total: int) -> int:
    """Child process of (a): the bare agent; writes its timing when it has seen ``total``."""
    import faust

    from streams.app import create_app

    settings = load_settings()
    app = create_app(settings, bare=True)
    counter = app.bench_counter  # type: ignore[attr-defined]

    @app.timer(interval=0.2)
    async def done() -> None:
        if counter["readings"] >= total and not result.exists():
            result.write_text(json.dumps(counter))

    faust.Worker(app, loglevel="WARNING", quiet=True, override_logging=False,
                 redirect_stdouts=False).execute_from_commandline()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams")
    parser.add_argument("--quick", action="store_true", help="fewer messages (< 1 minute)")
    parser.add_argument("--messages", type=int, help="gateway messages (20 readings each)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--per-sensor", type=int, choices=sorted(MIXES), default=4,
                        help="readings per sensor in a message: 4 (5 sensors, 1-min samples; "
                        "default) or 1 (20 sensors, one 5-min reading each)")
    parser.add_argument("--bare-worker", nargs=2, metavar=("RESULT", "TOTAL"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_worker:
        return bare_worker(Path(args.bare_worker[0]), int(args.bare_worker[1]))
    n = args.messages or (4000 if args.quick else 20000)
    rounds = args.rounds or (1 if args.quick else 3)
    work = Path(tempfile.mkdtemp(prefix="anlan-bench-streams-"))
    registry = _registry(args.per_sensor)
    (work / "sensors.yaml").write_text(json.dumps(registry))
    items = _messages(registry, n, args.per_sensor)
    total = sum(len(json.loads(v)["readings"]) for _, v in items)
    with EmbeddedKafka(log_path=work / "tansu.log") as kafka:
        settings = load_settings(kafka_bootstrap=kafka.bootstrap, kafka_idempotent_producer=False,
                                 topic_prefix=f"bench{uuid.uuid4().hex[:6]}.",
                                 sensors_file=work / "sensors.yaml")
        asyncio.run(create_topics(settings))
        asyncio.run(_preload(settings, items))
        bare: list[float] = []
        full: list[float] = []
        for r in range(rounds):  # interleaved, order alternating: the machine is shared
            order = [("full", run_full), ("bare", run_bare)] if r % 2 else \
                [("bare", run_bare), ("full", run_full)]
            for name, fn in order:
                (bare if name == "bare" else full).append(fn(settings, work, total, 300))
            print(f"round {r + 1}: bare {bare[-1]:,.0f} readings/s, full {full[-1]:,.0f} "
                  f"readings/s ({full[-1] / bare[-1]:.0%})", file=sys.stderr, flush=True)
    value, baseline = statistics.median(full), statistics.median(bare)
    print(f"{n} gateway messages × {READINGS_PER_MSG} readings ({args.per_sensor} per sensor), "
          f"{rounds} round(s), medians; plans: {settings.plans_dir}")
    print(json.dumps({"bench": "streams", "value": round(value, 1), "unit": "readings/s",
                      "baseline": round(baseline, 1), "ratio": round(value / baseline, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
