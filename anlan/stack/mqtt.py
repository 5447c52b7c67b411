"""The MQTT broker of the local stack: the Mosquitto already listening, else one from PATH."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from anlan.errors import StartupError
from anlan.stack.net import free_port, port_open, stop_process, wait_port


class LocalMosquitto:
    """Use the broker at host:port when one answers; otherwise start ``mosquitto`` on a free port."""

    def __init__(self, host: str, port: int, log_path: Path | None = None) -> None:
        self.host, self.port, self.log_path = host, port, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> tuple[str, int]:
        if port_open(self.host, self.port):
            return self.host, self.port
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if binary is None:
            raise StartupError(
                f"no MQTT broker answers on {self.host}:{self.port} and `mosquitto` is not on "
                "PATH; install mosquitto or set ANLAN_MQTT_HOST / ANLAN_MQTT_PORT")
        self.host, self.port = "127.0.0.1", free_port()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([binary, "-p", str(self.port)], stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_port(self.host, self.port, 10):
            self.stop()
            raise StartupError(f"mosquitto did not start on port {self.port}")
        return self.host, self.port

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
