"""Other sources of frames (pure): CSV replay; synthetic registries of N gateways × M sensors."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml

from anlan.registry import KINDS, Registry
from sensors.simulate.scenario import CHINA_TZ, Frame


class ReplayError(ValueError):
    """A CSV that cannot be replayed; the message names the line."""


@dataclass(frozen=True)
class CsvRow:
    ts: datetime
    sensor: str
    kind: str
    value: float


def parse_csv(text: str) -> list[CsvRow]:
    """Rows of ``ts,sensor,kind,value`` (an optional header line is skipped), sorted by time."""
    rows = []
    for line_no, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not cells or cells[0].strip().startswith("#"):
            continue
        if line_no == 1 and cells[0].strip().lower() == "ts":
            continue
        if len(cells) != 4:
            raise ReplayError(f"line {line_no}: expected ts,sensor,kind,value, got {cells!r}")
        try:
            ts = datetime.fromisoformat(cells[0].strip())
            value = float(cells[3])
        except ValueError as exc:
            raise ReplayError(f"line {line_no}: {exc}") from None
        if ts.tzinfo is None:
            raise ReplayError(f"line {line_no}: timestamp {cells[0]!r} has no UTC offset")
        rows.append(CsvRow(ts, cells[1].strip(), cells[2].strip(), value))
    return sorted(rows, key=lambda r: r.ts)


def replay_frames(rows: list[CsvRow], registry: Registry, shift: timedelta = timedelta(0)
                  ) -> tuple[list[tuple[int, datetime, list[Frame]]], list[str]]:
    """Group rows into per-timestamp gateway frames; also return the sensors not in the registry
    (their rows are skipped: no gateway may publish them)."""
    unknown: set[str] = set()
    steps: dict[datetime, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        info = registry.sensor(row.sensor)
        if info is None:
            unknown.add(row.sensor)
            continue
        ts = (row.ts + shift).astimezone(CHINA_TZ)
        steps.setdefault(ts, {}).setdefault(info.gateway_id, []).append(
            {"sensor": row.sensor, "ts": ts.isoformat(), "kind": row.kind, "value": row.value})
    out = [(k, ts, [Frame(ts, gw, rs) for gw, rs in sorted(by_gw.items())])
           for k, (ts, by_gw) in enumerate(sorted(steps.items()), start=1)]
    return out, sorted(unknown)


def shift_to(rows: list[CsvRow], end: datetime) -> timedelta:
    """The shift that moves the last row to ``end``."""
    return end - rows[-1].ts if rows else timedelta(0)


def synthetic_registry(gateways: int, sensors: int) -> Registry:
    """N gateways × M sensors (kinds in rotation) in villages of a made-up township."""
    kinds = list(KINDS)
    data: dict[str, Any] = {"gateways": {}}
    for g in range(1, gateways + 1):
        region = f"360121100{g:03d}"
        data["gateways"][f"gw-sim-{g:04d}"] = {"region": region, "sensors": {
            f"s{g:04d}-{kinds[j % len(kinds)].split('_')[0]}-{j:02d}": {
                "kind": kinds[j % len(kinds)], "region": f"{region}-G{j % 3 + 1}",
                "interval_s": 300}
            for j in range(sensors)}}
    return Registry.model_validate(data)


def registry_yaml(registry: Registry) -> str:
    """The registry as a sensors file (for ``ANLAN_SENSORS_FILE`` of the bridge)."""
    data = {"gateways": {
        gw_id: {"region": gw.region, "sensors": {
            sid: {"kind": s.kind, "region": s.region, "interval_s": s.interval_s}
            for sid, s in gw.sensors.items()}}
        for gw_id, gw in registry.gateways.items()}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
