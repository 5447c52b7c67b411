"""``anlan simulate``: play a scenario (or replay a CSV) as the registry's gateways over MQTT."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from anlan.errors import StartupError
from anlan.registry import Registry, load_registry
from anlan.settings import Settings, load_settings
from sensors.contract import readings_topic
from sensors.simulate.publisher import GatewayClients, Progress, Step, play
from sensors.simulate.scenario import SCENARIO_DIR, ScenarioError, frames, load_scenario
from sensors.simulate.sources import (
    ReplayError,
    parse_csv,
    registry_yaml,
    replay_frames,
    shift_to,
    synthetic_registry,
)


def _parser() -> argparse.ArgumentParser:
    known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
    p = argparse.ArgumentParser(
        prog="anlan simulate",
        description="Publish simulated gateway traffic over MQTT (QoS 1); exits 0 once the "
                    "broker acknowledged every message.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--scenario", default="rainstorm",
                     help=f"scenario name or YAML path (known: {known}; default rainstorm)")
    src.add_argument("--replay", type=Path, metavar="CSV",
                     help="replay a CSV of ts,sensor,kind,value (RFC 3339 times with offset)")
    p.add_argument("--shift-to-now", action="store_true",
                   help="replay: shift the CSV's times so its last row is now")
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--wall-seconds", type=float,
                       help="play the whole stretch in this many seconds of wall time")
    speed.add_argument("--speed", type=float, help="event seconds per wall second (1 = real time)")
    speed.add_argument("--realtime", action="store_true",
                       help="scenario: start now and publish each step when its time comes")
    p.add_argument("--gateways", type=int, metavar="N",
                   help="simulate N synthetic gateways instead of the registry file's")
    p.add_argument("--sensors", type=int, default=8, metavar="M",
                   help="sensors per synthetic gateway (default 8, all kinds in rotation)")
    p.add_argument("--write-registry", type=Path, metavar="YAML",
                   help="write the registry used (e.g. the synthetic one) for the bridge's "
                        "ANLAN_SENSORS_FILE, and continue")
    p.add_argument("--credentials", type=Path, metavar="FILE",
                   help="gateway passwords, lines of id:password (make-passwd.sh output)")
    p.add_argument("--ack-timeout", type=float, default=60.0,
                   help="seconds to wait for the broker's acks at the end (default 60)")
    p.add_argument("--drill", action="store_true",
                   help="play it as a drill: readings in the exercise namespace "
                        "(anlan/v1/exercise/gw/{id}/readings), no gateway status; the alerts "
                        "are Exercise and say 【演练】 (drill scenarios always are)")
    p.add_argument("--dry-run", action="store_true", help="print the frames as JSON lines")
    p.add_argument("--export-csv", type=Path, metavar="CSV",
                   help="write the readings as ts,sensor,kind,value (for `anlan plans backtest` "
                        "or --replay) instead of publishing")
    return p


def _registry(args: argparse.Namespace, settings: Settings) -> Registry:
    if args.gateways:
        return synthetic_registry(args.gateways, args.sensors)
    return load_registry(settings.sensors_file)


def _credentials(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StartupError(f"cannot read credentials {path}: {exc}") from exc
    return dict(line.split(":", 1) for line in lines if ":" in line)


def _steps(args: argparse.Namespace, registry: Registry, now: datetime
           ) -> tuple[list[Step], float, float, bool]:
    """The steps to play, the event-time span (s), the default wall time (s) and whether the
    source is a drill (a scenario with ``exercise: true``)."""
    try:
        if args.replay:
            rows = parse_csv(args.replay.read_text(encoding="utf-8"))
            shift = shift_to(rows, now) if args.shift_to_now else shift_to(rows, rows[-1].ts)
            steps, unknown = replay_frames(rows, registry, shift)
            if unknown:
                print(f"[simulate] skipping rows of sensors not in the registry: "
                      f"{', '.join(unknown[:10])}{' …' if len(unknown) > 10 else ''}",
                      file=sys.stderr)
            span = (rows[-1].ts - rows[0].ts).total_seconds() if rows else 0.0
            return steps, span, 60.0, False
        scenario = load_scenario(args.scenario)
        end = now if not args.realtime else datetime.fromtimestamp(
            now.timestamp() + scenario.duration, tz=timezone.utc)
        return (list(frames(scenario, registry, end)), scenario.duration, scenario.wall_seconds,
                scenario.exercise)
    except (ScenarioError, ReplayError, OSError) as exc:
        raise StartupError(str(exc)) from exc


def main(argv: list[str]) -> int:
    """Entry point of ``anlan simulate``."""
    args = _parser().parse_args(argv)
    settings = load_settings()
    registry = _registry(args, settings)
    if args.write_registry:
        args.write_registry.write_text(registry_yaml(registry), encoding="utf-8")
    steps, span, wall, drill = _steps(args, registry, datetime.now(timezone.utc))
    exercise = args.drill or drill
    if args.export_csv:
        rows = [(r["ts"], r["sensor"], r["kind"], r["value"])
                for _k, _ts, fs in steps for f in fs for r in f.readings]
        with open(args.export_csv, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(("ts", "sensor", "kind", "value"))
            writer.writerows(rows)
        print(f"[simulate] wrote {len(rows)} readings to {args.export_csv}", file=sys.stderr)
        return 0
    if args.dry_run:
        for k, _ts, fs in steps:
            for f in fs:
                print(json.dumps({"step": k, "gateway": f.gateway_id,
                                  "topic": readings_topic(f.gateway_id, exercise),
                                  "readings": f.readings}, ensure_ascii=False))
        return 0
    if args.realtime:
        wall = span
    elif args.speed:
        wall = span / args.speed
    elif args.wall_seconds is not None:
        wall = args.wall_seconds
    gateways = sorted({f.gateway_id for _, _, fs in steps for f in fs})
    clients = GatewayClients(settings, gateways, _credentials(args.credentials),
                             exercise=exercise)
    progress = Progress(len(steps))
    scope = f" as a drill (on {readings_topic('{id}', True)})" if exercise else ""
    print(f"[simulate] {len(gateways)} gateways, {len(steps)} steps over "
          f"{span / 3600:.2f} h of event time in ~{wall:.0f} s{scope}", file=sys.stderr,
          flush=True)
    clients.connect()
    try:
        play(steps, len(steps), clients, wall / max(1, len(steps)), progress,
             realtime=args.realtime)
        ok = clients.wait_acked(args.ack_timeout)
    finally:
        clients.close()
    print(f"[simulate] done: {progress.messages} messages, {progress.readings} readings, "
          f"{'all' if ok else 'NOT all'} acknowledged by the broker", file=sys.stderr, flush=True)
    return 0 if ok else 1
