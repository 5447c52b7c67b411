"""``anlan api``: one-line start-up errors, ``create-user``, the bootstrap administrator."""

from __future__ import annotations

import socket
import subprocess
import sys

import psycopg
import pytest

from anlan.cli import run
from anlan.settings import Settings
from api.cli import bootstrap_admin, create_user_main
from api.security import verify_password
from store import auth as auth_repo

pytestmark = pytest.mark.integration


def test_port_in_use_is_a_one_line_error(api_settings: Settings, seeded_db: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {"ANLAN_DATABASE_URL": api_settings.database_url,
               "ANLAN_KAFKA_BOOTSTRAP": api_settings.kafka_bootstrap, "PATH": "/usr/bin:/bin"}
        proc = subprocess.run([sys.executable, "-m", "anlan", "api", "--port", str(port)],
                              env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port 127.0.0.1:{port} is already in use" in lines[0]


def test_unmigrated_database_is_a_one_line_error(api_settings: Settings,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANLAN_DATABASE_URL", api_settings.database_url.rsplit("/", 1)[0]
                       + "/postgres")
    monkeypatch.setenv("ANLAN_KAFKA_BOOTSTRAP", api_settings.kafka_bootstrap)
    monkeypatch.setenv("ANLAN_API_PORT", "0")
    assert run(["api"]) == 2
    assert "run `anlan db migrate` first" in capsys.readouterr().err


def test_create_user_command(api_settings: Settings, seeded_db: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANLAN_API_PASSWORD", "a-good-password")
    args = ["qd_officer", "--role", "duty_officer", "--region", "360121100002"]
    assert create_user_main(args, api_settings) == 0
    with psycopg.connect(api_settings.database_url, autocommit=True) as conn:
        row = auth_repo.get_user(conn, "qd_officer")
    assert row is not None and row["region"] == "360121100002"
    assert verify_password("a-good-password", row["password_hash"])
    from anlan.errors import StartupError
    with pytest.raises(StartupError, match="exists"):
        create_user_main(args, api_settings)
    monkeypatch.setenv("ANLAN_API_PASSWORD", "new-password-1")
    assert create_user_main(args + ["--replace"], api_settings) == 0


def test_bootstrap_admin_only_on_an_empty_user_table(api_settings: Settings,
                                                     seeded_db: str) -> None:
    env = {"ANLAN_API_ADMIN_PASSWORD": "bootstrap-pass"}
    assert bootstrap_admin(api_settings, env) is None  # users exist already
    assert bootstrap_admin(api_settings, {}) is None


def test_bootstrap_admin_on_a_fresh_database(api_settings: Settings) -> None:
    import uuid

    from anlan.stack.database import drop_database, ensure_database
    from store.migrate import migrate

    url = ensure_database(api_settings.database_url.rsplit("/", 1)[0]
                          + f"/anlan_boot_{uuid.uuid4().hex[:8]}")
    try:
        migrate(url)
        fresh = api_settings.model_copy(update={"database_url": url})
        env = {"ANLAN_API_ADMIN_PASSWORD": "bootstrap-pass", "ANLAN_API_ADMIN_REGION": "360121"}
        assert bootstrap_admin(fresh, env) == "admin"
        assert bootstrap_admin(fresh, env) is None  # once
        with psycopg.connect(url, autocommit=True) as conn:
            row = auth_repo.get_user(conn, "admin")
        assert row is not None and row["role"] == "admin" and row["region"] == "360121"
    finally:
        drop_database(url)


def test_unreachable_kafka_is_a_one_line_error(api_settings: Settings,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from anlan.stack.net import free_port

    monkeypatch.setenv("ANLAN_DATABASE_URL", api_settings.database_url)
    monkeypatch.setenv("ANLAN_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    assert run(["api", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Kafka broker answers" in err[0]


def test_default_secret_is_refused_off_loopback(api_settings: Settings,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANLAN_API_SECRET", raising=False)
    monkeypatch.setenv("ANLAN_DATABASE_URL", api_settings.database_url)
    monkeypatch.setenv("ANLAN_KAFKA_BOOTSTRAP", api_settings.kafka_bootstrap)
    assert run(["api", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ANLAN_API_SECRET is the default" in err[0]
