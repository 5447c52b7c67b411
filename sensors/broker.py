"""Run a Mosquitto with the configuration of ``deploy/mosquitto/`` (tests, bench, trials).

:func:`render_config` rewrites the paths and the port of the shipped ``mosquitto.conf`` for a
scratch folder and keeps every other line, so what a test checks is the configuration that ships.
By default the broker runs as the current user with files it writes itself; ``as_service=True``
runs it as a packaged broker does (started as root, it drops to the user ``mosquitto``) on the
password and ACL files installed in ``etc_dir`` by the documented steps.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from anlan.errors import StartupError
from anlan.stack.mqtt import mosquitto_binary  # noqa: F401 - re-exported for tests
from anlan.stack.net import free_port, stop_process, wait_port

DEPLOY_DIR = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto"


def render_config(template: str, port: int, workdir: Path, *, etc_dir: Path | None = None,
                  as_service: bool = False) -> str:
    """The shipped configuration with listener, files and persistence moved into ``workdir``
    (password and ACL files into ``etc_dir`` when given). Unless ``as_service``, the broker
    keeps the current user (as root it would drop to the user ``mosquitto``)."""
    etc = etc_dir or workdir
    replace = {
        "listener": f"listener {port} 127.0.0.1",
        "password_file": f"password_file {etc / 'passwd'}",
        "acl_file": f"acl_file {etc / 'acl'}",
        "persistence_location": f"persistence_location {workdir}/",
    }
    lines = []
    for line in template.splitlines():
        word = line.split(" ", 1)[0]
        lines.append(replace.get(word, line) if not line.startswith("#") else line)
    if not as_service:
        lines.append("user root" if os.geteuid() == 0 else f"user {getpass.getuser()}")
    return "\n".join(lines) + "\n"


def write_password_file(path: Path, users: dict[str, str]) -> None:
    """Hash ``users`` (name → password) into a Mosquitto password file with mosquitto_passwd."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise StartupError("mosquitto_passwd not found; install the mosquitto package")
    path.write_text("")
    path.chmod(0o600)
    for user, password in users.items():
        subprocess.run([tool, "-b", str(path), user, password], check=True,
                       capture_output=True)


class ConfiguredMosquitto:
    """A Mosquitto child process on a free port using ``deploy/mosquitto`` (conf + ACL)."""

    def __init__(self, workdir: Path, users: dict[str, str], port: int | None = None,
                 password_file: Path | None = None, etc_dir: Path | None = None,
                 as_service: bool = False) -> None:
        self.workdir = Path(workdir)
        self.users = users
        self.password_file = password_file
        self.etc_dir = etc_dir  # with as_service: passwd and acl installed there already
        self.as_service = as_service
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def start(self) -> int:
        """Write conf, ACL and password file; start the broker; return its port."""
        binary = mosquitto_binary()
        if binary is None:
            raise StartupError("mosquitto not found; install the mosquitto package")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(render_config((DEPLOY_DIR / "mosquitto.conf").read_text(), self.port,
                                      self.workdir, etc_dir=self.etc_dir,
                                      as_service=self.as_service))
        if self.as_service:
            broker = pwd.getpwnam("mosquitto")  # the user a packaged Mosquitto drops to
            os.chown(self.workdir, broker.pw_uid, broker.pw_gid)  # its persistence
        else:
            self._write_files()
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_port("127.0.0.1", self.port, 10):
            self.stop()
            raise StartupError(f"mosquitto did not start; see {self.log_path}")
        return self.port

    def _write_files(self) -> None:
        shutil.copy(DEPLOY_DIR / "acl", self.workdir / "acl")
        (self.workdir / "acl").chmod(0o600)
        if self.password_file is not None:  # e.g. made by deploy/mosquitto/make-passwd.sh
            shutil.copy(self.password_file, self.workdir / "passwd")
            (self.workdir / "passwd").chmod(0o600)
        else:
            write_password_file(self.workdir / "passwd", self.users)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> ConfiguredMosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
