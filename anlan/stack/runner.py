"""The local stack: ``anlan up``, ``anlan demo`` and ``anlan topics``.

Starts (or reuses) the services — Mosquitto, the embedded tansu Kafka broker, PostgreSQL (the
server at ``ANLAN_DATABASE_URL`` or an embedded one) — then each part of Anlan as its own child
process (``python -m anlan <part>``), exactly as a deployment runs them, and stops all of it
cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from anlan.errors import StartupError
from anlan.exercise import EXERCISE_TAG
from anlan.settings import Settings, load_settings
from anlan.stack.database import EmbeddedPostgres, resolve_database
from anlan.stack.kafka import EmbeddedKafka, create_topics
from anlan.stack.mqtt import LocalMosquitto
from anlan.stack.net import port_free
from anlan.stack.readiness import wait_ready
from anlan.stack.receiver import NotificationReceiver

PARTS = ("sink", "worker", "dispatch", "bridge", "api")
# The local stack's Kafka lives in memory: a bridge session that outlived it would replay
# readings queued since into the next, unrelated stack. So the local bridge has its own MQTT
# client id and a short session expiry (a deployment keeps the 7-day default).
PART_ARGS: dict[str, tuple[str, ...]] = {"bridge": ("--session-expiry", "120")}
LOCAL_BRIDGE_CLIENT_ID = "anlan-bridge-local"
DEMO_ADMIN_PASSWORD = "anlan-demo-2026"  # ANLAN_API_ADMIN_PASSWORD overrides it


class LocalStack:
    """Services plus one child process per part; ``start()`` then ``stop()``."""

    def __init__(self, settings: Settings, extra_env: dict[str, str] | None = None,
                 parts: tuple[str, ...] = PARTS, say: Any = print) -> None:
        self.settings = settings
        self.extra_env = dict(extra_env or {})
        self.parts = parts
        self.say = say
        self.state_dir = Path(settings.state_dir).resolve()
        self.log_dir = self.state_dir / "logs"
        self.ready_dir = self.state_dir / "ready"
        self.mqtt: LocalMosquitto | None = None
        self.kafka: EmbeddedKafka | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.env: dict[str, str] = {}

    # ------------------------------------------------------------------ services
    def _start_services(self) -> None:
        s = self.settings
        if "api" in self.parts and not port_free(s.api_host, s.api_port):
            raise StartupError(f"port {s.api_port} on {s.api_host} is in use; stop what listens "
                               "there or set ANLAN_API_PORT to a free port")
        # the local Kafka lives in memory: a broker state kept from an earlier run (sessions,
        # queued messages) belongs to a stack that is gone, and made the next demo's bridge
        # resume a stale session and deliver no alert; within a run it persists as configured
        shutil.rmtree(self.state_dir / "mosquitto", ignore_errors=True)
        self.mqtt = LocalMosquitto(s.mqtt_host, s.mqtt_port, self.log_dir / "mosquitto.log",
                                   state_dir=self.state_dir / "mosquitto",
                                   reuse_running=not s.mqtt_embedded)
        mqtt_host, mqtt_port = self.mqtt.start()
        embedded_kafka = not s.kafka_bootstrap
        bootstrap = s.kafka_bootstrap
        if embedded_kafka:
            self.kafka = EmbeddedKafka(log_path=self.log_dir / "tansu.log")
            bootstrap = self.kafka.start()
        db_url, self.postgres = resolve_database(s.database_url, s.embedded_postgres,
                                                 self.state_dir / "postgres")
        self.settings = s = s.model_copy(update=dict(
            kafka_bootstrap=bootstrap, mqtt_host=mqtt_host, mqtt_port=mqtt_port,
            database_url=db_url,
            kafka_broker="tansu" if embedded_kafka else s.kafka_broker,
            kafka_idempotent_producer=s.kafka_idempotent_producer and not embedded_kafka))
        self.say(f"  mqtt      {mqtt_host}:{mqtt_port}"
                 f"{' (started)' if self.mqtt.proc else ' (already running)'}")
        self.say(f"  kafka     {bootstrap}{' (embedded tansu)' if embedded_kafka else ''}")
        self.say(f"  database  {_redact(db_url)}{' (embedded)' if self.postgres else ''}")
        created = asyncio.run(create_topics(s))
        self.say(f"  topics    {len(created)} created, {s.topic_partitions} partitions each")

    def _child_env(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update({
            "ANLAN_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "ANLAN_KAFKA_IDEMPOTENT_PRODUCER": str(s.kafka_idempotent_producer).lower(),
            "ANLAN_KAFKA_BROKER": s.kafka_broker,
            "ANLAN_TOPIC_PARTITIONS": str(s.topic_partitions),
            "ANLAN_TOPIC_REPLICATION": str(s.topic_replication),
            "ANLAN_MQTT_HOST": s.mqtt_host,
            "ANLAN_MQTT_PORT": str(s.mqtt_port),
            "ANLAN_DATABASE_URL": s.database_url,
            "ANLAN_EMBEDDED_POSTGRES": "false",
            "ANLAN_READY_DIR": str(self.ready_dir),
            "ANLAN_STATE_DIR": str(self.state_dir),
            "PYTHONUNBUFFERED": "1",
        })
        env.setdefault("ANLAN_MQTT_CLIENT_ID", LOCAL_BRIDGE_CLIENT_ID)
        env.update(self.extra_env)
        return env

    # ------------------------------------------------------------------ parts
    def _run_once(self, *args: str, timeout: float = 120) -> None:
        log = self.log_dir / f"{args[0]}.log"
        with open(log, "ab") as out:
            proc = subprocess.run([sys.executable, "-m", "anlan", *args], env=self.env,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
        if proc.returncode != 0:
            raise StartupError(f"`anlan {' '.join(args)}` failed: {_tail(log)}")

    def _spawn(self, part: str, *args: str) -> None:
        log = open(self.log_dir / f"{part}.log", "ab")
        self.children[part] = subprocess.Popen(
            [sys.executable, "-m", "anlan", part, *args], env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, ready_timeout: float = 120) -> Settings:
        """Start services and parts; wait until every part is ready; return effective settings."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.ready_dir, ignore_errors=True)
        self.say(f"Starting the local stack (logs in {self.log_dir})")
        self._start_services()
        self.env = self._child_env()
        self._run_once("db", "migrate")
        for part in self.parts:
            self._spawn(part, *PART_ARGS.get(part, ()))
        self._wait_ready(ready_timeout)
        self.say("  parts     " + ", ".join(self.parts) + " ready")
        return self.settings

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        missing = list(self.parts)
        while missing:
            for part, proc in self.children.items():
                if proc.poll() is not None:
                    raise StartupError(f"{part} exited with code {proc.returncode}: "
                                       f"{_tail(self.log_dir / f'{part}.log')}")
            missing = wait_ready(self.ready_dir, missing, timeout=0.5)
            if missing and time.monotonic() > deadline:
                raise StartupError(f"{', '.join(missing)} not ready after {timeout:.0f}s; "
                                   f"see the logs in {self.log_dir}")

    def check_children(self) -> str | None:
        """The name and exit code of a part that stopped unexpectedly, else None."""
        for part, proc in self.children.items():
            if proc.poll() is not None:
                return f"{part} exited with code {proc.returncode}"
        return None

    def stop(self) -> None:
        """Stop parts in reverse order (SIGTERM, then SIGKILL after 10 s), then the services."""
        for part in reversed(list(self.children)):
            proc = self.children[part]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for part, proc in self.children.items():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                self.say(f"  {part} did not stop within 10 s; killing it")
                proc.kill()
                proc.wait(5)
        self.children.clear()
        for service in (self.kafka, self.postgres, self.mqtt):
            if service is not None:
                service.stop()


def _redact(url: str) -> str:
    if "@" in url and ":" in url.split("@", 1)[0].split("//", 1)[-1]:
        head, tail = url.split("@", 1)
        return head.rsplit(":", 1)[0] + ":***@" + tail
    return url


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "(no log)"
    interesting = [ln for ln in text if "Error" in ln or "error" in ln] or text
    return " | ".join(interesting[-lines:])[-600:]


# ---------------------------------------------------------------------- commands

def _wait_for_signal(stack: LocalStack, stop: threading.Event) -> int:
    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop.wait(1.0):
        failed = stack.check_children()
        if failed:
            print(f"anlan: {failed}; stopping (see {stack.log_dir})", file=sys.stderr)
            return 1
    return 0


def up_main(argv: list[str]) -> int:
    """``anlan up``: the local stack without a drill, until Ctrl-C."""
    argparse.ArgumentParser(prog="anlan up", description=up_main.__doc__).parse_args(argv)
    admin_password = os.environ.get("ANLAN_API_ADMIN_PASSWORD", DEMO_ADMIN_PASSWORD)
    stack = LocalStack(load_settings(), extra_env={"ANLAN_API_ADMIN_PASSWORD": admin_password})
    try:
        settings = stack.start()
        print(_console_line(settings, admin_password), flush=True)
        return _wait_for_signal(stack, threading.Event())
    finally:
        print("Stopping …")
        stack.stop()


def topics_main(argv: list[str]) -> int:
    """``anlan topics``: create every Kafka topic with the configured partition count."""
    argparse.ArgumentParser(prog="anlan topics", description=topics_main.__doc__).parse_args(argv)
    settings = load_settings()
    settings.require_kafka()
    created = asyncio.run(create_topics(settings))
    print(f"created {len(created)} topics: {', '.join(created) or '(all existed)'}")
    return 0


def _print_delivery(payload: dict[str, Any]) -> None:
    title = str(payload.get("title") or "").strip()
    body = str(payload.get("message") or payload.get("body") or "").strip()
    first = body.splitlines()[0] if body else ""
    print(f"[delivered] {title} — {first}" if title else f"[delivered] {first}", flush=True)


def demo_main(argv: list[str]) -> int:
    """``anlan demo``: the local stack, a rainstorm drill over MQTT, alerts printed as delivered.

    The drill is an exercise (``anlan simulate --drill``): its alerts are ``Exercise`` and every
    message says 【演练】; a real reading crossing a level meanwhile would still be ``Actual``."""
    parser = argparse.ArgumentParser(prog="anlan demo", description=demo_main.__doc__)
    parser.add_argument("--once", action="store_true", help="play the drill, print, exit")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for the drill's red alert (default 180)")
    parser.add_argument("--scenario", default="drill_staged",
                        help="drill scenario to play (default drill_staged: blue → red in order;"
                             " `drill` is the 15-second version)")
    args = parser.parse_args(argv)
    receiver = NotificationReceiver(_print_delivery).start()
    admin_password = os.environ.get("ANLAN_API_ADMIN_PASSWORD", DEMO_ADMIN_PASSWORD)
    stack = LocalStack(load_settings(), extra_env={
        "ANLAN_DEFAULT_NOTIFY_URLS": json.dumps([receiver.url]),
        "ANLAN_API_ADMIN_PASSWORD": admin_password})
    try:
        settings = stack.start()
        print(f"Playing the rainstorm drill ({args.scenario}) through MQTT as an exercise …",
              flush=True)
        stack._run_once("simulate", "--drill", "--scenario", args.scenario,
                        timeout=args.timeout)
        red = _wait_for_red(receiver, stack, args.timeout)
        delivered = receiver.snapshot()
        drills = sum(1 for m in delivered if str(m.get("title", "")).startswith(EXERCISE_TAG))
        print(f"{len(delivered)} alert message(s) delivered ({drills} of the drill, "
              f"{EXERCISE_TAG}); API at "
              f"http://{settings.api_host}:{settings.api_port}/api/v1/alerts", flush=True)
        if not red:
            print("anlan demo: the drill did not reach a red alert in time; see "
                  f"{stack.log_dir}", file=sys.stderr)
            return 1
        if args.once:
            return 0
        print(_console_line(settings, admin_password), flush=True)
        return _wait_for_signal(stack, threading.Event())
    finally:
        print("Stopping …", flush=True)
        stack.stop()
        receiver.stop()


def _console_line(settings: Settings, admin_password: str) -> str:
    return (f"Console at http://{settings.api_host}:{settings.api_port} — log in as admin / "
            f"{admin_password} (created on the database's first run) — Ctrl-C stops")


def _wait_for_red(receiver: NotificationReceiver, stack: LocalStack, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in receiver.snapshot():
            text = f"{msg.get('title', '')} {msg.get('message', '')}"
            if "红色" in text or "RED" in text.upper().split() or "Level I " in text:
                time.sleep(2.0)  # let the rest of the burst arrive
                return True
        failed = stack.check_children()
        if failed:
            raise StartupError(f"{failed} during the drill; see {stack.log_dir}")
        time.sleep(0.2)
    return False
