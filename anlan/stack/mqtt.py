"""The MQTT broker of the local stack: a Mosquitto of our own, configured for backlogs.

``anlan up``, ``anlan demo`` and the tests start ``mosquitto`` from PATH (Debian package
``mosquitto``; ``./dev`` installs it as root) with the configuration below, on the configured
port when it is free and on a free port otherwise. A broker that already runs is used only when
asked (``reuse_running=True``, setting ``ANLAN_MQTT_EMBEDDED=false``).

The configuration sizes the queues for a gateway backlog: Mosquitto's default
``max_queued_messages`` (1000) drops QoS 1 messages it has already acknowledged to the
publisher when the bridge falls behind. ``deploy/mosquitto/mosquitto.conf`` carries the same
limits for a deployment (a test checks that they agree). With a state directory the broker
persists its queues and sessions (saved every 5 s and on exit), so a restarted local broker
still holds what it had acknowledged.

Started as root, Mosquitto would drop to the user ``mosquitto``, which cannot write a state
directory below a root-only folder (``/root/…``): its saves then fail with "Permission denied"
and a restart loses the queues. The local broker therefore keeps running as the user who
started it (``user root``; Mosquitto warns that it "should not be run as root"); it listens
on loopback only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from anlan.errors import StartupError
from anlan.stack.net import free_port, port_free, port_open, stop_process, wait_port

# The same queue and flow limits as deploy/mosquitto/mosquitto.conf (tests compare them).
QUEUE_LIMITS = {
    "max_queued_messages": "200000",
    "max_queued_bytes": "209715200",
    "max_inflight_messages": "100",
    "max_packet_size": "1048576",
}

DEBIAN_PACKAGE = "mosquitto"


def mosquitto_binary() -> str | None:
    """The ``mosquitto`` executable on PATH (or Debian's /usr/sbin), else None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


def local_config(host: str, port: int, state_dir: Path | None) -> str:
    """A Mosquitto configuration for one loopback listener with queues sized for backlogs."""
    lines = [
        "# written by anlan (anlan/stack/mqtt.py) for the local stack",
        "per_listener_settings false",
        f"listener {port} {host}",
        "allow_anonymous true",
        *(f"{key} {value}" for key, value in QUEUE_LIMITS.items()),
        "persistent_client_expiration 14d",
        "log_dest stderr",
        "log_type error", "log_type warning", "log_type notice",
        "connection_messages true",
        "log_timestamp true",
    ]
    if state_dir is not None:
        lines += ["persistence true", f"persistence_location {state_dir.resolve()}/",
                  "autosave_interval 5"]
    if os.geteuid() == 0:  # stay root: the user `mosquitto` may not reach the state dir
        lines.append("user root")
    return "\n".join(lines) + "\n"


class LocalMosquitto:
    """A Mosquitto child process for the local stack and the tests."""

    def __init__(self, host: str, port: int, log_path: Path | None = None,
                 state_dir: Path | None = None, reuse_running: bool = False) -> None:
        self.host, self.port, self.log_path = host, port, log_path
        self.state_dir = state_dir
        self.reuse_running = reuse_running
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> tuple[str, int]:
        """Start the broker (or, when asked, use the running one); return (host, port)."""
        if self.reuse_running:
            if not port_open(self.host, self.port):
                raise StartupError(f"no MQTT broker answers on {self.host}:{self.port}; start "
                                   "it, or set ANLAN_MQTT_EMBEDDED=true to start one of ours")
            return self.host, self.port
        binary = mosquitto_binary()
        if binary is None:
            raise StartupError(
                "`mosquitto` is not installed: install the Debian package "
                f"(apt-get install {DEBIAN_PACKAGE}; ./dev does it as root), or point "
                "ANLAN_MQTT_HOST / ANLAN_MQTT_PORT at a broker and set ANLAN_MQTT_EMBEDDED=false")
        self.host = "127.0.0.1"
        if not port_free(self.host, self.port):
            self.port = free_port(self.host)
        config_dir = self.state_dir or (self.log_path.parent if self.log_path else None)
        if config_dir is None:
            raise StartupError("LocalMosquitto needs a state_dir or a log_path for its config")
        config_dir.mkdir(parents=True, exist_ok=True)
        config = config_dir / "mosquitto.conf"
        config.write_text(local_config(self.host, self.port, self.state_dir))
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([binary, "-c", str(config)], stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_port(self.host, self.port, 10):
            self.stop()
            raise StartupError(f"mosquitto did not start on port {self.port}"
                               + (f"; see {self.log_path}" if self.log_path else ""))
        return self.host, self.port

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
