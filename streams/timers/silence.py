"""A gateway or sensor silent longer than expected, or a gateway reporting ``offline``, opens a
maintenance outage (one alert + one task to the responsible grid's technician); the outage is
cleared (a Cancel alert) when it is heard from again. Decisions are made from the state and the
wall-clock time carried by the caller, so replays are no-ops."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anlan.events import Alert, Level, Task
from anlan.registry import Registry

SILENCE_FACTOR = 3.0
"""Silent for longer than this many expected intervals → outage."""
MAINTENANCE_NOTIFY = ({"role": "technician", "tier": "grid"}, {"role": "grid_worker", "tier": "grid"})


@dataclass
class Outage:
    subject: str  # "gateway:<id>" or "sensor:<id>"
    region: str
    reason: str
    since: float
    incident_id: str
    alerts: list[str] = field(default_factory=list)


@dataclass
class SilenceWatch:
    """Last time (wall clock, epoch s) each gateway and sensor was heard from; open outages."""

    heard: dict[str, float] = field(default_factory=dict)  # subject → epoch s
    offline: bool = False
    outages: dict[str, Outage] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"heard": self.heard, "offline": self.offline,
                "outages": {k: vars(o) for k, o in self.outages.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SilenceWatch:
        return cls(heard=dict(data.get("heard", {})), offline=bool(data.get("offline")),
                   outages={k: Outage(**o) for k, o in data.get("outages", {}).items()})

    def sensor_heard(self, sensor_id: str) -> float | None:
        """When a reading of ``sensor_id`` was last received (wall clock), if ever."""
        return self.heard.get(f"sensor:{sensor_id}")

    def heard_from(self, gateway: str, sensors: Iterable[str], at: float) -> list[Outage]:
        """Record a message; return the outages it ends (gateway first, then by sensor id)."""
        heard, outages = self.heard, self.outages
        subjects = [f"gateway:{gateway}", *[f"sensor:{s}" for s in sensors]]
        for subject in subjects:
            if heard.get(subject, 0.0) < at:
                heard[subject] = at
        if not outages:
            return []
        ended = sorted(s for s in subjects if s in outages and at > outages[s].since)
        if f"gateway:{gateway}" in ended:
            self.offline = False  # readings after the outage began: it is back
        return [outages.pop(s) for s in ended]

    def status(self, gateway: str, region: str, online: bool, at: float) -> list[Outage]:
        """Apply a status message; return outages opened (offline) or ended (online)."""
        subject = f"gateway:{gateway}"
        if online:
            self.offline = False
            self.heard[subject] = max(at, self.heard.get(subject, 0.0))
            return [self.outages.pop(subject)] if subject in self.outages else []
        if at < self.heard.get(subject, 0.0):
            return []  # heard from it since (an old status replayed)
        self.offline = True
        if subject in self.outages:
            return []
        outage = _outage(subject, region, "gateway offline", at)
        self.outages[subject] = outage
        return [outage]

    def check(self, gateway: str, registry: Registry, now: float) -> list[Outage]:
        """Open outages for the gateway or its sensors silent for too long at ``now``."""
        info = registry.gateways.get(gateway)
        if info is None or self.offline:
            return []
        opened: list[Outage] = []
        gw_subject = f"gateway:{gateway}"
        min_interval = min((s.interval_s for s in info.sensors.values()), default=300)
        if self._silent(gw_subject, min_interval, now):
            opened.append(self._open(gw_subject, info.region, "gateway silent", now))
        elif gw_subject not in self.outages:
            for sensor_id, sensor in info.sensors.items():
                subject = f"sensor:{sensor_id}"
                if self._silent(subject, sensor.interval_s, now):
                    opened.append(self._open(subject, sensor.region or info.region,
                                             "sensor silent", now))
        return opened

    def _silent(self, subject: str, interval_s: float, now: float) -> bool:
        last = self.heard.get(subject)
        return last is not None and subject not in self.outages and \
            now - last > SILENCE_FACTOR * interval_s

    def _open(self, subject: str, region: str, reason: str, now: float) -> Outage:
        outage = _outage(subject, region, reason, self.heard.get(subject, now))
        self.outages[subject] = outage
        return outage


def _outage(subject: str, region: str, reason: str, since: float) -> Outage:
    stamp = datetime.fromtimestamp(since, UTC).strftime("%Y%m%dT%H%M%SZ")
    return Outage(subject=subject, region=region, reason=reason, since=since,
                  incident_id=f"maintenance:{subject.replace(':', '-')}:{stamp}")


def maintenance_messages(outage: Outage, opened: bool, at: float) -> tuple[Alert, Task | None]:
    """The maintenance alert (and on opening the task) of an outage; ids are deterministic."""
    ts = datetime.fromtimestamp(at, UTC)
    alert_id = f"{outage.incident_id}#{len(outage.alerts) + 1}"
    kind, name = outage.subject.split(":", 1)
    what = {"gateway": "网关", "sensor": "传感器"}[kind]
    reason_zh = {"gateway offline": "离线", "gateway silent": "超时未上报",
                 "sensor silent": "超时未上报"}.get(outage.reason, outage.reason)
    alert = Alert(
        alert_id=alert_id, incident_id=outage.incident_id,
        msg_type="Alert" if opened else "Cancel", references=list(outage.alerts),
        status="System", plan="maintenance", hazard="equipment", region=outage.region,
        level=Level.IV if opened else Level.NONE, previous=Level.NONE if opened else Level.IV,
        sent=ts, headline=f"设备维护：{what}{name}{reason_zh}" if opened
        else f"设备恢复：{what}{name}",
        description=f"{outage.region}：{what}{name}{reason_zh}，请网格技术员检查。" if opened
        else f"{outage.region}：{what}{name}已恢复上报。",
        evidence={"subject": outage.subject, "reason": outage.reason, "since": outage.since},
        notify=[dict(n) for n in MAINTENANCE_NOTIFY])
    outage.alerts.append(alert_id)
    task = None
    if opened:
        task = Task(task_id=f"{outage.incident_id}:maintenance", incident_id=outage.incident_id,
                    kind="maintenance", state="open", region=outage.region,
                    title=f"检修{what}{name}", ts=ts,
                    detail={"subject": outage.subject, "reason": outage.reason})
    return alert, task
