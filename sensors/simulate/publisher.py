"""The simulator's MQTT adapter: one client per gateway, its status will, paced QoS 1 publishing."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TextIO

import paho.mqtt.client as mqtt

from anlan.errors import StartupError
from anlan.settings import Settings
from sensors.contract import MAX_READINGS, readings_topic, status_topic
from sensors.simulate.scenario import Frame

Step = tuple[int, datetime, list[Frame]]


class GatewayClients:
    """One connected MQTT client per gateway (user name = gateway id), status will ``offline``.

    ``exercise``: a drill. Readings go to the exercise namespace and the clients publish no
    status and set no will: a drill's connection says nothing about the real gateway."""

    def __init__(self, settings: Settings, gateway_ids: Iterable[str],
                 credentials: dict[str, str] | None = None, client_prefix: str = "sim",
                 exercise: bool = False) -> None:
        self.settings = settings
        self.credentials = credentials or {}
        self.exercise = exercise
        self.clients: dict[str, mqtt.Client] = {}
        self.infos: list[mqtt.MQTTMessageInfo] = []
        self.seq: dict[str, int] = {}
        self._ids = list(gateway_ids)
        self._prefix = client_prefix

    def connect(self, timeout: float = 10.0) -> None:
        """Connect every gateway and publish its retained ``online``; raise StartupError if one
        is refused (wrong credentials, broker down)."""
        base_seq = int(time.time()) * 1000  # a later run never reuses a gateway's seq
        for gw in self._ids:
            self.clients[gw] = self._connect_one(gw, timeout)
            self.seq[gw] = base_seq
            if not self.exercise:
                self.infos.append(self.clients[gw].publish(status_topic(gw), b"online", qos=1,
                                                           retain=True))

    def _connect_one(self, gw: str, timeout: float) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{self._prefix}-{gw}",
                             protocol=mqtt.MQTTv311, clean_session=True)
        client.username_pw_set(gw, self.credentials.get(gw))
        if not self.exercise:
            client.will_set(status_topic(gw), b"offline", qos=1, retain=True)
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(0)
        outcome: list[Any] = []
        ready = threading.Event()

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            outcome.append(reason)
            ready.set()

        client.on_connect = on_connect
        try:
            client.connect(s.mqtt_host, s.mqtt_port, keepalive=30)
        except OSError as exc:
            raise StartupError(f"MQTT broker {s.mqtt_host}:{s.mqtt_port} unreachable: {exc}") \
                from exc
        client.loop_start()
        if not ready.wait(timeout) or outcome[0].is_failure:
            client.loop_stop()
            why = outcome[0] if outcome else "no answer"
            raise StartupError(f"gateway {gw}: MQTT connect refused ({why}); check credentials "
                               "(--credentials) and the broker ACL")
        return client

    def publish(self, frame: Frame) -> int:
        """Publish one frame (split at the contract's 1,000 readings); return messages sent."""
        client = self.clients[frame.gateway_id]
        sent = 0
        for i in range(0, len(frame.readings), MAX_READINGS):
            self.seq[frame.gateway_id] += 1
            body = {"seq": self.seq[frame.gateway_id],
                    "readings": frame.readings[i:i + MAX_READINGS]}
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            self.infos.append(client.publish(readings_topic(frame.gateway_id, self.exercise),
                                             payload, qos=1))
            sent += 1
        return sent

    def acked(self) -> int:
        return sum(1 for info in self.infos if info.is_published())

    def wait_acked(self, timeout: float) -> bool:
        """Wait until the broker acknowledged every publish; False at the timeout."""
        deadline = time.monotonic() + timeout
        for info in self.infos:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                info.wait_for_publish(remaining)
            except (RuntimeError, ValueError):
                return False
        return all(info.is_published() for info in self.infos)

    def close(self) -> None:
        """Disconnect cleanly (the will is not sent: the gateways stay ``online``)."""
        for client in self.clients.values():
            client.disconnect()
            client.loop_stop()


@dataclass
class Progress:
    """Prints a progress line at most once per ``every_s`` seconds."""

    total_steps: int
    out: TextIO = sys.stderr
    every_s: float = 1.0
    messages: int = 0
    readings: int = 0
    _last: float = 0.0

    def update(self, step: int, ts: datetime, clients: GatewayClients, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.every_s:
            return
        self._last = now
        pct = 100 * step / max(1, self.total_steps)
        print(f"[simulate] step {step}/{self.total_steps} ({pct:3.0f}%) event time "
              f"{ts.isoformat(timespec='seconds')}  messages {self.messages} readings "
              f"{self.readings} acked {clients.acked()}", file=self.out, flush=True)


def play(steps: Iterable[Step], total_steps: int, clients: GatewayClients,
         wall_per_step: float, progress: Progress, realtime: bool = False) -> None:
    """Publish each step's frames, spacing steps ``wall_per_step`` seconds of wall time apart
    (``realtime``: publish each step once the wall clock reaches its event time)."""
    started = time.monotonic()
    for k, ts, frames in steps:
        due = started + (k - 1) * wall_per_step
        delay = due - time.monotonic()
        if realtime:
            delay = (ts - datetime.now(timezone.utc)).total_seconds()
        if delay > 0:
            time.sleep(delay)
        for frame in frames:
            progress.messages += clients.publish(frame)
            progress.readings += len(frame.readings)
        progress.update(k, ts, clients, force=k == total_steps)
