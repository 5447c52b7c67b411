"""``anlan api``: run the API and duty console; ``anlan api create-user``: add a user.

Bootstrapping: ``anlan api create-user admin --role admin --region 360121`` (password from
``ANLAN_API_PASSWORD`` or a prompt), or set ``ANLAN_API_ADMIN_PASSWORD`` (and optionally
``ANLAN_API_ADMIN_USER``, ``ANLAN_API_ADMIN_REGION``) and the server creates that administrator
at start when the database has no user yet.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

import psycopg

from anlan.errors import StartupError
from anlan.kafka import resolve_broker
from anlan.settings import DEFAULT_API_SECRET, LOOPBACK_HOSTS, Settings, load_settings
from anlan.stack.net import port_free, port_open
from anlan.stack.readiness import mark_ready
from api import accounts
from api.scope import ROLES
from store import auth as auth_repo


def _connect(settings: Settings) -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StartupError(f"database does not answer ({first}); check ANLAN_DATABASE_URL") \
            from exc
    if conn.execute("SELECT to_regclass('api_users')").fetchone() == (None,):
        conn.close()
        raise StartupError("database has no api_users table; run `anlan db migrate` first")
    return conn


def bootstrap_admin(settings: Settings, env: dict[str, str]) -> str | None:
    """Create the administrator named by ``ANLAN_API_ADMIN_*`` when there is no user yet."""
    password = env.get("ANLAN_API_ADMIN_PASSWORD")
    if not password:
        return None
    username = env.get("ANLAN_API_ADMIN_USER", "admin")
    region = env.get("ANLAN_API_ADMIN_REGION", "360121")
    with _connect(settings) as conn:
        if auth_repo.count_users(conn):
            return None
        try:
            accounts.create_user(conn, username, password, "admin", region,
                                 display_name="管理员")
        except ValueError as exc:
            raise StartupError(f"ANLAN_API_ADMIN_PASSWORD: {exc}") from exc
    return username


def _check_kafka(bootstrap: str) -> None:
    """StartupError unless one of the bootstrap servers accepts connections."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if host and port.isdigit() and port_open(host.strip("[]"), int(port), timeout=2.0):
            return
    raise StartupError(f"no Kafka broker answers at {bootstrap}; start it (`anlan up`) or fix "
                       "ANLAN_KAFKA_BOOTSTRAP")


def create_user_main(argv: list[str], settings: Settings | None = None) -> int:
    """``anlan api create-user NAME --role ROLE --region REGION [--replace]``."""
    parser = argparse.ArgumentParser(prog="anlan api create-user")
    parser.add_argument("username")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--region", required=True, help="root of the user's region subtree")
    parser.add_argument("--display-name", default="")
    parser.add_argument("--person", default=None, help="directory person id")
    parser.add_argument("--replace", action="store_true", help="reset an existing user")
    args = parser.parse_args(argv)
    settings = settings or load_settings()
    password = os.environ.get("ANLAN_API_PASSWORD") or getpass.getpass("password: ")
    with _connect(settings) as conn:
        try:
            accounts.create_user(conn, args.username, password, args.role, args.region,
                                 display_name=args.display_name, person_id=args.person,
                                 replace=args.replace)
        except (ValueError, auth_repo.UserExists) as exc:
            msg = f"user {args.username} exists (use --replace)" \
                if isinstance(exc, auth_repo.UserExists) else str(exc)
            raise StartupError(msg) from exc
    print(f"user {args.username} ({args.role}, {args.region}) saved")
    return 0


def _ready_server_class() -> type:
    import uvicorn

    class ReadyServer(uvicorn.Server):
        """Marks the API ready once it listens (after the lifespan opened its connections)."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                mark_ready("api")

    return ReadyServer


def serve(settings: Settings) -> int:
    """Run uvicorn on the app until interrupted."""
    import uvicorn

    from api.main import create_app

    server_class = _ready_server_class()
    settings.require_kafka()
    if settings.api_secret == DEFAULT_API_SECRET and settings.api_host not in LOOPBACK_HOSTS:
        raise StartupError(f"ANLAN_API_SECRET is the default, which lets anyone forge logins on "
                           f"{settings.api_host}; set it to a long random string (the same for "
                           "every API process), e.g. `python -c 'import secrets; "
                           "print(secrets.token_urlsafe(32))'`")
    if not port_free(settings.api_host, settings.api_port):
        raise StartupError(f"port {settings.api_host}:{settings.api_port} is already in use; "
                           "pick another with --port or ANLAN_API_PORT")
    _check_kafka(settings.kafka_bootstrap)
    _connect(settings).close()
    created = bootstrap_admin(settings, dict(os.environ))
    if created:
        print(f"created administrator {created}", file=sys.stderr)
    config = uvicorn.Config(create_app(settings), host=settings.api_host,
                            port=settings.api_port, log_level=settings.log_level.lower(),
                            lifespan="on", timeout_graceful_shutdown=5)  # SSE clients stay open
    server_class(config).run()
    return 0


def main(argv: list[str]) -> int:
    """``anlan api [--host H] [--port P]`` or ``anlan api create-user …``."""
    if argv and argv[0] == "create-user":
        return create_user_main(argv[1:])
    parser = argparse.ArgumentParser(prog="anlan api", description="run the API and console "
                                     "(subcommand: create-user)")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    if args.host:
        overrides["api_host"] = args.host
    if args.port:
        overrides["api_port"] = args.port
    return serve(resolve_broker(load_settings(**overrides)))
